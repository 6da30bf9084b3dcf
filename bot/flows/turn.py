"""One turn of a conversation: the person's input, their account and the tools a flow uses."""

from __future__ import annotations

from dataclasses import dataclass

from bot.flows.replies import Input
from bot.flows.who import Who
from core.db import Database
from core.families import Dependent
from core.i18n import Translator
from core.identity.accounts import Account, JourneyState
from core.staff.service import Staff


class StaleOption(Exception):
    """A chosen option that no longer applies (an old message's button)."""


@dataclass(frozen=True)
class ChannelInfo:
    """What a channel can do. Flows and renderers read these, never the channel's name."""

    name: str  # for the record's provenance and the logs only
    # The deep link a scanned QR code opens (`https://…?start=`), None where there is none.
    deep_link_base: str | None = None
    images: bool = True  # can show a picture (a QR code)
    push: bool = True  # can write to a person first (someone opened your book)
    typing: bool = True  # free text is easy to type (an address, a reason); False: digits and choices
    buttons: bool = True  # options are tapped; False: the person types an option's number
    commands: bool = True  # the person can type /commands
    # A message already shown can be changed (an old check-in code then says it was replaced).
    edits: bool = True
    # Characters one screen shows; None where a long reply is sent whole (split by the adapter).
    screen: int | None = None
    # The sender is a phone number the network vouches for, with nothing else to prove who holds
    # it: every session signs in with a PIN (the rule: bot.flows.pin).
    pin_sessions: bool = False

    @property
    def small_screen(self) -> bool:
        return self.screen is not None


@dataclass(frozen=True)
class Turn:
    db: Database
    account: Account
    input: Input
    t: Translator
    channel: ChannelInfo
    staff: Staff | None = None
    who: frozenset[Who] = frozenset({Who.UNLINKED})
    # Whose record the journey acts on, chosen by the engine (bot.flows.engine: `_subject`).
    subject: int | None = None
    # The books the account's citizen may open besides their own (core.families), loaded when
    # they are named as anyone's guardian or proxy, and the one open now (None: their own).
    household: tuple[Dependent, ...] = ()
    acting: Dependent | None = None
    # The citizen acting through this account (its own link, set by the engine): the guardian or
    # proxy whose name a dependent's access history shows.
    actor: int | None = None

    @property
    def for_someone(self) -> Dependent | None:
        """The dependent whose book this journey works on (None: the account's own, or no book)."""
        acting = self.acting
        return acting if acting is not None and acting.citizen_id == self.subject else None

    @property
    def state(self) -> JourneyState:
        return self.account.state

    def _(self, message: str, /, **params: object) -> str:
        return self.t.text(message, **params)
