"""Every hot path reads its own rows, not the city: EXPLAIN on PostgreSQL at 100,000 residents.

A database of its own (made once for this file, dropped after) holds 100,000 residents
with visits, doses, access events, accounts, check-in codes and notices in proportion,
built set-based with generate_series. Each test calls the real service functions,
captures the SQL they really send (SQLAlchemy's `before_cursor_execute`), and asks
PostgreSQL for the plan of each statement, with the values bound (a custom plan) and as
a prepared statement's generic plan. A scan of a whole big table fails the test, naming
the statement and the plan: a sequential scan, or an index read from end to end with no
condition (an ordered walk of the primary key that filters every row).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from bot.handlers.outbox import recipients
from core import notices
from core.checkin import desk, tokens
from core.consent.access import latest_access, read_book_as, read_own_book
from core.consent.policy import Reader
from core.db import Database
from core.identity import accounts
from core.records import people
from core.records.completeness import ward_report
from core.reference.wards import hanoi_wards
from core.staff.model import StaffRole
from core.staff.service import Staff
from core.volunteering.residents import find_resident, worklist
from tests.conftest import POSTGRES_SERVER, SKIP_POSTGRES, _admin, _migrate, _run

pytestmark = pytest.mark.skipif(SKIP_POSTGRES, reason="EXPLAIN is asked of PostgreSQL")

RESIDENTS = 100_000
# Tables that grow with the city: none may be read whole on a hot path.
BIG_TABLES = frozenset({"citizens", "visits", "prescriptions", "immunizations", "access_events",
                        "insurance_cards", "channel_accounts", "checkin_tokens",
                        "citizen_notices"})
FACILITY = "01001"
WARDS = sorted(hanoi_wards())
WARD = WARDS[7]

# The city, set-based. Resident n lives in ward n % wards; one in twelve is no longer active
# (moved away or deceased); one in five is a child whose guardian is an adult resident.
# Mobile numbers as the record keeps them (core.validation.phone: +84 for the leading 0), so
# a resident can verify with the shared contact (bench/webhook_bench.py's phones do).
_BUILD = [
    """INSERT INTO provenance (id, source, reference, received_at, verified)
       VALUES (1, 'population_db', 'hot paths', now(), true)""",
    """INSERT INTO facilities (code, name, kind, provenance_id)
       VALUES (:facility, 'Trạm Y tế', 'station', 1)""",
    """INSERT INTO citizens (id, personal_id, full_name, birth_date, sex, ethnicity_code,
           nationality, phone, ward_code, street_address, status, guardian_id,
           created_at, updated_at)
       SELECT n, lpad((1000000000 + n)::text, 12, '0'), 'Nguyễn Văn ' || n,
              CASE WHEN n % 5 = 0 THEN (2010 + n % 12)::text || '-03-15'
                   ELSE (1940 + n % 60)::text || '-0' || (1 + n % 9)::text || '-1' || (n % 9)::text
              END,
              1 + n % 2, CASE WHEN n % 7 = 0 THEN NULL ELSE '01' END, 'VN',
              CASE WHEN n % 4 = 0 THEN NULL ELSE '+849' || lpad(n::text, 8, '0') END,
              (CAST(:wards AS text[]))[1 + n % cardinality(CAST(:wards AS text[]))],
              'Số ' || n || ' phố Huế',
              CASE WHEN n % 12 = 0 THEN 'moved_away' WHEN n % 97 = 0 THEN 'deceased'
                   ELSE 'active' END,
              NULL, now(), now()
       FROM generate_series(1, :residents) AS n""",
    """UPDATE citizens SET guardian_id = id + 1 WHERE id % 5 = 0 AND id < :residents""",
    """INSERT INTO visits (citizen_id, facility_code, visit_key, kind, kind_code, admitted_at,
           diagnosis, primary_icd10, card_number, content_hash, provenance_id, recorded_at)
       SELECT c, :facility, 'LK' || c || '-' || k, 'outpatient', '01',
              now() - (c % 900 + k * 30) * interval '1 day', 'Viêm họng cấp', 'J02',
              'DN401' || lpad(c::text, 10, '0'), md5(c::text || k::text), 1, now()
       FROM generate_series(1, :residents, 3) AS c, generate_series(1, 1 + c % 3) AS k""",
    """INSERT INTO prescriptions (visit_id, drug, dose, quantity, unit)
       SELECT v.id, 'Paracetamol 500mg', '1 viên x 3 lần/ngày', 10 * k, 'viên'
       FROM visits AS v, generate_series(1, 2) AS k""",
    """INSERT INTO insurance_cards (citizen_id, number, social_insurance_number,
           beneficiary_group, benefit_level, valid_from, valid_to, registered_facility_code,
           provenance_id, created_at)
       SELECT c, 'DN401' || lpad(c::text, 10, '0'), lpad(c::text, 10, '0'), 'DN', 4,
              DATE '2025-01-01', DATE '2030-12-31', :facility, 1, now()
       FROM generate_series(1, :residents) AS c WHERE c % 10 <> 0""",
    """INSERT INTO immunizations (citizen_id, vaccine, dose_number, given_on, facility_code,
           programme, provenance_id, recorded_at)
       SELECT c, 'Sởi - Rubella', k, DATE '2015-01-01' + (c % 3000 + k * 60), :facility,
              'epi', 1, now()
       FROM generate_series(1, :residents, 2) AS c, generate_series(1, 1 + c % 4) AS k""",
    # Plans, not the chain's hashes, are what is tested here: each citizen's events chained by
    # prev_id in id order (core.consent.chain), ids from the table's own sequence.
    """INSERT INTO access_events (citizen_id, at, reader_account_id, reader_role,
           facility_code, groups, via, prev_id, prev_hash, hash)
       SELECT c, now() - k * interval '1 day', NULL,
              'receptionist', :facility, 'general', 'code', 0, md5(c::text), md5(k::text)
       FROM generate_series(1, :residents, 5) AS c, generate_series(1, 1 + c % 3) AS k""",
    """UPDATE access_events AS e SET prev_id = p.prev
       FROM (SELECT id, coalesce(lag(id) OVER (PARTITION BY citizen_id ORDER BY id), 0) AS prev
             FROM access_events) AS p WHERE e.id = p.id""",
    """INSERT INTO audit_chain_heads (chain, citizen_id, last_id, last_hash)
       SELECT 'access_events', citizen_id, max(id), md5('head') FROM access_events
       GROUP BY citizen_id""",
    """INSERT INTO channel_accounts (channel, external_id, citizen_id, linked_at, locale,
           state_version, created_at, updated_at)
       SELECT 'telegram', (700000000 + c)::text, c, now(), 'vi', 0, now(), now()
       FROM generate_series(1, :residents, 3) AS c""",
    """INSERT INTO checkin_tokens (citizen_id, token_hash, code_hash, channel, created_at,
           expires_at, revoked_at)
       SELECT c, md5('t' || c || k) || md5('u' || c || k), md5('c' || c || k), 'telegram',
              now() - interval '2 days', now() - interval '2 days' + interval '10 minutes',
              CASE WHEN k = 1 THEN now() - interval '2 days' END
       FROM generate_series(1, :residents, 3) AS c, generate_series(1, 2) AS k""",
    """INSERT INTO citizen_notices (citizen_id, kind, params, created_at, sent_at, tries,
           next_attempt_at)
       SELECT c, 'correction_decided', '{}', now() - interval '3 days',
              now() - interval '3 days', 0, now() - interval '3 days'
       FROM generate_series(1, :residents, 4) AS c""",
    """INSERT INTO citizen_notices (citizen_id, kind, params, created_at, tries, next_attempt_at)
       SELECT c, 'correction_decided', '{}', now(), 0, now() - interval '1 minute'
       FROM generate_series(7, 7000, 700) AS c""",
]
_SEQUENCES = ("citizens", "visits", "prescriptions", "immunizations", "insurance_cards",
              "channel_accounts", "checkin_tokens", "citizen_notices", "provenance")


async def _build_city(url: str, residents: int = RESIDENTS) -> None:
    """The city of `residents` (bench/pg_city_bench.py builds a bigger one the same way)."""
    db = Database(url)
    try:
        values = {"residents": residents, "facility": FACILITY, "wards": WARDS}
        async with db.engine.begin() as connection:
            for statement in _BUILD:
                used = {k: v for k, v in values.items() if f":{k}" in statement}
                await connection.execute(text(statement), used)
            for table in _SEQUENCES:
                await connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}))"))
    finally:
        await db.dispose()
    await _admin("VACUUM ANALYZE", url)


@pytest.fixture(scope="module")
def city_url() -> Any:
    """A database of 100,000 residents, for this file only."""
    name = f"ehr_hot_{uuid.uuid4().hex[:12]}"
    _run(_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)
    try:
        started = time.perf_counter()
        _run(_migrate(url))
        _run(_build_city(url))
        print(f"\ncity of {RESIDENTS:,} residents built in {time.perf_counter() - started:.1f} s")
        yield url
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def city(city_url: str) -> AsyncIterator[Database]:
    database = Database(city_url)
    try:
        yield database
    finally:
        await database.dispose()


@dataclass(frozen=True)
class Sent:
    statement: str
    parameters: Any


async def sent_by(db: Database, action: Callable[[], Awaitable[Any]]) -> tuple[Any, list[Sent]]:
    """What `action` returns, and every statement it sent to the database."""
    sent: list[Sent] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
             many: bool) -> None:
        # A statement run for many rows is planned as for one: its first row's values.
        sent.append(Sent(statement, parameters[0] if many else parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        result = await action()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)
    return result, [s for s in sent if s.statement.lstrip().split(None, 1)[0].upper()
                    in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")]


def _whole_table_reads(plan: dict[str, Any]) -> list[str]:
    """The big tables a plan reads whole: a Seq Scan, or an index walked with no condition."""
    found = []
    node_type, relation = plan.get("Node Type"), plan.get("Relation Name")
    if relation in BIG_TABLES:
        if node_type == "Seq Scan":
            found.append(f"Seq Scan on {relation}")
        elif node_type in ("Index Scan", "Index Only Scan") and "Index Cond" not in plan:
            found.append(f"{node_type} on {relation} using {plan.get('Index Name')}, no condition")
    for child in plan.get("Plans", ()):
        found.extend(_whole_table_reads(child))
    return found


async def _explain(connection: Any, sql: str, parameters: Any) -> tuple[dict[str, Any], str]:
    """The plan as JSON (to search) and as text (to show)."""
    shown = []
    for form in ("FORMAT JSON", "FORMAT TEXT"):
        rows = await connection.exec_driver_sql(f"EXPLAIN ({form}) {sql}", parameters)
        shown.append([row[0] for row in rows])
    raw = shown[0][0]
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"], "\n".join(shown[1])


async def _plans(db: Database, sent: Sent) -> list[tuple[str, dict[str, Any], str]]:
    """The statement's plan with its values bound (a custom plan), and the generic plan a
    prepared statement may settle on after a few runs, whose values are unknown when planned."""
    parameters = tuple(sent.parameters or ())
    async with db.engine.connect() as connection:
        custom = await _explain(connection, sent.statement, parameters)
        await connection.exec_driver_sql(f"PREPARE hot_path AS {sent.statement}")
        await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        # A generic plan is made without the values: NULLs stand in for them.
        slots = ", ".join("NULL" for _ in parameters)
        generic = await _explain(connection, f"EXECUTE hot_path({slots})" if parameters
                                 else "EXECUTE hot_path", ())
        await connection.rollback()
        await connection.exec_driver_sql("DEALLOCATE hot_path")
    return [("custom plan", *custom), ("generic plan", *generic)]


async def assert_reads_only_its_rows(db: Database, path: str, sent: list[Sent]) -> None:
    """Fails naming the hot path, the statement and its plan when a big table is read whole."""
    assert sent, f"{path}: no statement was captured"
    problems = []
    for one in sent:
        for mode, plan, shown in await _plans(db, one):
            reads = _whole_table_reads(plan)
            if reads:
                problems.append(f"{path} ({mode}): {', '.join(reads)}\n"
                                f"  statement: {' '.join(one.statement.split())}\n{shown}")
    assert not problems, "\n\n".join(problems)


async def _receptionist(db: Database) -> tuple[accounts.Account, Staff]:
    account = await db.write(accounts.open_account, "telegram", f"desk-{uuid.uuid4().hex[:8]}")
    return account, Staff(1, account.id, StaffRole.RECEPTIONIST, FACILITY, "Trạm Y tế", None,
                          "Lê Thị Hoa")


async def test_a_citizen_opening_their_book_reads_only_their_own_rows_at_city_scale(
        city: Database) -> None:
    citizen = 150 + 1  # visits (n % 3 == 1), doses (odd), access events (n % 5 == 1)
    book, sent = await sent_by(city, lambda: read_own_book(city, citizen))
    assert book is not None
    # The resident has a card, doses and visits: the book really read each list.
    assert all(f"FROM {table} " in " ".join(one.statement for one in sent)
               for table in ("insurance_cards", "immunizations", "visits", "prescriptions"))
    await assert_reads_only_its_rows(city, "the citizen's own book", sent)
    readers, sent = await sent_by(city, lambda: latest_access(city, citizen))
    assert readers
    await assert_reads_only_its_rows(city, "who read the citizen's book", sent)


async def test_a_childs_book_names_the_guardian_without_reading_the_city(city: Database) -> None:
    book, sent = await sent_by(city, lambda: read_own_book(city, 150))
    assert book is not None
    await assert_reads_only_its_rows(city, "a child's book with the guardian", sent)


async def test_removing_a_guardians_record_finds_their_children_by_index(city: Database) -> None:
    # What PostgreSQL runs for the foreign key `citizens.guardian_id ON DELETE SET NULL` when a
    # record is removed (an erasure): without an index it reads every citizen for each one.
    cascade = Sent("UPDATE ONLY citizens SET guardian_id = NULL WHERE $1 = guardian_id", (151,))
    await assert_reads_only_its_rows(city, "the guardian foreign key", [cascade])


async def test_a_receptionist_opening_a_check_in_card_reads_only_that_resident(
        city: Database) -> None:
    citizen = 4 + 3 * 1000  # has a linked account and old check-in codes
    account, staff = await _receptionist(city)
    issued, sent = await sent_by(city, lambda: tokens.issue(city, citizen, "telegram"))
    await assert_reads_only_its_rows(city, "a check-in code issued", sent)

    async def by_link() -> Any:
        found = await desk.open_link(city, account, staff, issued.token)
        assert found.state is desk.DeskState.OPEN
        reader = Reader(account.id, staff.role.value, staff.facility_code, None, staff.name)
        read = await read_book_as(city, reader, citizen, via="qr", token_id=found.token_id)
        again = await desk.reopen(city, account, staff, found.token_id)
        return read, again

    (read, again), sent = await sent_by(city, by_link)
    assert read.book is not None and again.state is desk.DeskState.OPEN
    await assert_reads_only_its_rows(city, "a check-in card opened by its link", sent)
    found, sent = await sent_by(city, lambda: desk.open_code(city, account, staff, issued.code))
    assert found.state is desk.DeskState.OPEN
    await assert_reads_only_its_rows(city, "a check-in card opened by its code", sent)


async def test_a_volunteers_worklist_reads_only_its_ward_at_city_scale(city: Database) -> None:
    # The city was written set-based, as an import leaves it: no resident's gaps counted yet.
    first, sent = await sent_by(city, lambda: worklist(city, WARD))
    assert 0 < first.total < RESIDENTS // len(WARDS) * 2 and len(first.items) == 10
    assert any(s.statement.lstrip().upper().startswith("UPDATE") for s in sent), "nothing counted"
    await assert_reads_only_its_rows(city, "a worklist counting its ward's new residents", sent)
    later, sent = await sent_by(city, lambda: worklist(city, WARD, page=3))
    assert later.total == first.total and later.page == 3 and later.items != first.items
    assert not any(s.statement.lstrip().upper().startswith("UPDATE") for s in sent)
    await assert_reads_only_its_rows(city, "a page of the volunteer's worklist", sent)


async def test_a_volunteer_finding_a_resident_by_id_reads_only_that_resident(
        city: Database) -> None:
    account = await city.write(accounts.open_account, "telegram", f"vol-{uuid.uuid4().hex[:8]}")
    ward = WARDS[301 % len(WARDS)]
    staff = Staff(2, account.id, StaffRole.VOLUNTEER, None, None, ward, "Trần Văn Bình")
    person = await city.read(people.by_id, 301)
    assert person is not None
    found, sent = await sent_by(city, lambda: find_resident(
        city, staff, account, person.personal_id, person.birth_date.earliest()))
    assert found.state.value == "found"
    await assert_reads_only_its_rows(city, "a volunteer's lookup of a resident", sent)


async def test_a_wards_completeness_report_reads_only_that_ward(city: Database) -> None:
    report, sent = await sent_by(city, lambda: ward_report(city, WARD))
    assert list(report) == [WARD] and report[WARD].residents > 0
    await assert_reads_only_its_rows(city, "completeness by ward", sent)


async def test_the_outbox_sends_due_notices_without_reading_every_notice(city: Database) -> None:
    policy = notices.RetryPolicy()

    async def one_round() -> list[notices.DueNotice]:
        claimed = await city.write(notices.claim, "hot-paths", 20, policy)
        for notice in claimed:
            await city.read(recipients, notice)
        await city.write(notices.mark_sent, [n.id for n in claimed])
        return claimed

    claimed, sent = await sent_by(city, one_round)
    assert claimed
    await assert_reads_only_its_rows(city, "the outbox claim", sent)


async def test_a_returning_chat_is_found_and_linked_without_reading_every_account(
        city: Database) -> None:
    found, sent = await sent_by(city, lambda: city.read(
        accounts.find_account, "telegram", str(700000000 + 301)))
    assert found is not None and found.citizen_id == 301
    await assert_reads_only_its_rows(city, "the account lookup", sent)
    account = await city.write(accounts.open_account, "telegram", f"new-{uuid.uuid4().hex[:8]}")
    _, sent = await sent_by(city, lambda: city.write(
        accounts.link_citizen, account.id, "telegram", 302))
    await assert_reads_only_its_rows(city, "linking an account (and waking its notices)", sent)


def test_the_city_is_built_at_the_scale_it_claims(city_url: str) -> None:
    async def counts() -> dict[str, int]:
        db = Database(city_url)
        try:
            async with db.engine.connect() as connection:
                return {table: (await connection.execute(text(f"SELECT count(*) FROM {table}")))
                        .scalar_one() for table in ("citizens", "visits", "immunizations",
                                                    "access_events")}
        finally:
            await db.dispose()

    found = _run(counts())
    assert found["citizens"] == RESIDENTS
    assert found["visits"] > RESIDENTS // 3 and found["immunizations"] > RESIDENTS // 2
    assert found["access_events"] > RESIDENTS // 10
