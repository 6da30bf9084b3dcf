"""Only the citizen opens their book: birth dates that prove nothing, lockouts that cannot be
raced or turned against the owner, and a ward station that sees who is being tried again and again.

Database tests run on a SQLite file and on the PostgreSQL server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from dataclasses import replace

from sqlalchemy import func, select, update

from core.config import PROJECT_ROOT
from core.db import Database
from core.identity import accounts, attempts, verification
from core.identity.attempts import MAX_FAILURES, IdentityLockout, Outcome, VerificationAttempt
from core.identity.keys import personal_id_key
from core.notices import CitizenNotice
from core.records.citizen import Citizen
from core.values import PartialDate
from tests.records import FULL_ID, make_full_record
from tests.telegram_world import TelegramWorld, verify
from tests.test_ussd import LOCKED, MENU, PIN, sign_up

WRONG_DAY = dt.date(1990, 7, 16)  # make_full_record's resident was born on 15/07/1990


async def _accounts(db: Database, count: int, channel: str = "telegram") -> list[accounts.Account]:
    return [await db.write(accounts.open_account, channel, f"guesser-{n}") for n in range(count)]


async def _attempts(db: Database, outcome: Outcome, id_key: str | None = None) -> int:
    async with db.sessions() as session:
        query = select(func.count()).select_from(VerificationAttempt).where(
            VerificationAttempt.outcome == outcome)
        if id_key is not None:
            query = query.where(VerificationAttempt.id_key == id_key)
        return await session.scalar(query) or 0


# --- Lockouts cannot be raced ------------------------------------------------------------


async def test_two_hundred_concurrent_guesses_stop_at_five(db: Database) -> None:
    """200 strangers guess one ID's birth date at the same moment: five guesses are evaluated,
    on SQLite and on PostgreSQL, where transactions really run side by side."""
    await make_full_record(db)
    claim = await verification.lookup(db, FULL_ID)
    guessers = await _accounts(db, 200)

    outcomes = await asyncio.gather(*(
        verification.check_birth_date(db, account, claim, WRONG_DAY) for account in guessers))

    assert await _attempts(db, Outcome.MISMATCH, claim.id_key) == MAX_FAILURES
    assert outcomes.count(Outcome.MISMATCH) == MAX_FAILURES - 1
    assert outcomes.count(Outcome.LOCKED) == len(guessers) - (MAX_FAILURES - 1)
    async with db.sessions() as session:
        lockouts = await session.scalar(select(func.count()).select_from(IdentityLockout))
    assert lockouts == 1  # one pause, recorded once, however many raced to cause it


async def test_one_account_guessing_many_ids_at_once_stops_at_five(db: Database) -> None:
    await make_full_record(db)
    [guesser] = await _accounts(db, 1)
    claims = [await verification.lookup(db, f"0010900{n:05d}") for n in range(40)]

    await asyncio.gather(*(verification.check_birth_date(db, guesser, claim, WRONG_DAY)
                           for claim in claims))

    assert await _attempts(db, Outcome.MISMATCH) == MAX_FAILURES


# --- ... and cannot be turned against the owner -------------------------------------------


async def test_a_strangers_wrong_birth_dates_never_lock_the_owner_out_of_their_pin(
        any_world: TelegramWorld) -> None:
    world = any_world
    resident = world.resident("older")
    await sign_up(world, resident)
    stranger = world.phone()
    await stranger.send("/start")
    await stranger.until(lambda m: "CCCD" in m.text)
    for _ in range(MAX_FAILURES):
        await stranger.send(resident.personal_id)
        await stranger.until(lambda m: "ngày/tháng/năm" in m.text)
        await stranger.send("01/01/1901")
        await stranger.until(lambda m: "không khớp" in m.text or "tạm dừng" in m.text)
    assert "tạm dừng" in stranger.transcript[-1].text  # the ID is paused for new links ...

    phone = world.feature_phone(resident)
    assert "PIN" in (await phone.dial()).text
    assert MENU in (await phone.send(PIN)).text  # ... but its owner still signs in


async def test_wrong_pins_pause_that_numbers_sign_in_and_new_links_to_the_id(world: TelegramWorld) -> None:
    resident = world.resident("older")
    await sign_up(world, resident)
    phone = world.feature_phone(resident)
    await phone.dial()
    for _ in range(MAX_FAILURES):
        screen = await phone.send("9999")
    assert LOCKED in screen.text
    assert LOCKED in (await world.feature_phone(resident).dial()).text
    # Whoever holds the phone cannot guess the PIN and then link the ID somewhere else at once.
    telegram = world.phone()
    await telegram.send("/start")
    await telegram.until(lambda m: "CCCD" in m.text)
    await telegram.send(resident.personal_id)
    assert "tạm dừng" in (await telegram.until(lambda m: "tạm dừng" in m.text or "dd/mm" in m.text)).text


# --- A birth date that proves nothing -----------------------------------------------------


async def _year_only(world: TelegramWorld, kind: str = "with_visits"):
    resident = world.resident(kind)
    async with world.db.transaction() as session:
        await session.execute(update(Citizen).where(Citizen.id == resident.citizen_id)
                              .values(birth_date=PartialDate(resident.birth_date.year)))
    return resident


async def test_a_year_only_birth_date_sends_the_person_to_the_ward_station_whatever_day_is_typed(
        any_world: TelegramWorld) -> None:
    world = any_world
    resident = await _year_only(world)
    for day in (resident.birth_date.display(), f"01/01/{resident.birth_date.year}"):
        user = world.phone()
        await user.send("/start")
        await user.until(lambda m: "CCCD" in m.text)
        await user.send(resident.personal_id)
        await user.until(lambda m: "ngày/tháng/năm" in m.text)
        await user.send(day)
        answer = await user.until(lambda m: "trạm y tế" in m.text or "số điện thoại" in m.text.lower())
        assert "một phần ngày sinh" in answer.text and answer.reply_keyboard is None
    async with world.db.sessions() as session:
        linked = await session.scalar(select(func.count()).select_from(accounts.ChannelAccount)
                                      .where(accounts.ChannelAccount.citizen_id == resident.citizen_id))
    assert linked == 0
    # Counted like a wrong guess, so IDs with a year-only date cannot be probed without limit.
    key = personal_id_key(resident.personal_id)
    assert await _attempts(world.db, Outcome.PARTIAL_BIRTH_DATE, key) == 2


async def test_a_year_only_birth_date_cannot_sign_up_a_feature_phone_either(world: TelegramWorld) -> None:
    resident = await _year_only(world, "older")
    phone = world.feature_phone(resident)
    await phone.dial()
    await phone.send(resident.personal_id)
    answer = await phone.send(f"0101{resident.birth_date.year}")
    assert "tram y te" in answer.text.lower() and "PIN" not in answer.text


async def _core(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    # Off the event loop: the bot's own loop (its outbox, the figures' refresh) keeps running, so
    # a transaction it holds never waits behind the command that waits for it.
    env = {**os.environ, "DATABASE_URL": db.url, "EHR_LANG": "vi"}
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "core", *args],
                                   cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)


async def test_the_ward_station_completes_the_birth_date_in_person_and_the_person_then_verifies(
        any_world: TelegramWorld) -> None:
    world = any_world
    resident = await _year_only(world)
    done = await _core(world.db, "identity", "confirm-in-person", resident.personal_id,
                       "--birth-date", resident.birth_date.display(), "--by", "Nguyễn Thị Hoa")
    assert done.returncode == 0, done.stderr
    assert resident.personal_id not in done.stdout and "Nguyễn Thị Hoa" in done.stdout
    user = world.phone()
    await verify(user, resident)  # ends on the menu: linked
    # A register that still knows only the year does not erase what the station saw.
    async with world.db.sessions() as session:
        stored = await session.scalar(select(Citizen.birth_date).where(Citizen.id == resident.citizen_id))
    assert stored == resident.birth_date


async def test_a_resident_without_a_phone_gets_one_recorded_at_the_station_and_then_verifies(
        world: TelegramWorld) -> None:
    resident = world.resident("no_phone")
    user = world.phone()
    await user.send("/start")
    await user.until(lambda m: "CCCD" in m.text)
    await user.send(resident.personal_id)
    await user.until(lambda m: "ngày/tháng/năm" in m.text)
    await user.send(resident.birth_date.display())
    await user.until(lambda m: "trạm y tế" in m.text.lower())  # the ward's station, by name
    done = await _core(world.db, "identity", "confirm-in-person", resident.personal_id,
                       "--phone", "0912 000 222", "--by", "Trạm Y tế")
    assert done.returncode == 0, done.stderr
    assert "0912000222" not in done.stdout.replace(" ", "")
    await verify(world.phone(), replace(resident, phone="+84912000222"))


# --- The ward station sees IDs tried again and again --------------------------------------


async def _fail_five_times(db: Database, claim: verification.Claim, account: accounts.Account) -> None:
    for _ in range(MAX_FAILURES):
        await verification.check_birth_date(db, account, claim, WRONG_DAY)


async def test_an_id_paused_again_and_again_shows_up_for_the_ward_station_and_its_owner_is_told(
        db: Database) -> None:
    citizen_id = await make_full_record(db)
    claim = await verification.lookup(db, FULL_ID)
    [stranger] = await _accounts(db, 1)
    await _fail_five_times(db, claim, stranger)
    async with db.transaction() as session:  # a day later, someone tries again
        for model in (VerificationAttempt, IdentityLockout):
            for row in (await session.scalars(select(model))).all():
                row.at -= dt.timedelta(hours=25)
    await _fail_five_times(db, claim, stranger)

    async with db.sessions() as session:
        told = (await session.scalars(select(CitizenNotice.kind).where(
            CitizenNotice.citizen_id == citizen_id))).all()
    assert told == ["verification_paused", "verification_paused"]

    listed = await _core(db, "identity", "lockouts", "--ward", "00070")
    assert listed.returncode == 0, listed.stderr
    assert "Nguyễn V. A." in listed.stdout and "2 lần" in listed.stdout
    assert FULL_ID not in listed.stdout and "0010****1234" in listed.stdout
    elsewhere = await _core(db, "identity", "lockouts", "--ward", "00004")
    assert "Nguyễn V. A." not in elsewhere.stdout


async def test_a_failure_below_the_limit_pauses_nothing(db: Database) -> None:
    await make_full_record(db)
    claim = await verification.lookup(db, FULL_ID)
    [stranger] = await _accounts(db, 1)
    for _ in range(MAX_FAILURES - 1):
        assert await verification.check_birth_date(db, stranger, claim, WRONG_DAY) is Outcome.MISMATCH
    assert not await db.read(attempts.verification_locked, stranger.id, claim.id_keys)
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(IdentityLockout)) == 0



async def test_the_tries_left_a_newcomer_is_told_say_nothing_of_others_who_tried_the_id(
        db: Database) -> None:
    # Telling someone how many tries they have left must not tell them that someone else has
    # been trying this ID: the count is their account's own.
    await make_full_record(db)
    claim = await verification.lookup(db, FULL_ID)
    first, second = await _accounts(db, 2)
    for _ in range(MAX_FAILURES - 2):
        await verification.check_birth_date(db, first, claim, WRONG_DAY)
    assert await verification.tries_left(db, first) == 2
    assert await verification.tries_left(db, second) == MAX_FAILURES
    await verification.check_birth_date(db, second, claim, WRONG_DAY)
    assert await verification.tries_left(db, second) == MAX_FAILURES - 1


# --- A book that moves to another account says so --------------------------------------------


async def test_the_account_a_book_moves_away_from_is_told_at_once(any_world: TelegramWorld) -> None:
    world = any_world
    resident = world.resident("with_visits")
    first, second = world.phone(first_name="Lan"), world.phone(first_name="Khách")
    await verify(first, resident)
    await verify(second, resident)  # the same details, on another Telegram account
    told = await first.until(lambda m: "liên kết với một tài khoản khác" in m.text, timeout=15)
    assert "trạm y tế" in told.text and "🔐 Xác thực danh tính" in told.labels
    assert not any("liên kết với một tài khoản khác" in m.text for m in second.transcript)
    await first.send("/book")  # and the earlier account no longer opens it
    await first.until(lambda m: "CCCD" in m.text or "xác thực" in m.text.lower())
    assert not any("👤 Thông tin hành chính" in m.labels for m in first.transcript[-3:])
