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
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

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


async def test_newcomer_verifies_a_demo_citizen_by_clicking_in_the_chat_page(sandbox: str,
                                                                             tmp_path: Path) -> None:
    assert Path(CHROMIUM).exists(), "install Debian's chromium (.ci/run does)"
    with urllib.request.urlopen(f"{sandbox}/sandbox/api/personas") as response:
        personas = json.load(response)
    citizen = next(p for p in personas if p["role"] == "citizen" and p["phone_number"])
    # The hint the page shows the newcomer: "Số định danh 001…, ngày sinh dd/mm/yyyy".
    personal_id = re.search(r"\b\d{12}\b", citizen["hint"]).group()
    birth = re.search(r"\d{2}/\d{2}/\d{4}", citizen["hint"]).group()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 420, "height": 860})
        try:
            await page.goto(sandbox)
            await page.get_by_test_id(f"persona-{citizen['user_id']}").click()
            box = page.get_by_test_id("message-input")
            await box.fill("/start")
            await box.press("Enter")
            messages = page.get_by_test_id("bot-message")
            await expect(messages.filter(has_text="CCCD").last).to_be_visible(timeout=15_000)
            await box.fill(personal_id)
            await page.get_by_test_id("send-button").click()
            await expect(messages.filter(has_text="dd/mm/yyyy").last).to_be_visible()
            await box.fill(birth)
            await box.press("Enter")
            await page.get_by_test_id("contact-button").click()
            book = page.get_by_test_id("inline-button").filter(has_text="Sổ sức khỏe của tôi")
            await expect(book.last).to_be_visible()
            await book.last.click()
            await page.get_by_test_id("inline-button").filter(has_text="Thông tin chung").last.click()
            await expect(messages.filter(has_text=personal_id).last).to_be_visible()
            await page.screenshot(path=str(tmp_path / "sandbox.png"))
        finally:
            await browser.close()


async def test_newcomer_shows_a_qr_as_a_citizen_and_opens_it_as_a_receptionist(sandbox: str,
                                                                                tmp_path: Path) -> None:
    with urllib.request.urlopen(f"{sandbox}/sandbox/api/personas") as response:
        personas = json.load(response)
    citizen = [p for p in personas if p["role"] == "citizen" and p["phone_number"]][1]
    desk = next(p for p in personas if p["role"] == "receptionist")
    personal_id = re.search(r"\b\d{12}\b", citizen["hint"]).group()
    birth = re.search(r"\d{2}/\d{2}/\d{4}", citizen["hint"]).group()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 420, "height": 860})
        try:
            await page.goto(sandbox)
            await page.get_by_test_id(f"persona-{citizen['user_id']}").click()
            box = page.get_by_test_id("message-input")
            messages = page.get_by_test_id("bot-message")
            for typed, answer in (("/start", "CCCD"), (personal_id, "dd/mm/yyyy"), (birth, None)):
                await box.fill(typed)
                await box.press("Enter")
                if answer:
                    await expect(messages.filter(has_text=answer).last).to_be_visible(timeout=15_000)
            await page.get_by_test_id("contact-button").click()
            await page.get_by_test_id("inline-button").filter(has_text="Mã QR khám bệnh").last.click()
            shown = messages.filter(has_text="đọc mã này").last
            await expect(shown).to_be_visible()
            await expect(shown.locator("img")).to_be_visible()  # the QR code itself
            code = re.search(r"\d{4} \d{4}", await shown.inner_text()).group()

            await page.get_by_test_id("back-button").click()  # a phone-width page: back to the list
            await page.get_by_test_id(f"persona-{desk['user_id']}").click()
            await box.fill(f"/checkin {code}")
            await box.press("Enter")
            card = messages.filter(has_text="Thẻ tiếp đón").last
            await expect(card).to_be_visible()
            assert personal_id in await card.inner_text()
            await page.screenshot(path=str(tmp_path / "reception.png"))
        finally:
            await browser.close()


async def test_newcomer_helps_a_resident_as_a_ward_volunteer(sandbox: str) -> None:
    with urllib.request.urlopen(f"{sandbox}/sandbox/api/personas") as response:
        personas = json.load(response)
    helper = next(p for p in personas if p["role"] == "volunteer")
    resident = next(p for p in personas if p.get("kind") == "with_gaps")
    personal_id = re.search(r"\b\d{12}\b", resident["hint"]).group()
    birth = re.search(r"\d{2}/\d{2}/\d{4}", resident["hint"]).group()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1100, "height": 860})
        try:
            await page.goto(sandbox)
            await page.get_by_test_id(f"persona-{helper['user_id']}").click()
            box = page.get_by_test_id("message-input")
            messages = page.get_by_test_id("bot-message")
            await box.fill("/worklist")
            await box.press("Enter")
            listed = messages.filter(has_text=helper["name"]).last
            await expect(listed).to_be_visible(timeout=15_000)
            assert "sinh năm" in await listed.inner_text()
            steps = (("/assist", "12 chữ số"), (personal_id, "dd/mm/yyyy"), (birth, "Đã tìm thấy"))
            for typed, answer in steps:
                await box.fill(typed)
                await box.press("Enter")
                await expect(messages.filter(has_text=answer).last).to_be_visible()
            found = await messages.filter(has_text="Đã tìm thấy").last.inner_text()
            assert resident["name"] not in found  # the volunteer sees a shortened name
        finally:
            await browser.close()
