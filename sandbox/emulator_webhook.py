"""Webhook delivery: each update POSTed as JSON to the bot's URL, in order within a chat.

Chats are delivered in parallel up to max_connections, like Telegram; within one chat the next
update waits until the previous one is answered with a 2xx or given up after a few retries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from aiohttp import ClientError, ClientSession, ClientTimeout

log = logging.getLogger(__name__)

ATTEMPTS = 4
FIRST_BACKOFF = 0.1  # seconds, doubled after each failed attempt
DELIVERY_TIMEOUT = ClientTimeout(total=10)


def _lane(update: dict) -> int:
    """The chat an update belongs to: its delivery order is kept per chat."""
    for value in update.values():
        if not isinstance(value, dict):
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return chat["id"]
        return (value.get("from") or {}).get("id", 0)
    return 0


class Webhook:
    def __init__(self, url: str, secret_token: str | None, max_connections: int,
                 session: Callable[[], ClientSession]) -> None:
        self.url, self.secret_token, self.max_connections = url, secret_token, max_connections
        self._session = session
        self._slots = asyncio.Semaphore(max_connections)
        self._lanes: dict[int, deque[dict]] = {}
        self._workers: dict[int, asyncio.Task] = {}
        self._in_flight: set[int] = set()
        self._stopped = False
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.answers_to_lose = 0  # tests: the bot's next 2xx answers never reach "Telegram"

    @property
    def pending_count(self) -> int:
        return sum(len(lane) for lane in self._lanes.values())

    def deliver(self, update: dict) -> None:
        lane = _lane(update)
        self._lanes.setdefault(lane, deque()).append(update)
        if lane not in self._workers:
            self._workers[lane] = asyncio.create_task(self._drain(lane), name=f"webhook-lane-{lane}")

    async def _drain(self, lane: int) -> None:
        queue = self._lanes[lane]
        try:
            while queue and not self._stopped:
                update = queue[0]
                self._in_flight.add(update["update_id"])
                try:
                    await self._post(update)
                finally:
                    self._in_flight.discard(update["update_id"])
                if queue and queue[0] is update:
                    queue.popleft()
        finally:
            del self._workers[lane]
            if not queue:
                self._lanes.pop(lane, None)

    async def _post(self, update: dict) -> bool:
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret_token} if self.secret_token else {}
        for attempt in range(ATTEMPTS):
            try:
                async with self._slots, self._session().post(
                    self.url, json=update, headers=headers, timeout=DELIVERY_TIMEOUT
                ) as response:
                    if 200 <= response.status < 300 and self.answers_to_lose == 0:
                        return True
                    if 200 <= response.status < 300:  # the bot took it, but Telegram never heard so
                        self.answers_to_lose -= 1
                        error = "Read timeout expired"
                    else:
                        error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except TimeoutError:
                error = "Read timeout expired"
            except ClientError as failure:
                error = f"Connection failed: {type(failure).__name__}"
            self.last_error_date, self.last_error_message = int(time.time()), error
            log.warning("webhook delivery of update %s failed (attempt %s of %s): %s",
                        update["update_id"], attempt + 1, ATTEMPTS, error)
            if self._stopped:
                break
            await asyncio.sleep(FIRST_BACKOFF * 2**attempt)
        log.error("webhook: update %s dropped after %s attempts", update["update_id"], ATTEMPTS)
        return False

    def stop(self) -> list[dict]:
        """Stops delivering; returns the updates not yet handed to the bot."""
        self._stopped = True
        backlog = [u for lane in self._lanes.values() for u in lane if u["update_id"] not in self._in_flight]
        for lane in self._lanes.values():
            lane.clear()
        return backlog

    async def close(self) -> None:
        self.stop()
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    def info(self, pending_count: int, allowed: frozenset[str]) -> dict:
        info: dict = {"url": self.url, "has_custom_certificate": False, "pending_update_count": pending_count,
                      "max_connections": self.max_connections, "ip_address": "127.0.0.1"}
        if allowed:
            info["allowed_updates"] = sorted(allowed)
        if self.last_error_date:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        return info
