"""The access policy, property by property: nothing outside the granted groups is ever returned."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.consent.access import latest_access, read_book_as, read_own_book
from core.consent.grants import CitizenConsent, FacilityGrant
from core.consent.policy import ALWAYS_VISIBLE, CONSENTABLE, Reader, decide, view_for, visible_groups
from core.db import Database
from core.i18n import translator
from core.records.display_rules import CATALOGUE, Audience, BookGroup, iter_fields
from core.records.healthbook import assemble, load_book_data
from tests.records import make_full_record

TODAY = dt.date(2026, 11, 26)
FACILITIES = ("01001", "01002", "01003")
any_groups = st.frozensets(st.sampled_from(list(BookGroup)))
until = st.one_of(st.none(), st.dates(TODAY - dt.timedelta(days=30), TODAY + dt.timedelta(days=30)))
grants = st.builds(FacilityGrant, st.sampled_from(FACILITIES), st.none(), any_groups, until)
consents = st.builds(CitizenConsent, any_groups,
                     st.lists(grants, max_size=3, unique_by=lambda g: g.facility_code).map(tuple))
readers = st.builds(Reader, st.integers(1, 9), st.sampled_from(["receptionist", "volunteer"]),
                    st.one_of(st.none(), st.sampled_from(FACILITIES)))
days = st.dates(TODAY - dt.timedelta(days=60), TODAY + dt.timedelta(days=60))


def granted(consent: CitizenConsent, reader: Reader, today: dt.date) -> frozenset[BookGroup]:
    """What the citizen has opened to this reader, written out independently of `decide`."""
    if reader.role != "receptionist":
        return frozenset()
    opened = set(consent.any_clinic)
    for grant in consent.facilities:
        live = grant.valid_until is None or today <= grant.valid_until
        if grant.facility_code == reader.facility_code and live:
            opened |= grant.groups
    return frozenset(opened) & CONSENTABLE


@given(consents, readers, days)
def test_decide_never_opens_more_than_the_citizen_granted(consent: CitizenConsent, reader: Reader,
                                                          today: dt.date) -> None:
    audience, scope = decide(reader, consent, today)
    assert scope.groups == granted(consent, reader, today)
    shown = visible_groups(audience, scope)
    assert shown <= ALWAYS_VISIBLE[audience] | granted(consent, reader, today)


@given(consents, days)
def test_an_expired_or_other_facilitys_grant_opens_nothing(consent: CitizenConsent, today: dt.date) -> None:
    stranger = Reader(1, "receptionist", "01999")
    _audience, scope = decide(stranger, consent, today)
    assert scope.groups == consent.any_clinic & CONSENTABLE


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(PermissionError):
        decide(Reader(1, "janitor"), CitizenConsent(frozenset(BookGroup)), TODAY)


async def test_no_book_ever_holds_a_field_outside_what_the_policy_allows(db: Database) -> None:
    citizen_id = await make_full_record(db)
    # Everything the record holds is loaded: the assembler must leave out what is not allowed.
    data = await db.read(load_book_data, citizen_id, frozenset(BookGroup))
    t = translator("vi")
    group_of_field = {f.key: section.group for section in CATALOGUE for f in iter_fields(section)}

    @settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
    @given(consents, readers, days)
    def check(consent: CitizenConsent, reader: Reader, today: dt.date) -> None:
        audience, scope = decide(reader, consent, today)
        book = assemble(data, view_for(audience, scope), t)
        allowed_groups = ALWAYS_VISIBLE[audience] | granted(consent, reader, today)
        # Written out from the catalogue alone, not from the policy's own answer.
        allowed_fields = {f.key for section in CATALOGUE if section.group in allowed_groups
                          for f in iter_fields(section) if audience in f.audiences}
        keys = book.field_keys()
        assert {group_of_field[k] for k in keys} <= allowed_groups
        assert keys <= allowed_fields
        assert {s.group for s in book.sections} <= allowed_groups
        if audience is Audience.VOLUNTEER:  # never an ID, a phone, insurance or anything clinical
            assert not keys & {"general.personal_id", "general.phone"}
            assert {s.group for s in book.sections} == {BookGroup.GENERAL}

    check()


async def test_reading_ones_own_book_leaves_no_access_event_but_a_clinics_read_does(db: Database) -> None:
    citizen_id = await make_full_record(db)
    own = await read_own_book(db, citizen_id, locale="en")
    assert own is not None and {s.group for s in own.sections} == set(BookGroup)
    assert await latest_access(db, citizen_id) == []
    read = await read_book_as(db, Reader(7, "receptionist", "01001"), citizen_id, via="test", locale="en")
    assert read.book is not None
    assert {s.group for s in read.book.sections} == {BookGroup.GENERAL, BookGroup.INSURANCE}
    [event] = await latest_access(db, citizen_id)
    assert (event.reader_role, event.via, event.groups) == ("receptionist", "test", read.access.groups)  # type: ignore[union-attr]
