"""Telegram's flood limits held for the whole bot, and network trouble waited out.

Telegram allows a bot about 30 messages a second across all chats and about one a second in
one chat, short bursts allowed ("My bot is hitting limits, how do I avoid this?", Bot API
FAQ). Every message to a chat first takes its turn in both paces (`core.pacing`): on
PostgreSQL the turns are kept in the database, so N worker processes together stay within the
limits, not N times them; on SQLite (one process) in memory. A 429 is still waited out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

from core import pacing
from core.db import Database
from core.pacing import LocalPaces, Pace

log = logging.getLogger(__name__)

CHAT_EVERY = 1.0  # seconds between messages to one chat, on average (Telegram: about one a second)
# Telegram tolerates short bursts in one chat: a reply of several messages or a handful of
# notices goes at once; a flood to one chat (the 21st message and on) goes one a second.
CHAT_BURST = 20


def paces(chat_id: object, per_second: int) -> tuple[Pace, Pace]:
    """The chat's pace, then the whole bot's: the rule every process applies."""
    return (Pace(f"telegram:{chat_id}", CHAT_EVERY, CHAT_BURST), Pace("telegram:*", 1 / per_second))


class RetryingRateLimiter(AIORateLimiter):
    """python-telegram-bot's limiter (it waits out 429 `retry_after`), with our shared paces in
    place of its in-process overall limit, plus a few retries of requests that failed on the
    network. A timed-out send may have been delivered; a rare duplicate message is better
    than a silent bot."""

    def __init__(self, *, per_second: int, db: Database | None = None, network_retries: int = 3,
                 **kwargs: Any) -> None:
        super().__init__(overall_max_rate=0, **kwargs)  # the paces below are the overall limit
        self._per_second = per_second
        self._shared = db if db is not None and db.dialect == "postgresql" else None
        self._local = LocalPaces()
        self._pruned = 0.0
        self._network_retries = network_retries

    async def _wait_turn(self, chat_id: object) -> None:
        """Waits for this message's turn in the chat's pace, then in the bot's."""
        wanted: Sequence[Pace] = paces(chat_id, self._per_second)
        while wanted:
            turn = await self._reserve(wanted)
            wanted = wanted[turn.taken:]
            if turn.wait > 0:
                await asyncio.sleep(turn.wait)

    async def _reserve(self, wanted: Sequence[Pace]) -> pacing.Turn:
        if self._shared is None:
            return self._local.reserve(wanted)
        try:
            now = asyncio.get_running_loop().time()
            if now - self._pruned > pacing.PRUNE_EVERY:
                self._pruned = now
                await self._shared.write(pacing.prune)
            return await self._shared.write(pacing.reserve, wanted)
        except Exception:  # the database is away: this process paces alone rather than not at all
            log.warning("shared send pace unavailable; pacing this process alone", exc_info=True)
            return self._local.reserve(wanted)

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        chat_id = data.get("chat_id")
        if chat_id is not None and self._per_second:
            await self._wait_turn(chat_id)
        for attempt in range(self._network_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data,
                                                      rate_limit_args)
            except NetworkError as error:
                if isinstance(error, BadRequest) or attempt == self._network_retries:
                    raise
                delay = 0.5 * 2 ** attempt
                log.warning("%s failed on the network (%s); retrying in %.1f s", endpoint,
                            type(error).__name__, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")
