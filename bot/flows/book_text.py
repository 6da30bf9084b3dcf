"""The health book as chat text: short lines, a mark on self-declared values.

Works from the core `HealthBook` view only; splitting for a channel's length
limit is the adapter's job (every line is kept).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.i18n import N_, Translator
from core.records.epi import DoseState, ScheduleLine
from core.records.healthbook import BookEntry, BookList, BookRow, BookSection


def _mark(declared: str | None, t: Translator) -> str:
    return f" ({declared})" if declared else ""


def row_line(row: BookRow, t: Translator, indent: str = "") -> str:
    return f"{indent}{row.label}: {row.text}{_mark(row.declared, t)}"


def entry_lines(entry: BookEntry, t: Translator, indent: str = "", *,
                compact: bool = False) -> list[str]:
    """An entry under its title; `compact`: its details on one line (a visit's medicines and
    results, so that a visit fits one phone screen)."""
    lines = [f"{indent}• {entry.title}{_mark(entry.declared, t)}"]
    if compact and entry.rows:
        lines.append(indent + "   " + "; ".join(f"{row.label}: {row.text}{_mark(row.declared, t)}"
                                                for row in entry.rows))
    else:
        lines.extend(row_line(row, t, indent + "   ") for row in entry.rows)
    for child in entry.lists:
        lines.extend(list_lines(child, t, indent + "   ", compact=compact))
    return lines


def list_lines(book_list: BookList, t: Translator, indent: str = "", *,
               compact: bool = False) -> list[str]:
    lines = ["", f"{indent}{book_list.label}:"]
    if not book_list.entries:
        lines.append(f"{indent}   {book_list.empty_text}")
    for entry in book_list.entries:
        lines.extend(entry_lines(entry, t, indent, compact=compact))
    return lines


def section_text(section: BookSection, t: Translator) -> str:
    """The section's rows, then its lists: an empty list is left out when others have entries, and
    lists all empty are said in one line (six headings each over "nothing yet" fill a screen)."""
    lines = [row_line(row, t) for row in section.rows]
    filled = [book_list for book_list in section.lists if book_list.entries]
    for book_list in filled:
        lines.extend(list_lines(book_list, t))
    if section.lists and not filled:
        empty = ", ".join(book_list.label for book_list in section.lists)
        lines.extend(["", t.text(N_("Nothing recorded yet: {lists}."), lists=empty)])
    return "\n".join(lines).strip("\n")


def visit_text(entry: BookEntry, t: Translator) -> str:
    """One visit in full: its details, then its medicines, services and results, each on a line."""
    lines = [row_line(row, t) for row in entry.rows]
    for child in entry.lists:
        lines.extend(list_lines(child, t, compact=True))
    if entry.declared:
        lines.append(f"({entry.declared})")
    return "\n".join(lines).strip("\n")


@dataclass(frozen=True)
class Newest:
    """The newest entries of one of a section's lists, with the few rows each shows."""

    list_key: str
    count: int
    rows: tuple[str, ...]


def brief_text(section: BookSection, rows: tuple[str, ...], newest: Newest | None, t: Translator) -> str:
    """A few chosen rows of a section and its newest entries, for a small screen."""
    lines = [row_line(row, t) for row in section.rows if row.key in rows]
    for book_list in section.lists:
        if newest is None or book_list.key != newest.list_key:
            continue
        if not book_list.entries:
            lines.append(book_list.empty_text)
        for entry in book_list.entries[:newest.count]:
            # A blank line before each entry: a paging screen keeps an entry on one page.
            lines.extend(("", f"• {entry.title}{_mark(entry.declared, t)}"))
            lines.extend(row_line(row, t, " ") for row in entry.rows if row.key in newest.rows)
    return "\n".join(lines).strip("\n")


_SCHEDULE_LINES = {
    DoseState.DONE: N_("✅ {vaccine}, dose {dose}: given {date}"),
    DoseState.DUE: N_("⏰ {vaccine}, dose {dose}: due since {date}"),
    DoseState.OVERDUE: N_("⚠️ {vaccine}, dose {dose}: overdue, due {date}"),
    DoseState.COMING: N_("🗓 {vaccine}, dose {dose}: coming, on {date}"),
}


def schedule_text(lines: tuple[ScheduleLine, ...], t: Translator, *, pending_only: bool = False) -> str:
    """A child's doses against the national EPI schedule, first what needs doing; `pending_only`:
    only what is overdue or due (a small screen), empty when nothing is."""
    order = (DoseState.OVERDUE, DoseState.DUE, DoseState.COMING, DoseState.DONE)
    ranked = sorted(lines, key=lambda line: (order.index(line.state), line.due_on))
    if pending_only:
        ranked = [line for line in ranked if line.state in (DoseState.OVERDUE, DoseState.DUE)]
        if not ranked:
            return ""
    said = [t.text(N_("National immunization schedule (dates are day/month/year):"))]
    said += [t.text(_SCHEDULE_LINES[line.state], vaccine=line.scheduled.vaccine, dose=line.scheduled.dose,
                    date=t.date(line.given_on or line.due_on)) for line in ranked]
    return "\n".join(said)
