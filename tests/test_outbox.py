"""Citizens' notices: each arrives once, a chat that cannot be reached holds up nobody, and a
crash or a second worker never sends a notice twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import Connection, select, update
from telegram import Bot

from bot.handlers.application import build_application
from bot.handlers.outbox import Outbox
from core import notices
from core.db import Database
from core.i18n import now_utc
from core.identity import accounts
from core.notices import CitizenNotice, RetryPolicy
from core.records.citizen import Citizen
from sandbox.client import TelegramUser
from tests.records import make_empty_record, make_full_record
from tests.telegram_world import TelegramWorld

ROOT = Path(__file__).resolve().parent.parent
_NOTICES = CitizenNotice.__table__


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        await asyncio.sleep(0.05)


async def quiet_world(world: TelegramWorld, *names: str) -> list[TelegramUser]:
    """Phones whose chats with the bot exist, and no bot of the world's own sending notices."""
    await world.stop_bot()
    users = [world.phone(first_name=name) for name in names]
    for user in users:
        await user.send("xin chào")  # a private chat exists once the person wrote to the bot
    return users


async def link(world: TelegramWorld, user: TelegramUser, citizen_id: int) -> int:
    def linked(connection: Connection) -> int:
        account = accounts.open_account(connection, "telegram", str(user.user_id))
        accounts.link_citizen(connection, account.id, "telegram", citizen_id)
        return account.id
    return await world.db.write(linked)


async def tell(db: Database, citizen_id: int, value: str, account_id: int | None = None) -> None:
    await db.write(lambda c: notices.enqueue(c, citizen_id, "correction_approved", account_id=account_id,
                                             field="email", value=value))


async def rows(db: Database) -> dict[str, dict]:
    """Every notice's delivery state, by the value it carries."""
    def read(connection: Connection) -> dict[str, dict]:
        # The test's own notices (the seeded household's grant told its two people as well).
        found = connection.execute(select(_NOTICES).where(_NOTICES.c.kind == "correction_approved")
                                   .order_by(_NOTICES.c.id)).mappings()
        return {notices._notice(row).params["value"]: dict(row) for row in found}
    return await db.read(read)


def received(world: TelegramWorld, user: TelegramUser, value: str) -> int:
    """How many bot messages in the person's chat carry this notice (counted by the emulator)."""
    chat = world.emulator.chat(user.user_id)
    return sum(1 for stored in chat.messages.values()
               if stored.message["from"].get("is_bot") and value in stored.message.get("text", ""))


@asynccontextmanager
async def sender(world: TelegramWorld, **options: object) -> AsyncIterator[tuple[Outbox, Bot]]:
    """One bot process's notice sender (the real Application's bot, over HTTP to the emulator)."""
    application = build_application(world.settings, world.db, polling=False)
    await application.initialize()
    outbox = Outbox(world.db, **options)  # type: ignore[arg-type]
    try:
        yield outbox, application.bot
    finally:
        await outbox.stop()
        await application.shutdown()


async def test_notices_to_a_chat_that_blocked_the_bot_hold_up_nobody_and_are_given_up_after_the_bound(
        any_world: TelegramWorld) -> None:
    world = any_world
    lan, minh = await quiet_world(world, "Lan", "Minh")
    await link(world, lan, world.residents[0].citizen_id)
    await link(world, minh, world.residents[1].citizen_id)
    await lan.block()
    for number in range(12):  # more than two rounds' worth, all undeliverable
        await tell(world.db, world.residents[0].citizen_id, f"blocked-{number}")
    await tell(world.db, world.residents[1].citizen_id, "for-minh")

    policy = RetryPolicy(tries=3, first_wait=dt.timedelta(seconds=1))
    async with sender(world, every=0.05, batch=5, policy=policy) as (outbox, bot):
        outbox.start(bot)
        await minh.until(lambda m: "for-minh" in m.text)
        # Minh's notice came while Lan's were waiting out their first back-off, not after they died.
        state = await rows(world.db)
        blocked = [state[f"blocked-{n}"] for n in range(12)]
        assert all(row["tries"] == 1 and row["dead_at"] is None for row in blocked)
        assert all(row["next_attempt_at"] > now_utc() for row in blocked)

        async def all_given_up() -> bool:
            state = await rows(world.db)
            return all(state[f"blocked-{n}"]["dead_at"] is not None for n in range(12))
        # 36 tries to one chat: past a burst of 20 they go one a second (Telegram's per-chat limit).
        await eventually(all_given_up, "the blocked chat's notices to be given up", timeout=40)

    state = await rows(world.db)
    for number in range(12):
        row = state[f"blocked-{number}"]
        assert (row["tries"], row["last_error"], row["sent_at"]) == (3, "Forbidden", None)
        assert received(world, lan, f"blocked-{number}") == 0
    assert state["for-minh"]["sent_at"] is not None and received(world, minh, "for-minh") == 1


async def test_a_notice_to_someone_who_blocked_the_bot_waits_longer_each_try_and_arrives_once_unblocked(
        any_world: TelegramWorld) -> None:
    world = any_world
    (lan,) = await quiet_world(world, "Lan")
    citizen_id = world.residents[0].citizen_id
    await link(world, lan, citizen_id)
    await lan.block()
    await tell(world.db, citizen_id, "decision-1")
    # Waits of a second and two: long enough that a busy machine's own pauses between the
    # failed try and the next look never make the notice due early.
    policy = RetryPolicy(tries=6, first_wait=dt.timedelta(seconds=1))
    async with sender(world, policy=policy) as (outbox, bot):
        waits = []
        for tries in (1, 2):
            before = now_utc()
            assert await outbox.send_due(bot) == 1
            row = (await rows(world.db))["decision-1"]
            assert (row["tries"], row["last_error"]) == (tries, "Forbidden")
            waits.append(row["next_attempt_at"] - before)
            assert await outbox.send_due(bot) == 0  # not tried again before its time
            await asyncio.sleep(policy.first_wait.total_seconds() * tries + 0.1)
        assert dt.timedelta(seconds=1) <= waits[0] < dt.timedelta(seconds=1.5)
        assert dt.timedelta(seconds=2) <= waits[1] < dt.timedelta(seconds=2.5)

        await lan.block(False)  # the person unblocks the bot
        assert await outbox.send_due(bot) == 1
    await lan.until(lambda m: "decision-1" in m.text)
    assert (await rows(world.db))["decision-1"]["sent_at"] is not None


async def _start_sender_process(url: str, api_base: str, *, per_second: int,
                                claim_seconds: float) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.outbox_process", url, api_base, str(per_second), str(claim_seconds),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    assert line.strip() == b"ready", line
    return process


async def test_each_notice_is_marked_sent_at_once_so_a_crash_after_the_first_resends_none_and_loses_none(
        any_world: TelegramWorld) -> None:
    world = any_world
    (lan,) = await quiet_world(world, "Lan")
    citizen_id = world.residents[0].citizen_id
    await link(world, lan, citizen_id)
    for number in (1, 2, 3):
        await tell(world.db, citizen_id, f"decision-{number}")
    # One message a second: the process is killed between its first and second send.
    process = await _start_sender_process(world.db.url, world.settings.api_base_url, per_second=1,
                                          claim_seconds=1)
    try:
        async def first_marked() -> bool:
            return (await rows(world.db))["decision-1"]["sent_at"] is not None
        await eventually(first_marked, "the first notice to be marked sent", timeout=30)
    finally:
        process.kill()  # a crash: no clean-up of any kind
        await process.wait()
    state = await rows(world.db)
    assert received(world, lan, "decision-1") == 1
    assert state["decision-2"]["sent_at"] is None and state["decision-3"]["sent_at"] is None
    assert received(world, lan, "decision-2") == received(world, lan, "decision-3") == 0

    # The dead process's claims lapse; another worker sends the rest, and the first not again.
    async with sender(world, every=0.05) as (outbox, bot):
        outbox.start(bot)
        await lan.until(lambda m: "decision-3" in m.text, timeout=15)
    assert [received(world, lan, f"decision-{n}") for n in (1, 2, 3)] == [1, 1, 1]


async def test_two_worker_processes_send_each_notice_exactly_once(any_world: TelegramWorld) -> None:
    world = any_world
    phones = await quiet_world(world, *(f"P{n}" for n in range(6)))
    citizens = await world.db.read(lambda c: list(c.execute(
        select(Citizen.id).order_by(Citizen.id).limit(6)).scalars()))
    for phone, citizen_id in zip(phones, citizens, strict=True):
        await link(world, phone, citizen_id)
    workers = [await _start_sender_process(world.db.url, world.settings.api_base_url, per_second=0,
                                           claim_seconds=300) for _ in range(2)]
    try:
        for number in range(60):
            await tell(world.db, citizens[number % 6], f"n-{number:02}")

        async def all_sent() -> bool:
            return all(row["sent_at"] is not None for row in (await rows(world.db)).values())
        await eventually(all_sent, "every notice to be sent", timeout=60)
        await asyncio.sleep(0.5)  # a duplicate, if any, has time to arrive
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            await worker.wait()
    counts = {f"n-{n:02}": received(world, phones[n % 6], f"n-{n:02}") for n in range(60)}
    assert counts == {value: 1 for value in counts}
    senders = {row["claimed_by"] for row in (await rows(world.db)).values()}
    assert len(senders) == 2, "both processes took part"


async def test_a_notice_for_one_account_reaches_that_account_and_not_the_citizens_current_one(
        any_world: TelegramWorld) -> None:
    world = any_world
    earlier, current = await quiet_world(world, "Lan", "Minh")
    citizen_id = world.residents[0].citizen_id
    earlier_account = await link(world, earlier, citizen_id)
    await link(world, current, citizen_id)  # the book's link moves to the new account
    await tell(world.db, citizen_id, "to-the-earlier-account", account_id=earlier_account)
    await tell(world.db, citizen_id, "to-the-citizen")
    async with sender(world) as (outbox, bot):
        assert await outbox.send_due(bot) == 3  # the two, and "your book moved" to the earlier account
    await earlier.until(lambda m: "liên kết với một tài khoản khác" in m.text)
    await earlier.until(lambda m: "to-the-earlier-account" in m.text)
    await current.until(lambda m: "to-the-citizen" in m.text)
    assert received(world, current, "to-the-earlier-account") == 0
    assert received(world, earlier, "to-the-citizen") == 0


async def test_a_notice_for_a_feature_phone_is_done_without_a_send(any_world: TelegramWorld) -> None:
    world = any_world
    (lan,) = await quiet_world(world, "Lan")
    linked = world.residents[0].citizen_id
    await link(world, lan, linked)
    # USSD cannot push a message: a notice for a feature-phone account is done, not sent elsewhere.
    feature_phone = await world.db.write(lambda c: accounts.open_account(c, "ussd", "a-number-key").id)
    await tell(world.db, linked, "to-the-feature-phone", account_id=feature_phone)
    async with sender(world) as (outbox, bot):
        assert await outbox.send_due(bot) == 1
        assert await outbox.send_due(bot) == 0
    state = await rows(world.db)
    assert state["to-the-feature-phone"]["sent_at"] is not None
    assert state["to-the-feature-phone"]["tries"] == 0
    assert received(world, lan, "to-the-feature-phone") == 0


async def test_a_citizen_who_logged_out_is_told_the_stations_decision_when_they_come_back(
        any_world: TelegramWorld) -> None:
    # The walk's finding: a correction decided while the citizen was logged out was marked sent
    # to nobody and never reached them. It now waits for their next link, a month at most.
    world = any_world
    (lan,) = await quiet_world(world, "Lan")
    citizen_id = world.residents[1].citizen_id
    await tell(world.db, citizen_id, "decided-while-away")
    async with sender(world) as (outbox, bot):
        assert await outbox.send_due(bot) == 1  # looked at: nobody to tell yet
        assert await outbox.send_due(bot) == 0  # and not looked at again every round
        state = (await rows(world.db))["decided-while-away"]
        assert state["sent_at"] is None and state["tries"] == 0
        await link(world, lan, citizen_id)  # they verify again
        assert await outbox.send_due(bot) == 1
    await lan.until(lambda m: "decided-while-away" in m.text)
    assert (await rows(world.db))["decided-while-away"]["sent_at"] is not None


async def test_a_notice_nobody_links_for_within_a_month_is_done_without_a_send(
        any_world: TelegramWorld) -> None:
    world = any_world
    await quiet_world(world)
    citizen_id = world.residents[1].citizen_id
    await tell(world.db, citizen_id, "long-ago")
    month_ago = notices.now_utc() - dt.timedelta(days=31)
    await world.db.write(lambda c: c.execute(update(_NOTICES).values(created_at=month_ago)))
    async with sender(world) as (outbox, bot):
        assert await outbox.send_due(bot) == 1
        assert await outbox.send_due(bot) == 0
    state = (await rows(world.db))["long-ago"]
    assert state["sent_at"] is not None and state["tries"] == 0


async def test_a_claim_keeps_other_senders_off_until_it_lapses(db: Database) -> None:
    first, second = await make_full_record(db), await make_empty_record(db)
    await db.write(lambda c: notices.enqueue(c, first, "correction_approved", field="email", value="a"))
    await db.write(lambda c: notices.enqueue(c, second, "correction_rejected", field="email", reason="b"))
    brief = RetryPolicy(claim_for=dt.timedelta(seconds=0.5))
    taken = await db.write(notices.claim, "worker-a", 1, brief)
    assert [n.citizen_id for n in taken] == [first]  # oldest first
    assert [n.citizen_id for n in await db.write(notices.claim, "worker-b", 5, brief)] == [second]
    assert await db.write(notices.claim, "worker-c", 5, brief) == []
    await asyncio.sleep(0.6)  # worker-a died holding its claim
    again = await db.write(notices.claim, "worker-c", 5, brief)
    assert [n.citizen_id for n in again] == [first, second]
    # A late report from the dead worker counts no failure against worker-c's claim.
    assert not await db.write(notices.record_failure, taken[0], "worker-a", "NetworkError", brief)
    assert (await db.read(notices.due)) == []
    await db.write(notices.mark_sent, [n.id for n in again])
    assert await db.write(notices.claim, "worker-d", 5, RetryPolicy()) == []
