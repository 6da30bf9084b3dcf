"""The ward health station confirms a person in person, with their ID card in hand.

The way in for everyone the bot must send away: no verifying phone on record, a
birth date known only to the year, a number that changed. Staff record the mobile
number and the full birth date with health-station provenance, the strongest there
is beside the registers (core.records.provenance); the person then verifies in the
bot as anyone does.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from typing import Any

from sqlalchemy import Connection

from core.db import Database
from core.records import people
from core.records.provenance import Decision, Source
from core.records.self_declared import apply_values
from core.values import PartialDate

log = logging.getLogger(__name__)


class InPerson(enum.StrEnum):
    RECORDED = "recorded"
    UNCHANGED = "unchanged"
    NOT_FOUND = "not_found"


def _confirm(connection: Connection, personal_id: str, values: dict[str, Any], staff: str) -> InPerson:
    person = people.by_personal_id(connection, personal_id)
    if person is None:
        return InPerson.NOT_FOUND
    decisions = apply_values(connection, person.id, values, Source.HEALTH_STATION,
                             f"in person at the health station: {staff}"[:200])
    changed = any(d in (Decision.SET, Decision.REPLACE, Decision.CONFIRM) for d in decisions.values())
    return InPerson.RECORDED if changed else InPerson.UNCHANGED


async def confirm_in_person(db: Database, personal_id: str, *, staff: str, phone: str | None = None,
                            birth_date: dt.date | None = None) -> InPerson:
    """Records the verifying phone and/or the full birth date the station saw on the ID card."""
    values: dict[str, Any] = {}
    if phone is not None:
        values["phone"] = phone
    if birth_date is not None:
        values["birth_date"] = PartialDate.of(birth_date)
    if not values:
        raise ValueError("nothing to record")
    outcome = await db.write(_confirm, personal_id, values, staff)
    log.info("identity confirmed in person at a health station: %s (%s)", outcome.value,
             ", ".join(sorted(values)))
    return outcome
