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
from core.records.citizen import Citizen, FieldChange
from core.records.completeness import FieldGap, gaps
from core.records.provenance import Decision, Provenance, Source
from core.records.register import merge_fields

log = logging.getLogger(__name__)

# The details a citizen can fill in themself, in the order they are asked.
DECLARABLE: tuple[str, ...] = ("ethnicity_code", "ward_code", "street_address", "occupation",
                               "blood_group", "email")
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


def _declare(connection: Connection, citizen_id: int, field: str, value: Any, source: Source,
             reference: str) -> Decision:
    now = now_utc()
    row = connection.execute(select(_CITIZENS).where(_CITIZENS.c.id == citizen_id)).one()
    old_prov = getattr(row, f"{field}_prov")
    sources: dict[int, Source] = {}
    if old_prov is not None:
        sources[old_prov] = connection.execute(
            select(_PROVENANCE.c.source).where(_PROVENANCE.c.id == old_prov)).scalar_one()
    provenance_id = connection.execute(insert(_PROVENANCE).values(
        source=source, reference=reference, received_at=now, verified=False)
        .returning(_PROVENANCE.c.id)).scalar_one()
    merge = merge_fields(row, {field: value}, source, provenance_id, sources, now, citizen_id=citizen_id)
    if merge.changed:
        connection.execute(update(_CITIZENS).where(_CITIZENS.c.id == citizen_id)
                           .values(**merge.updates, updated_at=now))
        if merge.history:
            connection.execute(insert(FieldChange.__table__), merge.history)
    return merge.decisions.get(field, Decision.UNCHANGED)


async def declare(db: Database, citizen_id: int, field: str, value: Any, *, channel: str) -> Decision:
    """Saves one self-declared detail in one transaction; says what happened to it."""
    if field not in DECLARABLE:
        raise ValueError(f"{field} is not a detail a citizen declares")
    decision = await db.write(_declare, citizen_id, field, value, Source.SELF_DECLARED,
                              f"{channel}: self-declared")
    log.info("self-declared %s for citizen %s: %s", field, citizen_id, decision.value)
    return decision
