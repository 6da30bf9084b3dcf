"""Webhook mode's durable inbox for Telegram updates (`core.inbox` holds them).

The webhook route stores each update and only then answers Telegram 200; the worker
here, one per process, claims stored updates and hands them to python-telegram-bot
(`Application.process_update`), marking each finished once handled. A chat's updates
are claimed one at a time and in order by every process together, so the per-chat
order needs no lock in memory. A restart finds what was stored and not yet handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.handlers.outbox import worker_name
from bot.handlers.telegram import CHANNEL
from core import inbox
from core.db import Database

log = logging.getLogger(__name__)

# Telegram keeps what it could not deliver (24 hours) and retries; past this backlog, they hold it.
DEFAULT_BACKLOG = 10_000
POLL_EVERY = 1.0  # seconds: updates stored by other processes, lapsed claims
PRUNE_EVERY = 600.0  # seconds between deletions of old finished ids


def lane_of(update: Update) -> str | None:
    """The chat whose order an update keeps (a message, a button, the bot blocked); None: no chat."""
    chat = update.effective_chat
    return str(chat.id) if chat is not None else None


class TelegramInbox:
    def __init__(self, db: Database, application: Application, *, concurrency: int = 16,
                 backlog_limit: int = DEFAULT_BACKLOG) -> None:
        self.db = db
        self.application = application
        self.concurrency = concurrency
        self.backlog_limit = backlog_limit
        self.name = worker_name()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._handling: dict[int, asyncio.Task[None]] = {}  # row id -> its handling

    # -- intake (the webhook route) -----------------------------------------------------------
    async def receive(self, data: dict[str, Any]) -> inbox.Stored:
        """Stores one update from Telegram; raises if the database cannot take it."""
        update = Update.de_json(data, self.application.bot)
        stored = await self.db.write(inbox.store, CHANNEL, update.update_id, lane_of(update), data,
                                     self.backlog_limit)
        if stored is inbox.Stored.NEW:
            self._wake.set()
        return stored

    # -- the worker ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="telegram-inbox")

    async def stop(self, grace: float = 10.0) -> None:
        """Stops claiming; lets what is being handled finish (up to `grace` seconds)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        handling = list(self._handling.values())
        if handling:
            _done, late = await asyncio.wait(handling, timeout=grace)
            cut = [row_id for row_id, task in self._handling.items() if task in late]
            for task in late:  # cut short: handled again (at least once), by whoever claims it next
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.db.write(inbox.release, cut, self.name)

    async def _run(self) -> None:
        renewed = pruned = asyncio.get_running_loop().time()
        while True:
            self._wake.clear()
            try:
                now = asyncio.get_running_loop().time()
                if now - renewed > inbox.CLAIM_FOR.total_seconds() / 3:
                    await self.db.write(inbox.renew, list(self._handling), self.name)
                    renewed = now
                if now - pruned > PRUNE_EVERY:
                    await self.db.write(inbox.prune)
                    pruned = now
                await self._claim()
            except Exception:  # the loop outlives a database hiccup; Telegram's copies wait with us
                log.exception("taking stored Telegram updates failed; trying again")
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation (gh-86296).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_EVERY):
                    await self._wake.wait()

    async def _claim(self) -> None:
        free = self.concurrency - len(self._handling)
        if free <= 0:
            return
        for claimed in await self.db.write(inbox.claim, CHANNEL, self.name, free):
            task = asyncio.create_task(self._handle(claimed), name=f"telegram-update-{claimed.update_id}")
            self._handling[claimed.id] = task

    async def _handle(self, claimed: inbox.ClaimedUpdate) -> None:
        error: str | None = None
        try:
            update = Update.de_json(claimed.payload, self.application.bot)
            # Handlers' own failures are answered by the bot's error handler inside process_update.
            await self.application.process_update(update)
        except asyncio.CancelledError:
            self._handling.pop(claimed.id, None)
            raise
        except Exception as failure:  # kept by its type; the chat's next update goes on
            error = type(failure).__name__
            log.exception("Telegram update %s could not be handled", claimed.update_id)
        try:
            await self.db.write(inbox.finish, claimed.id, error)
        except Exception:  # the claim lapses and the update is handled again: at least once
            log.exception("Telegram update %s handled but not marked", claimed.update_id)
        finally:
            self._handling.pop(claimed.id, None)
            self._wake.set()  # the chat's next update may now be claimed
