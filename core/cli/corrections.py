"""`corrections list|approve|reject`: the health station decides citizens' correction requests."""

from __future__ import annotations

import argparse

from core.cli import CommandError, Context
from core.corrections import service
from core.i18n import N_
from core.text import clean


async def list_requests(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    ward = context.ward(args.ward)
    db = await context.open_database()
    try:
        requests = await service.list_requests(db, ward)
    finally:
        await db.dispose()
    if not requests:
        context.say(t.text(N_("No correction requests are waiting.")))
    for request in requests:
        label = t.gettext(service.CORRECTABLE[request.field].label)
        context.say(t.text(N_("#{id} {date} ward {ward}, citizen {citizen}: {field} → {value} ({reason})"),
                           id=request.id, date=t.datetime(request.created_at), ward=request.ward_code or "—",
                           citizen=request.citizen_id, field=label, value=request.proposed_value,
                           reason=request.reason))
    return 0


async def approve(args: argparse.Namespace, context: Context) -> int:
    db = await context.open_database()
    try:
        done = await service.approve(db, args.id)
    finally:
        await db.dispose()
    if not done:
        raise CommandError(context.t.text(N_("Request {id} is not waiting for a decision."), id=args.id))
    context.say(context.t.text(N_("Request {id} approved and applied; the citizen will be told."),
                               id=args.id))
    return 0


async def reject(args: argparse.Namespace, context: Context) -> int:
    reason = clean(args.reason)
    if not reason:
        raise CommandError(context.t.text(N_("Give the citizen a reason with --reason.")))
    db = await context.open_database()
    try:
        done = await service.reject(db, args.id, reason)
    finally:
        await db.dispose()
    if not done:
        raise CommandError(context.t.text(N_("Request {id} is not waiting for a decision."), id=args.id))
    context.say(context.t.text(N_("Request {id} rejected; the citizen will be told why."), id=args.id))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("corrections", help="citizens' requests to correct official details")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub = actions.add_parser("list", help="requests waiting for a decision")
    sub.add_argument("--ward", metavar="CODE", help="one ward (5-digit code)")
    sub.set_defaults(handler=list_requests)
    sub = actions.add_parser("approve", help="apply the correction (health-station provenance)")
    sub.add_argument("id", type=int)
    sub.set_defaults(handler=approve)
    sub = actions.add_parser("reject", help="refuse it, with a reason the citizen reads")
    sub.add_argument("id", type=int)
    sub.add_argument("--reason", required=True)
    sub.set_defaults(handler=reject)
