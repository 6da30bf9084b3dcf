"""The health book as plain text (the `book` command; a reference rendering)."""

from __future__ import annotations

from core.i18n import Translator
from core.records.healthbook import BookEntry, BookList, BookRow, HealthBook


def _row(row: BookRow, indent: str, t: Translator) -> str:
    mark = f" [{row.declared}]" if row.declared else ""
    return f"{indent}{row.label}: {row.text}{mark}"


def _list(book_list: BookList, indent: str, t: Translator) -> list[str]:
    lines = [f"{indent}{book_list.label}:"]
    if not book_list.entries:
        lines.append(f"{indent}  {book_list.empty_text}")
    for entry in book_list.entries:
        lines.extend(_entry(entry, indent + "  ", t))
    return lines


def _entry(entry: BookEntry, indent: str, t: Translator) -> list[str]:
    mark = f" [{entry.declared}]" if entry.declared else ""
    lines = [f"{indent}- {entry.title}{mark}"]
    lines.extend(_row(row, indent + "    ", t) for row in entry.rows)
    for child in entry.lists:
        lines.extend(_list(child, indent + "    ", t))
    return lines


def render_book(book: HealthBook, t: Translator) -> str:
    lines: list[str] = []
    for section in book.sections:
        lines.append(f"== {section.title} ==")
        lines.extend(_row(row, "  ", t) for row in section.rows)
        for book_list in section.lists:
            lines.extend(_list(book_list, "  ", t))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
