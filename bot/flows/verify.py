"""Verify who the person is: personal ID, then date of birth, then their own phone number.

Decree 13/2023/NĐ-CP: the person is told what is processed and why before
giving anything. Refusals read the same whether or not the ID exists.
"""

from __future__ import annotations

from bot.flows import pin
from bot.flows.actions import Action, Open, declare
from bot.flows.menu import menu_reply, typed
from bot.flows.pending import waiting_prompt
from bot.flows.registry import Journey, Requires
from bot.flows.replies import InputKind, Option, Reply, Step, rows
from bot.flows.turn import Turn
from core import validation
from core.i18n import N_
from core.identity import verification
from core.identity.accounts import JourneyState
from core.identity.verification import Claim, Outcome
from core.values import CitizenStatus

ASK_ID = JourneyState("verify", "id")


Stop = declare("verify", "x", "Stop", in_journey=True)


def _cancel(turn: Turn) -> tuple[tuple[Option, ...], ...]:
    return rows(Option(turn._("✖ Stop"), Stop()))


def _ask_id(turn: Turn, before: str | None = None) -> Reply:
    text = turn._("Please type your personal ID number (số CCCD, 12 digits).")
    return Reply(f"{before}\n\n{text}" if before else text, options=_cancel(turn))


def _ask_birth_date(turn: Turn) -> str:
    if not turn.channel.typing:  # digits only: no slash to type
        return turn._("Type your date of birth as 8 digits, day, month, year: for example "
                      "05091960.")
    return turn._("Type your date of birth as day/month/year, for example 05/09/1960.")


def _way_back(turn: Turn) -> tuple[tuple[Option, ...], ...]:
    """Where an end of verification leaves the person: help, and the menu."""
    return rows(Option(turn._("❓ Help"), Open("help")), Option(turn._("🏠 Main menu"), Open("menu")))


async def _locked(turn: Turn, claim: Claim | None = None) -> Step:
    # Nothing about the record: the same words whether or not the ID exists, no station named.
    until = await verification.paused_until(turn.db, turn.account, claim)
    text = turn._("For your safety, verification is paused after five unsuccessful tries. You can "
                  "try again from {time}, Hanoi time, or verify in person: bring your ID card to "
                  "the health station of your ward.",
                  time=turn.t.datetime(until))
    # The phone button goes; the way back comes in a message of its own (one keyboard a message).
    return Step((Reply(text, close_keyboard=True),
                 Reply(turn._("What would you like to do?"), options=_way_back(turn))))


async def _tries_left(turn: Turn) -> str:
    return turn._("Tries left before verification pauses for 24 hours: {count}.",
                  count=await verification.tries_left(turn.db, turn.account))


async def _refused(turn: Turn, claim: Claim) -> Step:
    """What happened, how many tries are left, and that it starts over; then the first question."""
    # One text for an unknown ID, a wrong birth date and a number that is not the record's.
    lines = [turn._("These details do not match our records."), await _tries_left(turn),
             turn._("Let us start again from your personal ID.")]
    return Step((Reply(" ".join(lines), close_keyboard=True), _ask_id(turn)), ASK_ID)


class VerifyFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        if await verification.locked(turn.db, turn.account):
            return await _locked(turn)
        if turn.channel.small_screen:  # the notice in one sentence, the question beside it
            notice = turn._("To protect your data (Decree 13/2023/NĐ-CP), we check your ID, birth date "
                            "and this phone number.")
            return Step((_ask_id(turn, notice),), ASK_ID)
        notice = "\n".join((
            turn._("This bot shows you your electronic health book, kept by the Hanoi health "
                   "sector from the population and insurance registers, clinics and immunization "
                   "records."),
            turn._("To protect your health data (Decree 13/2023/NĐ-CP) I first check that you are "
                   "the owner: your personal ID, your date of birth and your phone number. They "
                   "are used only for this check."),
            turn._("You may see your data, ask to correct them, and unlink this account at any "
                   "time with {logout}.", logout=typed(turn, "logout")),
        ))
        return Step((Reply(notice, title=turn._("Welcome to the Hanoi electronic health book")),
                     _ask_id(turn)), ASK_ID)

    def again(self, turn: Turn, before: str) -> Step:
        """Verification from the first question for an account that is linked already (a
        forgotten PIN): finishing it links the account anew."""
        return Step((_ask_id(turn, before),), ASK_ID)

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        return Step((Reply(turn._("Verification stopped. Nothing was saved."), close_keyboard=True),
                     menu_reply(turn)))

    async def on_input(self, turn: Turn) -> Step:
        step = turn.state.step
        if step == "id":
            return await self._personal_id(turn)
        claim = Claim.from_data(turn.state.data)
        if claim is None:  # a state from an older version: begin again
            return Step((_ask_id(turn),), ASK_ID)
        if step == "dob":
            return await self._birth_date(turn, claim)
        return await self._contact(turn, claim)

    async def _personal_id(self, turn: Turn) -> Step:
        if turn.input.kind is not InputKind.TEXT:
            return Step((_ask_id(turn),), ASK_ID)
        try:
            personal_id = validation.personal_id(turn.input.text)
        except validation.InvalidValue as error:
            return Step((_ask_id(turn, error.message.render(turn.t)),), ASK_ID)
        claim, locked = await verification.claim_identity(turn.db, turn.account, personal_id)
        if locked:
            return await _locked(turn, claim)
        return Step((Reply(_ask_birth_date(turn), options=_cancel(turn)),),
                    JourneyState("verify", "dob", claim.to_data()))

    async def _birth_date(self, turn: Turn, claim: Claim) -> Step:
        again = JourneyState("verify", "dob", claim.to_data())
        if turn.input.kind is not InputKind.TEXT:
            return Step((Reply(_ask_birth_date(turn), options=_cancel(turn)),), again)
        try:
            born = validation.calendar_date(turn.input.text, compact=True)  # 05/09/1960 or 05091960
        except validation.UnreadableDate:  # one message: the question again, with this phone's example
            text = turn._("That is not a date I can read.") + " " + _ask_birth_date(turn)
            return Step((Reply(text, options=_cancel(turn)),), again)
        except validation.InvalidValue as error:  # a real shape but not a birth date (31/02, future)
            text = error.message.render(turn.t) + " " + _ask_birth_date(turn)
            return Step((Reply(text, options=_cancel(turn)),), again)
        outcome = await verification.check_birth_date(turn.db, turn.account, claim, born)
        if outcome is Outcome.LOCKED:
            return await _locked(turn, claim)
        if outcome is Outcome.MISMATCH:
            return await _refused(turn, claim)
        if outcome is Outcome.DECEASED:
            text = turn._("This health book belongs to a person who has died, so it cannot be "
                          "opened here. Family members can ask the health station of the ward.")
            return Step((Reply(text),))
        if outcome is Outcome.PARTIAL_BIRTH_DATE:
            text = turn._("Your record holds only part of your date of birth, so it cannot be checked "
                          "here. Please verify in person: bring your ID card to the health station of "
                          "your ward, which can also complete the date.")
            return Step((Reply(text, close_keyboard=True),))
        if outcome is Outcome.NO_PHONE:  # the ID and birth date matched: the ward may be named
            station = await verification.ward_station(turn.db, claim)
            if station:
                text = turn._("Your record has no phone number to check, so I cannot finish here. "
                              "Please verify in person: bring your ID card to {station}.",
                              station=station)
            else:
                text = turn._("Your record has no phone number to check, so I cannot finish here. "
                              "Please verify in person: bring your ID card to the health station of "
                              "your ward.")
            return Step((Reply(text, options=_way_back(turn)),))
        if turn.input.caller is not None:  # the network gave the sender's number: nothing to share
            return await self._caller(turn, claim)
        return Step(self._ask_contact(turn), JourneyState("verify", "contact", claim.to_data()))

    async def _caller(self, turn: Turn, claim: Claim) -> Step:
        """The number the person calls from must be the record's; then they choose a PIN."""
        outcome = await verification.confirm_phone(turn.db, turn.account, claim, turn.input.caller or "",
                                                   own_contact=True, link=False)
        if outcome is Outcome.LOCKED:
            return await _locked(turn, claim)
        if outcome is not Outcome.PHONE_MATCHED:
            return await _refused(turn, claim)
        return pin.ask_new_pin(turn, claim, turn._("Thank you, your details match."))

    def _ask_contact(self, turn: Turn, before: str | None = None) -> tuple[Reply, ...]:
        text = turn._("Last step: tap the button “Share my phone number” below. It must be the "
                      "number on your health record.")
        return (Reply(f"{before}\n\n{text}" if before else text,
                      ask_contact=turn._("📱 Share my phone number"), options=_cancel(turn)),)

    async def _contact(self, turn: Turn, claim: Claim) -> Step:
        again = JourneyState("verify", "contact", claim.to_data())
        if turn.input.kind is InputKind.TEXT and turn.input.text == _cancel(turn)[0][0].label:
            return await self.on_action(turn, Stop())  # the stop button beside the phone button
        if turn.input.kind is not InputKind.CONTACT:
            # Whatever was typed (a number, the birth date again), only the platform's own contact
            # button proves the number: the button, not what the text might have been.
            return Step(self._ask_contact(turn, turn._("Please press the button; there is nothing "
                                                       "to type here.")), again)
        outcome = await verification.confirm_phone(turn.db, turn.account, claim,
                                                   turn.input.contact_phone or "",
                                                   own_contact=turn.input.contact_is_own)
        if outcome is Outcome.LOCKED:
            return await _locked(turn, claim)
        if outcome is Outcome.NOT_OWN_CONTACT:
            wrong = turn._("That is not your own number. Please share your own with the button.")
            return Step(self._ask_contact(turn, f"{wrong} {await _tries_left(turn)}"), again)
        if outcome is not Outcome.LINKED:
            return await _refused(turn, claim)
        text = turn._("Thank you, you are verified. Your health book is ready.")
        replies = [Reply(text, close_keyboard=True)]
        if await verification.status_of(turn.db, claim) == CitizenStatus.MOVED_AWAY:
            replies.append(Reply(turn._("Your record says you have moved away from Hanoi. It is "
                                        "no longer updated here.")))
        assert claim.candidate is not None
        # Details a volunteer entered before this person used the bot wait for their yes: ask now.
        waiting = await waiting_prompt(turn, claim.candidate)
        if waiting is not None:
            replies.append(waiting)
        replies.append(menu_reply(turn, linked=True))
        return Step(tuple(replies))


JOURNEY = Journey("verify", VerifyFlow(), Requires.NOT_LINKED, commands=("verify", "xacthuc"),
                  describe=N_("Verify my identity"), menu=N_("🔐 Verify my identity"), order=5,
                  before_sign_in=True, listed=False)
