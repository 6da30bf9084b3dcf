"""What one input costs PostgreSQL: at most two transactions (who is talking, then the answer with
everything it reads and writes), counted with SQLAlchemy's events on the real engine while the
conversation engine handles the input; and a pool that neither pings before each use nor loses an
input to a connection the server dropped, nor opens connections input after input under load.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, func, select, text

from bot.flows.actions import encode
from bot.flows.book import ShowSection
from bot.flows.engine import Answer, Conversation
from bot.flows.replies import Input
from bot.flows.turn import ChannelInfo
from core.checkin import tokens
from core.consent import grants
from core.consent.records import AccessEvent
from core.db import Database
from core.identity import accounts
from core.records.display_rules import BookGroup
from core.records.facility import Facility
from core.records.visit import Visit
from core.seed import generate_city
from core.seed.store import seed_database
from core.staff import service as staff_service
from core.staff.model import StaffRole
from tests.conftest import SKIP_POSTGRES, _truncate
from tests.round_trips import RoundTrips

pytestmark = pytest.mark.skipif(SKIP_POSTGRES, reason="EHR_TEST_SKIP_POSTGRES=1")

DESK, CITIZEN = "desk", "citizen"


class Clinic:
    """A seeded city on PostgreSQL, a receptionist's account and a citizen's, through the engine."""

    def __init__(self, db: Database, citizen_id: int) -> None:
        self.db = db
        self.citizen_id = citizen_id
        self.conversation = Conversation(db, ChannelInfo("telegram", "https://t.me/Bot?start=",
                                                         images=True, edits=True))

    async def costs(self, external_id: str, given: Input) -> tuple[RoundTrips, Answer]:
        with RoundTrips(self.db) as cost:
            answer = await self.conversation.handle(external_id, given)
        return cost, answer

    async def reads_logged(self) -> int:
        async with self.db.sessions() as session:
            return await session.scalar(select(func.count()).select_from(AccessEvent).where(
                AccessEvent.citizen_id == self.citizen_id)) or 0


@pytest.fixture
async def clinic(postgres_url: str) -> AsyncIterator[Clinic]:
    db = Database(postgres_url)
    await _truncate(db)
    await seed_database(db, generate_city(60, 7, dt.date(2026, 11, 1)))
    async with db.sessions() as session:
        citizen_id = await session.scalar(select(Visit.citizen_id).order_by(Visit.citizen_id).limit(1))
        facility = await session.scalar(select(Facility.code).order_by(Facility.code).limit(1))
    assert citizen_id is not None
    await grants.set_any_clinic(db, citizen_id, frozenset(BookGroup), "telegram")  # visits shown
    desk = await db.write(accounts.open_account, "telegram", DESK)
    invite = await staff_service.invite(db, StaffRole.RECEPTIONIST, facility_code=facility, name="Thu")
    await staff_service.accept(db, invite.code, desk.id)
    citizen = await db.write(accounts.open_account, "telegram", CITIZEN)
    await db.write(accounts.link_citizen, citizen.id, "telegram", citizen_id)
    try:
        yield Clinic(db, citizen_id)
    finally:
        await db.dispose()


@pytest.mark.parametrize("scanned", [True, False], ids=["qr-link", "typed-code"])
async def test_a_receptionist_opening_a_card_costs_two_transactions(clinic: Clinic,
                                                                    scanned: bool) -> None:
    issued = await tokens.issue(clinic.db, clinic.citizen_id, "telegram")
    given = Input.of_text(f"/start ci_{issued.token}" if scanned else f"/checkin {issued.spoken_code}")
    cost, answer = await clinic.costs(DESK, given)
    assert answer.replies[0].title and answer.replies[0].title.startswith("Thẻ tiếp đón"), answer
    # Nothing weakened: the read is logged and the citizen is told, in the card's own transaction.
    assert await clinic.reads_logged() == 1
    assert [d.external_id for d in answer.deliveries] == [CITIZEN]
    assert cost.transactions <= 2, cost


async def test_a_receptionist_opening_a_visit_on_the_card_costs_two_transactions(clinic: Clinic) -> None:
    issued = await tokens.issue(clinic.db, clinic.citizen_id, "telegram")
    _cost, card = await clinic.costs(DESK, Input.of_text(f"/start ci_{issued.token}"))
    visit = next(str(o.action) for r in card.replies for row in r.options for o in row
                 if str(o.action).startswith("checkin.v:"))
    cost, answer = await clinic.costs(DESK, Input.of_option(visit))
    assert answer.replies and ":" in (answer.replies[0].title or ""), answer  # "<name>: visit of …"
    assert await clinic.reads_logged() == 2
    assert cost.transactions <= 2, cost


async def test_a_citizen_opening_a_book_section_costs_two_transactions(clinic: Clinic) -> None:
    cost, answer = await clinic.costs(CITIZEN, Input.of_option(encode(ShowSection(BookGroup.GENERAL))))
    assert answer.replies and answer.replies[0].title, answer
    assert cost.transactions <= 2, cost


async def test_a_citizen_asking_for_a_qr_code_costs_two_transactions(clinic: Clinic) -> None:
    cost, answer = await clinic.costs(CITIZEN, Input.of_text("/qr"))
    assert answer.replies and answer.replies[0].image is not None, answer
    assert cost.transactions <= 2, cost


async def test_an_input_that_fails_keeps_none_of_its_writes(clinic: Clinic) -> None:
    """The answer's reads and writes are one transaction: a failure leaves no half of it."""
    issued = await tokens.issue(clinic.db, clinic.citizen_id, "telegram")

    async def card_then_failure() -> None:
        await clinic.conversation.handle(DESK, Input.of_text(f"/start ci_{issued.token}"))
        raise RuntimeError("a failure after the card was read")

    with pytest.raises(RuntimeError):
        await clinic.db.atomic(card_then_failure)
    assert await clinic.reads_logged() == 0  # no card was shown, so no read is logged


async def test_a_receptionist_is_answered_after_the_server_dropped_the_pools_connections(
        clinic: Clinic) -> None:
    issued = await tokens.issue(clinic.db, clinic.citizen_id, "telegram")
    await clinic.costs(CITIZEN, Input.of_text("/start"))  # connections now wait in the pool
    admin = Database(clinic.db.url)
    try:
        async with admin.engine.connect() as connection:  # as a server restart would
            await connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    finally:
        await admin.dispose()
    _cost, answer = await clinic.costs(DESK, Input.of_text(f"/start ci_{issued.token}"))
    assert answer.replies[0].title and answer.replies[0].title.startswith("Thẻ tiếp đón"), answer
    assert await clinic.reads_logged() == 1


async def test_connections_are_not_pinged_before_each_use_and_statements_stay_prepared(
        clinic: Clinic) -> None:
    issued = await tokens.issue(clinic.db, clinic.citizen_id, "telegram")
    await clinic.costs(DESK, Input.of_text(f"/start ci_{issued.token}"))
    pool = clinic.db.engine.pool
    assert not pool._pre_ping and 0 < pool._recycle <= 3600
    # SQLAlchemy keeps asyncpg's prepared statements per connection: the card's are kept there.
    async with clinic.db.engine.connect() as connection:
        adapted = (await connection.get_raw_connection()).dbapi_connection
        kept = getattr(adapted, "_prepared_statement_cache", None)
    assert kept is not None and any("access_events" in statement for statement in kept), kept


# What a bot worker has in hand at once: TELEGRAM_CONCURRENCY (16) updates being answered, and
# the webhook storing the next ones meanwhile.
AT_ONCE = 20


async def test_people_writing_at_once_are_answered_on_connections_already_open(clinic: Clinic) -> None:
    """A new connection costs a login and every statement prepared again: a pool that closes what
    it lent beyond a few (SQLAlchemy's default keeps 5) pays that on input after input."""
    people = [f"person-{n}" for n in range(AT_ONCE)]

    async def everyone_writes() -> None:
        answers = await asyncio.gather(*(clinic.conversation.handle(person, Input.of_text("/help"))
                                         for person in people))
        assert all(answer.replies for answer in answers)

    await everyone_writes()  # the pool grows to what this many people need at once
    opened = 0

    def connected(*_: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(clinic.db.engine.sync_engine, "connect", connected)
    try:
        for _ in range(3):
            await everyone_writes()
    finally:
        event.remove(clinic.db.engine.sync_engine, "connect", connected)
    assert opened == 0, f"{opened} connections opened for {3 * AT_ONCE} inputs, {AT_ONCE} at a time"
