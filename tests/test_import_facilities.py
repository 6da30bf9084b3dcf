"""The facility registry import: the names residents see for the codes in their record."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.consent.access import read_own_book
from core.db import Database
from core.records.display_rules import BookGroup
from core.records.facility import Facility, FacilityKind
from core.records.imports.csvfile import open_csv
from core.records.imports.facilities import (
    REQUIRED,
    FacilityEntry,
    import_facilities,
    read_facilities,
    write_facilities_csv,
)
from core.records.imports.immunizations import import_immunizations
from core.records.imports.report import FileUnreadable, ImportReport
from core.records.operations import ImportKind, ImportRun
from core.records.provenance import Provenance, Source
from tests.test_import_immunizations import (
    AN,
    EN,
    HEADER,
    immunization_entries,
    migrated,  # noqa: F401 - the fixture, shared
    rendered,
    residents,
    row_text,
    run_cli,
    write_text,
)

FACILITIES = "ma_co_so,ten_co_so,loai,ma_xa\n"
HOAN_KIEM = "00070"  # Phường Hoàn Kiếm


async def facilities(db: Database) -> list[tuple[str, str, FacilityKind, str | None]]:
    async with db.transaction() as session:
        rows = (await session.scalars(select(Facility).order_by(Facility.code))).all()
    return [(f.code, f.name, f.kind, f.ward_code) for f in rows]


async def test_facility_names_show_in_the_book(db: Database, tmp_path: Path) -> None:
    registry = write_text(tmp_path / "facilities.csv", FACILITIES + (
        f"01001,Trạm Y tế Phường Hoàn Kiếm,tram_y_te,{HOAN_KIEM}\n"
        "01002,Bệnh viện Bạch Mai,benh_vien,\n"
    ))
    report = await import_facilities(db, registry)
    ids = await residents(db, tmp_path, card="DN4010123456789", registered="01001")
    await import_immunizations(db, write_text(tmp_path / "doses.csv", HEADER + (
        f"{AN},Vaxzevria,1,02/07/2021,01002,A1234,covid19\n"
        f"{AN},Vaxzevria,2,02/10/2021,01099,A5678,covid19\n"
    )))

    book = await read_own_book(db, ids[AN], locale="en")

    assert (report.created, report.rejected) == (2, 0)
    assert book is not None
    insurance = book.section(BookGroup.INSURANCE)
    assert insurance is not None
    registered = next(r for r in insurance.rows if r.key == "insurance.registered_facility")
    assert registered.text == "Trạm Y tế Phường Hoàn Kiếm"
    doses = await immunization_entries(db, ids[AN])
    # A code the registry does not know is shown as the code alone.
    assert [row_text(d, "immunizations.facility") for d in doses] == [
        "01099", "Bệnh viện Bạch Mai"]


async def test_renamed_facility_is_updated(db: Database, tmp_path: Path) -> None:
    write_text(tmp_path / "2024.csv", FACILITIES + (
        "01001,Trạm Y tế Phường Hàng Trống,tram_y_te,\n"
        "01002,Bệnh viện Bạch Mai,benh_vien,\n"
        "01003,Phòng khám Hoàn Mỹ,phong_kham_tu_nhan,\n"
    ))
    write_text(tmp_path / "2025.csv", FACILITIES + (
        f"01001,Trạm Y tế Phường Hoàn Kiếm,tram_y_te,{HOAN_KIEM}\n"
        "01002,Bệnh viện Bạch Mai,benh_vien,\n"
        "01003,Phòng khám Hoàn Mỹ,phong_kham_da_khoa,\n"
    ))
    await import_facilities(db, tmp_path / "2024.csv")

    report = await import_facilities(db, tmp_path / "2025.csv")

    assert (report.created, report.updated, report.unchanged) == (0, 2, 1)
    assert await facilities(db) == [
        ("01001", "Trạm Y tế Phường Hoàn Kiếm", FacilityKind.HEALTH_STATION, HOAN_KIEM),
        ("01002", "Bệnh viện Bạch Mai", FacilityKind.HOSPITAL, None),
        ("01003", "Phòng khám Hoàn Mỹ", FacilityKind.POLYCLINIC, None),
    ]


async def test_importing_the_same_facility_file_twice_changes_nothing(db: Database,
                                                                      tmp_path: Path) -> None:
    registry = write_text(tmp_path / "facilities.csv", FACILITIES + (
        f"01001,Trạm Y tế Phường Hoàn Kiếm,tram_y_te,{HOAN_KIEM}\n"
        "01002,Bệnh viện Bạch Mai,benh_vien,\n"
    ))
    await import_facilities(db, registry)
    async with db.transaction() as session:
        first_sources = (await session.scalars(select(Facility.provenance_id))).all()

    report = await import_facilities(db, registry)

    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    async with db.transaction() as session:
        assert (await session.scalars(select(Facility.provenance_id))).all() == first_sources
        runs = (await session.scalars(select(ImportRun.kind))).all()
        sources = (await session.scalars(select(Provenance.source))).all()
    assert runs == [ImportKind.FACILITIES, ImportKind.FACILITIES]
    assert sources == [Source.HEALTH_STATION, Source.HEALTH_STATION]


async def test_unknown_facility_kind_is_rejected(db: Database, tmp_path: Path) -> None:
    registry = write_text(tmp_path / "facilities.csv", FACILITIES + (
        "01001,Nhà thuốc Long Châu,nha_thuoc,\n"
        "01002,Bệnh viện Bạch Mai,BỆNH VIỆN,\n"
        "01003,Phòng khám Đa khoa Hà Nội,Phòng khám đa khoa,\n"
        "01004,Trung tâm Y tế Ba Đình,trung tam y te,\n"
        "01005,Trạm Y tế Phường Ba Đình,health_station,\n"
        "01006,Phòng khám Medlatec,Phong kham tu nhan,\n"
    ))

    report = await import_facilities(db, registry)

    assert rendered(report) == [(2, True, (
        "The facility kind must be tram_y_te, phong_kham_da_khoa, trung_tam_y_te, "
        "benh_vien or phong_kham_tu_nhan."))]
    assert [kind for _, _, kind, _ in await facilities(db)] == [
        FacilityKind.HOSPITAL, FacilityKind.POLYCLINIC, FacilityKind.MEDICAL_CENTRE,
        FacilityKind.HEALTH_STATION, FacilityKind.PRIVATE_CLINIC]


async def test_bad_codes_names_and_wards_are_reported_with_their_line(db: Database,
                                                                      tmp_path: Path) -> None:
    registry = write_text(tmp_path / "facilities.csv", FACILITIES + (
        "1001,Bệnh viện Bạch Mai,benh_vien,\n"
        "01002,,benh_vien,\n"
        "01003,Trạm Y tế Xã Ngoài,tram_y_te,99999\n"
        "01003,Trạm Y tế Xã Trong,tram_y_te,\n"
    ))

    report = await import_facilities(db, registry)

    assert rendered(report) == [
        (2, True, "A facility code must be 5 digits."),
        (3, True, "The facility name is missing."),
        (4, False, "ma_xa left empty: The ward code is not one of Hanoi's 126 current wards "
                   "and communes."),
        (5, True, "This facility code already appears on line 4 of this file."),
    ]
    assert await facilities(db) == [
        ("01003", "Trạm Y tế Xã Ngoài", FacilityKind.HEALTH_STATION, None)]


async def test_missing_required_column_is_refused(db: Database, tmp_path: Path) -> None:
    registry = write_text(tmp_path / "facilities.csv", "ma_co_so,ten_co_so,ma_xa\n"
                                                       "01001,Bệnh viện Bạch Mai,\n")

    with pytest.raises(FileUnreadable) as refused:
        await import_facilities(db, registry)

    assert refused.value.message.render(EN) == "The file lacks the required column(s): loai."
    assert await facilities(db) == []


def test_facility_file_written_by_the_seed_reads_back_identically(tmp_path: Path) -> None:
    entries = [
        FacilityEntry("01001", "Trạm Y tế Phường Hoàn Kiếm", FacilityKind.HEALTH_STATION, HOAN_KIEM),
        FacilityEntry("01002", "Bệnh viện Đa khoa Xanh Pôn, cơ sở 2", FacilityKind.HOSPITAL),
        FacilityEntry("01003", "Trung tâm Y tế \"Đống Đa\"", FacilityKind.MEDICAL_CENTRE),
        FacilityEntry("01004", "Phòng khám Đa khoa Việt Pháp", FacilityKind.POLYCLINIC),
        FacilityEntry("01005", "Phòng khám Medlatec", FacilityKind.PRIVATE_CLINIC),
    ]
    path = tmp_path / "export.csv"

    assert write_facilities_csv(path, entries) == 5
    report = ImportReport(path.name)
    back = list(read_facilities(open_csv(path, REQUIRED), report))

    assert back == entries
    assert report.problems == []
    assert "tram_y_te" in path.read_text(encoding="utf-8")  # the department's own words


def test_import_facilities_command_prints_the_summary(migrated: Path,  # noqa: F811
                                                      tmp_path: Path) -> None:
    registry = write_text(tmp_path / "facilities.csv", FACILITIES + (
        "01001,Trạm Y tế Phường Hoàn Kiếm,tram_y_te,70\n"
        "01002,Nhà thuốc,nha_thuoc,\n"
    ))

    result = run_cli(migrated, "import-facilities", str(registry))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "facilities.csv: read 2, created 1, updated 0, unchanged 0, rejected 1",
        "  facilities.csv, line 3: rejected: The facility kind must be tram_y_te, "
        "phong_kham_da_khoa, trung_tam_y_te, benh_vien or phong_kham_tu_nhan.",
    ]


def test_import_facilities_command_refuses_a_file_without_the_kind(migrated: Path,  # noqa: F811
                                                                   tmp_path: Path) -> None:
    registry = write_text(tmp_path / "facilities.csv", "ma_co_so,ten_co_so\n01001,Trạm Y tế\n")

    result = run_cli(migrated, "import-facilities", str(registry))

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "facilities.csv: The file lacks the required column(s): loai.")
