"""What a journey hears and says, independent of any channel.

A flow returns `Reply`s: text, an optional title, options to choose from and,
at most, one request for the person's phone number or an image. Options carry
typed actions (bot.flows.actions); the engine encodes them before an adapter
draws them, as buttons or as numbered choices.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.flows.actions import Action, encode
from core.i18n import Translator
from core.identity.accounts import JourneyState


class InputKind(enum.StrEnum):
    COMMAND = "command"  # /book, or /start with a deep-link payload
    TEXT = "text"
    OPTION = "option"  # a chosen option: its action string
    CONTACT = "contact"  # a shared phone number


@dataclass(frozen=True)
class Input:
    kind: InputKind
    text: str = ""
    command: str | None = None
    payload: str = ""
    option: str | None = None
    contact_phone: str | None = None
    # The shared contact is the sender's own (the platform vouches for it).
    contact_is_own: bool = False
    # The caller's number as the network gives it (`+84…`), with every input, where there is one.
    caller: str | None = None

    @classmethod
    def of_text(cls, text: str) -> Input:
        """Text as typed: a leading `/word` is a command, the rest its payload."""
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, payload = stripped[1:].partition(" ")
            command = head.split("@", 1)[0].lower()  # /book@SomeBot in a client that adds it
            return cls(InputKind.COMMAND, text=stripped, command=command, payload=payload.strip())
        return cls(InputKind.TEXT, text=stripped)

    @classmethod
    def of_option(cls, action: str) -> Input:
        return cls(InputKind.OPTION, option=action)

    @classmethod
    def of_contact(cls, phone: str, *, own: bool) -> Input:
        return cls(InputKind.CONTACT, contact_phone=phone, contact_is_own=own)


@dataclass(frozen=True)
class Option:
    label: str
    # A typed action from a flow; once encoded by the engine, its wire form (1-64 bytes).
    action: Action | str
    # The way back to the screen this one came from (a book's sections from one section): where
    # options are typed as numbers, "back" from a first screen leads here rather than the menu.
    back: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.action, str) and not 1 <= len(self.action.encode()) <= 64:
            raise ValueError(f"option action must be 1-64 bytes: {self.action!r}")


@dataclass(frozen=True)
class Reply:
    text: str
    title: str | None = None
    options: tuple[tuple[Option, ...], ...] = ()  # rows of options
    ask_contact: str | None = None  # the label of a "share my phone number" button
    close_keyboard: bool = False  # the contact request is over
    image: bytes | None = None  # PNG
    # The last word of a visit, to be kept in view: a session channel closes with it, so the
    # text stays on the phone's screen (a check-in code to show at the desk).
    ends: bool = False
    # This reply shows the account's new check-in code: the message that showed the code before
    # says this from now on, its buttons gone, where the channel can change a message it showed.
    replaces_code: str | None = None
    # A message of its own: the message whose button was pressed stays as it was, where a
    # channel would otherwise change it into this reply (an open card stays in view).
    new_message: bool = False

    def __post_init__(self) -> None:
        # A chat message carries one keyboard. Beside the phone button, options are typed
        # answers (a reply keyboard sends the label as text), so the flow reads them.
        if self.options and self.close_keyboard:
            raise ValueError("a reply with options cannot also close the contact keyboard")


@dataclass(frozen=True)
class Notice:
    """A message for a citizen other than the person talking (someone viewed their book).

    Written when sent, in the citizen's own language: `write(translator) -> Reply`.
    """

    citizen_id: int
    write: Callable[[Translator], Reply]


@dataclass(frozen=True)
class Step:
    """A flow's answer to one input: what to say and where the conversation goes next."""

    replies: tuple[Reply, ...]
    state: JourneyState = field(default_factory=JourneyState)
    notice: str | None = None  # a short acknowledgement of a chosen option
    locale: str | None = None  # the language the replies are in, when the flow changed it
    notify: tuple[Notice, ...] = ()
    # The person proved who they are for this session (a PIN channel's sign-in or first link).
    signed_in: bool = False


def rows(*options: Option) -> tuple[tuple[Option, ...], ...]:
    """One option per row: big buttons, easy to hit for an older hand."""
    return tuple((option,) for option in options)


def encoded(reply: Reply) -> Reply:
    """The reply as an adapter draws it: each option's action in its wire form, each button with a
    key of its own (bot.flows.actions)."""
    if not reply.options:
        return reply
    return replace(reply, options=tuple(
        tuple(replace(o, action=o.action if isinstance(o.action, str) else encode(o.action))
              for o in row)
        for row in reply.options))
