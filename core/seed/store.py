"""Writing a synthetic city to the record, and exporting it as the sources' files.

The seed writes through the importers' own services (the same rules, the same
provenance as real files); the export writes the real formats, so the test
suite can import them back and compare.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, func, insert, select

from core.db import Database
from core.i18n import TIMEZONE, now_utc
from core.marks import DEMO_SEED, is_demo, set_mark
from core.records.citizen import Citizen
from core.records.history import Allergy, Disability, FamilyHistory, RiskFactor, Surgery
from core.records.imports.facilities import write_facilities, write_facilities_csv
from core.records.imports.immunizations import write_immunizations, write_immunizations_csv
from core.records.imports.qd130 import apply_submissions
from core.records.imports.qd130_format import write_qd130_file
from core.records.imports.report import ImportReport
from core.records.imports.roster import RosterSources, write_entries, write_roster_csv
from core.records.imports.runs import finish_run, start_run
from core.records.operations import ImportKind
from core.records.provenance import Source
from core.records.submission import VisitSubmission
from core.reporting import figures
from core.reporting.centres import seed_demo_centres
from core.seed import SyntheticCity
from core.seed.demo import remember_demo_residents

HISTORY_TABLES = {
    "allergies": Allergy.__table__,
    "disabilities": Disability.__table__,
    "surgeries": Surgery.__table__,
    "family_history": FamilyHistory.__table__,
    "risk_factors": RiskFactor.__table__,
}


@dataclass(frozen=True)
class SeedSummary:
    residents: int
    facilities: int
    immunizations: int
    visits: int
    history: int


async def database_is_empty(db: Database) -> bool:
    async with db.sessions() as session:
        return not await session.scalar(select(func.count()).select_from(Citizen))


def _mark_demo_if_empty(connection: Connection, label: str) -> None:
    # Filled from empty, the database holds synthetic people only: the sandbox may run on it.
    # Synthetic people added to a database that already held residents make no demo of it.
    if not connection.execute(select(func.count()).select_from(Citizen.__table__)).scalar_one():
        set_mark(connection, DEMO_SEED, label)


async def seed_database(db: Database, city: SyntheticCity) -> SeedSummary:
    """Writes the city as the registers, the immunization registry and clinics would."""
    label = f"synthetic Hanoi, seed {city.seed}, {len(city.residents)} people"
    await db.write(_mark_demo_if_empty, label)
    run_id, provenance = await start_run(db, ImportKind.SEED, label, None, (
        Source.POPULATION_DB, Source.SOCIAL_INSURANCE, Source.IMMUNIZATION_REGISTRY,
        Source.HEALTH_STATION))
    report = ImportReport(label)
    await write_facilities(db, city.town.facilities, provenance[Source.HEALTH_STATION], report)
    await write_entries(db, (r.entry for r in city.residents),
                        RosterSources(provenance[Source.POPULATION_DB],
                                      provenance[Source.SOCIAL_INSURANCE]), report)
    await write_immunizations(db, city.doses, provenance[Source.IMMUNIZATION_REGISTRY], report)
    await apply_submissions(db, city.visits, label, report, run_id)
    await _write_history(db, city, provenance[Source.HEALTH_STATION])
    await finish_run(db, run_id, report)
    if await is_demo(db):
        await db.write(remember_demo_residents)
        await db.write(seed_demo_centres)  # made-up areas, marked as the seed's (centres.DEMO)
    await figures.refresh(db)
    return SeedSummary(len(city.residents), len(city.town.facilities), len(city.doses),
                       len(city.visits), len(city.history))


async def _write_history(db: Database, city: SyntheticCity, provenance_id: int) -> None:
    """Facts a health station records in its programmes; no file format carries them."""
    if not city.history:
        return
    now = now_utc()
    async with db.connection() as connection:
        ids: dict[str, int] = {}
        pids = sorted({fact.personal_id for fact in city.history})
        for start in range(0, len(pids), 2000):
            ids.update((await connection.execute(
                select(Citizen.personal_id, Citizen.id)
                .where(Citizen.personal_id.in_(pids[start:start + 2000])))).all())
        rows: dict[str, list[dict[str, object]]] = defaultdict(list)
        for fact in city.history:
            rows[fact.table].append({"citizen_id": ids[fact.personal_id], **fact.values,
                                     "provenance_id": provenance_id, "recorded_at": now})
        for table, values in rows.items():
            await connection.execute(insert(HISTORY_TABLES[table]), values)


def export_city(city: SyntheticCity, directory: Path) -> dict[str, int]:
    """The city as the sources' files: roster, facilities, immunizations, QĐ 130 XML."""
    directory.mkdir(parents=True, exist_ok=True)
    counts = {
        "facilities.csv": write_facilities_csv(directory / "facilities.csv", city.town.facilities),
        "roster.csv": write_roster_csv(directory / "roster.csv", (r.entry for r in city.residents)),
        "immunizations.csv": write_immunizations_csv(directory / "immunizations.csv", city.doses),
    }
    # One checkout file per facility and month: a clinic system's batch (SOLUONGHOSO > 1).
    batches: dict[tuple[str, str], list[VisitSubmission]] = defaultdict(list)
    for visit in city.visits:
        month = f"{visit.admitted_at.astimezone(TIMEZONE):%Y%m}"
        batches[(visit.facility_code, month)].append(visit)
    xml_dir = directory / "xml"
    xml_dir.mkdir(exist_ok=True)
    for (facility, month), visits in sorted(batches.items()):
        created = max(v.discharged_at or v.admitted_at for v in visits)
        write_qd130_file(xml_dir / f"{facility}_{month}.xml", facility, visits, created)
    counts["xml"] = len(batches)
    return counts
