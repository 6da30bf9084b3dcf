"""`import-roster`, `import-immunizations`, `import-facilities`.

Each file is a run the console can watch (`tracking.start_import` and `run_import_file`),
with a progress line on a terminal; `--dry-run` checks and reports without writing to the
record, and `--report FILE.json` keeps the report as JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any

from core.after_import import after_import
from core.cli import Context
from core.cli.progress import terminal_progress
from core.db import Database
from core.i18n import N_
from core.records.imports.dry_run import rolled_back
from core.records.imports.outcome import report_document
from core.records.imports.progress import ProgressSink
from core.records.imports.report import FileUnreadable, ImportReport
from core.records.imports.tracking import run_import_file, start_import
from core.records.operations import ImportKind

# Each file's report, or why it could not be read, in the order given.
Outcomes = AsyncIterator[tuple[Path, ImportReport | FileUnreadable]]
# Takes all the files at once (and a progress sink) and hands back each one's outcome.
BatchImporter = Callable[[Database, list[Path], ProgressSink | None], Outcomes]

# Exit codes: 0 the file was read (bad rows are reported, not fatal); 2 the file
# itself could not be read.
FILE_UNREADABLE = 2

_DRY_RUN = N_("Dry run: what the import would do. Nothing was written to the record.")


class Reporting:
    """What the command says of each file, on the terminal and in `--report`."""

    def __init__(self, context: Context, kind: ImportKind, dry_run: bool,
                 report_path: Path | None) -> None:
        self.context = context
        self.kind = kind
        self.dry_run = dry_run
        self.report_path = report_path
        self.documents: list[dict[str, Any]] = []
        self.status = 0
        if dry_run:
            context.say(context.t.text(_DRY_RUN))

    def outcome(self, path: Path, outcome: ImportReport | FileUnreadable,
                run_id: int | None = None) -> None:
        t = self.context.t
        if isinstance(outcome, FileUnreadable):
            reason = outcome.message.render(t)
            self.context.error(f"{path.name}: {reason}")
            self.documents.append({"file": path.name, "kind": self.kind.value,
                                   "dry_run": self.dry_run, "run_id": run_id,
                                   "unreadable": {"reason": reason,
                                                  "message_id": outcome.message.msgid}})
            self.status = FILE_UNREADABLE
            return
        for line in outcome.render(t):
            self.context.say(line)
        self.documents.append(report_document(outcome, t, kind=self.kind.value,
                                              dry_run=self.dry_run, run_id=run_id))

    def write(self) -> None:
        if self.report_path is None:
            return
        document = {"dry_run": self.dry_run, "files": self.documents}
        self.report_path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n",
                                    encoding="utf-8")


async def run_tracked(kind: ImportKind, paths: list[Path], context: Context, *,
                      dry_run: bool = False, report_path: Path | None = None) -> int:
    """Imports the files one by one, each a run the console can watch."""
    db = await context.open_database()
    reporting = Reporting(context, kind, dry_run, report_path)
    progress = terminal_progress(context.t)
    try:
        for path in paths:
            run_id = await start_import(db, kind, path, dry_run=dry_run)
            try:
                outcome: ImportReport | FileUnreadable = await run_import_file(
                    db, run_id, path, progress=progress)
            except FileUnreadable as error:
                outcome = error
            reporting.outcome(path, outcome, run_id)
        if not dry_run:
            await after_import(db)
    finally:
        await db.dispose()
    reporting.write()
    return reporting.status


async def run_imports(importer: BatchImporter, kind: ImportKind, paths: list[Path],
                      context: Context, *, dry_run: bool = False,
                      report_path: Path | None = None) -> int:
    """Runs an importer that takes all the files at once (each file still its own run);
    a dry run rolls all of it back (`dry_run.rolled_back`), its runs too."""
    db = await context.open_database()
    reporting = Reporting(context, kind, dry_run, report_path)
    progress = terminal_progress(context.t)

    async def report_each(target: Database) -> None:
        async with aclosing(importer(target, paths, progress)) as outcomes:
            async for path, outcome in outcomes:
                reporting.outcome(path, outcome)

    try:
        if dry_run:
            async with rolled_back(db) as scratch:
                await report_each(scratch)
        else:
            await report_each(db)
            await after_import(db)
    finally:
        await db.dispose()
    reporting.write()
    return reporting.status


def add_dry_run_and_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="check the files and report what would be done; write nothing to "
                             "the record")
    parser.add_argument("--report", type=Path, metavar="FILE.json",
                        help="also write the report as JSON (counts, each problem's line and "
                             "reason; never a value of the file)")


def _command(commands: argparse._SubParsersAction, name: str, help_text: str,
             kind: ImportKind) -> None:
    parser = commands.add_parser(name, help=help_text)
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    add_dry_run_and_report(parser)

    async def handler(args: argparse.Namespace, context: Context) -> int:
        return await run_tracked(kind, args.files, context, dry_run=args.dry_run,
                                 report_path=args.report)

    parser.set_defaults(handler=handler)


def register(commands: argparse._SubParsersAction) -> None:
    _command(commands, "import-roster",
             "import the population and social-insurance roster (CSV)", ImportKind.ROSTER)
    _command(commands, "import-immunizations",
             "import doses from the immunization registry (CSV)", ImportKind.IMMUNIZATIONS)
    _command(commands, "import-facilities",
             "import the registry of health facilities (CSV)", ImportKind.FACILITIES)
