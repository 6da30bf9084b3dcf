"""A citizen fills in missing details with /update: found by typing, chosen, saved as self-declared."""

from __future__ import annotations

from sqlalchemy import select, update

from core.records.citizen import Citizen
from core.records.provenance import Provenance, Source
from core.values import BloodGroup
from tests.telegram_world import TelegramWorld, verify

GAPS = dict(ethnicity_code=None, ward_code=None, occupation=None, blood_group=None, email=None,
            ethnicity_code_prov=None, ward_code_prov=None, occupation_prov=None, blood_group_prov=None,
            email_prov=None, emergency_contact_name=None, emergency_contact_name_prov=None)



async def test_citizen_completes_details_skips_one_and_resumes_later(any_world: TelegramWorld) -> None:
    world = any_world
    resident = world.resident("with_visits")
    async with world.db.transaction() as session:
        await session.execute(update(Citizen).where(Citizen.id == resident.citizen_id).values(**GAPS))
    user = world.phone()
    await verify(user, resident)

    await user.send("/update")
    intro = await user.until(lambda m: "còn thiếu" in m.text)
    assert "dân tộc" in intro.text and "nhóm máu" in intro.text
    await user.until(lambda m: "Dân tộc của bạn" in m.text)
    await user.send("muong")  # no diacritics: still found, and exactly one group: taken at once
    await user.until(lambda m: "Đã lưu: Mường (tự khai báo)" in m.text)

    await user.until(lambda m: "Xã/phường" in m.text)
    await user.send("hoan kiem")
    await user.until(lambda m: "Đã lưu: Phường Hoàn Kiếm" in m.text)

    await user.until(lambda m: "Nghề nghiệp của bạn" in m.text)
    await user.press("⏭ Bỏ qua mục này")
    await user.until(lambda m: "O Rh+" in m.labels)
    await user.press("O Rh+")
    await user.until(lambda m: "Đã lưu: O Rh+" in m.text)

    # The emergency contact: three answers, a wrong phone format told exactly what is wrong.
    await user.until(lambda m: "khi khẩn cấp" in m.text)
    await user.send("Nguyễn Văn An")
    await user.until(lambda m: "Nguyễn Văn An là gì của bạn" in m.text)
    await user.press("Con")
    await user.until(lambda m: "Số điện thoại di động của Nguyễn Văn An" in m.text)
    await user.send("024 3826 1234")  # a Hanoi landline, not a mobile
    wrong_phone = await user.until(lambda m: "10 chữ số" in m.text)
    assert "Đã lưu" not in wrong_phone.text
    await user.send("0912 345 678")
    await user.until(lambda m: "Đã lưu: Nguyễn Văn An" in m.text)

    await user.until(lambda m: "email" in m.text.lower())
    await user.send("not-an-email")
    wrong = await user.until(lambda m: "ten@example.com" in m.text)
    assert "Đã lưu" not in wrong.text
    await user.press("✖ Dừng tại đây")
    await user.until(lambda m: "/capnhat" in m.text and "Đã dừng" in m.text)

    # Later: what was skipped or left comes back; what was saved does not.
    await user.send("/update")
    again = await user.until(lambda m: "còn thiếu" in m.text)
    assert "nghề nghiệp" in again.text and "email" in again.text
    assert "dân tộc" not in again.text and "nhóm máu" not in again.text
    await user.until(lambda m: "Nghề nghiệp của bạn" in m.text)
    await user.send("Giáo viên")
    await user.until(lambda m: "Đã lưu: Giáo viên" in m.text)

    async with world.db.sessions() as session:
        citizen = await session.get(Citizen, resident.citizen_id)
        source = await session.scalar(select(Provenance.source).where(
            Provenance.id == citizen.ethnicity_code_prov))
    assert (citizen.ethnicity_code, citizen.ward_code, citizen.blood_group.code(), citizen.occupation) == \
        ("06", "00070", "O+", "Giáo viên")
    assert source is Source.SELF_DECLARED

    await user.send("/book")
    await user.until(lambda m: "👤 Thông tin hành chính" in m.labels)
    await user.press("👤 Thông tin hành chính")
    general = await user.until(lambda m: "Dân tộc" in m.text)
    assert "Dân tộc: Mường (Tự khai báo)" in general.text
    assert "Người liên hệ khi khẩn cấp: Nguyễn Văn An (con), 0912 345 678 (Tự khai báo)" in general.text


async def test_nonsense_for_ethnicity_gets_a_helpful_answer_and_an_old_button_is_stale(
        world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    async with world.db.transaction() as session:
        await session.execute(update(Citizen).where(Citizen.id == resident.citizen_id).values(**GAPS))
    user = world.phone()
    await verify(user, resident)
    await user.send("/update")
    await user.until(lambda m: "Dân tộc của bạn" in m.text)
    await user.send("xyzxyz")
    nothing = await user.until(lambda m: "Không tìm thấy" in m.text)
    await user.send("tay")
    await user.until(lambda m: "Đã lưu: Tày" in m.text)
    await user.until(lambda m: "Xã/phường" in m.text)
    # The ethnicity question's own Skip, still on screen, must not skip the ward question.
    await user.press("⏭ Bỏ qua mục này", message=nothing)
    await user.until(lambda m: "không còn dùng được" in m.text)
    await user.send("hoan kiem")
    await user.until(lambda m: "Đã lưu: Phường Hoàn Kiếm" in m.text)
    async with world.db.sessions() as session:
        citizen = await session.get(Citizen, resident.citizen_id)
    assert citizen.ethnicity_code == "02"


async def test_an_address_typed_with_a_bidi_override_is_saved_without_it(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    async with world.db.transaction() as session:
        await session.execute(update(Citizen).where(Citizen.id == resident.citizen_id).values(
            street_address=None, street_address_prov=None, occupation=None, occupation_prov=None,
            emergency_contact_name=None, emergency_contact_name_prov=None,
            blood_group=BloodGroup("O", "+")))  # not asked: the typed answers come one after another
    user = world.phone()
    await verify(user, resident)
    await user.send("/update")
    await user.until(lambda m: "Địa chỉ của bạn" in m.text)
    # A right-to-left override shows the rest reversed; a zero-width space hides in "Hàng Bạc".
    await user.send("\u202eSố 12 Hàng\u200b Bạc\u202c")
    saved = await user.until(lambda m: "Đã lưu" in m.text)
    assert "Đã lưu: Số 12 Hàng Bạc (tự khai báo)" in saved.text
    await user.until(lambda m: "Nghề nghiệp của bạn" in m.text)
    await user.send("Giáo\u00ad viên\x00")  # a soft hyphen and a NUL (PostgreSQL refuses NUL in text)
    await user.until(lambda m: "Đã lưu: Giáo viên (tự khai báo)" in m.text)
    await user.until(lambda m: "khi khẩn cấp" in m.text)
    await user.send("Nguyễn\u200d Văn An")
    await user.until(lambda m: "Nguyễn Văn An là gì của bạn" in m.text)
    await user.press("✏️ Khác")  # a relation of their own words, typed
    await user.until(lambda m: "Nhập quan hệ với Nguyễn Văn An" in m.text)
    await user.send("con\u2066 trai\u2069")
    await user.until(lambda m: "Số điện thoại di động của Nguyễn Văn An" in m.text)
    await user.send("\u202a0912 345 678\u202c")  # as a phone's contacts app copies it
    await user.until(lambda m: "Đã lưu: Nguyễn Văn An" in m.text)

    async with world.db.sessions() as session:
        citizen = await session.get(Citizen, resident.citizen_id)
    assert (citizen.street_address, citizen.occupation, citizen.emergency_contact_name,
            citizen.emergency_contact_relation, citizen.emergency_contact_phone) == (
        "Số 12 Hàng Bạc", "Giáo viên", "Nguyễn Văn An", "con trai", "+84912345678")
