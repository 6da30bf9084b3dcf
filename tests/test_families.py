"""Families through the database: rights as the record and the grants give them, a teenager
taking their book over, a station setting up a proxy in person, a child's EPI schedule."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from core import families, notices
from core.db import Database
from core.families.model import BookHandover, ProxyGrantRow
from core.families.rules import Power, ProxyGrant, right_over
from core.i18n import now_utc, today_hanoi
from core.records.citizen import Citizen
from core.records.epi import DoseState, epi_schedule
from core.records.provenance import Provenance, Source
from core.values import CitizenStatus, PartialDate
from tests.test_families_rule import TODAY, households

_CITIZENS = Citizen.__table__


def _store(connection, people, grants) -> dict[int, int]:
    """The household as rows: citizens with their guardian link's source, handovers, grants.
    Returns the rule's person ids to the rows' ids."""
    prov = {source: connection.execute(Provenance.__table__.insert().values(
        source=source, reference="test", received_at=now_utc(), verified=source.is_official)
        .returning(Provenance.__table__.c.id)).scalar_one() for source in Source}
    ids = {}
    for person in people:
        ids[person.id] = connection.execute(_CITIZENS.insert().values(
            personal_id=f"0010{person.id:08d}", full_name=f"Người Số {person.id}",
            birth_date=person.birth_date, status=person.status).returning(_CITIZENS.c.id)).scalar_one()
    for person in people:
        if person.guardian_id is not None:
            connection.execute(_CITIZENS.update().where(_CITIZENS.c.id == ids[person.id]).values(
                guardian_id=ids[person.guardian_id], guardian_id_prov=prov[person.guardian_source]))
        if person.taken_over_on is not None:
            connection.execute(BookHandover.__table__.insert().values(
                citizen_id=ids[person.id], taken_over_on=person.taken_over_on, channel="telegram"))
    for grant in grants:
        connection.execute(ProxyGrantRow.__table__.insert().values(
            grantor_id=ids[grant.grantor_id], proxy_id=ids[grant.proxy_id],
            powers=",".join(sorted(p.value for p in grant.powers)), granted_on=grant.granted_on,
            expires_on=grant.expires_on, channel="telegram", created_at=now_utc(),
            withdrawn_at=(dt.datetime.combine(grant.withdrawn_on, dt.time(), dt.UTC)
                          if grant.withdrawn_on else None)))
    return ids


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(households(), TODAY)
def test_the_database_gives_exactly_the_rights_the_rule_gives(sqlite_template: Path, household,
                                                              today) -> None:
    """Nobody opens a book without a current right, and every right works, as stored: the
    engine's questions (`right_of`, `dependents`) agree with the rule for every pair."""
    people, grants = household
    # A withdrawal is a moment, not a day: stored, any withdrawal ends the grant.
    grants = [g if g.withdrawn_on is None or g.withdrawn_on <= today else
              ProxyGrant(g.id, g.grantor_id, g.proxy_id, g.powers, g.granted_on, g.expires_on, None)
              for g in grants]

    async def check() -> None:
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "ehr.sqlite3"
            shutil.copyfile(sqlite_template, path)
            db = Database(f"sqlite+aiosqlite:///{path}")
            try:
                ids = await db.write(_store, people, grants)
                for actor in people:
                    found = {d.citizen_id: d.right for d in
                             await db.read(families.dependents, ids[actor.id], today)}
                    for subject in people:
                        expected = right_over(actor, subject, grants, today)
                        stored = await db.read(families.right_of, ids[actor.id], ids[subject.id], today)
                        assert stored == expected, (actor, subject)
                        assert found.get(ids[subject.id]) == expected, (actor, subject)
            finally:
                await db.dispose()

    asyncio.run(check())


async def _person(db: Database, name: str, born: PartialDate, *, guardian: int | None = None) -> int:
    async with db.transaction() as session:
        register = Provenance(source=Source.POPULATION_DB, reference="test", received_at=now_utc(),
                              verified=True)
        session.add(register)
        await session.flush()
        row = Citizen(personal_id=f"00{abs(hash(name)) % 10**10:010d}", full_name=name, birth_date=born,
                      status=CitizenStatus.ACTIVE, guardian_id=guardian,
                      guardian_id_prov=register.id if guardian else None)
        session.add(row)
        await session.flush()
        return row.id


def _years_ago(years: int, days: int = 0) -> PartialDate:
    today = today_hanoi()
    return PartialDate.of(today.replace(year=today.year - years) - dt.timedelta(days=days))


async def test_a_teenager_of_16_takes_their_book_over_and_the_guardian_is_told(db: Database) -> None:
    mother = await _person(db, "Phạm Thị Mẹ", _years_ago(44))
    teen = await _person(db, "Phạm Văn Con", _years_ago(16, 3), guardian=mother)
    younger = await _person(db, "Phạm Thị Em", _years_ago(15, 300), guardian=mother)
    today = today_hanoi()
    assert {d.citizen_id for d in await db.read(families.dependents, mother, today)} == {teen, younger}

    assert not await db.write(families.take_over, younger, today, "telegram"), "15: not yet"
    assert await db.write(families.take_over, teen, today, "telegram")
    assert not await db.write(families.take_over, teen, today, "telegram"), "once"

    assert [d.citizen_id for d in await db.read(families.dependents, mother, today)] == [younger]
    assert await db.read(families.right_of, mother, teen, today) is None
    told = await db.read(notices.due)
    assert [(n.citizen_id, n.kind, n.params["name"]) for n in told] == [
        (mother, "book_taken_over", "Phạm Văn Con")]


async def test_a_grant_is_refused_for_a_child_and_never_carries_consent(db: Database) -> None:
    grandmother = await _person(db, "Lê Thị Bà", _years_ago(78))
    son = await _person(db, "Lê Văn Con", _years_ago(50))
    grandchild = await _person(db, "Lê Văn Cháu", _years_ago(12))
    today = today_hanoi()
    for proxy, powers in ((grandchild, [Power.READ]), (son, [Power.CONSENT]), (grandmother, [Power.READ])):
        try:
            await db.write(lambda c, p=proxy, w=powers: families.grant_proxy(
                c, grandmother, p, w, today=today, channel="station", confirmed_by="Cán bộ trạm"))
        except families.GrantRefused:
            continue
        raise AssertionError(f"granted {powers} to {proxy}")
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ProxyGrantRow)) == 0


def test_a_babys_schedule_says_what_is_overdue_due_and_coming() -> None:
    born = dt.date(2026, 9, 1)
    today = dt.date(2026, 12, 3)
    given = [("Engerix B", "Viêm gan B", 1, born), ("BCG", None, 1, dt.date(2026, 9, 10)),
             ("Quinvaxem", None, 1, dt.date(2026, 11, 3))]
    lines = {(line.scheduled.vaccine, line.scheduled.dose): line
             for line in epi_schedule(PartialDate.of(born), given, today)}
    assert lines[("Viêm gan B", 1)].state is DoseState.DONE
    assert lines[("BCG", 1)].given_on == dt.date(2026, 9, 10)
    assert lines[("DPT-VGB-Hib", 1)].state is DoseState.DONE  # Quinvaxem is the pentavalent
    assert lines[("bOPV", 1)].state is DoseState.OVERDUE  # due 01/11, a month's grace passed
    assert lines[("DPT-VGB-Hib", 2)].state is DoseState.DUE  # due 01/12
    assert lines[("DPT-VGB-Hib", 3)].state is DoseState.COMING  # 01/01/2027, within two months
    assert ("Sởi", 1) not in lines  # nine months: too far ahead to list


def test_a_pentavalent_dose_never_stands_in_for_the_hepatitis_b_birth_dose() -> None:
    born = dt.date(2026, 6, 1)
    given = [("Quinvaxem", None, 1, dt.date(2026, 8, 1))]
    lines = {(line.scheduled.vaccine, line.scheduled.dose): line.state
             for line in epi_schedule(PartialDate.of(born), given, dt.date(2026, 12, 3))}
    assert lines[("Viêm gan B", 1)] is DoseState.OVERDUE
    assert lines[("DPT-VGB-Hib", 1)] is DoseState.DONE


def test_no_schedule_for_a_grown_up_or_a_birth_known_only_by_year() -> None:
    assert epi_schedule(PartialDate(1990, 1, 2), [], dt.date(2026, 12, 3)) == ()
    assert epi_schedule(PartialDate(2025), [], dt.date(2026, 12, 3)) == ()


async def test_guardian_and_teenager_are_told_a_month_before_the_right_ends_once(db: Database) -> None:
    today = today_hanoi()
    day = today + families.TOLD_BEFORE
    father = await _person(db, "Võ Văn Cha", _years_ago(50))
    soon = await _person(db, "Võ Thị Sắp", PartialDate.of(day.replace(year=day.year - 18)), guardian=father)
    later = await _person(db, "Võ Văn Sau", PartialDate.of(day.replace(year=day.year - 18)
                                                           + dt.timedelta(days=1)), guardian=father)
    assert await db.write(families.tell_rights_ending, today) == 1
    assert await db.write(families.tell_rights_ending, today) == 0, "another worker, the same day"
    told = sorted((n.citizen_id, n.kind, n.params.get("on")) for n in await db.read(notices.due))
    assert told == sorted([(father, "guardian_right_ends", day.isoformat()),
                           (soon, "own_book_soon", day.isoformat())])
    assert later not in {n.citizen_id for n in await db.read(notices.due)}
    # The day itself: the right is gone without anyone doing anything.
    assert await db.read(families.right_of, father, soon, day) is None
    assert await db.read(families.right_of, father, soon, day - dt.timedelta(days=1)) is not None
