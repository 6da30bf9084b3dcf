"""A newcomer in a real browser: `python -m bot sandbox`, the chat page, and verification by clicking."""

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
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, async_playwright, expect

from core.config import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, no sandbox (CI runs as root), and no calls home: this machine has no internet.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def sandbox(seeded_sqlite: Path, tmp_path: Path) -> Iterator[str]:
    """`python -m bot sandbox`, as `make run` starts it without a token, on a seeded database."""
    database = tmp_path / "ehr.sqlite3"
    shutil.copyfile(seeded_sqlite, database)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}", "LOG_LEVEL": "WARNING"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    server = subprocess.Popen([sys.executable, "-m", "bot", "sandbox", "--port", str(port)],
                              cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
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


def personas(sandbox: str) -> list[dict]:
    with urllib.request.urlopen(f"{sandbox}/sandbox/api/personas") as response:
        return json.load(response)


def credentials(persona: dict) -> tuple[str, str]:
    """The ID and birth date the page's hint tells the newcomer to type."""
    return (re.search(r"\b\d{12}\b", persona["hint"]).group(),
            re.search(r"\d{2}/\d{2}/\d{4}", persona["hint"]).group())


@asynccontextmanager
async def chat_page(sandbox: str, width: int = 420) -> AsyncIterator[Page]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium (.ci/run does)"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": width, "height": 860})
            await page.goto(sandbox)
            yield page
        finally:
            await browser.close()


async def type_steps(page: Page, steps: tuple[tuple[str, str | None], ...]) -> Locator:
    """Types each text and waits for the bot's answer holding the expected words."""
    box, messages = page.get_by_test_id("message-input"), page.get_by_test_id("bot-message")
    for typed, answer in steps:
        await box.fill(typed)
        await box.press("Enter")
        if answer:
            await expect(messages.filter(has_text=answer).last).to_be_visible(timeout=15_000)
    return messages


async def test_newcomer_verifies_a_demo_citizen_by_clicking_in_the_chat_page(sandbox: str,
                                                                             tmp_path: Path) -> None:
    citizen = next(p for p in personas(sandbox) if p["role"] == "citizen" and p["phone_number"])
    personal_id, birth = credentials(citizen)
    async with chat_page(sandbox) as page:
        await page.get_by_test_id(f"persona-{citizen['user_id']}").click()
        messages = await type_steps(page, (("/start", "CCCD"),))
        await page.get_by_test_id("message-input").fill(personal_id)
        await page.get_by_test_id("send-button").click()  # the Send button, not only Enter
        await expect(messages.filter(has_text="dd/mm/yyyy").last).to_be_visible()
        await type_steps(page, ((birth, None),))
        await page.get_by_test_id("contact-button").click()
        book = page.get_by_test_id("inline-button").filter(has_text="Sổ sức khỏe của tôi")
        await expect(book.last).to_be_visible()
        await book.last.click()
        await page.get_by_test_id("inline-button").filter(has_text="Thông tin chung").last.click()
        await expect(messages.filter(has_text=personal_id).last).to_be_visible()
        await page.screenshot(path=str(tmp_path / "sandbox.png"))


async def test_newcomer_shows_a_qr_as_a_citizen_and_opens_it_as_a_receptionist(sandbox: str,
                                                                                tmp_path: Path) -> None:
    people = personas(sandbox)
    citizen = [p for p in people if p["role"] == "citizen" and p["phone_number"]][1]
    desk = next(p for p in people if p["role"] == "receptionist")
    personal_id, birth = credentials(citizen)
    async with chat_page(sandbox) as page:
        await page.get_by_test_id(f"persona-{citizen['user_id']}").click()
        messages = await type_steps(page, (("/start", "CCCD"), (personal_id, "dd/mm/yyyy"), (birth, None)))
        await page.get_by_test_id("contact-button").click()
        await page.get_by_test_id("inline-button").filter(has_text="Mã QR khám bệnh").last.click()
        shown = messages.filter(has_text="đọc mã này").last
        await expect(shown).to_be_visible()
        await expect(shown.locator("img")).to_be_visible()  # the QR code itself
        code = re.search(r"\d{4} \d{4}", await shown.inner_text()).group()

        await page.get_by_test_id("back-button").click()  # a phone-width page: back to the list
        await page.get_by_test_id(f"persona-{desk['user_id']}").click()
        await type_steps(page, ((f"/checkin {code}", "Thẻ tiếp đón"),))
        card = messages.filter(has_text="Thẻ tiếp đón").last
        assert personal_id in await card.inner_text()
        await page.screenshot(path=str(tmp_path / "reception.png"))


async def test_newcomer_helps_a_resident_as_a_ward_volunteer(sandbox: str) -> None:
    people = personas(sandbox)
    helper = next(p for p in people if p["role"] == "volunteer")
    resident = next(p for p in people if p.get("kind") == "with_gaps")
    personal_id, birth = credentials(resident)
    async with chat_page(sandbox, width=1100) as page:
        await page.get_by_test_id(f"persona-{helper['user_id']}").click()
        messages = await type_steps(page, (("/worklist", helper["name"]),))
        assert "sinh năm" in await messages.filter(has_text=helper["name"]).last.inner_text()
        await type_steps(page, (("/assist", "12 chữ số"), (personal_id, "dd/mm/yyyy"),
                                (birth, "Đã tìm thấy")))
        found = await messages.filter(has_text="Đã tìm thấy").last.inner_text()
        assert resident["name"] not in found  # the volunteer sees a shortened name
