"""Sends the citizens' notices that were decided elsewhere (the operator's command line).

Polls the outbox (`core.notices`) every few seconds; a notice is marked sent once
Telegram took it, or when the citizen has no linked account to send it to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.flows.notices import notice_reply
from bot.handlers.render import outgoing
from bot.handlers.telegram import CHANNEL
from core import notices
from core.db import Database
from core.i18n import translator
from core.identity import accounts

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, db: Database, every: float = 2.0) -> None:
        self.db = db
        self.every = every
        self._task: asyncio.Task[None] | None = None

    def start(self, bot: Bot) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(bot), name="citizen-notices")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, bot: Bot) -> None:
        while True:
            try:
                await self.send_due(bot)
            except Exception:  # the loop must outlive one bad round (a database hiccup)
                log.exception("sending citizens' notices failed; trying again")
            await asyncio.sleep(self.every)

    async def send_due(self, bot: Bot) -> int:
        done: list[int] = []
        for notice in await self.db.read(notices.due):
            try:
                for external_id, locale in await self.db.read(accounts.linked_accounts, CHANNEL,
                                                              notice.citizen_id):
                    reply = notice_reply(notice.kind, notice.params, translator(locale))
                    if reply is None:
                        continue
                    for message in outgoing(reply):
                        await bot.send_message(int(external_id), message.html, parse_mode=ParseMode.HTML,
                                               reply_markup=message.markup)
            except TelegramError as error:
                log.warning("notice %s not delivered yet (%s)", notice.id, type(error).__name__)
                continue
            done.append(notice.id)
        if done:
            await self.db.write(notices.mark_sent, done)
        return len(done)
