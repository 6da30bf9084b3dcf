"""Prints the table of docs/BOOK.md "Every line and its source" from the display rules.

    .venv/bin/python scripts/book_sources.py

One row per line the book can show: its section, its label (Vietnamese, then English),
the legal text and the element, register column or list it comes from, and who sees it.
tests/test_docs.py checks that the document names every line with its source.
"""

from __future__ import annotations

from core.i18n import translator
from core.records.display_rules import CATALOGUE, EntryRule, FieldRule, SectionRule

AUDIENCE_WORDS = {"citizen": "citizen", "clinic": "clinic", "volunteer": "volunteer"}


def _rows(rule: SectionRule | EntryRule, place: str) -> list[tuple[str, FieldRule]]:
    rows = [(place, f) for f in rule.fields]
    children = rule.entries if isinstance(rule, SectionRule) else rule.children
    vi = translator("vi")
    for child in children:
        rows.extend(_rows(child, f"{place} › {vi.gettext(child.label)}"))
    return rows


def main() -> None:
    vi = translator("vi")
    print("| Section | Line | In English | From | Legal source | Seen by |")
    print("|---|---|---|---|---|---|")
    for section in CATALOGUE:
        for place, field in _rows(section, vi.gettext(section.title)):
            where = field.element.replace("|", "/")
            if field.in_title:
                where += " (the entry's title)"
            if field.our_reading:
                where += " — our reading"
            seen = ", ".join(sorted(a.value for a in field.audiences))
            print(f"| {place} | {vi.gettext(field.label)} | {field.label} | {where} "
                  f"| {field.legal_source} | {seen} |")


if __name__ == "__main__":
    main()
