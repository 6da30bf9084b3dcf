"""The Bot API emulator, driven by the real python-telegram-bot over real HTTP.

The bot side is `telegram.Bot` (or a whole `Application`); the people are `TelegramUser`
phones on the emulator's user side, as the chat page uses it.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from sandbox.client import TelegramUser
from sandbox.emulator import BotApiEmulator
from sandbox.entities import entities_to_html, formatted_text

TOKEN = "123456789:TEST-emulated-token"


@dataclass
class Sandbox:
    emulator: BotApiEmulator
    base_url: str
    bot: Bot
    session: aiohttp.ClientSession

    def phone(self, user_id: int, first_name: str = "Lan", language_code: str = "vi") -> TelegramUser:
        return TelegramUser(self.base_url, user_id, first_name=first_name, language_code=language_code,
                            session=self.session)

    async def get(self, path: str) -> dict:
        async with self.session.get(self.base_url + path) as response:
            return await response.json()

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        async with self.session.post(self.base_url + path, json=body) as response:
            return response.status, await response.json()


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the port the OS chose
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async def personas() -> list[dict]:
        return [{"user_id": 700_000_001, "first_name": "Lan", "last_name": "Nguyễn Thị",
                 "language_code": "vi", "phone_number": "84912345678", "role": "citizen",
                 "hint": "CCCD 001190012345, 02/03/1990"}]

    emulator = BotApiEmulator(TOKEN, personas=personas)
    app = web.Application()
    emulator.add_routes(app)
    runner, base_url = await serve(app)
    bot = Bot(TOKEN, base_url=f"{base_url}/bot", base_file_url=f"{base_url}/file/bot")
    async with aiohttp.ClientSession() as session, bot:
        yield Sandbox(emulator, base_url, bot, session)
    await runner.cleanup()


def png(width: int, height: int) -> bytes:
    """A real, small PNG image: no Pillow needed."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x20\x80\xc0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]
                                 for label, data in buttons])


# -- the bot and its messages -------------------------------------------------------------------
async def test_the_bot_knows_who_it_is(sandbox: Sandbox) -> None:
    me = await sandbox.bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (123456789, "HanoiHealthBookBot",
                                                               "Sổ sức khỏe Hà Nội", True)


async def test_a_wrong_token_or_an_unknown_method_is_refused_like_telegram(sandbox: Sandbox) -> None:
    stranger = Bot("1:wrong", base_url=f"{sandbox.base_url}/bot")
    with pytest.raises(InvalidToken):
        await stranger.get_me()
    async with sandbox.session.post(f"{sandbox.base_url}/bot{TOKEN}/sendTelepathy") as response:
        assert response.status == 404
        assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    async with sandbox.session.post(f"{sandbox.base_url}/bot1:wrong/getMe") as response:
        assert (response.status, (await response.json())["description"]) == (401, "Unauthorized")


async def test_the_bot_cannot_write_first_to_someone_who_never_opened_the_chat(sandbox: Sandbox) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await sandbox.bot.send_message(555, "Xin chào")


async def test_the_user_sees_html_as_plain_text_with_entities_in_utf16(sandbox: Sandbox) -> None:
    lan = sandbox.phone(501)
    await lan.send("/start")
    sent = await sandbox.bot.send_message(
        501, "Xin chào 👋 <b>bạn Lan</b>!\n<i>Sổ sức khỏe</i> &amp; <a href='https://t.me'>liên kết</a>",
        parse_mode="HTML")
    assert sent.text == "Xin chào 👋 bạn Lan!\nSổ sức khỏe & liên kết"
    # "Xin chào 👋 " is 11 characters but 12 UTF-16 code units: the emoji is a surrogate pair.
    expected = [{"offset": 12, "length": 7, "type": "bold"}, {"offset": 21, "length": 11, "type": "italic"},
                {"offset": 35, "length": 8, "type": "text_link", "url": "https://t.me/"}]
    assert [e.to_dict() for e in sent.entities] == expected
    (seen,) = await lan.replies()
    assert seen.text == sent.text and seen.entities == expected
    assert seen.html == ("Xin chào 👋 <b>bạn Lan</b>!\n<i>Sổ sức khỏe</i> &amp; "
                         '<a href="https://t.me/">liên kết</a>')


async def test_a_start_link_payload_arrives_as_a_bot_command(sandbox: Sandbox) -> None:
    lan = sandbox.phone(502)
    await lan.send("/start ref_clinic-12")
    (update,) = await sandbox.bot.get_updates()
    assert update.message.text == "/start ref_clinic-12"
    assert [(e.type, e.offset, e.length) for e in update.message.entities] == [("bot_command", 0, 6)]
    assert update.message.chat.type == "private" and update.message.from_user.first_name == "Lan"


async def test_malformed_html_is_refused_with_telegrams_reason(sandbox: Sandbox) -> None:
    await sandbox.phone(503).send("/start")
    cases = {
        "<b>đậm": 'Can\'t find end tag corresponding to start tag "b"',
        "<b>x</i>": 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"',
        "Sổ <marquee>": 'Unsupported start tag "marquee" at byte offset 5',
        "1 < 2": 'Unsupported start tag "" at byte offset 2',
    }
    for html, reason in cases.items():
        with pytest.raises(BadRequest) as refused:
            await sandbox.bot.send_message(503, html, parse_mode="HTML")
        # PTB capitalises the description and lower-cases the rest.
        assert str(refused.value) == f"Can't parse entities: {reason}".capitalize()


async def test_too_long_or_empty_texts_are_refused(sandbox: Sandbox) -> None:
    await sandbox.phone(504).send("/start")
    await sandbox.bot.send_message(504, "ạ" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await sandbox.bot.send_message(504, "ạ" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):  # 2049 emoji are 4098 UTF-16 units
        await sandbox.bot.send_message(504, "🩺" * 2049)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await sandbox.bot.send_message(504, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await sandbox.bot.send_photo(504, png(2, 2), caption="x" * 1025)


async def test_callback_data_must_be_1_to_64_bytes(sandbox: Sandbox) -> None:
    await sandbox.phone(505).send("/start")
    await sandbox.bot.send_message(505, "ok", reply_markup=keyboard(("64", "đ" * 32)))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await sandbox.bot.send_message(505, "quá dài", reply_markup=keyboard(("65", "a" + "đ" * 32)))


async def test_the_user_downloads_exactly_the_photo_the_bot_sent(sandbox: Sandbox) -> None:
    lan = sandbox.phone(506)
    await lan.send("/start")
    image = png(40, 30)
    sent = await sandbox.bot.send_photo(506, image, caption="<b>Mã QR</b> khám bệnh", parse_mode="HTML",
                                        reply_markup=keyboard(("Xong", "qr:done")))
    (size,) = sent.photo
    assert (size.width, size.height, size.file_size) == (40, 30, len(image))
    assert sent.caption == "Mã QR khám bệnh" and sent.caption_entities[0].type == "bold"
    (seen,) = await lan.replies()
    assert seen.text == "Mã QR khám bệnh" and seen.buttons == [[("Xong", "qr:done")]]
    assert await seen.photo() == image
    file = await sandbox.bot.get_file(size.file_id)
    assert bytes(await file.download_as_bytearray()) == image
    again = await sandbox.bot.send_photo(506, size.file_id)  # a photo sent before, by its file_id
    assert again.photo[-1].file_unique_id == size.file_unique_id
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await sandbox.bot.send_photo(506, b"not an image")


async def test_an_edit_replaces_the_message_and_an_identical_edit_is_refused(sandbox: Sandbox) -> None:
    lan = sandbox.phone(507)
    await lan.send("/start")
    sent = await sandbox.bot.send_message(507, "Trang 1", reply_markup=keyboard(("Sau ▶", "page:2")))
    edited = await sandbox.bot.edit_message_text(
        "<b>Trang 2</b>", chat_id=507, message_id=sent.message_id, parse_mode="HTML",
        reply_markup=keyboard(("◀ Trước", "page:1")))
    assert edited.edit_date is not None and edited.text == "Trang 2"
    first, second = await lan.replies(2)
    assert (first.edited, second.edited) == (False, True)
    assert second.message_id == first.message_id and second.buttons == [[("◀ Trước", "page:1")]]
    with pytest.raises(BadRequest, match="Message is not modified: specified new message content and reply "
                                         "markup are exactly the same"):
        await sandbox.bot.edit_message_text("<b>Trang 2</b>", chat_id=507, message_id=sent.message_id,
                                            parse_mode="HTML", reply_markup=keyboard(("◀ Trước", "page:1")))
    await sandbox.bot.edit_message_reply_markup(chat_id=507, message_id=sent.message_id)
    (cleared,) = await lan.replies()
    assert cleared.buttons == [] and cleared.text == "Trang 2"
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await sandbox.bot.edit_message_text("?", chat_id=507, message_id=999)
    state = await lan.state()
    assert [m["text"] for m in state["messages"]] == ["/start", "Trang 2"]


async def test_a_deleted_message_disappears_from_the_phone(sandbox: Sandbox) -> None:
    lan = sandbox.phone(508)
    await lan.send("/start")
    sent = await sandbox.bot.send_message(508, "Tạm thời")
    assert await sandbox.bot.delete_message(508, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await sandbox.bot.delete_message(508, sent.message_id)
    assert [m["text"] for m in (await lan.state())["messages"]] == ["/start"]


# -- buttons and keyboards ------------------------------------------------------------------------
async def test_a_press_reaches_the_bot_and_can_be_answered_only_once(sandbox: Sandbox) -> None:
    lan = sandbox.phone(509)
    await lan.send("/start")
    (start,) = await sandbox.bot.get_updates()
    await sandbox.bot.send_message(509, "Bạn muốn làm gì?", reply_markup=keyboard(("📖 Sổ sức khỏe", "book")))
    await lan.press("📖 Sổ sức khỏe")
    (update,) = await sandbox.bot.get_updates(offset=start.update_id + 1)
    query = update.callback_query
    assert query.data == "book" and query.from_user.id == 509 and query.message.text == "Bạn muốn làm gì?"
    assert await query.answer("Đang mở…")
    assert (await lan.callback_answer())["text"] == "Đang mở…"
    with pytest.raises(BadRequest, match="Query is too old and response timeout expired or query id"):
        await query.answer()


async def test_a_user_cannot_press_a_button_that_is_not_there(sandbox: Sandbox) -> None:
    lan = sandbox.phone(510)
    await lan.send("/start")
    sent = await sandbox.bot.send_message(510, "Chọn", reply_markup=keyboard(("Có", "yes"), ("Không", "no")))
    await lan.replies()
    with pytest.raises(AssertionError, match=r"no button 'Có lẽ'.*\('Có', 'yes'\), \('Không', 'no'\)"):
        await lan.press("Có lẽ")
    status, answer = await sandbox.post("/sandbox/api/chats/510/press",
                                        {"message_id": sent.message_id, "data": "maybe"})
    assert status == 400 and "maybe" in answer["error"]


async def test_the_contact_button_shares_the_users_own_number(sandbox: Sandbox) -> None:
    lan = sandbox.phone(511)
    await lan.send("/start")
    (start,) = await sandbox.bot.get_updates()
    ask = ReplyKeyboardMarkup([[KeyboardButton("📞 Chia sẻ số điện thoại", request_contact=True)]],
                              one_time_keyboard=True, resize_keyboard=True)
    await sandbox.bot.send_message(511, "Vui lòng chia sẻ số điện thoại", reply_markup=ask)
    (asked,) = await lan.replies()
    assert asked.reply_keyboard == [[{"text": "📞 Chia sẻ số điện thoại", "request_contact": True}]]
    assert (await lan.state())["reply_keyboard"]["one_time_keyboard"] is True
    await lan.share_contact("84912345678")
    (update,) = await sandbox.bot.get_updates(offset=start.update_id + 1)
    contact = update.message.contact
    assert (contact.phone_number, contact.user_id, contact.first_name) == ("84912345678", 511, "Lan")
    assert (await lan.state())["reply_keyboard_hidden"] is True
    await sandbox.bot.send_message(511, "Cảm ơn", reply_markup=ReplyKeyboardRemove())
    assert (await lan.state())["reply_keyboard"] is None


# -- updates: long polling, offsets, webhook -----------------------------------------------------------
async def test_long_polling_answers_as_soon_as_the_user_writes(sandbox: Sandbox) -> None:
    lan = sandbox.phone(512)
    started = time.monotonic()
    waiting = asyncio.create_task(sandbox.bot.get_updates(timeout=10))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await lan.send("Chào bác sĩ")
    (update,) = await asyncio.wait_for(waiting, 5)
    assert update.message.text == "Chào bác sĩ"
    assert time.monotonic() - started < 2


async def test_confirmed_updates_are_not_delivered_again(sandbox: Sandbox) -> None:
    lan = sandbox.phone(513)
    for text in ("một", "hai", "ba", "bốn"):
        await lan.send(text)
    updates = await sandbox.bot.get_updates(limit=2)
    assert [u.message.text for u in updates] == ["một", "hai"]
    updates = await sandbox.bot.get_updates(offset=updates[-1].update_id + 1)
    assert [u.message.text for u in updates] == ["ba", "bốn"]
    assert [u.message.text for u in await sandbox.bot.get_updates(offset=-1)] == ["bốn"]
    assert await sandbox.bot.get_updates(offset=updates[-1].update_id + 1) == ()


@pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
async def test_flood_control_makes_ptb_raise_retry_after(sandbox: Sandbox) -> None:
    await sandbox.phone(514).send("/start")
    sandbox.emulator.flood_control("sendMessage", times=1, retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3"):
        await sandbox.bot.send_message(514, "nhanh quá")
    assert (await sandbox.bot.send_message(514, "bây giờ thì được")).text == "bây giờ thì được"


async def test_the_webhook_gets_updates_with_its_secret_and_polling_conflicts(sandbox: Sandbox) -> None:
    received: list[tuple[str | None, dict]] = []
    failures = [500]  # the first delivery fails: Telegram retries

    async def receive(request: web.Request) -> web.Response:
        if failures:
            return web.Response(status=failures.pop())
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response()

    hook = web.Application()
    hook.router.add_post("/telegram", receive)
    runner, hook_url = await serve(hook)
    try:
        assert await sandbox.bot.set_webhook(f"{hook_url}/telegram", secret_token="s3cret_Token-1")
        lan = sandbox.phone(515)
        for text in ("một", "hai", "ba"):
            await lan.send(text)
        for _ in range(100):
            if len(received) == 3:
                break
            await asyncio.sleep(0.05)
        assert [secret for secret, _ in received] == ["s3cret_Token-1"] * 3
        assert [update["message"]["text"] for _, update in received] == ["một", "hai", "ba"]
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
            await sandbox.bot.get_updates()
        info = await sandbox.bot.get_webhook_info()
        assert info.url == f"{hook_url}/telegram" and info.pending_update_count == 0
        assert "500" in info.last_error_message
        assert await sandbox.bot.delete_webhook()
        await lan.send("bốn")
        assert [u.message.text for u in await sandbox.bot.get_updates()] == ["bốn"]
    finally:
        await runner.cleanup()


# -- commands, groups, many phones ---------------------------------------------------------------------
async def test_commands_are_kept_per_language_and_each_phone_shows_its_own(sandbox: Sandbox) -> None:
    bot = sandbox.bot
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("start", "Bắt đầu"), BotCommand("book", "Sổ sức khỏe")],
                              language_code="vi")
    await bot.set_my_commands([BotCommand("lang", "Ngôn ngữ")], scope=BotCommandScopeAllPrivateChats(),
                              language_code="fr")
    assert [(c.command, c.description) for c in await bot.get_my_commands(language_code="vi")] == [
        ("start", "Bắt đầu"), ("book", "Sổ sức khỏe")]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert await bot.get_my_commands(language_code="de") == ()
    vietnamese, english = sandbox.phone(516, language_code="vi"), sandbox.phone(517, language_code="en")
    assert [c["command"] for c in (await vietnamese.state())["commands"]] == ["start", "book"]
    assert [c["command"] for c in (await english.state())["commands"]] == ["start", "help"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start Now", "x")])
    assert await bot.delete_my_commands(language_code="vi")
    assert [c["command"] for c in (await vietnamese.state())["commands"]] == ["start", "help"]


async def test_a_group_message_reaches_the_bot_and_its_reply_is_recorded(sandbox: Sandbox) -> None:
    group = {"id": -100123, "type": "group", "title": "Gia đình"}
    status, _ = await sandbox.post("/sandbox/api/updates", {"my_chat_member": {
        "chat": group, "from": {"id": 518, "is_bot": False, "first_name": "Hoa"},
        "old_chat_member": {"user": sandbox.emulator.bot_user, "status": "left"},
        "new_chat_member": {"user": sandbox.emulator.bot_user, "status": "member"}}})
    assert status == 200
    await sandbox.post("/sandbox/api/updates", {"message": {
        "message_id": 7, "chat": group, "from": {"id": 518, "is_bot": False, "first_name": "Hoa"},
        "text": "/book@HanoiHealthBookBot"}})
    added, message = await sandbox.bot.get_updates()
    assert added.my_chat_member.new_chat_member.status == "member"
    assert message.message.chat.type == "group" and message.message.entities[0].length == 24
    await message.message.reply_text("Sổ sức khỏe chỉ xem được trong trò chuyện riêng.")
    chat = await sandbox.get("/sandbox/api/chats/-100123")
    assert [m["text"] for m in chat["messages"]] == ["Sổ sức khỏe chỉ xem được trong trò chuyện riêng."]
    assert chat["messages"][0]["message_id"] == 8
    await sandbox.bot.leave_chat(-100123)
    with pytest.raises(Forbidden):
        await sandbox.bot.send_message(-100123, "còn đây không?")


async def test_a_user_who_blocked_the_bot_cannot_be_written_to(sandbox: Sandbox) -> None:
    lan = sandbox.phone(519)
    await lan.send("/start")
    await lan.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await sandbox.bot.send_message(519, "Nhắc lịch tiêm")
    kinds = [next(k for k in u.to_dict() if k != "update_id") for u in await sandbox.bot.get_updates()]
    assert kinds == ["message", "my_chat_member"]


async def test_hundreds_of_waiting_phones_each_get_only_their_own_messages(sandbox: Sandbox) -> None:
    phones = [sandbox.phone(600_000 + n) for n in range(200)]
    await asyncio.gather(*(phone.send("/start") for phone in phones))
    waits = [asyncio.create_task(phone.replies(1, timeout=10)) for phone in phones]
    await asyncio.sleep(0.2)  # every phone is now in a long poll
    started = time.monotonic()
    await asyncio.gather(*(sandbox.bot.send_message(p.user_id, f"Chào {p.user_id}") for p in phones))
    for phone, wait in zip(phones, waits, strict=True):
        (reply,) = await wait
        assert reply.text == f"Chào {phone.user_id}"
    assert time.monotonic() - started < 5
    updates = await sandbox.bot.get_updates()
    assert len(updates) == 100  # the Bot API's page size


async def test_a_real_application_converses_with_a_person(sandbox: Sandbox) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_html(f"Chào <b>{update.effective_user.first_name}</b>! {context.args}",
                                        reply_markup=keyboard(("📖 Xem sổ", "book")))

    async def book(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("Đang mở…")
        await update.callback_query.edit_message_text("Sổ sức khỏe của bạn")

    base = sandbox.base_url
    application = (ApplicationBuilder().token(TOKEN).base_url(f"{base}/bot")
                   .base_file_url(f"{base}/file/bot").build())
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(book))
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=5)
        try:
            lan = sandbox.phone(520)
            await lan.send("/start clinic_7")
            greeting = await lan.until(lambda m: "Chào" in m.text)
            assert greeting.html == "Chào <b>Lan</b>! ['clinic_7']"
            await lan.press("📖 Xem sổ")
            opened = await lan.until(lambda m: m.edited)
            assert (opened.message_id, opened.text, opened.buttons) == (greeting.message_id,
                                                                        "Sổ sức khỏe của bạn", [])
            assert (await lan.callback_answer())["text"] == "Đang mở…"
            assert [m.text for m in lan.transcript] == ["Chào Lan! ['clinic_7']", "Sổ sức khỏe của bạn"]
        finally:
            await application.updater.stop()
            await application.stop()


# -- the user side and the page -----------------------------------------------------------------------
async def test_the_page_and_the_personas_are_served(sandbox: Sandbox) -> None:
    async with sandbox.session.get(sandbox.base_url + "/") as response:
        page = await response.text()
    assert 'data-testid="message-input"' in page and "/sandbox/static/chat.js" in page
    for name in ("chat.js", "chat.css"):
        async with sandbox.session.get(f"{sandbox.base_url}/sandbox/static/{name}") as response:
            assert response.status == 200
    (persona,) = await sandbox.get("/sandbox/api/personas")
    assert persona["hint"] == "CCCD 001190012345, 02/03/1990"
    status, _ = await sandbox.post("/sandbox/api/chats/700000001/send", {"text": "/start"})
    assert status == 200
    (update,) = await sandbox.bot.get_updates()
    assert update.message.from_user.last_name == "Nguyễn Thị"  # the persona's profile on first contact


async def test_a_phone_long_poll_returns_when_the_bot_writes(sandbox: Sandbox) -> None:
    await sandbox.phone(521).send("/start")
    state = await sandbox.get("/sandbox/api/chats/521")
    events = f"/sandbox/api/chats/521/events?after={state['last']}&timeout=10"
    waiting = asyncio.create_task(sandbox.get(events))
    await asyncio.sleep(0.2)
    await sandbox.bot.send_chat_action(521, "typing")
    answer = await asyncio.wait_for(waiting, 3)
    assert [e["kind"] for e in answer["events"]] == ["chat_action"] and answer["last"] > state["last"]


# -- Telegram's formatting rules, without HTTP ---------------------------------------------------------
@pytest.mark.parametrize(("source", "mode", "text", "entities"), [
    ("<b>a</b><b>b</b>", "HTML", "ab", [("bold", 0, 2)]),  # touching ranges merge
    ("<pre><code class=\"language-python\">x = 1</code></pre>", "HTML", "x = 1", [("pre", 0, 5)]),
    ("AT&T &nbsp; &#128512;", "HTML", "AT&T &nbsp; 😀", []),  # unknown named references stay text
    ("\n\n  <i>thụt lề</i>  \n", "HTML", "  thụt lề", [("italic", 2, 7)]),
    ("*đậm* _nghiêng_ \\. [t\\.me](https://t.me)", "MarkdownV2", "đậm nghiêng . t.me",
     [("bold", 0, 3), ("italic", 4, 7), ("text_link", 14, 4)]),
    ("xem https://example.com/a. hoặc /help", None, "xem https://example.com/a. hoặc /help",
     [("url", 4, 21), ("bot_command", 32, 5)]),
])
def test_formatting_follows_telegram(source: str, mode: str | None, text: str, entities: list) -> None:
    parsed_text, parsed = formatted_text(source, mode, None)
    assert parsed_text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed] == entities
    again = formatted_text(entities_to_html(parsed_text, parsed), "HTML", None)
    assert again == (parsed_text, parsed)


def test_nested_and_crossing_entities_render_back_to_html() -> None:
    text = "Sổ sức khỏe"
    entities = [{"offset": 0, "length": 6, "type": "bold"}, {"offset": 3, "length": 8, "type": "italic"}]
    assert entities_to_html(text, entities) == "<b>Sổ <i>sức</i></b><i> khỏe</i>"
    assert json.loads(json.dumps(formatted_text("<b>Sổ <i>sức</i></b><i> khỏe</i>", "html", None)[1])) == [
        {"offset": 0, "length": 6, "type": "bold"}, {"offset": 3, "length": 8, "type": "italic"}]
