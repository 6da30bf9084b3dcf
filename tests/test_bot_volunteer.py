"""A ward volunteer helps residents complete their details, and never sees clinical data."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import pytest
from sqlalchemy import select, update

from core.config import PROJECT_ROOT
from core.consent.access import read_own_book
from core.identity import accounts
from core.records.citizen import Citizen
from core.records.display_rules import BookGroup
from core.records.provenance import Provenance, Source
from core.staff import service as staff_service
from core.staff.model import StaffRole
from core.volunteering.pending import pending_values, propose
from sandbox.client import BotMessage, TelegramUser
from tests.telegram_world import TelegramWorld, verify

GAPS = dict(ethnicity_code=None, ethnicity_code_prov=None, blood_group=None, blood_group_prov=None)



async def volunteer(world: TelegramWorld, ward: str) -> TelegramUser:
    invite = await staff_service.invite(world.db, StaffRole.VOLUNTEER, ward_code=ward, name="Đoàn viên")
    phone = world.phone(first_name="Minh")
    await phone.send(f"/start staff_{invite.code}")
    await phone.until(lambda m: "tình nguyện viên" in m.text)
    return phone


async def resident_with_gaps(world: TelegramWorld, kind: str = "with_visits") -> tuple[object, str]:
    resident = world.resident(kind)
    async with world.db.transaction() as session:
        await session.execute(update(Citizen).where(Citizen.id == resident.citizen_id).values(**GAPS))
        ward = await session.scalar(select(Citizen.ward_code).where(Citizen.id == resident.citizen_id))
    return resident, ward


async def look_up(helper: TelegramUser, personal_id: str, birth: str) -> BotMessage:
    await helper.send("/assist")
    await helper.until(lambda m: "12 chữ số" in m.text)
    await helper.send(personal_id)
    await helper.until(lambda m: "ngày sinh của người dân" in m.text)
    await helper.send(birth)
    return await helper.until(lambda m: "còn thiếu" in m.text or "Không có người dân" in m.text
                              or "tạm dừng" in m.text or "tra cứu nhiều" in m.text)


async def enter_ethnicity_and_stop(helper: TelegramUser, typed: str, choice: str) -> None:
    """The volunteer, asked the resident's ethnicity, types its name (taken at once: exactly one
    group is named so) and stops."""
    await helper.until(lambda m: "Dân tộc của " in m.text)
    await helper.send(typed)
    await helper.until(lambda m: f"Đã ghi nhận: {choice}" in m.text)
    await helper.until(lambda m: "O Rh+" in m.labels)
    await helper.press("✖ Dừng tại đây")
    await helper.until(lambda m: "Đã xong" in m.text)


async def test_entries_reach_the_resident_as_a_prompt_and_land_only_after_confirming(
        any_world: TelegramWorld) -> None:
    world = any_world
    resident, ward = await resident_with_gaps(world)
    citizen = world.phone()
    await verify(citizen, resident)
    helper = await volunteer(world, ward)
    found = await look_up(helper, resident.personal_id, resident.birth_date.display())
    assert "còn thiếu: dân tộc" in found.text
    assert resident.full_name not in found.text  # a shortened name only
    await helper.until(lambda m: "Dân tộc của " in m.text and "của bạn" not in m.text)
    await helper.send("kin")
    await helper.until(lambda m: "Kinh" in m.labels)
    await helper.press("Kinh")
    await helper.until(lambda m: "Đã ghi nhận: Kinh" in m.text)
    await helper.until(lambda m: "O Rh+" in m.labels)
    await helper.press("O Rh+")
    await helper.until(lambda m: "Đã ghi nhận: O Rh+" in m.text)
    await helper.press("✖ Dừng tại đây")
    await helper.until(lambda m: "Đã xong" in m.text)

    prompt = await citizen.until(lambda m: "Tình nguyện viên đã cùng bạn" in m.text)
    assert "Kinh" in prompt.text and "O Rh+" in prompt.text
    async with world.db.sessions() as session:
        before = await session.get(Citizen, resident.citizen_id)
    assert before.ethnicity_code is None  # nothing lands before the resident says yes
    await citizen.press("✅ Đúng, lưu lại")
    await citizen.until(lambda m: "Đã lưu" in m.text)
    async with world.db.sessions() as session:
        after = await session.get(Citizen, resident.citizen_id)
        source = await session.scalar(
            select(Provenance.source).where(Provenance.id == after.ethnicity_code_prov))
    assert (after.ethnicity_code, after.blood_group.code()) == ("01", "O+")
    assert source is Source.VOLUNTEER_ASSISTED
    await citizen.send("/access")
    log = await citizen.until(lambda m: "Lịch sử truy cập hồ sơ" in m.text)
    assert "Tình nguyện viên" in log.text


async def test_a_volunteer_outside_the_ward_finds_nobody(world: TelegramWorld) -> None:
    resident, ward = await resident_with_gaps(world)
    other_ward = "00070" if ward != "00070" else "00004"
    helper = await volunteer(world, other_ward)
    answer = await look_up(helper, resident.personal_id, resident.birth_date.display())
    assert "Không có người dân" in answer.text


async def test_a_volunteer_never_receives_clinical_data(world: TelegramWorld) -> None:
    resident, ward = await resident_with_gaps(world)
    book = await read_own_book(world.db, resident.citizen_id, locale="vi")
    clinical = {row.value for section in book.sections if section.group is not BookGroup.GENERAL
                for row in [*section.rows, *(r for lst in section.lists for e in lst.entries for r in e.rows)]
                if row.value and len(row.value) > 3}
    clinical |= {entry.title for section in book.sections if section.group is not BookGroup.GENERAL
                 for lst in section.lists for entry in lst.entries}
    assert clinical, "the resident should have insurance or clinical data to leak"
    helper = await volunteer(world, ward)
    await helper.send("/worklist")
    await helper.until(lambda m: "Người dân cần hỗ trợ" in m.text)
    await look_up(helper, resident.personal_id, resident.birth_date.display())
    await enter_ethnicity_and_stop(helper, "kinh", "Kinh")
    received = "\n".join(m.text for m in helper.transcript)
    leaked = sorted(value for value in clinical if value in received)
    assert leaked == []
    assert resident.phone.lstrip("+")[-6:] not in re.sub(r"\D", "", received)  # no phone either


async def test_worklist_shows_shortened_names_most_missing_first(world: TelegramWorld) -> None:
    _resident, ward = await resident_with_gaps(world)
    helper = await volunteer(world, ward)
    await helper.send("/worklist")
    listed = await helper.until(lambda m: "Người dân cần hỗ trợ" in m.text)
    lines = [line for line in listed.text.splitlines() if "sinh năm" in line]
    assert lines
    # `Trần T. B., sinh năm 1961 — thiếu: dân tộc, địa chỉ; cần kiểm tra: số điện thoại`
    counts = [sum(len(part.split(": ", 1)[1].split(", "))
                  for part in line.split(" — ", 1)[1].split("; ")) for line in lines]
    assert counts == sorted(counts, reverse=True)
    assert all(re.match(r"^\S+( \S\.)+, sinh năm \d{4}", line) for line in lines), lines


async def test_lookups_are_rate_limited_and_wrong_pairs_lock(world: TelegramWorld,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    resident, ward = await resident_with_gaps(world)
    helper = await volunteer(world, ward)
    for day in range(1, 6):
        answer = await look_up(helper, resident.personal_id, f"0{day}/01/1901")
    assert "tạm dừng 24 giờ" in answer.text
    right = await look_up(helper, resident.personal_id, resident.birth_date.display())
    assert "tạm dừng" in right.text and "còn thiếu" not in right.text

    monkeypatch.setenv("EHR_VOLUNTEER_LOOKUPS_PER_HOUR", "2")
    busy = await volunteer(world, ward)
    other = world.resident("older")
    for _ in range(2):
        await look_up(busy, other.personal_id, other.birth_date.display())
    limited = await look_up(busy, other.personal_id, other.birth_date.display())
    assert "tra cứu nhiều" in limited.text


async def test_the_health_station_confirms_for_a_resident_without_the_bot(world: TelegramWorld) -> None:
    resident, ward = await resident_with_gaps(world)
    helper = await volunteer(world, ward)
    await look_up(helper, resident.personal_id, resident.birth_date.display())
    await enter_ethnicity_and_stop(helper, "tay", "Tày")

    async def station(*args: str) -> subprocess.CompletedProcess[str]:
        # Off the event loop, so the bot's loop (its outbox, the figures' refresh) keeps running.
        return await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "core", "pending", *args], cwd=PROJECT_ROOT,
            env={"DATABASE_URL": world.db.url, "PATH": "/usr/bin:/bin", "EHR_LANG": "en"},
            capture_output=True, text=True, timeout=60)

    listed = await station("list", "--ward", ward)
    # The detail and its value as the book shows them, the resident by short name, never a row number.
    assert "Ethnicity = Tày" in listed.stdout, listed.stdout + listed.stderr
    assert "ethnicity_code" not in listed.stdout and "citizen" not in listed.stdout
    pending_id = listed.stdout.split()[0].lstrip("#")
    assert (await station("confirm", pending_id)).returncode == 0
    async with world.db.sessions() as session:
        assert (await session.get(Citizen, resident.citizen_id)).ethnicity_code == "02"
    assert (await station("confirm", pending_id)).returncode == 2  # decided once


async def test_yes_confirms_exactly_the_entries_the_resident_was_shown_never_ones_added_later(
        world: TelegramWorld) -> None:
    resident, ward = await resident_with_gaps(world)
    citizen = world.phone()
    await verify(citizen, resident)
    helper = await volunteer(world, ward)
    await look_up(helper, resident.personal_id, resident.birth_date.display())
    await enter_ethnicity_and_stop(helper, "kinh", "Kinh")
    first = await citizen.until(lambda m: "Tình nguyện viên đã cùng bạn" in m.text)
    assert "Kinh" in first.text and "Nhóm máu" not in first.text

    # Before the resident answers, the volunteer adds a blood group the resident never saw.
    found = await look_up(helper, resident.personal_id, resident.birth_date.display())
    assert "Dân tộc" not in found.text  # already waiting for the resident: not asked again
    await helper.until(lambda m: "O Rh+" in m.labels)
    await helper.press("O Rh+")
    await helper.until(lambda m: "O Rh+" in m.text and "Đã ghi nhận" in m.text)
    await helper.until(lambda m: "✖ Dừng tại đây" in m.labels)  # the next question has arrived
    await helper.press("✖ Dừng tại đây")
    await helper.until(lambda m: "Đã xong" in m.text and m.message_id > first.message_id)
    await citizen.until(lambda m: "Tình nguyện viên đã cùng bạn" in m.text and "O Rh+" in m.text)

    await citizen.press("✅ Đúng, lưu lại", message=first)  # "yes" to the first list only
    again = await citizen.until(lambda m: "Danh sách đã thay đổi" in m.text)
    assert "Kinh" in again.text and "O Rh+" in again.text
    async with world.db.sessions() as session:
        untouched = await session.get(Citizen, resident.citizen_id)
    assert (untouched.ethnicity_code, untouched.blood_group) == (None, None)  # nothing saved unseen

    # A quick double tap: one saves; the other is answered "already done" and changes nothing.
    await asyncio.gather(citizen.press("✅ Đúng, lưu lại", message=again),
                         citizen.press("✅ Đúng, lưu lại", message=again))
    await citizen.until(lambda m: "Đã lưu" in m.text)
    answers = [await citizen.callback_answer() for _ in range(3)]  # the first list's, then the two taps'
    assert sum("Đã xử lý rồi" in (a.get("text") or "") for a in answers) == 1, answers
    async with world.db.sessions() as session:
        saved = await session.get(Citizen, resident.citizen_id)
    assert (saved.ethnicity_code, saved.blood_group.code()) == ("01", "O+")


async def test_entries_made_before_the_resident_uses_the_bot_are_offered_when_they_link(
        world: TelegramWorld) -> None:
    resident, ward = await resident_with_gaps(world)
    helper = await volunteer(world, ward)
    await look_up(helper, resident.personal_id, resident.birth_date.display())
    await enter_ethnicity_and_stop(helper, "muong", "Mường")

    citizen = world.phone()
    await verify(citizen, resident)  # the resident first opens the bot only now
    prompt = next(m for m in citizen.transcript if "Tình nguyện viên đã cùng bạn" in m.text)
    assert "Mường" in prompt.text
    await citizen.press("✅ Đúng, lưu lại", message=prompt)
    await citizen.until(lambda m: "Đã lưu" in m.text)
    async with world.db.sessions() as session:
        saved = await session.get(Citizen, resident.citizen_id)
    assert saved.ethnicity_code == "06"  # Mường
    await citizen.send("/update")  # and it is not asked again
    asked = await citizen.until(lambda m: "thiếu" in m.text or "đầy đủ" in m.text)
    assert "Dân tộc" not in asked.text


async def test_a_newer_entry_for_the_same_detail_replaces_the_one_waiting(world: TelegramWorld) -> None:
    resident, _ward = await resident_with_gaps(world)
    staff = await staff_service.invite(world.db, StaffRole.VOLUNTEER, ward_code="00070", name="Minh")
    account = await world.db.write(accounts.open_account, "telegram", "helper-x")
    member = await staff_service.accept(world.db, staff.code, account.id)
    await propose(world.db, member, resident.citizen_id, {"ethnicity_code": "01"})
    await propose(world.db, member, resident.citizen_id, {"ethnicity_code": "06"})
    waiting = await pending_values(world.db, citizen_id=resident.citizen_id)
    assert [(p.field, p.value) for p in waiting] == [("ethnicity_code", "06")]
