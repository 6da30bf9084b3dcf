"""The identifier validators the importers and (later) the chat flows share."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import validation as v
from core.i18n import translator
from core.reference.provinces import PROVINCE_CODES
from core.values import BloodGroup, PartialDate, Sex


def message(error: pytest.ExceptionInfo[v.InvalidValue]) -> str:
    return error.value.message.render(translator("en"))


@st.composite
def personal_ids(draw: st.DrawFn) -> tuple[str, int, Sex]:
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    year = draw(st.integers(1900, 2099))
    sex = draw(st.sampled_from([Sex.MALE, Sex.FEMALE]))
    digit = (year // 100 - 19) * 2 + (0 if sex is Sex.MALE else 1)
    serial = draw(st.integers(0, 999_999))
    return f"0{province}{digit}{year % 100:02d}{serial:06d}", year, sex


@given(personal_ids())
def test_every_well_formed_personal_id_is_accepted_and_read_back(case: tuple[str, int, Sex]) -> None:
    value, year, sex = case
    assert v.personal_id(value) == value
    assert v.personal_id_century_and_sex(value) == (year, sex)
    assert v.personal_id_conflict(value, sex, PartialDate(year)) is None


@given(personal_ids())
def test_a_personal_id_disagreeing_with_birth_year_or_sex_is_flagged(case: tuple[str, int, Sex]) -> None:
    value, year, sex = case
    other = Sex.FEMALE if sex is Sex.MALE else Sex.MALE
    assert v.personal_id_conflict(value, other, PartialDate(year)) is not None
    assert v.personal_id_conflict(value, sex, PartialDate(year + 1 if year < 2099 else year - 1))


@pytest.mark.parametrize(("text", "expected"), [
    ("12345", "exactly 12 digits"),
    ("00109000123a", "exactly 12 digits"),
    ("003090001234", "province code"),  # 03 is not a province code
    ("101090001234", "province code"),
    ("", "missing"),
])
def test_malformed_personal_ids_get_a_specific_reason(text: str, expected: str) -> None:
    with pytest.raises(v.InvalidValue) as error:
        v.personal_id(text)
    assert expected in message(error)


def test_spaces_and_dots_typed_in_a_personal_id_are_ignored() -> None:
    assert v.personal_id(" 001 090.001-234 ") == "001090001234"


@pytest.mark.parametrize(("text", "normalised"), [
    ("0912345678", "+84912345678"),
    ("+84 912 345 678", "+84912345678"),
    ("84912345678", "+84912345678"),
    ("091.234.5678", "+84912345678"),
    ("0321234567", "+84321234567"),
])
def test_mobile_numbers_are_normalised_to_plus_84(text: str, normalised: str) -> None:
    assert v.phone(text) == normalised
    assert v.phone_national(normalised).replace(" ", "") == "0" + normalised[3:]


@pytest.mark.parametrize("text", ["0241234567", "091234567", "09123456789", "+1 415 555 0100", "abc"])
def test_landlines_and_foreign_or_short_numbers_are_refused(text: str) -> None:
    with pytest.raises(v.InvalidValue) as error:
        v.phone(text)
    assert "10 digits" in message(error)


def test_insurance_card_parts_are_read() -> None:
    card = v.insurance_card("dn 4 01 0123456789")
    assert (card.number, card.beneficiary_group, card.benefit_level, card.province,
            card.social_insurance_number) == ("DN4010123456789", "DN", 4, "01", "0123456789")


@pytest.mark.parametrize(("text", "expected"), [
    ("DN6010123456789", "2 letters, then 13 digits"),  # benefit level 6 does not exist
    ("DN4010123456", "2 letters, then 13 digits"),
    ("DN4030123456789", "unknown province code 03"),
])
def test_bad_insurance_cards_say_what_is_wrong(text: str, expected: str) -> None:
    with pytest.raises(v.InvalidValue) as error:
        v.insurance_card(text)
    assert expected in message(error)


def test_ward_codes_are_current_hanoi_units_with_leading_zeros() -> None:
    assert v.ward_code("70") == "00070"  # Phường Hoàn Kiếm
    with pytest.raises(v.InvalidValue) as error:
        v.ward_code("00001")  # a pre-2025 code no longer in the list
    assert "126" in message(error)


def test_facility_codes_are_five_digits_starting_with_a_province() -> None:
    assert v.facility_code("01001") == "01001"
    for bad in ("1001", "03001", "0100A"):
        with pytest.raises(v.InvalidValue):
            v.facility_code(bad)


@pytest.mark.parametrize(("text", "expected"), [
    ("15/07/1948", PartialDate(1948, 7, 15)),
    ("07/1948", PartialDate(1948, 7)),
    ("1948", PartialDate(1948)),
    ("5-7-1948", PartialDate(1948, 7, 5)),
])
def test_partial_dates_keep_only_what_is_known(text: str, expected: PartialDate) -> None:
    assert v.partial_date(text) == expected


def test_dates_before_1900_in_the_future_or_impossible_are_refused() -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    for text, expected in (("31/12/1899", "before 1900"), (tomorrow.strftime("%d/%m/%Y"), "future"),
                           ("31/02/2000", "not a real date"), ("2000/01/01", "day/month/year")):
        with pytest.raises(v.InvalidValue) as error:
            v.partial_date(text)
        assert expected in message(error)


def test_a_date_with_a_superscript_digit_is_refused_as_unreadable_not_a_crash() -> None:
    # `²` passes str.isdigit() but int() refuses it: the person is asked again, nothing breaks.
    for text in ("²/1990", "01/²/1990", "15/07/199²"):
        with pytest.raises(v.UnreadableDate):
            v.partial_date(text)
    with pytest.raises(v.InvalidValue):
        v.calendar_date("01/01/202²", past_only=False)


def test_card_validity_may_lie_in_the_future() -> None:
    assert v.calendar_date("31/12/2099", past_only=False) == dt.date(2099, 12, 31)


@pytest.mark.parametrize(("text", "expected"), [
    ("O+", BloodGroup("O", "+")), ("AB-", BloodGroup("AB", "-")), ("A Rh+", BloodGroup("A", "+")),
    ("b rh−", BloodGroup("B", "-")), ("AB", BloodGroup("AB")), ("0+", BloodGroup("O", "+")),
])
def test_blood_groups_in_the_ways_people_write_them(text: str, expected: BloodGroup) -> None:
    assert v.blood_group(text) == expected


def test_sex_words_and_qd130_codes() -> None:
    assert [v.sex(t) for t in ("Nam", "Nữ", "NU", "1", "2", "3")] == [
        Sex.MALE, Sex.FEMALE, Sex.FEMALE, Sex.MALE, Sex.FEMALE, Sex.UNDETERMINED]


def test_ethnicity_by_code_name_or_other_spelling() -> None:
    assert [v.ethnicity(t) for t in ("1", "Kinh", "Ê Đê", "khmer", "H'Mông")] == [
        "01", "01", "12", "05", "08"]
    with pytest.raises(v.InvalidValue):
        v.ethnicity("Klingon")


def test_nationality_names_and_codes_in_both_languages() -> None:
    assert [v.nationality(t) for t in ("Việt Nam", "VN", "Lào", "Laos", "kr")] == [
        "VN", "VN", "LA", "LA", "KR"]


def test_names_are_stored_in_nfc_even_when_typed_in_nfd() -> None:
    decomposed = "Nguye\u0302\u0303n Thi\u0323 Ba\u0300"
    assert v.full_name(decomposed) == "Nguyễn Thị Bà"
    with pytest.raises(v.InvalidValue):
        v.full_name("Nguyễn 123")


def test_wards_and_ethnic_groups_are_found_without_diacritics() -> None:
    from core.reference.ethnicities import search_ethnicities
    from core.reference.wards import hanoi_wards, search_wards

    assert len(hanoi_wards()) == 126
    assert [w.code for w in search_wards("hoan kiem")] == ["00070"]
    assert search_wards("") == []
    assert [e.code for e in search_ethnicities("ede")] == ["12"]
    assert {e.name for e in search_ethnicities("Tha")} >= {"Thái"}


def test_a_name_typed_in_lower_case_is_capitalised_the_vietnamese_way() -> None:
    typed = unicodedata.normalize("NFD", "nguyễn văn an")  # as some phones send it
    assert v.full_name(typed) == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", v.full_name(typed))
    assert v.full_name("đỗ thị ưng") == "Đỗ Thị Ưng"
    # A capital already typed (a register's capitals, an Ê Đê name) is kept as it was written.
    assert v.full_name("NGUYỄN VĂN AN") == "NGUYỄN VĂN AN"
    assert v.full_name("H'Hen Niê") == "H'Hen Niê"


def test_a_name_too_long_says_it_is_too_long() -> None:
    with pytest.raises(v.InvalidValue) as error:
        v.full_name("Nguyễn " + "a" * 100)
    assert "too long" in message(error) and "100" in message(error)


def test_a_date_that_cannot_be_read_is_told_apart_from_a_wrong_one() -> None:
    with pytest.raises(v.UnreadableDate):
        v.calendar_date("ngày mai")
    with pytest.raises(v.UnreadableDate):
        v.calendar_date("09/1960")  # a birth date needs the day
    with pytest.raises(v.InvalidValue) as error:
        v.calendar_date("31/02/1960")
    assert not isinstance(error.value, v.UnreadableDate)
