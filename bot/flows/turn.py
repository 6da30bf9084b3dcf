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
