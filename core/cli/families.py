"""`proxy grant|list|withdraw`: a ward health station sets up a proxy in person.

For a resident without a phone of their own: both people stand at the station with their ID
cards; the staff member checks them and records the grant under their own name (`--by`).
"""

from __future__ import annotations

import argparse
from functools import partial

from core import families, validation
from core.cli import CommandError, Context, resident
from core.families import GrantRefused
from core.families.rules import PROXY_POWERS, Power, power_names
from core.i18n import N_, today_hanoi
from core.records import people
from core.text import clean


def _person(connection, personal_id: str, born: str, context: Context):
    """The resident with this ID and full birth date, as the station read them off the ID card."""
    try:
        pid = validation.personal_id(personal_id)
        day = validation.calendar_date(born, compact=True)
    except validation.InvalidValue as error:
        raise CommandError(error.message.render(context.t)) from None
    found = people.by_personal_id(connection, pid)
    if found is None or found.birth_date.iso() != day.isoformat():
        return None
    return found


def _powers(text: str, context: Context) -> list[Power]:
    try:
        chosen = [Power(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        chosen = []
    if not chosen or not set(chosen) <= set(PROXY_POWERS):
        raise CommandError(context.t.text(N_("--powers takes {powers}, separated by commas."),
                                          powers=",".join(p.value for p in PROXY_POWERS)))
    return chosen


async def grant(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    by = clean(args.by or "")
    if not by:
        raise CommandError(t.text(N_("Say who checked both ID cards with --by \"Full name\".")))
    powers = _powers(args.powers, context)
    until = None
    if args.until:
        try:
            until = validation.calendar_date(args.until, past_only=False)
        except validation.InvalidValue as error:
            raise CommandError(error.message.render(t)) from None
    db = await context.open_database()
    try:
        grantor = await db.read(_person, args.grantor, args.grantor_birth, context)
        proxy = await db.read(_person, args.proxy, args.proxy_birth, context)
        if grantor is None or proxy is None:
            # One answer for an unknown ID and a birth date that does not match it.
            raise CommandError(t.text(N_("No resident has that ID with that date of birth. Check both "
                                         "ID cards.")))
        try:
            grant_id = await db.write(partial(families.grant_proxy, today=today_hanoi(), channel="station",
                                              expires_on=until, confirmed_by=by),
                                      grantor.id, proxy.id, powers)
        except GrantRefused:
            raise CommandError(t.text(N_("This grant cannot be made: both people must be living adults "
                                         "of the register, and different people."))) from None
    finally:
        await db.dispose()
    context.say(t.text(N_("Grant {id}: {proxy} may now help {grantor} ({powers}). Both are told on their "
                          "phones, if they have an account."),
                       id=grant_id, proxy=resident(proxy), grantor=resident(grantor),
                       powers=power_names(powers, t)))
    return 0


async def list_grants(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    db = await context.open_database()
    try:
        grantor = await db.read(_person, args.grantor, args.grantor_birth, context)
        grants = await db.read(families.proxies_of, grantor.id, today_hanoi()) if grantor else []
    finally:
        await db.dispose()
    if grantor is None:
        raise CommandError(t.text(N_("No resident has that ID with that date of birth. Check both "
                                     "ID cards.")))
    if not grants:
        context.say(t.text(N_("{grantor} has named nobody to help."), grantor=resident(grantor)))
    for line in grants:
        until = t.date(line.expires_on) if line.expires_on else "—"
        context.say(t.text(N_("Grant {id}: {proxy}, {powers}, until {until}"), id=line.grant_id,
                           proxy=line.proxy_name, powers=power_names(line.powers, t), until=until))
    return 0


async def withdraw(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    db = await context.open_database()
    try:
        grantor = await db.read(_person, args.grantor, args.grantor_birth, context)
        done = grantor is not None and await db.write(families.withdraw, args.id, grantor.id)
    finally:
        await db.dispose()
    if not done:
        raise CommandError(t.text(N_("Grant {id} of this resident is not in force."), id=args.id))
    context.say(t.text(N_("Grant {id} withdrawn; it takes effect at once."), id=args.id))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("proxy", help="a resident names a family member to help (at the station)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub = actions.add_parser("grant", help="record a grant both people asked for in person")
    sub.add_argument("--grantor", required=True, metavar="ID", help="the resident's personal ID")
    sub.add_argument("--grantor-birth", required=True, metavar="DD/MM/YYYY")
    sub.add_argument("--proxy", required=True, metavar="ID", help="the helper's personal ID")
    sub.add_argument("--proxy-birth", required=True, metavar="DD/MM/YYYY")
    sub.add_argument("--powers", default=",".join(p.value for p in PROXY_POWERS),
                     help="read, show_qr, update (comma-separated; all by default)")
    sub.add_argument("--until", metavar="DD/MM/YYYY", help="the last day it holds (none: until withdrawn)")
    sub.add_argument("--by", required=True, metavar="NAME", help="the staff member who checked both ID cards")
    sub.set_defaults(handler=grant)
    for name, handler, help_text in (("list", list_grants, "the resident's grants in force"),
                                     ("withdraw", withdraw, "withdraw one grant at once")):
        sub = actions.add_parser(name, help=help_text)
        if name == "withdraw":
            sub.add_argument("id", type=int)
        sub.add_argument("--grantor", required=True, metavar="ID")
        sub.add_argument("--grantor-birth", required=True, metavar="DD/MM/YYYY")
        sub.set_defaults(handler=handler)
