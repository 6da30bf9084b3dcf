"""`changes list|confirm|reject`: the health station decides what volunteers reported of residents
who moved away or died."""

from __future__ import annotations

import argparse

from core.cli import CommandError, Context
from core.i18n import N_
from core.records.display_value import shown
from core.text import clean
from core.volunteering import changes
from core.volunteering.model import ChangeKind

KINDS = {ChangeKind.MOVED_AWAY: N_("moved away"), ChangeKind.DECEASED: N_("died")}


async def list_reports(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    ward = context.ward(args.ward)
    db = await context.open_database()
    try:
        reports = await changes.open_reports(db, ward)
    finally:
        await db.dispose()
    if not reports:
        context.say(t.text(N_("No change reports are waiting.")))
    for report in reports:
        # The resident as a ward team knows them (short name, masked ID, birth year), never more.
        context.say(t.text(N_("#{id} {date} {name} ({masked}, born {year}), {ward}: {kind} on {when}. "
                              "Reported by {volunteer}."),
                           id=report.id, date=t.datetime(report.created_at), name=report.name,
                           masked=report.masked_id, year=report.birth_year,
                           ward=shown("ward_code", report.ward_code, t), kind=t.gettext(KINDS[report.kind]),
                           when=report.date.display() if report.date else t.text(N_("a date not known")),
                           volunteer=report.volunteer or "—"))
        if report.destination:
            context.say("    " + t.text(N_("Moved to: {where}"), where=report.destination))
        if report.note:
            context.say("    " + t.text(N_("Note: {note}"), note=report.note))
    return 0


def _decided(decided: changes.Decided, report_id: int, context: Context) -> None:
    t = context.t
    if decided is changes.Decided.NO_SUCH_REPORT:
        raise CommandError(t.text(N_("There is no change report {id}."), id=report_id))
    if decided is changes.Decided.ALREADY_CONFIRMED:
        raise CommandError(t.text(N_("Change report {id} was already confirmed."), id=report_id))
    if decided is changes.Decided.ALREADY_REJECTED:
        raise CommandError(t.text(N_("Change report {id} was already rejected."), id=report_id))


def _by(args: argparse.Namespace, context: Context) -> str:
    by = clean(args.by)
    if not by:
        raise CommandError(context.t.text(N_("Say who decides with --by NAME.")))
    return by


async def confirm(args: argparse.Namespace, context: Context) -> int:
    by = _by(args, context)
    db = await context.open_database()
    try:
        done = await changes.confirm_change(db, args.id, by=by)
    finally:
        await db.dispose()
    _decided(done, args.id, context)
    context.say(context.t.text(N_("Change report {id} confirmed: the record is updated and the volunteer "
                                  "will be told."), id=args.id))
    return 0


async def reject(args: argparse.Namespace, context: Context) -> int:
    by = _by(args, context)
    reason = clean(args.reason)
    if not reason:
        raise CommandError(context.t.text(N_("Give the volunteer a reason with --reason.")))
    db = await context.open_database()
    try:
        done = await changes.reject_change(db, args.id, reason, by=by)
    finally:
        await db.dispose()
    _decided(done, args.id, context)
    context.say(context.t.text(N_("Change report {id} rejected; the volunteer will be told why."),
                               id=args.id))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("changes", help="volunteers' reports of residents who moved away or died")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub = actions.add_parser("list", help="reports waiting for the station")
    sub.add_argument("--ward", metavar="CODE", help="one ward (5-digit code)")
    sub.set_defaults(handler=list_reports)
    sub = actions.add_parser("confirm", help="change the record's status (health-station provenance)")
    sub.add_argument("id", type=int)
    sub.add_argument("--by", required=True, metavar="NAME", help="the station staff member deciding")
    sub.set_defaults(handler=confirm)
    sub = actions.add_parser("reject", help="refuse it, with a reason the volunteer reads")
    sub.add_argument("id", type=int)
    sub.add_argument("--reason", required=True)
    sub.add_argument("--by", required=True, metavar="NAME", help="the station staff member deciding")
    sub.set_defaults(handler=reject)
