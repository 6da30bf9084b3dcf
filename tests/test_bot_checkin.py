"""At the reception desk: the citizen's QR code, the receptionist's card, consent and the access log.

The QR code is read from the PNG the bot sent with a real decoder (zxing-cpp), and
the decoded deep link is opened by a receptionist's phone, as a camera app would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select, text, update

from core.checkin.tokens import CheckinToken
from core.config import PROJECT_ROOT
from core.consent.grants import set_facility_grant
from core.consent.records import AccessEvent
from core.i18n import today_hanoi
from core.identity.attempts import Outcome, VerificationAttempt
from core.records.display_rules import BookGroup
from core.records.facility import Facility
from core.staff import service as staff_service
from core.staff.model import StaffRole
from core.text import strip_diacritics
from sandbox.client import BotMessage, TelegramUser
from tests.telegram_world import TelegramWorld, busiest_resident, open_card, receptionist, verify

GENERAL, INSURANCE, HISTORY, VISITS = ("Thông tin hành chính", "Bảo hiểm y tế", "Tiền sử bệnh và dị ứng",
                                       "Lịch sử khám chữa bệnh")



async def show_qr(user: TelegramUser) -> tuple[str, str, BotMessage]:
    """The citizen asks for a code; returns the decoded deep-link payload, the spoken code, the message."""
    await user.send("/qr")
    shown = await user.until(lambda m: m.has_photo and not m.edited)  # not an old one, retired
    png = await shown.photo()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(decoded) == 1 and decoded[0].format == zxingcpp.BarcodeFormat.QRCode
    link = urlparse(decoded[0].text)
    assert link.netloc == "t.me"
    payload = parse_qs(link.query)["start"][0]
    spoken = next(line for line in shown.text.splitlines() if "mã này" in line).rsplit(": ", 1)[1]
    return payload, spoken, shown


async def sees_it_replaced(user: TelegramUser, shown: BotMessage) -> None:
    """The earlier QR message's words say the code is gone, its buttons are, and its picture
    is crossed out with nothing left to scan: on the phone's screen, not only in the event."""
    retired = await user.until(lambda m: m.edited and m.message_id == shown.message_id)
    assert retired.text == "Mã này đã được thay bằng mã mới và không còn dùng được."
    assert retired.has_photo and retired.buttons == []
    assert user.current[shown.message_id].text == retired.text
    assert zxingcpp.read_barcodes(Image.open(io.BytesIO(await retired.photo()))) == []


async def test_receptionist_sees_only_consented_groups_and_the_citizen_is_told(
        any_world: TelegramWorld) -> None:
    world = any_world
    resident = world.resident("with_visits")
    citizen = world.phone()
    await verify(citizen, resident)
    desk, facility_name = await receptionist(world)

    payload, _spoken, shown = await show_qr(citizen)
    assert payload.startswith("ci_") and len(payload) <= 64
    assert "Thông tin hành chính, Bảo hiểm y tế" in shown.text  # what the clinic will see, said up front
    card = await open_card(desk, payload)
    assert resident.full_name in card.text and resident.personal_id in card.text
    assert "Mã thẻ BHYT" in card.text
    assert "Dị ứng" not in card.text and "Bệnh chính" not in card.text  # nothing consent-gated yet
    told = await citizen.until(lambda m: "đã xem sổ sức khỏe" in m.text)
    assert facility_name in told.text and "thông tin hành chính, bảo hiểm y tế" in told.text

    # The citizen opens allergies and visits to any clinic; the next check-in shows them.
    await citizen.send("/consent")
    await citizen.until(lambda m: any("Tiền sử bệnh và dị ứng" in label for label in m.labels))
    await citizen.press("consent.t:history:1")
    await citizen.until(lambda m: any(label.startswith("✅") and "Tiền sử bệnh và dị ứng" in label
                                      for label in m.labels))
    await citizen.press("consent.t:visits:1")
    await citizen.until(lambda m: any(label.startswith("✅") and "Lịch sử khám chữa bệnh" in label
                                      for label in m.labels))
    payload, _spoken, _shown = await show_qr(citizen)
    card = await open_card(desk, payload)
    assert f"— {HISTORY} —" in card.text and f"— {VISITS} —" in card.text
    assert "Tiêm chủng —" not in card.text

    # Narrowing consent, then scanning again, shows less at once.
    await citizen.send("/consent")
    await citizen.until(lambda m: any("Tiền sử bệnh và dị ứng" in label for label in m.labels))
    await citizen.press("consent.t:visits:0")
    await citizen.until(lambda m: any(label.startswith("⬜") and "Lịch sử khám chữa bệnh" in label
                                      for label in m.labels))
    payload, _spoken, _shown = await show_qr(citizen)
    card = await open_card(desk, payload)
    assert f"— {HISTORY} —" in card.text and f"— {VISITS} —" not in card.text

    await citizen.send("/access")
    log = await citizen.until(lambda m: "Lịch sử truy cập hồ sơ" in m.text)
    lines = [line for line in log.text.splitlines() if facility_name in line]
    assert len(lines) == 3
    assert "lịch sử khám chữa bệnh" not in lines[0] and "lịch sử khám chữa bệnh" in lines[1]  # newest first


async def test_the_qr_message_names_a_clinic_the_person_gave_more_and_until_when(
        world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    citizen = world.phone()
    await verify(citizen, resident)
    desk, facility_name = await receptionist(world)
    async with world.db.sessions() as session:
        code = (await session.execute(select(Facility.code)
                                      .where(Facility.name == facility_name))).scalar_one()
    until = today_hanoi() + dt.timedelta(days=30)
    # What the consent journey saves when the person gives this hospital their visits for 30 days.
    await set_facility_grant(world.db, resident.citizen_id, code, frozenset({BookGroup.VISITS}), until,
                             channel="telegram")
    _payload, _spoken, shown = await show_qr(citizen)
    assert "Cơ sở y tế sẽ thấy: Thông tin hành chính, Bảo hiểm y tế." in shown.text
    assert f"{facility_name} còn thấy: lịch sử khám chữa bệnh, đến ngày {until:%d/%m/%Y}." in shown.text
    card = await open_card(desk, _payload)
    assert f"— {VISITS} —" in card.text


async def test_someone_who_is_not_reception_staff_is_refused(world: TelegramWorld) -> None:
    citizen = world.phone()
    await verify(citizen, world.resident("with_visits"))
    payload, spoken, _shown = await show_qr(citizen)
    stranger = world.phone()
    refused = await open_card(stranger, payload)
    assert "chỉ nhân viên" in refused.text.lower()
    assert world.resident("with_visits").full_name not in refused.text
    await stranger.send(f"/checkin {spoken}")  # typing codes is reception's work: refused as such
    again = await stranger.until(lambda m: "nhân viên tiếp đón" in m.text.lower())
    assert world.resident("with_visits").personal_id not in again.text


async def test_the_citizen_scanning_their_own_code_is_told_what_the_clinic_will_see(
        world: TelegramWorld) -> None:
    citizen = world.phone()
    await verify(citizen, world.resident("with_visits"))
    payload, _spoken, _shown = await show_qr(citizen)
    own = await open_card(citizen, payload)
    assert "mã khám bệnh của chính bạn" in own.text and "Thông tin hành chính, Bảo hiểm y tế" in own.text


async def test_an_expired_or_replaced_code_reads_to_reception_exactly_like_a_mistyped_one(
        world: TelegramWorld) -> None:
    citizen = world.phone()
    resident = world.resident("with_visits")
    await verify(citizen, resident)
    desk, _facility = await receptionist(world)
    first, first_spoken, _ = await show_qr(citizen)
    second, spoken, _ = await show_qr(citizen)  # a new code replaces the first
    answers = [(await open_card(desk, first)).text]
    await desk.send(f"/checkin {first_spoken}")
    answers.append((await desk.until(lambda m: "không mở được" in m.text)).text)

    await desk.send("/checkin")
    await desk.until(lambda m: "8 chữ số" in m.text)
    await desk.send(spoken)  # typed as the person reads it: "4821 3907"
    card = await desk.until(lambda m: "Thẻ tiếp đón" in m.text)
    assert resident.full_name in card.text

    async with world.db.transaction() as session:  # ten minutes later
        await session.execute(update(CheckinToken).values(expires_at=CheckinToken.created_at))
    answers.append((await open_card(desk, second)).text)
    await desk.send(f"/checkin {spoken}")
    answers.append((await desk.until(lambda m: "không mở được" in m.text)).text)
    await desk.send("/checkin 0000 0000")
    answers.append((await desk.until(lambda m: "không mở được" in m.text)).text)
    # Replaced, expired or never issued: nothing tells reception which, or whose it was.
    assert len(set(answers)) == 1 and resident.full_name not in answers[0]
    # Each of them counted as a lookup that opened nothing.
    async with world.db.sessions() as session:
        counted = await session.scalar(select(func.count()).select_from(VerificationAttempt).where(
            VerificationAttempt.outcome == Outcome.WRONG_CHECKIN_CODE))
    assert counted == 5


async def test_a_citizen_who_taps_new_code_sees_the_old_qr_message_say_it_was_replaced(
        world: TelegramWorld) -> None:
    citizen = world.phone()
    await verify(citizen, world.resident("with_visits"))
    desk, _facility = await receptionist(world)
    old_payload, old_spoken, old = await show_qr(citizen)
    await citizen.press("🔄 Mã mới", old)
    await sees_it_replaced(citizen, old)
    new = await citizen.until(lambda m: m.has_photo and not m.edited)
    assert new.message_id != old.message_id and old_spoken not in new.text
    assert "🔄 Mã mới" in new.labels
    assert "không mở được" in (await open_card(desk, old_payload)).text


async def test_a_citizen_who_types_qr_again_sees_the_earlier_qr_message_say_it_was_replaced(
        any_world: TelegramWorld) -> None:
    world = any_world
    citizen = world.phone()
    await verify(citizen, world.resident("with_visits"))
    desk, _facility = await receptionist(world)
    old_payload, old_spoken, old = await show_qr(citizen)
    await citizen.send("/maqr")  # typed again: a new code, whatever path asked for it
    await sees_it_replaced(citizen, old)
    new = await citizen.until(lambda m: m.has_photo and not m.edited)
    assert new.message_id != old.message_id and old_spoken not in new.text
    assert citizen.current[new.message_id].text == new.text and "🔄 Mã mới" in new.labels
    assert "không mở được" in (await open_card(desk, old_payload)).text
    # The second message is the live one now: the next code retires it, not the first again.
    await citizen.send("/qr")
    await sees_it_replaced(citizen, new)
    await citizen.until(lambda m: m.has_photo and not m.edited)
    assert [m.message_id for m in citizen.transcript if m.edited] == [old.message_id, new.message_id]


async def test_a_revoked_receptionist_can_no_longer_open_cards(world: TelegramWorld) -> None:
    citizen = world.phone()
    await verify(citizen, world.resident("with_visits"))
    desk, _facility = await receptionist(world)
    (member,) = await staff_service.list_staff(world.db)
    assert await staff_service.revoke(world.db, member.id)
    payload, _spoken, _shown = await show_qr(citizen)
    refused = await open_card(desk, payload)
    assert "chỉ nhân viên" in refused.text.lower()


async def test_an_invite_works_once(world: TelegramWorld) -> None:
    async with world.db.sessions() as session:
        code = await session.scalar(select(Facility.code).limit(1))
    invite = await staff_service.invite(world.db, StaffRole.RECEPTIONIST, facility_code=code)
    first, second = world.phone(), world.phone()
    await first.send(f"/start staff_{invite.code}")
    await first.until(lambda m: "nhân viên tiếp đón" in m.text.lower())
    await second.send(f"/start staff_{invite.code}")
    await second.until(lambda m: "không hợp lệ" in m.text)
    assert len(await staff_service.list_staff(world.db)) == 1


async def test_tampering_with_the_access_log_is_caught_by_audit_verify(any_world: TelegramWorld) -> None:
    world = any_world
    citizen = world.phone()
    await verify(citizen, world.resident("with_visits"))
    desk, _facility = await receptionist(world)
    for _ in range(3):
        payload, _spoken, _shown = await show_qr(citizen)
        await open_card(desk, payload)
    await citizen.send("/consent")
    await citizen.until(lambda m: any("Tiền sử bệnh và dị ứng" in label for label in m.labels))
    await citizen.press("consent.t:history:1")
    await citizen.until(lambda m: any(label.startswith("✅") for label in m.labels))

    async def audit() -> subprocess.CompletedProcess[str]:
        # Off the event loop, so the bot's loop (its outbox, the figures' refresh) keeps running.
        return await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "core", "audit", "verify"], cwd=PROJECT_ROOT,
            env={"DATABASE_URL": world.db.url, "PATH": "/usr/bin:/bin", "EHR_LANG": "en"},
            capture_output=True, text=True, timeout=60)

    intact = await audit()
    assert intact.returncode == 0, intact.stderr
    async with world.db.engine.begin() as connection:  # someone hides that the clinic saw visits
        await connection.execute(text("UPDATE access_events SET groups = 'general' WHERE id = 2"))
    changed = await audit()
    assert changed.returncode == 1 and "access_events: row 2 was changed" in changed.stderr
    async with world.db.engine.begin() as connection:
        await connection.execute(text("DELETE FROM access_events WHERE id = 2"))
    deleted = await audit()
    assert "access_events: row 2 was deleted" in deleted.stderr


async def test_guessing_codes_at_reception_is_slowed_down(world: TelegramWorld) -> None:
    citizen = world.phone()
    resident = world.resident("with_visits")
    await verify(citizen, resident)
    desk, _facility = await receptionist(world)
    old_payload, old_spoken, _ = await show_qr(citizen)
    _payload, spoken, _shown = await show_qr(citizen)
    wrong = "0000 0000" if spoken != "0000 0000" else "1111 1111"
    for _ in range(4):  # replaced codes count like any other code that opens nothing
        await desk.send(f"/checkin {old_spoken}")
        await desk.until(lambda m: "không mở được" in m.text)
    await open_card(desk, old_payload)
    for _ in range(5):
        await desk.send(f"/checkin {wrong}")
        await desk.until(lambda m: "không mở được" in m.text)
    await desk.send(f"/checkin {spoken}")  # even the right code waits now
    answer = await desk.until(lambda m: "10 phút" in m.text)
    assert resident.full_name not in answer.text
    await desk.send("/checkin 123")  # a slip of the keyboard is answered, and not counted
    await desk.until(lambda m: "8 chữ số" in m.text)


async def test_desks_of_one_facility_share_one_limit_on_codes_that_open_nothing(
        world: TelegramWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EHR_CHECKIN_WRONG_PER_FACILITY", "6")
    citizen = world.phone()
    resident = world.resident("with_visits")
    await verify(citizen, resident)
    _payload, spoken, _ = await show_qr(citizen)
    wrong = "0000 0000" if spoken != "0000 0000" else "1111 1111"
    desks = [(await receptionist(world, name=f"Quầy {n}"))[0] for n in range(3)]
    for desk in desks[:2]:  # each desk well below its own limit of ten
        for _ in range(3):
            await desk.send(f"/checkin {wrong}")
            await desk.until(lambda m: "không mở được" in m.text)
    await desks[2].send(f"/checkin {spoken}")  # a third desk of the same facility waits too
    paused = await desks[2].until(lambda m: "10 phút" in m.text)
    assert resident.full_name not in paused.text
    async with world.db.sessions() as session:  # a desk of another facility is not held back
        other = await session.scalar(select(Facility.code).order_by(Facility.code.desc()).limit(1))
    invite = await staff_service.invite(world.db, StaffRole.RECEPTIONIST, facility_code=other, name="Hà")
    elsewhere = world.phone(first_name="Hà")
    await elsewhere.send(f"/start staff_{invite.code}")
    await elsewhere.until(lambda m: "nhân viên tiếp đón" in m.text.lower())
    await elsewhere.send(f"/checkin {spoken}")
    card = await elsewhere.until(lambda m: "Thẻ tiếp đón" in m.text)
    assert resident.full_name in card.text


async def test_a_grant_to_one_facility_shows_more_there_only_until_withdrawn(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    citizen = world.phone()
    await verify(citizen, resident)
    async with world.db.sessions() as session:
        found = await session.execute(select(Facility.code, Facility.name).order_by(Facility.code)
                                      .limit(2))
        codes, names = zip(*found.all(), strict=True)
    desks = []
    for code in codes:
        invite = await staff_service.invite(world.db, StaffRole.RECEPTIONIST, facility_code=code)
        desk = world.phone()
        await desk.send(f"/start staff_{invite.code}")
        await desk.until(lambda m: "nhân viên tiếp đón" in m.text.lower())
        desks.append(desk)
    granted_desk, other_desk = desks

    await citizen.send("/consent")
    await citizen.until(lambda m: "consent.f" in [d.split("~")[0] for row in m.buttons for _l, d in row])
    await citizen.press("consent.f")
    await citizen.until(lambda m: "một phần tên" in m.text)
    await citizen.send("zzqq")  # no clinic by that name: a specific answer, nothing saved
    await citizen.until(lambda m: "Không tìm thấy" in m.text)
    await citizen.send(strip_diacritics(names[0]).lower())  # typed without accents
    await citizen.until(lambda m: names[0] in m.labels)
    await citizen.press(names[0])
    await citizen.until(lambda m: any("Tiền sử bệnh và dị ứng" in label for label in m.labels))
    await citizen.press(f"consent.g:{codes[0]}:history")
    await citizen.until(lambda m: any(d.split("~")[0] == f"consent.d:{codes[0]}:history:7"
                                      for row in m.buttons for _l, d in row))
    await citizen.press(f"consent.d:{codes[0]}:history:7")
    saved = await citizen.until(lambda m: "Đã lưu" in m.text)
    assert "được xem thêm đến hết" in saved.text

    for desk, sees_history in ((granted_desk, True), (other_desk, False)):
        payload, _spoken, _shown = await show_qr(citizen)
        card = await open_card(desk, payload)
        assert (f"— {HISTORY} —" in card.text) is sees_history

    await citizen.send("/consent")
    await citizen.until(lambda m: f"consent.w:{codes[0]}" in [d.split("~")[0] for row in m.buttons
                                                                for _l, d in row])
    await citizen.press(f"consent.w:{codes[0]}")
    await citizen.until(lambda m: "Đã rút lại" in m.text)
    payload, _spoken, _shown = await show_qr(citizen)
    card = await open_card(granted_desk, payload)
    assert f"— {HISTORY} —" not in card.text  # withdrawal takes effect at once

    await citizen.send("/consent")
    await citizen.until(lambda m: "consent.h" in [d.split("~")[0] for row in m.buttons for _l, d in row])
    await citizen.press("consent.h")
    history = await citizen.until(lambda m: "Lịch sử lựa chọn" in m.text)
    assert history.text.count("được xem") == 2  # the grant, then its withdrawal


async def test_reception_staff_opening_the_bot_see_their_own_work_not_verification(
        world: TelegramWorld) -> None:
    desk, facility_name = await receptionist(world)
    await desk.send("/start")
    home = await desk.until(lambda m: "nhân viên tiếp đón" in m.text.lower())
    assert facility_name in home.text and "⌨ Nhập mã" in home.labels
    assert "CCCD" not in home.text


async def test_reception_reads_the_busiest_card_on_one_screen_and_opens_a_visit_below_it(
        world: TelegramWorld) -> None:
    """The common card (the seeded resident with the most visits, sharing history and visits) is
    one message of about one phone screen: ID, birth date, sex, phone, address, guardian and
    emergency contact; the insurance card, its benefit, end date and registered facility;
    allergies first, blood group, illnesses; how many visits and the newest three, one line
    each. A visit opens below it, on request, logged; the card stays as it was."""
    resident, count = await busiest_resident(world)
    citizen = world.phone()
    await verify(citizen, resident)
    for group in ("history", "visits"):
        await citizen.send("/consent")
        await citizen.until(lambda m: any("Tiền sử bệnh và dị ứng" in label for label in m.labels))
        await citizen.press(f"consent.t:{group}:1")
        await citizen.until(lambda m: any(label.startswith("✅") for label in m.labels))
    desk, _facility = await receptionist(world)
    payload, _spoken, _shown = await show_qr(citizen)
    before = len(desk.transcript)
    card = await open_card(desk, payload)
    await desk.send("/help")  # whatever follows the card comes after it: the card was one message
    await desk.until(lambda m: "/tiepdon" in m.text and m.message_id > card.message_id)
    assert [m.message_id for m in desk.transcript[before:-1]] == [card.message_id]
    lines = card.text.splitlines()
    assert len(card.text) < 1200 and len(lines) <= 30, card.text  # about one screen at 390×844
    assert card.text.count(resident.full_name) == 1 and "Họ và tên" not in card.text
    assert resident.personal_id in card.text and "Mã thẻ BHYT" in card.text
    history = lines.index(f"— {HISTORY} —")
    assert lines[history + 1].startswith("Dị ứng: ")  # allergies first: they matter at the desk
    assert f"Số lần khám: {count}. 3 lần gần nhất:" in card.text
    visits = [line for line in lines if line.startswith("• ")]
    assert len(visits) == 3 and all(" — " in line for line in visits)  # date · place — diagnosis
    assert "Thuốc đã dùng" not in card.text and f"📋 Xem cả {count} lần khám" in card.labels

    async with world.db.sessions() as session:
        reads = await session.scalar(select(func.count()).select_from(AccessEvent))
    await desk.press(card.buttons[0][0][1], card)
    visit = await desk.until(lambda m: "lần khám" in m.text and "Bệnh chính" in m.text)
    assert visit.message_id != card.message_id and desk.current[card.message_id].text == card.text
    async with world.db.sessions() as session:
        logged = (await session.execute(select(AccessEvent.via, AccessEvent.groups)
                                        .order_by(AccessEvent.id.desc()))).first()
        assert await session.scalar(select(func.count()).select_from(AccessEvent)) == reads + 1
    assert logged is not None and logged.via == "card" and "visits" in logged.groups

    async with world.db.transaction() as session:  # the code has expired: the card opens no more
        await session.execute(update(CheckinToken).values(expires_at=CheckinToken.created_at))
    await desk.press(card.buttons[1][0][1], card)
    closed = await desk.until(lambda m: "Thẻ này đã đóng" in m.text)
    assert "Bệnh chính" not in closed.text and desk.current[card.message_id].text == card.text
    async with world.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AccessEvent)) == reads + 1


async def test_typing_a_code_keeps_the_open_card_and_the_prompt_has_a_way_back(
        world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    citizen = world.phone()
    await verify(citizen, resident)
    desk, _facility = await receptionist(world)
    payload, _spoken, _shown = await show_qr(citizen)
    card = await open_card(desk, payload)
    await desk.press("⌨ Nhập mã", card)
    prompt = await desk.until(lambda m: "8 chữ số" in m.text)
    assert prompt.message_id != card.message_id and "✖ Dừng lại" in prompt.labels
    assert desk.current[card.message_id].text == card.text  # the card is still on the screen
    await desk.press("✖ Dừng lại", prompt)
    await desk.until(lambda m: "Đã dừng" in m.text and "⌨ Nhập mã" in m.labels)
    assert desk.current[card.message_id].text == card.text
