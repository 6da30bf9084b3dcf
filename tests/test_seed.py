"""The synthetic Hanoi: realistic, deterministic, and faithful to the source formats."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from core.consent.access import read_own_book
from core.db import Database
from core.records.citizen import Citizen
from core.records.completeness import counted, gaps
from core.records.imports.facilities import import_facilities
from core.records.imports.immunizations import import_immunizations
from core.records.imports.qd130 import import_qd130_files
from core.records.imports.roster import import_roster
from core.reference.wards import hanoi_wards
from core.seed import generate_city
from core.seed.store import export_city, seed_database
from core.text import nfc
from core.validation import personal_id, personal_id_conflict
from core.values import CitizenStatus

AS_OF = dt.date(2026, 11, 1)


def test_the_same_seed_gives_the_same_city_and_another_seed_another() -> None:
    first, again = generate_city(300, 5, AS_OF), generate_city(300, 5, AS_OF)
    other = generate_city(300, 6, AS_OF)
    assert [r.entry for r in first.residents] == [r.entry for r in again.residents]
    assert first.visits == again.visits and first.doses == again.doses
    assert [r.entry.personal_id for r in first.residents] != [r.entry.personal_id for r in other.residents]


def test_residents_look_like_a_city() -> None:
    city = generate_city(6000, 11, AS_OF)
    entries = [r.entry for r in city.residents]
    assert len(entries) == 6000
    assert len({e.personal_id for e in entries}) == 6000
    for entry in entries:
        assert personal_id(entry.personal_id) == entry.personal_id
        assert personal_id_conflict(entry.personal_id, entry.sex, entry.birth_date) is None
        assert nfc(entry.full_name) == entry.full_name
    # Spread over many of Hanoi's 126 wards and communes.
    wards = Counter(r.ward.code for r in city.residents)
    assert len(wards) > 110 and set(wards) <= set(hanoi_wards())
    ages = [e.birth_date.age_on(AS_OF) for e in entries]
    children, elders = sum(a < 15 for a in ages) / len(ages), sum(a >= 65 for a in ages) / len(ages)
    assert 0.18 < children < 0.32 and 0.05 < elders < 0.15
    # Most people are Kinh and insured; children have a guardian.
    assert sum(e.ethnicity_code == "01" for e in entries) / len(entries) > 0.8
    assert 0.85 < sum(e.card is not None for e in entries) / len(entries) < 0.97
    minors = [r for r in city.residents if r.entry.birth_date.age_on(AS_OF) < 18]
    assert sum(r.entry.guardian_personal_id is not None for r in minors) / len(minors) > 0.9


def test_about_one_resident_in_six_lacks_a_detail() -> None:
    city = generate_city(6000, 12, AS_OF)
    # Completeness reads the same fields from a generated entry as from a stored row.
    active = [r for r in city.residents if r.entry.status is CitizenStatus.ACTIVE]
    lacking = 0
    for resident in active:
        row = resident.entry
        row.guardian_id = row.guardian_personal_id  # type: ignore[attr-defined]
        lacking += bool(counted(gaps(row, AS_OF)))
    share = lacking / len(active)
    assert 0.13 < share < 0.22, share


def test_clinical_data_is_plausible() -> None:
    city = generate_city(1500, 13, AS_OF)
    people = {r.entry.personal_id: r for r in city.residents}
    assert city.visits and city.doses and city.history
    for visit in city.visits:
        resident = people[visit.personal_id or ""]
        assert resident.born <= visit.admitted_at.date() <= AS_OF
        assert visit.discharged_at is None or visit.discharged_at > visit.admitted_at
    keys = [(v.facility_code, v.visit_key) for v in city.visits]
    assert len(keys) == len(set(keys))
    for dose in city.doses:
        assert people[dose.personal_id].born <= dose.given_on <= AS_OF


async def count(db: Database) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Citizen)) or 0


# Sections a file format carries; allergies, disabilities, surgeries, family history and
# risk factors come from health-station programmes that have no file format.
NOT_EXPORTED = {"history.allergies", "history.disabilities", "history.surgeries", "history.family",
                "history.risk_factors"}


def _drop_refs(node: object) -> None:
    """Row ids differ between two databases holding the same people."""
    if isinstance(node, dict):
        node.pop("ref", None)
        for value in node.values():
            _drop_refs(value)
    elif isinstance(node, list | tuple):
        for value in node:
            _drop_refs(value)


async def books(db: Database) -> dict[str, dict]:
    async with db.sessions() as session:
        ids = dict((await session.execute(select(Citizen.personal_id, Citizen.id))).all())
    result = {}
    for pid, cid in ids.items():
        book = await read_own_book(db, cid, locale="en")
        assert book is not None
        data = book.to_dict()
        _drop_refs(data)
        for section in data["sections"]:
            section["lists"] = [lst for lst in section["lists"] if lst["key"] not in NOT_EXPORTED]
        result[pid] = data["sections"]
    return result


async def test_exported_files_import_back_to_the_same_health_books(
        db: Database, tmp_path: Path) -> None:
    city = generate_city(150, 21, AS_OF)
    export_city(city, tmp_path / "export")
    files = sorted((tmp_path / "export" / "xml").glob("*.xml"))
    for importer, path in ((import_facilities, "facilities.csv"), (import_roster, "roster.csv"),
                           (import_immunizations, "immunizations.csv")):
        report = await importer(db, tmp_path / "export" / path)
        assert report.rejected == 0, report.problems[:3]
    xml = await import_qd130_files(db, files)
    assert (xml.read, xml.created, xml.rejected, xml.quarantined) == (len(city.visits),) * 2 + (0, 0)
    imported = await books(db)

    seeded_db = Database(f"sqlite+aiosqlite:///{tmp_path / 'seeded.sqlite3'}")
    from core.migrate import upgrade

    await upgrade(seeded_db)
    await seed_database(seeded_db, city)
    seeded = await books(seeded_db)
    await seeded_db.dispose()
    assert len(imported) == len(seeded) == 150
    assert imported == seeded


async def test_the_sandboxs_demo_people_stay_the_same_when_one_completes_their_details(db: Database) -> None:
    from sqlalchemy import update

    from core.seed.demo import demo_residents
    from core.values import BloodGroup

    await seed_database(db, generate_city(150, 7, dt.date(2026, 11, 1)))
    before = await db.read(demo_residents)
    with_gaps = next(r for r in before if r.kind == "with_gaps")
    async with db.transaction() as session:  # a volunteer and the resident fill everything in
        await session.execute(update(Citizen).where(Citizen.id == with_gaps.citizen_id).values(
            ethnicity_code="01", blood_group=BloodGroup("O", "+"), occupation="Giáo viên"))
    after = await db.read(demo_residents)
    assert [(r.citizen_id, r.kind) for r in after] == [(r.citizen_id, r.kind) for r in before]
    assert {r.kind for r in before} == {"with_visits", "older", "with_gaps", "no_phone", "parent", "child",
                                       "elder"}


async def test_a_seeded_residents_address_names_their_own_ward(db: Database) -> None:
    city = generate_city(300, 8, AS_OF)
    for resident in city.residents:  # also those whose register lost the ward code
        address = resident.entry.street_address
        assert address is None or address.endswith(f", {resident.ward.name}"), address
    await seed_database(db, city)
    async with db.sessions() as session:
        rows = (await session.execute(select(Citizen.street_address, Citizen.ward_code).where(
            Citizen.street_address.is_not(None), Citizen.ward_code.is_not(None)))).all()
    wards = hanoi_wards()
    assert len(rows) > 200
    for address, ward_code in rows:
        named = [w.name for w in wards.values() if address.endswith(f", {w.name}")]
        assert named == [wards[ward_code].name], (address, wards[ward_code].name)
