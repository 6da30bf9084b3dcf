"""The conversation engine: routes each input to its journey and keeps the state.

One call per input: load the account (its link, language and journey state),
let the flow answer, store the next state. The engine knows no channel; the
Telegram adapter and the USSD adapter both call `Conversation.handle`.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, replace
from typing import Protocol

from bot.flows.access import AccessFlow
from bot.flows.assist import AssistFlow, WorklistFlow
from bot.flows.book import BookFlow
from bot.flows.checkin import CheckinFlow
from bot.flows.consent import ConsentFlow
from bot.flows.correction import CorrectionFlow
from bot.flows.help import HelpFlow
from bot.flows.language import LanguageFlow
from bot.flows.logout import LogoutFlow
from bot.flows.menu import MenuFlow, menu_reply
from bot.flows.pending import PendingFlow
from bot.flows.pin import PinFlow
from bot.flows.qr import QrFlow
from bot.flows.replies import Input, InputKind, Notice, Reply, Step
from bot.flows.staff import StaffFlow
from bot.flows.turn import ChannelInfo, StaleOption, Turn
from bot.flows.update import UpdateFlow
from bot.flows.verify import VerifyFlow
from core.db import Database
from core.i18n import translator
from core.identity import accounts
from core.identity.accounts import Account, JourneyState
from core.staff.service import active_staff

log = logging.getLogger(__name__)


class Flow(Protocol):
    name: str

    async def start(self, turn: Turn, payload: str = "") -> Step: ...

    async def on_option(self, turn: Turn, args: list[str]) -> Step: ...


FLOWS: dict[str, Flow] = {flow.name: flow for flow in (
    MenuFlow(), VerifyFlow(), BookFlow(), LanguageFlow(), HelpFlow(), LogoutFlow(), QrFlow(),
    CheckinFlow(), StaffFlow(), ConsentFlow(), AccessFlow(), UpdateFlow(),
    CorrectionFlow(), AssistFlow(), WorklistFlow(), PendingFlow(), PinFlow())}
# Commands a person can type; /start and /cancel are the engine's own.
COMMANDS: dict[str, str] = {"book": "book", "lang": "lang", "help": "help", "logout": "logout",
                            "menu": "menu", "verify": "verify", "qr": "qr", "checkin": "checkin",
                            "consent": "consent", "access": "access", "update": "update",
                            "correct": "correct", "assist": "assist", "worklist": "worklist"}
# Deep links: `/start <prefix><payload>` opens the flow that owns the prefix.
DEEP_LINKS: dict[str, str] = {"ci_": "checkin", "staff_": "staff"}
# Before a PIN channel's sign-in, a linked account reaches only these journeys.
SIGN_IN_FLOWS = frozenset({"pin", "verify"})


@dataclass(frozen=True)
class Delivery:
    """A notice for another person of the same channel, written in their language."""

    external_id: str
    reply: Reply


@dataclass(frozen=True)
class Answer:
    """What to send back for one input, in the person's language, and notices for others."""

    replies: tuple[Reply, ...]
    notice: str | None
    locale: str
    deliveries: tuple[Delivery, ...] = ()
    signed_in: bool = False  # the person proved who they are for this session (PIN channels)


class Conversation:
    def __init__(self, db: Database, channel: str | ChannelInfo) -> None:
        self.db = db
        self.info = channel if isinstance(channel, ChannelInfo) else ChannelInfo(channel)
        self.channel = self.info.name

    async def account(self, external_id: str) -> Account:
        found = await self.db.read(accounts.find_account, self.channel, external_id)
        if found is None:
            found = await self.db.write(accounts.open_account, self.channel, external_id)
        return found

    async def handle(self, external_id: str, given: Input, *, signed_in: bool = True,
                     fresh: bool = False) -> Answer:
        """Answers one input. `signed_in=False`: a PIN channel's session before its sign-in;
        `fresh`: a new session that starts clean, whatever journey the last one left."""
        started = time.perf_counter()
        account = await self.account(external_id)
        if fresh:
            account = replace(account, state=JourneyState())
        turn = Turn(self.db, account, given, translator(account.locale), self.info)
        try:
            step = await self._dispatch(turn) if signed_in else await self._before_sign_in(turn)
        except Exception:
            # The person gets an answer and a reference; the details go to the log only.
            reference = secrets.token_hex(3).upper()
            log.exception("input failed (reference %s, account %s, %s)", reference, account.id, given.kind)
            text = turn._("Sorry, something went wrong on our side. Please try again in a moment. "
                          "If it keeps happening, tell the health station this reference: {reference}.",
                          reference=reference)
            step = Step((Reply(text, close_keyboard=True),), JourneyState())
        if step.state != account.state or fresh:
            saved = await self.db.write(accounts.save_state, account, step.state)
            if not saved:
                log.warning("conversation of account %s moved on elsewhere; state not stored", account.id)
        log.debug("input %s handled: flow %s -> %s/%s in %.1f ms", given.kind, account.state.flow,
                  step.state.flow, step.state.step, (time.perf_counter() - started) * 1000)
        deliveries = await self._deliveries(step.notify) if step.notify else ()
        return Answer(step.replies, step.notice, step.locale or turn.t.locale, deliveries, step.signed_in)

    async def _before_sign_in(self, turn: Turn) -> Step:
        """A linked account whose session has not signed in yet: the PIN, or verifying again."""
        if not turn.account.linked:
            return await self._dispatch(turn)
        given = turn.input
        journey = (given.option or "").split(":")[0] if given.kind is InputKind.OPTION else turn.state.flow
        if given.kind is InputKind.COMMAND or journey not in SIGN_IN_FLOWS:
            return await FLOWS["pin"].start(turn)
        return await self._dispatch(turn)

    async def _deliveries(self, notices: tuple[Notice, ...]) -> tuple[Delivery, ...]:
        out = []
        for notice in notices:
            for external_id, locale in await self.db.read(accounts.linked_accounts, self.channel,
                                                          notice.citizen_id):
                out.append(Delivery(external_id, notice.write(translator(locale))))
        return tuple(out)

    async def _dispatch(self, turn: Turn) -> Step:
        given = turn.input
        if given.kind is InputKind.COMMAND:
            return await self._command(turn, given.command or "", given.payload)
        if given.kind is InputKind.OPTION:
            name, *args = (given.option or "").split(":")
            flow = FLOWS.get(name)
            if flow is None:
                return self._stale(turn)
            try:
                return await flow.on_option(turn, args)
            except StaleOption:
                return self._stale(turn)
        # Text or a contact: the journey in progress asked for it.
        current = FLOWS.get(turn.state.flow or "")
        on_input = getattr(current, "on_input", None)
        if on_input is not None:
            return await on_input(turn)
        return self._not_understood(turn)

    async def _command(self, turn: Turn, command: str, payload: str) -> Step:
        if command == "start":
            for prefix, name in DEEP_LINKS.items():
                if payload.startswith(prefix):
                    return await FLOWS[name].start(turn, payload[len(prefix):])
            if not turn.account.linked:  # a receptionist or volunteer: their own work, not verification
                staff = await active_staff(turn.db, turn.account.id)
                if staff is not None:
                    return StaffFlow().home(turn, staff)
            return await FLOWS["menu" if turn.account.linked else "verify"].start(turn, payload)
        if command == "cancel":
            text = turn._("Stopped. Nothing was saved.") if turn.state.flow else \
                turn._("There is nothing to stop.")
            return Step((Reply(text, close_keyboard=True), menu_reply(turn)))
        name = COMMANDS.get(command)
        if name is None:
            return self._not_understood(turn)
        return await FLOWS[name].start(turn, payload)

    def _stale(self, turn: Turn) -> Step:
        text = turn._("That button is from an earlier message and no longer applies. "
                      "Here is the menu.")
        return Step((menu_reply(turn, text),), turn.state, notice=turn._("This button is out of date."))

    def _not_understood(self, turn: Turn) -> Step:
        text = turn._("Sorry, I did not understand that. Please choose from the menu.")
        return Step((menu_reply(turn, text),), turn.state)
