"""The reception card as text: readable at a glance at the desk, on one phone screen.

What the card shows is core's rule (core/checkin/card.py); here it is written as text, visits
as one-line summaries; a visit's full detail is opened on request (bot/flows/checkin.py). The
card's heading names the person, so no line repeats the name.
"""

from __future__ import annotations

from bot.flows.book_text import row_line
from core.checkin.card import (
    ALLERGIES,
    ALLERGY_DETAIL,
    NEWEST_VISITS,
    card_rows,
    name_of,
    other_history,
    visit_list,
)
from core.i18n import N_, Translator
from core.records.display_rules import BookGroup
from core.records.healthbook import BookEntry, BookList, BookSection, HealthBook

__all__ = ["NEWEST_VISITS", "card_text", "name_of", "visit_line", "visit_list"]


def _mark(declared: str | None) -> str:
    return f" ({declared})" if declared else ""


def _one_line(entry: BookEntry, detail: tuple[str, ...] = ()) -> str:
    """An entry's title, and the chosen rows' values after it."""
    values = [row.text for row in entry.rows if row.key in detail and not row.missing]
    return entry.title + (f" ({', '.join(values)})" if values else "") + _mark(entry.declared)


def _list_line(book_list: BookList, detail: tuple[str, ...] = ()) -> str:
    entries = "; ".join(_one_line(entry, detail) for entry in book_list.entries)
    return f"{book_list.label}: {entries or book_list.empty_text}"


def _rows(section: BookSection, t: Translator) -> list[str]:
    return [row_line(row, t) for row in card_rows(section)]


def _history(section: BookSection, t: Translator) -> list[str]:
    """Allergies first, said even when there are none; then the other lists that hold anything."""
    allergies = [_list_line(lst, ALLERGY_DETAIL) for lst in section.lists if lst.key == ALLERGIES]
    others = [_list_line(lst) for lst in other_history(section)]
    return allergies + _rows(section, t) + others


def visit_line(entry: BookEntry) -> str:
    """One visit on one line: date · facility — diagnosis (the clinic's words, else the main
    illness by its name and ICD-10 code)."""
    found = {row.key: row.text for row in entry.rows if not row.missing}
    diagnosis = found.get("visits.diagnosis") or found.get("visits.primary_icd10")
    return f"• {entry.title}" + (f" — {diagnosis}" if diagnosis else "") + _mark(entry.declared)


def _visits(visits: BookList, t: Translator) -> list[str]:
    if not visits.entries:
        return [visits.empty_text]
    total = len(visits.entries)
    shown = visits.entries[:NEWEST_VISITS]
    said = (t.text(N_("Visits: {total}, the newest {shown}:"), total=total, shown=len(shown))
            if total > len(shown) else t.text(N_("Visits: {total}."), total=total))
    return [said, *(visit_line(entry) for entry in shown)]


def card_text(book: HealthBook, t: Translator) -> str:
    """The card's body, section by section, in the book's order."""
    parts = []
    for section in book.sections:
        if section.group is BookGroup.HISTORY:
            lines = _history(section, t)
        elif section.group is BookGroup.VISITS:
            found = visit_list(book)
            lines = _visits(found, t) if found is not None else []
        else:
            lines = _rows(section, t)
        if lines and section.group is not BookGroup.GENERAL:
            lines.insert(0, f"— {section.title} —")
        parts.append("\n".join(lines))
    return "\n\n".join(part for part in parts if part)
