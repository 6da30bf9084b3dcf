"""A small Telegram world for end-to-end tests: the Bot API emulator on a real port,
the real python-telegram-bot `Application` polling it over HTTP, and a seeded database.

Nothing of ours is stubbed: the test plays the people's phones through the emulator's
user API (`bot.sandbox.client.TelegramUser`), exactly as the chat page does.
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
from telegram.ext import Application

from bot.config import BotSettings
from bot.handlers.application import build_application
from bot.run import start_polling, stop_polling
from bot.sandbox.client import TelegramUser
from bot.sandbox.emulator import BotApiEmulator
from core.config import Settings
from core.db import Database
from core.seed import generate_city
from core.seed.demo import DemoResident, demo_residents
from core.seed.store import seed_database
from tests.conftest import _run, _truncate

TOKEN = "123456789:TEST-emulated-token"
AS_OF = dt.date(2026, 11, 1)
PEOPLE = 150
_user_ids = itertools.count(500_000_001)


@dataclass
class TelegramWorld:
    db: Database
    emulator: BotApiEmulator
    base_url: str
    residents: list[DemoResident]
    session: aiohttp.ClientSession
    application: Application | None = None
    users: list[TelegramUser] = field(default_factory=list)

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
    await user.until(lambda m: "dd/mm/yyyy" in m.text)
    await user.send(resident.birth_date.display())
    await user.until(lambda m: m.reply_keyboard is not None)
    await user.share_contact(resident.phone.lstrip("+"))
    await user.until(lambda m: any("Sổ sức khỏe" in label for row in m.buttons for label, _ in row))


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
    runner = web.AppRunner(app, access_log=None)  # Telegram's servers: their logs are not ours
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the port the OS chose
    session = aiohttp.ClientSession()
    world = TelegramWorld(db, emulator, f"http://127.0.0.1:{port}", await db.read(demo_residents), session)
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
