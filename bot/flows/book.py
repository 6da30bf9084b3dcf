"""`/book`: the health book, section by section, as the display rules lay it out.

Visits are listed newest first, five to a page; choosing one shows its
diagnosis, prescriptions, test results and re-examination date. A keypad
channel (USSD) gets the short book: a few rows of each section, the newest
entries only, from the same assembled book.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.flows.book_text import brief_text, section_text, visit_text
from bot.flows.menu import menu_reply
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import StaleOption, Turn
from core.consent.access import read_own_book
from core.i18n import N_
from core.records.display_rules import CATALOGUE, BookGroup
from core.records.healthbook import BookList

VISITS_PER_PAGE = 5
_ICONS = {BookGroup.GENERAL: "👤", BookGroup.INSURANCE: "💳", BookGroup.HISTORY: "🩺",
          BookGroup.IMMUNIZATIONS: "💉", BookGroup.VISITS: "🏥"}


@dataclass(frozen=True)
class BriefSection:
    """One part of the short book: which rows of a section, and how many of its newest entries."""

    key: str
    title: str
    group: BookGroup
    rows: tuple[str, ...] = ()
    list_key: str | None = None
    entries: int = 0
    entry_rows: tuple[str, ...] = ()


# The short book on a feature phone: general, insurance, allergies and blood group, the
# last three visits and the last immunizations (display-rule keys, QĐ 4026 order).
BRIEF = (
    BriefSection("general", N_("General information"), BookGroup.GENERAL,
                 rows=("general.full_name", "general.birth_date", "general.sex", "general.ethnicity",
                       "general.ward")),
    BriefSection("insurance", N_("Health insurance"), BookGroup.INSURANCE,
                 rows=("insurance.card_number", "insurance.benefit_level", "insurance.valid_to",
                       "insurance.registered_facility")),
    BriefSection("allergies", N_("Allergies and blood group"), BookGroup.HISTORY,
                 rows=("history.blood_group",), list_key="history.allergies", entries=5,
                 entry_rows=("history.allergies.reaction",)),
    BriefSection("visits", N_("Last visits"), BookGroup.VISITS, list_key="visits.visits", entries=3,
                 entry_rows=("visits.diagnosis",)),
    BriefSection("doses", N_("Last immunizations"), BookGroup.IMMUNIZATIONS,
                 list_key="immunizations.doses", entries=3, entry_rows=("immunizations.date",)),
)
BRIEF_BY_KEY = {brief.key: brief for brief in BRIEF}


def _back(turn: Turn) -> Option:
    return Option(turn._("⬅ Health book sections"), "book")


def _to_menu(turn: Turn) -> Option:
    return Option(turn._("🏠 Main menu"), "menu")


class BookFlow:
    name = "book"

    async def start(self, turn: Turn, payload: str = "") -> Step:
        if not turn.account.linked:
            return Step((menu_reply(turn, turn._("Please verify your identity first, then you can "
                                                 "read your health book.")),))
        if turn.channel.keypad:
            sections = [Option(turn.t.gettext(brief.title), f"book:b:{brief.key}") for brief in BRIEF]
        else:
            sections = [Option(f"{_ICONS[rule.group]} {turn.t.gettext(rule.title)}",
                               f"book:s:{rule.group.value}") for rule in CATALOGUE]
        # A keypad screen has no room for a title above the question.
        reply = Reply(turn._("Choose a section of your health book."),
                      title=None if turn.channel.keypad else turn._("Your health book"),
                      options=rows(*sections, _to_menu(turn)))
        return Step((reply,))

    async def on_option(self, turn: Turn, args: list[str]) -> Step:
        if not turn.account.linked or not args:
            return await self.start(turn)
        kind, *rest = args
        try:
            if kind == "s" and rest:
                group = BookGroup(rest[0])
                return await (self._visits(turn, 0) if group is BookGroup.VISITS
                              else self._section(turn, group))
            if kind == "b" and rest and rest[0] in BRIEF_BY_KEY:
                return await self._brief(turn, BRIEF_BY_KEY[rest[0]])
            if kind == "p" and rest:
                return await self._visits(turn, int(rest[0]))
            if kind == "v" and rest:
                return await self._visit(turn, int(rest[0]))
        except ValueError:
            raise StaleOption from None
        raise StaleOption

    async def _book(self, turn: Turn, group: BookGroup):
        assert turn.account.citizen_id is not None
        book = await read_own_book(turn.db, turn.account.citizen_id, locale=turn.t.locale, only={group})
        return book.section(group) if book is not None else None

    async def _section(self, turn: Turn, group: BookGroup) -> Step:
        section = await self._book(turn, group)
        if section is None:
            raise StaleOption
        text = section_text(section, turn.t) or turn._("Nothing recorded yet.")
        return Step((Reply(text, title=section.title, options=rows(_back(turn), _to_menu(turn))),))

    async def _brief(self, turn: Turn, brief: BriefSection) -> Step:
        section = await self._book(turn, brief.group)
        if section is None:
            raise StaleOption
        text = brief_text(section, brief.rows, brief.list_key, brief.entries, brief.entry_rows, turn.t)
        return Step((Reply(text or turn._("Nothing recorded yet."), title=turn.t.gettext(brief.title),
                           options=rows(_back(turn), _to_menu(turn))),))

    def _visit_list(self, section) -> BookList | None:
        return next((lst for lst in section.lists if lst.key == "visits.visits"), None)

    async def _visits(self, turn: Turn, page: int) -> Step:
        section = await self._book(turn, BookGroup.VISITS)
        visits = self._visit_list(section) if section is not None else None
        if section is None or visits is None:
            raise StaleOption
        total = len(visits.entries)
        if total == 0:
            return Step((Reply(visits.empty_text, title=section.title,
                               options=rows(_back(turn), _to_menu(turn))),))
        pages = (total + VISITS_PER_PAGE - 1) // VISITS_PER_PAGE
        page = min(max(page, 0), pages - 1)  # an old page button after visits were removed
        first = page * VISITS_PER_PAGE
        shown = visits.entries[first:first + VISITS_PER_PAGE]
        options = [(Option(entry.title, f"book:v:{entry.ref}"),) for entry in shown]
        navigation = []
        if page > 0:
            navigation.append(Option(turn._("◀ Newer"), f"book:p:{page - 1}"))
        if page < pages - 1:
            navigation.append(Option(turn._("Older ▶"), f"book:p:{page + 1}"))
        if navigation:
            options.append(tuple(navigation))
        options.extend([(_back(turn),), (_to_menu(turn),)])
        text = turn._("Visits {first}–{last} of {total}, newest first. Choose one to see its "
                      "details.", first=first + 1, last=first + len(shown), total=total)
        return Step((Reply(text, title=section.title, options=tuple(options)),))

    async def _visit(self, turn: Turn, ref: int) -> Step:
        section = await self._book(turn, BookGroup.VISITS)
        visits = self._visit_list(section) if section is not None else None
        entries = visits.entries if visits is not None else ()
        index = next((i for i, entry in enumerate(entries) if entry.ref == ref), None)
        if index is None:
            text = turn._("This visit is no longer in your health book.")
            return Step((Reply(text, options=rows(_back(turn), _to_menu(turn))),))
        entry = entries[index]
        page = index // VISITS_PER_PAGE
        options = rows(Option(turn._("⬅ Back to visits"), f"book:p:{page}"), _back(turn), _to_menu(turn))
        return Step((Reply(visit_text(entry, turn.t), title=entry.title, options=options),))
