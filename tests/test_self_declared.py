"""Self-declared details: they fill gaps and replace earlier declarations, never an official value."""

from __future__ import annotations

from sqlalchemy import select

from core.db import Database
from core.records.citizen import Citizen, FieldChange
from core.records.provenance import Decision, Provenance, Source
from core.records.self_declared import DECLARABLE, declare, missing_details
from tests.records import make_empty_record, make_full_record


async def test_a_declared_value_never_replaces_an_official_one(db: Database) -> None:
    citizen_id = await make_full_record(db)
    async with db.sessions() as session:
        before = await session.get(Citizen, citizen_id)
    decided = await declare(db, citizen_id, {"ethnicity_code": "06"}, channel="telegram")
    assert decided == {"ethnicity_code": Decision.KEEP}
    async with db.sessions() as session:
        after = await session.get(Citizen, citizen_id)
    assert after.ethnicity_code == before.ethnicity_code


async def test_declared_values_fill_gaps_and_a_later_declaration_replaces_with_history(db: Database) -> None:
    citizen_id = await make_empty_record(db)
    missing = [gap.field for gap in await missing_details(db, citizen_id)]
    assert missing and set(missing) <= set(DECLARABLE)
    assert missing == [f for f in DECLARABLE if f in missing]  # asked in a fixed order
    first = await declare(db, citizen_id, {"occupation": "Thợ may"}, channel="telegram")
    second = await declare(db, citizen_id, {"occupation": "Giáo viên"}, channel="telegram")
    assert (first, second) == ({"occupation": Decision.SET}, {"occupation": Decision.REPLACE})
    async with db.sessions() as session:
        citizen = await session.get(Citizen, citizen_id)
        source = await session.scalar(
            select(Provenance.source).where(Provenance.id == citizen.occupation_prov))
        history = (await session.execute(select(FieldChange.old_value, FieldChange.new_value)
                                         .where(FieldChange.citizen_id == citizen_id))).all()
    assert citizen.occupation == "Giáo viên" and source is Source.SELF_DECLARED
    assert [tuple(h) for h in history] == [("Thợ may", "Giáo viên")]
    assert "occupation" not in [gap.field for gap in await missing_details(db, citizen_id)]
