"""`migrate`: bring the database schema up to date."""

from __future__ import annotations

import argparse

from core.cli import Context
from core.i18n import N_
from core.migrate import current_revision, upgrade


async def migrate(args: argparse.Namespace, context: Context) -> int:
    db = context.database()
    try:
        await upgrade(db)
        revision = await current_revision(db)
    finally:
        await db.dispose()
    context.say(context.t.text(N_("Database schema is up to date (revision {revision})."),
                               revision=revision))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("migrate", help="apply database migrations (Alembic)")
    parser.set_defaults(handler=migrate)
