"""The steps every CSV importer shares: valid rows in, chunks written safely.

Rows are validated one by one and a bad row is reported with its line without
stopping the rest; the report says why, never the rejected value (an operator
reads and keeps it: `InvalidValue.report_message`). A chunk is applied in one
transaction for speed; if the database refuses it, its rows are applied one by
one, so one unexpected failure rejects one row (reported with its line) and the
rest of the file still goes in.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError

from core.db import Database
from core.i18n import N_, Message
from core.records.imports.csvfile import CsvFile, iter_rows, open_csv
from core.records.imports.progress import ProgressSink, ProgressTracker, tracker
from core.records.imports.report import ImportReport
from core.records.imports.runs import finish_run, start_run
from core.records.operations import ImportKind
from core.records.provenance import Source
from core.validation import InvalidValue

log = logging.getLogger(__name__)


class Lined(Protocol):
    """An entry that knows the line of the file it came from (None when generated)."""

    @property
    def line(self) -> int | None: ...


E = TypeVar("E", bound=Lined)

# Writes one chunk in one transaction, counting into the report it is given.
ChunkWriter = Callable[[list[E], ImportReport], Awaitable[None]]


# --- Reading ------------------------------------------------------------------

def optional_value(values: dict[str, str], column: str, validator: Callable[[str], Any],
                   warnings: list[Message]) -> Any:
    """An optional column: empty is None; a bad value is left out with a warning that
    names the column and the reason, not the value."""
    text = values.get(column, "")
    if not text:
        return None
    try:
        return validator(text)
    except InvalidValue as error:
        warnings.append(left_out(column, error))
        return None


def left_out(column: str, error: InvalidValue) -> Message:
    """The note for an optional value left out: the column and the reason, not the value."""
    return Message(N_("{column} left empty: {reason}"),
                   {"column": column, "reason": error.report_message})


class Parsed(Lined, Protocol):
    @property
    def warnings(self) -> list[Message]: ...


P = TypeVar("P", bound=Parsed)


def parse_entries(source: CsvFile, report: ImportReport,
                  parse: Callable[[dict[str, str], int], P]) -> Iterator[P]:
    """Entries of a file whose values pass; bad rows go to the report with their line.
    An entry's warnings are the caller's to report (once it is sure to take the row)."""
    for row in iter_rows(source):
        report.read += 1
        if row.problem is not None:
            report.reject(row.line, row.problem)
            continue
        try:
            entry = parse(row.values, row.line)
        except InvalidValue as error:
            report.reject(row.line, error.report_message)
            continue
        yield entry


def read_entries(source: CsvFile, report: ImportReport,
                 parse: Callable[[dict[str, str], int], P], key: Callable[[P], Hashable],
                 duplicate: str) -> Iterator[P]:
    """Valid entries of a file; bad rows and repeats of an earlier row's `key` go to the
    report with their line (`duplicate` is a catalogue string naming `{line}`). Keeps every
    key seen: for files of bounded size (the roster checks its repeats in the database)."""
    seen: dict[Hashable, int] = {}
    for entry in parse_entries(source, report, parse):
        if key(entry) in seen:
            report.reject(entry.line, Message(duplicate, {"line": seen[key(entry)]}))
            continue
        seen[key(entry)] = entry.line
        for warning in entry.warnings:
            report.warn(entry.line, warning)
        yield entry


# --- Writing ------------------------------------------------------------------


def chunked(entries: Iterable[E], size: int) -> Iterator[list[E]]:
    chunk: list[E] = []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def apply_safely(write: ChunkWriter[E], chunk: list[E], report: ImportReport,
                       what: str) -> None:
    """A chunk in one transaction; if the database refuses it, row by row, so one
    unexpected failure rejects one row and nothing of it is written."""
    attempt = ImportReport(report.file_name)
    try:
        await write(chunk, attempt)
    except DBAPIError as error:
        if len(chunk) == 1:
            # The error text may quote the row's values: only its type reaches the log.
            log.error("%s line %s not saved: %s", what, chunk[0].line, type(error.orig).__name__)
            report.reject(chunk[0].line, Message(N_(
                "The database refused this row; nothing of it was saved. "
                "Import the file again later.")))
            return
        for entry in chunk:
            await apply_safely(write, [entry], report, what)
        return
    report.add(attempt)


async def write_in_chunks(write: ChunkWriter[E], entries: Iterable[E], report: ImportReport,
                          what: str, size: int = 2000) -> None:
    """Writes chunk by chunk; one chunk is written while the next is read and checked.

    The database works in its own thread (aiosqlite, asyncpg's socket) without the
    GIL, so reading and writing overlap. Chunks are written one at a time, in order.
    """
    pending: asyncio.Task[None] | None = None
    chunk: list[E] = []
    for count, entry in enumerate(entries, start=1):
        chunk.append(entry)
        if count % 50 == 0:
            await asyncio.sleep(0)  # let the chunk being written take its next step
        if len(chunk) >= size:
            if pending is not None:
                await pending
            pending = asyncio.create_task(apply_safely(write, chunk, report, what))
            chunk = []
    if pending is not None:
        await pending
    if chunk:
        await apply_safely(write, chunk, report, what)


@contextmanager
def few_collections() -> Iterator[None]:
    """Python's cycle collector run rarely while a file is imported, as it was after.

    An import allocates a few objects per value and frees them a chunk later; at the default
    threshold the collector ran 2,100 times in a 100,000-row roster and took 13% of its CPU,
    walking objects that live throughout (modules, caches), which `gc.freeze` sets aside.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


# --- A whole file ---------------------------------------------------------------

async def import_from_one_source(
    db: Database, path: Path, required: Iterable[str], kind: ImportKind, source: Source,
    read: Callable[[CsvFile, ImportReport], Iterable[P]],
    write: Callable[[Database, Iterable[P], int, ImportReport], Awaitable[None]], *,
    progress: ProgressSink | None = None, run_id: int | None = None,
) -> ImportReport:
    """Imports a file whose every value comes from `source`, recording the run (`run_id`: the
    one `start_import` recorded); raises `FileUnreadable` (before anything is recorded) when
    the file itself is unusable. `progress` is told how far the reading is."""
    csv_file, report, watch = open_watched(path, tuple(required), progress)
    run_id, provenance = await start_run(db, kind, path.name, csv_file.sha256, (source,),
                                         run_id=run_id)
    await write(db, read(csv_file, report), provenance[source], report)
    if watch is not None:
        watch.finish(report.read)
    await finish_run(db, run_id, report)
    return report


def open_watched(path: Path, required: tuple[str, ...], progress: ProgressSink | None,
                 ) -> tuple[CsvFile, ImportReport, ProgressTracker | None]:
    """The checked file, its empty report, and the tracker that watches both (if anyone
    watches)."""
    csv_file = open_csv(path, required)
    report = ImportReport(path.name)
    watch = tracker(progress, report, path.stat().st_size)
    return replace(csv_file, progress=watch), report, watch


__all__ = [
    "ChunkWriter", "Lined", "Parsed", "apply_safely", "chunked", "few_collections",
    "import_from_one_source", "left_out", "open_watched",
    "optional_value", "parse_entries", "read_entries", "write_in_chunks",
]
