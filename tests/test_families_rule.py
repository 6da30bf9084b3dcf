"""Who may act for whom, over random households: nobody opens a book without a current right,
and every right the law gives works (core.families.rules, and the same through the database)."""

from __future__ import annotations

import datetime as dt

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.families.rules import (
    Capacity,
    Person,
    Power,
    ProxyGrant,
    right_over,
)
from core.records.provenance import Source
from core.values import CitizenStatus, PartialDate

TODAY = st.dates(dt.date(2026, 1, 1), dt.date(2030, 12, 31))


@st.composite
def births(draw: st.DrawFn) -> PartialDate:
    day = draw(st.dates(dt.date(1930, 1, 1), dt.date(2030, 12, 31)))
    known = draw(st.sampled_from(("day", "month", "year")))
    return PartialDate(day.year, None if known == "year" else day.month, day.day if known == "day" else None)


@st.composite
def households(draw: st.DrawFn):
    """Two to five people, random guardian links and sources, statuses, handovers and grants."""
    size = draw(st.integers(2, 5))
    people = []
    for person_id in range(1, size + 1):
        guardian = draw(st.one_of(st.none(), st.integers(1, size).filter(lambda g, p=person_id: g != p)))
        people.append(Person(
            person_id, draw(births()),
            draw(st.sampled_from(list(CitizenStatus))),
            guardian, draw(st.sampled_from(list(Source))) if guardian else None,
            draw(st.one_of(st.none(), TODAY))))
    grants = []
    for grant_id in range(draw(st.integers(0, 4))):
        grantor, proxy = draw(st.integers(1, size)), draw(st.integers(1, size))
        on = draw(TODAY)
        grants.append(ProxyGrant(
            grant_id, grantor, proxy, frozenset(draw(st.sets(st.sampled_from(list(Power)), max_size=4))),
            on, draw(st.one_of(st.none(), st.dates(on, dt.date(2031, 12, 31)))),
            draw(st.one_of(st.none(), st.dates(on, dt.date(2031, 12, 31))))))
    return people, grants


def oldest_age(person: Person, day: dt.date) -> int:
    born = person.birth_date.earliest()
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def grant_holds(grant: ProxyGrant, day: dt.date) -> bool:
    return (grant.granted_on <= day and grant.withdrawn_on is None
            and (grant.expires_on is None or day <= grant.expires_on))


@settings(max_examples=400, deadline=None)
@given(households(), TODAY)
def test_nobody_opens_a_book_without_a_current_right(household, today) -> None:
    people, grants = household
    for actor in people:
        for subject in people:
            right = right_over(actor, subject, grants, today)
            if right is None:
                continue
            assert actor.id != subject.id, "one's own book is not a right over someone"
            assert actor.status is CitizenStatus.ACTIVE and subject.status is CitizenStatus.ACTIVE
            assert oldest_age(actor, today) >= 18, "a child never acts for anyone"
            if right.capacity is Capacity.GUARDIAN:
                assert subject.guardian_id == actor.id
                assert subject.guardian_source in (Source.POPULATION_DB, Source.HEALTH_STATION), \
                    "a clinic's file or a person's word never makes a guardian"
                assert oldest_age(subject, today) < 18, "the right ends on the 18th birthday"
                took_over = subject.taken_over_on is not None and today >= subject.taken_over_on \
                    and oldest_age(subject, subject.taken_over_on) >= 16
                assert not took_over, "a teenager who took the book over at 16 or more keeps it"
            else:
                held = [g for g in grants if g.grantor_id == subject.id and g.proxy_id == actor.id
                        and grant_holds(g, today)]
                assert held, "a proxy acts only under a grant in force today"
                assert right.powers <= frozenset(p for g in held for p in g.powers)
                assert Power.CONSENT not in right.powers, "consent stays the adult's own"
                assert oldest_age(subject, today) >= 18


@settings(max_examples=400, deadline=None)
@given(households(), TODAY)
def test_every_right_the_law_gives_works(household, today) -> None:
    people, grants = household
    for actor in people:
        for subject in people:
            if actor.id == subject.id:
                continue
            both_active = actor.status is subject.status is CitizenStatus.ACTIVE
            right = right_over(actor, subject, grants, today)
            if (both_active and subject.guardian_id == actor.id
                    and subject.guardian_source is Source.POPULATION_DB
                    and oldest_age(actor, today) >= 18 and oldest_age(subject, today) < 16):
                # A child under 16 (Luật Trẻ em 2016): the registered guardian does everything.
                assert right is not None and right.capacity is Capacity.GUARDIAN
                assert right.powers == frozenset(Power)
                assert right.child_agrees == (oldest_age(subject, today) >= 7)
            granted = frozenset(p for g in grants if g.grantor_id == subject.id
                                and g.proxy_id == actor.id and grant_holds(g, today)
                                for p in g.powers) - {Power.CONSENT}
            if (both_active and granted and oldest_age(actor, today) >= 18
                    and oldest_age(subject, today) >= 18):
                assert right is not None and granted <= right.powers


@given(births(), st.sampled_from([Source.CLINIC, Source.SELF_DECLARED, Source.VOLUNTEER_ASSISTED,
                                   Source.IMMUNIZATION_REGISTRY, Source.SOCIAL_INSURANCE]))
@settings(deadline=None)
def test_a_guardian_named_only_by_a_clinic_file_opens_nothing(born, source) -> None:
    today = dt.date(2026, 12, 3)
    assume(PartialDate(1990).age_on(today) >= 18)
    parent = Person(1, PartialDate(1990, 5, 1))
    child = Person(2, born, guardian_id=1, guardian_source=source)
    assert right_over(parent, child, [], today) is None


def test_guardian_right_ends_on_the_18th_birthday_and_a_birth_year_alone_ends_it_on_1_january() -> None:
    parent = Person(1, PartialDate(1980, 3, 2))
    child = Person(2, PartialDate(2008, 12, 10), guardian_id=1, guardian_source=Source.POPULATION_DB)
    right = right_over(parent, child, [], dt.date(2026, 12, 9))
    assert right is not None and right.ends_on == dt.date(2026, 12, 10)
    assert right_over(parent, child, [], dt.date(2026, 12, 10)) is None
    only_year = Person(3, PartialDate(2008), guardian_id=1, guardian_source=Source.POPULATION_DB)
    assert right_over(parent, only_year, [], dt.date(2025, 12, 31)) is not None
    assert right_over(parent, only_year, [], dt.date(2026, 1, 1)) is None


def test_a_withdrawn_grant_ends_at_once_and_an_expired_one_after_its_last_day() -> None:
    mother = Person(1, PartialDate(1948, 7, 15))
    son = Person(2, PartialDate(1975, 1, 20))
    day = dt.date(2026, 12, 3)
    grant = ProxyGrant(1, 1, 2, frozenset({Power.READ, Power.SHOW_QR}), dt.date(2026, 11, 1),
                       expires_on=day)
    right = right_over(son, mother, [grant], day)
    assert right is not None and right.capacity is Capacity.PROXY
    assert right.powers == {Power.READ, Power.SHOW_QR} and right.ends_on == day + dt.timedelta(days=1)
    assert right_over(son, mother, [grant], day + dt.timedelta(days=1)) is None
    withdrawn = ProxyGrant(1, 1, 2, grant.powers, grant.granted_on, withdrawn_on=day)
    assert right_over(son, mother, [withdrawn], day) is None
    assert right_over(mother, son, [grant], day) is None, "a grant works one way only"
