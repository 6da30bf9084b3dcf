"""Reception: open a citizen's check-in link (or type its 8-digit code) and see the card.

The card is the clinic audience of the display rules as the citizen's consent
allows (`core.consent.access.read_book_as`: the one way anyone else reads a
book); the citizen is told at once who looked.
"""

from __future__ import annotations

from bot.flows.actions import Open
from bot.flows.book_text import section_text
from bot.flows.menu import menu_reply
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Notice, Option, Reply, Step, rows
from bot.flows.turn import Turn
from core.checkin import desk, tokens
from core.checkin.desk import DeskLookup, DeskState
from core.consent.access import AccessRecord, read_book_as
from core.consent.grants import consent_of, group_names
from core.consent.policy import Reader, any_clinic_sees
from core.i18n import N_, Translator, today_hanoi
from core.identity.accounts import JourneyState

ASK_CODE = JourneyState("checkin", "code")


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


class CheckinFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        if turn.input.command == "start":  # a scanned QR code: /start ci_<token>
            found = await desk.open_link(turn.db, turn.account, turn.staff, payload)
            return await self._open(turn, found, via="qr")
        if payload.strip():  # /checkin 4821 3907
            return await self._typed_code(turn, payload)
        return Step((Reply(turn._("Type the 8-digit code the person reads out, for example 4821 3907.")),),
                    ASK_CODE)

    async def on_input(self, turn: Turn) -> Step:
        return await self._typed_code(turn, turn.input.text)

    async def on_action(self, turn: Turn, action: object) -> Step:
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
        staff = turn.staff
        if found.state is DeskState.NOT_RECEPTION or staff is None:
            return self._not_staff(turn)
        # Unknown, expired or replaced: one answer, so a code reveals nothing to anyone but its owner.
        minutes = int(tokens.token_validity().total_seconds() // 60)
        invalid = Step((Reply(turn._("This code does not open a health book: it may be mistyped, expired "
                                     "(a code lasts {minutes} minutes) or replaced by a newer one. Ask the "
                                     "person to show their newest code.", minutes=minutes),
                              options=_again(turn)),), ASK_CODE)
        if found.state is not DeskState.OPEN or found.citizen_id is None:
            return invalid
        reader = Reader(turn.account.id, staff.role.value, staff.facility_code, None, staff.name)
        read = await read_book_as(turn.db, reader, found.citizen_id, via=via, token_id=found.token_id,
                                  locale=turn.t.locale)
        if read.book is None or read.access is None:
            return invalid
        general = read.book.sections[0]
        name = next((row.text for row in general.rows if row.key == "general.full_name"), "")
        parts = [section_text(section, turn.t) if index == 0 else
                 f"— {section.title} —\n{section_text(section, turn.t)}"
                 for index, section in enumerate(read.book.sections)]
        shown = group_names(read.access.groups, turn.t)
        parts.append(turn._("Shown with the person's consent: {groups}.", groups=shown))
        card = Reply("\n\n".join(parts), title=turn._("Check-in card: {name}", name=name),
                     options=_again(turn))
        return Step((card,), notify=(Notice(found.citizen_id, viewed_notice(read.access)),))

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
