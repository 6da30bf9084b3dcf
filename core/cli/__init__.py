"""The operator's command line: `python -m core <command>`.

Each command module has `register(subparsers)`; a command's handler is an async
function taking `(args, context)` and returning the exit code. Output is for
operators: in Vietnamese by default (`EHR_LANG=en` for English), and it never
prints a full personal ID or phone number except where showing a record is the
command's purpose (`book`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from core import validation
from core.config import ConfigurationError, Settings
from core.db import Database
from core.i18n import N_, Translator, translator
from core.identity.keys import allow_local_key, current_keys
from core.marks import is_demo
from core.migrate import current_revision, head_revision
from core.privacy import configure_logging, mask_personal_id
from core.records.people import Person
from core.volunteering.residents import short_name

COMMAND_MODULES = (
    "core.cli.admin",
    "core.cli.imports",
    "core.cli.qd130",
    "core.cli.records",
    "core.cli.staff",
    "core.cli.audit",
    "core.cli.corrections",
    "core.cli.pending",
    "core.cli.changes",
    "core.cli.identity",
    "core.cli.families",
    "core.cli.desk",
    "core.cli.reporting",
)


@dataclass
class Context:
    settings: Settings
    t: Translator

    def database(self) -> Database:
        """The database without any check (for `migrate`)."""
        return Database(self.settings.database_url)

    async def open_database(self) -> Database:
        """The database, checked to be at the latest schema revision."""
        db = self.database()
        try:
            current = await current_revision(db)
        except Exception:
            await db.dispose()
            raise
        if current != head_revision():
            await db.dispose()
            raise CommandError(self.t.text(N_(
                "The database schema is not up to date. Run: python -m core migrate")))
        if await is_demo(db):  # synthetic people only: the checkout's local key will do
            allow_local_key()
        return db

    def require_secret_key(self) -> None:
        """For commands that key what they store (staff invites): refused, in one line, without
        EHR_SECRET_KEY unless the database opened is the demo one."""
        current_keys()

    def ward(self, text: str | None) -> str | None:
        """An optional `--ward CODE`, validated; a bad code is the operator's to fix (exit 2)."""
        if not text:
            return None
        try:
            return validation.ward_code(text)
        except validation.InvalidValue as error:
            raise CommandError(error.message.render(self.t)) from None

    def say(self, text: str = "") -> None:
        print(text, flush=True)

    def error(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


def resident(person: Person | None) -> str:
    """A resident in a station's list: the short name and the masked ID, never the full ID nor
    an internal row number (Decree 13/2023/NĐ-CP: no more personal data than the work needs)."""
    if person is None:
        return "—"
    return f"{short_name(person.full_name)} ({mask_personal_id(person.personal_id)})"


class CommandError(Exception):
    """A problem the operator can fix, said in one sentence; exit code 2."""


Handler = Callable[[argparse.Namespace, Context], Awaitable[int]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Hanoi electronic health record: the record service.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings.from_env()
    configure_logging(settings.log_level if settings.log_level != "INFO" else "WARNING")
    args = build_parser().parse_args(argv)
    context = Context(settings, translator(settings.locale))
    handler: Handler = args.handler
    try:
        return asyncio.run(handler(args, context))
    except CommandError as error:
        context.error(str(error))
        return 2
    except ConfigurationError as error:
        context.error(error.render(context.t))
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` or a pager that closed
        sys.stderr.close()
        return 0
