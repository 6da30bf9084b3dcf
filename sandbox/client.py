"""`TelegramUser`: one person's phone, scripted, against the Bot API emulator's user side.

    user = TelegramUser(base_url, 500_000_001, first_name="Lan", session=session)
    await user.send("/start")
    prompt = await user.until(lambda m: "CCCD" in m.text)
    await user.press("📖 Sổ sức khỏe của tôi")

Every wait has a timeout and fails with an AssertionError that says what did arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from sandbox.entities import entities_to_html

POLL_SLICE = 20.0  # seconds per long poll; a wait is made of several


@dataclass
class BotMessage:
    """A message (or a new version of one, `edited`) as the user's phone shows it."""

    message_id: int
    text: str  # the text or the caption, plain
    entities: list[dict]
    buttons: list[list[tuple[str, str]]]  # inline keyboard rows of (label, callback data or url)
    reply_keyboard: list[list[dict]] | None  # the keyboard this message brought up, if any
    edited: bool
    raw: dict = field(repr=False)
    photo_bytes: bytes | None = field(default=None, repr=False)
    _fetch: Callable[[str], Any] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_event(cls, message: dict, *, edited: bool,
                   fetch: Callable[[str], Any] | None = None) -> BotMessage:
        markup = message.get("reply_markup") or {}
        buttons = [[(b["text"], b.get("callback_data") or b.get("url") or "") for b in row]
                   for row in markup.get("inline_keyboard", ())]
        keyboard = [list(row) for row in markup["keyboard"]] if "keyboard" in markup else None
        text = message.get("text", message.get("caption", ""))
        entities = message.get("entities", message.get("caption_entities", []))
        return cls(message["message_id"], text, entities, buttons, keyboard, edited, message, _fetch=fetch)

    @property
    def html(self) -> str:
        return entities_to_html(self.text, self.entities)

    @property
    def labels(self) -> list[str]:
        return [label for row in self.buttons for label, _ in row]

    @property
    def has_photo(self) -> bool:
        return bool(self.raw.get("photo"))

    async def photo(self) -> bytes:
        """The largest size of the photo, downloaded once."""
        if self.photo_bytes is None:
            if not self.has_photo or self._fetch is None:
                raise AssertionError(f"message {self.message_id} has no photo: {self.text!r}")
            self.photo_bytes = await self._fetch(self.raw["photo"][-1]["url"])
        return self.photo_bytes

    def describe(self) -> str:
        parts = [f"#{self.message_id}{' (edited)' if self.edited else ''} {self.text[:120]!r}"]
        if self.buttons:
            parts.append(f"buttons {self.labels}")
        if self.reply_keyboard:
            parts.append(f"keyboard {[b.get('text') for row in self.reply_keyboard for b in row]}")
        return " ".join(parts)


class TelegramUser:
    def __init__(self, base_url: str, user_id: int, *, first_name: str = "Lan", last_name: str | None = None,
                 language_code: str = "vi", session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.user_id = user_id
        self.profile = {"first_name": first_name, "language_code": language_code,
                        **({"last_name": last_name} if last_name else {})}
        self._session = session
        self._own_session = session is None
        self._seq: int | None = None
        self._poll_lock = asyncio.Lock()
        self._unread: list[BotMessage] = []
        self._answers_seen = 0
        self.transcript: list[BotMessage] = []  # every bot message and edit received, in order
        self.callback_answers: list[dict] = []
        self.current: dict[int, BotMessage] = {}  # message id -> latest version, deleted ones removed

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> TelegramUser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _url(self, path: str) -> str:
        return f"{self.base_url}/sandbox/api/chats/{self.user_id}{path}"

    async def _post(self, path: str, body: dict) -> dict:
        async with self.session.post(self._url(path), json=body) as response:
            answer = await response.json()
            if response.status != 200:
                raise AssertionError(f"user {self.user_id}: {path} refused ({response.status}): "
                                     f"{answer.get('error', answer)}")
            return answer

    async def _fetch(self, url: str) -> bytes:
        async with self.session.get(self.base_url + url) as response:
            response.raise_for_status()
            return await response.read()

    async def state(self) -> dict:
        """The chat as the phone shows it now: messages, reply keyboard, command menu."""
        params = {"language_code": self.profile["language_code"]}
        async with self.session.get(self._url(""), params=params) as response:
            return await response.json()

    async def _start(self) -> None:
        """Begins watching the chat from now: what was there before is history, not replies."""
        if self._seq is not None:
            return
        state = await self.state()
        self._seq = state["last"]
        for message in state["messages"]:
            if message.get("from", {}).get("is_bot"):
                shown = BotMessage.from_event(message, edited=False, fetch=self._fetch)
                self.current[shown.message_id] = shown

    async def _poll(self, timeout: float) -> None:
        async with self._poll_lock:
            params = {"after": str(self._seq), "timeout": str(max(0.0, min(timeout, POLL_SLICE)))}
            wait = aiohttp.ClientTimeout(total=POLL_SLICE + 10)
            async with self.session.get(self._url("/events"), params=params, timeout=wait) as response:
                answer = await response.json()
            for event in answer["events"]:
                self._take(event)
            self._seq = max(self._seq or 0, answer["last"])

    def _take(self, event: dict) -> None:
        kind, message = event["kind"], event.get("message") or {}
        if kind in ("message", "edit") and message.get("from", {}).get("is_bot"):
            received = BotMessage.from_event(message, edited=kind == "edit", fetch=self._fetch)
            self.transcript.append(received)
            self._unread.append(received)
            self.current[received.message_id] = received
        elif kind == "delete":
            self.current.pop(message.get("message_id"), None)
        elif kind == "callback_answer":
            self.callback_answers.append(event["callback_answer"])

    def _report(self, wanted: str, timeout: float) -> AssertionError:
        unread = "; ".join(m.describe() for m in self._unread) or "nothing new"
        recent = "; ".join(m.describe() for m in self.transcript[-5:]) or "nothing at all"
        return AssertionError(f"user {self.user_id} waited {timeout}s for {wanted}. Unread: {unread}. "
                              f"Last received: {recent}")

    # -- what a person does ----------------------------------------------------------------------
    async def send(self, text: str) -> dict:
        """Types and sends a text; returns {"message_id", "update_id"}."""
        await self._start()
        return await self._post("/send", {"text": text, "from": self.profile})

    async def share_contact(self, phone_number: str, *, user_id: int | None = None) -> dict:
        """Shares a contact: by default the user's own (what a request_contact button sends)."""
        await self._start()
        contact = {"phone_number": phone_number, "first_name": self.profile["first_name"],
                   "user_id": self.user_id if user_id is None else user_id}
        if "last_name" in self.profile:
            contact["last_name"] = self.profile["last_name"]
        return await self._post("/send", {"contact": contact, "from": self.profile})

    async def press(self, label_or_data: str, message: BotMessage | None = None) -> str:
        """Presses an inline button, found by its label or its data; returns the callback query id."""
        await self._start()
        await self._poll(0)  # the phone shows what has arrived, read or not
        if message is not None:
            target = self.current.get(message.message_id, message)
        else:
            with_keyboard = [m for m in self.current.values() if m.buttons]
            if not with_keyboard:
                raise AssertionError(f"user {self.user_id} sees no inline keyboard to press "
                                     f"{label_or_data!r}")
            target = max(with_keyboard, key=lambda m: m.message_id)
        buttons = [button for row in target.buttons for button in row]
        # By label, by its data, or by its action without the button's own key (`book.s:general~k3Xq`).
        found = next((b for b in buttons if b[0] == label_or_data), None) or next(
            (b for b in buttons if label_or_data in (b[1], b[1].split("~")[0])), None)
        if found is None:
            raise AssertionError(f"user {self.user_id}: no button {label_or_data!r} on message "
                                 f"#{target.message_id}; visible buttons: {buttons}")
        answer = await self._post("/press", {"message_id": target.message_id, "data": found[1]})
        return answer["callback_query_id"]

    async def block(self, blocked: bool = True) -> None:
        await self._start()
        await self._post("/block", {"blocked": blocked})

    # -- what a person waits for -----------------------------------------------------------------------
    async def _wait(self, ready: Callable[[], bool], wanted: str, timeout: float) -> None:
        await self._start()
        deadline = asyncio.get_running_loop().time() + timeout
        while not ready():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise self._report(wanted, timeout)
            await self._poll(remaining)

    async def replies(self, count: int = 1, timeout: float = 10) -> list[BotMessage]:
        """The next `count` bot messages or edits since the last call."""
        await self._wait(lambda: len(self._unread) >= count, f"{count} replies", timeout)
        taken, self._unread = self._unread[:count], self._unread[count:]
        return taken

    async def until(self, predicate: Callable[[BotMessage], bool], timeout: float = 10) -> BotMessage:
        """The first new bot message or edit that satisfies `predicate`; earlier ones count as read."""
        def matched() -> bool:
            return any(predicate(received) for received in self._unread)

        await self._wait(matched, "a message matching the condition", timeout)
        index = next(i for i, received in enumerate(self._unread) if predicate(received))
        found = self._unread[index]
        del self._unread[: index + 1]
        return found

    async def callback_answer(self, timeout: float = 10) -> dict:
        """The next answer to a button press (the short notice or alert the phone shows)."""
        await self._wait(lambda: len(self.callback_answers) > self._answers_seen,
                         "an answer to a button press", timeout)
        self._answers_seen += 1
        return self.callback_answers[self._answers_seen - 1]
