"""Which demographic details of a record are missing or invalid.

Completeness is the pilot's real problem: many records lack an ethnicity, a
ward, a blood group, a phone. One table of rules, used by the ward reports and
(later) by the citizen's and the volunteer's "fix missing details" journeys.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    bindparam,
    exists,
    literal,
    select,
    text,
    type_coerce,
    update,
)

from core import validation as v
from core.db import Database
from core.i18n import N_, Message, today_hanoi
from core.records.citizen import Citizen, active_only
from core.reference.ethnicities import ethnicity_by_code
from core.reference.wards import ward_by_code

ADULT_AGE = 18


class Gap(enum.StrEnum):
    MISSING = "missing"
    INVALID = "invalid"


@dataclass(frozen=True)
class FieldGap:
    field: str
    gap: Gap
    reason: Message | None = None


def _age(row: Any, today: dt.date) -> int:
    return row.birth_date.age_on(today)


def _adult(row: Any, today: dt.date) -> bool:
    return _age(row, today) >= ADULT_AGE


def _always(row: Any, today: dt.date) -> bool:
    return True


def _minor(row: Any, today: dt.date) -> bool:
    return not _adult(row, today)


def _check_personal_id(row: Any) -> Message | None:
    return v.personal_id_conflict(row.personal_id, row.sex, row.birth_date)


def _check_birth_date(row: Any) -> Message | None:
    if not row.birth_date.is_full:
        return Message(N_("Only part of the date of birth is known."))
    return None


def _check_code(lookup: Callable[[str], object], message: str) -> Callable[[Any], Message | None]:
    return lambda value: None if lookup(value) is not None else Message(message)


def _check_phone(value: str) -> Message | None:
    try:
        v.phone(value)
    except v.InvalidValue as error:
        return error.message
    return None


@dataclass(frozen=True)
class CompletenessRule:
    field: str  # a column of `citizens`
    label: str
    required: Callable[[Any, dt.date], bool]  # is it expected of this person?
    check_row: Callable[[Any], Message | None] | None = None  # a problem with the whole row
    check_value: Callable[[Any], Message | None] | None = None  # a problem with the value
    counts: bool = True  # False: offered to fill in, not counted as a gap (email)


RULES: tuple[CompletenessRule, ...] = (
    CompletenessRule("personal_id", N_("Personal ID number"), _always, check_row=_check_personal_id),
    CompletenessRule("birth_date", N_("Date of birth"), _always, check_row=_check_birth_date),
    CompletenessRule("sex", N_("Sex"), _always),
    CompletenessRule("ethnicity_code", N_("Ethnicity"), _always,
                     check_value=_check_code(ethnicity_by_code, N_("Not one of the 54 groups."))),
    CompletenessRule("nationality", N_("Nationality"), _always),
    CompletenessRule("occupation", N_("Occupation"), _adult),
    CompletenessRule("phone", N_("Phone"), _adult, check_value=_check_phone),
    CompletenessRule("ward_code", N_("Ward or commune"), _always,
                     check_value=_check_code(ward_by_code, N_("Not a current Hanoi ward."))),
    CompletenessRule("street_address", N_("Street address"), _always),
    CompletenessRule("blood_group", N_("Blood group"), _always),
    # Minors are reached through a parent or guardian (Civil Code 2015, art. 47).
    CompletenessRule("guardian_id", N_("Guardian"), _minor),
    CompletenessRule("email", N_("Email"), _adult, counts=False),
    # Offered to adults, not counted as a gap: no register holds it.
    CompletenessRule("emergency_contact_name", N_("Emergency contact"), _adult, counts=False),
)
RULES_BY_FIELD = {rule.field: rule for rule in RULES}


def gaps(row: Any, today: dt.date | None = None) -> list[FieldGap]:
    """The missing or invalid details of one citizen (a Core row or a `Citizen`)."""
    today = today or today_hanoi()
    found: list[FieldGap] = []
    for rule in RULES:
        if not rule.required(row, today):
            continue
        value = getattr(row, rule.field, None)  # a register's entry lacks declared-only fields
        if value is None or value == "":
            found.append(FieldGap(rule.field, Gap.MISSING))
            continue
        problem = (rule.check_row(row) if rule.check_row else None) or (
            rule.check_value(value) if rule.check_value else None)
        if problem is not None:
            found.append(FieldGap(rule.field, Gap.INVALID, problem))
    return found


def counts(field: str) -> bool:
    """Whether a detail left empty is missing (the worklist, the reports, `/assist` and `/update`
    name it so) or only offered to fill in (email, emergency contact): the one definition."""
    return RULES_BY_FIELD[field].counts


def counted(found: list[FieldGap]) -> list[FieldGap]:
    return [g for g in found if counts(g.field)]


@dataclass
class WardCompleteness:
    ward_code: str | None
    residents: int = 0
    complete: int = 0
    missing: dict[str, int] = field(default_factory=lambda: {r.field: 0 for r in RULES})
    invalid: dict[str, int] = field(default_factory=lambda: {r.field: 0 for r in RULES})

    def add(self, found: list[FieldGap]) -> None:
        self.residents += 1
        if not counted(found):
            self.complete += 1
        for gap in found:
            (self.missing if gap.gap is Gap.MISSING else self.invalid)[gap.field] += 1

    @property
    def complete_share(self) -> float:
        return self.complete / self.residents if self.residents else 0.0


_COLUMNS = ("id", "full_name", *(r.field for r in RULES))


async def scan(db: Database, ward_code: str | None = None,
               today: dt.date | None = None) -> AsyncIterator[tuple[Any, list[FieldGap]]]:
    """Every active resident (of one ward, or of the city) with their gaps, streamed."""
    today = today or today_hanoi()
    table = Citizen.__table__
    statement = select(*(table.c[name] for name in _COLUMNS)).where(active_only()).order_by(table.c.id)
    if ward_code is not None:
        statement = statement.where(table.c.ward_code == ward_code)
    async with db.engine.connect() as connection:
        result = await connection.stream(statement.execution_options(yield_per=5000))
        async for row in result:
            yield row, gaps(row, today)


# Stored counts (citizens.gaps): the worklist pages through a ward by them instead of reading it.
_RECOUNT_COLUMNS = ("id", *(r.field for r in RULES))
_STORE_COUNT = update(Citizen.__table__).where(Citizen.__table__.c.id == bindparam("_id")).values(
    gaps=bindparam("_gaps"), gaps_due=bindparam("_due"))
# PostgreSQL takes a chunk's counts as three arrays in one statement, not one per row; the
# `= ANY` condition lets the planner find the rows by their key instead of reading the table.
_STORE_COUNTS_POSTGRESQL = text(
    "UPDATE citizens SET gaps = counted.gaps, gaps_due = counted.due FROM unnest("
    "CAST(:ids AS bigint[]), CAST(:gaps AS smallint[]), CAST(:dues AS date[])) "
    "AS counted(id, gaps, due) WHERE citizens.id = counted.id "
    "AND citizens.id = ANY(CAST(:ids AS bigint[]))")
RECOUNT_CHUNK = 5000


def recount_due(row: Any, today: dt.date) -> dt.date | None:
    """The day this person's count may change by itself: their 18th birthday (ADULT_AGE, the
    rules' only age), if still ahead; `PartialDate.age_on` counts from the earliest day."""
    born = row.birth_date.earliest()
    try:
        adult = born.replace(year=born.year + ADULT_AGE)
    except ValueError:  # born on 29/02: of age on 01/03 in a common year, as age_on counts
        adult = dt.date(born.year + ADULT_AGE, 3, 1)
    return adult if adult > today else None


def _uncounted() -> ColumnElement[bool]:
    return Citizen.__table__.c.gaps.is_(None)  # never counted, or written since


def _count_due(today: dt.date) -> ColumnElement[bool]:
    return Citizen.__table__.c.gaps_due <= today


def counts_to_make(connection: Connection, ward_code: str, today: dt.date) -> bool:
    """Whether some of the ward's stored counts are missing or due. Each condition is asked
    alone, so that each partial index (ix_citizens_uncounted, ix_citizens_count_due) answers
    it without reading a row."""
    in_ward = Citizen.__table__.c.ward_code == ward_code
    return bool(connection.scalar(select(exists().where(in_ward, _uncounted())
                                         | exists().where(in_ward, _count_due(today)))))


def recount(connection: Connection, ward_code: str | None, today: dt.date, after_id: int = 0,
            limit: int | None = None) -> tuple[int, int]:
    """Count and store the gaps of the rows of a ward (or of the city, `None`) whose stored
    count is missing or due, in id order after `after_id`, at most `limit` of them: how many
    were counted and the last id. The rows are locked while counted, so a write beside it
    waits, then forgets the count again (the trigger of migration 0015)."""
    table = Citizen.__table__
    statement = (select(*(table.c[name] for name in _RECOUNT_COLUMNS))
                 .where(_uncounted() | _count_due(today), table.c.id > after_id)
                 .order_by(table.c.id).with_for_update())
    if ward_code is not None:
        statement = statement.where(table.c.ward_code == ward_code)
    if limit is not None:
        statement = statement.limit(limit)
    rows = connection.execute(statement).all()
    ids = [row.id for row in rows]
    counts = [len(counted(gaps(row, today))) for row in rows]
    dues = [recount_due(row, today) for row in rows]
    if rows and connection.dialect.name == "postgresql":
        connection.execute(_STORE_COUNTS_POSTGRESQL, {"ids": ids, "gaps": counts, "dues": dues})
    elif rows:
        connection.execute(_STORE_COUNT, [{"_id": i, "_gaps": n, "_due": d}
                                          for i, n, d in zip(ids, counts, dues, strict=True)])
    return len(rows), rows[-1].id if rows else after_id


async def recount_city(db: Database, today: dt.date | None = None) -> int:
    """Every stored count made current, a chunk per transaction (after a big import, or at once
    after migration 0015 instead of ward by ward): how many rows were counted."""
    today = today or today_hanoi()
    total, last = 0, 0
    while True:
        done, last = await db.write(recount, None, today, last, RECOUNT_CHUNK)
        total += done
        if done < RECOUNT_CHUNK:
            return total


def adult_birth_dates(today: dt.date) -> str:
    """The latest birth date (ISO text, as stored) of an adult today: `birth_date <=` it in SQL
    is `_adult` (age counted from the earliest day a partial date allows, as `age_on` does;
    `1990` and `1990-07` sort before every full date of that year and month)."""
    try:
        cutoff = today.replace(year=today.year - ADULT_AGE)
    except ValueError:  # 29/02: one born on 28/02 of that year is of age today
        cutoff = dt.date(today.year - ADULT_AGE, 2, 28)
    return cutoff.isoformat()


def expected_clause(rule: CompletenessRule, today: dt.date) -> ColumnElement[bool] | None:
    """`rule.required` as SQL over `citizens` (None: asked of everyone), for figures counted by
    the database (core.reporting); tests/test_figures.py checks both agree on every resident."""
    born = type_coerce(Citizen.__table__.c.birth_date, String())
    adult = born <= literal(adult_birth_dates(today), String())
    clauses = {_always: None, _adult: adult, _minor: ~adult}
    if rule.required not in clauses:
        raise NotImplementedError(f"no SQL for what {rule.field} requires")
    return clauses[rule.required]


def present_clause(rule: CompletenessRule) -> ColumnElement[bool]:
    """The field holds a value (valid or not), as `gaps` reads "missing": not NULL, not empty."""
    column = Citizen.__table__.c[rule.field]
    if isinstance(getattr(column.type, "impl", column.type), String):
        return column.is_not(None) & (type_coerce(column, String()) != "")
    return column.is_not(None)


async def ward_report(db: Database, ward_code: str | None = None) -> dict[str | None, WardCompleteness]:
    """Counts per field, per ward (residents without a ward under the key None)."""
    wards: dict[str | None, WardCompleteness] = {}
    async for row, found in scan(db, ward_code):
        key = row.ward_code
        wards.setdefault(key, WardCompleteness(key)).add(found)
    return wards
