"""The sandbox as a newcomer runs it: `python -m sandbox` on a copy of the seeded database, and
Debian's chromium driven by Playwright. A pytest plugin (tests/conftest.py) for the page's tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from core.config import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, no sandbox (CI runs as root), and no calls home: this machine has no internet.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sandbox_command(database: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """`python -m sandbox` as `make run` starts it, without a token, on `database`: args, env."""
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}", "LOG_LEVEL": "WARNING"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return [sys.executable, "-m", "sandbox", "--port", str(port)], env


@contextmanager
def sandbox_process(database: Path) -> Iterator[str]:
    """`python -m sandbox`, as `make run` starts it without a token, on `database`; its URL."""
    port = free_port()
    command, env = sandbox_command(database, port)
    server = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            server.terminate()
            pytest.fail(f"the sandbox did not start: {server.communicate()[0]}")
        yield url
    finally:
        server.terminate()
        output = server.communicate(timeout=15)[0]
        assert "Traceback" not in output, output


@pytest.fixture
def sandbox_database(seeded_sqlite: Path, tmp_path: Path) -> Path:
    """A copy of the seeded demo database, the sandbox's own."""
    database = tmp_path / "ehr.sqlite3"
    shutil.copyfile(seeded_sqlite, database)
    return database


@pytest.fixture
def sandbox(sandbox_database: Path) -> Iterator[str]:
    with sandbox_process(sandbox_database) as url:
        yield url


def personas(sandbox: str) -> list[dict]:
    with urllib.request.urlopen(f"{sandbox}/sandbox/api/personas") as response:
        return json.load(response)


def credentials(persona: dict) -> tuple[str, str]:
    """The ID and birth date the page's hint tells the newcomer to type."""
    return (re.search(r"\b\d{12}\b", persona["hint"]).group(),
            re.search(r"\d{2}/\d{2}/\d{4}", persona["hint"]).group())


@asynccontextmanager
async def chat_page(sandbox: str, width: int = 420, height: int = 860) -> AsyncIterator[Page]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium (.ci/run does)"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": width, "height": height})
            await page.goto(sandbox)
            yield page
        finally:
            await browser.close()
