"""Flow replies drawn as Telegram messages: HTML, inline buttons, the contact keyboard.

Telegram refuses a text over 4096 characters (1024 for a photo caption); a long
reply is split at line ends into several messages, never cut short.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.flows.replies import Reply

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message to send: HTML text (or caption), its keyboard, maybe a photo."""

    html: str
    markup: Markup = None
    photo: bytes | None = None

    @property
    def inline(self) -> bool:
        return isinstance(self.markup, InlineKeyboardMarkup) or self.markup is None


def _length(text: str) -> int:
    # Telegram counts UTF-16 code units; an emoji counts two.
    return len(text.encode("utf-16-le")) // 2


def _continues(line: str) -> bool:
    """An indented (or empty) line belongs to the entry above it: `• visit` and its details."""
    return not line.strip() or line[0].isspace()


def _entry_tail(lines: list[str]) -> list[str]:
    """The last entry of a piece (its first line and the lines that continue it), unless the
    piece is that one entry."""
    start = next((i for i in range(len(lines) - 1, -1, -1) if not _continues(lines[i])), 0)
    return lines[start:] if start > 0 else []


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at line ends, else at spaces. An entry (a line
    and the indented lines under it) is never cut across two pieces unless it is longer than one."""
    pieces: list[str] = []
    current: list[str] = []

    def flush(lines: list[str]) -> None:
        if "".join(lines).strip():  # a message of blank lines is no message
            pieces.append("\n".join(lines))

    for line in text.split("\n"):
        while _length(line) > limit:  # one line longer than a message: cut at a space
            cut = limit
            while _length(line[:cut]) > limit:
                cut -= 1
            space = line.rfind(" ", 0, cut)
            cut = space if space > limit // 2 else cut
            head, line = line[:cut], line[cut:].lstrip(" ")
            flush(current)
            current = []
            pieces.append(head)
        if current and _length("\n".join([*current, line])) > limit:
            tail = _entry_tail(current) if _continues(line) else []
            if tail and _length("\n".join([*tail, line])) <= limit:  # the entry moves on whole
                flush(current[:-len(tail)])
                current = [*tail, line]
            else:
                flush(current)
                current = [line]
        else:
            current.append(line)
    flush(current)
    return pieces or ["\n".join(current)]


def markup_of(reply: Reply) -> Markup:
    if reply.ask_contact:
        keyboard = [[KeyboardButton(reply.ask_contact, request_contact=True)]]
        keyboard += [[KeyboardButton(o.label) for o in row] for row in reply.options]
        return ReplyKeyboardMarkup(keyboard, resize_keyboard=True, one_time_keyboard=True)
    if reply.options:
        return InlineKeyboardMarkup([[InlineKeyboardButton(o.label, callback_data=o.action) for o in row]
                                     for row in reply.options])
    if reply.close_keyboard:
        return ReplyKeyboardRemove()
    return None


def outgoing(reply: Reply) -> list[Outgoing]:
    """The messages for one reply; the keyboard goes with the last, the photo with the first."""
    limit = CAPTION_LIMIT if reply.image is not None else TEXT_LIMIT
    title = f"{reply.title}\n\n" if reply.title else ""
    # The title is bold: measured and split with the text, escaped piece by piece.
    pieces = split_text(title + reply.text, limit)
    messages = []
    for index, piece in enumerate(pieces):
        body = html.escape(piece, quote=False)
        if index == 0 and reply.title:
            escaped_title = html.escape(reply.title, quote=False)
            if body.startswith(escaped_title):
                body = f"<b>{escaped_title}</b>{body[len(escaped_title):]}"
        messages.append(Outgoing(body, photo=reply.image if index == 0 else None))
    last = messages[-1]
    messages[-1] = Outgoing(last.html, markup_of(reply), last.photo)
    return messages
