"""A citizen on Telegram: verify who they are, then read the health book.

The real python-telegram-bot Application polls our Bot API emulator over HTTP;
each test plays a person's phone through the emulator, against a real database.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from core.identity.accounts import ChannelAccount
from core.records.citizen import Citizen
from core.values import CitizenStatus
from sandbox.client import BotMessage, TelegramUser
from tests.telegram_world import TelegramWorld, busiest_resident, resident_of, verify

REFUSAL = "không khớp"  # "These details do not match our records."
LOCKED = "giờ Hà Nội"  # "... try again from 14:05 02/12/2026, Hanoi time, or ... station of your ward."



async def ask_for_contact(user: TelegramUser, personal_id: str, birth: str) -> BotMessage:
    await user.send("/start")
    await user.until(lambda m: "CCCD" in m.text)
    await user.send(personal_id)
    await user.until(lambda m: "ngày/tháng/năm" in m.text)
    await user.send(birth)
    return await user.until(lambda m: m.reply_keyboard is not None or REFUSAL in m.text)


async def linked_citizen(world: TelegramWorld, user: TelegramUser) -> int | None:
    async with world.db.sessions() as session:
        return await session.scalar(select(ChannelAccount.citizen_id).where(
            ChannelAccount.external_id == str(user.user_id)))


async def test_citizen_verifies_and_reads_every_section_of_the_book(any_world: TelegramWorld) -> None:
    world = any_world
    resident = world.resident("with_visits")
    user = world.phone()
    await verify(user, resident)
    assert await linked_citizen(world, user) == resident.citizen_id

    await user.press("📖 Sổ sức khỏe của tôi")
    sections = await user.until(lambda m: "Tiêm chủng" in " ".join(m.labels))
    assert len(sections.labels) == 6  # five sections and the way back to the menu

    await user.press("👤 Thông tin hành chính")
    general = await user.until(lambda m: "Họ và tên" in m.text)
    assert resident.full_name in general.text and resident.personal_id in general.text

    for section, expected in (("💳 Bảo hiểm y tế", "Mã thẻ BHYT"),
                              ("🩺 Tiền sử bệnh và dị ứng", "Dị ứng"),
                              ("💉 Tiêm chủng", "Các mũi tiêm")):
        await user.press("⬅ Các mục của sổ sức khỏe")
        await user.until(lambda m, s=section: s in m.labels)
        await user.press(section)
        shown = await user.until(lambda m, e=expected: e in m.text)
        assert len(shown.text) <= 4096

    await user.press("⬅ Các mục của sổ sức khỏe")
    await user.until(lambda m: "🏥 Lịch sử khám chữa bệnh" in m.labels)
    await user.press("🏥 Lịch sử khám chữa bệnh")
    visits = await user.until(lambda m: any(data.startswith("book.v:") for row in m.buttons
                                            for _l, data in row))
    first_visit = next(label for row in visits.buttons for label, data in row if data.startswith("book.v:"))
    await user.press(first_visit)
    detail = await user.until(lambda m: "Loại khám chữa bệnh" in m.text)
    assert first_visit in detail.text  # the visit's date and place head its details


async def test_visits_are_paged_five_at_a_time_newest_first(world: TelegramWorld) -> None:
    resident, count = await busiest_resident(world)
    assert count > 5, "the seeded city should hold someone with more than five visits"
    user = world.phone()
    await verify(user, resident)
    await user.press("📖 Sổ sức khỏe của tôi")
    await user.until(lambda m: "🏥 Lịch sử khám chữa bệnh" in m.labels)
    await user.press("🏥 Lịch sử khám chữa bệnh")
    page = await user.until(lambda m: "Cũ hơn ▶" in m.labels)
    seen = [label for row in page.buttons for label, data in row if data.startswith("book.v:")]
    assert len(seen) == 5
    while "Cũ hơn ▶" in page.labels:
        await user.press("Cũ hơn ▶")
        page = await user.until(lambda m: m.edited or "◀ Mới hơn" in m.labels)
        seen += [label for row in page.buttons for label, data in row if data.startswith("book.v:")]
    assert len(seen) == count
    dates = [label.split(" · ")[0] for label in seen]
    as_days = [tuple(reversed(d.split("/"))) for d in dates]
    assert as_days == sorted(as_days, reverse=True)  # newest first


async def test_wrong_birth_date_and_unknown_id_get_the_same_refusal(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    user = world.phone()
    wrong_birth = await ask_for_contact(user, resident.personal_id, "01/01/1950")
    assert REFUSAL in wrong_birth.text
    stranger = world.phone()
    unknown = await ask_for_contact(stranger, "001099000001", "01/01/1950")
    assert unknown.text == wrong_birth.text
    assert await linked_citizen(world, user) is None


async def test_someone_elses_contact_does_not_link_the_account(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    user = world.phone()
    asked = await ask_for_contact(user, resident.personal_id, resident.birth_date.display())
    assert asked.reply_keyboard is not None
    # The record's own number, but shared from another person's contact card.
    await user.share_contact(resident.phone.lstrip("+"), user_id=user.user_id + 1)
    answer = await user.until(lambda m: "số của chính bạn" in m.text)
    assert answer is not None
    await user.share_contact("84912345678")  # the person's own, but not the record's number
    await user.until(lambda m: REFUSAL in m.text)
    assert await linked_citizen(world, user) is None


async def test_the_stop_button_beside_the_phone_button_ends_verification(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    user = world.phone()
    asked = await ask_for_contact(user, resident.personal_id, resident.birth_date.display())
    assert [b["text"] for row in asked.reply_keyboard for b in row][1] == "✖ Dừng lại"
    await user.send("✖ Dừng lại")
    await user.until(lambda m: "Đã dừng xác thực" in m.text)
    await user.share_contact(resident.phone.lstrip("+"))  # too late: nothing is waiting for it
    await user.until(lambda m: "chưa hiểu" in m.text)
    assert await linked_citizen(world, user) is None


async def test_a_typed_id_in_the_wrong_format_gets_a_specific_answer(world: TelegramWorld) -> None:
    user = world.phone()
    await user.send("/start")
    await user.until(lambda m: "CCCD" in m.text)
    await user.send("12345")
    answer = await user.until(lambda m: "12 chữ số" in m.text)
    assert REFUSAL not in answer.text


async def test_five_failures_lock_verification_for_the_account_and_for_the_id(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    user = world.phone()
    await user.send("/start")
    for attempt in range(5):
        await user.until(lambda m: "CCCD" in m.text)
        await user.send(resident.personal_id)
        await user.until(lambda m: "ngày/tháng/năm" in m.text)
        await user.send(f"0{attempt + 1}/01/1950")
    locked = await user.until(lambda m: LOCKED in m.text)
    assert "trạm y tế" in locked.text.lower()
    # Even the right details are refused now, from this account...
    await user.send("/start")
    again = await user.until(lambda m: LOCKED in m.text)
    assert again is not None
    # ...and for this ID from any other account.
    other = world.phone()
    answer = await ask_for_contact_or_lock(other, resident.personal_id)
    assert LOCKED in answer.text
    assert await linked_citizen(world, other) is None


async def ask_for_contact_or_lock(user: TelegramUser, personal_id: str) -> BotMessage:
    await user.send("/start")
    await user.until(lambda m: "CCCD" in m.text)
    await user.send(personal_id)
    return await user.until(lambda m: LOCKED in m.text or "ngày/tháng/năm" in m.text)


async def test_a_record_without_a_phone_is_sent_to_the_health_station(world: TelegramWorld) -> None:
    resident = world.resident("no_phone")
    user = world.phone()
    await ask_for_contact_or_lock(user, resident.personal_id)
    await user.send(resident.birth_date.display())
    answer = await user.until(lambda m: "trạm y tế" in m.text.lower())
    assert "số điện thoại" in answer.text and answer.reply_keyboard is None


async def test_a_deceased_persons_record_is_not_opened(world: TelegramWorld) -> None:
    resident = world.resident("older")
    async with world.db.transaction() as session:
        await session.execute(update(Citizen).where(Citizen.id == resident.citizen_id)
                              .values(status=CitizenStatus.DECEASED))
    user = world.phone()
    await ask_for_contact_or_lock(user, resident.personal_id)
    await user.send(resident.birth_date.display())
    answer = await user.until(lambda m: "đã mất" in m.text)
    assert answer.reply_keyboard is None


async def test_verification_continues_after_the_bot_restarts(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    user = world.phone()
    await user.send("/start")
    await user.until(lambda m: "CCCD" in m.text)
    await user.send(resident.personal_id)
    await user.until(lambda m: "ngày/tháng/năm" in m.text)
    await world.restart_bot()
    await user.send(resident.birth_date.display())
    await user.until(lambda m: m.reply_keyboard is not None)
    await user.share_contact(resident.phone.lstrip("+"))
    await user.until(lambda m: "Sổ sức khỏe" in " ".join(m.labels))
    assert await linked_citizen(world, user) == resident.citizen_id


async def test_an_old_button_after_a_restart_gets_a_helpful_answer(world: TelegramWorld) -> None:
    user = world.phone()
    await user.send("/start")
    prompt = await user.until(lambda m: any(d.split("~")[0] == "verify.x"
                                            for row in m.buttons for _l, d in row))
    await user.send("/cancel")
    await user.until(lambda m: "Bạn muốn làm gì" in m.text)
    await world.restart_bot()
    await user.press("verify.x", message=prompt)
    answer = await user.until(lambda m: "không còn dùng được" in m.text)
    assert "🔐 Xác thực danh tính" in answer.labels
    # Said once, in the message: no toast saying it again.
    assert not any("không còn dùng được" in (a.get("text") or "") for a in user.callback_answers)


async def test_unknown_text_gets_the_menu(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    user = world.phone()
    await verify(user, resident)
    await user.send("xin chào, tôi muốn xem thuốc")
    answer = await user.until(lambda m: "chưa hiểu" in m.text)
    assert "📖 Sổ sức khỏe của tôi" in answer.labels


async def test_language_switch_is_remembered_across_restarts(world: TelegramWorld) -> None:
    user = world.phone()
    await user.send("/lang")
    await user.until(lambda m: "English" in m.labels)
    await user.press("English")
    answer = await user.until(lambda m: "English" in m.text)
    assert "🔐 Verify my identity" in answer.labels
    await world.restart_bot()
    await user.send("/help")
    helped = await user.until(lambda m: "/verify" in m.text)
    assert "/verify: Verify my identity" in helped.text and "Decree 13/2023" in helped.text
    await user.send("/lang")
    await user.until(lambda m: "Tiếng Việt" in m.labels)
    await user.press("Tiếng Việt")
    await user.until(lambda m: "tiếng Việt" in m.text)


async def test_logout_unlinks_and_the_book_is_no_longer_shown(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    user = world.phone()
    await verify(user, resident)
    await user.send("/logout")
    await user.until(lambda m: any(d.split("~")[0] == "logout.y" for row in m.buttons for _l, d in row))
    await user.press("logout.y")
    await user.until(lambda m: "đăng xuất" in m.text.lower())
    assert await linked_citizen(world, user) is None
    await user.send("/book")
    answer = await user.until(lambda m: "xác thực" in m.text.lower())
    assert resident.personal_id not in answer.text


async def test_one_citizen_is_linked_to_one_telegram_account(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    old_phone, new_phone = world.phone(), world.phone()
    await verify(old_phone, resident)
    await verify(new_phone, resident)
    assert await linked_citizen(world, new_phone) == resident.citizen_id
    assert await linked_citizen(world, old_phone) is None


async def test_the_bot_refuses_group_chats_and_leaves(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    group = {"id": -100123, "type": "group", "title": "Gia đình"}
    member = {"id": 500_123_456, "is_bot": False, "first_name": "Hoa"}
    await world.session.post(f"{world.base_url}/sandbox/api/updates", json={"message": {
        "message_id": 1, "date": 1_790_000_000, "chat": group, "from": member,
        "text": resident.personal_id}})
    for _ in range(100):
        chat = await (await world.session.get(f"{world.base_url}/sandbox/api/chats/-100123")).json()
        if chat.get("messages"):
            break
        await asyncio.sleep(0.05)
    said = " ".join(m.get("text", "") for m in chat["messages"])
    assert "riêng" in said  # only in a private chat
    assert resident.full_name not in said and "Sổ sức khỏe" not in said


async def test_a_long_section_arrives_whole_in_several_messages(world: TelegramWorld) -> None:
    from sqlalchemy import func

    from core.records.immunization import Immunization

    async with world.db.sessions() as session:
        citizen_id, doses = (await session.execute(
            select(Immunization.citizen_id, func.count()).group_by(Immunization.citizen_id)
            .order_by(func.count().desc()).limit(1))).one()
    resident = await resident_of(world, citizen_id)
    user = world.phone()
    await verify(user, resident)
    await user.send("/book")
    await user.until(lambda m: "💉 Tiêm chủng" in m.labels)
    before = len(user.transcript)
    await user.press("💉 Tiêm chủng")
    await user.until(lambda m: "⬅ Các mục của sổ sức khỏe" in m.labels)
    parts = user.transcript[before:]
    text = "\n".join(m.text for m in parts)
    if doses * 200 > 4096:  # about 200 characters a dose: more than one message's worth
        assert len(parts) >= 2
    assert all(len(m.text) <= 4096 for m in parts)
    assert text.count("• ") == doses  # every dose is there, none cut off


async def test_quick_taps_are_answered_in_the_order_they_were_made(world: TelegramWorld) -> None:
    user = world.phone()
    for command in ("/help", "/lang", "/cancel", "/help", "/lang"):
        await user.send(command)  # without waiting for the answers
    answers = await user.replies(6)  # help, lang, cancel (two messages), help, lang
    kinds = []
    for message in answers:
        if "/xacthuc" in message.text:  # help, in Vietnamese: the commands' Vietnamese names
            kinds.append("help")
        elif "English" in message.labels:
            kinds.append("lang")
        elif "Hiện không có việc gì để dừng" in message.text:
            kinds.append("cancel")
    assert kinds == ["help", "lang", "cancel", "help", "lang"]


async def test_a_self_declared_value_is_marked_in_the_book(world: TelegramWorld) -> None:
    from core.records.provenance import Source
    from tests.records import provenance

    resident = world.resident("with_visits")
    declared = await provenance(world.db, Source.SELF_DECLARED)
    async with world.db.transaction() as session:
        await session.execute(update(Citizen).where(Citizen.id == resident.citizen_id)
                              .values(occupation="Thợ may", occupation_prov=declared))
    user = world.phone()
    await verify(user, resident)
    await user.send("/book")
    await user.until(lambda m: "👤 Thông tin hành chính" in m.labels)
    await user.press("👤 Thông tin hành chính")
    general = await user.until(lambda m: "Họ và tên" in m.text)
    assert "Nghề nghiệp: Thợ may (Tự khai báo)" in general.text
    assert "Họ và tên: " + resident.full_name + "\n" in general.text  # official: no mark


async def test_a_resident_who_moved_away_is_told_the_book_is_no_longer_updated(
        world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    async with world.db.transaction() as session:
        await session.execute(update(Citizen).where(Citizen.id == resident.citizen_id)
                              .values(status=CitizenStatus.MOVED_AWAY))
    user = world.phone()
    await verify(user, resident)
    notice = next(m for m in user.transcript if "chuyển khỏi Hà Nội" in m.text)
    assert notice is not None
    assert await linked_citizen(world, user) == resident.citizen_id
