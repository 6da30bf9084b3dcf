"""The bot's update queue: getUpdates with Telegram's offset, limit and long-poll rules.

While a webhook is set, new updates go to it instead and getUpdates answers 409, as on
api.telegram.org; deleting the webhook hands undelivered updates back to the queue.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import ClientSession

from sandbox.emulator_params import ApiError, bad_request
from sandbox.emulator_webhook import Webhook

# Updates a bot receives only when it lists them in allowed_updates.
OPT_IN = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
UPDATE_TYPES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages", "inline_query",
    "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
    "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_join_request",
    "chat_boost", "removed_chat_boost", *OPT_IN,
})
LONG_POLL_MAX = 50  # seconds; the server shortens longer timeouts
WEBHOOK_ACTIVE = ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                               "use deleteWebhook to delete the webhook first")
SUPERSEDED = ApiError(409, "Conflict: terminated by other getUpdates request; "
                           "make sure that only one bot instance is running")


def update_type(update: dict) -> str | None:
    return next((key for key in update if key in UPDATE_TYPES), None)


class UpdateQueue:
    def __init__(self, session: Callable[[], ClientSession]) -> None:
        self._session = session
        self._pending: deque[dict] = deque()
        self._ids = itertools.count(1)
        self._arrived = asyncio.Event()
        self._polls = 0  # getUpdates calls so far; a newer call ends an older waiting one
        self._closed = False
        self.allowed: frozenset[str] = frozenset()
        self.webhook: Webhook | None = None

    # -- producing ------------------------------------------------------------------------
    def push(self, update: dict) -> int:
        """Queues (or delivers) an update and returns its update_id."""
        update_id = next(self._ids)
        update = {"update_id": update_id, **{k: v for k, v in update.items() if k != "update_id"}}
        if not self._wanted(update_type(update)):
            return update_id
        if self.webhook is not None:
            self.webhook.deliver(update)
        else:
            self._pending.append(update)
            self._wake()
        return update_id

    def _wanted(self, kind: str | None) -> bool:
        if kind is None:
            return False
        return kind in self.allowed if self.allowed else kind not in OPT_IN

    def _wake(self) -> None:
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    def set_allowed(self, allowed: Any) -> None:
        if allowed is None:
            return  # "If not specified, the previous setting will be used."
        if not isinstance(allowed, list) or not all(isinstance(kind, str) for kind in allowed):
            raise bad_request("can't parse allowed updates JSON object")
        self.allowed = frozenset(kind for kind in allowed if kind in UPDATE_TYPES)

    @property
    def pending_count(self) -> int:
        return self.webhook.pending_count if self.webhook else len(self._pending)

    # -- getUpdates -----------------------------------------------------------------------
    async def get(self, offset: int, limit: int, timeout: float, allowed: Any) -> list[dict]:
        if self.webhook is not None:
            raise WEBHOOK_ACTIVE
        self.set_allowed(allowed)
        self._confirm(offset)
        if not 1 <= limit <= 100:
            limit = 100
        self._polls += 1
        poll = self._polls
        self._wake()  # an older long poll, if any, ends with a conflict
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(timeout, 0), LONG_POLL_MAX)
        while not self._pending and not self._closed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            arrived = self._arrived
            try:
                await asyncio.wait_for(arrived.wait(), remaining)
            except TimeoutError:
                break
            if self.webhook is not None:
                raise WEBHOOK_ACTIVE
            if poll != self._polls:
                raise SUPERSEDED
        return list(itertools.islice(self._pending, limit))

    def _confirm(self, offset: int) -> None:
        """A positive offset confirms earlier updates; a negative one keeps the last -offset."""
        if offset > 0:
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        elif offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()

    # -- webhook --------------------------------------------------------------------------
    def set_webhook(self, url: str, secret_token: str | None, max_connections: int,
                    drop_pending: bool) -> None:
        current = self.webhook
        if (current is not None and not drop_pending and current.url == url
                and current.secret_token == secret_token and current.max_connections == max_connections):
            # Telegram answers "Webhook is already set" and delivery goes on as it was: each of a
            # service's workers sets the same webhook at start, and none may break a chat's order.
            return
        undelivered = self._take_webhook_backlog()
        if drop_pending:
            undelivered, self._pending = [], deque()
        self.webhook = Webhook(url, secret_token, max_connections, self._session)
        for update in sorted([*self._pending, *undelivered], key=lambda u: u["update_id"]):
            self.webhook.deliver(update)
        self._pending.clear()
        self._wake()

    def delete_webhook(self, drop_pending: bool) -> bool:
        had_webhook = self.webhook is not None
        undelivered = self._take_webhook_backlog()
        self.webhook = None
        if drop_pending:
            self._pending.clear()
        else:
            self._pending = deque(sorted([*self._pending, *undelivered], key=lambda u: u["update_id"]))
        return had_webhook

    def _take_webhook_backlog(self) -> list[dict]:
        return self.webhook.stop() if self.webhook is not None else []

    def end_long_polls(self) -> None:
        """Server shutdown: waiting getUpdates calls answer now instead of at their timeout."""
        self._closed = True
        self._wake()

    async def close(self) -> None:
        self.end_long_polls()
        if self.webhook is not None:
            await self.webhook.close()
