"""Ward figures: what a dashboard shows after a refresh is what counting the rows gives."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from core import reporting, tallies
from core.checkin import desk, tokens
from core.consent.access import read_book_as
from core.consent.policy import Reader
from core.corrections import service as corrections
from core.db import Database
from core.i18n import TIMEZONE, now_utc, today_hanoi
from core.identity import accounts
from core.records import completeness
from core.reference.wards import hanoi_wards
from core.reporting import figures
from core.reporting.dashboard import Dashboard
from core.seed import generate_city
from core.seed.store import seed_database
from core.staff import service as staff_service
from core.staff.model import StaffRole
from core.volunteering.pending import propose

PEOPLE = 240


async def seeded(db: Database) -> None:
    await seed_database(db, generate_city(PEOPLE, 3, today_hanoi(), clinical=False))


async def residents(db: Database, count: int) -> list[tuple[int, str]]:
    """Some active residents with a ward: (id, ward)."""
    def read(connection: Connection) -> list[tuple[int, str]]:
        return [(r.id, r.ward_code) for r in connection.execute(text(
            "SELECT id, ward_code FROM citizens WHERE status = 'active' AND ward_code IS NOT NULL "
            "ORDER BY id LIMIT :n"), {"n": count})]
    return await db.read(read)


async def link(db: Database, citizen_id: int, channel: str, external: str) -> None:
    def write(connection: Connection) -> None:
        account = accounts.open_account(connection, channel, external)
        accounts.link_citizen(connection, account.id, channel, citizen_id)
    await db.write(write)


async def volunteer(db: Database, ward: str, external: str) -> staff_service.Staff:
    invite = await staff_service.invite(db, StaffRole.VOLUNTEER, ward_code=ward, name="TNV")
    account = await db.write(accounts.open_account, "telegram", external)
    member = await staff_service.accept(db, invite.code, account.id)
    assert member is not None
    return member


async def activity(db: Database) -> dict[str, Any]:
    """A day in the pilot: accounts linked on both channels, check-ins at a desk, a correction
    filed and one decided, a volunteer's entries, a detail emptied (a gap opened)."""
    people = await residents(db, 12)
    for n, (citizen_id, _ward) in enumerate(people[:5]):
        await link(db, citizen_id, "telegram", f"tg{n}")
    for n, (citizen_id, _ward) in enumerate(people[3:7]):
        await link(db, citizen_id, "ussd", f"84900000{n:03d}")
    reception = Reader(account_id=None, role="receptionist", facility_code=None)
    for citizen_id, _ward in people[:3]:
        await read_book_as(db, reception, citizen_id, via="qr")
    await read_book_as(db, reception, people[0][0], via="code")
    await read_book_as(db, reception, people[1][0], via="card")  # a visit opened later: no check-in
    first = await corrections.file_request(db, people[8][0], "blood_group", "AB+", "sai nhóm máu",
                                           channel="telegram")
    await corrections.file_request(db, people[9][0], "blood_group", "O-", "sai", channel="telegram")
    assert isinstance(first, int)
    await corrections.approve(db, first)
    member = await volunteer(db, people[10][1], "vol1")
    await propose(db, member, people[10][0], {"occupation": "Giáo viên"})
    await propose(db, member, people[11][0], {"occupation": "Kỹ sư"})

    def empty(connection: Connection) -> None:
        connection.execute(text("UPDATE citizens SET street_address = NULL WHERE id = :id"),
                           {"id": people[6][0]})
    await db.write(empty)
    return {"people": people}


def direct(connection: Connection, now: dt.datetime) -> dict[str, dict[str, int]]:
    """The same figures, counted by hand from the rows (not through core.reporting)."""
    since = now - dt.timedelta(days=figures.ACTIVE_DAYS)
    found: dict[str, dict[str, int]] = {}

    def put(sql: str, key: str, **params: object) -> None:
        for ward, n in connection.execute(text(sql), params):
            found.setdefault(ward or "", {})[key] = n

    active = "FROM citizens c WHERE c.status = 'active'"
    put(f"SELECT c.ward_code, count(*) {active} GROUP BY c.ward_code", "residents")
    for channel in ("telegram", "ussd"):
        put("SELECT c.ward_code, count(*) FROM channel_accounts a JOIN citizens c ON c.id = a.citizen_id "
            "WHERE c.status = 'active' AND a.channel = :channel GROUP BY c.ward_code", channel,
            channel=channel)
    put("SELECT c.ward_code, count(DISTINCT a.citizen_id) FROM channel_accounts a JOIN citizens c "
        "ON c.id = a.citizen_id WHERE c.status = 'active' GROUP BY c.ward_code", "activated")
    put("SELECT ward_code, count(*) FROM correction_requests WHERE status = 'pending' GROUP BY ward_code",
        "corrections_open")
    put("SELECT ward_code, count(*) FROM pending_values WHERE status = 'pending' GROUP BY ward_code",
        "pending_values")
    put("SELECT ward_code, count(DISTINCT staff_id) FROM pending_values WHERE created_at >= :since "
        "GROUP BY ward_code", "volunteers_active",
        since=since.replace(tzinfo=None) if connection.dialect.name == "sqlite" else since)
    return found


STORED = ("residents", "activated", "telegram", "ussd", "corrections_open", "pending_values",
          "volunteers_active")


def stored(connection: Connection) -> dict[str, dict[str, int]]:
    return {row.ward_code: {key: getattr(row, key) for key in (*STORED, "complete")}
            for row in connection.execute(text("SELECT * FROM ward_figures"))}


async def test_after_a_day_of_changes_and_a_refresh_the_stored_figures_equal_counting_the_rows(
        db: Database) -> None:
    await seeded(db)
    before = await db.read(stored)
    await activity(db)
    assert await db.read(stored) == before  # nothing recounted per change: stale until refreshed
    now = now_utc()
    await figures.refresh(db, now)
    after = await db.read(stored)
    counted = await db.read(direct, now)
    for ward, values in after.items():
        for key in STORED:
            assert values[key] == counted.get(ward, {}).get(key, 0), (ward, key)
    assert set(counted) <= set(after)
    # Complete records: the completeness rules themselves, run over every resident in Python.
    by_rules = await completeness.ward_report(db)
    for ward, report in by_rules.items():
        assert after[ward or ""]["complete"] == report.complete, ward
    assert after != before


async def test_completeness_per_field_counts_whom_the_rules_ask_and_who_has_it(db: Database) -> None:
    await seeded(db)
    await figures.refresh(db)
    today = today_hanoi()
    expected: dict[tuple[str, str], list[int]] = {}
    async for row, _gaps in completeness.scan(db):
        for rule in completeness.RULES:
            if not rule.counts:
                continue
            counts = expected.setdefault((row.ward_code or "", rule.field), [0, 0])
            if rule.required(row, today):
                counts[0] += 1
                value = getattr(row, rule.field)
                counts[1] += value is not None and value != ""

    def read(connection: Connection) -> dict[tuple[str, str], list[int]]:
        return {(r.ward_code, r.field): [r.expected, r.present]
                for r in connection.execute(text("SELECT * FROM ward_field_figures"))}
    assert await db.read(read) == expected
    assert any(e != p for e, p in expected.values())  # some details are missing in the seed


async def test_of_two_workers_asking_at_once_only_one_refreshes(db: Database) -> None:
    other = Database(db.url)
    try:
        now = now_utc()
        claims = await asyncio.gather(db.write(figures.claim, now, dt.timedelta(minutes=5)),
                                      other.write(figures.claim, now, dt.timedelta(minutes=5)))
        assert sorted(claims) == [False, True]
        soon = now + dt.timedelta(minutes=4)
        assert not await figures.refresh_if_due(other, soon)
        later = now + dt.timedelta(minutes=5, seconds=1)
        assert await figures.refresh_if_due(other, later)
        assert not await figures.refresh_if_due(db, later)
    finally:
        await other.dispose()


def strings(value: Any) -> list[str]:
    """Every text anywhere in a structure of dataclasses, tuples and dicts."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value):
        return [s for f in dataclasses.fields(value) for s in strings(getattr(value, f.name))]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, tuple | list):
        return [s for item in value for s in strings(item)]
    return []


async def personal(db: Database) -> set[str]:
    def read(connection: Connection) -> set[str]:
        found: set[str] = set()
        for row in connection.execute(text("SELECT full_name, personal_id, phone FROM citizens")):
            found.update(v for v in row if v)
        return found
    return await db.read(read)


def no_person_in(dashboard: Any, people: set[str]) -> None:
    shown = strings(dashboard)
    assert shown
    for text_ in shown:
        assert not any(person in text_ for person in people if len(person) > 3), text_


async def test_dashboards_show_the_wards_figures_the_weeks_and_no_person(db: Database) -> None:
    await seeded(db)
    made = await activity(db)
    await figures.refresh(db)
    ward = made["people"][0][1]
    centre = await reporting.centre_of(db, ward)
    assert centre is not None and centre.demo and ward in centre.ward_codes
    city = await reporting.city_dashboard(db)
    area = await reporting.centre_dashboard(db, centre.code)
    one = await reporting.ward_dashboard(db, ward)
    assert len(city.rows) == 126 and len(area.rows) == len(centre.ward_codes) and len(one.rows) == 1
    counted = await db.read(direct, now_utc())
    assert one.totals.residents == counted[ward]["residents"]
    assert city.totals.residents + city.residents_without_ward == sum(w["residents"] for w in counted.values()
                                                                      if "residents" in w)
    assert area.totals.residents == sum(counted.get(w, {}).get("residents", 0) for w in centre.ward_codes)
    # This week: 9 activations (5 Telegram, 4 USSD) and 4 check-ins (the card read is none).
    assert (city.activations[-1].telegram, city.activations[-1].ussd, city.activations[-1].count) == (5, 4, 9)
    assert city.checkins[-1].count == 4 and city.totals.checkins_recent == 4
    assert len(city.activations) == len(city.checkins) == 12
    assert city.activations[-1].start == today_hanoi() - dt.timedelta(days=today_hanoi().weekday())
    assert city.as_of is not None and now_utc() - city.as_of < dt.timedelta(minutes=1)
    shares = {share.field: share for share in city.completeness}
    assert set(shares) == set(figures.FIELDS) and 0 < shares["blood_group"].share <= 1
    people = await personal(db)
    for dashboard in (city, area, one):
        assert isinstance(dashboard, Dashboard)
        no_person_in(dashboard, people)


async def test_an_unknown_ward_or_centre_is_answered_as_such(db: Database) -> None:
    for call in (reporting.ward_dashboard(db, "99999"), reporting.centre_dashboard(db, "NONE")):
        try:
            await call
        except reporting.UnknownArea:
            continue
        raise AssertionError("an unknown area was answered with figures")


async def test_check_ins_count_on_the_ward_and_day_they_happened(db: Database) -> None:
    await seeded(db)
    (citizen_id, ward), = await residents(db, 1)
    at = dt.datetime(2026, 3, 31, 18, 30, tzinfo=dt.UTC)  # 01:30 on 1 April in Hanoi

    def count(connection: Connection) -> None:
        tallies.count_event(connection, tallies.CHECKIN, citizen_id, at)
        tallies.count_event(connection, tallies.CHECKIN, citizen_id, at)

    await db.write(count)

    def read(connection: Connection) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in connection.execute(
            text("SELECT ward_code, day, kind, count FROM ward_tallies"))]
    rows = await db.read(read)
    assert [(w, str(d), k, n) for w, d, k, n in rows] == [(ward, "2026-04-01", "checkin", 2)]
    assert at.astimezone(TIMEZONE).date() == dt.date(2026, 4, 1)


async def test_a_code_scanned_twice_then_typed_is_one_check_in_and_the_next_code_another(
        db: Database) -> None:
    await seeded(db)
    (citizen_id, ward), = await residents(db, 1)
    facility = await db.read(lambda c: c.execute(text("SELECT code FROM facilities LIMIT 1")).scalar_one())
    invite = await staff_service.invite(db, StaffRole.RECEPTIONIST, facility_code=facility, name="Hoa")
    account = await db.write(accounts.open_account, "telegram", "desk-hoa")
    staff = await staff_service.accept(db, invite.code, account.id)
    assert staff is not None

    async def arrive() -> tokens.IssuedCheckin:
        return await tokens.issue(db, citizen_id, "telegram")

    async def desk_opens(found: desk.DeskLookup, via: str) -> None:
        assert found.state is desk.DeskState.OPEN
        await read_book_as(db, staff.reader, citizen_id, via=via, token_id=found.token_id)

    def checkins(connection: Connection) -> int:
        return connection.execute(text("SELECT COALESCE(SUM(count), 0) FROM ward_tallies "
                                       "WHERE kind = 'checkin' AND ward_code = :w"), {"w": ward}).scalar_one()

    first = await arrive()
    await desk_opens(await desk.open_link(db, account, staff, first.token), "qr")
    await desk_opens(await desk.open_link(db, account, staff, first.token), "qr")  # the scanner beeped twice
    await desk_opens(await desk.open_code(db, account, staff, first.code), "code")  # then typed, all the same
    assert await db.read(checkins) == 1
    second = await arrive()  # a later visit: a new code
    await desk_opens(await desk.open_code(db, account, staff, second.code), "code")
    assert await db.read(checkins) == 2


async def test_the_seed_gives_every_ward_a_health_centre(db: Database) -> None:
    await seeded(db)
    found = await reporting.centres(db)
    assert len(found) == 30
    covered = [w for c in found for w in c.ward_codes]
    assert sorted(covered) == sorted(hanoi_wards()) and all(c.demo for c in found)


async def test_a_centres_file_with_an_unknown_ward_is_refused_whole(db: Database, tmp_path: Path) -> None:
    from core.reporting.centres import CentresRefused, import_centres

    path = tmp_path / "centres.csv"
    path.write_text("centre_code,centre_name,ward_code\nKV1,Trung tâm Y tế khu vực Hoàn Kiếm,00070\n"
                    "KV1,Trung tâm Y tế khu vực Hoàn Kiếm,99999\n", encoding="utf-8")
    try:
        await import_centres(db, path)
    except CentresRefused as refused:
        assert [p.line for p in refused.problems] == [3]
        assert "99999" in str(refused.problems[0].message.params.get("code"))
    else:
        raise AssertionError("a file with an unknown ward was loaded")
    assert await reporting.centres(db) == []
    path.write_text("\ufeffcentre_code,centre_name,ward_code\nKV1,Trung tâm Y tế khu vực Hoàn Kiếm,70\n",
                    encoding="utf-8")
    assert await import_centres(db, path) == (1, 1, [w for w in hanoi_wards() if w != "00070"])
    centre = await reporting.centre_of(db, "00070")
    assert centre is not None and centre.name == "Trung tâm Y tế khu vực Hoàn Kiếm" and not centre.demo
