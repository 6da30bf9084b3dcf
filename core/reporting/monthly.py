"""The monthly report: one row per ward for all 126, with its health centre, and the totals.

Stocks (residents, complete records, activated accounts) are as at the month's end: the month's
row of `ward_month_stocks`, which every refresh of that month overwrote, so the last refresh of
the month is what it holds, and nothing changes it once the month is over (a month before any
refresh has no stocks: left empty). Flows are counted within the month from rows that carry their
date and the ward at the time, and are never rewritten: the day counts of activations and
check-ins (core.tallies), correction requests by their filing and decision times and their ward
when filed, volunteer entries by their time and the volunteer's ward. So a past month reads
the same next month.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, distinct, func, select

from core.corrections.model import CorrectionRequest
from core.db import Database
from core.i18n import N_, TIMEZONE, Message, Translator, now_utc, translator
from core.reference.wards import hanoi_wards
from core.reporting.centres import centre_by_ward
from core.reporting.figures import CHANNELS, WardMonthStocks, month_key
from core.tallies import CHECKIN, WardTally, activation
from core.volunteering.model import PendingValue

_MONTHS = WardMonthStocks.__table__
_TALLIES = WardTally.__table__
_CORRECTIONS = CorrectionRequest.__table__
_PENDING = PendingValue.__table__


class BadMonth(ValueError):
    def __init__(self, message: Message) -> None:
        super().__init__(message.msgid)
        self.message = message


def parse_month(text: str, today: dt.date | None = None) -> tuple[int, int]:
    """`11/2026` (or `2026-11`) -> (2026, 11); refused: not a month, or a month still to come."""
    text = text.strip()
    match = re.fullmatch(r"(\d{1,2})/(\d{4})", text) or re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    if match is None:
        raise BadMonth(Message(N_("Write the month and year, for example 11/2026.")))
    a, b = match.groups()
    month, year = (int(a), int(b)) if "/" in text else (int(b), int(a))
    if not 1 <= month <= 12:
        raise BadMonth(Message(N_("{month} is not a month: months are 01 to 12."),
                               {"month": a if "/" in text else b}))
    today = today or now_utc().astimezone(TIMEZONE).date()
    if (year, month) > (today.year, today.month):
        raise BadMonth(Message(N_("{month}/{year} has not begun yet."),
                               {"month": f"{month:02d}", "year": year}))
    return year, month


@dataclass(frozen=True)
class MonthlyRow:
    number: int | None  # STT; None on the total row
    ward_code: str | None
    ward_name: str
    centre_name: str | None
    residents: int | None  # stocks at the month's end (None: no figures kept for that month)
    complete: int | None
    activated: int | None
    telegram: int | None
    ussd: int | None
    new_telegram: int  # flows within the month
    new_ussd: int
    checkins: int
    corrections_filed: int
    corrections_decided: int
    volunteer_entries: int
    volunteers_active: int

    @property
    def complete_share(self) -> float | None:
        return self.complete / self.residents if self.residents and self.complete is not None else None

    @property
    def activated_share(self) -> float | None:
        return self.activated / self.residents if self.residents and self.activated is not None else None


_COUNTS = tuple(f.name for f in fields(MonthlyRow))[4:]


@dataclass(frozen=True)
class MonthlyReport:
    year: int
    month: int
    made_at: dt.datetime
    stocks_as_of: dt.datetime | None  # the refresh the month-end stocks come from
    rows: tuple[MonthlyRow, ...]  # the 126 wards, by code
    total: MonthlyRow


def _bounds(year: int, month: int) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    first = dt.date(year, month, 1)
    after = dt.date(year + month // 12, month % 12 + 1, 1)
    start = dt.datetime.combine(first, dt.time(), TIMEZONE).astimezone(dt.UTC)
    end = dt.datetime.combine(after, dt.time(), TIMEZONE).astimezone(dt.UTC)
    return first, after, start, end


def _per_ward(connection: Connection, statement: Any) -> dict[str, int]:
    return {row[0]: int(row[1]) for row in connection.execute(statement) if row[0] is not None}


def _rows(connection: Connection, year: int, month: int, made_at: dt.datetime) -> MonthlyReport:
    first, after, start, end = _bounds(year, month)
    stocks = {row.ward_code: row for row in connection.execute(
        select(_MONTHS).where(_MONTHS.c.month == month_key(first)))}
    tallies: dict[tuple[str, str], int] = {}
    for row in connection.execute(
            select(_TALLIES.c.ward_code, _TALLIES.c.kind, func.sum(_TALLIES.c.count))
            .where(_TALLIES.c.day >= first, _TALLIES.c.day < after)
            .group_by(_TALLIES.c.ward_code, _TALLIES.c.kind)):
        tallies[(row[0], row[1])] = int(row[2])
    by_ward = select(_CORRECTIONS.c.ward_code, func.count()).group_by(_CORRECTIONS.c.ward_code)
    filed = _per_ward(connection, by_ward.where(_CORRECTIONS.c.created_at >= start,
                                                _CORRECTIONS.c.created_at < end))
    decided = _per_ward(connection, by_ward.where(_CORRECTIONS.c.decided_at >= start,
                                                  _CORRECTIONS.c.decided_at < end))
    in_month = (_PENDING.c.created_at >= start, _PENDING.c.created_at < end)
    entries = _per_ward(connection, select(_PENDING.c.ward_code, func.count()).where(*in_month)
                        .group_by(_PENDING.c.ward_code))
    volunteers = _per_ward(connection, select(_PENDING.c.ward_code, func.count(distinct(_PENDING.c.staff_id)))
                           .where(*in_month).group_by(_PENDING.c.ward_code))
    centres = centre_by_ward(connection)
    rows = []
    for number, (code, ward) in enumerate(hanoi_wards().items(), start=1):
        stock = stocks.get(code)
        centre = centres.get(code)
        rows.append(MonthlyRow(
            number, code, ward.name, centre[1] if centre else None,
            *((getattr(stock, name) if stock is not None else (0 if stocks else None))
              for name in ("residents", "complete", "activated", *CHANNELS)),
            tallies.get((code, activation("telegram")), 0), tallies.get((code, activation("ussd")), 0),
            tallies.get((code, CHECKIN), 0), filed.get(code, 0), decided.get(code, 0),
            entries.get(code, 0), volunteers.get(code, 0)))
    as_of = min((row.as_of for row in stocks.values()), default=None)
    return MonthlyReport(year, month, made_at, as_of, tuple(rows), _total(rows))


def _total(rows: list[MonthlyRow]) -> MonthlyRow:
    sums: dict[str, int | None] = {}
    for name in _COUNTS:
        values = [getattr(row, name) for row in rows]
        sums[name] = None if any(v is None for v in values) else sum(values)
    return MonthlyRow(None, None, "", None, **sums)  # type: ignore[arg-type]


async def monthly_rows(db: Database, year: int, month: int) -> MonthlyReport:
    """The month's report: stocks at its end, flows within it (see the module's note)."""
    return await db.read(_rows, year, month, now_utc())


def for_wards(report: MonthlyReport, wards: Iterable[str]) -> MonthlyReport:
    """The report of some wards only (a health centre's, a station's), numbered and totalled anew."""
    chosen = set(wards)
    rows = [replace(row, number=n) for n, row in
            enumerate((row for row in report.rows if row.ward_code in chosen), start=1)]
    return replace(report, rows=tuple(rows), total=_total(rows))


# The columns, in order: (heading msgid, the row's value, the cell's number format).
COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    (N_("No."), "number", None),
    (N_("Ward code"), "ward_code", "@"),
    (N_("Ward or commune name"), "ward_name", None),
    (N_("Regional health centre"), "centre_name", None),
    (N_("Residents"), "residents", "#,##0"),
    (N_("Records with complete administrative details"), "complete", "#,##0"),
    (N_("Complete records (%)"), "complete_share", "0.0%"),
    (N_("Residents with an activated account"), "activated", "#,##0"),
    (N_("Activated (%)"), "activated_share", "0.0%"),
    (N_("Telegram accounts"), "telegram", "#,##0"),
    (N_("USSD accounts"), "ussd", "#,##0"),
    (N_("New Telegram activations in the month"), "new_telegram", "#,##0"),
    (N_("New USSD activations in the month"), "new_ussd", "#,##0"),
    (N_("Check-ins at clinics"), "checkins", "#,##0"),
    (N_("Correction requests filed"), "corrections_filed", "#,##0"),
    (N_("Correction requests decided"), "corrections_decided", "#,##0"),
    (N_("Details entered by volunteers"), "volunteer_entries", "#,##0"),
    (N_("Active volunteers"), "volunteers_active", "#,##0"),
)
WIDTHS = (6, 10, 28, 36, 12, 18, 12, 16, 12, 12, 12, 16, 16, 12, 14, 14, 16, 12)
HEADER_ROW = 6  # the spreadsheet's header row; the wards follow


def _values(row: MonthlyRow, t: Translator) -> list[Any]:
    shown = replace(row, ward_name=row.ward_name or t.text(N_("Total")))
    return [getattr(shown, attribute) for _heading, attribute, _format in COLUMNS]


def _titles(report: MonthlyReport, t: Translator) -> list[str]:
    stocks = (t.text(N_("Residents and accounts as at the end of the month (counted {at})."),
                     at=t.datetime(report.stocks_as_of)) if report.stocks_as_of else
              t.text(N_("No figures were kept for the end of this month: residents and accounts "
                        "are left empty.")))
    return [t.text(N_("HANOI DEPARTMENT OF HEALTH")),
            t.text(N_("REPORT ON ELECTRONIC HEALTH RECORDS AND BOOKS BY WARD AND COMMUNE, "
                      "MONTH {month}/{year}"),
                   month=f"{report.month:02d}", year=report.year),
            t.text(N_("Made on {at}."), at=t.datetime(report.made_at)),
            stocks]


def write_xlsx(report: MonthlyReport, out: str | Path | IO[bytes], t: Translator | None = None) -> None:
    """The report as a workbook a health department files: title rows, a frozen header, one row
    per ward, a total row of values (not formulas). Vietnamese unless `t` says otherwise."""
    from openpyxl import Workbook  # only the report needs it
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    t = t or translator("vi")
    book = Workbook(write_only=True)
    sheet = book.create_sheet(t.text(N_("Month {month}-{year}"), month=f"{report.month:02d}",
                                     year=report.year))
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = f"E{HEADER_ROW + 1}"
    bold = Font(bold=True)
    for number, title in enumerate(_titles(report, t)):
        cell = WriteOnlyCell(sheet, title)
        if number < 2:
            cell.font = Font(bold=True, size=13 if number == 1 else 11)
        sheet.append([cell])
    sheet.append([])
    headings = []
    for heading, _attribute, _format in COLUMNS:
        cell = WriteOnlyCell(sheet, t.text(heading))
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        headings.append(cell)
    sheet.append(headings)

    def cells(row: MonthlyRow, font: Font | None = None) -> list[WriteOnlyCell]:
        made = []
        for value, (_heading, _attribute, number_format) in zip(_values(row, t), COLUMNS, strict=True):
            cell = WriteOnlyCell(sheet, value)
            if number_format:
                cell.number_format = number_format
            if font is not None:
                cell.font = font
            made.append(cell)
        return made

    for row in report.rows:
        sheet.append(cells(row))
    sheet.append(cells(report.total, bold))
    book.save(out)


def csv_lines(report: MonthlyReport, t: Translator) -> Iterator[list[Any]]:
    yield [t.text(heading) for heading, _attribute, _format in COLUMNS]
    for row in (*report.rows, report.total):
        values = _values(row, t)
        yield ["" if v is None else f"{v * 100:.1f}" if isinstance(v, float) else v for v in values]


def write_csv(report: MonthlyReport, stream: IO[str], t: Translator | None = None) -> None:
    """The same rows as CSV, headings first, percentages as numbers (85.3), with the UTF-8 byte
    order mark Excel needs to read Vietnamese (open `stream` with newline="")."""
    t = t or translator("vi")
    stream.write("\ufeff")
    csv.writer(stream).writerows(csv_lines(report, t))
