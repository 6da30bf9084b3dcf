"""Webhook mode loses no update and answers none twice: Telegram is told "received" only once an
update is stored, a restart finds what was stored, and a chat's updates are handled in order."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import aiohttp
import pytest
from sqlalchemy import Connection, select, text
from telegram.ext import Application

from bot.handlers.application import build_application
from bot.handlers.inbox import TelegramInbox
from bot.run import INBOX, start_webhook, stop_webhook
from bot.webhook import SECRET_HEADER, WEBHOOK_PATH
from core import inbox
from core.db import Database
from core.inbox import ChannelUpdate, Stored
from sandbox import emulator_webhook
from sandbox.client import TelegramUser
from tests.telegram_world import TelegramWorld

SECRET = "a-long-webhook-secret-for-tests"
_UPDATES = ChannelUpdate.__table__


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@asynccontextmanager
async def webhook_process(world: TelegramWorld, *, backlog: int = 10_000) -> AsyncIterator[
        tuple[str, Application, TelegramInbox]]:
    """One bot process in webhook mode (`python -m bot serve`), Telegram pointed at it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = replace(world.settings, webhook_url=url, webhook_secret=SECRET, webhook_backlog=backlog)
    runner, application = await start_webhook(settings, world.db, "127.0.0.1", port)
    try:
        yield url + WEBHOOK_PATH, application, application.bot_data[INBOX]
    finally:
        await stop_webhook(runner, application)


@pytest.fixture
def patient_telegram(monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram retries an unacknowledged update for a long time; the emulator's few quick
    retries are stretched to about 25 seconds so a test can act between them."""
    monkeypatch.setattr(emulator_webhook, "ATTEMPTS", 9)


async def stored(db: Database) -> list[dict]:
    def read(connection: Connection) -> list[dict]:
        return [dict(r) for r in connection.execute(select(_UPDATES).order_by(_UPDATES.c.id)).mappings()]
    return await db.read(read)


async def eventually(check, what: str, timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        await asyncio.sleep(0.02)


def last_webhook_error(world: TelegramWorld) -> str | None:
    webhook = world.emulator.sandbox.updates.webhook
    return webhook.last_error_message if webhook else None


def helps(world: TelegramWorld, user: TelegramUser) -> int:
    chat = world.emulator.chat(user.user_id)
    return sum(1 for m in chat.messages.values() if m.message["from"].get("is_bot")
               and "/xacthuc" in m.message.get("text", ""))


async def test_telegram_is_answered_only_once_the_update_is_stored_so_a_database_outage_loses_nothing(
        any_world: TelegramWorld, patient_telegram: None) -> None:
    world = any_world
    await world.stop_bot()
    async with webhook_process(world):
        user = world.phone()
        async with world.db.engine.begin() as connection:  # the inbox cannot be written
            await connection.execute(text("ALTER TABLE channel_updates RENAME TO channel_updates_away"))
        try:
            await user.send("/help")

            async def refused() -> bool:
                return "503" in (last_webhook_error(world) or "")
            await eventually(refused, "the webhook to refuse the update")
        finally:
            async with world.db.engine.begin() as connection:
                await connection.execute(text("ALTER TABLE channel_updates_away RENAME TO channel_updates"))
        # Telegram sends it again; now it is stored and answered.
        await user.until(lambda m: "/xacthuc" in m.text, timeout=30)
    assert helps(world, user) == 1


async def test_an_update_stored_before_a_restart_is_answered_after_it(any_world: TelegramWorld) -> None:
    world = any_world
    await world.stop_bot()
    user = world.phone()
    async with webhook_process(world) as (_url, _application, worker):
        await worker.stop()  # the process goes down right after storing, before handling
        await user.send("/help")

        async def kept() -> bool:
            return any(row["done_at"] is None for row in await stored(world.db))
        await eventually(kept, "the update to be stored")
        with pytest.raises(AssertionError):
            await user.until(lambda m: True, timeout=1)  # acknowledged, not yet answered
    async with webhook_process(world):  # the process starts again
        await user.until(lambda m: "/xacthuc" in m.text)
    assert helps(world, user) == 1


async def test_an_update_telegram_delivers_twice_is_answered_once(any_world: TelegramWorld) -> None:
    world = any_world
    await world.stop_bot()
    user = world.phone()
    async with webhook_process(world):
        world.emulator.lose_webhook_answers(2)  # our 200 never reaches Telegram, twice
        sent = await user.send("/help")
        await user.until(lambda m: "/xacthuc" in m.text)

        async def delivered_thrice() -> bool:  # the first delivery and two repeats, all acknowledged
            webhook = world.emulator.sandbox.updates.webhook
            return webhook is not None and webhook.answers_to_lose == 0 and webhook.pending_count == 0
        await eventually(delivered_thrice, "Telegram's repeats to be acknowledged")
        await asyncio.sleep(0.5)
    assert helps(world, user) == 1
    rows = await stored(world.db)
    assert [row["update_id"] for row in rows] == [sent["update_id"]]


async def test_what_a_person_typed_is_not_kept_once_it_is_answered(any_world: TelegramWorld) -> None:
    world = any_world
    await world.stop_bot()
    user = world.phone()
    async with webhook_process(world):
        await user.send("001090001234")  # a personal ID typed at the wrong moment
        await user.until(lambda m: True)

        async def finished() -> bool:
            return all(row["done_at"] is not None for row in await stored(world.db))
        await eventually(finished, "the update to be finished")
    (row,) = await stored(world.db)
    assert row["payload"] is None and row["lane"] == str(user.user_id)


async def test_one_chats_quick_messages_are_answered_in_order_by_two_workers(
        any_world: TelegramWorld) -> None:
    world = any_world
    await world.stop_bot()
    user = world.phone()
    # A second bot process on the same database, taking stored updates as well.
    other = build_application(world.settings, world.db, polling=False)
    await other.initialize()
    second = TelegramInbox(world.db, other)
    commands = ["/help", "/lang"] * 4
    try:
        async with webhook_process(world) as (_url, _application, first):
            await first.stop()  # the messages pile up first, as after a busy moment
            for command in commands:
                await user.send(command)

            async def all_kept() -> bool:
                return len(await stored(world.db)) == len(commands)
            await eventually(all_kept, "every message to be stored")
            first.start()
            second.start()
            answers = await user.replies(len(commands), timeout=30)
    finally:
        await second.stop()
        await other.shutdown()
    kinds = ["/help" if "/xacthuc" in m.text else "/lang" if "Tiếng Việt" in m.labels else m.text
             for m in answers]
    assert kinds == commands


async def test_an_overfull_backlog_is_answered_with_a_retry_status(
        any_world: TelegramWorld, patient_telegram: None) -> None:
    world = any_world
    await world.stop_bot()
    first, second, third = world.phone(), world.phone(), world.phone()
    async with webhook_process(world, backlog=2) as (url, _application, worker):
        await worker.stop()  # handling falls behind
        for count, user in enumerate((first, second), start=1):
            await user.send("/help")

            async def kept(count: int = count) -> bool:
                return len(await stored(world.db)) == count
            await eventually(kept, f"update {count} to be stored")
        await third.send("/help")

        async def pushed_back() -> bool:
            return "503" in (last_webhook_error(world) or "")
        await eventually(pushed_back, "the third update to be refused")
        assert len(await stored(world.db)) == 2
        async with aiohttp.ClientSession() as telegram:  # what Telegram is told, headers included
            answer = await telegram.post(url, json={"update_id": 10**9, "message": {
                "message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "hi"}},
                headers={SECRET_HEADER: SECRET})
            assert answer.status == 503 and answer.headers["Retry-After"].isdigit()
        worker.start()  # handling catches up; Telegram's next try is taken
        for user in (first, second, third):
            await user.until(lambda m: "/xacthuc" in m.text, timeout=30)


async def test_only_the_oldest_unfinished_update_of_a_chat_can_be_claimed(db: Database) -> None:
    def keep(update_id: int, lane: str | None) -> Stored:
        return lambda c: inbox.store(c, "telegram", update_id, lane, {"update_id": update_id}, 100)
    for update_id, lane in ((10, "7"), (11, "7"), (12, "8"), (13, None), (14, None)):
        assert await db.write(keep(update_id, lane)) is Stored.NEW
    assert await db.write(keep(11, "7")) is Stored.AGAIN  # a redelivery

    brief = dt.timedelta(seconds=0.5)
    taken = await db.write(inbox.claim, "telegram", "worker-a", 10, brief)
    assert [u.update_id for u in taken] == [10, 12, 13, 14]  # not 11: chat 7's 10 is unfinished
    assert await db.write(inbox.claim, "telegram", "worker-b", 10, brief) == []
    await db.write(inbox.finish, taken[0].id)
    (eleven,) = await db.write(inbox.claim, "telegram", "worker-b", 10, brief)
    assert eleven.update_id == 11

    await asyncio.sleep(0.6)  # worker-a died holding 12, 13 and 14; worker-b lives and renews its claim
    await db.write(inbox.renew, [eleven.id], "worker-b")
    again = await db.write(inbox.claim, "telegram", "worker-c", 10, brief)
    assert [u.update_id for u in again] == [12, 13, 14]
    assert await db.read(inbox.backlog, "telegram") == 4


async def test_a_chats_older_update_arriving_late_waits_for_the_one_being_answered(db: Database) -> None:
    """Telegram may hand a chat's updates to two workers out of order (a retried delivery): the
    late one waits until the chat's update in hand is answered, never runs beside it."""
    def keep(update_id: int) -> Stored:
        return lambda c: inbox.store(c, "telegram", update_id, "7", {"update_id": update_id}, 100)
    await db.write(keep(21))
    (held,) = await db.write(inbox.claim, "telegram", "worker-a", 10)
    await db.write(keep(20))  # older, stored after 21 was taken
    assert await db.write(inbox.claim, "telegram", "worker-b", 10) == []
    await db.write(inbox.finish, held.id)
    (late,) = await db.write(inbox.claim, "telegram", "worker-b", 10)
    assert late.update_id == 20


async def test_an_update_that_keeps_killing_its_worker_is_given_up_and_the_chat_goes_on(db: Database) -> None:
    for update_id in (1, 2):
        await db.write(lambda c, u=update_id: inbox.store(c, "telegram", u, "7", {"update_id": u}, 100))
    for attempt in range(inbox.MAX_TRIES):
        (claimed,) = await db.write(inbox.claim, "telegram", f"worker-{attempt}", 10, dt.timedelta(0))
        assert claimed.update_id == 1  # each worker dies with it; the claim lapses at once
    (claimed,) = await db.write(inbox.claim, "telegram", "worker-last", 10, dt.timedelta(0))
    assert claimed.update_id == 2
    assert await db.read(inbox.backlog, "telegram") == 1


async def test_the_backlog_limit_refuses_new_updates_but_takes_redeliveries(db: Database) -> None:
    for update_id in (1, 2):
        await db.write(lambda c, u=update_id: inbox.store(c, "telegram", u, str(u), {}, 2))
    assert await db.write(lambda c: inbox.store(c, "telegram", 3, "3", {}, 2)) is Stored.FULL
    assert await db.write(lambda c: inbox.store(c, "telegram", 2, "2", {}, 2)) is Stored.AGAIN
    (first, _second) = await db.write(inbox.claim, "telegram", "w", 10)
    await db.write(inbox.finish, first.id)
    assert await db.write(lambda c: inbox.store(c, "telegram", 3, "3", {}, 2)) is Stored.NEW
    assert await db.write(inbox.prune, dt.timedelta(0)) == 1  # the finished id, no longer needed
