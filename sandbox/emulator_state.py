"""The sandbox's world in memory: users, chats, their messages, and each chat's event feed.

A feed is what a phone shows: every message, edit, deletion and callback answer in one chat,
numbered by a global sequence so that a page or a test can long-poll "everything after N".
Waiters sleep on their own chat's event, so a thousand open phones cost nothing while idle and
an update wakes only the phone it concerns.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import ClientSession

    from sandbox.emulator_commands import BotDescriptions, CommandMenus
    from sandbox.emulator_files import FileStore
    from sandbox.emulator_updates import UpdateQueue

FEED_KEEP = 2000  # events kept per chat; older ones fall off in halves
FILE_URL = "/sandbox/api/files/{file_id}"


@dataclass
class StoredMessage:
    message: dict  # as the Bot API returns it (inline keyboards only)
    markup: dict | None = None  # reply_markup as sent, whatever its kind: what the phone shows
    deleted: bool = False
    listed: bool = True  # False for raw updates a test injected: findable, but no phone showed them

    @property
    def from_bot(self) -> bool:
        return bool(self.message.get("from", {}).get("is_bot"))

    def user_view(self) -> dict:
        """The message as the phone draws it: with its reply keyboard and fetchable photos."""
        view = dict(self.message)  # stored messages are replaced on edit, never changed in place
        view.pop("reply_markup", None)
        if self.markup is not None:
            view["reply_markup"] = self.markup
        if "photo" in view:
            view["photo"] = [{**size, "url": FILE_URL.format(file_id=size["file_id"])}
                             for size in view["photo"]]
        return view


@dataclass
class Chat:
    chat: dict  # the Bot API Chat object
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    opened: bool = False  # a private chat exists for the bot once the user wrote to it
    blocked: bool = False  # the user blocked the bot / the bot is no longer in the group
    reply_keyboard: dict | None = None
    reply_keyboard_hidden: bool = False
    chat_instance: str = field(default_factory=lambda: str(secrets.randbits(63)))

    @property
    def id(self) -> int:
        return self.chat["id"]

    @property
    def private(self) -> bool:
        return self.chat.get("type") == "private"

    def add(self, content: dict, *, sender: dict, markup: dict | None = None, date: int | None = None,
            message_id: int | None = None) -> StoredMessage:
        """Stores a new message with the next message id of this chat."""
        if message_id is None:
            message_id = self.next_message_id
        self.next_message_id = max(self.next_message_id, message_id + 1)
        message = {"message_id": message_id, "from": sender, "chat": self.chat,
                   "date": date or int(time.time()), **content}
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        stored = StoredMessage(message, markup)
        self.messages[message_id] = stored
        if markup is not None and "keyboard" in markup:
            self.reply_keyboard, self.reply_keyboard_hidden = markup, False
        elif markup is not None and markup.get("remove_keyboard"):
            self.reply_keyboard = None
        return stored

    def find(self, message_id: Any) -> StoredMessage | None:
        stored = self.messages.get(message_id) if isinstance(message_id, int) else None
        return None if stored is None or stored.deleted else stored


class Feed:
    """One chat's events, waited on by long polls."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self._seqs: list[int] = []
        self._changed = asyncio.Event()
        self.closed = False

    @property
    def last(self) -> int:
        return self._seqs[-1] if self._seqs else 0

    def append(self, event: dict) -> None:
        self.events.append(event)
        self._seqs.append(event["seq"])
        if len(self.events) > 2 * FEED_KEEP:
            del self.events[:FEED_KEEP], self._seqs[:FEED_KEEP]
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def close(self) -> None:
        """Server shutdown: waiting phones get their answer now."""
        self.closed = True
        self._wake()

    def after(self, seq: int) -> list[dict]:
        return self.events[bisect.bisect_right(self._seqs, seq) :]

    async def wait(self, seq: int, timeout: float) -> list[dict]:
        events = self.after(seq)
        if events or timeout <= 0 or self.closed:
            return events
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except TimeoutError:
            return []
        return self.after(seq)


@dataclass(frozen=True)
class PendingQuery:
    chat_id: int
    message_id: int


class World:
    """Users, chats, feeds and unanswered callback queries."""

    def __init__(self) -> None:
        self.users: dict[int, dict] = {}
        self.chats: dict[int, Chat] = {}
        self.feeds: dict[int, Feed] = {}
        self.queries: dict[str, PendingQuery] = {}
        self._seq = itertools.count(1)

    def user(self, user_id: int, profile: dict | None = None) -> dict:
        """The Bot API User for `user_id`, its profile updated from `profile` when given."""
        user = self.users.setdefault(user_id, {"id": user_id, "is_bot": False,
                                               "first_name": f"User {user_id}"})
        for name in ("first_name", "last_name", "username", "language_code"):
            if profile and profile.get(name):
                user[name] = str(profile[name])
        return user

    def private_chat(self, user: dict) -> Chat:
        chat = self.chats.get(user["id"])
        if chat is None:
            chat = self.chats[user["id"]] = Chat({"id": user["id"], "type": "private"})
        chat.chat.clear()  # the Chat object follows the user's profile, as in Telegram
        chat.chat.update({"id": user["id"], "first_name": user["first_name"]})
        chat.chat.update({k: user[k] for k in ("last_name", "username") if k in user})
        chat.chat["type"] = "private"
        return chat

    def register_chat(self, chat: dict) -> Chat:
        known = self.chats.get(chat["id"])
        if known is None:
            known = self.chats[chat["id"]] = Chat(dict(chat), opened=True)
        else:
            known.chat.update(chat)
            known.opened = True
        return known

    def feed(self, chat_id: int) -> Feed:
        feed = self.feeds.get(chat_id)
        if feed is None:
            feed = self.feeds[chat_id] = Feed()
        return feed

    def close(self) -> None:
        for feed in self.feeds.values():
            feed.close()

    def publish(self, chat_id: int, kind: str, **fields: Any) -> dict:
        event = {"seq": next(self._seq), "kind": kind, "chat_id": chat_id, **fields}
        self.feed(chat_id).append(event)
        return event


@dataclass
class Sandbox:
    """What the bot side and the user side share."""

    bot_user: dict
    world: World
    updates: UpdateQueue
    commands: CommandMenus
    descriptions: BotDescriptions
    files: FileStore
    http: Any  # () -> aiohttp.ClientSession, created on first use
    # chat id (None: the default) -> MenuButton
    menu_buttons: dict[int | None, dict] = field(default_factory=dict)

    def session(self) -> ClientSession:
        return self.http()
