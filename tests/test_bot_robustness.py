"""Every update gets an answer: failures, flood control, webhook mode, and logs that keep secrets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import aiohttp
import pytest
from sqlalchemy import text

from bot.config import BotSettings
from bot.run import start_webhook, stop_webhook
from bot.webhook import SECRET_HEADER, WEBHOOK_PATH
from core.config import Settings
from core.privacy import configure_logging
from tests.telegram_world import TOKEN, TelegramWorld, verify


async def test_a_failure_inside_the_bot_is_answered_with_a_reference(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    user = world.phone()
    await verify(user, resident)
    await user.send("/book")
    await user.until(lambda m: "🏥 Lịch sử khám chữa bệnh" in m.labels)
    # A real fault, not a stub: the visits table disappears under the running bot.
    async with world.db.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE visits RENAME TO visits_away"))
    await user.press("🏥 Lịch sử khám chữa bệnh")
    answer = await user.until(lambda m: "mã tham chiếu" in m.text)
    reference = answer.text.rsplit(":", 1)[1].strip(" .")
    assert len(reference) == 6
    async with world.db.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE visits_away RENAME TO visits"))
    await user.send("/book")  # and the bot goes on serving
    await user.until(lambda m: "🏥 Lịch sử khám chữa bệnh" in m.labels)


async def test_flood_control_is_waited_out_and_the_reply_still_arrives(world: TelegramWorld) -> None:
    world.emulator.flood_control("sendMessage", 2, retry_after=1)
    user = world.phone()
    await user.send("/help")
    answer = await user.until(lambda m: "/xacthuc" in m.text, timeout=15)
    assert "Trợ giúp" in answer.text


async def test_commands_are_registered_in_vietnamese_and_english(world: TelegramWorld) -> None:
    bot = world.application.bot
    for _ in range(50):  # post_init runs as polling starts
        vietnamese = await bot.get_my_commands()
        if vietnamese:
            break
        await asyncio.sleep(0.05)
    english = await bot.get_my_commands(language_code="en")
    # Vietnamese apps list the Vietnamese names (/so); both names work whatever the app's language.
    assert [c.command for c in vietnamese] == ["start", "so", "capnhat", "dieuchinh", "maqr", "dongy",
                                              "truycap", "nguoigiup", "ngonngu", "trogiup", "huy",
                                              "dangxuat"]
    assert [c.command for c in english] == ["start", "book", "update", "correct", "qr", "consent",
                                           "access", "helpers", "lang", "help", "cancel", "logout"]
    assert dict((c.command, c.description) for c in vietnamese)["so"] == "Sổ sức khỏe của tôi"
    assert dict((c.command, c.description) for c in english)["book"] == "My health book"


async def test_webhook_mode_serves_people_and_refuses_a_wrong_secret(world: TelegramWorld) -> None:
    await world.stop_bot()  # the same bot, now in webhook mode
    secret = "a-long-webhook-secret-for-tests"
    async with aiohttp.ClientSession() as probe:
        settings = BotSettings(Settings.from_env({}), TOKEN, f"{world.base_url}/bot",
                               "http://127.0.0.1:18743", secret)
        runner, application = await start_webhook(settings, world.db, "127.0.0.1", 18743)
        try:
            user = world.phone()
            await user.send("/help")
            await user.until(lambda m: "/xacthuc" in m.text)
            refused = await probe.post(f"http://127.0.0.1:18743{WEBHOOK_PATH}", json={"update_id": 1},
                                       headers={SECRET_HEADER: "wrong"})
            assert refused.status == 403
            health = await probe.get("http://127.0.0.1:18743/healthz")
            assert health.status == 200 and (await health.json())["status"] == "ok"
        finally:
            await application.bot.delete_webhook()
            await stop_webhook(runner, application)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_logs() -> Iterator[_Collect]:
    """The service's own logging set-up at DEBUG, with every line kept (before any redaction)."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging("DEBUG")
    collect = _Collect()
    collect.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root.addHandler(collect)
    try:
        yield collect
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


async def test_logs_of_a_whole_journey_hold_no_id_phone_or_health_data(
        world: TelegramWorld, debug_logs: _Collect) -> None:
    resident = world.resident("with_visits")
    user = world.phone()
    await user.send("/start")
    await user.until(lambda m: "CCCD" in m.text)
    await user.send(resident.personal_id)
    await user.until(lambda m: "ngày/tháng/năm" in m.text)
    await user.send("01/01/1901")  # a failed attempt is logged too
    await user.until(lambda m: "không khớp" in m.text)
    await verify(user, resident)
    await user.send("/book")
    shown: list[str] = []
    for section in ("👤 Thông tin hành chính", "💳 Bảo hiểm y tế", "🩺 Tiền sử bệnh và dị ứng",
                    "💉 Tiêm chủng"):
        await user.until(lambda m, s=section: s in m.labels)
        await user.press(section)
        shown.append((await user.until(lambda m: "⬅ Các mục của sổ sức khỏe" in m.labels)).text)
        await user.press("⬅ Các mục của sổ sức khỏe")
    await user.until(lambda m: "🏥 Lịch sử khám chữa bệnh" in m.labels)
    await user.press("🏥 Lịch sử khám chữa bệnh")
    visits = await user.until(lambda m: any(d.startswith("book.v:") for row in m.buttons for _l, d in row))
    await user.press(next(d for row in visits.buttons for _l, d in row if d.startswith("book.v:")))
    visit = await user.until(lambda m: "Bệnh chính" in m.text or "Chẩn đoán" in m.text)
    diagnosis = next(line.split(": ", 1)[1] for line in visit.text.splitlines()
                     if line.startswith(("Chẩn đoán", "Bệnh chính")))

    logged = "\n".join(debug_logs.lines)
    assert "identity attempt: linked" in logged  # the outcome is logged...
    phone = resident.phone.lstrip("+")
    secrets = {resident.personal_id, phone, "0" + phone[2:], resident.full_name, diagnosis,
               resident.birth_date.display()}
    for secret in secrets:
        assert secret not in logged  # ...but not who, nor anything from the book
    assert TOKEN.split(":")[1] not in logged  # nor the bot's token (it is in every API URL)
