"""The PIN of a channel that knows a person by phone number only (USSD).

Set once, right after the person is verified (ID, birth date and the caller's
number); asked at the start of every later session. Forgetting it means
verifying again, which sets a new one. The rules and the hash live in
core.identity.pins; wrong PINs count toward the same 24-hour lockout as
wrong verification details.
"""

from __future__ import annotations

from bot.flows.menu import menu_reply
from bot.flows.pending import waiting_prompt
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import StaleOption, Turn
from bot.flows.verify import ask_new_pin, verify_again
from core import validation
from core.identity import pins, verification
from core.identity.accounts import JourneyState
from core.identity.verification import Claim, Outcome

ENTER = JourneyState("pin", "enter")


def _forgot(turn: Turn) -> tuple[tuple[Option, ...], ...]:
    return rows(Option(turn._("Forgot my PIN"), "pin:forgot"))


def _locked(turn: Turn) -> Step:
    text = turn._("For your safety, PIN entry is paused for 24 hours after five wrong tries. "
                  "You can also get help at the health station of your ward.")
    return Step((Reply(text),))


class PinFlow:
    name = "pin"

    async def start(self, turn: Turn, payload: str = "") -> Step:
        """The sign-in of a new session."""
        if not turn.account.linked:
            raise StaleOption
        if await pins.pin_locked(turn.db, turn.account):
            return _locked(turn)
        text = turn._("Hanoi electronic health book. Please type your PIN.")
        return Step((Reply(text, options=_forgot(turn)),), ENTER)

    @staticmethod
    def _stop(turn: Turn) -> tuple[tuple[Option, ...], ...]:
        return rows(Option(turn._("✖ Stop"), "pin:stop"))

    async def on_option(self, turn: Turn, args: list[str]) -> Step:
        if args and args[0] == "forgot" and turn.state == ENTER:
            return verify_again(turn, turn._("Let us check who you are, then you choose a new PIN."))
        if args and args[0] == "stop" and turn.state.flow == self.name and turn.state.step != "enter":
            return Step((Reply(turn._("Stopped. Nothing was saved.")),))
        raise StaleOption

    async def on_input(self, turn: Turn) -> Step:
        if turn.state.step == "enter":
            return await self._sign_in(turn)
        claim = Claim.from_data(turn.state.data)
        if claim is None or turn.input.caller is None:  # an older state, or not a PIN channel
            return Step((menu_reply(turn),))
        if turn.state.step == "new":
            return await self._chosen(turn, claim)
        return await self._repeated(turn, claim)

    async def _sign_in(self, turn: Turn) -> Step:
        if not pins.looks_like_pin(turn.input.text):  # "0" for more, a stray key: not counted
            text = turn._("A PIN has 4 to 6 digits.") + "\n" + turn._("Please type your PIN.")
            return Step((Reply(text, options=_forgot(turn)),), ENTER)
        outcome = await pins.sign_in(turn.db, turn.account, turn.input.text)
        if outcome is Outcome.LOCKED:
            return _locked(turn)
        if outcome is not Outcome.SIGNED_IN:
            return Step((Reply(turn._("That PIN is not right. Please try again."), options=_forgot(turn)),),
                        ENTER)
        return Step((menu_reply(turn),), JourneyState(), signed_in=True)

    async def _chosen(self, turn: Turn, claim: Claim) -> Step:
        try:
            pin = pins.new_pin(turn.input.text)
        except validation.InvalidValue as error:
            return ask_new_pin(turn, claim, error.message.render(turn.t))
        data = {**claim.to_data(), "pin_hash": await pins.hash_pin_async(pin)}
        return Step((Reply(turn._("Type the same PIN again to confirm it."), options=self._stop(turn)),),
                    JourneyState("pin", "repeat", data))

    async def _repeated(self, turn: Turn, claim: Claim) -> Step:
        chosen = turn.state.data.get("pin_hash")
        if not isinstance(chosen, str) or not await pins.pin_matches_async(turn.input.text, chosen):
            return ask_new_pin(turn, claim, turn._("The two PINs were not the same."))
        # The number is checked again as the link is made, with the PIN, in one transaction.
        outcome = await verification.confirm_phone(turn.db, turn.account, claim, turn.input.caller or "",
                                                   own_contact=True, pin_hash=chosen)
        if outcome is Outcome.LOCKED:
            return _locked(turn)
        if outcome is not Outcome.LINKED:
            text = turn._("These details do not match our records. Please check them and try again.")
            return Step((Reply(text),))
        done = turn._("Your PIN is set. Your health book is ready.")
        assert claim.candidate is not None
        waiting = await waiting_prompt(turn, claim.candidate, done)  # a volunteer's entries, if any
        return Step((waiting or menu_reply(turn, done, linked=True),), JourneyState(), signed_in=True)
