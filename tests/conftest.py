"""Fixtures: a real SQLite file and the real PostgreSQL server, migrated by Alembic.

Database tests take the `db` fixture and run once per backend. PostgreSQL must be
reachable (CI starts it); a missing server fails the run rather than skipping,
unless EHR_TEST_SKIP_POSTGRES=1 is set by hand on a machine without one.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.db import Database
from core.migrate import upgrade
from core.schema import Base

# Production refuses to run without EHR_SECRET_KEY (core.identity.keys): this test run, and the
# commands it starts, share a key made for it. Tests of a missing or rotated key set their own.
os.environ["EHR_SECRET_KEY"] = secrets.token_hex(32)
os.environ.pop("EHR_SECRET_KEY_PREVIOUS", None)

# The Telegram world of the end-to-end tests (emulator, real bot, seeded database), and the
# sandbox as a newcomer runs it, for the page's tests in a real browser.
pytest_plugins = ["tests.telegram_world", "tests.sandbox_world"]

POSTGRES_SERVER = os.environ.get(
    "EHR_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
SKIP_POSTGRES = os.environ.get("EHR_TEST_SKIP_POSTGRES") == "1"
BACKENDS = ["sqlite"] if SKIP_POSTGRES else ["sqlite", "postgresql"]


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Runs set-up work on its own event loop, in a thread: callers may be inside a loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "ehr.sqlite3"
    _run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _admin(sql: str, url: str = POSTGRES_SERVER) -> None:
    """One statement outside a transaction (CREATE DATABASE, VACUUM), on the server's default
    database or on `url`."""
    db = Database(url, isolation_level="AUTOCOMMIT")
    try:
        async with db.engine.connect() as connection:
            await connection.execute(text(sql))
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A fresh database on the local server for this test session, dropped afterwards."""
    name = f"ehr_test_{uuid.uuid4().hex[:12]}"
    try:
        _run(_admin(f'CREATE DATABASE "{name}"'))
    except OSError as error:  # connection refused: the server is not running
        pytest.fail(
            f"PostgreSQL is not reachable at {make_url(POSTGRES_SERVER).render_as_string()}: "
            f"{error}. Start it (pg_ctlcluster --skip-systemctl-redirect 15 main start) "
            "or set EHR_TEST_SKIP_POSTGRES=1 on a machine without one."
        )
    url = make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)
    _run(_migrate(url))
    yield url
    _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with db.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty record database: a SQLite file, then the PostgreSQL server."""
    if request.param == "sqlite":
        path = tmp_path / "ehr.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite+aiosqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        await _truncate(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def backend(db: Database) -> str:
    return db.dialect


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The time the journeys' cases kept as data took, all together (their budget: 20 seconds)."""
    from tests.journey_cases import DURATIONS

    if DURATIONS:
        terminalreporter.write_line(f"journey cases: {len(DURATIONS)} cases in {sum(DURATIONS):.1f} s "
                                    f"(slowest {max(DURATIONS) * 1000:.0f} ms)")
