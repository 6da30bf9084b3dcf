"""Drawing replies as USSD screens: GSM-7 text, 182 characters a screen, options numbered once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.flows.actions import Open, decode
from bot.flows.replies import Input, InputKind, Option, Reply, rows
from bot.ussd.gsm import is_gsm7, septets, to_gsm7
from bot.ussd.screens import SCREEN_LIMIT, NotOffered, PageTurn, draw, interpret
from core.i18n import translator

VI = translator("vi")
WORDS = st.sampled_from(["Sổ", "sức", "khỏe", "điện", "tử", "Hà", "Nội", "✅", "🏥", "“mã”", "Đồng", "ý",
                         "0912", "–", "Bệnh viện Đa khoa", "xét", "nghiệm", "[A]", "€", "x" * 40])
TEXT = st.lists(st.lists(WORDS, min_size=1, max_size=30).map(" ".join), min_size=1, max_size=8) \
    .map("\n".join)
# A label always has a word a keypad phone can show (the flows' are text, some after an emoji).
LABELS = st.lists(st.lists(WORDS, min_size=1, max_size=8).map(" ".join).filter(to_gsm7), max_size=14)


def test_vietnamese_is_written_without_diacritics_and_symbols_become_plain() -> None:
    assert to_gsm7("🏠 Sổ sức khỏe điện tử Hà Nội") == "So suc khoe dien tu Ha Noi"
    assert to_gsm7("✅ Dị ứng “nặng” – AB Rh−") == '(x) Di ung "nang" - AB Rh-'
    assert septets("a{b}") == 6 and is_gsm7("Đ") is False


@settings(max_examples=300, deadline=None)
@given(TEXT, LABELS)
def test_any_reply_fits_screens_of_182_gsm7_characters_and_keeps_every_word_and_option(
        text: str, labels: list[str]) -> None:
    options = rows(*(Option(label, f"x:{n}") for n, label in enumerate(labels)))
    view = draw((Reply(text, options=options),), VI)
    for page in view.pages:
        assert is_gsm7(page) and septets(page) <= SCREEN_LIMIT
    lines = [line for page in view.pages for line in page.split("\n")
             if line not in ("0. Xem tiep", "00. Quay lai")]
    body, numbered = lines[:len(lines) - len(labels)], lines[len(lines) - len(labels):]
    for number, (line, label) in enumerate(zip(numbered, labels, strict=True), start=1):
        assert line.startswith(f"{number}. ") and to_gsm7(label).startswith(line[len(f"{number}. "):])
    assert "".join(" ".join(body).split()) == "".join(to_gsm7(text).split())  # every word, in order
    assert view.actions == tuple(f"x:{n}" for n in range(len(labels)))


def test_0_turns_the_page_00_turns_back_and_then_leads_to_the_menu() -> None:
    options = rows(*(Option(f"Lựa chọn số {n} khá dài để chiếm chỗ", f"x:{n}") for n in range(12)))
    view = draw((Reply("Chọn một mục.", options=options),), VI)
    assert len(view.pages) >= 2 and view.response.startswith("CON ")
    turned = interpret(view, "0")
    assert isinstance(turned, PageTurn) and turned.view.page == 1
    back = interpret(turned.view, "00")
    assert isinstance(back, PageTurn) and back.view.page == 0
    menu = interpret(view, "00")  # from a first page: the menu, as a button of its own
    assert isinstance(menu, Input) and decode(menu.option or "").action == Open("menu")
    last = view.turned(len(view.pages) - 1)
    assert interpret(last, "12") == Input.of_option("x:11")  # numbers hold across pages
    # A number is taken only on the page that shows it; anything else keeps the screen.
    assert isinstance(interpret(view, "12"), NotOffered)
    assert isinstance(interpret(last, "13"), NotOffered) and isinstance(interpret(last, "0"), NotOffered)
    asking = draw((Reply("Nhập số CCCD.", options=options),), VI, takes_text=True)
    assert interpret(asking, "001234567890") == Input(InputKind.TEXT, text="001234567890")


def test_a_number_not_on_the_screen_shows_the_same_options_under_a_word_and_nothing_is_kept() -> None:
    note, more, back = "Vui long bam mot so co tren man hinh.", "0. Xem tiep", "00. Quay lai"
    for label in ("Mục {n} trong sổ", "Mục thứ {n} trong sổ"):  # room for the word, or not
        options = rows(*(Option(label.format(n=n), f"x:{n}") for n in range(7)))
        view = draw((Reply("Bạn muốn làm gì?", options=options),), VI)
        assert len(view.pages) == 1
        shown, after = view.noted(note, more, back)
        assert shown.startswith(f"CON {note}\n") and septets(shown[4:]) <= SCREEN_LIMIT
        seen = shown if after is view else f"{shown}\n{after.turned(1).response}"
        assert all(f"{n}. Muc" in seen for n in range(1, 8))  # every option still shown
        assert all(note not in page for page in after.pages)  # turned back to: no word of it
        for number in range(1, 8):  # each number taken on the page that shows it
            page = next(i for i, text in enumerate(after.pages) if f"{number}. Muc" in text)
            assert interpret(after.turned(page), str(number)) == Input.of_option(f"x:{number - 1}")


def test_back_on_a_first_screen_leads_where_the_screen_came_from() -> None:
    options = rows(Option("Thông tin", "x:1"), Option("⬅ Các mục", "x:back", back=True),
                   Option("🏠 Menu chính", "x:menu"))
    view = draw((Reply("Họ và tên: Nguyễn Văn A", options=options),), VI)
    assert interpret(view, "00") == Input.of_option("x:back")


def test_lines_that_belong_together_are_not_split_across_pages_when_they_fit_one() -> None:
    visits = [f"• 2{n}/04/2026 - Bệnh viện Đa khoa Xanh Pôn cơ sở {n}\n Chẩn đoán: Viêm phế quản cấp, "
              f"không đặc hiệu, lần {n}" for n in range(4)]
    view = draw((Reply("\n\n".join(visits), options=rows(Option("Menu chính", "x:m"))),), VI)
    assert len(view.pages) > 1
    for n in range(4):
        page = next(p for p in view.pages if f"co so {n}" in p)
        assert f"lan {n}" in page  # the visit's diagnosis on the page of its date


def test_a_closing_reply_ends_the_session_only_on_its_last_page() -> None:
    long = " ".join(["Mã khám bệnh của bạn là 4821 3907, hãy đọc tại quầy tiếp đón."] * 5)
    view = draw((Reply(long, ends=True),), VI)
    assert len(view.pages) > 1
    assert view.response.startswith("CON ")
    assert view.turned(len(view.pages) - 1).response.startswith("END ")
