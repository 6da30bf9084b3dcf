"""The `HealthBook`: one citizen's record as one audience may see it.

Every channel renders this view; none reads the tables itself. The builder
loads only the groups of the `BookView` it is given (decided by the access
policy, `core.consent.policy`, which this module never asks), formats every value
through the display rules (`core.records.display_rules`) and marks values the
citizen or a volunteer declared.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from types import SimpleNamespace
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, Select, bindparam, exists, select

from core.db import Database
from core.i18n import Translator, now_utc, today_hanoi, translator
from core.records.book_view import BookView
from core.records.citizen import Citizen
from core.records.display_format import BookFormat
from core.records.display_rules import (
    CATALOGUE,
    Audience,
    BookGroup,
    EntryRule,
    FieldRule,
    SectionRule,
)
from core.records.epi import ScheduleLine, epi_schedule
from core.records.facility import Facility
from core.records.history import Allergy, Condition, Disability, FamilyHistory, RiskFactor, Surgery
from core.records.immunization import Immunization
from core.records.insurance import InsuranceCard
from core.records.provenance import Provenance, Source
from core.records.visit import Prescription, Service, TestResult, Visit
from core.reference.qd130 import paraclinical_kind
from core.text import fold

# --- The view -----------------------------------------------------------------


@dataclass(frozen=True)
class BookRow:
    key: str
    label: str
    value: str | None
    text: str  # the value, or the catalogue's text for a missing value
    declared: str | None = None  # "Self-declared" / "Entered with a volunteer", or None

    @property
    def missing(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class BookEntry:
    key: str
    title: str
    rows: tuple[BookRow, ...]
    lists: tuple[BookList, ...] = ()
    declared: str | None = None
    # The fields the title shows (the medicine's name, the vaccine and dose ...).
    title_keys: tuple[str, ...] = ()
    # The entry's row in its table, for a channel to point back at it (a visit's
    # button); storage-specific, so not part of what two books compare equal on.
    ref: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class BookList:
    key: str
    label: str
    entries: tuple[BookEntry, ...]
    empty_text: str


@dataclass(frozen=True)
class BookSection:
    group: BookGroup
    title: str
    rows: tuple[BookRow, ...]
    lists: tuple[BookList, ...]


@dataclass(frozen=True)
class HealthBook:
    citizen_id: int
    audience: Audience
    locale: str
    generated_at: dt.datetime
    sections: tuple[BookSection, ...]
    # A young child's doses against the national EPI schedule, when the immunizations are shown
    # (core.records.epi): done, due, overdue and coming next.
    schedule: tuple[ScheduleLine, ...] = ()

    def section(self, group: BookGroup) -> BookSection | None:
        return next((s for s in self.sections if s.group is group), None)

    def rows(self) -> Iterator[BookRow]:
        """Every row of the book, section rows and the rows of every entry, in order."""

        def in_lists(lists: Sequence[BookList]) -> Iterator[BookRow]:
            for book_list in lists:
                for entry in book_list.entries:
                    yield from entry.rows
                    yield from in_lists(entry.lists)

        for section in self.sections:
            yield from section.rows
            yield from in_lists(section.lists)

    def entries(self) -> Iterator[BookEntry]:
        """Every entry of the book, those inside other entries included."""

        def in_lists(lists: Sequence[BookList]) -> Iterator[BookEntry]:
            for book_list in lists:
                for entry in book_list.entries:
                    yield entry
                    yield from in_lists(entry.lists)

        for section in self.sections:
            yield from in_lists(section.lists)

    def field_keys(self) -> set[str]:
        """Every catalogue field key present anywhere in this book, in a row or a title."""
        return {row.key for row in self.rows()} | {
            key for entry in self.entries() for key in entry.title_keys}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["generated_at"] = self.generated_at.isoformat()
        return data


# --- Loading ------------------------------------------------------------------


@dataclass
class BookData:
    """The rows a book is built from (Core rows: attribute access by column name)."""

    citizen: Any
    card: Any = None
    lists: dict[str, list[Any]] = field(default_factory=dict)
    children: dict[str, dict[int, list[Any]]] = field(default_factory=dict)
    facility_names: dict[str, str] = field(default_factory=dict)
    sources: dict[int, Source] = field(default_factory=dict)


# Statements are built once: building a SELECT costs more than running it here.
_CITIZENS = Citizen.__table__
_GUARDIAN = _CITIZENS.alias("guardian")
_CARDS = InsuranceCard.__table__
_CITIZEN_ID = bindparam("citizen_id")


_FACILITIES = Facility.__table__
_VISITS = Visit.__table__


def _rows_of(model: type, facility_column: str | None = None) -> Select:
    """A citizen's rows of one table; with the facility's name when it names one."""
    table = model.__table__
    if facility_column is None:
        query = select(table)
    else:  # the name comes along: no second round trip for facility names
        query = select(table, _FACILITIES.c.name.label("facility_name")).outerjoin(
            _FACILITIES, _FACILITIES.c.code == table.c[facility_column])
    return query.where(table.c.citizen_id == _CITIZEN_ID).order_by(table.c.id)


def _children_of(model: type) -> Select:
    """The lines of all of a citizen's visits, found through the visits themselves."""
    table = model.__table__
    return (select(table).join(_VISITS, _VISITS.c.id == table.c.visit_id)
            .where(_VISITS.c.citizen_id == _CITIZEN_ID).order_by(table.c.id))


_PROVENANCE_COLUMNS = tuple(c.name for c in _CITIZENS.c if c.name.endswith("_prov"))
# What the newest clinic file paid under a card says of it (QĐ 130, XML1 NAM_NAM_LIEN_TUC,
# NGAY_MIEN_CCT, MA_KHUVUC): the card's rows in the register do not carry these.
_CARD_DETAILS = ("card_five_years_from", "card_copay_exempt_from", "card_area_code")
_PAID = _VISITS.alias("paid")


def _card_detail(name: str) -> Any:
    """One detail from the newest visit paid under the card, in the card's own row."""
    return (select(_PAID.c[name])
            .where(_PAID.c.citizen_id == _CARDS.c.citizen_id, _PAID.c.card_number == _CARDS.c.number)
            .order_by(_PAID.c.admitted_at.desc(), _PAID.c.id.desc()).limit(1)
            .scalar_subquery().label(name))


_CARD_QUERY = (
    select(_CARDS, _FACILITIES.c.name.label("facility_name"),
           *(_card_detail(name) for name in _CARD_DETAILS))
    .outerjoin(_FACILITIES, _FACILITIES.c.code == _CARDS.c.registered_facility_code)
    .where(_CARDS.c.citizen_id == _CITIZEN_ID, _CARDS.c.superseded_at.is_(None))
    .order_by(_CARDS.c.valid_from.desc().nulls_last(), _CARDS.c.id.desc())
)


def _current_card(cards: list[Any]) -> Any:
    """The card the book shows: the newest still valid, else the newest (marked expired)."""
    today = today_hanoi()
    valid = [c for c in cards if c.valid_to is None or c.valid_to >= today]
    return (valid or cards)[0] if cards else None
_HISTORY_QUERIES = {
    "history.allergies": _rows_of(Allergy),
    "history.conditions": _rows_of(Condition),
    "history.disabilities": _rows_of(Disability),
    "history.surgeries": _rows_of(Surgery, "facility_code"),
    "history.family": _rows_of(FamilyHistory),
    "history.risk_factors": _rows_of(RiskFactor),
}
_DOSES_QUERY = _rows_of(Immunization, "facility_code")
_VISITS_QUERY = (
    select(_VISITS, _FACILITIES.c.name.label("facility_name"))
    .outerjoin(_FACILITIES, _FACILITIES.c.code == _VISITS.c.facility_code)
    .where(_VISITS.c.citizen_id == _CITIZEN_ID)
    .order_by(_VISITS.c.admitted_at.desc(), _VISITS.c.id.desc())
)
_MEDICINES_QUERY = _children_of(Prescription)
_SERVICES_QUERY = _children_of(Service)
_RESULTS_QUERY = _children_of(TestResult)
# Which lists have any entry at all, in one round trip: most people have no
# allergies, surgeries or disabilities, and an empty list then costs no query.
_LIST_QUERIES: dict[str, Select] = {**_HISTORY_QUERIES, "immunizations.doses": _DOSES_QUERY,
                                    "visits.visits": _VISITS_QUERY}
_LIST_TABLES = {
    "history.allergies": Allergy, "history.conditions": Condition,
    "history.disabilities": Disability, "history.surgeries": Surgery,
    "history.family": FamilyHistory, "history.risk_factors": RiskFactor,
    "immunizations.doses": Immunization, "visits.visits": Visit,
}
_GROUP_OF = {name: BookGroup(name.split(".")[0]) for name in _LIST_TABLES}
_LINE_TABLES = {"visits.medicines": Prescription, "visits.services": Service,
                "visits.results": TestResult}


def _flag(name: str) -> str:
    return name.replace(".", "_")


# The citizen, with which lists have any entry at all, in one round trip: most people have no
# allergies, surgeries or disabilities, and an empty list then costs no query.
_CITIZEN_QUERY = (
    select(_CITIZENS, _GUARDIAN.c.full_name.label("guardian_name"), _GUARDIAN.c.phone.label("guardian_phone"),
           *(exists().where(model.__table__.c.citizen_id == _CITIZEN_ID).label(_flag(name))
             for name, model in _LIST_TABLES.items()),
           *(exists().where(model.__table__.c.visit_id == _VISITS.c.id,
                            _VISITS.c.citizen_id == _CITIZEN_ID).label(_flag(name))
             for name, model in _LINE_TABLES.items()))
    .outerjoin(_GUARDIAN, _GUARDIAN.c.id == _CITIZENS.c.guardian_id)
    .where(_CITIZENS.c.id == _CITIZEN_ID)
)
_PROVENANCE_QUERY = select(Provenance.id, Provenance.source).where(
    Provenance.id.in_(bindparam("ids", expanding=True)))


class _SourceCache:
    """Provenance rows never change once written, so their sources are cached."""

    def __init__(self, size: int = 50_000) -> None:
        self._size = size
        self._known: OrderedDict[int, Source] = OrderedDict()

    def resolve(self, connection: Connection, ids: Iterable[int | None]) -> dict[int, Source]:
        wanted = {i for i in ids if i is not None}
        missing = [i for i in wanted if i not in self._known]
        if missing:
            rows = connection.execute(_PROVENANCE_QUERY, {"ids": missing})
            for prov_id, source in rows:
                self._known[prov_id] = source
            while len(self._known) > self._size:
                self._known.popitem(last=False)
        return {i: self._known[i] for i in wanted if i in self._known}


# One cache per database: ids are only unique within one (tests, or a process
# that opens two, must never read another database's sources).
_sources: WeakKeyDictionary[Engine, _SourceCache] = WeakKeyDictionary()


def load_book_data(connection: Connection, citizen_id: int,
                   groups: frozenset[BookGroup]) -> BookData | None:
    """Reads what the visible groups need, with Core queries on one connection."""
    key = {"citizen_id": citizen_id}
    citizen = connection.execute(_CITIZEN_QUERY, key).one_or_none()
    if citizen is None:
        return None
    data = BookData(citizen=citizen)
    prov_ids: list[int | None] = [getattr(citizen, name) for name in _PROVENANCE_COLUMNS]
    names = data.facility_names

    def note_facility(code: str | None, name: str | None) -> None:
        if code and name:
            names[code] = name

    present = {name for name in (*_LIST_TABLES, *_LINE_TABLES)
               if citizen._mapping[_flag(name)]}

    def entries(name: str) -> list[Any]:
        return list(connection.execute(_LIST_QUERIES[name], key)) if name in present else []

    if BookGroup.INSURANCE in groups:
        card = _current_card(list(connection.execute(_CARD_QUERY, key)))
        if card is not None:
            data.card = SimpleNamespace(**card._mapping)
            prov_ids.append(card.provenance_id)
            note_facility(card.registered_facility_code, card.facility_name)

    if BookGroup.HISTORY in groups:
        for name in _HISTORY_QUERIES:
            data.lists[name] = entries(name)
        # Chronic first, then oldest first; sorted here, not in SQL, so that the order
        # is the same on SQLite and PostgreSQL whatever their text collation.
        data.lists["history.conditions"].sort(
            key=lambda r: (not r.chronic, r.since.iso() if r.since else "9999", r.icd10_code or ""))
        for row in data.lists["history.surgeries"]:
            note_facility(row.facility_code, row.facility_name)

    if BookGroup.IMMUNIZATIONS in groups:
        doses = entries("immunizations.doses")
        # Newest first; same-day doses in a fixed order on every database.
        doses.sort(key=lambda r: (r.given_on, r.dose_number, fold(r.vaccine)), reverse=True)
        data.lists["immunizations.doses"] = doses
        for row in doses:
            note_facility(row.facility_code, row.facility_name)

    if BookGroup.VISITS in groups:
        visits = entries("visits.visits")
        data.lists["visits.visits"] = visits
        for row in visits:
            note_facility(row.facility_code, row.facility_name)
        data.children.update(_visit_lines(connection, key, present) if visits else {})

    for entries in data.lists.values():
        prov_ids.extend(r.provenance_id for r in entries)
    cache = _sources.get(connection.engine)
    if cache is None:
        cache = _sources[connection.engine] = _SourceCache()
    data.sources = cache.resolve(connection, prov_ids)
    return data


def _visit_lines(connection: Connection, key: dict[str, int],
                 present: set[str]) -> dict[str, dict[int, list[Any]]]:
    """The lines of every visit by list: medicines (XML2), services (XML3), and the results
    (XML4) under the heading their service's group gives them (core.reference.qd130); a kind
    of line the citizen has none of costs no query."""
    lines: dict[str, dict[int, list[Any]]] = {}

    def add(name: str, row: Any) -> None:
        lines.setdefault(name, {}).setdefault(row.visit_id, []).append(row)

    def rows(name: str, query: Select) -> Any:
        return connection.execute(query, key) if name in present else ()

    for row in rows("visits.medicines", _MEDICINES_QUERY):
        add("visits.medicines", row)
    groups: dict[int, dict[str, str]] = {}
    for row in rows("visits.services", _SERVICES_QUERY):
        add("visits.services", row)
        if row.service_code and row.group_code:
            groups.setdefault(row.visit_id, {})[row.service_code] = row.group_code
    for row in rows("visits.results", _RESULTS_QUERY):
        kind = paraclinical_kind(row.service_code, groups.get(row.visit_id, {}))
        add(f"visits.results.{kind}", row)
    return lines


# --- Assembling ---------------------------------------------------------------


def _declared(source: Source | None, t: Translator) -> str | None:
    if source is None or source.is_official:
        return None
    return t.gettext(source.label)


class _Assembler:
    def __init__(self, data: BookData, view: BookView, t: Translator) -> None:
        self.data = data
        self.view = view
        self.t = t
        self.fmt = BookFormat(t, data.facility_names)

    def value(self, rule: FieldRule, subject: Any) -> str | None:
        raw = rule.read(subject) if subject is not None else None
        if raw is None or raw == "":
            return None
        return rule.format(raw, self.fmt)

    @staticmethod
    def applies(rule: FieldRule, subject: Any) -> bool:
        return subject is None or rule.applies is None or rule.applies(subject)

    def section_row(self, rule: FieldRule, subject: Any) -> BookRow:
        value = self.value(rule, subject)
        declared = None
        if rule.provenance_field and value is not None:
            prov_id = getattr(self.data.citizen, f"{rule.provenance_field}_prov")
            declared = _declared(self.data.sources.get(prov_id), self.t)
        text = value if value is not None else self.t.gettext(rule.missing)
        return BookRow(rule.key, self.t.gettext(rule.label), value, text, declared)

    def entry(self, rule: EntryRule, row: Any) -> BookEntry:
        rows = []
        for field_rule in rule.fields:
            if field_rule.in_title or not self.view.shows(field_rule) \
                    or not self.applies(field_rule, row):
                continue
            value = self.value(field_rule, row)
            if value is not None:  # inside a list, an empty detail is left out
                rows.append(BookRow(field_rule.key, self.t.gettext(field_rule.label), value, value))
        # An entry's own lists only when they hold something: a visit without imaging says
        # nothing about imaging (a phone screen is short).
        lists = tuple(
            self.book_list(child, lines)
            for child in rule.children
            if self.view.shows_any(child)
            and (lines := self.data.children.get(child.key, {}).get(row.id, []))
        )
        source = self.data.sources.get(getattr(row, "provenance_id", None))
        title_fields = [f for f in rule.fields if f.in_title]
        if all(self.view.shows(f) for f in title_fields):
            title, title_keys = rule.title(row, self.fmt), tuple(f.key for f in title_fields)
        else:  # the title would show what the view does not: the list's name stands instead
            title, title_keys = self.t.gettext(rule.label), ()
        return BookEntry(rule.key, title, tuple(rows), lists, _declared(source, self.t),
                         title_keys, ref=getattr(row, "id", None))

    def book_list(self, rule: EntryRule, rows: list[Any]) -> BookList:
        return BookList(rule.key, self.t.gettext(rule.label),
                        tuple(self.entry(rule, r) for r in rows), self.t.gettext(rule.empty))

    def section(self, rule: SectionRule) -> BookSection:
        subject = self.data.card if rule.group is BookGroup.INSURANCE else self.data.citizen
        rows = tuple(row for f in rule.fields if self.view.shows(f) and self.applies(f, subject)
                     if (row := self.section_row(f, subject)).value is not None or f.shown_when_missing)
        lists = tuple(self.book_list(e, self.data.lists.get(e.key, []))
                      for e in rule.entries if self.view.shows_any(e))
        return BookSection(rule.group, self.t.gettext(rule.title), rows, lists)


def assemble(data: BookData, view: BookView, t: Translator) -> HealthBook:
    assembler = _Assembler(data, view, t)
    sections = tuple(assembler.section(rule) for rule in CATALOGUE if rule.group in view.groups)
    schedule = epi_schedule(data.citizen.birth_date,
                            ((r.vaccine, r.antigens, r.dose_number, r.given_on)
                             for r in data.lists.get("immunizations.doses", ())),
                            today_hanoi()) if BookGroup.IMMUNIZATIONS in view.groups else ()
    return HealthBook(data.citizen.id, view.audience, t.locale, now_utc(), sections, schedule)


async def build_health_book(db: Database, citizen_id: int, view: BookView, *, locale: str | None = None,
                            only: Iterable[BookGroup] | None = None) -> HealthBook | None:
    """The book of one citizen as far as `view` allows; `only` narrows it to some groups.

    Callers get the view from the access policy: `core.consent.access.read_book_as` for
    anyone who is not the citizen, `read_own_book` for the citizen. None: no such citizen.
    """
    view = view.narrowed_to(only)
    data = await db.read(load_book_data, citizen_id, view.groups)
    if data is None:
        return None
    return assemble(data, view, translator(locale))
