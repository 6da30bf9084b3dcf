"""Channel accounts and verification rules, on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, insert, select

from core.db import Database
from core.i18n import now_utc
from core.identity import accounts, verification
from core.identity.accounts import JourneyState
from core.identity.attempts import Outcome, VerificationAttempt
from core.identity.keys import personal_id_key
from core.records.citizen import Citizen
from tests.records import make_full_record


async def _account(db: Database, external_id: str = "42") -> accounts.Account:
    return await db.write(accounts.open_account, "telegram", external_id)


async def test_a_second_worker_cannot_overwrite_a_conversation_that_moved_on(db: Database) -> None:
    first_view = await _account(db)
    second_view = await db.read(accounts.find_account, "telegram", "42")
    assert await db.write(accounts.save_state, first_view, JourneyState("verify", "dob"))
    assert not await db.write(accounts.save_state, second_view, JourneyState("book", None))
    now = await db.read(accounts.find_account, "telegram", "42")
    assert (now.state.flow, now.state.step, now.state_version) == ("verify", "dob", 1)


async def test_a_new_chat_whose_first_inputs_reach_many_workers_at_once_gets_one_account(
        db: Database) -> None:
    # Twelve connections open the same new account at once (on PostgreSQL they really overlap):
    # every one gets the same account, none an error ("something went wrong" for the person).
    opened = await asyncio.gather(*(db.write(accounts.open_account, "telegram", "777")
                                    for _ in range(12)))
    assert len({account.id for account in opened}) == 1
    async with db.engine.connect() as connection:
        rows = await connection.scalar(select(func.count()).select_from(accounts.ChannelAccount)
                                       .where(accounts.ChannelAccount.external_id == "777"))
    assert rows == 1


async def test_an_unreadable_stored_state_is_a_fresh_start() -> None:
    assert JourneyState.from_json("{not json") == JourneyState()
    assert JourneyState.from_json(None) == JourneyState()


async def test_failures_older_than_a_day_no_longer_count(db: Database) -> None:
    account = await _account(db)
    key = personal_id_key("001099000001")

    def fail(connection, hours_ago: float) -> None:
        connection.execute(insert(VerificationAttempt.__table__).values(
            at=now_utc() - dt.timedelta(hours=hours_ago), channel="telegram", account_id=account.id,
            id_key=key, outcome=Outcome.MISMATCH))

    for _ in range(5):
        await db.write(fail, 25)
    assert not await db.read(verification.is_locked, account.id, (key,))
    for _ in range(4):
        await db.write(fail, 1)
    assert not await db.read(verification.is_locked, account.id, (key,))
    await db.write(fail, 0)
    assert await db.read(verification.is_locked, account.id, (key,))
    other = await _account(db, "43")  # the same ID from another account: locked too
    assert await db.read(verification.is_locked, other.id, (key,))
    assert not await db.read(verification.is_locked, other.id, None)


async def test_a_verified_citizen_moves_to_the_newest_account(db: Database) -> None:
    citizen_id = await make_full_record(db)
    async with db.sessions() as session:
        citizen = await session.get(Citizen, citizen_id)
    old, new = await _account(db, "1"), await _account(db, "2")
    for account in (old, new):
        claim = await verification.lookup(db, citizen.personal_id)
        assert claim.candidate == citizen_id
        assert await verification.check_birth_date(db, account, claim, citizen.birth_date.earliest()) \
            is Outcome.BIRTH_DATE_MATCHED
        assert await verification.confirm_phone(db, account, claim, citizen.phone.lstrip("+"),
                                                own_contact=True) is Outcome.LINKED
    async with db.sessions() as session:
        links = dict((await session.execute(select(accounts.ChannelAccount.external_id,
                                                   accounts.ChannelAccount.citizen_id))).all())
    assert links == {"1": None, "2": citizen_id}


async def test_the_attempt_log_holds_a_keyed_fingerprint_not_the_id(db: Database) -> None:
    account = await _account(db)
    claim = await verification.lookup(db, "001099000001")
    await verification.check_birth_date(db, account, claim, dt.date(1950, 1, 1))
    async with db.sessions() as session:
        stored = (await session.execute(select(VerificationAttempt.id_key))).scalars().all()
    assert stored == [personal_id_key("001099000001")]
    assert "001099000001" not in stored[0] and len(stored[0]) == 64
