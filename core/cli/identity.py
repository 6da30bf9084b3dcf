"""`identity lockouts|confirm-in-person`: what the ward health station does about identity."""

from __future__ import annotations

import argparse
import datetime as dt

from core import validation
from core.cli import CommandError, Context
from core.i18n import N_, now_utc
from core.identity import attempts
from core.identity.in_person import InPerson, confirm_in_person
from core.privacy import mask_personal_id
from core.reference.wards import ward_by_code
from core.volunteering.residents import short_name


async def lockouts(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    ward = context.ward(args.ward)
    since = now_utc() - dt.timedelta(days=args.days)
    db = await context.open_database()
    try:
        residents, unknown = await db.read(attempts.lockouts_since, since, ward)
    finally:
        await db.dispose()
    if not residents and not unknown:
        context.say(t.text(N_("No verification was paused in the last {days} days."), days=args.days))
    for resident in residents:
        place = ward_by_code(resident.ward_code) if resident.ward_code else None
        # Paused again and again: someone may be trying to open this person's book.
        text = N_("{name} ({id}, {ward}): paused {count} times, last at {last}. Check with the person.") \
            if resident.lockouts > 1 else N_("{name} ({id}, {ward}): paused once, at {last}.")
        context.say(t.text(text, name=short_name(resident.full_name),
                           id=mask_personal_id(resident.personal_id),
                           ward=place.name if place else (resident.ward_code or "—"),
                           count=resident.lockouts, last=t.datetime(resident.last)))
    if unknown and ward is None:
        context.say(t.text(N_("{count} pauses hit personal IDs that no record holds."), count=unknown))
    return 0


async def in_person(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    try:
        personal_id = validation.personal_id(args.personal_id)
        phone = validation.phone(args.phone) if args.phone else None
        born = validation.calendar_date(args.birth_date) if args.birth_date else None
    except validation.InvalidValue as error:
        raise CommandError(error.message.render(t)) from None
    if phone is None and born is None:
        raise CommandError(t.text(N_("Give --phone, --birth-date or both.")))
    db = await context.open_database()
    try:
        outcome = await confirm_in_person(db, personal_id, staff=args.by, phone=phone, birth_date=born)
    finally:
        await db.dispose()
    if outcome is InPerson.NOT_FOUND:
        raise CommandError(t.text(N_("No resident has personal ID {id}."), id=mask_personal_id(personal_id)))
    if outcome is InPerson.UNCHANGED:
        context.say(t.text(N_("The record of {id} already held these details, or a register's value "
                              "stands; nothing changed."), id=mask_personal_id(personal_id)))
    else:
        context.say(t.text(N_("Recorded for {id}, confirmed in person by {by}. The person can now verify "
                              "in the bot."), id=mask_personal_id(personal_id), by=args.by))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("identity", help="the health station's identity work")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub = actions.add_parser("lockouts", help="residents whose verification was paused (repeats first)")
    sub.add_argument("--ward", metavar="CODE")
    sub.add_argument("--days", type=int, default=30, metavar="N")
    sub.set_defaults(handler=lockouts)
    sub = actions.add_parser("confirm-in-person",
                             help="record the mobile number and full birth date seen with the ID card")
    sub.add_argument("personal_id", metavar="PERSONAL_ID")
    sub.add_argument("--phone", metavar="MOBILE")
    sub.add_argument("--birth-date", metavar="DD/MM/YYYY")
    sub.add_argument("--by", required=True, metavar="STAFF_NAME", help="who checked the ID card")
    sub.set_defaults(handler=in_person)
