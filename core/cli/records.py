"""`book` prints a health book as the display rules render it; `completeness` reports gaps."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sqlalchemy import select

from core.cli import Context
from core.consent.policy import view_for
from core.i18n import N_
from core.records.citizen import Citizen
from core.records.completeness import recount_city, ward_report
from core.records.completeness_report import render_completeness, write_gap_list
from core.records.display_rules import Audience
from core.records.healthbook import HealthBook, build_health_book
from core.records.render_text import render_book
from core.validation import InvalidValue, personal_id


async def book(args: argparse.Namespace, context: Context) -> int:
    try:
        pid = personal_id(args.personal_id)
    except InvalidValue as error:
        context.error(error.message.render(context.t))
        return 2
    db = await context.open_database()
    try:
        async with db.sessions() as session:
            citizen_id = await session.scalar(select(Citizen.id).where(Citizen.personal_id == pid))
        health_book: HealthBook | None = None
        if citizen_id is not None:
            # An operator's preview of what the policy shows each audience when the citizen has
            # consented to nothing: no reader stands behind it, so no access event is written.
            health_book = await build_health_book(db, citizen_id, view_for(Audience(args.audience)),
                                                  locale=context.t.locale)
    finally:
        await db.dispose()
    if health_book is None:
        context.error(context.t.text(N_("No resident has this personal ID.")))
        return 1
    if args.json:
        context.say(json.dumps(health_book.to_dict(), ensure_ascii=False, indent=2))
    else:
        context.say(render_book(health_book, context.t))
    return 0


async def completeness(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    ward_code = context.ward(args.ward)
    db = await context.open_database()
    try:
        report = await ward_report(db, ward_code)
        if args.csv:
            rows = await write_gap_list(db, ward_code, args.csv, t)
    finally:
        await db.dispose()
    for line in render_completeness(report, ward_code, t):
        context.say(line)
    if args.csv:
        context.say(t.text(N_("Wrote {n} residents with missing details to {file}."),
                           n=rows, file=args.csv))
    return 0


async def recount(args: argparse.Namespace, context: Context) -> int:
    db = await context.open_database()
    try:
        counted = await recount_city(db)
    finally:
        await db.dispose()
    context.say(context.t.text(N_("Counted the missing details of {n} residents for the worklists."),
                               n=counted))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("book", help="print one resident's health book")
    parser.add_argument("personal_id", metavar="ID", help="the 12-digit personal ID")
    parser.add_argument("--audience", choices=[a.value for a in Audience],
                        default=Audience.CITIZEN.value)
    parser.add_argument("--json", action="store_true", help="print the view as JSON")
    parser.set_defaults(handler=book)

    parser = commands.add_parser("completeness",
                                 help="missing or invalid details per field, per ward")
    parser.add_argument("--ward", metavar="CODE", help="one ward (5-digit code, e.g. 00070)")
    parser.add_argument("--csv", metavar="FILE", type=Path,
                        help="also write the residents with gaps, for the ward team")
    parser.set_defaults(handler=completeness)

    parser = commands.add_parser(
        "recount", help="count every resident's missing details now (after migration 0015 or a "
                        "big import), instead of ward by ward on each worklist's first view")
    parser.set_defaults(handler=recount)
