"""The immunization registry import, as operators and residents experience it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.config import PROJECT_ROOT
from core.consent.access import read_own_book
from core.db import Database
from core.i18n import today_hanoi, translator
from core.records.citizen import Citizen
from core.records.display_rules import BookGroup
from core.records.healthbook import BookEntry
from core.records.immunization import Immunization, Programme
from core.records.imports.chunks import apply_safely
from core.records.imports.csvfile import open_csv
from core.records.imports.immunizations import (
    REQUIRED,
    ImmunizationEntry,
    apply_chunk,
    import_immunizations,
    read_immunizations,
    write_immunizations,
    write_immunizations_csv,
)
from core.records.imports.report import FileUnreadable, ImportReport
from core.records.imports.roster import import_roster
from core.records.imports.runs import start_run
from core.records.operations import ImportKind, ImportRun
from core.records.provenance import Provenance, Source
from core.reference.vaccines import EPI_SCHEDULE, antigens_for

EN = translator("en")
AN = "001090001234"     # Nguyễn Văn An, born 01/02/1990
BINH = "001223004567"   # Lê Thị Bình, a girl born 15/03/2023
NOBODY = "001090009999"
HEADER = "so_dinh_danh,ten_vac_xin,mui_thu,ngay_tiem,ma_co_so,so_lo,chuong_trinh\n"


# --- Helpers shared with the facility tests ------------------------------------

def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


async def residents(db: Database, tmp_path: Path, card: str = "",
                    registered: str = "") -> dict[str, int]:
    """Two residents from a roster file (An with an insurance card if given); record ids."""
    roster = write_text(tmp_path / "roster.csv", (
        "so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,ma_the_bhyt,ma_dkbd\n"
        f"{AN},Nguyễn Văn An,01/02/1990,Nam,{card},{registered}\n"
        f"{BINH},Lê Thị Bình,15/03/2023,Nữ,,\n"
    ))
    report = await import_roster(db, roster)
    assert report.created == 2, report.problems
    async with db.connection() as connection:
        rows = await connection.execute(select(Citizen.personal_id, Citizen.id))
        return dict(rows.all())


def rendered(report: ImportReport) -> list[tuple[int | None, bool, str]]:
    return [(p.line, p.rejected, p.message.render(EN)) for p in report.problems]


async def dose_rows(db: Database) -> list[Immunization]:
    async with db.transaction() as session:
        return list((await session.scalars(
            select(Immunization).order_by(Immunization.given_on, Immunization.id))).all())


async def immunization_entries(db: Database, citizen_id: int) -> tuple[BookEntry, ...]:
    book = await read_own_book(db, citizen_id, locale="en")
    assert book is not None
    section = book.section(BookGroup.IMMUNIZATIONS)
    assert section is not None
    return section.lists[0].entries


def row_text(entry: BookEntry, key: str) -> str | None:
    return next((row.text for row in entry.rows if row.key == key), None)


_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook, dot below


def cp1258(text: str) -> bytes:
    """Text as Windows-1258 stores Vietnamese: base letters, tone marks combining."""
    out = b""
    for ch in unicodedata.normalize("NFC", text):
        bare = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in bare if c in _TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(c for c in bare if c not in _TONE_MARKS))
        out += (base + tones).encode("cp1258")
    return out


def run_cli(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}", "EHR_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    database = tmp_path / "cli.sqlite3"
    result = run_cli(database, "migrate")
    assert result.returncode == 0, result.stderr
    return database


# --- The health book ------------------------------------------------------------

async def test_registry_doses_appear_in_the_health_book_newest_first(db: Database,
                                                                    tmp_path: Path) -> None:
    ids = await residents(db, tmp_path)
    registry = write_text(tmp_path / "registry.csv", HEADER + (
        f"{AN},Comirnaty,1,15/08/2021,01001,FF2587,covid19\n"
        f"{AN},BCG,1,05/02/1990,,,TCMR\n"
        f"{AN},Comirnaty,2,20/09/2021,01001,FG4509,covid19\n"
        f"{BINH},Quinvaxem,1,15/05/2023,,,tcmr\n"
    ))

    report = await import_immunizations(db, registry)

    assert (report.read, report.created, report.rejected) == (4, 4, 0)
    entries = await immunization_entries(db, ids[AN])
    assert [e.title for e in entries] == ["Comirnaty, dose 2", "Comirnaty, dose 1", "BCG, dose 1"]
    assert [row_text(e, "immunizations.date") for e in entries] == [
        "20/09/2021", "15/08/2021", "05/02/1990"]
    assert [row_text(e, "immunizations.antigens") for e in entries] == ["COVID-19", "COVID-19", "Lao"]
    assert row_text(entries[0], "immunizations.lot") == "FG4509"
    assert row_text(entries[0], "immunizations.programme") == "COVID-19 vaccination campaign"
    assert row_text(entries[2], "immunizations.programme") == "Expanded programme (EPI)"
    assert row_text(entries[2], "immunizations.facility") is None  # no place: left out
    assert all(e.declared is None for e in entries)  # the registry is an official source
    child = await immunization_entries(db, ids[BINH])
    assert [row_text(e, "immunizations.antigens") for e in child] == [
        "Bạch hầu, Ho gà, Uốn ván, Viêm gan B, Hib"]


async def test_importing_the_same_registry_file_twice_changes_nothing(db: Database,
                                                                      tmp_path: Path) -> None:
    await residents(db, tmp_path)
    registry = write_text(tmp_path / "registry.csv", HEADER + (
        f"{AN},Vaxzevria,1,02/07/2021,01001,A1234,covid19\n"
        f"{AN},Vaxigrip Tetra,1,10/10/2023,,,dich_vu\n"
        f"{BINH},Viêm gan B,1,15/03/2023,,,tcmr\n"
    ))
    first = await import_immunizations(db, registry)
    before = [(d.id, d.lot, d.provenance_id, d.recorded_at) for d in await dose_rows(db)]

    second = await import_immunizations(db, registry)

    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.created, second.updated, second.unchanged, second.rejected) == (0, 0, 3, 0)
    assert [(d.id, d.lot, d.provenance_id, d.recorded_at) for d in await dose_rows(db)] == before
    async with db.transaction() as session:
        runs = (await session.scalars(select(ImportRun).order_by(ImportRun.id))).all()
        sources = (await session.scalars(select(Provenance.source))).all()
    assert [(r.kind, r.created, r.unchanged) for r in runs[-2:]] == [
        (ImportKind.IMMUNIZATIONS, 3, 0), (ImportKind.IMMUNIZATIONS, 0, 3)]
    assert sources.count(Source.IMMUNIZATION_REGISTRY) == 2  # one per run


async def test_corrected_lot_updates_the_dose_it_belongs_to(db: Database, tmp_path: Path) -> None:
    await residents(db, tmp_path)
    write_text(tmp_path / "june.csv", HEADER + (
        f"{AN},Spikevax,1,01/06/2022,01001,LOT-1,covid19\n"
        f"{AN},Spikevax,2,01/07/2022,01001,LOT-2,covid19\n"
    ))
    write_text(tmp_path / "july.csv", HEADER + (
        f"{AN},Spikevax,1,01/06/2022,01001,LOT-1,covid19\n"
        f"{AN},Spikevax,2,01/07/2022,01002,LOT-2B,dich_vu\n"
    ))
    await import_immunizations(db, tmp_path / "june.csv")
    first_ids = [d.id for d in await dose_rows(db)]

    report = await import_immunizations(db, tmp_path / "july.csv")

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    doses = await dose_rows(db)
    assert [d.id for d in doses] == first_ids
    assert [(d.lot, d.facility_code, d.programme) for d in doses] == [
        ("LOT-1", "01001", Programme.COVID19), ("LOT-2B", "01002", Programme.SERVICE)]
    assert doses[1].provenance_id != doses[0].provenance_id  # the correction's own source


# --- Rows the import refuses ----------------------------------------------------

async def test_dose_for_unknown_person_is_rejected_with_its_line(db: Database,
                                                                 tmp_path: Path) -> None:
    await residents(db, tmp_path)
    registry = write_text(tmp_path / "registry.csv", HEADER + (
        f"{AN},BCG,1,05/02/1990,,,tcmr\n"
        f"{NOBODY},BCG,1,05/02/1990,,,tcmr\n"
        f"{BINH},BCG,1,20/03/2023,,,tcmr\n"
    ))

    report = await import_immunizations(db, registry)

    assert (report.read, report.created, report.rejected) == (3, 2, 1)
    assert rendered(report) == [(3, True, "No resident has this personal ID.")]
    assert len(await dose_rows(db)) == 2


async def test_future_vaccination_date_is_rejected(db: Database, tmp_path: Path) -> None:
    await residents(db, tmp_path)
    tomorrow = (today_hanoi() + dt.timedelta(days=1)).strftime("%d/%m/%Y")
    registry = write_text(tmp_path / "registry.csv", HEADER + (
        f"{AN},Cúm,1,{tomorrow},,,dich_vu\n"
        f"{AN},Cúm,1,01/01/1899,,,dich_vu\n"
        f"{BINH},Sởi,1,14/12/2022,,,tcmr\n"
    ))

    report = await import_immunizations(db, registry)

    assert report.created == 0
    assert rendered(report) == [
        (2, True, "The vaccination date cannot be in the future."),
        (3, True, "The vaccination date cannot be before 1900."),
        (4, True, "The vaccination date is before the person's date of birth."),
    ]
    assert await dose_rows(db) == []


async def test_unknown_programme_is_rejected(db: Database, tmp_path: Path) -> None:
    await residents(db, tmp_path)
    registry = write_text(tmp_path / "registry.csv", HEADER + (
        f"{AN},BCG,1,05/02/1990,,,tiem_le\n"
        f"{AN},Comirnaty,1,01/08/2021,,,COVID-19\n"
        f"{AN},Gardasil,1,01/08/2022,,,Dịch vụ\n"
        f"{AN},OPV,1,01/04/1990,,,Tiêm chủng mở rộng\n"
    ))

    report = await import_immunizations(db, registry)

    assert rendered(report) == [(2, True, "The programme must be tcmr, covid19 or dich_vu.")]
    assert [d.programme for d in await dose_rows(db)] == [
        Programme.EPI, Programme.COVID19, Programme.SERVICE]


async def test_bad_dose_numbers_and_places_are_reported(db: Database, tmp_path: Path) -> None:
    await residents(db, tmp_path)
    registry = write_text(tmp_path / "registry.csv", HEADER + (
        f"{AN},Comirnaty,0,01/08/2021,,,covid19\n"
        f"{AN},Comirnaty,11,01/08/2021,,,covid19\n"
        f"{AN},Comirnaty,một,01/08/2021,,,covid19\n"
        f"{AN},,1,01/08/2021,,,covid19\n"
        f"{AN},Comirnaty,3,01/08/2022,9999,,covid19\n"
    ))

    report = await import_immunizations(db, registry)

    dose_rule = "The dose number must be a whole number from 1 to 10."
    assert rendered(report) == [
        (2, True, dose_rule), (3, True, dose_rule), (4, True, dose_rule),
        (5, True, "The vaccine name is missing."),
        (6, False, "ma_co_so left empty: A facility code must be 5 digits."),
    ]
    assert [(d.dose_number, d.facility_code) for d in await dose_rows(db)] == [(3, None)]


async def test_same_dose_twice_in_one_file_is_rejected_with_the_first_line(
        db: Database, tmp_path: Path) -> None:
    await residents(db, tmp_path)
    registry = write_text(tmp_path / "registry.csv", HEADER + (
        f"{BINH},IPV,1,15/08/2023,,,tcmr\n"
        f"{BINH},bOPV,1,15/05/2023,,,tcmr\n"
        f"{BINH},IPV,1,15/08/2023,01001,X9,tcmr\n"
    ))

    report = await import_immunizations(db, registry)

    assert rendered(report) == [(4, True, "The same dose already appears on line 2 of this file.")]
    assert [(d.vaccine, d.lot) for d in await dose_rows(db)] == [("bOPV", None), ("IPV", None)]


# --- Files the import refuses whole ---------------------------------------------

async def test_windows_1258_file_is_refused_whole(db: Database, tmp_path: Path) -> None:
    await residents(db, tmp_path)
    registry = tmp_path / "registry.csv"
    registry.write_bytes(cp1258(HEADER + f"{AN},Viêm gan B,1,02/02/1990,,,Tiêm chủng mở rộng\n"))

    with pytest.raises(FileUnreadable) as refused:
        await import_immunizations(db, registry)

    assert refused.value.message.render(EN) == (
        "The file is not UTF-8 (the first wrong byte is on line 2). "
        "Save it as CSV UTF-8 and import it again.")
    assert await dose_rows(db) == []
    async with db.transaction() as session:
        kinds = (await session.scalars(select(ImportRun.kind))).all()
    assert ImportKind.IMMUNIZATIONS not in kinds  # nothing was taken in, no run recorded


async def test_missing_required_column_is_refused(db: Database, tmp_path: Path) -> None:
    registry = write_text(tmp_path / "registry.csv",
                          "so_dinh_danh,ten_vac_xin,mui_thu,ma_co_so\n"
                          f"{AN},BCG,1,01001\n")

    with pytest.raises(FileUnreadable) as refused:
        await import_immunizations(db, registry)

    assert refused.value.message.render(EN) == (
        "The file lacks the required column(s): ngay_tiem, chuong_trinh.")


async def test_file_with_bom_and_nfd_text_is_read(db: Database, tmp_path: Path) -> None:
    ids = await residents(db, tmp_path)
    registry = tmp_path / "registry.csv"
    text = HEADER + f"{BINH},Sởi,1,15/12/2023,01001,,tcmr\n"
    registry.write_bytes(b"\xef\xbb\xbf" + unicodedata.normalize("NFD", text).encode("utf-8"))

    report = await import_immunizations(db, registry)

    assert report.created == 1
    entries = await immunization_entries(db, ids[BINH])
    assert [(e.title, row_text(e, "immunizations.antigens")) for e in entries] == [
        ("Sởi, dose 1", "Sởi")]
    assert unicodedata.is_normalized("NFC", (await dose_rows(db))[0].vaccine)


# --- The seed's path ------------------------------------------------------------

def generated_doses() -> list[ImmunizationEntry]:
    return [
        ImmunizationEntry(BINH, "Viêm gan B", 1, dt.date(2023, 3, 15), Programme.EPI),
        ImmunizationEntry(BINH, "DPT-VGB-Hib", 1, dt.date(2023, 5, 15), Programme.EPI,
                          "01001", "QV-23/05"),
        ImmunizationEntry(AN, "Comirnaty, \"Pfizer\"", 3, dt.date(2022, 1, 4), Programme.COVID19,
                          None, "FK 8891"),
    ]


def test_registry_file_written_by_the_seed_reads_back_identically(tmp_path: Path) -> None:
    entries = generated_doses()
    path = tmp_path / "export.csv"

    assert write_immunizations_csv(path, entries) == 3
    report = ImportReport(path.name)
    back = list(read_immunizations(open_csv(path, REQUIRED), report))

    assert back == entries
    assert [e.line for e in back] == [2, 3, 4]
    assert report.problems == []


async def test_generated_doses_are_written_directly(db: Database, tmp_path: Path) -> None:
    await residents(db, tmp_path)
    _, provenance = await start_run(db, ImportKind.SEED, "seed", None,
                                    (Source.IMMUNIZATION_REGISTRY,))
    prov_id = provenance[Source.IMMUNIZATION_REGISTRY]
    report = ImportReport("seed")
    entries = generated_doses()
    # The same dose generated twice with another lot lands in one chunk: the
    # database refuses the chunk, and row by row the second corrects the first.
    entries.append(ImmunizationEntry(BINH, "Viêm gan B", 1, dt.date(2023, 3, 15),
                                     Programme.EPI, None, "VGB-2"))

    await write_immunizations(db, entries, prov_id, report)

    assert (report.created, report.updated, report.rejected) == (3, 1, 0)
    doses = await dose_rows(db)
    assert [(d.vaccine, d.lot, d.provenance_id) for d in doses] == [
        ("Comirnaty, \"Pfizer\"", "FK 8891", prov_id),
        ("Viêm gan B", "VGB-2", prov_id),
        ("DPT-VGB-Hib", "QV-23/05", prov_id),
    ]


async def test_a_row_the_database_refuses_is_rejected_alone(db: Database, tmp_path: Path) -> None:
    await residents(db, tmp_path)
    _, provenance = await start_run(db, ImportKind.SEED, "seed", None,
                                    (Source.IMMUNIZATION_REGISTRY,))
    entries = generated_doses()
    for line, entry in enumerate(entries, start=2):
        entry.line = line

    async def write(chunk: list[ImmunizationEntry], attempt: ImportReport) -> None:
        if any(e.line == 3 for e in chunk):  # the database refuses line 3, whatever comes with it
            raise IntegrityError("INSERT", {}, Exception("refused"))
        await apply_chunk(db, chunk, provenance[Source.IMMUNIZATION_REGISTRY], attempt)

    report = ImportReport("seed")
    await apply_safely(write, entries, report, "immunization")

    assert (report.created, report.rejected) == (2, 1)
    assert [(p.line, p.rejected) for p in report.problems] == [(3, True)]
    assert [d.vaccine for d in await dose_rows(db)] == ["Comirnaty, \"Pfizer\"", "Viêm gan B"]


# --- The reference data ---------------------------------------------------------

@pytest.mark.parametrize(("vaccine", "antigens"), [
    ("BCG", "Lao"),
    ("Engerix-B 10mcg", "Viêm gan B"),
    ("VIEM GAN B", "Viêm gan B"),
    ("DPT-VGB-Hib", "Bạch hầu, Ho gà, Uốn ván, Viêm gan B, Hib"),
    ("Vắc xin 5 trong 1 ComBE Five", "Bạch hầu, Ho gà, Uốn ván, Viêm gan B, Hib"),
    ("Infanrix Hexa", "Bạch hầu, Ho gà, Uốn ván, Bại liệt, Viêm gan B, Hib"),
    ("DPT", "Bạch hầu, Ho gà, Uốn ván"),
    ("Sởi - Rubella (MR)", "Sởi, Rubella"),
    ("soi", "Sởi"),
    ("Vero Cell (Sinopharm)", "COVID-19"),
    ("Influvac Tetra", "Cúm"),
    ("Rotarix", "Rota"),
    ("VAT", "Uốn ván"),
    ("SII", None),
    ("Vắc xin chưa biết", None),
])
def test_vaccine_names_tell_what_they_protect_against(vaccine: str, antigens: str | None) -> None:
    assert antigens_for(vaccine) == antigens


def test_epi_schedule_names_known_vaccines_and_due_dates() -> None:
    assert all(antigens_for(dose.vaccine) is not None for dose in EPI_SCHEDULE)
    due = {(d.vaccine, d.dose): d.due_on(dt.date(2024, 1, 31)) for d in EPI_SCHEDULE}
    assert due[("Viêm gan B", 1)] == dt.date(2024, 1, 31)
    assert due[("DPT-VGB-Hib", 1)] == dt.date(2024, 3, 31)
    assert due[("DPT-VGB-Hib", 2)] == dt.date(2024, 4, 30)  # no 31 April: the month's last day
    assert due[("Sởi", 1)] == dt.date(2024, 10, 31)
    assert due[("Viêm não Nhật Bản", 2)] == dt.date(2025, 2, 7)
    assert due[("Viêm não Nhật Bản", 3)] == dt.date(2026, 1, 31)


# --- The command ----------------------------------------------------------------

def test_import_immunizations_command_prints_the_summary(migrated: Path, tmp_path: Path) -> None:
    roster = write_text(tmp_path / "roster.csv", "so_dinh_danh,ho_ten,ngay_sinh\n"
                                                 f"{AN},Nguyễn Văn An,01/02/1990\n")
    registry = write_text(tmp_path / "registry.csv", HEADER + (
        f"{AN},Comirnaty,1,01/08/2021,,,covid19\n"
        f"{NOBODY},Comirnaty,1,01/08/2021,,,covid19\n"
    ))
    assert run_cli(migrated, "import-roster", str(roster)).returncode == 0

    result = run_cli(migrated, "import-immunizations", str(registry))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "registry.csv: read 2, created 1, updated 0, unchanged 0, rejected 1",
        "  registry.csv, line 3: rejected: No resident has this personal ID.",
    ]


def test_import_immunizations_command_refuses_an_unreadable_file(migrated: Path,
                                                                 tmp_path: Path) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_bytes(cp1258(HEADER + f"{AN},Uốn ván,1,02/02/2020,,,tcmr\n"))

    result = run_cli(migrated, "import-immunizations", str(registry))

    assert result.returncode == 2
    assert result.stderr.startswith("registry.csv: The file is not UTF-8")
    assert result.stdout == ""

