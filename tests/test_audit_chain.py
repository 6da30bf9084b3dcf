"""The access log and the consent history: one hash chain per citizen, on both databases.

Reads of different citizens' books never wait on one another; one citizen's concurrent reads
still form one unbroken chain; `audit verify` catches a changed, inserted or deleted event,
the last one of a chain too; migration 0012 re-chains the old single chain only when it holds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Connection, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from core.consent.access import verify_audit_chains
from core.consent.chain import GENESIS, Break, append, link_hash, row_hash
from core.consent.records import AccessEvent, ConsentChange
from core.db import Database
from core.migrate import current_revision, downgrade, upgrade
from core.records.citizen import Citizen
from core.values import CitizenStatus, PartialDate
from tests.conftest import SKIP_POSTGRES, _truncate
from tests.records import at

EVENTS = AccessEvent.__table__


async def citizens(db: Database, count: int) -> list[int]:
    async with db.transaction() as session:
        made = [Citizen(personal_id=f"0010900{n:05d}", full_name="Nguyễn Văn An",
                        birth_date=PartialDate(1990), status=CitizenStatus.ACTIVE)
                for n in range(count)]
        session.add_all(made)
        await session.flush()
        return [c.id for c in made]


def read_by_clinic(citizen_id: int, minute: int = 0) -> dict[str, object]:
    return {"citizen_id": citizen_id, "at": at(2026, 12, 5, 9, minute), "reader_account_id": 7,
            "reader_role": "receptionist", "reader_name": "Lễ tân", "facility_code": "01001",
            "ward_code": None, "groups": "general,insurance", "via": "qr", "token_id": None}


async def log_read(db: Database, citizen_id: int, minute: int = 0) -> int:
    return await db.write(append, EVENTS, read_by_clinic(citizen_id, minute))


async def tamper(db: Database, sql: str) -> list[Break]:
    async with db.engine.begin() as connection:
        await connection.execute(text(sql))
    return await verify_audit_chains(db)


async def test_reads_of_two_citizens_interleaved_form_two_chains_that_verify(db: Database) -> None:
    first, second = await citizens(db, 2)
    ids = [await log_read(db, who, n) for n, who in enumerate([first, second, first, second, first])]
    assert ids == sorted(set(ids))  # unique across the table, handed out by the database
    rows = (await db.read(lambda c: c.execute(select(EVENTS.c.id, EVENTS.c.prev_id)
                                              .where(EVENTS.c.citizen_id == first)
                                              .order_by(EVENTS.c.id)).all()))
    assert [tuple(r) for r in rows] == [(ids[0], 0), (ids[2], ids[0]), (ids[4], ids[2])]
    assert await verify_audit_chains(db) == []
    assert await verify_audit_chains(db, second) == []


async def test_audit_verify_names_a_changed_event(db: Database) -> None:
    first, second = await citizens(db, 2)
    ids = [await log_read(db, who, n) for n, who in enumerate([first, second, first, first])]
    found = await tamper(db, f"UPDATE access_events SET groups = 'general' WHERE id = {ids[2]}")
    assert found == [Break("access_events", ids[2], "changed")]
    assert await verify_audit_chains(db, second) == []  # the other citizen's history still holds


async def test_audit_verify_names_a_deleted_event_at_the_end_or_in_the_middle(db: Database) -> None:
    (citizen,) = await citizens(db, 1)
    ids = [await log_read(db, citizen, n) for n in range(4)]
    found = await tamper(db, f"DELETE FROM access_events WHERE id = {ids[3]}")
    assert found == [Break("access_events", ids[3], "deleted")]  # the head keeps the last hash
    found = await tamper(db, f"DELETE FROM access_events WHERE id = {ids[1]}")
    assert found == [Break("access_events", ids[1], "deleted")]


async def test_audit_verify_notices_a_citizen_whose_whole_log_was_deleted(db: Database) -> None:
    first, second = await citizens(db, 2)
    await log_read(db, first)
    last = await log_read(db, second)
    assert await tamper(db, f"DELETE FROM access_events WHERE citizen_id = {second}") == [
        Break("access_events", last, "deleted")]


async def test_audit_verify_names_an_event_inserted_behind_the_log(db: Database) -> None:
    first, second = await citizens(db, 2)
    ids = [await log_read(db, first, n) for n in range(3)]
    columns = ("citizen_id, at, reader_account_id, reader_role, reader_name, facility_code, "
               "ward_code, groups, via, token_id, prev_id, prev_hash, hash")
    copied = ("SELECT citizen_id, at, reader_account_id, reader_role, reader_name, facility_code, "
              "ward_code, groups, via, token_id, prev_id, prev_hash, hash FROM access_events")
    # A copy of a genuine event, as if the clinic had read the book once more.
    found = await tamper(db, f"INSERT INTO access_events ({columns}) {copied} WHERE id = {ids[1]}")
    assert found[0].problem == "inserted"
    await tamper(db, f"DELETE FROM access_events WHERE id > {ids[2]}")
    # A well-formed first read of a citizen who has no chain yet, hash and all, written straight
    # into the table by someone who knows how the log is chained: no head vouches for it.
    forged = read_by_clinic(second)
    async with db.engine.begin() as connection:
        forged_id = (await connection.execute(
            insert(EVENTS).values(prev_id=0, prev_hash=GENESIS, hash=link_hash(0, GENESIS, forged),
                                  **forged).returning(EVENTS.c.id))).scalar_one()
    assert await verify_audit_chains(db) == [Break("access_events", forged_id, "inserted")]


async def test_consent_changes_are_chained_per_citizen_too(db: Database) -> None:
    first, second = await citizens(db, 2)
    for who in (first, second, first):
        await db.write(append, ConsentChange.__table__, {
            "citizen_id": who, "at": at(2026, 12, 5), "facility_code": None, "groups": "history",
            "valid_until": dt.date(2027, 1, 1), "channel": "telegram", "actor": "citizen"})
    assert await verify_audit_chains(db) == []
    found = await tamper(db, "UPDATE consent_changes SET valid_until = '2030-01-01' "
                             f"WHERE citizen_id = {second}")
    assert [(b.chain, b.problem) for b in found] == [("consent_changes", "changed")]


# --- PostgreSQL: several workers at once -----------------------------------------------------


@pytest.fixture
async def postgres(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """The PostgreSQL server alone: SQLite has one writer at a time, nothing to race."""
    if SKIP_POSTGRES:
        pytest.skip("EHR_TEST_SKIP_POSTGRES=1")
    db = Database(request.getfixturevalue("postgres_url"))
    await _truncate(db)
    try:
        yield db
    finally:
        await db.dispose()


async def test_reads_of_different_citizens_books_do_not_wait_on_one_another(
        postgres: Database) -> None:
    db = postgres
    first, second = await citizens(db, 2)
    await log_read(db, first)
    await log_read(db, second)
    async with db.engine.connect() as holding, db.engine.connect() as other:
        await holding.begin()
        await holding.run_sync(append, EVENTS, read_by_clinic(first))  # holds first's chain
        await other.begin()
        await other.execute(text("SET LOCAL lock_timeout = '500ms'"))
        # Another citizen's read goes through while the first transaction is still open
        await other.run_sync(append, EVENTS, read_by_clinic(second))
        await other.commit()
        # and the first citizen's chain is really locked: with one global head, the read above
        # would have failed like this one.
        await other.begin()
        await other.execute(text("SET LOCAL lock_timeout = '500ms'"))
        with pytest.raises(DBAPIError, match="lock"):
            await other.run_sync(append, EVENTS, read_by_clinic(first))
        await other.rollback()
        await holding.commit()
    assert await verify_audit_chains(db) == []


async def test_many_concurrent_reads_of_one_citizens_book_form_one_unbroken_chain(
        postgres: Database) -> None:
    db = postgres
    (citizen,) = await citizens(db, 1)
    # The first reads race to create the citizen's chain head too.
    await asyncio.gather(*(log_read(db, citizen, n % 60) for n in range(60)))
    links = await db.read(lambda c: c.execute(select(EVENTS.c.id, EVENTS.c.prev_id)
                                              .order_by(EVENTS.c.id)).all())
    assert len(links) == 60
    assert [prev for _id, prev in links] == [0, *(row_id for row_id, _prev in links[:-1])]
    assert await verify_audit_chains(db) == []


# --- Migration 0012: from one chain per table to one per citizen ------------------------------


def _old_chain(connection: Connection, readers: list[int]) -> None:
    """Access events as the code before 0012 wrote them: ids are positions of one chain."""
    previous = GENESIS
    for position, citizen_id in enumerate(readers, start=1):
        content = read_by_clinic(citizen_id, position)
        digest = row_hash(previous, {"id": position, **content})
        connection.execute(insert(EVENTS).values(id=position, prev_hash=previous, hash=digest,
                                                 **content))
        previous = digest
    connection.execute(text("DELETE FROM audit_chain_heads"))  # the empty chains' heads
    connection.execute(text("INSERT INTO audit_chain_heads (chain, last_id, last_hash) "
                            "VALUES ('access_events', :n, :h)"), {"n": len(readers), "h": previous})


async def test_an_intact_old_log_is_rechained_per_citizen_and_still_verifies(db: Database) -> None:
    first, second = await citizens(db, 2)
    await downgrade(db, "0011")
    old = [first, second, second, first, second]
    async with db.engine.begin() as connection:
        await connection.run_sync(_old_chain, old)
    await upgrade(db)
    assert await verify_audit_chains(db) == []
    links = await db.read(lambda c: c.execute(select(EVENTS.c.id, EVENTS.c.prev_id)
                                              .where(EVENTS.c.citizen_id == second)
                                              .order_by(EVENTS.c.id)).all())
    assert [tuple(r) for r in links] == [(2, 0), (3, 2), (5, 3)]
    new = await log_read(db, first)  # ids go on after the old ones
    assert new == 6 and await verify_audit_chains(db) == []
    assert await tamper(db, "UPDATE access_events SET via = 'lookup' WHERE id = 4") == [
        Break("access_events", 4, "changed")]


async def test_the_migration_refuses_an_old_log_that_does_not_verify(db: Database) -> None:
    first, second = await citizens(db, 2)
    await downgrade(db, "0011")
    async with db.engine.begin() as connection:
        await connection.run_sync(_old_chain, [first, second, first])
        await connection.execute(update(EVENTS).where(EVENTS.c.id == 2)
                                 .values(groups="general"))
    with pytest.raises(RuntimeError, match="does not verify"):
        await upgrade(db)
    assert await current_revision(db) == "0011"
    async with db.engine.connect() as connection:
        kept = await connection.scalar(select(func.count()).select_from(EVENTS))
    assert kept == 3
    async with db.engine.begin() as connection:  # put right, the migration goes through
        await connection.execute(text("DELETE FROM access_events"))
        await connection.execute(text("DELETE FROM audit_chain_heads"))
    await upgrade(db)
    assert await verify_audit_chains(db) == []
