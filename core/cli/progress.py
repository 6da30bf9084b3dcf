"""An import's progress on the operator's terminal: one line on stderr, rewritten in place.

Only when stderr is a terminal: a command whose output goes to a file, a pipe or a
scheduler's log prints its report and nothing else (no carriage returns in a log).
"""

from __future__ import annotations

import sys
from typing import TextIO

from core.i18n import N_, Translator
from core.records.imports.progress import ImportProgress, ProgressSink


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


class TerminalProgress:
    """A `ProgressSink` that keeps one line up to date: rows, rate, time left, problems."""

    def __init__(self, stream: TextIO, t: Translator) -> None:
        self.stream = stream
        self.t = t
        self.width = 0  # of the line shown, to blank what a shorter one leaves

    def line(self, progress: ImportProgress) -> str:
        t = self.t
        parts = [t.text(N_("rows: {rows}"), rows=t.number(progress.rows_done))]
        if progress.fraction is not None:
            parts.append(f"{progress.fraction:.0%}")
        if progress.rate is not None:
            parts.append(t.text(N_("{rate} rows/s"), rate=t.number(round(progress.rate))))
        if progress.seconds_left is not None and not progress.finished:
            parts.append(t.text(N_("{time} left"), time=_duration(progress.seconds_left)))
        parts.append(t.text(N_("problems: {n}"), n=t.number(progress.problems)))
        return ", ".join(parts)

    def __call__(self, progress: ImportProgress) -> None:
        text = self.line(progress)
        pad = max(0, self.width - len(text))
        self.width = len(text)
        self.stream.write("\r" + text + " " * pad)
        if progress.finished:
            self.stream.write("\n")
            self.width = 0
        self.stream.flush()


def terminal_progress(t: Translator, stream: TextIO | None = None) -> ProgressSink | None:
    """The progress line for `stream` (stderr), or None when it is not a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        on_terminal = stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        on_terminal = False
    return TerminalProgress(stream, t) if on_terminal else None


__all__ = ["TerminalProgress", "terminal_progress"]
