"""`staff invite|list|revoke`: staff who work through the bot and the web console."""

from __future__ import annotations

import argparse

from core import validation
from core.cli import CommandError, Context
from core.i18n import N_
from core.staff import service
from core.staff.model import StaffRole
from core.text import clean


async def invite(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    role = StaffRole(args.role)
    missing = service.missing_scope(role, args.facility, args.ward, args.centre)
    if missing:
        raise CommandError(t.text(missing))
    need = service.NEEDS[role]
    facility = ward = centre = None
    try:
        if need == "facility":
            facility = validation.facility_code(args.facility)
        elif need == "ward":
            ward = validation.ward_code(args.ward)
        elif need == "centre":
            centre = clean(args.centre)
    except validation.InvalidValue as error:
        raise CommandError(error.message.render(t)) from None
    db = await context.open_database()
    try:
        context.require_secret_key()  # the invite code is stored as an HMAC under it
        if facility and not await service.facility_exists(db, facility):
            raise CommandError(t.text(N_("No facility has the code {code}."), code=facility))
        created = await service.invite(db, role, facility_code=facility, ward_code=ward, centre_code=centre,
                                       name=clean(args.name) if args.name else None)
    finally:
        await db.dispose()
    context.say(t.text(N_("Invite {id} for a {role}, valid once until {until}. The staff member sends "
                          "this to the bot:"),
                       id=created.id, role=t.gettext(role.label).lower(),
                       until=t.datetime(created.expires_at)))
    context.say(f"/start staff_{created.code}")
    return 0


async def list_staff(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    db = await context.open_database()
    try:
        members = await service.list_staff(db)
    finally:
        await db.dispose()
    if not members:
        context.say(t.text(N_("No active staff.")))
    for member in members:
        place = member.facility_name or member.facility_code or member.ward_code or ""
        role = t.gettext(member.role.label)
        context.say(f"{member.id:>5}  {role:<14} {place}  {member.name or ''}".rstrip())
    return 0


async def revoke(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    db = await context.open_database()
    try:
        done = await (service.revoke_invite(db, args.id) if args.invite else service.revoke(db, args.id))
    finally:
        await db.dispose()
    if not done:
        raise CommandError(t.text(N_("Nothing to revoke with id {id}."), id=args.id))
    context.say(t.text(N_("Revoked {id}: it no longer works, from now on."), id=args.id))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("staff", help="invite, list and revoke staff who use the bot")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub = actions.add_parser("invite", help="print a single-use invite code, valid 72 hours")
    sub.add_argument("--role", choices=[r.value for r in StaffRole], required=True)
    sub.add_argument("--facility", metavar="CODE", help="the receptionist's facility (5 digits)")
    sub.add_argument("--ward", metavar="CODE", help="the volunteer's or station's ward (5 digits)")
    sub.add_argument("--centre", metavar="CODE", help="a health centre viewer's centre")
    sub.add_argument("--name", help="the staff member's name, shown in citizens' access logs")
    sub.set_defaults(handler=invite)
    sub = actions.add_parser("list", help="active staff")
    sub.set_defaults(handler=list_staff)
    sub = actions.add_parser("revoke", help="end a staff member's access (or an unused invite)")
    sub.add_argument("id", type=int, help="the staff id from `staff list` (or an invite id with --invite)")
    sub.add_argument("--invite", action="store_true", help="revoke an unused invite instead")
    sub.set_defaults(handler=revoke)
