"""What a person or a file gives is stored as it is seen: no invisible or control characters."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import validation as v
from core.db import Database
from core.i18n import translator
from core.records.imports.qd130_format import decode_qd130
from core.records.imports.roster import import_roster
from core.values import PartialDate
from tests.test_import_qd130 import _b64, _envelope, _hoso, _tong_hop
from tests.test_import_reports import row
from tests.test_import_roster import citizen, roster

ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")  # ZWSP, ZWNJ, ZWJ, WJ, BOM, SHY
BIDI = ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
        "\u200e", "\u200f", "\u061c")  # embeddings, overrides, isolates, marks
CONTROLS = ("\x00", "\x07", "\x1b", "\x7f", "\x9b")  # NUL, BEL, ESC, DEL, CSI


def invisible(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in ("Cf", "Cc", "Cs")]


@pytest.mark.parametrize("hidden", ZERO_WIDTH + BIDI + CONTROLS)
def test_an_address_with_an_invisible_character_is_kept_without_it(hidden: str) -> None:
    assert v.free_text(f"Số 12{hidden} Hàng Bạc{hidden}") == "Số 12 Hàng Bạc"


def test_a_right_to_left_override_in_an_occupation_is_dropped_and_every_letter_kept() -> None:
    # Shown as "Giáo viên" reversed on screen; stored as the letters typed, in their order.
    assert v.free_text("\u202eGiáo viên\u202c") == "Giáo viên"


def test_line_and_paragraph_separators_and_tabs_become_one_space() -> None:
    assert v.free_text("Ngõ 5\u2028Hàng Bạc\u2029\tHoàn Kiếm\r\n\x85Hà Nội") == \
        "Ngõ 5 Hàng Bạc Hoàn Kiếm Hà Nội"


def test_a_zero_width_joiner_inside_a_decomposed_letter_does_not_keep_it_apart() -> None:
    # NFD "ễ" (e + circumflex + tilde) with a joiner between: stored as the one NFC letter.
    assert v.free_text("Nguye\u200d\u0302\u0303n") == "Nguyễn"


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(ZERO_WIDTH + BIDI + CONTROLS)))
def test_no_free_text_ever_keeps_an_invisible_or_control_character(text: str) -> None:
    try:
        value = v.free_text(text)
    except v.InvalidValue:  # too long
        return
    assert invisible(value) == []
    assert value == v.free_text(value)  # cleaning again changes nothing
    value.encode("utf-8")  # storable on both databases


def test_a_lone_surrogate_from_a_json_escape_is_dropped_rather_than_breaking_the_save() -> None:
    assert v.free_text("Hàng Bạc \ud83d") == "Hàng Bạc"


@pytest.mark.parametrize("hidden", (*ZERO_WIDTH, "\u200e", "\u200f"))
def test_a_name_pasted_with_a_zero_width_character_or_mark_is_stored_without_it(hidden: str) -> None:
    assert v.full_name(f"Nguyễn{hidden} Văn{hidden} An") == "Nguyễn Văn An"


@pytest.mark.parametrize("override", ["\u202e", "\u202d", "\u202b", "\u2067", "\u2068"])
def test_a_name_with_a_bidi_override_is_refused_not_stored_reordered(override: str) -> None:
    # With U+202E in front, "nA năV nễyugN" shows as "Nguyễn Văn An": dropped, it would be stored reversed.
    with pytest.raises(v.InvalidValue) as error:
        v.full_name(f"{override}nA năV nễyugN")
    assert "direction" in error.value.message.render(translator("en"))
    assert "chiều" in error.value.message.render(translator("vi"))


def test_a_name_with_a_control_character_is_stored_without_it() -> None:
    assert v.full_name("Lê\x00 Thị\x1b Cúc") == "Lê Thị Cúc"


def test_numbers_and_dates_pasted_from_a_phone_with_bidi_marks_are_read() -> None:
    # Phones' contact apps wrap numbers in LRE … PDF or LRM so they show left to right.
    assert v.phone("\u202a0912 345 678\u202c") == "+84912345678"
    assert v.personal_id("\u200e001090001234\u200e") == "001090001234"
    assert v.insurance_card("DN40\u200b10123456789").number == "DN4010123456789"
    assert v.partial_date("\u200e15/07/1990") == PartialDate(1990, 7, 15)
    assert v.ward_code("\ufeff70") == "00070"
    assert v.email("an\u200b@example.com") == "an@example.com"


async def test_a_roster_address_and_occupation_with_invisible_characters_are_stored_clean(
        db: Database, tmp_path: Path) -> None:
    # A NUL would make PostgreSQL refuse the whole row; an override would be stored as sent.
    report = await import_roster(db, roster(tmp_path, row(
        dia_chi='"\u202eSố 12 Hàng Bạc\u202c\x00"', nghe_nghiep="Kỹ\u200b sư",
        ho_ten="Nguyễn\ufeff Văn An")))
    assert (report.created, report.rejected, report.problems) == (1, 0, [])
    an = await citizen(db, "001090001234")
    assert (an.street_address, an.occupation, an.full_name) == ("Số 12 Hàng Bạc", "Kỹ sư",
                                                                 "Nguyễn Văn An")


async def test_a_roster_name_with_a_bidi_override_is_rejected_with_its_line(
        db: Database, tmp_path: Path) -> None:
    report = await import_roster(db, roster(tmp_path, row(ho_ten="\u202enA năV nễyugN")))
    assert report.render(translator("en"))[1] == (
        "  roster.csv, line 2: rejected: The full name contains characters that change the "
        "direction of the text.")


@pytest.mark.parametrize("hidden", ZERO_WIDTH + BIDI)
def test_a_clinic_file_with_invisible_characters_is_stored_without_them(hidden: str) -> None:

    xml1 = _tong_hop(MA_LK="LK-1", NGAY_VAO="202503050830", MA_CSKCB="01001",
                     HO_TEN=f"Nguyễn{hidden} Văn An", DIA_CHI=f"Số 12{hidden} Hàng Bạc",
                     CHAN_DOAN_RV=f"{hidden}Viêm họng cấp")
    [record] = decode_qd130(_envelope(_hoso(("XML1", _b64(xml1))))).records()
    visit = record.submission
    assert (visit.full_name, visit.address, visit.diagnosis) == ("Nguyễn Văn An", "Số 12 Hàng Bạc",
                                                                 "Viêm họng cấp")
