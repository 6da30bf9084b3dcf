"""`import-xml` (clinics' QĐ 130/QĐ-BYT files) and `quarantine` (what could not be taken in)."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import Context
from core.cli.imports import run_imports
from core.i18n import N_, TIMEZONE
from core.records.imports.qd130 import import_qd130_each
from core.records.imports.quarantine import QUARANTINE_LABELS, list_quarantined, message_from_json


async def import_xml(args: argparse.Namespace, context: Context) -> int:
    # All the files at once: many small files share each transaction.
    return await run_imports(import_qd130_each, args.files, context)


async def quarantine(args: argparse.Namespace, context: Context) -> int:
    """Lists quarantined submissions: where they came from and why, never whose they are."""
    db = await context.open_database()
    try:
        rows = await list_quarantined(db, settled=args.all, limit=args.limit + 1)
    finally:
        await db.dispose()
    t = context.t
    if not rows:
        context.say(t.text(N_("No submissions are in quarantine.")))
        return 0
    context.say("\t".join(t.gettext(h) for h in (
        N_("Id"), N_("Received"), N_("File"), N_("Facility"), N_("MA_LK"), N_("Reason"))))
    for row in rows[:args.limit]:
        reason = t.gettext(QUARANTINE_LABELS[row.reason])
        if row.detail:
            reason = t.text(N_("{reason}: {detail}"), reason=reason,
                            detail=message_from_json(row.detail))
        if row.resolved_at is not None:
            reason = t.text(N_("{reason} (settled {date})"), reason=reason,
                            date=t.date(row.resolved_at.astimezone(TIMEZONE).date()))
        context.say("\t".join((
            str(row.id), t.date(row.received_at.astimezone(TIMEZONE).date()), row.file_name,
            row.facility_code or "-", row.visit_key or "-", reason)))
    if len(rows) > args.limit:
        context.say(t.text(N_("... and more; use --limit to see them.")))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import-xml", help="import clinics' QĐ 130/QĐ-BYT checkout files (XML)")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.set_defaults(handler=import_xml)

    parser = commands.add_parser(
        "quarantine", help="list clinic submissions that could not be taken in")
    parser.add_argument("--all", action="store_true", help="include settled submissions")
    parser.add_argument("--limit", type=int, default=200, help="show at most this many")
    parser.set_defaults(handler=quarantine)
