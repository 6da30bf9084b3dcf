"""`migrate`, `seed` and `serve`: set up and run the service."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

from core import validation
from core.cli import Context
from core.i18n import N_, today_hanoi
from core.identity.keys import require_configured_key
from core.migrate import current_revision, upgrade
from core.privacy import mask_personal_id


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




async def serve(args: argparse.Namespace, context: Context) -> int:
    from aiohttp import web

    from core.web import create_app

    require_configured_key()  # before anything listens: every worker must share the one key
    db = await context.open_database()
    runner = web.AppRunner(create_app(db))
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    context.say(context.t.text(N_("Record service listening on http://{host}:{port}/ (Ctrl+C stops)"),
                               host=args.host, port=args.port))
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
    return 0


async def seed(args: argparse.Namespace, context: Context) -> int:
    from core.seed import demo_residents, generate_city
    from core.seed.store import database_is_empty, export_city, seed_database

    t = context.t
    as_of = args.as_of or today_hanoi()
    city = generate_city(args.people, args.seed, as_of)
    if args.export:
        counts = export_city(city, args.export)
        context.say(t.text(N_("Exported to {dir}: {roster} residents, {facilities} facilities, "
                              "{doses} immunizations, {files} QĐ 130 files."),
                           dir=args.export, roster=t.number(counts["roster.csv"]),
                           facilities=t.number(counts["facilities.csv"]),
                           doses=t.number(counts["immunizations.csv"]), files=t.number(counts["xml"])))
    db = await context.open_database()
    try:
        if args.if_empty and not await database_is_empty(db):
            context.say(t.text(N_("The database already holds residents; nothing seeded.")))
            return 0
        summary = await seed_database(db, city)
    finally:
        await db.dispose()
    context.say(t.text(N_("Seeded a synthetic Hanoi (seed {seed}, as of {date}): {residents} residents, "
                          "{facilities} facilities, {doses} immunizations, {visits} visits."),
                       seed=args.seed, date=t.date(as_of), residents=t.number(summary.residents),
                       facilities=t.number(summary.facilities), doses=t.number(summary.immunizations),
                       visits=t.number(summary.visits)))
    # Printed output never holds a full ID, synthetic or not: the sandbox page lists them.
    context.say(t.text(N_("Try a health book: {python} -m core book ID, with the full personal ID of "
                          "a demo resident such as {id} (listed on the sandbox page, make run)."),
                       python=_python(), id=mask_personal_id(demo_residents(city)[0])))
    return 0


def _python() -> str:
    """The interpreter as the operator would type it (`.venv/bin/python` in a checkout)."""
    relative = os.path.relpath(sys.executable)
    return relative if not relative.startswith("..") else "python"


def _as_of(text: str) -> dt.date:
    try:
        return validation.calendar_date(text, past_only=False)
    except validation.InvalidValue as error:
        raise argparse.ArgumentTypeError(error.message.msgid) from None


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("migrate", help="apply database migrations (Alembic)")
    parser.set_defaults(handler=migrate)

    parser = commands.add_parser("seed", help="write a synthetic Hanoi (demo and test data)")
    parser.add_argument("--people", type=int, required=True, metavar="N")
    parser.add_argument("--seed", type=int, default=1, metavar="S",
                        help="the same seed and as-of date give the same city (default 1)")
    parser.add_argument("--as-of", type=_as_of, metavar="DD/MM/YYYY",
                        help="the day the city is generated for (default: today in Hanoi)")
    parser.add_argument("--export", type=Path, metavar="DIR",
                        help="also write the same people as roster, immunization and QĐ 130 files")
    parser.add_argument("--if-empty", action="store_true",
                        help="seed only when the database holds no residents (make run)")
    parser.set_defaults(handler=seed)

    parser = commands.add_parser("serve", help="run the HTTP service (health probes, status)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.set_defaults(handler=serve)
