"""Details a citizen declares about themself: what is missing, and saving it with provenance.

Only details the citizen may state (ethnicity, ward, address, occupation, blood
group, email) are declared here; name, birth date, sex, personal ID and insurance
come from official registers and are corrected through the health station.
Saving goes through `register.merge_fields`, so a declared value fills a gap or
replaces another declared value, and never silently replaces an official one.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import Connection, insert, select, update

from core.db import Database
from core.i18n import now_utc, today_hanoi
from core.records.citizen import DECLARED_ONLY_FIELDS, Citizen, FieldChange
from core.records.completeness import FieldGap, gaps
from core.records.provenance import Decision, Provenance, Source
from core.records.register import merge_fields

log = logging.getLogger(__name__)

# The details a citizen can fill in themself, in the order they are asked.
DECLARABLE: tuple[str, ...] = ("ethnicity_code", "ward_code", "street_address", "occupation",
                               "blood_group", "emergency_contact_name", "email")
# Saved together with the contact's name: the relation and the phone number.
EMERGENCY_CONTACT = DECLARED_ONLY_FIELDS
_CITIZENS = Citizen.__table__
_PROVENANCE = Provenance.__table__


def _missing(connection: Connection, citizen_id: int, today: dt.date) -> list[FieldGap]:
    row = connection.execute(select(_CITIZENS).where(_CITIZENS.c.id == citizen_id)).one_or_none()
    if row is None:
        return []
    order = {name: index for index, name in enumerate(DECLARABLE)}
    found = [gap for gap in gaps(row, today) if gap.field in order]
    return sorted(found, key=lambda gap: order[gap.field])


async def missing_details(db: Database, citizen_id: int) -> list[FieldGap]:
    """The declarable details that are missing or invalid, in the order to ask them."""
    return await db.read(_missing, citizen_id, today_hanoi())


def apply_values(connection: Connection, citizen_id: int, values: dict[str, Any], source: Source,
             reference: str) -> dict[str, Decision]:
    now = now_utc()
    row = connection.execute(select(_CITIZENS).where(_CITIZENS.c.id == citizen_id)).one()
    old_provs = {getattr(row, f"{field}_prov") for field in values} - {None}
    sources: dict[int, Source] = dict(connection.execute(
        select(_PROVENANCE.c.id, _PROVENANCE.c.source).where(_PROVENANCE.c.id.in_(old_provs))).all()) \
        if old_provs else {}
    provenance_id = connection.execute(insert(_PROVENANCE).values(
        source=source, reference=reference, received_at=now, verified=source.is_official)
        .returning(_PROVENANCE.c.id)).scalar_one()
    merge = merge_fields(row, values, source, provenance_id, sources, now, citizen_id=citizen_id)
    if merge.changed:
        connection.execute(update(_CITIZENS).where(_CITIZENS.c.id == citizen_id)
                           .values(**merge.updates, updated_at=now))
        if merge.history:
            connection.execute(insert(FieldChange.__table__), merge.history)
    return {field: merge.decisions.get(field, Decision.UNCHANGED) for field in values}


async def declare(db: Database, citizen_id: int, values: dict[str, Any], *, channel: str,
                  source: Source = Source.SELF_DECLARED, by: str | None = None) -> dict[str, Decision]:
    """Saves declared details in one transaction; says what happened to each. `by`: who declared
    them for the person (a child's guardian, an adult's proxy), kept in the provenance."""
    allowed = set(DECLARABLE) | set(EMERGENCY_CONTACT)
    if not values or set(values) - allowed:
        raise ValueError(f"not details a citizen declares: {sorted(set(values) - allowed)}")
    reference = f"{channel}: {source.value}" + (f" by {by}" if by else "")
    decisions = await db.write(apply_values, citizen_id, values, source, reference)
    log.info("%s for citizen %s: %s", source.value, citizen_id,
             ", ".join(f"{f} {d.value}" for f, d in decisions.items()))
    return decisions
