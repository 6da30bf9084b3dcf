"""The monthly report: a spreadsheet a health department files, read back and checked against the rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Connection, text

from core import tallies
from core.cli import main
from core.db import Database
from core.i18n import TIMEZONE, today_hanoi
from core.reference.wards import hanoi_wards
from core.reporting import figures
from core.reporting.monthly import BadMonth, monthly_rows, parse_month, write_csv, write_xlsx
from tests.test_figures import activity, personal, residents, seeded

HEADER_ROW = 6


def this_month() -> tuple[int, int]:
    today = today_hanoi()
    return today.year, today.month


def month_bounds(year: int, month: int, sqlite: bool) -> dict[str, Any]:
    start = dt.datetime(year, month, 1, tzinfo=TIMEZONE).astimezone(dt.UTC)
    after = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=TIMEZONE).astimezone(dt.UTC)
    if sqlite:
        start, after = start.replace(tzinfo=None), after.replace(tzinfo=None)
    return {"start": start, "end": after, "first": dt.date(year, month, 1),
            "after": dt.date(year + month // 12, month % 12 + 1, 1)}


def expected(connection: Connection, year: int, month: int) -> dict[str, dict[str, int]]:
    """Per ward, counted here with SQL: stocks as they are now (the month in progress, just
    refreshed), flows within the month."""
    b = month_bounds(year, month, connection.dialect.name == "sqlite")
    found: dict[str, dict[str, int]] = {code: {} for code in hanoi_wards()}

    def put(sql: str, key: str) -> None:
        for ward, n in connection.execute(text(sql), b):
            if ward in found:
                found[ward][key] = n

    put("SELECT ward_code, count(*) FROM citizens WHERE status = 'active' GROUP BY ward_code", "residents")
    put("SELECT c.ward_code, count(DISTINCT a.citizen_id) FROM channel_accounts a JOIN citizens c "
        "ON c.id = a.citizen_id WHERE c.status = 'active' GROUP BY c.ward_code", "activated")
    put("SELECT c.ward_code, count(*) FROM channel_accounts a JOIN citizens c ON c.id = a.citizen_id "
        "WHERE c.status = 'active' AND a.channel = 'telegram' GROUP BY c.ward_code", "telegram")
    put("SELECT ward_code, count(*) FROM correction_requests "
        "WHERE created_at >= :start AND created_at < :end "
        "GROUP BY ward_code", "corrections_filed")
    put("SELECT ward_code, count(*) FROM correction_requests "
        "WHERE decided_at >= :start AND decided_at < :end "
        "GROUP BY ward_code", "corrections_decided")
    put("SELECT ward_code, count(*) FROM pending_values WHERE created_at >= :start AND created_at < :end "
        "GROUP BY ward_code", "volunteer_entries")
    put("SELECT ward_code, sum(count) FROM ward_tallies WHERE kind = 'checkin' AND day >= :first "
        "AND day < :after GROUP BY ward_code", "checkins")
    put("SELECT ward_code, sum(count) FROM ward_tallies WHERE kind = 'activation_ussd' AND day >= :first "
        "AND day < :after GROUP BY ward_code", "new_ussd")
    return found


# The report's columns (1-based) of the figures checked here.
CHECKED = {"residents": 5, "activated": 8, "telegram": 10, "new_ussd": 13, "checkins": 14,
           "corrections_filed": 15, "corrections_decided": 16, "volunteer_entries": 17}


async def test_the_monthly_spreadsheet_reads_back_with_each_wards_figures_and_the_totals(
        db: Database, tmp_path: Path) -> None:
    await seeded(db)
    await activity(db)
    await figures.refresh(db)
    year, month = this_month()
    report = await monthly_rows(db, year, month)
    path = tmp_path / "report.xlsx"
    write_xlsx(report, path)
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "SỞ Y TẾ HÀ NỘI"
    assert f"THÁNG {month:02d}/{year}" in rows[1][0]
    assert rows[HEADER_ROW - 1][:4] == ("STT", "Mã xã/phường", "Tên xã/phường", "Trung tâm Y tế khu vực")
    assert sheet.freeze_panes == f"E{HEADER_ROW + 1}"
    wards = rows[HEADER_ROW:HEADER_ROW + 126]
    total = rows[HEADER_ROW + 126]
    assert len(rows) == HEADER_ROW + 127
    assert [r[1] for r in wards] == list(hanoi_wards()) and [r[0] for r in wards] == list(range(1, 127))
    assert all(r[3] and r[3].startswith("Trung tâm Y tế khu vực") for r in wards)
    counted = await db.read(expected, year, month)
    for row in wards:
        for key, column in CHECKED.items():
            assert row[column - 1] == counted[row[1]].get(key, 0), (row[1], key)
    for key, column in CHECKED.items():
        assert total[column - 1] == sum(w.get(key, 0) for w in counted.values()), key
        assert not str(total[column - 1]).startswith("=")  # values, not formulas
    assert total[2] == "Tổng cộng"
    assert sum(counted[w].get("checkins", 0) for w in counted) == 4  # the day's check-ins are there
    shares = [r[6] for r in wards if r[4]]
    assert shares and all(0 <= s <= 1 for s in shares)
    people = await personal(db)
    cells = [str(c) for r in rows for c in r if c is not None]
    assert not any(p in c for c in cells for p in people if len(p) > 3)


async def test_the_monthly_csv_opens_in_excel_with_the_same_rows(db: Database) -> None:
    await seeded(db)
    await activity(db)
    await figures.refresh(db)
    year, month = this_month()
    report = await monthly_rows(db, year, month)
    stream = io.StringIO(newline="")
    write_csv(report, stream)
    written = stream.getvalue()
    assert written.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(written.lstrip("\ufeff"))))
    assert rows[0][0] == "STT" and len(rows) == 1 + 126 + 1
    counted = await db.read(expected, year, month)
    for row in rows[1:127]:
        for key, column in CHECKED.items():
            assert int(row[column - 1]) == counted[row[1]].get(key, 0), (row[1], key)
    for key, column in CHECKED.items():
        assert int(rows[-1][column - 1]) == sum(w.get(key, 0) for w in counted.values())


async def test_a_past_month_reads_the_same_after_new_activity(db: Database) -> None:
    await seeded(db)
    today = today_hanoi()
    last = (today.replace(day=1) - dt.timedelta(days=1))
    late = dt.datetime(last.year, last.month, last.day, 20, tzinfo=TIMEZONE)
    (citizen_id, _ward), = await residents(db, 1)

    def last_month(connection: Connection) -> None:
        tallies.count_event(connection, tallies.CHECKIN, citizen_id, late)
        tallies.count_event(connection, tallies.activation("telegram"), citizen_id, late)
    await db.write(last_month)
    await figures.refresh(db, late.astimezone(dt.UTC))  # the month's last refresh: its month-end stocks
    before = await monthly_rows(db, last.year, last.month)
    assert before.stocks_as_of is not None and before.total.checkins == 1 and before.total.new_telegram == 1
    await activity(db)  # this month: links, check-ins, corrections, entries, a detail emptied

    def moved(connection: Connection) -> None:  # the resident moves ward: last month keeps its ward
        connection.execute(text("UPDATE citizens SET ward_code = CASE WHEN ward_code = '00004' "
                                "THEN '00008' ELSE '00004' END WHERE id = :id"), {"id": citizen_id})
    await db.write(moved)
    await figures.refresh(db)
    after = await monthly_rows(db, last.year, last.month)
    assert after.rows == before.rows and after.total == before.total
    assert after.stocks_as_of == before.stocks_as_of
    now = await monthly_rows(db, today.year, today.month)
    assert now.total.checkins == 4 and now.rows != before.rows


async def test_a_month_before_any_refresh_leaves_the_stocks_empty(db: Database) -> None:
    await seeded(db)
    report = await monthly_rows(db, 2025, 7)
    assert report.stocks_as_of is None and report.total.residents is None and report.total.checkins == 0


def test_months_are_read_as_a_department_writes_them() -> None:
    today = dt.date(2026, 12, 3)
    assert parse_month("11/2026", today) == (2026, 11)
    assert parse_month("2026-12", today) == (2026, 12)
    for bad in ("13/2026", "0/2026", "1/2027", "november", "11-2026"):
        with pytest.raises(BadMonth):
            parse_month(bad, today)


@pytest.mark.parametrize("month", ["13/2026", "12/2999"])
def test_the_report_command_refuses_a_month_that_is_not_one_or_still_to_come(
        month: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.xlsx"
    assert main(["report", "monthly", "--month", month, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert ("không phải là tháng" in error) if month.startswith("13") else ("chưa bắt đầu" in error)
    assert not out.exists()


def test_the_report_command_writes_the_spreadsheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "ehr.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    assert main(["migrate"]) == 0
    assert main(["seed", "--people", "60"]) == 0
    year, month = this_month()
    out = tmp_path / "bao-cao.xlsx"
    assert main(["report", "monthly", "--month", f"{month}/{year}", "--out", str(out)]) == 0
    sheet = openpyxl.load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[HEADER_ROW + 126][4] == sum(r[4] for r in rows[HEADER_ROW:HEADER_ROW + 126])
    assert rows[HEADER_ROW + 126][4] > 0
    csv_out = tmp_path / "bao-cao.csv"
    assert main(["report", "monthly", "--month", f"{month:02d}/{year}", "--out", str(csv_out)]) == 0
    assert csv_out.read_bytes().startswith(b"\xef\xbb\xbf")
