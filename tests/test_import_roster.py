"""Importing the population and social-insurance roster (CSV)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import families
from core.consent.access import read_own_book
from core.db import Database
from core.i18n import Message, translator
from core.records.citizen import Citizen, FieldChange
from core.records.display_rules import BookGroup
from core.records.imports.report import FileUnreadable, ImportReport
from core.records.imports.roster import import_roster
from core.records.insurance import InsuranceCard
from core.records.provenance import Decision, Provenance, Source
from core.records.register import merge_fields
from core.values import CitizenStatus, PartialDate, Sex
from tests.records import provenance

HEADER = ("so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,dan_toc,quoc_tich,nghe_nghiep,dien_thoai,email,"
          "ma_xa,dia_chi,ma_the_bhyt,ma_dkbd,gt_the_tu,gt_the_den,nhom_mau,trang_thai,"
          "so_dinh_danh_nguoi_giam_ho")
AN = ("001090001234,Nguyễn Văn An,15/07/1990,Nam,Kinh,Việt Nam,Kỹ sư,0912345678,an@example.com,"
      "70,Số 12 Hàng Bạc,DN4010123456789,01001,01/01/2026,31/12/2026,O+,,")
BINH = "001315001235,Nguyễn Thị Bình,2015,Nữ,01,VN,Học sinh,,,70,Số 12 Hàng Bạc,,,,,,,001090001234"
CUC = ("001158000999,Lê Thị Cúc,03/1958,2,Mường,,Hưu trí,+84 983 000 111,,00004,,"
       "HT2010987654321,01001,01/01/2026,31/12/2026,B,tu_vong,")


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows saves it: base letters with a separate tone mark."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            tone = "".join(c for c in parts if c in TONE_MARKS)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
            out += (base + tone).encode("cp1258")
    return bytes(out)


def roster(tmp_path: Path, *rows: str, name: str = "roster.csv", header: str = HEADER,
           encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    text = "\n".join((header, *rows)) + "\n"
    path.write_bytes(cp1258(text) if encoding == "cp1258" else text.encode(encoding))
    return path


async def citizen(db: Database, personal_id: str) -> Citizen:
    async with db.sessions() as session:
        found = await session.scalar(select(Citizen).where(Citizen.personal_id == personal_id))
        assert found is not None
        return found


async def count(db: Database, model: type) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_roster_rows_become_residents_with_official_provenance(db: Database, tmp_path: Path) -> None:
    report = await import_roster(db, roster(tmp_path, AN, BINH, CUC))
    assert (report.read, report.created, report.rejected) == (3, 3, 0)
    an = await citizen(db, "001090001234")
    assert (an.full_name, an.birth_date, an.sex, an.phone, an.ward_code, an.nationality) == (
        "Nguyễn Văn An", PartialDate(1990, 7, 15), Sex.MALE, "+84912345678", "00070", "VN")
    cuc = await citizen(db, "001158000999")
    assert (cuc.birth_date, cuc.ethnicity_code, cuc.status) == (
        PartialDate(1958, 3), "06", CitizenStatus.DECEASED)
    async with db.sessions() as session:
        source = await session.scalar(select(Provenance.source).where(Provenance.id == an.phone_prov))
        card = await session.scalar(select(InsuranceCard).where(InsuranceCard.citizen_id == an.id))
    assert source is Source.POPULATION_DB
    assert card is not None and (card.benefit_level, card.registered_facility_code) == (4, "01001")


async def test_a_child_listed_before_the_guardian_is_still_linked(db: Database, tmp_path: Path) -> None:
    await import_roster(db, roster(tmp_path, BINH, AN))
    binh, an = await citizen(db, "001315001235"), await citizen(db, "001090001234")
    assert binh.guardian_id == an.id
    book = await read_own_book(db, binh.id, locale="en")
    assert book is not None
    general = {r.key: r.text for r in book.section(BookGroup.GENERAL).rows}  # type: ignore[union-attr]
    assert general["general.guardian"] == "Nguyễn Văn An"
    # The register's link is what lets the guardian open the child's book (core.families): born
    # in 2015, Bình is a child until 1 January 2033, the earliest day a birth year allows.
    right = await db.read(families.right_of, an.id, binh.id, dt.date(2026, 12, 3))
    assert right is not None and right.capacity is families.Capacity.GUARDIAN
    assert await db.read(families.right_of, an.id, binh.id, dt.date(2033, 1, 1)) is None
    assert await db.read(families.right_of, binh.id, an.id, dt.date(2026, 12, 3)) is None


async def test_a_guardian_listed_first_or_imported_before_is_linked_with_the_registers_provenance(
        db: Database, tmp_path: Path) -> None:
    await import_roster(db, roster(tmp_path, AN, name="jan.csv"))
    chi = BINH.replace("001315001235,Nguyễn Thị Bình", "001316001236,Nguyễn Văn Chí")
    dung = BINH.replace("001315001235,Nguyễn Thị Bình", "001317001237,Nguyễn Văn Dũng").replace(
        ",001090001234", ",001316001236")  # Chí, just above in the same file, is Dũng's guardian
    report = await import_roster(db, roster(tmp_path, chi, dung, name="feb.csv"))
    assert (report.created, report.rejected) == (2, 0)
    an, chi_row, dung_row = [await citizen(db, p) for p in
                             ("001090001234", "001316001236", "001317001237")]
    assert (chi_row.guardian_id, dung_row.guardian_id) == (an.id, chi_row.id)
    async with db.sessions() as session:
        source = await session.scalar(
            select(Provenance.source).where(Provenance.id == dung_row.guardian_id_prov))
    assert source is Source.POPULATION_DB
    assert await count(db, FieldChange) == 0


async def test_a_new_guardian_for_a_known_child_replaces_the_old_one_and_keeps_it(
        db: Database, tmp_path: Path) -> None:
    giang = AN.replace("001090001234,Nguyễn Văn An", "001088001239,Trần Thị Giang").replace(
        "DN4010123456789", "DN4010123456788")
    await import_roster(db, roster(tmp_path, AN, giang, BINH, name="jan.csv"))
    moved = BINH.replace(",001090001234", ",001088001239")
    await import_roster(db, roster(tmp_path, moved, name="feb.csv"))
    an, giang_row, binh = [await citizen(db, p) for p in
                           ("001090001234", "001088001239", "001315001235")]
    assert binh.guardian_id == giang_row.id
    async with db.sessions() as session:
        change = await session.scalar(select(FieldChange).where(FieldChange.field == "guardian_id"))
    assert change is not None and change.old_value == str(an.id)


async def test_importing_the_same_file_twice_changes_nothing(db: Database, tmp_path: Path) -> None:
    path = roster(tmp_path, AN, BINH, CUC)
    await import_roster(db, path)
    before = [(c.id, c.updated_at, c.phone_prov) for c in
              [await citizen(db, p) for p in ("001090001234", "001315001235", "001158000999")]]
    again = await import_roster(db, path)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 0)
    after = [(c.id, c.updated_at, c.phone_prov) for c in
             [await citizen(db, p) for p in ("001090001234", "001315001235", "001158000999")]]
    assert after == before
    assert await count(db, FieldChange) == 0
    assert await count(db, InsuranceCard) == 2


async def test_a_changed_row_updates_and_keeps_what_changed(db: Database, tmp_path: Path) -> None:
    await import_roster(db, roster(tmp_path, AN, name="jan.csv"))
    moved = AN.replace("0912345678", "0987654321").replace(",70,Số 12 Hàng Bạc", ",4,Số 5 Kim Mã")
    report = await import_roster(db, roster(tmp_path, moved, name="feb.csv"))
    assert (report.updated, report.unchanged) == (1, 0)
    an = await citizen(db, "001090001234")
    assert (an.phone, an.ward_code, an.street_address) == ("+84987654321", "00004", "Số 5 Kim Mã")
    async with db.sessions() as session:
        changes = (await session.scalars(select(FieldChange).order_by(FieldChange.field))).all()
    assert [(c.field, c.old_value, c.new_value) for c in changes] == [
        ("phone", "+84912345678", "+84987654321"),
        ("street_address", "Số 12 Hàng Bạc", "Số 5 Kim Mã"),
        ("ward_code", "00070", "00004"),
    ]


async def test_a_renewed_card_supersedes_the_old_period_and_keeps_it(db: Database, tmp_path: Path) -> None:
    await import_roster(db, roster(tmp_path, AN, name="2026.csv"))
    renewed = AN.replace("01/01/2026,31/12/2026", "01/01/2027,31/12/2027")
    await import_roster(db, roster(tmp_path, renewed, name="2027.csv"))
    async with db.sessions() as session:
        cards = (await session.scalars(select(InsuranceCard).order_by(InsuranceCard.id))).all()
    assert [(c.valid_to.year, c.superseded_at is not None) for c in cards] == [(2026, True), (2027, False)]


async def test_bad_rows_are_reported_by_line_and_the_rest_are_imported(db: Database, tmp_path: Path) -> None:
    path = roster(
        tmp_path,
        AN,                                               # line 2: fine
        "12345,Người Sai Số,01/01/1990",                  # line 3: malformed ID
        "001090001236,,01/01/1990",                       # line 4: no name
        "001090001237,Trần Văn Tương Lai,01/01/2999",     # line 5: born in the future
        AN.replace("Nguyễn Văn An", "Nguyễn Văn Anh"),    # line 6: same ID as line 2
        "001090001238,Quá Nhiều Cột,01/01/1990,Nam,,,,,,,,,,,,,,,extra",  # line 7
        BINH,                                             # line 8: fine
        header=HEADER,
    )
    report = await import_roster(db, path)
    assert (report.read, report.created, report.rejected) == (7, 2, 5)
    reasons = {p.line: p.message.render(translator("en")) for p in report.problems if p.rejected}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "12 digits" in reasons[3]
    assert "name is missing" in reasons[4]
    assert "future" in reasons[5]
    assert "line 2" in reasons[6]
    assert "header has 18 columns" in reasons[7]
    assert await count(db, Citizen) == 2


async def test_a_personal_id_repeated_further_down_a_long_file_is_refused_with_the_first_line(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.records.imports import roster_apply as roster_module

    monkeypatch.setattr(roster_module, "CHUNK", 2)  # a long file: several chunks
    again = AN.replace("Nguyễn Văn An", "Nguyễn Văn Anh")
    path = roster(tmp_path, AN, BINH, CUC, again, again, BINH)  # lines 2-7
    report = await import_roster(db, path)
    assert (report.read, report.created, report.rejected) == (6, 3, 3)
    reasons = {p.line: p.message.render(translator("en")) for p in report.problems if p.rejected}
    assert reasons == {5: "This personal ID already appears on line 2 of this file.",
                       6: "This personal ID already appears on line 2 of this file.",
                       7: "This personal ID already appears on line 3 of this file."}
    assert (await citizen(db, "001090001234")).full_name == "Nguyễn Văn An"


async def test_a_bad_optional_value_is_left_out_and_noted(db: Database, tmp_path: Path) -> None:
    bad_phone = AN.replace("0912345678", "024 3825 1234").replace(",70,", ",99999,")
    report = await import_roster(db, roster(tmp_path, bad_phone))
    assert (report.created, report.rejected) == (1, 0)
    notes = [p.message.render(translator("en")) for p in report.problems]
    assert any("dien_thoai left empty" in n for n in notes)
    assert any("ma_xa left empty" in n and "126" in n for n in notes)
    an = await citizen(db, "001090001234")
    assert (an.phone, an.ward_code, an.full_name) == (None, None, "Nguyễn Văn An")


async def test_a_superscript_digit_in_a_date_rejects_the_row_with_a_reason_and_the_import_goes_on(
        db: Database, tmp_path: Path) -> None:
    odd_card = AN.replace("01/01/2026,31/12/2026", "01/01/202²,31/12/2026")
    path = roster(tmp_path, "001090001236,Trần Văn Số Mũ,²/1990", odd_card, BINH)
    report = await import_roster(db, path)
    assert (report.read, report.created, report.rejected) == (3, 2, 1)
    problems = {p.line: (p.rejected, p.message.render(translator("en"))) for p in report.problems}
    assert problems[2][0] and "day/month/year" in problems[2][1]
    assert not problems[3][0] and "gt_the_tu left empty" in problems[3][1]
    an = await citizen(db, "001090001234")
    async with db.sessions() as session:
        card = await session.scalar(select(InsuranceCard).where(InsuranceCard.citizen_id == an.id))
    assert card is not None and card.valid_from is None


async def test_a_file_in_another_encoding_is_refused_whole(db: Database, tmp_path: Path) -> None:
    path = roster(tmp_path, AN, BINH, encoding="cp1258")
    with pytest.raises(FileUnreadable) as error:
        await import_roster(db, path)
    assert "not UTF-8" in error.value.message.render(translator("en"))
    assert await count(db, Citizen) == 0


async def test_a_file_without_a_required_column_is_refused(db: Database, tmp_path: Path) -> None:
    path = roster(tmp_path, "001090001234,Nguyễn Văn An", header="so_dinh_danh,ho_ten")
    with pytest.raises(FileUnreadable) as error:
        await import_roster(db, path)
    assert "ngay_sinh" in error.value.message.render(translator("en"))


async def test_bom_semicolons_crlf_nfd_and_unknown_columns_are_accepted(db: Database, tmp_path: Path) -> None:
    nfd_name = "Nguye\u0302\u0303n Va\u0306n An"
    text = "\ufeffso_dinh_danh;ho_ten;ngay_sinh;ghi_chu\r\n001090001234;" + nfd_name + ";15/07/1990;x\r\n"
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("utf-8"))
    report = await import_roster(db, path)
    assert (report.created, report.rejected) == (1, 0)
    assert (await citizen(db, "001090001234")).full_name == "Nguyễn Văn An"


async def test_an_official_update_supersedes_a_self_declared_value_and_keeps_it(
        db: Database, tmp_path: Path) -> None:
    await import_roster(db, roster(tmp_path, "001090001234,Nguyễn Văn An,15/07/1990", name="a.csv"))
    declared = await provenance(db, Source.SELF_DECLARED, "chat")
    async with db.transaction() as session:
        an = await session.scalar(select(Citizen).where(Citizen.personal_id == "001090001234"))
        assert an is not None
        an.ethnicity_code, an.ethnicity_code_prov = "06", declared
    await import_roster(db, roster(tmp_path, AN, name="b.csv"))
    an = await citizen(db, "001090001234")
    assert an.ethnicity_code == "01"
    async with db.sessions() as session:
        change = await session.scalar(select(FieldChange).where(FieldChange.field == "ethnicity_code"))
    assert change is not None and (change.old_value, change.old_provenance_id) == ("06", declared)


def test_a_self_declared_value_never_silently_replaces_an_official_one() -> None:
    import datetime as dt

    current = {"occupation": "Giáo viên", "occupation_prov": 1}
    merge = merge_fields(current, {"occupation": "Kỹ sư"}, Source.SELF_DECLARED, 2,
                         {1: Source.POPULATION_DB}, dt.datetime.now(dt.UTC), citizen_id=7)
    assert merge.updates == {} and merge.kept() == ["occupation"]
    fills = merge_fields({"occupation": None}, {"occupation": "Kỹ sư"}, Source.SELF_DECLARED, 2, {},
                         dt.datetime.now(dt.UTC), citizen_id=7)
    assert fills.updates == {"occupation": "Kỹ sư", "occupation_prov": 2}


def test_only_a_register_or_a_health_station_supplies_the_phone_that_verifies() -> None:
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    for source in (Source.CLINIC, Source.SELF_DECLARED, Source.VOLUNTEER_ASSISTED,
                   Source.IMMUNIZATION_REGISTRY):
        empty = merge_fields({"phone": None}, {"phone": "+84987654321"}, source, 2, {}, now)
        assert empty.updates == {} and empty.decisions == {"phone": Decision.REFUSED}, source
        over = merge_fields({"phone": "+84912345678", "phone_prov": 1}, {"phone": "+84987654321"},
                            source, 2, {1: Source.CLINIC}, now)
        assert over.updates == {}, source
    for source in (Source.POPULATION_DB, Source.SOCIAL_INSURANCE, Source.HEALTH_STATION):
        fills = merge_fields({"phone": None}, {"phone": "+84987654321"}, source, 2, {}, now)
        assert fills.updates == {"phone": "+84987654321", "phone_prov": 2}, source
    # A clinic's number is its own contact value, and only a clinic supplies it.
    clinic = merge_fields({"clinic_phone": None}, {"clinic_phone": "+84987654321"}, Source.CLINIC, 2,
                          {}, now)
    assert clinic.updates == {"clinic_phone": "+84987654321", "clinic_phone_prov": 2}


def test_the_import_report_lists_lines_in_vietnamese() -> None:
    report = ImportReport("roster.csv", read=2, created=1)
    report.reject(3, Message("The personal ID must be exactly 12 digits."))
    lines = report.render(translator("vi"))
    assert lines[0].startswith("roster.csv: đọc 2")
    assert lines[1] == "  roster.csv, dòng 3: bị từ chối: Số định danh cá nhân phải có đúng 12 chữ số."


def run_cli(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}", "EHR_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_import_roster_command_prints_a_summary_and_exits_2_on_an_unreadable_file(tmp_path: Path) -> None:
    database = tmp_path / "cli.sqlite3"
    assert run_cli("migrate", database=database).returncode == 0
    good = run_cli("import-roster", str(roster(tmp_path, AN, "bad,row,here")), database=database)
    assert good.returncode == 0, good.stderr
    assert "read 2, created 1, updated 0, unchanged 0, rejected 1" in good.stdout
    assert "line 3" in good.stdout
    assert "001090001234" not in good.stdout + good.stderr  # no personal IDs on the console
    broken = run_cli("import-roster", str(roster(tmp_path, AN, name="1258.csv", encoding="cp1258")),
                     database=database)
    assert broken.returncode == 2
    assert "not UTF-8" in broken.stderr


def many_residents(tmp_path: Path, first: int, count: int) -> Path:
    """`count` residents with a card each, every third with the previous one as guardian."""
    rows = []
    for number in range(first, first + count):
        guardian = f"001090{number - 1:06d}" if number % 3 == 0 and number > first else ""
        rows.append(f"001090{number:06d},Nguyễn Văn An,15/07/1990,Nam,Kinh,VN,Kỹ sư,,,70,"
                    f"Số {number} Hàng Bạc,DN401{number:010d},01001,01/01/2026,31/12/2026,O+,,"
                    f"{guardian}")
    return roster(tmp_path, *rows, name=f"roster_{first}.csv")


async def test_an_operator_can_import_a_roster_of_any_length_in_the_same_memory(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The importer keeps a chunk or two in memory, not an entry per resident: four times the
    rows (and four times the chunks) peak within a fifth of the same memory."""
    import tracemalloc

    from core.records.imports import csvfile
    from core.records.imports import roster_apply as roster_module

    # Many chunks and many reads from a file a test can afford (a million rows hold 100
    # chunks of 10,000 and 150 reads of a MiB).
    monkeypatch.setattr(roster_module, "CHUNK", 100)
    monkeypatch.setattr(csvfile, "_CHUNK", 1 << 16)
    await import_roster(db, many_residents(tmp_path, 0, 300))  # statements compiled, caches warm
    peaks = []
    for first, count in ((1_000, 2_500), (10_000, 10_000)):
        path = many_residents(tmp_path, first, count)
        tracemalloc.start()
        try:
            report = await import_roster(db, path)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert (report.created, report.rejected) == (count, 0)
    assert peaks[1] < peaks[0] * 1.2, f"{peaks[0] / 2**20:.1f} MiB, then {peaks[1] / 2**20:.1f} MiB"
    async with db.sessions() as session:
        linked = await session.scalar(select(func.count()).where(Citizen.guardian_id.is_not(None)))
    expected = sum(1 for first, count in ((0, 300), (1_000, 2_500), (10_000, 10_000))
                   for number in range(first + 1, first + count) if number % 3 == 0)
    assert linked == expected
