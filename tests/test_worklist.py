"""A volunteer's worklist: the ward's residents with details missing, most missing first, a
page at a time, from the count kept with each record (and made again whenever a detail
changes, whoever changes it, or a resident comes of age)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Connection, text

from core.db import Database
from core.i18n import today_hanoi
from core.records.completeness import RULES
from core.records.imports.roster import import_roster
from core.volunteering.residents import worklist

HEADER = ("so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,dan_toc,quoc_tich,nghe_nghiep,dien_thoai,ma_xa,"
          "dia_chi,nhom_mau")
WARD = "00070"
# The details a roster row may leave blank, each a gap of its own for an adult.
BLANKABLE = ("dan_toc", "nghe_nghiep", "dien_thoai", "dia_chi", "nhom_mau")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Đức", "Giang", "Hải", "Hiếu", "Hòa", "Hùng", "Khang",
         "Khoa", "Lâm", "Long", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quang", "Sơn", "Tâm",
         "Thắng")
MIGRATION = Path(__file__).resolve().parent.parent / "core/migrations/versions/0015_stored_gap_counts.py"


def adult(n: int, blanks: int, name: str) -> str:
    """Resident n, a man born in 1980, with the first `blanks` of BLANKABLE left empty."""
    values = {"dan_toc": "01", "nghe_nghiep": "Thợ điện", "dien_thoai": f"09{n:08d}",
              "dia_chi": f"Số {n} Hàng Bạc", "nhom_mau": "O+"}
    for column in BLANKABLE[:blanks]:
        values[column] = ""
    return (f"0010800{n:05d},{name},15/07/1980,Nam,{values['dan_toc']},VN,{values['nghe_nghiep']},"
            f"{values['dien_thoai']},70,{values['dia_chi']},{values['nhom_mau']}")


async def load(db: Database, tmp_path: Path, rows: list[str]) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    report = await import_roster(db, path)
    assert report.created == len(rows)


async def listed(db: Database, today: dt.date | None = None) -> dict[str, int]:
    """Every resident on the worklist (all its pages) with the number of details named."""
    found: dict[str, int] = {}
    page, pages = 0, 1
    while page < pages:
        shown = await worklist(db, WARD, page, 10, today=today)
        found.update({item.name: item.gaps for item in shown.items})
        page, pages = page + 1, shown.pages
    return found


async def set_value(db: Database, citizen: str, column: str, value: object) -> None:
    """A change written as any writer writes it (an import, a correction, a station's yes)."""
    def write(connection: Connection) -> None:
        connection.execute(text(f"UPDATE citizens SET {column} = :value WHERE full_name = :name"),
                           {"value": value, "name": citizen})
    await db.write(write)


async def test_a_volunteer_pages_through_the_ward_most_missing_first(db: Database,
                                                                     tmp_path: Path) -> None:
    # 23 residents, n with n % 6 details blank: 3 with nothing missing, 20 to help.
    rows = [adult(n, n % 6, f"Nguyễn Văn {given}") for n, given in enumerate(GIVEN, start=1)]
    await load(db, tmp_path, rows)
    first = await worklist(db, WARD, 0, 10)
    assert (first.total, first.pages, len(first.items)) == (20, 2, 10)
    last = await worklist(db, WARD, 1, 10)
    both = sorted(item.name for item in (*first.items, *last.items))
    assert both == sorted(f"Nguyễn V. {given[0]}." for n, given in enumerate(GIVEN, start=1) if n % 6)
    counts = [item.gaps for item in (*first.items, *last.items)]
    assert counts == sorted(counts, reverse=True) and counts[0] == 5 and counts[-1] == 1
    assert first.items[0].missing == ("ethnicity_code", "occupation", "phone", "street_address",
                                      "blood_group")
    # An old button for a page the list no longer has shows its last page.
    assert (await worklist(db, WARD, 7, 10)).page == 1


async def test_a_detail_filled_in_or_emptied_by_any_writer_shows_on_the_next_view(
        db: Database, tmp_path: Path) -> None:
    await load(db, tmp_path, [adult(1, 0, "Lê Văn Hùng"), adult(2, 2, "Lê Văn Minh")])
    assert await listed(db) == {"Lê V. M.": 2}
    await set_value(db, "Lê Văn Minh", "ethnicity_code", "01")
    assert await listed(db) == {"Lê V. M.": 1}
    # Every detail the counted rules read, emptied (or made wrong) and put back.
    spoilt = {"personal_id": "001180000001",  # digit 4 says a woman; he is recorded a man
              "birth_date": "1980",  # the day and month lost
              "ward_code": "99999", "phone": "12"}
    for field in ("personal_id", "birth_date", "sex", "ethnicity_code", "nationality",
                  "occupation", "phone", "ward_code", "street_address", "blood_group"):
        before = await db.read(lambda c, f=field: c.execute(
            text(f"SELECT {f} FROM citizens WHERE full_name = 'Lê Văn Hùng'")).scalar())
        await set_value(db, "Lê Văn Hùng", field, spoilt.get(field))
        if field == "ward_code":  # moved out of the ward: off this ward's list
            assert "Lê V. H." not in await listed(db)
        else:
            assert (await listed(db)).get("Lê V. H.") == 1, field
        await set_value(db, "Lê Văn Hùng", field, before)
        assert "Lê V. H." not in await listed(db), field


def test_the_trigger_forgets_a_count_when_any_field_a_counted_rule_reads_changes() -> None:
    spec = importlib.util.spec_from_file_location("migration_0015", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    # A rule on a new field needs a migration that adds it to the trigger.
    assert {rule.field for rule in RULES if rule.counts} == set(migration.COUNTED)


async def test_a_child_coming_of_age_is_asked_for_a_phone_from_the_birthday_on(
        db: Database, tmp_path: Path) -> None:
    today = today_hanoi()
    birthday = today + dt.timedelta(days=1)
    born = birthday.replace(year=birthday.year - 18)
    # Digit 4 of the ID: 3, a girl born in the 2000s.
    child = (f"0013{born.year % 100:02d}000001,Phạm Thị Lan,{born:%d/%m/%Y},Nữ,01,VN,,,70,"
             f"Số 9 Hàng Bạc,A+")
    await load(db, tmp_path, [adult(2, 0, "Phạm Văn Hải"), child])
    await set_value(db, "Phạm Thị Lan", "guardian_id", await db.read(lambda c: c.execute(
        text("SELECT id FROM citizens WHERE full_name = 'Phạm Văn Hải'")).scalar()))
    assert await listed(db, today) == {}  # a child with a guardian: nothing missing
    assert await listed(db, birthday) == {"Phạm T. L.": 2}  # of age: occupation and phone


def test_an_operator_counts_every_resident_at_once_after_an_import(tmp_path: Path) -> None:
    path = tmp_path / "city.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{path}", "EHR_LANG": "vi"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "core", *a], env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=120, check=False)
    assert run("migrate").returncode == 0
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join([HEADER, *(adult(n, n % 3, f"Vũ Văn {given}")
                                           for n, given in enumerate(GIVEN, start=1))]) + "\n",
                      encoding="utf-8")
    assert run("import-roster", str(roster)).returncode == 0
    import sqlite3
    expected = {f"Vũ Văn {given}": n % 3 for n, given in enumerate(GIVEN, start=1)}
    with sqlite3.connect(path) as connection:  # the import's figures refresh counted them already
        assert dict(connection.execute("SELECT full_name, gaps FROM citizens").fetchall()) == expected
        connection.execute("UPDATE citizens SET gaps = NULL")  # as migration 0015 left every row
    result = run("recount")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Đã đếm các thông tin còn thiếu của 23 người dân cho danh sách hỗ trợ."
    with sqlite3.connect(path) as connection:
        stored = dict(connection.execute("SELECT full_name, gaps FROM citizens").fetchall())
    assert stored == expected
