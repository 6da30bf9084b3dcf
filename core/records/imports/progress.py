"""How far an import has got: rows done, bytes read of the file's size, rate, time left and
problems so far, for whoever watches it (a terminal line, the run's row in the database).

Every importer takes an optional `ProgressSink` (any callable taking an `ImportProgress`). The
importer calls `ProgressTracker.tick` every few hundred rows; the tracker reads the clock then
and hands the sink a snapshot at most `interval` seconds apart, so watching costs nothing a
row can measure. A sink must be quick and must not touch the database itself (the import is
between two statements when it is called): `run_import_file` keeps the latest snapshot and a
task of its own writes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from core.records.imports.report import ImportReport

# Rows between two looks at the clock: a row costs microseconds, a look less than one.
TICK_ROWS = 256


@dataclass(frozen=True)
class ImportProgress:
    """One snapshot of a running import."""

    rows_done: int
    bytes_done: int
    bytes_total: int | None
    problems: int  # rejected rows and notes so far
    elapsed: float  # seconds since the import began
    finished: bool = False  # the last snapshot: the whole file was read

    @property
    def rate(self) -> float | None:
        """Rows a second so far; None until there is a second's worth to say it."""
        if self.elapsed < 0.5 or not self.rows_done:
            return None
        return self.rows_done / self.elapsed

    @property
    def fraction(self) -> float | None:
        if not self.bytes_total:
            return None
        return min(1.0, self.bytes_done / self.bytes_total)

    @property
    def seconds_left(self) -> float | None:
        """The time the rest of the file takes at the pace so far (by bytes: rows vary)."""
        return seconds_left(self.elapsed, self.bytes_done, self.bytes_total)


def seconds_left(elapsed: float, bytes_done: int, bytes_total: int | None) -> float | None:
    if not bytes_total or bytes_done <= 0 or elapsed < 0.5:
        return None
    return max(0.0, elapsed * (bytes_total - bytes_done) / bytes_done)


ProgressSink = Callable[[ImportProgress], None]


class ProgressTracker:
    """Counts for one import and hands snapshots to a sink, a few a second at most."""

    def __init__(self, sink: ProgressSink | None, *, bytes_total: int | None,
                 interval: float = 0.25) -> None:
        self.sink = sink
        self.bytes_total = bytes_total
        self.interval = interval
        self.reports: list[ImportReport] = []  # whose problems count (a QĐ 130 file each)
        self.started = time.monotonic()
        self._next = self.started  # the first tick reports at once
        self.rows_done = 0
        self.bytes_done = 0

    def watch(self, report: ImportReport) -> None:
        self.reports.append(report)

    def tick(self, rows_done: int, bytes_done: int) -> None:
        """Where the import is; cheap unless a snapshot is due."""
        self.rows_done, self.bytes_done = rows_done, bytes_done
        if self.sink is None:
            return
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.interval
            self.sink(self.snapshot(now))

    def finish(self, rows_done: int) -> None:
        """The last snapshot, whenever the one before was: the file is read to its end."""
        self.rows_done = rows_done
        if self.bytes_total is not None:
            self.bytes_done = self.bytes_total
        if self.sink is not None:
            self.sink(self.snapshot(time.monotonic(), finished=True))

    def snapshot(self, now: float | None = None, *, finished: bool = False) -> ImportProgress:
        now = time.monotonic() if now is None else now
        return ImportProgress(self.rows_done, self.bytes_done, self.bytes_total,
                              sum(len(r.problems) for r in self.reports), now - self.started,
                              finished)


def tracker(sink: ProgressSink | None, report: ImportReport,
            bytes_total: int | None) -> ProgressTracker | None:
    """A tracker watching `report`, or None when nobody watches (nothing to count)."""
    if sink is None:
        return None
    found = ProgressTracker(sink, bytes_total=bytes_total)
    found.watch(report)
    return found


__all__ = ["TICK_ROWS", "ImportProgress", "ProgressSink", "ProgressTracker", "seconds_left",
           "tracker"]
