"""A ward health station's inbox: what waits for its decision, each item naming the resident.

Two kinds wait: values a volunteer entered with a resident who has not confirmed them
(core.volunteering.pending) and citizens' correction requests for official details
(core.corrections.service). Each item says whom it is about as a station would say it (short
name, masked ID, birth year), the value before and after in the book's own words, who entered
it and when. Listing the items is a read by the station: each resident's access log says so.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from core.consent.access import note_reads
from core.consent.policy import Reader
from core.corrections import service as corrections
from core.corrections.model import RequestStatus
from core.db import Database
from core.i18n import Translator
from core.privacy import mask_personal_id
from core.records import people
from core.records.citizen import Citizen
from core.records.display_rules import BookGroup
from core.records.display_value import contact_shown, shown
from core.records.self_declared import EMERGENCY_CONTACT
from core.staff.model import StaffMember
from core.volunteering import pending
from core.volunteering.residents import short_name

_CITIZENS = Citizen.__table__
_MEMBERS = StaffMember.__table__
PAGE = 50  # items on one page: a station decides a screenful at a time


class ItemKind(enum.StrEnum):
    ENTRY = "entry"  # a volunteer's entry (ids are pending_values ids)
    CORRECTION = "correction"  # a citizen's request (ids are correction_requests ids)


@dataclass(frozen=True)
class InboxItem:
    kind: ItemKind
    id: int
    citizen_id: int
    resident: str  # `Nguyễn V. A.`
    masked_id: str  # `0010****1234`
    birth_year: int | None
    field_label: str  # a catalogue msgid: `Date of birth`
    before: str  # as the book shows it, `—` when the record holds nothing
    after: str
    entered_by: str | None  # the volunteer's name; None: the resident themself
    at: dt.datetime
    reason: str | None = None  # the citizen's reason for a correction


def _current_contact(row: object) -> str:
    return contact_shown({part: getattr(row, part) for part in EMERGENCY_CONTACT}, masked=True)


def _items(connection: Connection, ward_code: str, t: Translator) -> list[InboxItem]:
    entries = pending._pending(connection, None, ward_code)
    requests = corrections._list(connection, ward_code, RequestStatus.PENDING)
    ids = {e.citizen_id for e in entries} | {r.citizen_id for r in requests}
    persons = people.by_ids(connection, ids)
    rows = {row.id: row for row in connection.execute(select(_CITIZENS).where(_CITIZENS.c.id.in_(ids)))}
    staff_ids = {e.staff_id for e in entries}
    names = dict(connection.execute(select(_MEMBERS.c.id, _MEMBERS.c.name)
                                    .where(_MEMBERS.c.id.in_(staff_ids))).all()) if staff_ids else {}
    items: list[InboxItem] = []

    def who(citizen_id: int) -> tuple[str, str, int | None] | None:
        person = persons.get(citizen_id)
        if person is None:
            return None
        return short_name(person.full_name), mask_personal_id(person.personal_id), person.birth_date.year

    for entry in entries:
        found, row = who(entry.citizen_id), rows.get(entry.citizen_id)
        if found is None or row is None:
            continue
        label = pending.entry_label(entry.field)
        if entry.field == pending.CONTACT:
            before = _current_contact(row)
        else:
            value = getattr(row, entry.field, None)
            before = shown(entry.field, value, t) if value is not None else "—"
        items.append(InboxItem(ItemKind.ENTRY, entry.id, entry.citizen_id, *found, label, before or "—",
                               pending.entry_shown(entry, t, masked=True), names.get(entry.staff_id) or "",
                               entry.created_at))
    for request in requests:
        found = who(request.citizen_id)
        if found is None:
            continue
        before = (corrections.proposed_shown(request.field, request.current_value, t)
                  if request.current_value is not None else "—")
        items.append(InboxItem(ItemKind.CORRECTION, request.id, request.citizen_id, *found,
                               corrections.CORRECTABLE[request.field].label, before,
                               corrections.proposed_shown(request.field, request.proposed_value, t),
                               None, request.created_at, request.reason))
    items.sort(key=lambda item: item.at)
    return items[:PAGE]


async def ward_inbox(db: Database, reader: Reader, t: Translator) -> list[InboxItem]:
    """The oldest items waiting in the reader's ward (a page of them), each read logged for its
    resident (administrative details only: what a station sees)."""
    assert reader.ward_code is not None
    items = await db.read(_items, reader.ward_code, t)
    await note_reads(db, reader, {item.citizen_id for item in items}, frozenset({BookGroup.GENERAL}),
                     via="desk_inbox")
    return items


class Outcome(enum.StrEnum):
    DONE = "done"
    ALREADY_DECIDED = "already_decided"  # decided before (another tab, a colleague)
    NOT_IN_WARD = "not_in_ward"


@dataclass(frozen=True)
class Decision:
    kind: ItemKind
    id: int
    outcome: Outcome


def _in_ward(connection: Connection, kind: ItemKind, ids: list[int], ward_code: str) -> dict[int, int]:
    """Of these items, those of this ward: item id -> citizen id."""
    table = (pending.PendingValue.__table__ if kind is ItemKind.ENTRY
             else corrections.CorrectionRequest.__table__)
    return dict(connection.execute(select(table.c.id, table.c.citizen_id)
                                   .where(table.c.id.in_(ids), table.c.ward_code == ward_code)).all())


async def decide(db: Database, reader: Reader, chosen: Iterable[tuple[ItemKind, int]], *, confirm: bool,
                 reason: str | None, by: str) -> list[Decision]:
    """Confirms or rejects the chosen items of the reader's ward; the resident is told each
    decision (a rejection with the station's reason). An item decided meanwhile says so."""
    assert reader.ward_code is not None
    decisions: list[Decision] = []
    by_kind: dict[ItemKind, list[int]] = {ItemKind.ENTRY: [], ItemKind.CORRECTION: []}
    for kind, item_id in chosen:
        by_kind[kind].append(item_id)
    for kind, ids in by_kind.items():
        if not ids:
            continue
        ours = await db.read(_in_ward, kind, ids, reader.ward_code)
        decisions += [Decision(kind, i, Outcome.NOT_IN_WARD) for i in ids if i not in ours]
        if kind is ItemKind.ENTRY:
            # One resident's entries in one decision: one message to them naming the details.
            per_person: dict[int, list[int]] = {}
            for item_id, citizen_id in ours.items():
                per_person.setdefault(citizen_id, []).append(item_id)
            for citizen_id, entry_ids in per_person.items():
                done_ids = set(await pending.decide_entries(db, citizen_id, entry_ids, confirm=confirm,
                                                            by=by, reason=reason))
                decisions += [Decision(kind, i, Outcome.DONE if i in done_ids else Outcome.ALREADY_DECIDED)
                              for i in entry_ids]
            continue
        for item_id in ours:
            decided = await (corrections.approve(db, item_id) if confirm
                             else corrections.reject(db, item_id, reason or ""))
            done = decided is corrections.Decided.DONE
            decisions.append(Decision(kind, item_id, Outcome.DONE if done else Outcome.ALREADY_DECIDED))
    return decisions
