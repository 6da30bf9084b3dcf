"""`import-health-centres`, `report monthly`, `report refresh`: the figures of the pilot."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import CommandError, Context
from core.i18n import N_
from core.reporting import figures
from core.reporting.centres import CentresRefused, import_centres
from core.reporting.monthly import BadMonth, monthly_rows, parse_month, write_csv, write_xlsx


async def import_health_centres(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    if not args.file.is_file():
        raise CommandError(t.text(N_("There is no file {name}."), name=str(args.file)))
    db = await context.open_database()
    try:
        try:
            count, wards, uncovered = await import_centres(db, args.file)
        except CentresRefused as refused:
            for problem in refused.problems:
                context.error(t.text(N_("Line {line}: {problem}"), line=problem.line,
                                     problem=problem.message.render(t)))
            raise CommandError(t.text(N_("Nothing was loaded: correct these lines and load the file "
                                         "again."))) from None
        except UnicodeDecodeError:
            raise CommandError(t.text(N_("The file is not UTF-8 text."))) from None
    finally:
        await db.dispose()
    context.say(t.text(N_("Loaded {centres} health centres serving {wards} wards."),
                       centres=t.number(count), wards=t.number(wards)))
    if uncovered:
        context.say(t.text(N_("No centre serves these {count} wards yet: {codes}"),
                           count=len(uncovered), codes=", ".join(uncovered)))
    return 0


async def monthly(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    try:
        year, month = parse_month(args.month)
    except BadMonth as error:
        raise CommandError(error.message.render(t)) from None
    out: Path = args.out
    kind = out.suffix.lower()
    if kind not in (".xlsx", ".csv"):
        raise CommandError(t.text(N_("The report is written as .xlsx or .csv: name the file so.")))
    db = await context.open_database()
    try:
        report = await monthly_rows(db, year, month)
    finally:
        await db.dispose()
    if kind == ".xlsx":
        write_xlsx(report, out)
    else:
        with out.open("w", encoding="utf-8", newline="") as stream:
            write_csv(report, stream)
    context.say(t.text(N_("Wrote the report for {month}/{year} ({wards} wards) to {path}."),
                       month=f"{month:02d}", year=year, wards=len(report.rows), path=str(out)))
    return 0


async def refresh(args: argparse.Namespace, context: Context) -> int:
    db = await context.open_database()
    try:
        wards = await figures.refresh(db)
    finally:
        await db.dispose()
    context.say(context.t.text(N_("Ward figures counted for {wards} wards."), wards=wards))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("import-health-centres",
                                 help="load the regional health centres and their wards (CSV: "
                                      "centre code, centre name, ward code)")
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.set_defaults(handler=import_health_centres)
    parser = commands.add_parser("report", help="the pilot's figures")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub = actions.add_parser("monthly", help="the monthly report per ward (.xlsx or .csv)")
    sub.add_argument("--month", required=True, metavar="MM/YYYY")
    sub.add_argument("--out", required=True, type=Path, metavar="FILE")
    sub.set_defaults(handler=monthly)
    sub = actions.add_parser("refresh", help="count the ward figures now (the workers do it every 5 minutes)")
    sub.set_defaults(handler=refresh)
