"""What a volunteer enters with a resident waits for a yes: the resident's, or the health station's.

What a volunteer enters is kept apart (`PendingValue`) until the resident, or the
ward's health station, confirms it; it is then saved as volunteer-assisted through
the record's own rules (`core.records.self_declared.apply_values`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from core import notices, validation
from core.db import Database
from core.i18n import N_, Translator, now_utc
from core.privacy import mask_phone
from core.records.display_value import contact_shown, detail_label, shown_stored
from core.records.provenance import Source
from core.records.register import serialize
from core.records.self_declared import DECLARABLE, EMERGENCY_CONTACT, apply_values
from core.staff.service import Staff
from core.values import BloodGroup
from core.volunteering.model import PendingStatus, PendingValue

log = logging.getLogger(__name__)
_PENDING = PendingValue.__table__
# The emergency contact is one entry, kept under its name's field (the detail the completeness
# rules name): its name, relation and phone are shown, confirmed or refused together.
CONTACT = EMERGENCY_CONTACT[0]


def _entries(values: dict[str, Any]) -> dict[str, str]:
    """Each detail's entry as stored: the contact's three parts as one."""
    parts = {part: values[part] for part in EMERGENCY_CONTACT if part in values}
    if parts and len(parts) != len(EMERGENCY_CONTACT):
        raise ValueError("an emergency contact is entered whole: name, relation and phone")
    entries = {field: serialize(value) or "" for field, value in values.items()
               if field not in EMERGENCY_CONTACT}
    if parts:
        entries[CONTACT] = json.dumps(parts, ensure_ascii=False)
    return entries


def _contact(stored: str) -> dict[str, str] | None:
    """The contact's parts, from its entry (None: not a whole contact, such as an older entry)."""
    try:
        parts = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(parts, dict) or set(parts) != set(EMERGENCY_CONTACT):
        return None
    return {part: str(parts[part]) for part in EMERGENCY_CONTACT}


def _propose(connection: Connection, staff: Staff, citizen_id: int, values: dict[str, str]) -> list[int]:
    now = now_utc()
    ids = []
    for field, value in values.items():
        # A newer entry for the same detail replaces the one waiting: the resident is asked once,
        # about the latest, and never confirms two values of one detail with one tap.
        connection.execute(update(_PENDING).where(
            _PENDING.c.citizen_id == citizen_id, _PENDING.c.field == field,
            _PENDING.c.status == PendingStatus.PENDING).values(
            status=PendingStatus.REJECTED, decided_at=now, decided_by="replaced"))
        ids.append(connection.execute(insert(_PENDING).values(
            citizen_id=citizen_id, field=field, value=value, staff_id=staff.id,
            ward_code=staff.ward_code, status=PendingStatus.PENDING, created_at=now)
            .returning(_PENDING.c.id)).scalar_one())
    return ids


async def propose(db: Database, staff: Staff, citizen_id: int, values: dict[str, Any]) -> list[int]:
    if set(values) - set(DECLARABLE) - set(EMERGENCY_CONTACT):
        raise ValueError("a volunteer enters only details a citizen could declare")
    return await db.write(_propose, staff, citizen_id, _entries(values))


@dataclass(frozen=True)
class Pending:
    id: int
    citizen_id: int
    field: str
    value: str
    ward_code: str | None
    created_at: dt.datetime
    staff_id: int | None = None  # the volunteer who entered it


def _pending(connection: Connection, citizen_id: int | None, ward: str | None) -> list[Pending]:
    query = select(_PENDING).where(_PENDING.c.status == PendingStatus.PENDING).order_by(_PENDING.c.id)
    if citizen_id is not None:
        query = query.where(_PENDING.c.citizen_id == citizen_id)
    if ward is not None:
        query = query.where(_PENDING.c.ward_code == ward)
    return [Pending(r.id, r.citizen_id, r.field, r.value, r.ward_code, r.created_at, r.staff_id)
            for r in connection.execute(query)]


async def waiting_fields(db: Database, citizen_id: int) -> set[str]:
    """The details with an entry waiting for this resident's yes: not asked again meanwhile."""
    return {p.field for p in await pending_values(db, citizen_id=citizen_id)}


async def pending_values(db: Database, *, citizen_id: int | None = None,
                         ward_code: str | None = None) -> list[Pending]:
    return await db.read(_pending, citizen_id, ward_code)


def _values(entry: Pending) -> dict[str, Any]:
    """The record's values an entry saves (the contact: its three parts)."""
    if entry.field == CONTACT and (parts := _contact(entry.value)) is not None:
        return dict(parts)
    return {entry.field: BloodGroup.from_code(entry.value) if entry.field == "blood_group" else entry.value}


def entry_shown(entry: Pending, t: Translator, *, masked: bool = False) -> str:
    """An entry as the book would show it: the contact as its one line (`Lê Văn Nam (con trai),
    0912 345 678`), its phone masked where the list masks numbers."""
    if entry.field == CONTACT and (parts := _contact(entry.value)) is not None:
        return contact_shown(parts, masked=masked)
    if masked and entry.field == "emergency_contact_phone":  # an entry from before contacts were whole
        return mask_phone(shown_stored(entry.field, entry.value, t))
    return shown_stored(entry.field, entry.value, t)


def shown_digest(waiting: list[Pending]) -> str:
    """A short fingerprint of exactly which entries a resident was shown (fits a button's data)."""
    return hashlib.sha256(",".join(str(p.id) for p in sorted(waiting, key=lambda p: p.id))
                          .encode()).hexdigest()[:16]


def _in_book_order(field: str) -> int:
    return DECLARABLE.index(field) if field in DECLARABLE else len(DECLARABLE)


def entry_label(field: str) -> str:
    """The name of what an entry holds (a catalogue msgid): `Ethnicity`, `Emergency contact`."""
    return N_("Emergency contact") if field == CONTACT else detail_label(field)


def _decide(connection: Connection, citizen_id: int, ids: list[int] | None, shown: str | None,
            confirm: bool, by: str, reason: str | None = None) -> int | None:
    decided = _decide_ids(connection, citizen_id, ids, shown, confirm, by, reason)
    return None if decided is None else len(decided)


def _decide_ids(connection: Connection, citizen_id: int, ids: list[int] | None, shown: str | None,
                confirm: bool, by: str, reason: str | None = None) -> list[int] | None:
    """The entries decided (of `ids`, or all waiting); None when `shown` no longer matches."""
    waiting = [p for p in _pending(connection, citizen_id, None) if ids is None or p.id in ids]
    if not waiting:
        return []
    if shown is not None and shown_digest(waiting) != shown:
        return None  # entries were added or decided since the resident was asked
    status = PendingStatus.APPROVED if confirm else PendingStatus.REJECTED
    # Claimed by the update itself: of two taps at once, only one finds them still pending.
    decided = set(connection.execute(
        update(_PENDING).where(_PENDING.c.id.in_([p.id for p in waiting]),
                               _PENDING.c.status == PendingStatus.PENDING)
        .values(status=status, decided_at=now_utc(), decided_by=by).returning(_PENDING.c.id)).scalars())
    chosen = [p for p in waiting if p.id in decided]
    if confirm and chosen:
        values = {k: v for p in chosen for k, v in _values(p).items()}  # the latest per field wins
        apply_values(connection, citizen_id, values, Source.VOLUNTEER_ASSISTED, f"volunteer-assisted, {by}")
    if chosen and by != "citizen":  # the station decided: the person hears it once, what and why
        notices.enqueue(connection, citizen_id, "pending_confirmed" if confirm else "pending_rejected",
                        reason=reason or "", fields=sorted({p.field for p in chosen}, key=_in_book_order))
    return [p.id for p in chosen]


async def decide_entries(db: Database, citizen_id: int, ids: list[int], *, confirm: bool, by: str,
                         reason: str | None = None) -> list[int]:
    """The station's decision on these entries of one resident, in one transaction and one notice
    to them; the ids it decided (the others were decided meanwhile)."""
    if reason is not None:
        reason = validation.free_text(reason, 500)
    decided = await db.write(_decide_ids, citizen_id, ids, None, confirm, by, reason)
    assert decided is not None
    log.info("%s %s pending values for citizen %s (%s)", "confirmed" if confirm else "rejected",
             len(decided), citizen_id, by)
    return decided


async def decide_pending(db: Database, citizen_id: int, *, confirm: bool, by: str,
                         ids: list[int] | None = None, reason: str | None = None) -> int:
    """The health station confirms (saves as volunteer-assisted) or rejects what waits for this
    resident: the entries `ids`, or all of them. The resident is told, with the station's reason."""
    if reason is not None:
        reason = validation.free_text(reason, 500)
    count = await db.write(_decide, citizen_id, ids, None, confirm, by, reason)
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
