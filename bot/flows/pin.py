"""The PIN rule, in one place, for channels that know a person only by a phone number.

The network vouches for the number, but a phone is lent, shared in a family or
lost: a 4–6 digit PIN, chosen right after full verification (ID, birth date and
the caller's number), guards every later session. Until a session signs in, a
linked account reaches only the journeys marked `before_sign_in` (this one and
verification, for a forgotten PIN). Forgetting it means verifying again, which
sets a new one. Hashing and the lockout rule: core.identity.pins.
"""

from __future__ import annotations

from bot.flows import registry
from bot.flows.actions import Action, declare
from bot.flows.menu import household_options, menu_reply
from bot.flows.pending import waiting_prompt
from bot.flows.registry import Journey
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import StaleOption, Turn
from core import validation
from core.identity import pins, verification
from core.identity.accounts import JourneyState
from core.identity.verification import Claim, Outcome

ENTER = JourneyState("pin", "enter")


Forgot = declare("pin", "f", "Forgot", answers_step=True, step=(str, "enter"))


Stop = declare("pin", "x", "Stop", in_journey=True)


async def gate(turn: Turn, journey: Journey | None, signed_in: bool) -> Step | None:
    """The PIN question instead of what was asked, when a session must sign in first."""
    if not turn.channel.pin_sessions or signed_in or not turn.account.linked:
        return None
    if journey is not None and journey.before_sign_in and turn.input.command is None:
        return None
    return await _ask(turn)


def ask_new_pin(turn: Turn, claim: Claim, before: str | None = None, *,
                mistake: str | None = None) -> Step:
    """The last step of verifying on such a channel: the person chooses the PIN. After a `mistake`
    (what was wrong with the last one), only the question again, not the rule it already stated."""
    text = mistake + "\n" + turn._("Please choose a PIN again.") if mistake else \
        turn._("Now choose a PIN of 4 to 6 digits. You will type it each time you dial. Keep it secret.")
    stop = rows(Option(turn._("✖ Stop"), Stop()))
    return Step((Reply(f"{before}\n{text}" if before else text, options=stop),),
                JourneyState("pin", "new", claim.to_data()))


def _forgot(turn: Turn) -> tuple[tuple[Option, ...], ...]:
    return rows(Option(turn._("Forgot my PIN"), Forgot()))


def _locked(turn: Turn) -> Step:
    text = turn._("For your safety, PIN entry is paused for 24 hours after five wrong tries. "
                  "You can also get help at the health station of your ward.")
    return Step((Reply(text),))


async def _ask(turn: Turn) -> Step:
    """The sign-in of a new session."""
    if await pins.pin_locked(turn.db, turn.account):
        return _locked(turn)
    text = turn._("Hanoi electronic health book. Please type your PIN.")
    return Step((Reply(text, options=_forgot(turn)),), ENTER)


class PinFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        if not turn.account.linked:
            raise StaleOption
        return await _ask(turn)

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        if isinstance(chosen, Forgot):
            verify = registry.named("verify")
            assert verify is not None
            return verify.flow.again(turn, turn._("Let us check who you are, then you choose a new PIN."))
        if isinstance(chosen, Stop) and turn.state.flow == "pin" and turn.state.step != "enter":
            return Step((Reply(turn._("Stopped. Nothing was saved.")),))
        raise StaleOption

    async def on_input(self, turn: Turn) -> Step:
        if turn.state.step == "enter":
            return await self._sign_in(turn)
        claim = Claim.from_data(turn.state.data)
        if claim is None or turn.input.caller is None:  # an older state, or no number to link
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
            left = await pins.pin_tries_left(turn.db, turn.account)
            text = turn._("That PIN is not right. Tries left before PIN entry pauses for 24 hours: "
                          "{count}. Please type it again, or choose “Forgot my PIN” to verify again "
                          "and set a new one.", count=left)
            return Step((Reply(text, options=_forgot(turn)),), ENTER)
        if turn.household:  # one number, several books: whose first (a parent's phone, a child's book)
            return Step((Reply(turn._("Whose book do you want to open?"), options=household_options(turn)),),
                        JourneyState(), signed_in=True)
        return Step((menu_reply(turn),), JourneyState(), signed_in=True)

    async def _chosen(self, turn: Turn, claim: Claim) -> Step:
        try:
            chosen = pins.new_pin(turn.input.text)
        except validation.InvalidValue as error:
            return ask_new_pin(turn, claim, mistake=error.message.render(turn.t))
        data = {**claim.to_data(), "pin_hash": await pins.hash_pin_async(chosen)}
        return Step((Reply(turn._("Type the same PIN again to confirm it."),
                           options=rows(Option(turn._("✖ Stop"), Stop()))),),
                    JourneyState("pin", "repeat", data))

    async def _repeated(self, turn: Turn, claim: Claim) -> Step:
        chosen = turn.state.data.get("pin_hash")
        if not isinstance(chosen, str) or not await pins.pin_matches_async(turn.input.text, chosen):
            return ask_new_pin(turn, claim, mistake=turn._("The two PINs were not the same."))
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


JOURNEY = Journey("pin", PinFlow(), before_sign_in=True)
