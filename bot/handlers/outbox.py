"""Sends the citizens' notices that were decided elsewhere (the operator's command line).

Every few seconds each bot process claims a few due notices from the outbox
(`core.notices`), sends each and marks it sent at once; a failed notice is tried
again later, with growing waits, and given up after the last try (see
`RetryPolicy`). Claims in the database keep two processes from sending one notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import socket

from sqlalchemy import Connection, select
from telegram import Bot
from telegram.constants import ParseMode

from bot.flows.notices import notice_reply
from bot.handlers.render import outgoing
from bot.handlers.telegram import CHANNEL
from core import families, notices
from core.db import Database
from core.i18n import now_utc, today_hanoi, translator
from core.identity import accounts
from core.identity.accounts import ChannelAccount
from core.reporting.figures import RefreshSchedule

log = logging.getLogger(__name__)
_ACCOUNTS = ChannelAccount.__table__


def worker_name() -> str:
    """Who holds a claim: host, process and a random part (a restarted process is someone else)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def recipients(connection: Connection, notice: notices.DueNotice) -> list[tuple[str, str | None]]:
    """The Telegram chats (external id, language) a notice goes to; none means done unsent."""
    if notice.account_id is None:
        return accounts.linked_accounts(connection, CHANNEL, notice.citizen_id)
    row = connection.execute(select(_ACCOUNTS.c.channel, _ACCOUNTS.c.external_id, _ACCOUNTS.c.locale)
                             .where(_ACCOUNTS.c.id == notice.account_id)).one_or_none()
    # USSD has no push messages: a notice for a feature-phone account cannot reach it and is
    # done without a send (the caller reads what happened in the bot's menus).
    if row is None or row.channel != CHANNEL:
        return []
    return [(row.external_id, row.locale)]


class UnknownNoticeKind(LookupError):
    pass


class Outbox:
    def __init__(self, db: Database, every: float = 2.0, *, batch: int = 20,
                 policy: notices.RetryPolicy | None = None) -> None:
        self.db = db
        self.every = every
        self.batch = batch
        self.policy = policy or notices.RetryPolicy()
        self.name = worker_name()
        self._task: asyncio.Task[None] | None = None
        self._holding: list[int] = []  # claimed by this process, not yet sent or failed
        # The day this process last asked for the daily reminders: only saves a write a round;
        # which worker does a day's is decided in the database (core.families.tell_rights_ending).
        self._told_on: dt.date | None = None
        self._figures = RefreshSchedule()  # the dashboards' stored figures, kept current

    def start(self, bot: Bot) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(bot), name="citizen-notices")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._holding:  # handed back, so another process sends them now rather than after the claim
            held, self._holding = self._holding, []
            with contextlib.suppress(Exception):
                await self.db.write(notices.release, held, self.name)

    async def _run(self, bot: Bot) -> None:
        while True:
            try:
                await self._daily()
                await self._figures.tick(self.db)  # one worker each EHR_FIGURES_MINUTES
                sent = await self.send_due(bot)
            except Exception:  # the loop must outlive one bad round (a database hiccup)
                log.exception("sending citizens' notices failed; trying again")
                sent = 0
            if sent < self.batch:  # a full batch: more may be waiting, go on at once
                await asyncio.sleep(self.every)

    async def _daily(self) -> None:
        """Once a day, on whichever worker comes first (the database decides): guardians and
        teenagers told a month before an 18th birthday ends the guardian's right."""
        today = today_hanoi()
        if self._told_on != today:
            told = await self.db.write(families.tell_rights_ending, today)
            self._told_on = today
            if told:
                log.info("told %s guardians that a right ends in a month", told)

    async def send_due(self, bot: Bot) -> int:
        """One round: claims up to `batch` due notices and sends them; the number claimed."""
        claimed = await self.db.write(notices.claim, self.name, self.batch, self.policy)
        self._holding = [notice.id for notice in claimed]
        for notice in claimed:
            try:
                told = await self._send(bot, notice)
            except Exception as error:  # Forbidden, chat not found, a bug: this notice waits, the rest go
                dead = await self.db.write(notices.record_failure, notice, self.name, type(error).__name__,
                                           self.policy)
                log.warning("notice %s not delivered (%s, try %s of %s)%s", notice.id, type(error).__name__,
                            notice.tries + 1, self.policy.tries, "; given up" if dead else "")
            else:
                if told == 0 and self.policy.still_held(notice, now_utc()):
                    await self.db.write(notices.postpone, notice.id, self.name,
                                        now_utc() + self.policy.look_again_unlinked)
                else:
                    await self.db.write(notices.mark_sent, [notice.id])
            self._holding.remove(notice.id)
        return len(claimed)

    async def _send(self, bot: Bot, notice: notices.DueNotice) -> int:
        """Sends the notice to everyone it is for; how many chats that was."""
        chats = await self.db.read(recipients, notice)
        for external_id, locale in chats:
            reply = notice_reply(notice.kind, notice.params, translator(locale))
            if reply is None:  # a kind from a newer version (a rolling deploy): it sends it, not us
                raise UnknownNoticeKind(notice.kind)
            for message in outgoing(reply):
                await bot.send_message(int(external_id), message.html, parse_mode=ParseMode.HTML,
                                       reply_markup=message.markup)
        return len(chats)
