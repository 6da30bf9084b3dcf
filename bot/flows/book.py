"""`/book`: the health book, section by section, as the display rules lay it out.

Visits are listed newest first, five to a page; choosing one shows its
diagnosis, prescriptions, test results and re-examination date. A channel with
small screens gets the short book: a few rows of each section, the newest
entries only, from the same assembled book.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.flows.actions import Action, Open, declare
from bot.flows.book_text import Newest, brief_text, schedule_text, section_text, visit_text
from bot.flows.paging import Page
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import StaleOption, Turn
from core.consent.access import read_own_book
from core.families import Power, read_book_for
from core.i18n import N_
from core.records.display_rules import CATALOGUE, BookGroup
from core.records.healthbook import BookList

VISITS_PER_PAGE = 5
_ICONS = {BookGroup.GENERAL: "👤", BookGroup.INSURANCE: "💳", BookGroup.HISTORY: "🩺",
          BookGroup.IMMUNIZATIONS: "💉", BookGroup.VISITS: "🏥"}


@dataclass(frozen=True)
class BriefSection:
    """One part of the short book: which rows of a section, and which of its newest entries."""

    key: str  # what its button carries
    title: str  # a catalogue message: the button's label and the screen's title
    group: BookGroup  # the section of the book it is cut from
    rows: tuple[str, ...] = ()  # display-rule keys of the section's rows it shows
    newest: Newest | None = None


# The short book on a small screen: general, insurance, allergies and blood group, the
# last three visits and the last immunizations (display-rule keys, QĐ 4026 order).
BRIEF = (
    BriefSection("general", N_("Administrative information"), BookGroup.GENERAL,
                 rows=("general.full_name", "general.birth_date", "general.sex", "general.ethnicity",
                       "general.ward")),
    BriefSection("insurance", N_("Health insurance"), BookGroup.INSURANCE,
                 rows=("insurance.card_number", "insurance.benefit_level", "insurance.valid_to",
                       "insurance.registered_facility")),
    BriefSection("allergies", N_("Allergies and blood group"), BookGroup.HISTORY,
                 rows=("history.blood_group",),
                 newest=Newest("history.allergies", 5, ("history.allergies.reaction",))),
    BriefSection("visits", N_("Last visits"), BookGroup.VISITS,
                 newest=Newest("visits.visits", 3, ("visits.diagnosis", "visits.primary_icd10"))),
    BriefSection("doses", N_("Last immunizations"), BookGroup.IMMUNIZATIONS,
                 newest=Newest("immunizations.doses", 3, ("immunizations.date",))),
)
BRIEF_BY_KEY = {brief.key: brief for brief in BRIEF}


ShowSection = declare("book", "s", "ShowSection", group=BookGroup)
ShowBrief = declare("book", "b", "ShowBrief", key=str)  # a part of the short book
ShowVisits = declare("book", "p", "ShowVisits", page=int)
ShowVisit = declare("book", "v", "ShowVisit", ref=int)


def _back(turn: Turn) -> Option:
    return Option(turn._("⬅ Health book sections"), Open("book"), back=True)


def _to_menu(turn: Turn) -> Option:
    return Option(turn._("🏠 Main menu"), Open("menu"))


class BookFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        short = turn.channel.small_screen
        if short:
            sections = [Option(turn.t.gettext(brief.title), ShowBrief(brief.key)) for brief in BRIEF]
        else:
            sections = [Option(f"{_ICONS[rule.group]} {turn.t.gettext(rule.title)}", ShowSection(rule.group))
                        for rule in CATALOGUE]
        # A small screen has no room for a title above the question.
        reply = Reply(turn._("Choose a section of your health book."),
                      title=None if short else turn._("Your health book"),
                      options=rows(*sections, _to_menu(turn)))
        return Step((reply,))

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        if isinstance(chosen, ShowSection):
            return await (self._visits(turn, 0) if chosen.group is BookGroup.VISITS
                          else self._section(turn, chosen.group))
        if isinstance(chosen, ShowBrief) and chosen.key in BRIEF_BY_KEY:
            return await self._brief(turn, BRIEF_BY_KEY[chosen.key])
        if isinstance(chosen, ShowVisits):
            return await self._visits(turn, chosen.page)
        if isinstance(chosen, ShowVisit):
            return await self._visit(turn, chosen.ref)
        raise StaleOption

    async def _book(self, turn: Turn, group: BookGroup):
        book = await self._read(turn, group)
        return book.section(group) if book is not None else None

    async def _read(self, turn: Turn, group: BookGroup):
        assert turn.subject is not None
        if turn.for_someone is not None:  # a dependent's book: the read is logged for them
            assert turn.actor is not None
            book = await read_book_for(turn.db, turn.actor, turn.account.id, turn.for_someone,
                                       locale=turn.t.locale, only={group})
        else:
            book = await read_own_book(turn.db, turn.subject, locale=turn.t.locale, only={group})
        return book

    async def _section(self, turn: Turn, group: BookGroup) -> Step:
        book = await self._read(turn, group)
        section = book.section(group) if book is not None else None
        if book is None or section is None:
            raise StaleOption
        text = section_text(section, turn.t) or turn._("Nothing recorded yet.")
        if book.schedule:  # a young child's: what the national schedule asks next, above the doses
            text = schedule_text(book.schedule, turn.t) + "\n\n" + text
        return Step((Reply(text, title=section.title, options=rows(_back(turn), _to_menu(turn))),))

    async def _brief(self, turn: Turn, brief: BriefSection) -> Step:
        book = await self._read(turn, brief.group)
        section = book.section(brief.group) if book is not None else None
        if book is None or section is None:
            raise StaleOption
        text = brief_text(section, brief.rows, brief.newest, turn.t)
        if book.schedule:  # a small screen: only what the schedule asks of the family now
            waiting = schedule_text(book.schedule, turn.t, pending_only=True)
            text = f"{waiting}\n{text}" if waiting else text
        return Step((Reply(text or turn._("Nothing recorded yet."), title=turn.t.gettext(brief.title),
                           options=rows(_back(turn), _to_menu(turn))),))

    def _visit_list(self, section) -> BookList | None:
        return next((lst for lst in section.lists if lst.key == "visits.visits"), None)

    async def _visits(self, turn: Turn, page: int) -> Step:
        section = await self._book(turn, BookGroup.VISITS)
        visits = self._visit_list(section) if section is not None else None
        if section is None or visits is None:
            raise StaleOption
        if not visits.entries:
            return Step((Reply(visits.empty_text, title=section.title,
                               options=rows(_back(turn), _to_menu(turn))),))
        shown = Page.of(visits.entries, page, VISITS_PER_PAGE)
        options = [(Option(entry.title, ShowVisit(entry.ref)),) for entry in shown.items]
        options += shown.navigation(turn, ShowVisits, newer_older=True)
        options.extend([(_back(turn),), (_to_menu(turn),)])
        return Step((Reply(shown.visits_said(turn), title=section.title, options=tuple(options)),))

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
        options = rows(Option(turn._("⬅ Back to visits"), ShowVisits(page), back=True), _back(turn),
                       _to_menu(turn))
        return Step((Reply(visit_text(entry, turn.t), title=entry.title, options=options),))


JOURNEY = Journey("book", BookFlow(), Requires.CITIZEN, Subject.OWN, power=Power.READ,
                  commands=("book", "so"),
                  describe=N_("My health book"), menu=N_("📖 My health book"), order=10)
