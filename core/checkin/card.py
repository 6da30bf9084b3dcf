"""What the reception card shows of a book: one rule for every channel (the bot's text card and
the console's page draw it).

Who the person is and their insurance card, their history with allergies first (they matter at
the desk) and the newest few visits with how many there are. The book given is already the
clinic's view of it (core.consent.access.read_book_as): the card only chooses among what the
person shares.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.checkin import tokens
from core.i18n import N_, Message
from core.records.display_rules import BookGroup
from core.records.healthbook import BookList, BookRow, BookSection, HealthBook

# Display-rule keys of the rows the card shows, section by section (the name is the heading).
CARD_ROWS = {
    BookGroup.GENERAL: ("general.personal_id", "general.birth_date", "general.sex", "general.phone",
                        "general.street_address", "general.guardian", "general.emergency_contact"),
    BookGroup.INSURANCE: ("insurance.card_number", "insurance.benefit_level", "insurance.valid_to",
                          "insurance.registered_facility"),
    BookGroup.HISTORY: ("history.blood_group",),
}
ALLERGIES = "history.allergies"
ALLERGY_DETAIL = ("history.allergies.reaction",)
VISITS = "visits.visits"
NEWEST_VISITS = 3


def _minutes() -> int:
    return int(tokens.token_validity().total_seconds() // 60)


def not_opened() -> Message:
    """Reception's one answer for a code that is unknown, expired or replaced: it reveals nothing."""
    return Message(N_("This code does not open a health book: it may be mistyped, expired (a code "
                      "lasts {minutes} minutes) or replaced by a newer one. Ask the person to show "
                      "their newest code."), {"minutes": _minutes()})


def card_closed() -> Message:
    """A card's visits asked for after its code stopped being valid."""
    return Message(N_("This card is closed: its visits open only while the person's code is valid "
                      "({minutes} minutes), and only as far as the person shares them. Ask the "
                      "person to show their newest code."), {"minutes": _minutes()})


def card_rows(section: BookSection) -> tuple[BookRow, ...]:
    keys = CARD_ROWS.get(section.group, ())
    return tuple(row for row in section.rows if row.key in keys)


def book_list(book: HealthBook, group: BookGroup, key: str) -> BookList | None:
    section = book.section(group)
    return next((lst for lst in section.lists if lst.key == key), None) if section else None


def visit_list(book: HealthBook) -> BookList | None:
    return book_list(book, BookGroup.VISITS, VISITS)


def allergy_list(book: HealthBook) -> BookList | None:
    return book_list(book, BookGroup.HISTORY, ALLERGIES)


def other_history(section: BookSection) -> tuple[BookList, ...]:
    """The history's other lists that hold anything (allergies are said apart, even when none)."""
    return tuple(lst for lst in section.lists if lst.key != ALLERGIES and lst.entries)


def name_of(book: HealthBook) -> str:
    general = book.section(BookGroup.GENERAL)
    rows = general.rows if general is not None else ()
    return next((row.text for row in rows if row.key == "general.full_name"), "")


@dataclass(frozen=True)
class CardSection:
    group: BookGroup
    title: str
    rows: tuple[BookRow, ...]
    lists: tuple[BookList, ...]


def card_sections(book: HealthBook) -> tuple[CardSection, ...]:
    """The card's sections in the book's order, with the rows and lists each shows (allergies and
    visits apart: `allergy_list`, `visit_list`)."""
    return tuple(CardSection(s.group, s.title, card_rows(s),
                             other_history(s) if s.group is BookGroup.HISTORY else ())
                 for s in book.sections)
