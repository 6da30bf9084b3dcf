"""A small Telegram world for end-to-end tests: the Bot API emulator on a real port,
the real python-telegram-bot `Application` polling it over HTTP, and a seeded database.

Nothing of ours is stubbed: the test plays the people's phones through the emulator's
user API (`sandbox.client.TelegramUser`), exactly as the chat page does.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select
from telegram.ext import Application

from bot.config import BotSettings, UssdSettings
from bot.handlers.application import build_application
from bot.run import start_polling, stop_polling
from bot.ussd.gateway import USSD_PATH, UssdGateway, add_ussd_route
from bot.ussd.gsm import is_gsm7, septets
from bot.ussd.screens import SCREEN_LIMIT
from core.config import Settings
from core.db import Database
from core.records.citizen import Citizen
from core.records.facility import Facility
from core.records.visit import Visit
from core.seed import generate_city
from core.seed.demo import DemoResident, demo_residents
from core.seed.store import seed_database
from core.staff import service as staff_service
from core.staff.model import StaffRole
from sandbox.client import BotMessage, TelegramUser
from sandbox.emulator import BotApiEmulator
from sandbox.ussd_operator import FeaturePhone, Screen, UssdOperator
from tests.conftest import _run, _truncate

TOKEN = "123456789:TEST-emulated-token"
USSD_SECRET = "test-gateway-secret-0123456789"
AS_OF = dt.date(2026, 11, 1)
PEOPLE = 150
_user_ids = itertools.count(500_000_001)


class CheckedOperator(UssdOperator):
    """The operator's gateway, checking every screen the suite is shown: GSM-7, 182 at most."""

    async def call(self, form: dict[str, str], secret: str | None = None) -> Screen:
        screen = await super().call(form, secret)
        if screen.status == 200:
            assert screen.kind in ("CON", "END"), screen
            assert is_gsm7(screen.text), screen.text
            assert septets(screen.text) <= SCREEN_LIMIT, f"{septets(screen.text)} septets:\n{screen.text}"
        return screen


@dataclass
class TelegramWorld:
    db: Database
    emulator: BotApiEmulator
    base_url: str
    residents: list[DemoResident]
    session: aiohttp.ClientSession
    gateway: UssdGateway
    application: Application | None = None
    users: list[TelegramUser] = field(default_factory=list)

    @property
    def ussd(self) -> CheckedOperator:
        return CheckedOperator(f"{self.base_url}{USSD_PATH}", USSD_SECRET, self.session)

    def feature_phone(self, resident_or_number: DemoResident | str) -> FeaturePhone:
        number = resident_or_number if isinstance(resident_or_number, str) else resident_or_number.phone
        assert number is not None
        return FeaturePhone(self.ussd, number)

    @property
    def settings(self) -> BotSettings:
        return BotSettings(Settings.from_env({}), TOKEN, f"{self.base_url}/bot", None, None)

    async def start_bot(self) -> None:
        self.application = build_application(self.settings, self.db)
        await start_polling(self.application)

    async def stop_bot(self) -> None:
        if self.application is not None:
            await stop_polling(self.application)
            self.application = None

    async def restart_bot(self) -> None:
        """A new process would do the same: a fresh Application, the same database."""
        await self.stop_bot()
        await self.start_bot()

    def phone(self, user_id: int | None = None, *, first_name: str = "Lan") -> TelegramUser:
        user = TelegramUser(self.base_url, user_id or next(_user_ids), first_name=first_name,
                            language_code="vi", session=self.session)
        self.users.append(user)
        return user

    def resident(self, kind: str = "with_visits") -> DemoResident:
        return next(r for r in self.residents if r.kind == kind)


async def verify(user: TelegramUser, resident: DemoResident) -> None:
    """The whole verification, as a person does it."""
    assert resident.phone is not None
    await user.send("/start")
    await user.until(lambda m: "12" in m.text and "CCCD" in m.text)
    await user.send(resident.personal_id)
    await user.until(lambda m: "ngày/tháng/năm" in m.text)
    await user.send(resident.birth_date.display())
    await user.until(lambda m: m.reply_keyboard is not None)
    await user.share_contact(resident.phone.lstrip("+"))
    await user.until(lambda m: any("Sổ sức khỏe" in label for row in m.buttons for label, _ in row))


async def receptionist(world: TelegramWorld, *, name: str = "Lê Thu") -> tuple[TelegramUser, str]:
    async with world.db.sessions() as session:
        facility = (await session.execute(select(Facility.code, Facility.name).order_by(Facility.code)
                                          .limit(1))).one()
    invite = await staff_service.invite(world.db, StaffRole.RECEPTIONIST, facility_code=facility.code,
                                        name=name)
    desk = world.phone(first_name="Thu")
    await desk.send(f"/start staff_{invite.code}")
    await desk.until(lambda m: "nhân viên tiếp đón" in m.text.lower())
    return desk, facility.name


async def open_card(desk: TelegramUser, payload: str) -> BotMessage:
    await desk.send(f"/start {payload}")
    return await desk.until(lambda m: "Thẻ tiếp đón" in m.text or "Mã này" in m.text
                            or "chỉ nhân viên" in m.text.lower() or "chính bạn" in m.text)


async def resident_of(world: TelegramWorld, citizen_id: int) -> DemoResident:
    """Any seeded citizen as a demo resident, given a mobile number if the record has none."""
    async with world.db.sessions() as session:
        citizen = await session.get(Citizen, citizen_id)
        assert citizen is not None
        if citizen.phone is None:
            citizen.phone = "+84912000111"
            await session.commit()
        return DemoResident(citizen.id, citizen.full_name, citizen.personal_id, citizen.birth_date,
                            citizen.phone, "chosen")


async def busiest_resident(world: TelegramWorld) -> tuple[DemoResident, int]:
    """The resident with the most visits, and how many."""
    async with world.db.sessions() as session:
        citizen_id, count = (await session.execute(
            select(Visit.citizen_id, func.count()).group_by(Visit.citizen_id)
            .order_by(func.count().desc()).limit(1))).one()
    return await resident_of(world, citizen_id), count


def _seed(url: str) -> None:
    async def seed() -> None:
        db = Database(url)
        try:
            await seed_database(db, generate_city(PEOPLE, 7, AS_OF))
        finally:
            await db.dispose()
    _run(seed())


@pytest.fixture(scope="session")
def seeded_sqlite(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seeded") / "ehr.sqlite3"
    shutil.copyfile(sqlite_template, path)
    _seed(f"sqlite+aiosqlite:///{path}")
    return path


async def open_world(db: Database) -> AsyncIterator[TelegramWorld]:
    emulator = BotApiEmulator(TOKEN)
    app = web.Application()
    emulator.add_routes(app, page=False)
    gateway = add_ussd_route(app, db, UssdSettings(secret=USSD_SECRET))
    runner = web.AppRunner(app, access_log=None)  # Telegram's servers: their logs are not ours
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the port the OS chose
    session = aiohttp.ClientSession()
    world = TelegramWorld(db, emulator, f"http://127.0.0.1:{port}", await db.read(demo_residents), session,
                          gateway)
    await world.start_bot()
    try:
        yield world
    finally:
        await world.stop_bot()
        await session.close()
        await runner.cleanup()


@pytest.fixture
async def world(seeded_sqlite: Path, tmp_path: Path) -> AsyncIterator[TelegramWorld]:
    """A world on a real SQLite file."""
    path = tmp_path / "ehr.sqlite3"
    shutil.copyfile(seeded_sqlite, path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async for opened in open_world(db):
            yield opened
    finally:
        await db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TelegramWorld]:
    """The same world on a SQLite file, then on the PostgreSQL server."""
    if request.param == "sqlite":
        path = tmp_path / "ehr.sqlite3"
        shutil.copyfile(request.getfixturevalue("seeded_sqlite"), path)
        db = Database(f"sqlite+aiosqlite:///{path}")
    else:
        from tests.conftest import SKIP_POSTGRES
        if SKIP_POSTGRES:
            pytest.skip("EHR_TEST_SKIP_POSTGRES=1")
        db = Database(request.getfixturevalue("postgres_url"))
        await _truncate(db)
        await seed_database(db, generate_city(PEOPLE, 7, AS_OF))
    try:
        async for opened in open_world(db):
            yield opened
    finally:
        await db.dispose()
