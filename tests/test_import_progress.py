"""Imports anyone can watch: progress in the run's row, a dry run that writes nothing, the
report as JSON, a crash that does not leave a run "running" forever, and the terminal line."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import select as io_select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import Database
from core.i18n import now_utc, translator
from core.records.imports import tracking
from core.records.imports.progress import ImportProgress
from core.records.imports.tracking import (
    STALE_AFTER,
    import_status,
    recent_imports,
    run_import_file,
    start_import,
)
from core.records.operations import ImportKind, ImportRun, ImportState
from core.schema import Base
from tests.test_import_qd130 import _roster as qd130_roster
from tests.test_import_qd130 import _visit, _written
from tests.test_import_roster import AN, roster

EN = translator("en")


def residents_file(tmp_path: Path, count: int, *extra: str, name: str = "roster.csv") -> Path:
    rows = [f"001090{n:06d},Nguyễn Văn An,15/07/1990,Nam,Kinh,VN,,,,70,Số {n} Hàng Bạc,"
            f"DN401{n:010d},01001,01/01/2026,31/12/2026,O+,," for n in range(1, count + 1)]
    return roster(tmp_path, *rows, *extra, name=name)


async def table_counts(db: Database) -> dict[str, int]:
    counts = {}
    async with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = await connection.scalar(
                select(func.count()).select_from(table)) or 0
    return counts


async def imported(db: Database, kind: ImportKind, path: Path, *, dry_run: bool = False,
                   seen: list[ImportProgress] | None = None):
    run_id = await start_import(db, kind, path, dry_run=dry_run)
    report = await run_import_file(db, run_id, path,
                                   progress=None if seen is None else seen.append)
    return run_id, report


# --- Progress -------------------------------------------------------------------

async def test_progress_advances_in_the_runs_row_and_reaches_the_whole_file(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Beats far more often than once a second: 20,000 rows take about a second here.
    monkeypatch.setattr(tracking, "HEARTBEAT_SECONDS", 0.02)
    path = residents_file(tmp_path, 20_000)
    run_id = await start_import(db, ImportKind.ROSTER, path, file_name="danh_sach.csv")
    seen: list[ImportProgress] = []
    watched: list[int] = []  # rows done as another worker reads them from the database

    async def watch() -> None:
        while True:
            status = await import_status(db, run_id)
            assert status is not None
            watched.append(status.rows_done)
            if status.state is not ImportState.RUNNING:
                return
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    report = await run_import_file(db, run_id, path, progress=seen.append)
    await watcher

    assert report.created == 20_000
    rows = [p.rows_done for p in seen]
    assert rows == sorted(rows) and rows[0] < rows[-1] == 20_000
    assert seen[-1].finished and seen[-1].bytes_done == path.stat().st_size == seen[-1].bytes_total
    if db.dialect == "postgresql":
        # Seen part way, from the database. Only on PostgreSQL: on SQLite a beat waits for
        # the one write lock, which the import's chunks hand on to each other, so a beat
        # lands every second or two (1.3 s at 100,000 rows here) and a one-second import
        # may pass between two (CI once saw [0, 0, 0, 0, 0, 20000]). The next test shows a
        # beat writes what it holds on SQLite too.
        assert any(0 < n < 20_000 for n in watched), watched
    status = await import_status(db, run_id)
    assert status is not None
    assert (status.state, status.file_name, status.rows_done, status.fraction) == (
        ImportState.FINISHED, "danh_sach.csv", 20_000, 1.0)
    assert status.counts["created"] == 20_000 and status.rate and status.rate > 0
    assert [s.id for s in await recent_imports(db)] == [run_id]


async def test_a_beat_writes_the_latest_progress_to_the_runs_row_for_other_workers(
        db: Database, tmp_path: Path) -> None:
    path = residents_file(tmp_path, 10)
    run_id = await start_import(db, ImportKind.ROSTER, path)
    heartbeat = tracking._Heartbeat(db, run_id, None)
    size = path.stat().st_size
    heartbeat(ImportProgress(rows_done=3, bytes_done=size // 4, bytes_total=size, problems=1,
                             elapsed=2.0))
    heartbeat(ImportProgress(rows_done=5, bytes_done=size // 2, bytes_total=size, problems=2,
                             elapsed=3.0))
    await heartbeat.beat()
    status = await import_status(db, run_id)
    assert status is not None
    assert (status.state, status.rows_done, status.fraction, status.problem_count) == (
        ImportState.RUNNING, 5, (size // 2) / size, 2)


async def test_a_qd130_file_reports_its_hosos_as_they_are_read(db: Database, tmp_path: Path) -> None:
    await qd130_roster(db, tmp_path)
    path = _written(tmp_path, "checkout.xml", [_visit(f"LK-{n}") for n in range(1, 31)])
    seen: list[ImportProgress] = []
    run_id, report = await imported(db, ImportKind.QD130_XML, path, seen=seen)
    assert report.created == 30
    assert seen[-1].rows_done == 30 and seen[-1].fraction == 1.0
    status = await import_status(db, run_id)
    assert status is not None and status.state is ImportState.FINISHED
    assert status.counts["created"] == 30
    async with db.sessions() as session:  # the run `start_import` recorded is the file's only one
        assert await session.scalar(select(func.count()).select_from(ImportRun)) == 2


async def test_a_broken_rows_line_and_reason_are_kept_in_the_runs_stored_problems(
        db: Database, tmp_path: Path) -> None:
    path = roster(tmp_path, AN, "001090001235,Trần Văn Bình,31/02/1990,Nam")
    run_id, _ = await imported(db, ImportKind.ROSTER, path)
    status = await import_status(db, run_id)
    assert status is not None
    assert status.problem_count == 1 and status.counts["rejected"] == 1
    [problem] = status.problems
    assert (problem.line, problem.rejected) == (3, True)
    assert problem.message.render(EN) == "The date of birth is not a real date."
    async with db.sessions() as session:
        stored = json.dumps((await session.get(ImportRun, run_id)).problems, ensure_ascii=False)
    assert "31/02" not in stored and "001090001235" not in stored


async def test_an_unreadable_file_is_a_failed_run_with_its_reason(db: Database,
                                                                    tmp_path: Path) -> None:
    path = roster(tmp_path, AN, header="ho_ten,ngay_sinh")
    run_id = await start_import(db, ImportKind.ROSTER, path)
    with pytest.raises(Exception, match="required column"):
        await run_import_file(db, run_id, path)
    status = await import_status(db, run_id)
    assert status is not None and status.state is ImportState.FAILED
    assert "so_dinh_danh" in status.problems[0].message.render(EN)


# --- Dry runs -------------------------------------------------------------------

async def test_a_dry_run_reports_what_the_import_would_do_and_writes_nothing(
        db: Database, tmp_path: Path) -> None:
    roster_file = residents_file(tmp_path, 50, f"001090{7:06d},Nguyễn Văn An,15/07/1990,Nam",
                                 "bad,row,here")
    doses = tmp_path / "doses.csv"
    doses.write_text("so_dinh_danh,ten_vac_xin,mui_thu,ngay_tiem,ma_co_so,so_lo,chuong_trinh\n"
                     "001090000001,Sởi,1,01/02/2024,01001,A1,tcmr\n"
                     "001090009999,Sởi,1,01/02/2024,01001,A1,tcmr\n", encoding="utf-8")
    facilities_file = tmp_path / "facilities.csv"
    facilities_file.write_text("ma_co_so,ten_co_so,loai,ma_xa\n"
                               "01001,Trạm Y tế Phường Hoàn Kiếm,tram_y_te,00070\n",
                               encoding="utf-8")
    for kind, path in ((ImportKind.ROSTER, roster_file), (ImportKind.FACILITIES, facilities_file),
                       (ImportKind.IMMUNIZATIONS, doses)):
        before = await table_counts(db)
        dry_id, dry = await imported(db, kind, path, dry_run=True)
        after = await table_counts(db)
        assert after == {**before, "import_runs": before["import_runs"] + 1}, kind
        status = await import_status(db, dry_id)
        assert status is not None and status.dry_run and status.state is ImportState.FINISHED
        # Exactly what the import then does: the repeat of line 8 and the bad row, refused.
        _, real = await imported(db, kind, path)
        assert dry.render(EN)[1:] == real.render(EN)[1:], kind
        assert (dry.read, dry.created, dry.updated, dry.unchanged, dry.rejected) == (
            real.read, real.created, real.updated, real.unchanged, real.rejected), kind
        assert status.counts == {name: getattr(dry, name) for name in status.counts}
    assert real.created == 1  # the dose: the roster the dry run did not write came in for real

    await qd130_roster(db, tmp_path)
    checkout = _written(tmp_path, "checkout.xml", [_visit("LK-1"), _visit("LK-1"),
                                                   _visit("LK-2", personal_id="001085000111",
                                                          card_number=None)])
    before = await table_counts(db)
    _, dry = await imported(db, ImportKind.QD130_XML, checkout, dry_run=True)
    assert await table_counts(db) == {**before, "import_runs": before["import_runs"] + 1}
    _, real = await imported(db, ImportKind.QD130_XML, checkout)
    assert (dry.created, dry.unchanged, dry.quarantined) == (
        real.created, real.unchanged, real.quarantined) == (1, 1, 1)


# --- A crash ---------------------------------------------------------------------

async def test_an_import_that_fails_part_way_is_a_failed_run_not_a_running_one(
        db: Database, tmp_path: Path) -> None:
    path = residents_file(tmp_path, 3000)
    run_id = await start_import(db, ImportKind.ROSTER, path)

    def broken_screen(progress: ImportProgress) -> None:
        if progress.rows_done:
            raise OSError("the terminal went away")

    with pytest.raises(OSError):
        await run_import_file(db, run_id, path, progress=broken_screen)
    status = await import_status(db, run_id)
    assert status is not None
    assert (status.state, status.failure) == (ImportState.FAILED, "OSError")
    assert status.finished_at is not None


async def test_a_cancelled_import_is_interrupted(db: Database, tmp_path: Path) -> None:
    path = residents_file(tmp_path, 20_000)
    run_id = await start_import(db, ImportKind.ROSTER, path)
    started = asyncio.Event()
    task = asyncio.create_task(run_import_file(
        db, run_id, path, progress=lambda p: started.set() if p.rows_done else None))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    status = await import_status(db, run_id)
    assert status is not None and status.state is ImportState.INTERRUPTED


async def test_a_killed_import_reads_as_interrupted_once_its_heartbeat_stops(
        db: Database, tmp_path: Path) -> None:
    path = residents_file(tmp_path, 60_000)
    env = {**os.environ, "DATABASE_URL": db.url, "EHR_LANG": "en"}
    process = subprocess.Popen([sys.executable, "-m", "core", "import-roster", str(path)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            runs = await recent_imports(db)
            if runs and runs[0].rows_done > 0:
                status = runs[0]
                break
            await asyncio.sleep(0.1)
        assert status is not None and status.state is ImportState.RUNNING
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert (await import_status(db, status.id)).state is ImportState.RUNNING  # just now: fresh
    later = now_utc() + STALE_AFTER + dt.timedelta(seconds=1)
    assert (await import_status(db, status.id, now=later)).state is ImportState.INTERRUPTED


# --- The command line ----------------------------------------------------------------

def _cli(database: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}", "EHR_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "core", *args], env=env, text=True,
                          timeout=120, check=False, **kwargs)


def test_the_report_json_names_lines_and_reasons_and_no_value(tmp_path: Path) -> None:
    database = tmp_path / "cli.sqlite3"
    assert _cli(database, "migrate", capture_output=True).returncode == 0
    path = roster(tmp_path, AN, "001090001235,Trần Văn Bình,31/02/1990,Nam,,,,0912345679")
    out = tmp_path / "report.json"
    done = _cli(database, "import-roster", str(path), "--dry-run", "--report", str(out),
                capture_output=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Dry run: what the import would do.")
    document = json.loads(out.read_text(encoding="utf-8"))
    [file] = document["files"]
    assert document["dry_run"] is True and file["file"] == "roster.csv"
    assert file["counts"] == {"read": 2, "created": 1, "updated": 0, "unchanged": 0,
                              "rejected": 1, "quarantined": 0}
    [problem] = file["problems"]
    assert problem == {"line": 3, "where": None, "rejected": True,
                       "reason": "The date of birth is not a real date.",
                       "message_id": "{what} is not a real date."}
    text = out.read_text(encoding="utf-8")
    assert "001090001235" not in text and "0912345679" not in text and "31/02" not in text
    # Nothing written: a real import afterwards still creates the resident.
    real = _cli(database, "import-roster", str(path), capture_output=True)
    assert "created 1" in real.stdout


def test_import_xml_dry_run_and_report(tmp_path: Path) -> None:
    database = tmp_path / "cli.sqlite3"
    assert _cli(database, "migrate", capture_output=True).returncode == 0
    roster_file = tmp_path / "people.csv"
    roster_file.write_text("so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,ma_the_bhyt\n"
                           "001090001234,Nguyễn Văn An,15/07/1990,Nam,DN4010123456789\n",
                           encoding="utf-8")
    assert _cli(database, "import-roster", str(roster_file), capture_output=True).returncode == 0
    checkout = _written(tmp_path, "checkout.xml", [_visit("LK-1")])
    out = tmp_path / "xml.json"
    dry = _cli(database, "import-xml", str(checkout), "--dry-run", "--report", str(out),
               capture_output=True)
    assert dry.returncode == 0, dry.stderr
    [file] = json.loads(out.read_text(encoding="utf-8"))["files"]
    assert (file["kind"], file["counts"]["created"]) == ("qd130_xml", 1)
    assert "created 1" in _cli(database, "import-xml", str(checkout), capture_output=True).stdout


def test_the_progress_line_shows_on_a_terminal_and_not_in_a_pipe(tmp_path: Path) -> None:
    database = tmp_path / "cli.sqlite3"
    assert _cli(database, "migrate", capture_output=True).returncode == 0
    path = residents_file(tmp_path, 2000)

    piped = _cli(database, "import-roster", str(path), capture_output=True)
    assert piped.returncode == 0 and piped.stderr == "" and "\r" not in piped.stdout

    main, secondary = os.openpty()
    try:
        done = _cli(database, "import-roster", str(path), stdout=subprocess.PIPE,
                    stderr=secondary)
        os.close(secondary)
        shown = b""
        while io_select.select([main], [], [], 0.5)[0]:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main)
    assert done.returncode == 0
    line = shown.decode()
    assert line.startswith("\rrows: ") and "problems: 0" in line and line.endswith("\n")
    assert "rows: 2,000, 100%" in line
    assert "unchanged 2,000" in done.stdout  # the report itself still goes to stdout

