"""`pending list|confirm|reject`: the health station decides what volunteers entered for residents
who do not use the bot."""

from __future__ import annotations

import argparse

from core.cli import CommandError, Context, resident
from core.i18n import N_
from core.records import people
from core.records.display_value import detail_label, shown
from core.volunteering import pending


async def list_pending(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    ward = context.ward(args.ward)
    db = await context.open_database()
    try:
        waiting = await pending.pending_values(db, ward_code=ward)
        found = await db.read(people.by_ids, {p.citizen_id for p in waiting})
    finally:
        await db.dispose()
    if not waiting:
        context.say(t.text(N_("Nothing entered by volunteers is waiting.")))
    for item in waiting:
        context.say(t.text(N_("#{id} {date} {resident}, {ward}: {field} = {value}"),
                           id=item.id, date=t.datetime(item.created_at),
                           resident=resident(found.get(item.citizen_id)),
                           ward=shown("ward_code", item.ward_code, t) if item.ward_code else "—",
                           field=t.gettext(detail_label(item.field)),
                           value=pending.entry_shown(item, t, masked=True)))
    return 0


async def decide(args: argparse.Namespace, context: Context, confirm: bool) -> int:
    db = await context.open_database()
    try:
        waiting = [p for p in await pending.pending_values(db) if p.id in args.ids]
        decided = 0
        for citizen_id in sorted({p.citizen_id for p in waiting}):
            ids = [p.id for p in waiting if p.citizen_id == citizen_id]
            decided += await pending.decide_pending(db, citizen_id, confirm=confirm, by="health_station",
                                                    ids=ids)
    finally:
        await db.dispose()
    if decided == 0:
        raise CommandError(context.t.text(N_("None of these is waiting.")))
    context.say(context.t.text(N_("{count} values confirmed.") if confirm else N_("{count} values rejected."),
                               count=decided))
    return 0


async def confirm(args: argparse.Namespace, context: Context) -> int:
    return await decide(args, context, True)


async def reject(args: argparse.Namespace, context: Context) -> int:
    return await decide(args, context, False)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("pending", help="volunteer-entered values waiting for confirmation")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub = actions.add_parser("list", help="what waits")
    sub.add_argument("--ward", metavar="CODE")
    sub.set_defaults(handler=list_pending)
    for name, handler, text in (("confirm", confirm, "save as volunteer-assisted"),
                                ("reject", reject, "discard")):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("ids", type=int, nargs="+", metavar="ID")
        sub.set_defaults(handler=handler)
