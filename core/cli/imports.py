"""`import-roster`, `import-immunizations`, `import-facilities`."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from pathlib import Path

from core.cli import Context
from core.db import Database
from core.records.imports.facilities import import_facilities
from core.records.imports.immunizations import import_immunizations
from core.records.imports.report import FileUnreadable, ImportReport
from core.records.imports.roster import import_roster
from core.reporting import figures

Importer = Callable[[Database, Path], Awaitable[ImportReport]]
# Each file's report, or why it could not be read, in the order given.
Outcomes = AsyncIterator[tuple[Path, ImportReport | FileUnreadable]]
BatchImporter = Callable[[Database, list[Path]], Outcomes]

# Exit codes: 0 the file was read (bad rows are reported, not fatal); 2 the file
# itself could not be read.
FILE_UNREADABLE = 2


async def run_import(importer: Importer, paths: list[Path], context: Context) -> int:
    async def one_by_one(db: Database, paths: list[Path]) -> Outcomes:
        for path in paths:
            try:
                yield path, await importer(db, path)
            except FileUnreadable as error:
                yield path, error

    return await run_imports(one_by_one, paths, context)


async def run_imports(importer: BatchImporter, paths: list[Path], context: Context) -> int:
    """Runs an importer that takes all the files at once and hands back each one's outcome."""
    db = await context.open_database()
    status = 0
    try:
        async with aclosing(importer(db, paths)) as outcomes:
            async for path, outcome in outcomes:
                if isinstance(outcome, FileUnreadable):
                    context.error(f"{path.name}: {outcome.message.render(context.t)}")
                    status = FILE_UNREADABLE
                    continue
                for line in outcome.render(context.t):
                    context.say(line)
        await figures.refresh(db)  # the dashboards show what was imported, not what was there
    finally:
        await db.dispose()
    return status


def _command(commands: argparse._SubParsersAction, name: str, help_text: str,
             importer: Importer) -> None:
    parser = commands.add_parser(name, help=help_text)
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")

    async def handler(args: argparse.Namespace, context: Context) -> int:
        return await run_import(importer, args.files, context)

    parser.set_defaults(handler=handler)


def register(commands: argparse._SubParsersAction) -> None:
    _command(commands, "import-roster",
             "import the population and social-insurance roster (CSV)", import_roster)
    _command(commands, "import-immunizations",
             "import doses from the immunization registry (CSV)", import_immunizations)
    _command(commands, "import-facilities",
             "import the registry of health facilities (CSV)", import_facilities)
