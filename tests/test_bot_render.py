"""Long replies are split for Telegram, never cut; keyboards go where Telegram allows them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.flows.replies import Input, InputKind, Option, Reply
from bot.handlers.render import TEXT_LIMIT, outgoing, split_text


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


words = st.text(alphabet=st.sampled_from("abc xyzđươ💉\n"), min_size=0, max_size=60)


@given(st.lists(words, max_size=400), st.integers(min_value=20, max_value=300))
def test_split_keeps_every_character_and_respects_the_limit(parts: list[str], limit: int) -> None:
    text = " ".join(parts)
    pieces = split_text(text, limit)
    assert all(utf16(piece) <= limit for piece in pieces)
    squeeze = re.compile(r"\s+")
    assert squeeze.sub("", "".join(pieces)) == squeeze.sub("", text)


def test_a_long_section_becomes_several_messages_with_the_buttons_on_the_last() -> None:
    lines = [f"• Mũi tiêm số {n}: Vắc xin phòng bệnh & <viêm gan B>, ngày 01/01/2020" for n in range(200)]
    reply = Reply("\n".join(lines), title="Tiêm chủng", options=((Option("⬅ Quay lại", "book"),),))
    messages = outgoing(reply)
    assert len(messages) >= 3
    assert messages[0].html.startswith("<b>Tiêm chủng</b>")
    assert "&lt;viêm gan B&gt;" in messages[0].html and "&amp;" in messages[0].html
    assert all(m.markup is None for m in messages[:-1])
    assert isinstance(messages[-1].markup, InlineKeyboardMarkup)
    plain = "".join(m.html for m in messages)
    assert all(f"Mũi tiêm số {n}:" in plain for n in range(200))
    assert all(utf16(m.html.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
                     .replace("<b>", "").replace("</b>", "")) <= TEXT_LIMIT for m in messages)


def test_a_visit_is_never_cut_across_two_messages() -> None:
    visit = ["• 24/04/2026 · Trạm Y tế", "   Chẩn đoán: Viêm phế quản cấp", "",
             "   Thuốc đã dùng/đã cấp:", "   • Amoxicilin 500mg", "      Liều dùng: 1 viên/lần",
             "   Bệnh kèm theo: I10"]
    visits = [line.replace("24/04", f"{n:02d}/04") for n in range(1, 29) for line in visit]
    pieces = split_text("\n".join(["— Lịch sử khám chữa bệnh —", *visits]), 400)
    assert len(pieces) > 3 and all(utf16(piece) <= 400 for piece in pieces)
    for piece in pieces:  # each message starts with a visit's date and ends with its last line
        lines = piece.split("\n")
        assert lines[0].startswith(("•", "—")) and lines[-1] == "   Bệnh kèm theo: I10", piece
    assert sum(piece.count("• ") for piece in pieces) == 28 * 2


def test_the_contact_button_is_a_one_time_reply_keyboard_and_can_be_closed() -> None:
    asked = outgoing(Reply("Chia sẻ số điện thoại", ask_contact="📱 Chia sẻ"))[0].markup
    assert isinstance(asked, ReplyKeyboardMarkup)
    assert asked.keyboard[0][0].request_contact and asked.one_time_keyboard
    closed = outgoing(Reply("Xong", close_keyboard=True))[0].markup
    assert isinstance(closed, ReplyKeyboardRemove)


def test_beside_the_phone_button_options_are_typed_answers() -> None:
    markup = outgoing(Reply("x", options=((Option("✖ Dừng lại", "verify:stop"),),),
                            ask_contact="📱 Chia sẻ"))[0].markup
    assert isinstance(markup, ReplyKeyboardMarkup)
    assert [[b.text for b in row] for row in markup.keyboard] == [["📱 Chia sẻ"], ["✖ Dừng lại"]]
    assert not markup.keyboard[1][0].request_contact


def test_a_reply_cannot_offer_options_and_close_the_keyboard() -> None:
    with pytest.raises(ValueError):
        Reply("x", options=((Option("a", "a"),),), close_keyboard=True)


def test_an_action_longer_than_telegram_allows_is_refused_when_written() -> None:
    with pytest.raises(ValueError):
        Option("x", "book:" + "9" * 64)


@pytest.mark.parametrize(("typed", "kind", "command", "payload"), [
    ("/start", InputKind.COMMAND, "start", ""),
    ("/start ci_abc", InputKind.COMMAND, "start", "ci_abc"),
    ("/Book@HanoiHealthBookBot", InputKind.COMMAND, "book", ""),
    (" 001078986724 ", InputKind.TEXT, None, ""),
    ("/", InputKind.TEXT, None, ""),
])
def test_typed_text_is_read_as_a_command_or_as_text(typed: str, kind: InputKind, command: str | None,
                                                    payload: str) -> None:
    given_input = Input.of_text(typed)
    assert (given_input.kind, given_input.command, given_input.payload) == (kind, command, payload)
