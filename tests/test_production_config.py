"""Production refuses an unsafe configuration at start-up, in one line, before anything listens.

Each command runs as an operator runs it (`python -m …` in a subprocess). The database URL
points at a file that does not exist: a refusal before start-up leaves it uncreated.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import UssdSettings
from core.config import PROJECT_ROOT, ConfigurationError
from core.db import Database
from core.marks import DEMO_SEED, DatabaseMark
from core.seed import generate_city
from core.seed.store import seed_database
from tests.records import make_full_record
from tests.telegram_world import AS_OF

GOOD_KEY = "k" * 64


def run(args: list[str], tmp_path: Path, **env: str | None) -> subprocess.CompletedProcess[str]:
    """`python -m <args>` with the test run's environment, changed by `env` (None removes)."""
    environment = {**os.environ, "EHR_LANG": "en", "LOG_LEVEL": "WARNING",
                   "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'never.sqlite3'}",
                   "TELEGRAM_BOT_TOKEN": "123456789:PRODUCTION-token",
                   "TELEGRAM_WEBHOOK_URL": "https://ehr.example.vn",
                   "TELEGRAM_WEBHOOK_SECRET": "a-long-webhook-secret-for-tests"}
    for name in ("USSD_GATEWAY_SECRET", "USSD_GATEWAY_NETWORKS", "EHR_SECRET_KEY_PREVIOUS", "EHR_DESK_URL",
                 "TELEGRAM_BOT_USERNAME"):
        environment.pop(name, None)
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return subprocess.run([sys.executable, "-m", *args], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=60)


def refused_in_one_line(result: subprocess.CompletedProcess[str], tmp_path: Path, *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and all(word in lines[0] for word in words), result.stderr
    assert not (tmp_path / "never.sqlite3").exists()  # stopped before even opening the database


def test_python_m_bot_without_a_token_refuses_instead_of_starting_the_sandbox(tmp_path: Path) -> None:
    result = run(["bot"], tmp_path, TELEGRAM_BOT_TOKEN=None)
    refused_in_one_line(result, tmp_path, "TELEGRAM_BOT_TOKEN", "python -m bot sandbox")


@pytest.mark.parametrize("command", [["bot", "serve", "--port", "1"], ["bot"],
                                     ["core", "serve", "--port", "1"]],
                         ids=["bot serve", "bot polling", "core serve"])
def test_the_service_without_ehr_secret_key_exits_2_with_one_line_before_listening(
        command: list[str], tmp_path: Path) -> None:
    result = run(command, tmp_path, EHR_SECRET_KEY=None)
    refused_in_one_line(result, tmp_path, "EHR_SECRET_KEY is not set", "secrets.token_hex(32)")


def test_a_short_secret_key_is_refused_with_how_to_make_a_good_one(tmp_path: Path) -> None:
    result = run(["bot", "serve", "--port", "1"], tmp_path, EHR_SECRET_KEY="hanoi-2026")
    refused_in_one_line(result, tmp_path, "too short", "10 characters", "secrets.token_hex(32)")


@pytest.mark.parametrize(("gateway", "missing"), [
    ({"USSD_GATEWAY_SECRET": "a-gateway-secret-0123456789"}, "USSD_GATEWAY_NETWORKS"),
    ({"USSD_GATEWAY_NETWORKS": "10.20.0.0/16"}, "USSD_GATEWAY_SECRET"),
], ids=["secret without networks", "networks without secret"])
def test_ussd_with_only_half_of_its_gateway_settings_refuses_to_start(
        gateway: dict[str, str], missing: str, tmp_path: Path) -> None:
    result = run(["bot", "serve", "--port", "1"], tmp_path, EHR_SECRET_KEY=GOOD_KEY, **gateway)
    refused_in_one_line(result, tmp_path, missing)


@pytest.mark.parametrize(("console", "missing"), [
    ({"EHR_DESK_URL": "http://desk.hanoi.example", "TELEGRAM_BOT_USERNAME": "HanoiHealthBookBot"},
     "EHR_DESK_URL"),
    ({"EHR_DESK_URL": "https://desk.hanoi.example"}, "TELEGRAM_BOT_USERNAME"),
], ids=["console over plain http", "console without the bot's name"])
def test_a_web_console_that_would_send_sign_in_links_unsafely_refuses_to_start(
        console: dict[str, str], missing: str, tmp_path: Path) -> None:
    result = run(["bot", "serve", "--port", "1"], tmp_path, EHR_SECRET_KEY=GOOD_KEY, **console)
    refused_in_one_line(result, tmp_path, missing)


def test_several_workers_on_a_port_in_use_are_refused_in_one_line_before_any_starts(
        tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        result = run(["bot", "serve", "--workers", "2", "--host", "127.0.0.1", "--port", port],
                     tmp_path, EHR_SECRET_KEY=GOOD_KEY)
    refused_in_one_line(result, tmp_path, f"Port {port}", "already in use", "--port")


def test_ussd_settings_accept_both_or_neither() -> None:
    UssdSettings.from_env({}).check_for_production()
    UssdSettings.from_env({"USSD_GATEWAY_SECRET": "a-gateway-secret-0123456789",
                           "USSD_GATEWAY_NETWORKS": "10.20.0.0/16"}).check_for_production()
    with pytest.raises(ConfigurationError):
        UssdSettings.from_env({"USSD_GATEWAY_SECRET": "short", "USSD_GATEWAY_NETWORKS": "10.20.0.0/16"}
                              ).check_for_production()


def invite_volunteer(database: Path, tmp_path: Path, **env: str | None) -> subprocess.CompletedProcess[str]:
    return run(["core", "staff", "invite", "--role", "volunteer", "--ward", "00070"], tmp_path,
               DATABASE_URL=f"sqlite+aiosqlite:///{database}", **env)


def test_an_operator_command_that_keys_what_it_stores_needs_the_key_except_on_the_demo_database(
        sqlite_template: Path, seeded_sqlite: Path, tmp_path: Path) -> None:
    real = tmp_path / "real.sqlite3"
    shutil.copyfile(sqlite_template, real)
    refused = invite_volunteer(real, tmp_path, EHR_SECRET_KEY=None)
    assert refused.returncode == 2 and "EHR_SECRET_KEY is not set" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    assert invite_volunteer(real, tmp_path).returncode == 0  # with the key
    demo = tmp_path / "demo.sqlite3"
    shutil.copyfile(seeded_sqlite, demo)
    made = invite_volunteer(demo, tmp_path, EHR_SECRET_KEY=None)  # make run's database: the local key
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().splitlines()[-1].startswith("/start staff_")


async def demo_mark(db: Database) -> DatabaseMark | None:
    async with db.sessions() as session:
        return (await session.scalars(select(DatabaseMark).where(DatabaseMark.name == DEMO_SEED))).first()


async def test_the_seed_marks_the_database_it_fills_from_empty_and_no_other(db: Database) -> None:
    await make_full_record(db)  # a database that already holds someone
    await seed_database(db, generate_city(20, 3, AS_OF))
    assert await demo_mark(db) is None


async def test_the_seed_marks_an_empty_database_as_the_demo(db: Database) -> None:
    await seed_database(db, generate_city(20, 3, AS_OF))
    mark = await demo_mark(db)
    assert mark is not None and "20 people" in (mark.value or "")


async def test_seed_if_empty_on_a_database_with_residents_adds_no_mark(sqlite_template: Path,
                                                                      tmp_path: Path) -> None:
    database = tmp_path / "ehr.sqlite3"
    shutil.copyfile(sqlite_template, database)
    db = Database(f"sqlite+aiosqlite:///{database}")
    try:
        await make_full_record(db)  # someone real, imported before anyone ran the seed
        result = run(["core", "seed", "--people", "20", "--if-empty"], tmp_path, EHR_SECRET_KEY=None,
                     DATABASE_URL=f"sqlite+aiosqlite:///{database}")
        assert result.returncode == 0 and "nothing seeded" in result.stdout, result.stderr
        assert await demo_mark(db) is None
    finally:
        await db.dispose()


async def test_seed_on_an_empty_database_marks_it_without_any_key_set(sqlite_template: Path,
                                                                     tmp_path: Path) -> None:
    database = tmp_path / "ehr.sqlite3"
    shutil.copyfile(sqlite_template, database)
    result = run(["core", "seed", "--people", "20", "--if-empty"], tmp_path, EHR_SECRET_KEY=None,
                 DATABASE_URL=f"sqlite+aiosqlite:///{database}")
    assert result.returncode == 0, result.stderr
    db = Database(f"sqlite+aiosqlite:///{database}")
    try:
        assert await demo_mark(db) is not None
    finally:
        await db.dispose()
