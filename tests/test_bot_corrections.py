"""A citizen asks for a correction of an official detail; the health station decides at the command line."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from sqlalchemy import select

from core.config import PROJECT_ROOT
from core.corrections.model import CorrectionRequest
from core.records.citizen import Citizen
from tests.telegram_world import TelegramWorld, verify


async def station(world: TelegramWorld, *args: str) -> subprocess.CompletedProcess[str]:
    # Off the event loop, so the bot's loop (its outbox, the figures' refresh) keeps running.
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "core", "corrections", *args], cwd=PROJECT_ROOT,
        env={"DATABASE_URL": world.db.url, "PATH": "/usr/bin:/bin", "EHR_LANG": "en"},
        capture_output=True, text=True, timeout=60)


async def ask(user, field_label: str, value: str, reason: str) -> None:
    await user.send("/correct")
    await user.until(lambda m: field_label in m.labels)
    await user.press(field_label)
    await user.until(lambda m: "Hồ sơ của bạn đang ghi" in m.text)
    await user.send(value)
    await user.until(lambda m: "Vì sao" in m.text)
    await user.send(reason)
    await user.until(lambda m: "✅ Gửi" in m.labels)
    await user.press("✅ Gửi")
    await user.until(lambda m: "Đã gửi" in m.text)


async def test_an_approved_correction_is_applied_and_the_citizen_is_told(any_world: TelegramWorld) -> None:
    world = any_world
    resident = world.resident("with_visits")
    user = world.phone()
    await verify(user, resident)
    await user.send("/correct")
    await user.until(lambda m: "Ngày sinh" in m.labels)
    await user.press("Ngày sinh")
    await user.until(lambda m: "Nhập" in m.text)
    await user.send("31/02/1980")  # not a real date: told so, nothing filed
    await user.until(lambda m: "31/02/1980" in m.text)
    await user.press("✖ Dừng lại")
    await user.until(lambda m: "Chưa gửi gì" in m.text)

    await ask(user, "Họ và tên", "Đào Đình Sơn Tùng", "Giấy khai sinh ghi tên đệm Sơn")
    listed = await station(world, "list")
    assert listed.returncode == 0 and "Đào Đình Sơn Tùng" in listed.stdout
    request_id = listed.stdout.split()[0].lstrip("#")
    approved = await station(world, "approve", request_id)
    assert approved.returncode == 0, approved.stderr
    told = await user.until(lambda m: "đã duyệt" in m.text, timeout=15)
    assert "Đào Đình Sơn Tùng" in told.text
    async with world.db.sessions() as session:
        citizen = await session.get(Citizen, resident.citizen_id)
    assert citizen.full_name == "Đào Đình Sơn Tùng"
    assert (await station(world, "approve", request_id)).returncode == 2  # decided once only


async def test_a_rejected_correction_tells_the_citizen_why(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    async with world.db.sessions() as session:
        sex_before = (await session.get(Citizen, resident.citizen_id)).sex
    user = world.phone()
    await verify(user, resident)
    await ask(user, "Giới tính", "Nữ", "Nhầm khi nhập")
    request_id = (await station(world, "list")).stdout.split()[0].lstrip("#")
    rejected = await station(world, "reject", request_id, "--reason", "Căn cước ghi Nam")
    assert rejected.returncode == 0, rejected.stderr
    told = await user.until(lambda m: "chưa duyệt" in m.text, timeout=15)
    assert "Căn cước ghi Nam" in told.text
    async with world.db.sessions() as session:
        citizen = await session.get(Citizen, resident.citizen_id)
    assert citizen.sex == sex_before
    assert (await station(world, "list")).stdout.strip().startswith("No correction requests")


async def test_a_correction_reason_with_zero_width_characters_is_stored_clean(
        any_world: TelegramWorld) -> None:
    world = any_world
    resident = world.resident("with_visits")
    user = world.phone()
    await verify(user, resident)
    await user.send("/correct")
    await user.until(lambda m: "Họ và tên" in m.labels)
    await user.press("Họ và tên")
    await user.until(lambda m: "Nhập" in m.text)
    await user.send("\u202eTùng Sơn Đình Đào")  # shows reversed: refused, not stored reordered
    refused = await user.until(lambda m: "đổi chiều" in m.text)
    assert "Vì sao" not in refused.text
    await user.send("Đào\u200b Đình Sơn Tùng")
    await user.until(lambda m: "Vì sao" in m.text)
    await user.send("Giấy\u200b khai\u200c sinh\u200d ghi\ufeff tên đệm\u202e Sơn\x1b[31m")
    confirm = await user.until(lambda m: "✅ Gửi" in m.labels)
    assert "Lý do: Giấy khai sinh ghi tên đệm Sơn[31m" in confirm.text
    await user.press("✅ Gửi")
    await user.until(lambda m: "Đã gửi" in m.text)
    listed = await station(world, "list")
    assert "Đào Đình Sơn Tùng (Giấy khai sinh ghi tên đệm Sơn[31m)" in listed.stdout
    async with world.db.sessions() as session:
        stored = (await session.execute(select(CorrectionRequest.proposed_value, CorrectionRequest.reason)
                                        .where(CorrectionRequest.citizen_id == resident.citizen_id))).one()
    assert tuple(stored) == ("Đào Đình Sơn Tùng", "Giấy khai sinh ghi tên đệm Sơn[31m")
