"""A volunteer finds the residents of their ward: one by ID and birth date, and the worklist.

A volunteer finds a resident only by personal ID and birth date, and only in their
own ward; every lookup is an access event in the resident's log, wrong pairs count
toward the same lockout as verification (`core.identity.attempts`), and lookups are
limited per hour. The worklist names the ward's residents with missing details.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, func, literal_column, select

from core.consent.access import read_book_as
from core.db import Database
from core.i18n import now_utc, today_hanoi
from core.identity import accounts, attempts
from core.identity.attempts import Outcome
from core.identity.keys import personal_id_keys
from core.records import people
from core.records.citizen import Citizen, active_only
from core.records.completeness import RULES, Gap, counted, counts_to_make, gaps, recount
from core.records.display_rules import BookGroup
from core.staff.service import Staff
from core.values import CitizenStatus

log = logging.getLogger(__name__)
_CITIZENS = Citizen.__table__


def lookups_per_hour() -> int:
    return int(os.environ.get("EHR_VOLUNTEER_LOOKUPS_PER_HOUR") or 60)


def short_name(full_name: str) -> str:
    """`Nguyễn Văn An` → `Nguyễn V. A.`: enough for a ward team to know whom they visit."""
    family, *rest = full_name.split()
    return " ".join([family, *(f"{part[0]}." for part in rest)])


class Lookup(enum.StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    LOCKED = "locked"
    TOO_MANY = "too_many"


@dataclass(frozen=True)
class LookupResult:
    state: Lookup
    citizen_id: int | None = None
    name: str | None = None  # shortened


def _lookup(connection: Connection, account: accounts.Account, ward: str, personal_id: str,
            born: dt.date) -> LookupResult:
    now = now_utc()
    id_keys = personal_id_keys(personal_id)
    attempts.serialise(connection, attempts.account_key(account.id), attempts.id_lock_key(id_keys))
    if attempts.recent(connection, account.id, Outcome.VOLUNTEER_LOOKUP,
                       now - dt.timedelta(hours=1)) >= lookups_per_hour():
        return LookupResult(Lookup.TOO_MANY)
    if attempts.verification_locked(connection, account.id, id_keys, now):
        return LookupResult(Lookup.LOCKED)
    attempts.note(connection, account, Outcome.VOLUNTEER_LOOKUP, now, id_keys=id_keys)
    row = people.by_personal_id(connection, personal_id)
    # A record that knows only the birth year still matches: the resident stands beside the
    # volunteer with their card, the volunteer sees no health data, and the lookup is logged.
    if (row is None or not row.birth_date.matches(born) or row.ward_code != ward
            or row.status != CitizenStatus.ACTIVE):
        # One answer for "no such person", "wrong birth date" and "not in your ward".
        attempts.note(connection, account, Outcome.MISMATCH, now, id_keys=id_keys,
                      citizen_id=row.id if row is not None else None)
        locked = attempts.verification_locked(connection, account.id, id_keys, now)
        return LookupResult(Lookup.LOCKED if locked else Lookup.NOT_FOUND)
    return LookupResult(Lookup.FOUND, row.id, short_name(row.full_name))


async def find_resident(db: Database, staff: Staff, account: accounts.Account, personal_id: str,
                        born: dt.date) -> LookupResult:
    """A resident of the volunteer's ward by ID and birth date; the lookup is logged for them."""
    assert staff.ward_code is not None
    result = await db.write(_lookup, account, staff.ward_code, personal_id, born)
    log.info("volunteer lookup by account %s: %s", account.id, result.state.value)
    if result.state is Lookup.FOUND and result.citizen_id is not None:
        # The access event the resident reads in /access; a volunteer's book is general only.
        await read_book_as(db, staff.reader, result.citizen_id, via="lookup",
                           only=frozenset({BookGroup.GENERAL}))
    return result


@dataclass(frozen=True)
class WorkItem:
    name: str  # shortened
    birth_year: int
    # The details to fill in and those to check: fields of the completeness rules, in their order.
    missing: tuple[str, ...]
    invalid: tuple[str, ...] = ()

    @property
    def gaps(self) -> int:
        return len(self.missing) + len(self.invalid)


@dataclass(frozen=True)
class Worklist:
    """One page of a ward's residents with details missing, most missing first."""
    items: tuple[WorkItem, ...]
    page: int  # 0-based, kept within the list (an old button after the list shrank)
    pages: int
    total: int  # residents listed in all


_LISTED_COLUMNS = [_CITIZENS.c[name] for name in ("id", "full_name", *(r.field for r in RULES))]


def _listed(ward: str) -> tuple[ColumnElement[bool], ...]:
    # The partial index ix_citizens_worklist in the form it is made for (literals, not values).
    return _CITIZENS.c.ward_code == ward, active_only(), _CITIZENS.c.gaps > literal_column("0")


def _page(connection: Connection, ward: str, today: dt.date, page: int, per_page: int) -> Worklist:
    total = connection.scalar(select(func.count()).select_from(_CITIZENS).where(*_listed(ward))) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    rows = connection.execute(
        select(*_LISTED_COLUMNS).where(*_listed(ward))
        .order_by(_CITIZENS.c.gaps.desc(), _CITIZENS.c.full_name, _CITIZENS.c.id)
        .offset(page * per_page).limit(per_page))
    items = []
    for row in rows:
        found = counted(gaps(row, today))
        missing = tuple(g.field for g in found if g.gap is Gap.MISSING)
        invalid = tuple(g.field for g in found if g.gap is Gap.INVALID)
        items.append(WorkItem(short_name(row.full_name), row.birth_date.year, missing, invalid))
    return Worklist(tuple(items), page, pages, total)


def _counted_page(connection: Connection, ward: str, today: dt.date, page: int,
                  per_page: int) -> Worklist | None:
    """The page, or None when some of the ward's counts are to be made first."""
    if counts_to_make(connection, ward, today):
        return None
    return _page(connection, ward, today, page, per_page)


def _recounted_page(connection: Connection, ward: str, today: dt.date, page: int,
                    per_page: int) -> Worklist:
    recount(connection, ward, today)
    return _page(connection, ward, today, page, per_page)


async def worklist(db: Database, ward_code: str, page: int = 0, per_page: int = 10,
                   today: dt.date | None = None) -> Worklist:
    """A page of the ward's residents with missing details, most missing first: read from the
    counts kept with each row, after counting those new or changed since (a write only then)."""
    today = today or today_hanoi()
    found = await db.read(_counted_page, ward_code, today, page, per_page)
    return found or await db.write(_recounted_page, ward_code, today, page, per_page)
