"""One turn of a conversation: the person's input, their account and the tools a flow uses."""

from __future__ import annotations

from dataclasses import dataclass

from bot.flows.replies import Input
from core.db import Database
from core.i18n import Translator
from core.identity.accounts import Account, JourneyState


class StaleOption(Exception):
    """A chosen option that no longer applies (an old message's button)."""


@dataclass(frozen=True)
class ChannelInfo:
    """What a flow may need to know of its channel, without knowing the channel."""

    name: str  # telegram, ussd
    # The deep link a scanned QR code opens (`https://t.me/<bot>?start=`), None where there is none.
    deep_link_base: str | None = None
    # A phone keypad and a small screen (USSD): short texts, digits to type, choices from lists
    # rather than free text, no images; the person is known by number and signs in with a PIN.
    keypad: bool = False
    # The journeys this channel offers in its menu; None: all of them.
    journeys: frozenset[str] | None = None

    def offers(self, journey: str) -> bool:
        return self.journeys is None or journey in self.journeys


@dataclass(frozen=True)
class Turn:
    db: Database
    account: Account
    input: Input
    t: Translator
    channel: ChannelInfo = ChannelInfo("telegram")

    @property
    def state(self) -> JourneyState:
        return self.account.state

    def _(self, message: str, /, **params: object) -> str:
        return self.t.text(message, **params)
