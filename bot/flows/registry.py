"""The journeys, each declared once: what starts it, who may, on whose record, where it is offered.

A journey's file ends with `JOURNEY = Journey(...)`; `bot/flows/journeys.py` lists the files.
The engine routes commands, deep links and buttons through this registry; the menu, `/help`,
the platform's command list and a small screen's menu are drawn from it. Adding a journey is one
new file and one line in that list.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.flows.who import Who
from core.families import Power
from core.i18n import Translator

if TYPE_CHECKING:
    from bot.flows.actions import Action
    from bot.flows.replies import Step
    from bot.flows.turn import ChannelInfo, Turn


class Flow(Protocol):
    async def start(self, turn: Turn, payload: str = "") -> Step: ...

    async def on_action(self, turn: Turn, action: Action) -> Step: ...


class Requires(enum.StrEnum):
    """Who may start a journey; the engine refuses everyone else, in one voice per requirement."""

    ANYONE = "anyone"
    NOT_LINKED = "not_linked"  # verification: only before the account holds a book
    CITIZEN = "citizen"
    RECEPTIONIST = "receptionist"
    VOLUNTEER = "volunteer"
    STATION = "station"
    DESK = "desk"  # anyone who works in the web console: every staff role but volunteers

    def met_by(self, who: frozenset[Who]) -> bool:
        if self is Requires.ANYONE:
            return True
        if self is Requires.DESK:
            return bool(who & {Who.RECEPTIONIST, Who.STATION, Who.CENTRE_VIEWER, Who.CITY_VIEWER,
                               Who.OPERATOR})
        if self is Requires.NOT_LINKED:  # staff accounts are for their work, not for a book of their own
            return who == frozenset({Who.UNLINKED})
        return Who(self.value) in who


class Subject(enum.StrEnum):
    """Whose record a journey acts on."""

    NONE = "none"  # no one's (the menu, the language)
    OWN = "own"  # the account's citizen, or the dependent whose book it has open (core.families)
    FOUND = "found"  # the resident the journey looked up (a volunteer's), kept in its state as "subject"


@dataclass(frozen=True)
class Journey:
    name: str
    flow: Flow
    requires: Requires = Requires.ANYONE
    subject: Subject = Subject.NONE
    # What a journey of `Subject.OWN` does with the book, when it is a dependent's: the engine
    # runs it on that book only for someone whose right holds this power (core.families.rules).
    # None: the journey is about the account itself (log out) and acts on the citizen's own record.
    power: Power | None = None
    # Typed commands: the English name first, then aliases people type in Vietnamese (`/so`).
    commands: tuple[str, ...] = ()
    # One line for the command list beside the text box and for `/help` (a catalogue message).
    describe: str | None = None
    # The menu's big button (a catalogue message) and its place; None: not in the menu.
    menu: str | None = None
    # The menu's button where no picture can be shown, when `menu` names one (a QR code).
    menu_without_images: str | None = None
    order: int = 100
    # `/start <prefix>…` opens the journey (a scanned QR code, an invite), with its own requirement.
    deep_link: str | None = None
    deep_link_requires: Requires = Requires.ANYONE
    # Offered where screens are small and typing is hard; False: it needs more than that.
    small_screens: bool = True
    # Reachable before a PIN channel's session has signed in (core of the PIN rule: bot.flows.pin).
    before_sign_in: bool = False
    # Shown in the command list beside the text box (the staff's journeys are not).
    listed: bool = True

    def offered(self, channel: ChannelInfo) -> bool:
        return self.small_screens or not channel.small_screen

    def menu_label(self, channel: ChannelInfo) -> str | None:
        """The catalogue message of its menu button on this channel."""
        return self.menu_without_images if self.menu_without_images and not channel.images \
            else self.menu


_JOURNEYS: dict[str, Journey] = {}


def register(journey: Journey) -> Journey:
    if journey.name in _JOURNEYS and _JOURNEYS[journey.name] is not journey:
        raise ValueError(f"journey {journey.name!r} is declared twice")
    taken = {command: other.name for other in _JOURNEYS.values() if other is not journey
             for command in other.commands}
    clash = [c for c in journey.commands if c in taken]
    if clash:
        raise ValueError(f"commands {clash} of {journey.name!r} belong to another journey")
    _JOURNEYS[journey.name] = journey
    return journey


def unregister(name: str) -> None:
    _JOURNEYS.pop(name, None)


def journeys() -> Iterator[Journey]:
    return iter(sorted(_JOURNEYS.values(), key=lambda j: (j.order, j.name)))


def named(name: str) -> Journey | None:
    return _JOURNEYS.get(name)


def by_command(command: str) -> Journey | None:
    return next((j for j in _JOURNEYS.values() if command in j.commands), None)


def by_deep_link(payload: str) -> tuple[Journey, str] | None:
    for journey in _JOURNEYS.values():
        if journey.deep_link and payload.startswith(journey.deep_link):
            return journey, payload[len(journey.deep_link):]
    return None


def command_name(journey: Journey, locale: str) -> str:
    """The command a person of this language types: the Vietnamese alias when there is one."""
    return journey.commands[1] if locale == "vi" and len(journey.commands) > 1 else journey.commands[0]


def typed(name: str, locale: str) -> str:
    """A journey's command as text names it for a person of this language: `/capnhat` in
    Vietnamese, `/update` in English. Every command a message or a hint names goes through here."""
    found = named(name)
    assert found is not None and found.commands, name
    return "/" + command_name(found, locale)


def menu_entries(who: frozenset[Who], channel: ChannelInfo) -> list[Journey]:
    """The menu's journeys for this account on this channel, in their order."""
    return [j for j in journeys() if j.menu and j.offered(channel) and _for(j, who)]


def help_entries(who: frozenset[Who], channel: ChannelInfo) -> list[Journey]:
    return [j for j in journeys() if j.describe and j.commands and j.offered(channel) and _for(j, who)]


def listed_commands(t: Translator) -> list[tuple[str, str]]:
    """The command list beside the text box, in one language: (command, description)."""
    return [(command_name(j, t.locale), t.gettext(j.describe)) for j in journeys()
            if j.listed and j.commands and j.describe]


def _for(journey: Journey, who: frozenset[Who]) -> bool:
    """Shown to accounts that may use it; a journey open to anyone to everyone."""
    return journey.requires.met_by(who)


__all__ = [
    "Flow",
    "Journey",
    "Requires",
    "Subject",
    "Who",
    "by_command",
    "by_deep_link",
    "command_name",
    "help_entries",
    "journeys",
    "listed_commands",
    "menu_entries",
    "named",
    "register",
    "typed",
    "unregister",
]
