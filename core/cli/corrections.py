"""`corrections list|approve|reject`: the health station decides citizens' correction requests."""

from __future__ import annotations

import argparse

from core.cli import CommandError, Context, resident
from core.corrections import service
from core.i18n import N_, Translator
from core.privacy import mask_card, mask_personal_id
from core.records import people
from core.records.display_value import shown
from core.text import clean


async def list_requests(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    ward = context.ward(args.ward)
    db = await context.open_database()
    try:
        requests = await service.list_requests(db, ward)
        found = await db.read(people.by_ids, {r.citizen_id for r in requests})
    finally:
        await db.dispose()
    if not requests:
        context.say(t.text(N_("No correction requests are waiting.")))
    for request in requests:
        label = t.gettext(service.CORRECTABLE[request.field].label)
        # What the record says now beside what is asked: the station sees what would change.
        context.say(t.text(N_("#{id} {date} {resident}, {ward}: {field}: {current} → {value} "
                              "({reason})"),
                           id=request.id, date=t.datetime(request.created_at),
                           resident=resident(found.get(request.citizen_id)),
                           ward=shown("ward_code", request.ward_code, t) if request.ward_code else "—",
                           field=label, current=_value(request.field, request.current_value, t),
                           value=_value(request.field, request.proposed_value, t),
                           reason=request.reason))
    return 0


def _value(field: str, stored: str | None, t: Translator) -> str:
    """As the book shows it; an ID or card number masked like any other on a console."""
    if stored is None:
        return t.text(N_("Not recorded"))
    if field == "personal_id":
        return mask_personal_id(stored)
    if field == "insurance_card":
        return mask_card(stored)
    return service.proposed_shown(field, stored, t)


def _decided(decided: service.Decided, request_id: int, context: Context) -> None:
    if decided is service.Decided.NO_SUCH_REQUEST:
        raise CommandError(context.t.text(N_("There is no request {id}."), id=request_id))
    if decided is service.Decided.NOT_PENDING:
        raise CommandError(context.t.text(N_("Request {id} is not waiting for a decision."),
                                          id=request_id))


async def approve(args: argparse.Namespace, context: Context) -> int:
    db = await context.open_database()
    try:
        done = await service.approve(db, args.id)
    finally:
        await db.dispose()
    _decided(done, args.id, context)
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
    _decided(done, args.id, context)
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
