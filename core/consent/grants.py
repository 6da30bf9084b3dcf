"""The citizen's sharing choices: what any clinic may see at check-in, and more for one facility.

Default: administrative and insurance only (`core.consent.policy.ALWAYS_VISIBLE`).
Every change is a new row of the hash-chained consent history; nothing is edited.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from core.consent.chain import append
from core.consent.records import ConsentChange
from core.db import Database
from core.i18n import Translator, now_utc
from core.records.display_rules import BookGroup
from core.records.facility import Facility

log = logging.getLogger(__name__)
_CHANGES = ConsentChange.__table__
_FACILITIES = Facility.__table__


def group_names(groups: frozenset[BookGroup], t: Translator) -> str:
    """`Administrative information, Health insurance, …` in the book's order, for a sentence.
    A group is named by its section's title in the book, the one name it has everywhere: the
    consent buttons, the QR summary, the access log."""
    from core.records.display_rules import CATALOGUE

    return ", ".join(t.gettext(rule.title) for rule in CATALOGUE if rule.group in groups)


def group_name(group: BookGroup, t: Translator) -> str:
    """One group's name, for its consent button."""
    return group_names(frozenset({group}), t)


def groups_text(groups: frozenset[BookGroup]) -> str:
    return ",".join(sorted(g.value for g in groups))


def groups_of(text: str) -> frozenset[BookGroup]:
    return frozenset(BookGroup(value) for value in text.split(",") if value)


@dataclass(frozen=True)
class FacilityGrant:
    facility_code: str
    facility_name: str | None
    groups: frozenset[BookGroup]
    valid_until: dt.date | None

    def in_force(self, today: dt.date) -> bool:
        return bool(self.groups) and (self.valid_until is None or today <= self.valid_until)


@dataclass(frozen=True)
class CitizenConsent:
    any_clinic: frozenset[BookGroup] = frozenset()
    facilities: tuple[FacilityGrant, ...] = field(default_factory=tuple)

    def grant_for(self, facility_code: str | None) -> FacilityGrant | None:
        return next((g for g in self.facilities if g.facility_code == facility_code), None)


@dataclass(frozen=True)
class ConsentHistoryEntry:
    at: dt.datetime
    facility_code: str | None
    facility_name: str | None
    groups: frozenset[BookGroup]
    valid_until: dt.date | None
    channel: str


_HISTORY = (
    select(_CHANGES.c.id, _CHANGES.c.at, _CHANGES.c.facility_code, _FACILITIES.c.name.label("facility_name"),
           _CHANGES.c.groups, _CHANGES.c.valid_until, _CHANGES.c.channel)
    .outerjoin(_FACILITIES, _FACILITIES.c.code == _CHANGES.c.facility_code)
)


def current_consent(connection: Connection, citizen_id: int) -> CitizenConsent:
    rows = connection.execute(_HISTORY.where(_CHANGES.c.citizen_id == citizen_id)
                              .order_by(_CHANGES.c.id)).all()
    latest: dict[str | None, object] = {}
    for row in rows:  # the latest row of each scope is the choice in force
        latest[row.facility_code] = row
    any_row = latest.pop(None, None)
    grants = tuple(FacilityGrant(r.facility_code, r.facility_name, groups_of(r.groups), r.valid_until)
                   for r in latest.values() if r.groups)
    return CitizenConsent(groups_of(any_row.groups) if any_row is not None else frozenset(), grants)


async def consent_of(db: Database, citizen_id: int) -> CitizenConsent:
    return await db.read(current_consent, citizen_id)


def _change(connection: Connection, citizen_id: int, facility_code: str | None, groups: frozenset[BookGroup],
            valid_until: dt.date | None, channel: str, actor: str) -> CitizenConsent:
    append(connection, _CHANGES, {
        "citizen_id": citizen_id, "at": now_utc(), "facility_code": facility_code,
        "groups": groups_text(groups), "valid_until": valid_until, "channel": channel, "actor": actor})
    return current_consent(connection, citizen_id)


async def set_any_clinic(db: Database, citizen_id: int, groups: frozenset[BookGroup],
                         channel: str, actor: str = "citizen") -> CitizenConsent:
    """What any clinic sees at check-in, beyond administrative and insurance information.
    `actor`: who chose (`citizen`, or a child's `guardian`, `guardian_child_agreed`)."""
    consent = await db.write(_change, citizen_id, None, groups, None, channel, actor)
    log.info("consent changed for any clinic (citizen %s, %s)", citizen_id, channel)
    return consent


async def set_facility_grant(db: Database, citizen_id: int, facility_code: str,
                             groups: frozenset[BookGroup], valid_until: dt.date | None,
                             channel: str, actor: str = "citizen") -> CitizenConsent:
    """More for one facility until a date; an empty set withdraws the grant at once."""
    consent = await db.write(_change, citizen_id, facility_code, groups, valid_until, channel, actor)
    log.info("consent changed for one facility (citizen %s, %s)", citizen_id, channel)
    return consent


def _history(connection: Connection, citizen_id: int, limit: int) -> list[ConsentHistoryEntry]:
    rows = connection.execute(_HISTORY.where(_CHANGES.c.citizen_id == citizen_id)
                              .order_by(_CHANGES.c.id.desc()).limit(limit)).all()
    return [ConsentHistoryEntry(r.at, r.facility_code, r.facility_name, groups_of(r.groups), r.valid_until,
                                r.channel) for r in rows]


async def consent_history(db: Database, citizen_id: int, limit: int = 20) -> list[ConsentHistoryEntry]:
    return await db.read(_history, citizen_id, limit)
