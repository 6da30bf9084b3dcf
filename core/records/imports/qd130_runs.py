"""The files a QĐ 130 import takes in, cut into pieces, and their import runs.

A file's run is written with its first piece and finished with its last one, in
the same transactions as their visits: a small file costs no transaction of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import bindparam, literal_column, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import Bulk, BulkReturningIds
from core.i18n import now_utc
from core.records.imports.outcome import COUNTS, finished_outcome
from core.records.imports.qd130_format import HosoRecord
from core.records.imports.report import ImportReport
from core.records.operations import ImportKind, ImportRun, ImportState

_RUNS = ImportRun.__table__


@dataclass
class Intake:
    """One file being taken in (or the seed's visits): its report and its import run."""

    file_name: str
    report: ImportReport
    sha256: str | None = None
    run_id: int | None = None  # None until the run is stored
    owns_run: bool = True  # False: the caller's run (the seed's), recorded by the caller
    started_at: dt.datetime = field(default_factory=now_utc)
    finished_at: dt.datetime | None = None  # set once its last piece is written


@dataclass
class Piece:
    """Up to one chunk of a file's HOSOs, in file order."""

    intake: Intake
    records: list[HosoRecord]
    last: bool  # the file ends here: its run is finished in the same transaction

    @property
    def opens_run(self) -> bool:
        return self.intake.owns_run and self.intake.run_id is None


# What a run's row says of its file, running or finished (`outcome.finished_outcome`).
_OUTCOME = (*COUNTS, "state", "problem_count", "problems")
_INSERT_RUNS = BulkReturningIds(_RUNS, ("kind", "file_name", "sha256", "started_at", "finished_at",
                                        "updated_at", "dry_run", "bytes_done", *_OUTCOME))
_FINISH_RUNS = Bulk(
    update(_RUNS).where(_RUNS.c.id == bindparam("run_id"))
    .values(finished_at=bindparam("finished_at"), updated_at=bindparam("finished_at"),
            **{n: bindparam(n) for n in _OUTCOME}),
    {"run_id": _RUNS.c.id.type, "finished_at": _RUNS.c.finished_at.type,
     **{n: _RUNS.c[n].type for n in _OUTCOME}},
)
# A file's run between its first and last pieces: a heartbeat with each chunk, so the run
# of a long file never reads as interrupted while it is being written.
_BEAT_RUNS = Bulk(
    update(_RUNS).where(_RUNS.c.id == bindparam("run_id"),
                        _RUNS.c.state == literal_column(f"'{ImportState.RUNNING.value}'"))
    .values(updated_at=bindparam("updated_at"), read=bindparam("read"),
            problem_count=bindparam("problem_count")),
    {"run_id": _RUNS.c.id.type, "updated_at": _RUNS.c.updated_at.type,
     "read": _RUNS.c.read.type, "problem_count": _RUNS.c.problem_count.type},
)
_RUNNING = {**dict.fromkeys(COUNTS, 0), "state": ImportState.RUNNING, "problem_count": 0,
            "problems": None}


async def open_runs(connection: AsyncConnection, pieces: list[Piece], reports: list[ImportReport],
                    now: dt.datetime) -> list[int]:
    """The runs of files whose first piece this is; a file that also ends here is recorded
    finished, with its counts, in the same row. Returns the ids in the pieces' order."""
    rows = [{"kind": ImportKind.QD130_XML, "file_name": p.intake.file_name[:255],
             "sha256": p.intake.sha256, "started_at": p.intake.started_at,
             "finished_at": now if p.last else None, "updated_at": now, "dry_run": False,
             "bytes_done": 0,
             **(finished_outcome(p.intake.report, report) if p.last else _RUNNING)}
            for p, report in zip(pieces, reports, strict=True)]
    return await _INSERT_RUNS.ids(connection, rows)


async def finish_runs(connection: AsyncConnection, pieces: list[Piece],
                      reports: list[ImportReport], now: dt.datetime) -> None:
    """Runs recorded by an earlier transaction, finished with the file's counts."""
    await _FINISH_RUNS.run(connection, [
        {"run_id": p.intake.run_id, "finished_at": now,
         **finished_outcome(p.intake.report, report)}
        for p, report in zip(pieces, reports, strict=True)])


async def beat_runs(connection: AsyncConnection, pieces: list[Piece],
                    reports: list[ImportReport], now: dt.datetime) -> None:
    """Runs still open after this chunk: how far their files are, and a heartbeat."""
    await _BEAT_RUNS.run(connection, [
        {"run_id": p.intake.run_id, "updated_at": now,
         "read": p.intake.report.read + report.read,
         "problem_count": len(p.intake.report.problems) + len(report.problems)}
        for p, report in zip(pieces, reports, strict=True)])


__all__ = ["Intake", "Piece", "beat_runs", "finish_runs", "open_runs"]
