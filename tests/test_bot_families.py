"""A family through the real bot and the Bot API emulator: a parent opens their child's book with
one tap, shows the child's QR code, and the desk's card says who presents it."""

from __future__ import annotations

from sqlalchemy import select

from core.consent.records import AccessEvent
from tests.telegram_world import TelegramWorld, open_card, receptionist, verify
from tests.test_bot_checkin import show_qr


async def test_parent_shows_childs_qr_and_receptionist_sees_guardian(any_world: TelegramWorld) -> None:
    world = any_world
    parent, child = world.resident("parent"), world.resident("child")
    phone = world.phone()
    await verify(phone, parent)

    await phone.send("/menu")
    given = child.full_name.split()[-1]
    menu = await phone.until(lambda m: any(label.startswith(f"🧒 {given},") for label in m.labels))
    label = next(label for label in menu.labels if label.startswith(f"🧒 {given},"))
    await phone.press(label, menu)
    await phone.until(lambda m: f"Đang mở sổ của {child.full_name}" in m.text)

    payload, _spoken, shown = await show_qr(phone)
    assert f"📂 Sổ của {child.full_name}" in shown.text
    assert f"bạn xác nhận {given} đồng ý" in shown.text  # a child of 7 or more agrees too

    desk, facility_name = await receptionist(world)
    card = await open_card(desk, payload)
    assert f"Thẻ tiếp đón: {child.full_name}" in card.text
    assert f"Người đưa mã: {parent.full_name}, người giám hộ; trẻ đã đồng ý." in card.text
    assert parent.personal_id not in card.text
    # The guardian hears of the check-in (the child has no account of their own to tell).
    told = await phone.until(lambda m: "đã xem sổ sức khỏe" in m.text)
    assert facility_name in told.text

    async with world.db.sessions() as session:
        events = (await session.execute(select(AccessEvent.reader_role, AccessEvent.via)
                                        .where(AccessEvent.citizen_id == child.citizen_id))).all()
    assert sorted(events) == [("receptionist", "qr")]
