"""Reception: open a citizen's check-in link (or type its 8-digit code) and see the card.

The card is the clinic audience of the display rules as the citizen's consent
allows (`core.consent.access.read_book_as`: the one way anyone else reads a
book); the citizen is told at once who looked. It fits one screen
(bot/flows/desk_card.py): a visit's detail opens on request, read again through
the same door and logged, only while the card's code is valid.
"""

from __future__ import annotations

from bot.flows.actions import Open, declare
from bot.flows.book_text import visit_text
from bot.flows.desk_card import NEWEST_VISITS, card_text, name_of, visit_line, visit_list
from bot.flows.menu import menu_reply, staff_home
from bot.flows.paging import Page
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Notice, Option, Reply, Step, rows
from bot.flows.turn import Turn
from core.checkin import desk, tokens
from core.checkin.card import card_closed, not_opened
from core.checkin.desk import DeskLookup, DeskState
from core.consent.access import AccessRecord, read_book_as
from core.consent.grants import consent_of, group_names
from core.consent.policy import Reader, any_clinic_sees
from core.families.rules import PRESENTED_AS
from core.i18n import N_, Translator, today_hanoi
from core.identity.accounts import JourneyState
from core.records.display_rules import BookGroup
from core.records.healthbook import BookList

ASK_CODE = JourneyState("checkin", "code")
VISITS_PER_PAGE = 5

# The card's buttons name the check-in code it was opened with: a visit opens only while that
# code is valid, for the account that opened the card (core.checkin.desk.reopen).
ShowVisit = declare("checkin", "v", "ShowVisit", token=int, ref=int)
ListVisits = declare("checkin", "l", "ListVisits", token=int)  # from the card: a message of its own
ShowVisits = declare("checkin", "p", "ShowVisits", token=int, page=int)  # a page of that list
Stop = declare("checkin", "x", "Stop", in_journey=True)


def viewed_notice(access: AccessRecord):
    """The citizen's message: who viewed which groups, when."""
    def write(t: Translator) -> Reply:
        place = access.facility_name or access.facility_code or ""
        return Reply(t.text(N_("Reception of {facility} viewed your health book ({groups}) at {time}."),
                            facility=place, groups=group_names(access.groups, t).lower(),
                            time=t.datetime(access.at)),
                     options=rows(Option(t.gettext(N_("👁 Who viewed my record")), Open("access"))))
    return write


def _again(turn: Turn) -> tuple[tuple[Option, ...], ...]:
    return rows(Option(turn._("⌨ Type a code"), Open("checkin")))


def _reader(turn: Turn) -> Reader:
    staff = turn.staff
    assert staff is not None  # the journey requires reception (the engine checks)
    return staff.reader


class CheckinFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        if turn.input.command == "start":  # a scanned QR code: /start ci_<token>
            found = await desk.open_link(turn.db, turn.account, turn.staff, payload)
            return await self._open(turn, found, via="qr")
        if payload.strip():  # /checkin 4821 3907
            return await self._typed_code(turn, payload)
        # A message of its own: a card open above stays in view.
        ask = Reply(turn._("Type the 8-digit code the person reads out, for example 4821 3907."),
                    options=rows(Option(turn._("✖ Stop"), Stop())), new_message=True)
        return Step((ask,), ASK_CODE)

    async def on_input(self, turn: Turn) -> Step:
        return await self._typed_code(turn, turn.input.text)

    async def on_action(self, turn: Turn, action: object) -> Step:
        if isinstance(action, Stop):
            assert turn.staff is not None
            return staff_home(turn, turn.staff, turn._("Stopped. Nothing was saved."))
        if isinstance(action, ShowVisit):
            return await self._visit(turn, action.token, action.ref)
        if isinstance(action, ListVisits | ShowVisits):
            page = action.page if isinstance(action, ShowVisits) else 0
            return await self._visits(turn, action.token, page, new=isinstance(action, ListVisits))
        return await self.start(turn)

    async def _typed_code(self, turn: Turn, typed: str) -> Step:
        if tokens.code_digest(typed) is None:  # a slip of the keyboard, not a guess: not counted
            return Step((Reply(turn._("A check-in code has 8 digits, for example 4821 3907. Please type it "
                                      "again."), options=_again(turn)),), ASK_CODE)
        found = await desk.open_code(turn.db, turn.account, turn.staff, typed)
        return await self._open(turn, found, via="code")

    def _not_staff(self, turn: Turn) -> Step:
        text = turn._("This is a clinic check-in code. Only registered reception staff can open it.")
        return Step((menu_reply(turn, text),))

    async def _open(self, turn: Turn, found: DeskLookup, *, via: str) -> Step:
        if found.state is DeskState.OWN and found.citizen_id is not None:
            return await self._own_code(turn, found.citizen_id)
        if found.state is DeskState.PAUSED:
            return Step((Reply(turn._("Too many codes that opened nothing. Please wait 10 minutes, then try "
                                      "again.")),))
        if found.state is DeskState.NOT_RECEPTION or turn.staff is None:
            return self._not_staff(turn)
        # Unknown, expired or replaced: one answer, so a code reveals nothing to anyone but its owner.
        invalid = Step((Reply(not_opened().render(turn.t), options=_again(turn)),), ASK_CODE)
        if found.state is not DeskState.OPEN or found.citizen_id is None or found.token_id is None:
            return invalid
        read = await read_book_as(turn.db, _reader(turn), found.citizen_id, via=via,
                                  token_id=found.token_id, locale=turn.t.locale)
        if read.book is None or read.access is None:
            return invalid
        parts = [card_text(read.book, turn.t),
                 turn._("Shown with the person's consent: {groups}.",
                        groups=group_names(read.access.groups, turn.t))]
        if found.presenter_name and found.presented_as in PRESENTED_AS:
            # Shown by a guardian or proxy: the desk sees who stands in front of it, and as what.
            parts.insert(0, turn._("👤 Presented by {name}, {capacity}.", name=found.presenter_name,
                                   capacity=turn.t.gettext(PRESENTED_AS[found.presented_as])))
        visits = visit_list(read.book)
        entries = visits.entries if visits is not None else ()
        options = [(Option(entry.title, ShowVisit(found.token_id, entry.ref)),)
                   for entry in entries[:NEWEST_VISITS] if entry.ref is not None]
        if len(entries) > NEWEST_VISITS:
            options.append((Option(turn._("📋 All {total} visits", total=len(entries)),
                                   ListVisits(found.token_id)),))
        title = turn._("Check-in card: {name}", name=name_of(read.book))
        card = Reply("\n\n".join(parts), title=title, options=(*options, *_again(turn)))
        told = (found.citizen_id, *((found.presenter_id,) if found.presenter_id else ()))
        return Step((card,), notify=tuple(Notice(who, viewed_notice(read.access)) for who in told))

    async def _visits_read(self, turn: Turn, token: int) -> tuple[str, BookList] | None:
        """The card's visits read again, through the one door and logged, while its code is
        valid."""
        found = await desk.reopen(turn.db, turn.account, turn.staff, token)
        if found.state is not DeskState.OPEN or found.citizen_id is None:
            return None
        read = await read_book_as(turn.db, _reader(turn), found.citizen_id, via="card",
                                  token_id=token, locale=turn.t.locale,
                                  only=frozenset({BookGroup.GENERAL, BookGroup.VISITS}))
        visits = visit_list(read.book) if read.book is not None else None
        return (name_of(read.book), visits) if read.book and visits else None

    def _closed(self, turn: Turn) -> Step:
        return Step((Reply(card_closed().render(turn.t), options=_again(turn), new_message=True),))

    async def _visits(self, turn: Turn, token: int, page: int, *, new: bool) -> Step:
        found = await self._visits_read(turn, token)
        if found is None or not found[1].entries:
            return self._closed(turn)
        _name, visits = found
        shown = Page.of(visits.entries, page, VISITS_PER_PAGE)
        options = [(Option(entry.title, ShowVisit(token, entry.ref)),) for entry in shown.items
                   if entry.ref is not None]
        options += shown.navigation(turn, lambda to: ShowVisits(token, to), newer_older=True)
        text = "\n".join([shown.visits_said(turn), "", *(visit_line(entry) for entry in shown.items)])
        return Step((Reply(text, title=visits.label, options=tuple(options), new_message=new),))

    async def _visit(self, turn: Turn, token: int, ref: int) -> Step:
        found = await self._visits_read(turn, token)
        entry = next((e for e in found[1].entries if e.ref == ref), None) if found else None
        if found is None or entry is None:
            return self._closed(turn)
        title = turn._("{name}: visit of {visit}", name=found[0], visit=entry.title)
        return Step((Reply(visit_text(entry, turn.t), title=title, new_message=True),))

    async def _own_code(self, turn: Turn, citizen_id: int) -> Step:
        consent = await consent_of(turn.db, citizen_id)
        sees = group_names(any_clinic_sees(consent, today_hanoi()), turn.t)
        text = turn._("This is your own check-in code. Show it at the reception desk; the clinic will "
                      "see: {groups}.", groups=sees)
        return Step((menu_reply(turn, text),))


# Typed codes are reception's work; a scanned link is open to anyone (the desk core decides and
# counts: its owner is told what the clinic will see, anyone else is refused).
JOURNEY = Journey("checkin", CheckinFlow(), Requires.RECEPTIONIST, Subject.NONE,
                  commands=("checkin", "tiepdon"), describe=N_("Open a person's check-in code"),
                  menu=N_("⌨ Type a code"), order=12, deep_link="ci_", deep_link_requires=Requires.ANYONE,
                  small_screens=False, listed=False)
