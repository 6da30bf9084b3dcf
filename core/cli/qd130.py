"""`import-xml` (clinics' QĐ 130/QĐ-BYT files) and `quarantine` (what could not be taken in)."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import CommandError, Context
from core.cli.imports import Outcomes, add_dry_run_and_report, run_imports
from core.db import Database
from core.i18n import N_, TIMEZONE
from core.records.imports.progress import ProgressSink
from core.records.imports.qd130 import import_qd130_each
from core.records.imports.qd130_format import DEFAULT_MAX_FILE_MB, DEFAULT_MAX_RECORDS, Qd130Limits
from core.records.imports.quarantine import QUARANTINE_LABELS, list_quarantined, message_from_json
from core.records.operations import ImportKind


async def import_xml(args: argparse.Namespace, context: Context) -> int:
    try:
        limits = Qd130Limits.from_env(max_file_mb=args.max_file_mb, max_records=args.max_records)
    except ValueError as error:
        raise CommandError(context.t.text(N_(
            "{setting} must be a whole number greater than zero."), setting=str(error))) from None
    def importer(db: Database, paths: list[Path], progress: ProgressSink | None) -> Outcomes:
        return import_qd130_each(db, paths, limits, progress=progress)

    # All the files at once: many small files share each transaction.
    return await run_imports(importer, ImportKind.QD130_XML, args.files, context,
                             dry_run=args.dry_run, report_path=args.report)


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
    parser.add_argument(
        "--max-file-mb", type=int, metavar="MB",
        help=f"refuse a file larger than this (default EHR_QD130_MAX_FILE_MB, else "
             f"{DEFAULT_MAX_FILE_MB})")
    parser.add_argument(
        "--max-records", type=int, metavar="N",
        help=f"import at most this many HOSOs of a file (default EHR_QD130_MAX_RECORDS, else "
             f"{DEFAULT_MAX_RECORDS:,})")
    add_dry_run_and_report(parser)
    parser.set_defaults(handler=import_xml)

    parser = commands.add_parser(
        "quarantine", help="list clinic submissions that could not be taken in")
    parser.add_argument("--all", action="store_true", help="include settled submissions")
    parser.add_argument("--limit", type=int, default=200, help="show at most this many")
    parser.set_defaults(handler=quarantine)
