"""Imports anyone can watch: a file's run recorded first, its progress written to the run's
row as it goes, its state and report there at the end.

    run_id = await start_import(db, ImportKind.ROSTER, saved_path, file_name="roster.csv")
    report = await run_import_file(db, run_id, saved_path)   # a web handler's background task
    status = await import_status(db, run_id)                  # any worker, any time

Progress lives in the database, not in a process: the worker that runs the import may not
be the one asked. `run_import_file` writes a heartbeat (`updated_at`, rows and bytes done,
problems so far) about once a second; a run still "running" whose heartbeat is older than
`STALE_AFTER` has lost its process and reads as interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from core.db import Database
from core.i18n import now_utc
from core.records.imports.dry_run import rolled_back
from core.records.imports.facilities import import_facilities
from core.records.imports.immunizations import import_immunizations
from core.records.imports.outcome import COUNTS, problem_from_json, problem_to_json
from core.records.imports.progress import ImportProgress, ProgressSink, seconds_left
from core.records.imports.qd130 import import_qd130_file
from core.records.imports.report import FileUnreadable, ImportReport, Problem
from core.records.imports.roster import import_roster
from core.records.imports.runs import finish_run
from core.records.operations import ImportKind, ImportRun, ImportState

log = logging.getLogger(__name__)

# A running import writes its heartbeat every HEARTBEAT_SECONDS; one silent for STALE_AFTER
# has stopped (its process was killed, or its machine). Minutes, not seconds: a heartbeat
# may wait behind a long transaction of the import itself.
HEARTBEAT_SECONDS = 1.0
STALE_AFTER = dt.timedelta(minutes=5)

Importer = Callable[..., Awaitable[ImportReport]]
IMPORTERS: dict[ImportKind, Importer] = {
    ImportKind.ROSTER: import_roster,
    ImportKind.IMMUNIZATIONS: import_immunizations,
    ImportKind.FACILITIES: import_facilities,
    ImportKind.QD130_XML: import_qd130_file,
}

_RUNS = ImportRun.__table__


@dataclass(frozen=True)
class ImportStatus:
    """One run as the console shows it: how far it has got, or what came of it."""

    id: int
    kind: ImportKind
    file_name: str
    state: ImportState
    dry_run: bool
    started_at: dt.datetime
    updated_at: dt.datetime | None
    finished_at: dt.datetime | None
    rows_done: int
    bytes_done: int
    bytes_total: int | None
    rate: float | None  # rows a second
    seconds_left: float | None  # while running, at the pace so far
    problem_count: int  # rejected rows and notes, so far or in all
    counts: dict[str, int]  # read, created, updated, unchanged, rejected, quarantined
    # A finished (or failed) run's first problems, in file order; `problem_count` says how
    # many there are in all.
    problems: list[Problem] = field(default_factory=list)
    failure: str | None = None  # the kind of error that stopped a failed run

    @property
    def fraction(self) -> float | None:
        """How much of the file is done, 0 to 1, when its size is known."""
        if self.state is ImportState.FINISHED:
            return 1.0
        if not self.bytes_total:
            return None
        return min(1.0, self.bytes_done / self.bytes_total)


def _status(row: Any, now: dt.datetime) -> ImportStatus:
    state = ImportState(row.state)
    beat = row.updated_at or row.started_at
    if state is ImportState.RUNNING and now - beat > STALE_AFTER:
        state = ImportState.INTERRUPTED  # its process stopped without a word
    elapsed = ((row.finished_at or beat) - row.started_at).total_seconds()
    rate = row.read / elapsed if elapsed >= 0.5 and row.read else None
    left = seconds_left(elapsed, row.bytes_done, row.bytes_total) \
        if state is ImportState.RUNNING else None
    return ImportStatus(
        id=row.id, kind=ImportKind(row.kind), file_name=row.file_name, state=state,
        dry_run=row.dry_run, started_at=row.started_at, updated_at=row.updated_at,
        finished_at=row.finished_at, rows_done=row.read,
        bytes_done=row.bytes_total if state is ImportState.FINISHED and row.bytes_total
        else row.bytes_done,
        bytes_total=row.bytes_total, rate=rate, seconds_left=left,
        problem_count=row.problem_count, counts={name: getattr(row, name) for name in COUNTS},
        problems=[problem_from_json(p) for p in row.problems or ()], failure=row.failure)


async def import_status(db: Database, run_id: int, *,
                        now: dt.datetime | None = None) -> ImportStatus | None:
    """The run's status, None when there is no such run."""
    def fetch(connection: Connection) -> Any:
        return connection.execute(select(_RUNS).where(_RUNS.c.id == run_id)).first()

    row = await db.read(fetch)
    return None if row is None else _status(row, now or now_utc())


async def recent_imports(db: Database, limit: int = 20, *,
                         now: dt.datetime | None = None) -> list[ImportStatus]:
    """The latest runs of files (not the seed's), newest first."""
    def fetch(connection: Connection) -> list[Any]:
        return list(connection.execute(
            select(_RUNS).where(_RUNS.c.kind != ImportKind.SEED)
            .order_by(_RUNS.c.id.desc()).limit(limit)))

    now = now or now_utc()
    return [_status(row, now) for row in await db.read(fetch)]


async def start_import(db: Database, kind: ImportKind, path: Path, *, dry_run: bool = False,
                       file_name: str | None = None) -> int:
    """Records a run of the file at `path` (already saved by the caller) as running, and
    returns its id for `run_import_file` and `import_status`. `file_name` is the name the
    operator knows (an upload's), when the saved file's differs."""
    if kind not in IMPORTERS:
        raise ValueError(f"no file import of kind {kind.value}")
    try:
        size: int | None = path.stat().st_size
    except OSError:
        size = None  # the import says why it cannot read it
    now = now_utc()
    async with db.transaction() as session:
        run = ImportRun(kind=kind, file_name=(file_name or path.name)[:255], sha256=None,
                        started_at=now, updated_at=now, state=ImportState.RUNNING,
                        dry_run=dry_run, bytes_total=size)
        session.add(run)
        await session.flush()
        return run.id


class _Heartbeat:
    """Keeps the latest snapshot (the importer's sink: no database work there) and writes
    it to the run's row about once a second, from a task of its own."""

    def __init__(self, db: Database, run_id: int, forward: ProgressSink | None) -> None:
        self.db = db
        self.run_id = run_id
        self.forward = forward
        self.latest: ImportProgress | None = None
        self.stop = asyncio.Event()

    def __call__(self, progress: ImportProgress) -> None:
        self.latest = progress
        if self.forward is not None:
            self.forward(progress)

    async def run(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), HEARTBEAT_SECONDS)
            await self.beat()

    async def beat(self) -> None:
        values: dict[str, Any] = {"updated_at": now_utc()}
        latest = self.latest
        if latest is not None:
            values.update(read=latest.rows_done, bytes_done=latest.bytes_done,
                          problem_count=latest.problems)
        # Only while running: a beat that lands after the import finished its row changes
        # nothing of it.
        statement = update(_RUNS).where(_RUNS.c.id == self.run_id,
                                        _RUNS.c.state == ImportState.RUNNING).values(**values)
        try:
            await self.db.write(lambda connection: connection.execute(statement))
        except Exception as error:  # a missed beat is no reason to stop the import
            log.warning("import run %d: heartbeat not written (%s)", self.run_id,
                        type(error).__name__)


async def _end(db: Database, run_id: int, state: ImportState, failure: str | None,
               problems: Sequence[Problem] = ()) -> None:
    now = now_utc()
    values = {"state": state, "failure": failure, "finished_at": now, "updated_at": now}
    if problems:
        values.update(problem_count=len(problems),
                      problems=[problem_to_json(p) for p in problems])
    statement = update(_RUNS).where(_RUNS.c.id == run_id).values(**values)
    await db.write(lambda connection: connection.execute(statement))


async def run_import_file(db: Database, run_id: int, path: Path, *,
                          progress: ProgressSink | None = None) -> ImportReport:
    """Imports the file of a run `start_import` recorded, writing its progress to the run's
    row, and returns the report; `progress` is told too (a terminal's line).

    A dry run (`start_import(..., dry_run=True)`) is the real import rolled back
    (`dry_run.rolled_back`): its report is exactly what the import would do, and only its
    run's row stays. On SQLite a dry run holds the one write lock throughout, so its row is
    written at the start and the end only.

    Raises `FileUnreadable` when the file cannot be imported at all (the run is then failed,
    with the reason as its one problem); any other error marks the run failed, and a
    cancelled import interrupted, before it goes on up."""
    async with db.transaction() as session:
        run = await session.get(ImportRun, run_id)
        if run is None or run.state is not ImportState.RUNNING:
            raise ValueError(f"import run {run_id} is not waiting to run")
        kind, dry_run = run.kind, run.dry_run
    importer = IMPORTERS[kind]
    heartbeat = _Heartbeat(db, run_id, progress)
    beating = None
    if not (dry_run and db.dialect == "sqlite"):
        beating = asyncio.create_task(heartbeat.run())
    try:
        if dry_run:
            async with rolled_back(db) as scratch:
                # Its own run and provenance, rolled back with the rest: the row that stays
                # is `run_id`.
                report = await importer(scratch, path, progress=heartbeat)
            await finish_run(db, run_id, report)
        else:
            report = await importer(db, path, progress=heartbeat, run_id=run_id)
    except FileUnreadable as error:
        await _stop(heartbeat, beating)
        await _end(db, run_id, ImportState.FAILED, "unreadable",
                   [Problem(None, error.message, True)])
        raise
    except (asyncio.CancelledError, KeyboardInterrupt):
        await _stop(heartbeat, beating)
        await _end(db, run_id, ImportState.INTERRUPTED, None)
        raise
    except Exception as error:
        await _stop(heartbeat, beating)
        # The kind of error only: its text may quote a value of the file.
        log.error("import run %d failed: %s", run_id, type(error).__name__)
        await _end(db, run_id, ImportState.FAILED, type(error).__name__[:100])
        raise
    await _stop(heartbeat, beating)
    return report


async def _stop(heartbeat: _Heartbeat, beating: asyncio.Task[None] | None) -> None:
    heartbeat.stop.set()
    if beating is not None:
        await asyncio.gather(beating, return_exceptions=True)


__all__ = ["HEARTBEAT_SECONDS", "IMPORTERS", "STALE_AFTER", "ImportStatus", "import_status",
           "recent_imports", "run_import_file", "start_import"]
