"""Which details are missing or invalid, per resident and per ward."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from core.db import Database
from core.i18n import translator
from core.records.completeness import Gap, counted, gaps, ward_report
from core.records.completeness_report import write_gap_list
from core.records.imports.roster import import_roster

HEADER = ("so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,dan_toc,quoc_tich,nghe_nghiep,dien_thoai,ma_xa,"
          "dia_chi,nhom_mau")
COMPLETE = "001090001234,Nguyễn Văn An,15/07/1990,Nam,01,VN,Kỹ sư,0912345678,70,Số 1 Hàng Bạc,O+"
NO_WARD_NO_BLOOD = "001190001235,Trần Thị Bình,01/02/1990,Nữ,01,VN,Giáo viên,0912345679,,Số 2 Hàng Bạc,"
WRONG_SEX_DIGIT = "001090001236,Lê Thị Cúc,03/04/1990,Nữ,01,VN,Kế toán,0912345670,70,Số 3 Hàng Bạc,A+"
PARTIAL_BIRTH = "001045001237,Phạm Văn Dũng,1945,Nam,06,VN,Hưu trí,0912345671,70,Số 4 Hàng Bạc,B+"


async def load(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("\n".join([HEADER, COMPLETE, NO_WARD_NO_BLOOD, WRONG_SEX_DIGIT, PARTIAL_BIRTH]) + "\n",
                    encoding="utf-8")
    report = await import_roster(db, path)
    assert report.created == 4


async def test_each_resident_shows_what_is_missing_or_invalid(db: Database, tmp_path: Path) -> None:
    await load(db, tmp_path)
    found = {}
    from core.records.completeness import scan

    async for row, row_gaps in scan(db):
        found[row.personal_id] = {(g.field, g.gap) for g in counted(row_gaps)}
    assert found["001090001234"] == set()
    assert found["001190001235"] == {("ward_code", Gap.MISSING), ("blood_group", Gap.MISSING)}
    # Digit 4 of the ID is 0 (a man born in the 1900s) but the record says Nữ.
    assert found["001090001236"] == {("personal_id", Gap.INVALID)}
    assert found["001045001237"] == {("birth_date", Gap.INVALID)}


async def test_the_ward_report_counts_each_field(db: Database, tmp_path: Path) -> None:
    await load(db, tmp_path)
    report = await ward_report(db)
    hoan_kiem, no_ward = report["00070"], report[None]
    assert (hoan_kiem.residents, hoan_kiem.complete) == (3, 1)
    assert (hoan_kiem.invalid["personal_id"], hoan_kiem.invalid["birth_date"]) == (1, 1)
    assert (no_ward.residents, no_ward.missing["ward_code"], no_ward.missing["blood_group"]) == (1, 1, 1)
    only = await ward_report(db, "00070")
    assert list(only) == ["00070"]


async def test_the_ward_teams_list_masks_ids_and_phones(db: Database, tmp_path: Path) -> None:
    await load(db, tmp_path)
    path = tmp_path / "gaps.csv"
    written = await write_gap_list(db, None, path, translator("vi"))
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert written == len(rows) == 3
    text = path.read_text(encoding="utf-8")
    assert "001190001235" not in text and "0912345679" not in text
    binh = next(r for r in rows if r["ho_ten"] == "Trần Thị Bình")
    assert binh["so_dinh_danh"] == "0011****1235"
    assert binh["thieu"] == "Xã/phường; Nhóm máu"


def test_children_need_a_guardian_and_adults_a_phone() -> None:
    from core.values import CitizenStatus, PartialDate, Sex

    class Row:
        personal_id = "001315001238"  # a girl born in 2015 (digit 4 is 3)
        birth_date = PartialDate(2015, 5, 5)
        sex = Sex.FEMALE
        ethnicity_code, nationality, ward_code = "01", "VN", "00070"
        street_address, blood_group, occupation = "Số 1", "O+", None
        phone = email = guardian_id = None
        status = CitizenStatus.ACTIVE

    child = {g.field for g in gaps(Row(), dt.date(2026, 11, 1))}
    assert child == {"guardian_id"}  # no phone or occupation expected of an 11-year-old


def test_completeness_command_prints_the_table(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.sqlite3'}",
           "EHR_LANG": "en"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "core", *a], env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=120, check=False)
    assert run("migrate").returncode == 0
    roster = tmp_path / "r.csv"
    roster.write_text("\n".join([HEADER, COMPLETE, NO_WARD_NO_BLOOD]) + "\n", encoding="utf-8")
    assert run("import-roster", str(roster)).returncode == 0
    result = run("completeness", "--ward", "70", "--csv", str(tmp_path / "list.csv"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Phường Hoàn Kiếm (00070): 1 residents, 1 complete (100%)")
    bad = run("completeness", "--ward", "00001")
    assert bad.returncode == 2 and "126" in bad.stderr
