"""The health book as the display rules lay it out, for each audience."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from core.consent.access import read_own_book
from core.consent.policy import ConsentScope, view_for, visible_fields
from core.db import Database
from core.records.book_view import BookView
from core.records.display_rules import (
    CATALOGUE,
    Audience,
    BookGroup,
    all_field_keys,
    iter_fields,
    row_field_keys,
)
from core.records.healthbook import HealthBook, build_health_book
from tests.records import make_empty_record, make_full_record


def rows_by_key(book: HealthBook) -> dict[str, str]:
    """The first text shown for each field key."""
    found: dict[str, str] = {}
    for row in book.rows():
        found.setdefault(row.key, row.text)
    return found


async def test_every_catalogue_field_appears_for_a_fully_populated_record(db: Database) -> None:
    cid = await make_full_record(db)
    book = await read_own_book(db, cid, locale="en")
    assert book is not None
    assert book.field_keys() == set(all_field_keys())
    # A title's fields are never repeated as rows beneath it (a phone screen is short).
    assert {row.key for row in book.rows()} == set(row_field_keys())
    assert [s.group for s in book.sections] == [s.group for s in CATALOGUE]


async def test_values_are_formatted_as_the_display_rules_say(db: Database) -> None:
    cid = await make_full_record(db)
    book = await read_own_book(db, cid, locale="en")
    assert book is not None
    rows = rows_by_key(book)
    assert rows["general.birth_date"] == "15/07/1990"
    assert rows["general.sex"] == "Male"
    assert rows["general.phone"] == "0912 345 678"
    assert rows["general.ward"] == "Phường Hoàn Kiếm"
    assert rows["general.nationality"] == "Vietnam"
    assert rows["general.guardian"] == "Trần Văn Bố"
    assert rows["insurance.valid_to"] == "31/12/2026"
    assert rows["insurance.registered_facility"] == "Trạm Y tế Phường Hoàn Kiếm"
    assert rows["history.blood_group"] == "O Rh+"
    assert rows["history.conditions.since"] == "--/03/2019"
    assert rows["history.surgeries.date"] == "2010"
    # 08:30 Hanoi time stays 08:30 whatever the server's zone (stored as 01:30 UTC).
    assert rows["visits.arrived"] == "08:30 20/10/2026"
    assert rows["visits.secondary_icd10"] == (
        "Tăng lipid máu, không đặc hiệu (E78.5); "
        "Bệnh đái tháo đường không phụ thuộc insulin, không có biến chứng (E11.9)")
    assert rows["visits.follow_up"] == "20/11/2026 (passed)"
    assert rows["visits.medicines.quantity"] == "30 Viên"
    assert rows["visits.medicines.route"] == "By mouth"  # DUONG_DUNG 1.01
    assert rows["visits.results.laboratory.value"] == "5,8 mmol/L"


async def test_visits_are_listed_newest_first_with_their_details(db: Database) -> None:
    cid = await make_full_record(db)
    book = await read_own_book(db, cid, locale="en")
    assert book is not None
    visits = book.section(BookGroup.VISITS).lists[0].entries  # type: ignore[union-attr]
    assert [v.title for v in visits][:2] == [
        "20/10/2026 · Bệnh viện Bạch Mai", "01/03/2025 · Trạm Y tế Phường Hoàn Kiếm"]
    newest = visits[0]
    assert [lst.key for lst in newest.lists] == [
        "visits.medicines", "visits.services", "visits.results.laboratory",
        "visits.results.imaging", "visits.results.function", "visits.results.other"]
    assert newest.lists[0].entries[0].title == "Amlodipin 5mg"
    assert visits[1].lists == ()  # nothing said of what a visit did not have


async def test_an_empty_record_shows_the_missing_value_texts(db: Database) -> None:
    cid = await make_empty_record(db)
    book = await read_own_book(db, cid, locale="en")
    assert book is not None
    rows = rows_by_key(book)
    assert rows["general.full_name"] == "Lê Thị Cúc"
    assert rows["general.birth_date"] == "1995"
    assert rows["general.phone"] == "Not recorded"
    assert rows["insurance.card_number"] == "No card on record"
    assert "visits.follow_up" not in rows  # no visits, so no visit details at all
    for section in book.sections:
        for book_list in section.lists:
            assert book_list.entries == ()
            assert book_list.empty_text.startswith("No ")


async def test_self_declared_values_are_marked_in_vietnamese(db: Database) -> None:
    cid = await make_full_record(db, self_declared_ethnicity=True)
    book = await read_own_book(db, cid, locale="vi")
    assert book is not None
    general = book.section(BookGroup.GENERAL)
    assert general is not None
    marks = {row.key: row.declared for row in general.rows}
    assert marks["general.ethnicity"] == "Tự khai báo"
    assert marks["general.full_name"] is None
    allergies = book.section(BookGroup.HISTORY).lists[0]  # type: ignore[union-attr]
    assert allergies.entries[0].declared == "Tự khai báo"  # the allergy the citizen declared


async def test_a_clinic_without_consent_sees_only_general_and_insurance(db: Database) -> None:
    cid = await make_full_record(db)
    book = await build_health_book(db, cid, view_for(Audience.CLINIC), locale="en")
    assert book is not None
    assert [s.group for s in book.sections] == [BookGroup.GENERAL, BookGroup.INSURANCE]
    assert "Penicillin" not in json.dumps(book.to_dict(), ensure_ascii=False)


async def test_a_volunteer_never_sees_contact_insurance_or_clinical_data(db: Database) -> None:
    cid = await make_full_record(db)
    book = await build_health_book(db, cid, view_for(Audience.VOLUNTEER), locale="en")
    assert book is not None
    text = json.dumps(book.to_dict(), ensure_ascii=False)
    for secret in ("001090001234", "0912 345 678", "DN4010123456789", "Penicillin", "Amlodipin",
                   "an.nguyen@example.com", "O Rh+", "Comirnaty"):
        assert secret not in text
    assert "Nguyễn Văn An" in text


async def test_a_missing_citizen_has_no_book(db: Database) -> None:
    assert await read_own_book(db, 424242) is None


consents = st.frozensets(st.sampled_from([BookGroup.HISTORY, BookGroup.IMMUNIZATIONS,
                                          BookGroup.VISITS, BookGroup.GENERAL]))


@settings(max_examples=200)
@given(audience=st.sampled_from(list(Audience)), groups=consents)
def test_no_audience_is_ever_given_a_field_the_catalogue_denies_it(
        audience: Audience, groups: frozenset[BookGroup]) -> None:
    allowed = visible_fields(audience, ConsentScope(groups))
    for section in CATALOGUE:
        for rule in iter_fields(section):
            if rule.key in allowed:
                assert audience in rule.audiences
                if section.consent_gated and audience is not Audience.CITIZEN:
                    assert audience is Audience.CLINIC and section.group in groups


async def test_built_books_carry_only_the_fields_the_policy_allows(db: Database) -> None:
    cid = await make_full_record(db)
    for audience in Audience:
        for groups in (frozenset(), frozenset({BookGroup.HISTORY}),
                       frozenset({BookGroup.VISITS, BookGroup.IMMUNIZATIONS})):
            consent = ConsentScope(groups)
            book = await build_health_book(db, cid, view_for(audience, consent), locale="en")
            assert book is not None
            assert book.field_keys() <= visible_fields(audience, consent)


async def test_a_book_shows_only_the_sections_and_fields_its_view_names(db: Database) -> None:
    # The builder obeys whatever view it is handed, whoever decided it: a clinic view opened to
    # allergies' substances only shows the name and the substance, and nothing of the reaction.
    cid = await make_full_record(db)
    view = BookView(Audience.CLINIC, frozenset({BookGroup.GENERAL, BookGroup.HISTORY}),
                    frozenset({"general.full_name", "history.allergies.substance"}))
    book = await build_health_book(db, cid, view, locale="en")
    assert book is not None
    assert [s.group for s in book.sections] == [BookGroup.GENERAL, BookGroup.HISTORY]
    assert book.field_keys() == {"general.full_name", "history.allergies.substance"}
    assert [b.key for b in book.section(BookGroup.HISTORY).lists] == ["history.allergies"]  # type: ignore[union-attr]
    narrowed = await build_health_book(db, cid, view, locale="en", only={BookGroup.HISTORY})
    assert narrowed is not None and [s.group for s in narrowed.sections] == [BookGroup.HISTORY]
