"""Vietnamese first: every word a person reads is in the catalogue, translated."""

from __future__ import annotations

import re
import unicodedata

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from core.config import PROJECT_ROOT
from core.i18n import translator
from tests.journey_cases import english_commands_named

PO = PROJECT_ROOT / "locales" / "vi" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
# Codes and names that read the same in Vietnamese.
SAME_IN_BOTH = {"COVID-19", "Email", "MA_LK", "{reason}: {detail}", "{time}: {role}, {place}: {groups}",
                "{kg} kg", "{percent}%"}


def catalogue():
    with PO.open("rb") as handle:
        return read_po(handle, locale="vi")


def marked_strings() -> set[str]:
    found: set[str] = set()
    for package in ("core", "bot", "sandbox"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                PROJECT_ROOT / package, keywords=KEYWORDS, comment_tags=()):
            found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def test_every_marked_string_is_in_the_vietnamese_catalogue() -> None:
    known = {m.id for m in catalogue() if m.id}
    missing = sorted(marked_strings() - known)
    assert missing == [], f"run `make messages` and translate: {missing}"


def test_no_entry_is_untranslated_fuzzy_or_obsolete() -> None:
    cat = catalogue()
    untranslated = [m.id for m in cat if m.id and not m.string]
    fuzzy = [m.id for m in cat if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == [] and not cat.obsolete


def test_translations_keep_their_placeholders_and_are_nfc() -> None:
    for message in catalogue():
        if not message.id:
            continue
        assert set(PLACEHOLDER.findall(message.id)) == set(PLACEHOLDER.findall(message.string)), \
            message.id
        assert unicodedata.is_normalized("NFC", message.string), message.id
        if message.id not in SAME_IN_BOTH:
            assert message.string != message.id, f"copied, not translated: {message.id}"


# A date's shape as a programmer writes it, or an ISO date: a person reads "ngày/tháng/năm (ví dụ
# 05/09/1960)" and dates as dd/mm/yyyy, never the pattern itself nor 1960-09-05.
PROGRAMMER_DATES = re.compile(r"dd/mm|mm/yyyy|yyyy|ddmm|\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b", re.IGNORECASE)


def test_no_vietnamese_string_shows_a_date_pattern_or_an_iso_date() -> None:
    # Operators included: a clinic file's wrong time is explained with an example, not a pattern.
    found = [m.id for m in catalogue() if m.id and PROGRAMMER_DATES.search(m.string)]
    assert found == []


def test_the_date_check_catches_a_pattern_and_an_iso_date_and_leaves_a_shown_date() -> None:
    assert PROGRAMMER_DATES.search("Nhập ngày sinh dd/mm/yyyy.")
    assert PROGRAMMER_DATES.search("Ngày sinh: 1960-09-05")
    assert not PROGRAMMER_DATES.search("ngày/tháng/năm (ví dụ 05/09/1960)")


def test_no_vietnamese_sentence_names_an_english_command_that_has_a_vietnamese_alias() -> None:
    # The menu and the command list say /capnhat; a sentence saying /update would send a reader
    # to type a word they were never shown.
    found = [m.id for m in catalogue() if m.id and english_commands_named(m.string)]
    assert found == []


def test_the_command_check_finds_an_english_command_and_leaves_the_vietnamese_alias() -> None:
    assert english_commands_named("gõ /update để tiếp tục sau.") == ["update"]
    assert english_commands_named("gõ /capnhat, /start hoặc https://t.me/x/update") == []


def test_vietnamese_is_the_default_and_english_the_second_language() -> None:
    assert translator().gettext("Date of birth") == "Ngày sinh"
    assert translator("vi").text("{vaccine}, dose {dose}", vaccine="BCG", dose=1) == "BCG, mũi 1"
    assert translator("en").gettext("Date of birth") == "Date of birth"
    assert translator("fr").locale == "vi"  # an unknown language falls back to Vietnamese


def test_dates_and_times_are_shown_in_hanoi_time() -> None:
    import datetime as dt

    t = translator("vi")
    assert t.date(dt.date(2026, 3, 5)) == "05/03/2026"
    # 23:30 UTC on 4 March is 06:30 on 5 March in Hanoi (UTC+7).
    assert t.datetime(dt.datetime(2026, 3, 4, 23, 30, tzinfo=dt.UTC)) == "06:30 05/03/2026"
