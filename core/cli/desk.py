"""`desk link|operator`: sign-in links to the web console from the server's command line.

The bot sends a member their link (/desk); this is for the first operator, who has no one to
invite them, and for a member whose chat account is lost.
"""

from __future__ import annotations

import argparse
import os

from core.cli import CommandError, Context
from core.db import Database
from core.i18n import N_
from core.marks import SANDBOX_URL, mark_value
from core.staff import desk, service
from core.staff.model import StaffRole
from core.text import clean


async def _base(db: Database) -> str:
    """The console's address: EHR_DESK_URL; on a demo database, where the sandbox last ran."""
    found = os.environ.get("EHR_DESK_URL") or await db.read(mark_value, SANDBOX_URL)
    return (found or "http://127.0.0.1:8080").rstrip("/")


async def link(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    db = await context.open_database()
    try:
        context.require_secret_key()  # the link is stored as an HMAC under it
        token = await desk.issue_signin(db, args.staff)
        base = await _base(db)
    finally:
        await db.dispose()
    if token is None:
        raise CommandError(t.text(N_("No active staff member has the id {id}."), id=args.staff))
    context.say(t.text(N_("A sign-in link for staff {id}, valid once for 10 minutes:"), id=args.staff))
    context.say(f"{base}/desk/signin/{token}")
    return 0


async def operator(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    role = StaffRole(args.role)
    missing = service.missing_scope(role, None, args.ward, args.centre)
    if missing or role in (StaffRole.RECEPTIONIST, StaffRole.VOLUNTEER):
        raise CommandError(t.text(missing or N_("Receptionists and volunteers are invited through the "
                                                "bot: python -m core staff invite.")))
    db = await context.open_database()
    try:
        context.require_secret_key()
        member = await desk.desk_operator(db, role, clean(args.name), ward_code=args.ward,
                                          centre_code=args.centre)
        token = await desk.issue_signin(db, member.id)
        base = await _base(db)
    finally:
        await db.dispose()
    context.say(t.text(N_("Staff {id} ({role}) can sign in once, within 10 minutes, at:"), id=member.id,
                       role=t.gettext(role.label).lower()))
    context.say(f"{base}/desk/signin/{token}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("desk", help="sign-in links to the web console")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub = actions.add_parser("link", help="print a one-time sign-in link for an active staff member")
    sub.add_argument("--staff", type=int, required=True, metavar="ID", help="the id from `staff list`")
    sub.set_defaults(handler=link)
    sub = actions.add_parser("operator", help="create a console-only member (the first operator) and "
                                              "print their sign-in link")
    sub.add_argument("--name", required=True)
    sub.add_argument("--role", default=StaffRole.OPERATOR.value,
                     choices=[r.value for r in (StaffRole.OPERATOR, StaffRole.CITY_VIEWER,
                                                StaffRole.CENTRE_VIEWER, StaffRole.STATION)])
    sub.add_argument("--ward", metavar="CODE", help="a station member's ward")
    sub.add_argument("--centre", metavar="CODE", help="a centre viewer's health centre")
    sub.set_defaults(handler=operator)
