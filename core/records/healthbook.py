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
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, Select, bindparam, exists, select

from core.db import Database
from core.i18n import Translator, now_utc, translator
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
from core.records.facility import Facility
from core.records.history import Allergy, Condition, Disability, FamilyHistory, RiskFactor, Surgery
from core.records.immunization import Immunization
from core.records.insurance import InsuranceCard
from core.records.provenance import Provenance, Source
from core.records.visit import Prescription, TestResult, Visit
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

    def field_keys(self) -> set[str]:
        """Every catalogue field key present anywhere in this book."""
        return {row.key for row in self.rows()}

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


_CITIZEN_QUERY = (
    select(_CITIZENS, _GUARDIAN.c.full_name.label("guardian_name"))
    .outerjoin(_GUARDIAN, _GUARDIAN.c.id == _CITIZENS.c.guardian_id)
    .where(_CITIZENS.c.id == _CITIZEN_ID)
)
_PROVENANCE_COLUMNS = tuple(c.name for c in _CITIZENS.c if c.name.endswith("_prov"))
_CARD_QUERY = (
    select(_CARDS, _FACILITIES.c.name.label("facility_name"))
    .outerjoin(_FACILITIES, _FACILITIES.c.code == _CARDS.c.registered_facility_code)
    .where(_CARDS.c.citizen_id == _CITIZEN_ID, _CARDS.c.superseded_at.is_(None))
    .order_by(_CARDS.c.valid_from.desc().nulls_last(), _CARDS.c.id.desc())
    .limit(1)
)
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
_CHILD_QUERIES = {
    "visits.prescriptions": _children_of(Prescription),
    "visits.test_results": _children_of(TestResult),
}
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
_NON_EMPTY_QUERY = select(*(
    exists().where(model.__table__.c.citizen_id == _CITIZEN_ID).label(name.replace(".", "_"))
    for name, model in _LIST_TABLES.items()
))
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

    wanted = [name for name in _LIST_TABLES if _GROUP_OF[name] in groups]
    present = set(wanted)
    if wanted:
        flags = connection.execute(_NON_EMPTY_QUERY, key).one()
        present = {name for name in wanted if flags._mapping[name.replace(".", "_")]}

    def entries(name: str) -> list[Any]:
        return list(connection.execute(_LIST_QUERIES[name], key)) if name in present else []

    if BookGroup.INSURANCE in groups:
        data.card = connection.execute(_CARD_QUERY, key).one_or_none()
        if data.card is not None:
            prov_ids.append(data.card.provenance_id)
            note_facility(data.card.registered_facility_code, data.card.facility_name)

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
        for name, query in _CHILD_QUERIES.items():
            by_visit: dict[int, list[Any]] = {}
            if visits:
                for row in connection.execute(query, key):
                    by_visit.setdefault(row.visit_id, []).append(row)
            data.children[name] = by_visit

    for entries in data.lists.values():
        prov_ids.extend(r.provenance_id for r in entries)
    cache = _sources.get(connection.engine)
    if cache is None:
        cache = _sources[connection.engine] = _SourceCache()
    data.sources = cache.resolve(connection, prov_ids)
    return data


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
            if not self.view.shows(field_rule):
                continue
            value = self.value(field_rule, row)
            if value is not None:  # inside a list, an empty detail is left out
                rows.append(BookRow(field_rule.key, self.t.gettext(field_rule.label), value, value))
        lists = tuple(
            self.book_list(child, self.data.children.get(child.key, {}).get(row.id, []))
            for child in rule.children
            if self.view.shows_any(child)
        )
        source = self.data.sources.get(getattr(row, "provenance_id", None))
        return BookEntry(rule.key, rule.title(row, self.fmt), tuple(rows), lists,
                         _declared(source, self.t), ref=getattr(row, "id", None))

    def book_list(self, rule: EntryRule, rows: list[Any]) -> BookList:
        return BookList(rule.key, self.t.gettext(rule.label),
                        tuple(self.entry(rule, r) for r in rows), self.t.gettext(rule.empty))

    def section(self, rule: SectionRule) -> BookSection:
        subject = self.data.card if rule.group is BookGroup.INSURANCE else self.data.citizen
        rows = tuple(row for f in rule.fields if self.view.shows(f)
                     if (row := self.section_row(f, subject)).value is not None or f.shown_when_missing)
        lists = tuple(self.book_list(e, self.data.lists.get(e.key, []))
                      for e in rule.entries if self.view.shows_any(e))
        return BookSection(rule.group, self.t.gettext(rule.title), rows, lists)


def assemble(data: BookData, view: BookView, t: Translator) -> HealthBook:
    assembler = _Assembler(data, view, t)
    sections = tuple(assembler.section(rule) for rule in CATALOGUE if rule.group in view.groups)
    return HealthBook(data.citizen.id, view.audience, t.locale, now_utc(), sections)


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
