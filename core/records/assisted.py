"""Volunteers helping residents of their ward: lookups, the worklist, values that wait for consent.

A volunteer finds a resident only by personal ID and birth date, and only in their
own ward; every lookup is an access event in the resident's log, wrong pairs count
toward the same lockout as verification, and lookups are limited per hour. What a
volunteer enters is kept apart (`PendingValue`) until the resident, or the ward's
health station, confirms it; it is then saved as volunteer-assisted.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import logging
import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from core.consent.access import read_book_as
from core.consent.policy import Reader
from core.db import Database
from core.i18n import now_utc, today_hanoi
from core.identity import accounts, attempts
from core.identity.attempts import Outcome
from core.identity.keys import personal_id_keys
from core.records.citizen import Citizen
from core.records.completeness import counted, gaps
from core.records.corrections import PendingValue, RequestStatus
from core.records.display_rules import BookGroup
from core.records.provenance import Source
from core.records.register import serialize
from core.records.self_declared import DECLARABLE, EMERGENCY_CONTACT, apply_values
from core.staff.service import Staff
from core.values import BloodGroup, CitizenStatus

log = logging.getLogger(__name__)
_CITIZENS = Citizen.__table__
_PENDING = PendingValue.__table__


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
    row = connection.execute(select(_CITIZENS.c.id, _CITIZENS.c.full_name, _CITIZENS.c.birth_date,
                                    _CITIZENS.c.ward_code, _CITIZENS.c.status)
                             .where(_CITIZENS.c.personal_id == personal_id)).one_or_none()
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
        reader = Reader(account.id, staff.role.value, None, staff.ward_code, staff.name)
        # The access event the resident reads in /access; a volunteer's book is general only.
        await read_book_as(db, reader, result.citizen_id, via="lookup", only=frozenset({BookGroup.GENERAL}))
    return result


def _propose(connection: Connection, staff: Staff, citizen_id: int, values: dict[str, Any]) -> list[int]:
    now = now_utc()
    ids = []
    for field, value in values.items():
        # A newer entry for the same detail replaces the one waiting: the resident is asked once,
        # about the latest, and never confirms two values of one detail with one tap.
        connection.execute(update(_PENDING).where(
            _PENDING.c.citizen_id == citizen_id, _PENDING.c.field == field,
            _PENDING.c.status == RequestStatus.PENDING).values(
            status=RequestStatus.REJECTED, decided_at=now, decided_by="replaced"))
        ids.append(connection.execute(insert(_PENDING).values(
            citizen_id=citizen_id, field=field, value=serialize(value), staff_id=staff.id,
            ward_code=staff.ward_code, status=RequestStatus.PENDING, created_at=now)
            .returning(_PENDING.c.id)).scalar_one())
    return ids


async def propose(db: Database, staff: Staff, citizen_id: int, values: dict[str, Any]) -> list[int]:
    if set(values) - set(DECLARABLE) - set(EMERGENCY_CONTACT):
        raise ValueError("a volunteer enters only details a citizen could declare")
    return await db.write(_propose, staff, citizen_id, values)


@dataclass(frozen=True)
class Pending:
    id: int
    citizen_id: int
    field: str
    value: str
    ward_code: str | None
    created_at: dt.datetime


def _pending(connection: Connection, citizen_id: int | None, ward: str | None) -> list[Pending]:
    query = select(_PENDING).where(_PENDING.c.status == RequestStatus.PENDING).order_by(_PENDING.c.id)
    if citizen_id is not None:
        query = query.where(_PENDING.c.citizen_id == citizen_id)
    if ward is not None:
        query = query.where(_PENDING.c.ward_code == ward)
    return [Pending(r.id, r.citizen_id, r.field, r.value, r.ward_code, r.created_at)
            for r in connection.execute(query)]


async def waiting_fields(db: Database, citizen_id: int) -> set[str]:
    """The details with an entry waiting for this resident's yes: not asked again meanwhile."""
    return {p.field for p in await pending_values(db, citizen_id=citizen_id)}


async def pending_values(db: Database, *, citizen_id: int | None = None,
                         ward_code: str | None = None) -> list[Pending]:
    return await db.read(_pending, citizen_id, ward_code)


def _parse(field: str, text: str) -> Any:
    return BloodGroup.from_code(text) if field == "blood_group" else text


def shown_digest(waiting: list[Pending]) -> str:
    """A short fingerprint of exactly which entries a resident was shown (fits a button's data)."""
    return hashlib.sha256(",".join(str(p.id) for p in sorted(waiting, key=lambda p: p.id))
                          .encode()).hexdigest()[:16]


def _decide(connection: Connection, citizen_id: int, ids: list[int] | None, shown: str | None,
            confirm: bool, by: str) -> int | None:
    waiting = [p for p in _pending(connection, citizen_id, None) if ids is None or p.id in ids]
    if not waiting:
        return 0
    if shown is not None and shown_digest(waiting) != shown:
        return None  # entries were added or decided since the resident was asked
    status = RequestStatus.APPROVED if confirm else RequestStatus.REJECTED
    # Claimed by the update itself: of two taps at once, only one finds them still pending.
    decided = set(connection.execute(
        update(_PENDING).where(_PENDING.c.id.in_([p.id for p in waiting]),
                               _PENDING.c.status == RequestStatus.PENDING)
        .values(status=status, decided_at=now_utc(), decided_by=by).returning(_PENDING.c.id)).scalars())
    chosen = [p for p in waiting if p.id in decided]
    if confirm and chosen:
        values = {p.field: _parse(p.field, p.value) for p in chosen}  # the latest per field wins
        apply_values(connection, citizen_id, values, Source.VOLUNTEER_ASSISTED, f"volunteer-assisted, {by}")
    return len(chosen)


async def decide_pending(db: Database, citizen_id: int, *, confirm: bool, by: str,
                         ids: list[int] | None = None) -> int:
    """The health station confirms (saves as volunteer-assisted) or rejects what waits for this
    resident: the entries `ids`, or all of them."""
    count = await db.write(_decide, citizen_id, ids, None, confirm, by)
    assert count is not None
    log.info("%s %s pending values for citizen %s (%s)", "confirmed" if confirm else "rejected", count,
             citizen_id, by)
    return count


async def decide_shown(db: Database, citizen_id: int, shown: str, *, confirm: bool) -> int | None:
    """The resident's yes or no to exactly the entries they were shown (`shown_digest`): None when
    the list changed since, so nothing added later is ever confirmed unseen."""
    count = await db.write(_decide, citizen_id, None, shown, confirm, "citizen")
    log.info("citizen %s %s shown pending values: %s", citizen_id, "confirmed" if confirm else "rejected",
             "list changed" if count is None else count)
    return count


@dataclass(frozen=True)
class WorkItem:
    name: str  # shortened
    birth_year: int
    missing: int


def _worklist(connection: Connection, ward: str, today: dt.date) -> list[WorkItem]:
    items = []
    rows = connection.execute(select(_CITIZENS).where(_CITIZENS.c.ward_code == ward,
                                                      _CITIZENS.c.status == CitizenStatus.ACTIVE))
    for row in rows:
        found = counted(gaps(row, today))
        if found:
            items.append(WorkItem(short_name(row.full_name), row.birth_date.year, len(found)))
    items.sort(key=lambda item: (-item.missing, item.name))
    return items


async def worklist(db: Database, ward_code: str) -> list[WorkItem]:
    """Residents of the ward with missing details, most missing first."""
    return await db.read(_worklist, ward_code, today_hanoi())
