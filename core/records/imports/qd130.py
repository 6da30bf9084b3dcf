"""`import-xml`: clinics' QĐ 130/QĐ-BYT checkout files into the record.

Each file is first surveyed whole by `qd130_format` (checked, counted, hashed), then read
again HOSO by HOSO: a file that cannot be read has nothing of it written, and memory does
not grow with the file.
What one visit does to the record is in `qd130_apply`. Here, files are read in
turn and their HOSOs written in chunks of up to `CHUNK`, one transaction each;
a chunk holds whole pieces of files (a large file is cut every `CHUNK` HOSOs)
so that many small files share a transaction, and each file keeps its own
import run and report. (Reading the next chunk while one is written gained
nothing measurable: both need the GIL, and each database round trip then
waits for the parser to let go of it.)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import aclosing
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from core.db import Database
from core.i18n import N_, Message, now_utc
from core.records.imports.progress import ProgressSink, ProgressTracker
from core.records.imports.qd130_apply import apply_pieces, content_hash
from core.records.imports.qd130_format import HosoRecord, Qd130File, Qd130Limits, read_qd130_file
from core.records.imports.qd130_runs import Intake, Piece, finish_runs, open_runs
from core.records.imports.report import FileUnreadable, ImportReport
from core.records.imports.runs import log_finished_run
from core.records.operations import ImportKind
from core.records.submission import VisitSubmission

CHUNK = 500

log = logging.getLogger(__name__)

_REFUSED = Message(N_(
    "The database refused this record; nothing of it was saved. Import the file again later."))


# --- Chunks, written safely -------------------------------------------------------

async def _apply_safely(db: Database, pieces: list[Piece]) -> None:
    """A chunk in one transaction; if the database refuses it, record by record, so one
    unexpected failure rejects one record and nothing of it is written."""
    try:
        reports = await apply_pieces(db, pieces)
    except DBAPIError as error:
        piece = pieces[0]
        if len(pieces) == 1 and len(piece.records) == 1 and not piece.opens_run \
                and not piece.last:  # one record alone, and nothing else: refused
            record, intake = piece.records[0], piece.intake
            # The error text may quote the record's values: only its type reaches the log.
            log.error("QĐ 130 %s HOSO %s not saved: %s", intake.file_name, record.index,
                      type(error.orig).__name__)
            intake.report.read += 1
            intake.report.reject(None, _REFUSED, record.place(intake.file_name))
            return
        await _one_by_one(db, pieces)
        return
    for piece, report in zip(pieces, reports, strict=True):
        piece.intake.report.add(report)


async def _one_by_one(db: Database, pieces: list[Piece]) -> None:
    """A refused chunk again: each file's run in a transaction of its own, then each record."""
    for piece in pieces:
        intake = piece.intake
        if piece.opens_run:
            async with db.connection() as connection:
                [run_id] = await open_runs(connection, [Piece(intake, [], last=False)],
                                           [ImportReport(intake.file_name)], now_utc())
            intake.run_id = run_id
        for record in piece.records:
            await _apply_safely(db, [Piece(intake, [record], last=False)])
        if piece.last:
            now = now_utc()
            if intake.owns_run:
                async with db.connection() as connection:
                    await finish_runs(connection, [piece], [ImportReport(intake.file_name)], now)
            intake.finished_at = now


class _Chunks:
    """Collects pieces into chunks of whole pieces, at most CHUNK HOSOs, and writes each."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pieces: list[Piece] = []
        self.size = 0

    async def put(self, piece: Piece) -> None:
        if self.size + len(piece.records) > CHUNK:
            await self.flush()
        self.pieces.append(piece)
        self.size += len(piece.records)
        if self.size >= CHUNK:
            await self.flush()

    async def flush(self) -> None:
        if self.pieces:
            pieces, self.pieces, self.size = self.pieces, [], 0
            await _apply_safely(self.db, pieces)


def _pieces(intake: Intake, records: Iterable[HosoRecord]) -> Iterator[Piece]:
    """A file's records cut every CHUNK, as its own chunks would be; the last piece may be empty."""
    piece: list[HosoRecord] = []
    for record in records:
        piece.append(record)
        if len(piece) == CHUNK:
            yield Piece(intake, piece, last=False)
            piece = []
    yield Piece(intake, piece, last=True)


# --- Files --------------------------------------------------------------------

def _records(envelope: Qd130File, intake: Intake, watch: ProgressTracker | None,
             before: tuple[int, int]) -> Iterator[HosoRecord]:
    """The file's records; if the second reading fails part way, the report says so before
    the file's last piece (and its run's counts) is written. `before`: the HOSOs and bytes
    of the files read before it, for `watch`."""
    if watch is None:
        yield from envelope.records()
    else:
        rows, done = before
        for record in envelope.records():
            watch.tick(rows + record.index, done + envelope.bytes_read)
            yield record
    if envelope.interrupted is not None:
        intake.report.reject(None, envelope.interrupted)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # reported as unreadable when its turn comes
        return 0


def _log_file(intake: Intake) -> None:
    report = intake.report
    assert intake.run_id is not None and intake.finished_at is not None
    log_finished_run(intake.run_id, ImportKind.QD130_XML, intake.file_name,
                     (intake.finished_at - intake.started_at).total_seconds(), report)
    log.info("QĐ 130 %s: read %d, created %d, updated %d, unchanged %d, rejected %d, "
             "quarantined %d", intake.file_name, report.read, report.created, report.updated,
             report.unchanged, report.rejected, report.quarantined)


async def _import(db: Database, paths: Iterable[Path], stop_at_unreadable: bool,
                  limits: Qd130Limits | None, progress: ProgressSink | None = None,
                  run_id: int | None = None,
                  ) -> AsyncIterator[tuple[Path, ImportReport | FileUnreadable]]:
    """Each file's report, or why it cannot be read, in the order given, once written.
    `progress` is told the HOSOs and bytes read of all the files; `run_id` (one file only) is
    the run `start_import` recorded."""
    paths = list(paths)
    if run_id is not None and len(paths) != 1:
        raise ValueError("a recorded run is one file's")
    watch = None
    if progress is not None:
        watch = ProgressTracker(progress, bytes_total=sum(_size(p) for p in paths))
    rows = done = 0  # HOSOs and bytes of the files read so far
    chunks = _Chunks(db)
    waiting: list[tuple[Path, Intake | FileUnreadable]] = []  # in order, not yet handed out

    def ready() -> Iterator[tuple[Path, ImportReport | FileUnreadable]]:
        while waiting and (isinstance(waiting[0][1], FileUnreadable)
                           or waiting[0][1].finished_at is not None):
            path, outcome = waiting.pop(0)
            if isinstance(outcome, Intake):
                _log_file(outcome)
                yield path, outcome.report
            else:
                yield path, outcome

    limits = limits or Qd130Limits.from_env()
    for path in paths:
        try:
            envelope = read_qd130_file(path, limits)  # the whole file checked: nothing written
        except FileUnreadable as error:
            waiting.append((path, error))
            if stop_at_unreadable:  # nothing after it is imported
                break
            continue
        intake = Intake(path.name, ImportReport(path.name), envelope.sha256, run_id=run_id)
        for warning in envelope.warnings:
            intake.report.warn(None, warning)
        if watch is not None:
            watch.watch(intake.report)
        waiting.append((path, intake))
        for piece in _pieces(intake, _records(envelope, intake, watch, (rows, done))):
            await chunks.put(piece)
        rows += min(envelope.record_count, envelope.limits.max_records)
        done += _size(path)
        for outcome in ready():
            yield outcome
    await chunks.flush()
    if watch is not None:
        watch.finish(rows)
    for outcome in ready():
        yield outcome


# --- Entry points -------------------------------------------------------------

def import_qd130_each(db: Database, paths: Iterable[Path], limits: Qd130Limits | None = None,
                      *, progress: ProgressSink | None = None,
                      ) -> AsyncIterator[tuple[Path, ImportReport | FileUnreadable]]:
    """Imports several files; yields each one's report, or why it cannot be read (and then
    nothing of it was recorded), in the order given. The files are written in shared chunks.
    `limits` default to the environment's (`Qd130Limits.from_env`); `progress` is told how
    far the files are read."""
    return _import(db, paths, stop_at_unreadable=False, limits=limits, progress=progress)


async def _import_all(db: Database, paths: list[Path], limits: Qd130Limits | None,
                      progress: ProgressSink | None = None,
                      run_id: int | None = None) -> list[ImportReport]:
    """The files' reports; a file that cannot be read raises `FileUnreadable` once the files
    before it are imported, and nothing after it is."""
    reports = []
    async with aclosing(_import(db, paths, stop_at_unreadable=True, limits=limits,
                                progress=progress, run_id=run_id)) as outcomes:
        async for _, outcome in outcomes:
            if isinstance(outcome, FileUnreadable):
                raise outcome
            reports.append(outcome)
    return reports


async def import_qd130_file(db: Database, path: Path, limits: Qd130Limits | None = None, *,
                            progress: ProgressSink | None = None,
                            run_id: int | None = None) -> ImportReport:
    """Imports one checkout file; raises `FileUnreadable` when it is not a QĐ 130 file.
    `progress` is told how far it is read; `run_id` is the run `start_import` recorded."""
    [report] = await _import_all(db, [path], limits, progress, run_id)
    return report


async def import_qd130_files(db: Database, paths: Iterable[Path],
                             limits: Qd130Limits | None = None) -> ImportReport:
    """Imports several files, one run each; the report adds them up."""
    paths = list(paths)
    total = ImportReport(paths[0].name if len(paths) == 1 else f"{len(paths)} files")
    for report in await _import_all(db, paths, limits):
        total.add(report)
    return total


async def apply_submissions(db: Database, submissions: list[VisitSubmission], file_name: str,
                            report: ImportReport, run_id: int | None) -> None:
    """Takes in visits already parsed (or generated by the seed), as an XML import would;
    the caller records the run."""
    intake = Intake(file_name, report, run_id=run_id, owns_run=False)
    records = (HosoRecord(index, None, s.facility_code, s.visit_key, s)
               for index, s in enumerate(submissions, start=1))
    chunks = _Chunks(db)
    for piece in _pieces(intake, records):
        await chunks.put(piece)
    await chunks.flush()


__all__ = [
    "apply_submissions",
    "content_hash",
    "import_qd130_each",
    "import_qd130_file",
    "import_qd130_files",
]
