"""The sandbox keeps its cast and its page stays usable on a phone (a real browser and sandbox)."""

from __future__ import annotations

import socket
import subprocess
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web
from playwright.async_api import Locator, Page, expect

from core.config import PROJECT_ROOT
from core.db import Database
from core.i18n import translator
from core.identity.accounts import find_account
from core.staff import service as staff
from core.staff.model import StaffRole
from core.staff.service import Staff
from sandbox.emulator import BotApiEmulator
from sandbox.personas import CITIZEN_BASE, reception_persona, volunteer_persona
from tests.journey_cases import english_commands_named
from tests.sandbox_world import chat_page, credentials, personas, sandbox_command, sandbox_process

FULL_WIDTH_PLUS = "\uff0b"
PHONE = {"width": 390, "height": 844}


async def persona_list(page: Page) -> list[tuple[str, str]]:
    """Each button of the page's list: its persona and what it says."""
    buttons = page.locator(".persona-list .persona")
    await expect(buttons.first).to_be_visible()
    return [(await b.get_attribute("data-testid"), await b.inner_text())
            for b in await buttons.all()]


async def answer_after(page: Page, typed: str) -> None:
    """Types `typed` and waits for the bot's answer: a message after the one just sent."""
    mine = page.get_by_test_id("user-message")
    before = await page.evaluate("""() => Math.max(0, ...[...document.querySelectorAll(".bubble")]
        .map((bubble) => Number(bubble.dataset.messageId) || 0))""")
    await page.get_by_test_id("message-input").fill(typed)
    await page.get_by_test_id("message-input").press("Enter")
    await page.wait_for_function("""(before) => [...document.querySelectorAll(".bubble.mine")]
        .some((bubble) => Number(bubble.dataset.messageId) > before)""", arg=before, timeout=15_000)
    sent = int(await mine.last.get_attribute("data-message-id"))
    await page.wait_for_function("""(sent) => [...document.querySelectorAll(".bubble:not(.mine)")]
        .some((bubble) => Number(bubble.dataset.messageId) > sent)""", arg=sent, timeout=15_000)


def book_button(page: Page) -> Locator:
    """The linked citizen's way to their book, offered once verification succeeds."""
    return page.get_by_test_id("inline-button").filter(has_text="Sổ sức khỏe").last


async def verify(page: Page, persona: dict) -> None:
    """The newcomer's way in: /start, the ID and birth date shown beside the chat, the contact."""
    personal_id, birth = credentials(persona)
    for typed in ("/start", personal_id, birth):
        await answer_after(page, typed)
    await page.get_by_test_id("contact-button").click()
    await expect(book_button(page)).to_be_visible(timeout=15_000)


async def test_the_same_people_stay_on_the_page_across_reloads_a_completed_journey_and_a_restart(
        sandbox_database: Path) -> None:
    with sandbox_process(sandbox_database) as url:
        async with chat_page(url, width=1100) as page:
            cast = await persona_list(page)
            assert {"persona-" + str(p["user_id"]) for p in personas(url)} == {t for t, _ in cast}
            await page.reload()
            assert await persona_list(page) == cast

            # The resident with missing details verifies and fills one in, as the page invites.
            citizen = next(p for p in personas(url) if p.get("kind") == "with_gaps")
            await page.get_by_test_id(f"persona-{citizen['user_id']}").click()
            await verify(page, citizen)
            await answer_after(page, "/capnhat")
            await answer_after(page, "kinh")  # exactly one group is named so: taken at once
            saved = page.get_by_test_id("bot-message").filter(has_text="Đã lưu: Kinh")
            await expect(saved.last).to_be_visible(timeout=15_000)
            await page.reload()  # the page comes back to the same person's chat
            assert await persona_list(page) == cast
            shown = page.get_by_test_id("persona-personal-id")
            await expect(shown).to_have_text(citizen["personal_id"])
    with sandbox_process(sandbox_database) as url:  # started again on the same database
        async with chat_page(url, width=1100) as page:
            assert await persona_list(page) == cast


async def test_every_desk_and_volunteer_on_the_list_works_as_staff_straight_away(
        sandbox_database: Path) -> None:
    roles = {"receptionist": (StaffRole.RECEPTIONIST, "⌨ Nhập mã"),
             "volunteer": (StaffRole.VOLUNTEER, "🔎 Hỗ trợ một người dân")}
    with sandbox_process(sandbox_database) as url:
        cast = [p for p in personas(url) if p["role"] in roles]
        assert {p["role"] for p in cast} == set(roles)
        db = Database(f"sqlite+aiosqlite:///{sandbox_database}")
        try:
            for persona in cast:
                account = await db.read(find_account, "telegram", str(persona["user_id"]))
                member = account and await staff.active_staff(db, account.id)
                assert member and member.role is roles[persona["role"]][0], persona["name"]
        finally:
            await db.dispose()
        async with chat_page(url, width=1100) as page:
            for persona in cast:
                await page.get_by_test_id(f"persona-{persona['user_id']}").click()
                # The persona's own chat is drawn before its messages are counted.
                await expect(page.get_by_test_id("messages")).to_have_attribute(
                    "data-user-id", str(persona["user_id"]))
                await answer_after(page, "/start")
                home = page.get_by_test_id("inline-keyboard").last
                await expect(home.get_by_text(roles[persona["role"]][1])).to_be_visible()
                await expect(home.get_by_text("Xác thực danh tính")).to_have_count(0)


async def test_a_tester_sees_the_id_and_birth_date_to_type_while_chatting_on_a_phone(
        sandbox: str) -> None:
    people = personas(sandbox)
    citizen = next(p for p in people if p["role"] == "citizen" and p["phone_number"])
    keypad = next(p for p in people if p["role"] == "feature_phone")
    async with chat_page(sandbox, **PHONE) as page:
        await page.get_by_test_id(f"persona-{citizen['user_id']}").click()
        card_id = page.get_by_test_id("persona-personal-id")
        card_birth = page.get_by_test_id("persona-birth-date")
        personal_id, birth = credentials(citizen)
        for typed in ("/start", personal_id):
            await answer_after(page, typed)
            await expect(card_id).to_have_text(personal_id)
            await expect(card_id).to_be_in_viewport()
            await expect(card_birth).to_have_text(birth)
            await expect(card_birth).to_be_in_viewport()

        await page.get_by_test_id("back-button").click()
        await page.get_by_test_id(f"persona-{keypad['user_id']}").click()
        await expect(card_id).to_have_text(keypad["personal_id"])
        # As a keypad types it: digits only.
        await expect(card_birth).to_have_text(keypad["birth_date"].replace("/", ""))
        await expect(card_birth).to_be_in_viewport()


@asynccontextmanager
async def emulated_telegram(persona: dict) -> AsyncIterator[tuple[str, str]]:
    """The sandbox's emulator and page, the test playing the bot: (page URL, Bot API URL)."""
    token = "100000001:PAGE-LAYOUT"

    async def cast() -> list[dict]:
        return [persona]

    emulator = BotApiEmulator(token, personas=cast)
    app = web.Application()
    emulator.add_routes(app, page=True)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    try:
        yield url, f"{url}/bot{token}"
    finally:
        await runner.cleanup()


async def bot_says(http: aiohttp.ClientSession, api: str, method: str, **call: object) -> dict:
    async with http.post(f"{api}/{method}", json=call) as response:
        answer = await response.json()
    assert answer["ok"], answer
    return answer["result"]


async def assert_in_view_and_on_top(page: Page, selector: str) -> None:
    """Every element `selector` finds lies inside the window and nothing covers its middle."""
    hidden = await page.evaluate("""(selector) => [...document.querySelectorAll(selector)]
        .filter((node) => {
          const box = node.getBoundingClientRect();
          const [x, y] = [box.left + box.width / 2, box.top + box.height / 2];
          const inside = box.top >= 0 && box.left >= 0
            && box.bottom <= innerHeight && box.right <= innerWidth;
          const top = document.elementFromPoint(x, y);
          return !inside || !(top && (top === node || node.contains(top)));
        }).map((node) => node.textContent)""", selector)
    assert not hidden, f"{selector} off-screen or covered: {hidden}"


async def test_buttons_stay_in_view_when_a_message_grows_long_on_a_390_by_844_phone() -> None:
    user_id = CITIZEN_BASE + 1
    persona = {"user_id": user_id, "first_name": "Lan", "last_name": "Nguyễn Thị",
               "language_code": "vi", "phone_number": "84912345678", "role": "citizen",
               "personal_id": "001180012345", "birth_date": "05/09/1960", "hint": "",
               "name": "Nguyễn Thị Lan"}
    long_text = "\n".join(f"Dòng {n}: Khám ngoại trú tại Trạm Y tế phường, tái khám sau 30 ngày."
                          for n in range(1, 50))
    buttons = {"inline_keyboard": [[{"text": "⬅ Trước", "callback_data": "p"},
                                    {"text": "Sau ➡", "callback_data": "n"}],
                                   [{"text": "🏠 Menu chính", "callback_data": "m"}]]}
    keyboard = {"keyboard": [[{"text": "📖 Sổ sức khỏe"}, {"text": "🔳 Mã QR"}],
                             [{"text": "❓ Trợ giúp"}]], "resize_keyboard": True}
    async with (emulated_telegram(persona) as (url, api), aiohttp.ClientSession() as http,
                chat_page(f"{url}/#user={user_id}", **PHONE) as page):
        await page.get_by_test_id("start-button").click()  # the chat exists once the person writes
        await expect(page.get_by_test_id("user-message")).to_have_count(1)
        for text, markup in (("Chọn:", keyboard), (long_text, buttons)):
            await bot_says(http, api, "sendMessage", chat_id=user_id, text=text,
                           reply_markup=markup)
        await expect(page.get_by_test_id("inline-keyboard")).to_have_count(1)
        messages = page.get_by_test_id("messages")
        assert await messages.evaluate("(box) => box.scrollHeight > box.clientHeight")  # it scrolls
        for selector in ("[data-testid=inline-button]", "[data-testid=keyboard-button]",
                         "#message-input", "#send-button", "#persona-card"):
            await assert_in_view_and_on_top(page, selector)

        # A short answer edited in place into a long one keeps its buttons in view.
        short = await bot_says(http, api, "sendMessage", chat_id=user_id, text="Đang tải…",
                               reply_markup=buttons)
        await expect(page.get_by_test_id("inline-keyboard")).to_have_count(2)
        await bot_says(http, api, "editMessageText", chat_id=user_id,
                       message_id=short["message_id"], text=long_text + "\nHết.",
                       reply_markup=buttons)
        await expect(page.get_by_test_id("bot-message").last).to_contain_text("Hết.")
        await assert_in_view_and_on_top(
            page, f"[data-testid=inline-keyboard][data-message-id='{short['message_id']}'] button")
        await assert_in_view_and_on_top(page, "[data-testid=keyboard-button]")


# The WCAG 2.x contrast of every visible text against what is behind it: each element with text
# of its own, its colour faded by the opacities above it, over its backgrounds down to white.
# Controls that are disabled are left out (WCAG 1.4.3 exempts inactive components), and so are
# a spoiler still hidden and text without a letter or digit (emoji, bars).
LOW_CONTRAST = """(minimum) => {
  const rgba = (text) => {
    const parts = text.match(/[\\d.]+/g).map(Number);
    return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
  };
  const over = (top, bottom) => {
    const a = top[3] + bottom[3] * (1 - top[3]);
    const mix = (i) => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a;
    return [mix(0), mix(1), mix(2), a];
  };
  const luminance = ([r, g, b]) => {
    const lin = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const background = (node) => {
    const layers = [];
    for (let n = node; n; n = n.parentElement) {
      const colour = rgba(getComputedStyle(n).backgroundColor);
      if (colour[3] > 0) layers.push(colour);
      if (colour[3] >= 1) break;
    }
    return layers.reduceRight((under, layer) => over(layer, under), [255, 255, 255, 1]);
  };
  const faded = (node) => {
    let alpha = 1;
    for (let n = node; n; n = n.parentElement) alpha *= Number(getComputedStyle(n).opacity);
    return alpha;
  };
  const ratio = (style, node, pseudo) => {
    const text = rgba(getComputedStyle(node, pseudo).color);
    const back = background(node);
    const front = over([text[0], text[1], text[2], text[3] * faded(node)], back);
    const [l1, l2] = [luminance(front), luminance(back)].sort((x, y) => y - x);
    return (l1 + 0.05) / (l2 + 0.05);
  };
  const found = [];
  const check = (node, pseudo, text) => {
    const value = ratio(null, node, pseudo);
    if (value < minimum) {
      const name = `${node.tagName.toLowerCase()}.${node.className || node.id}`;
      found.push(`${name} "${text.slice(0, 40)}" ${value.toFixed(2)}:1`);
    }
  };
  for (const node of document.body.querySelectorAll("*")) {
    if (!node.getClientRects().length || getComputedStyle(node).visibility !== "visible") continue;
    if (node.closest(":disabled") || node.closest(".spoiler:not(.revealed)")) continue;
    const own = [...node.childNodes].filter((c) => c.nodeType === Node.TEXT_NODE)
      .map((c) => c.textContent).join("").trim();
    if (/[\\p{L}\\p{N}]/u.test(own)) check(node, null, own);
    if (node.tagName !== "INPUT") continue;
    if (node.value) check(node, null, node.value);
    else if (node.placeholder) check(node, "::placeholder", node.placeholder);
  }
  return found;
}"""


async def low_contrast(page: Page) -> list[str]:
    return await page.evaluate(LOW_CONTRAST, 4.5)


async def test_every_text_on_the_page_reaches_wcag_aa_contrast_and_no_full_width_plus(
        sandbox: str) -> None:
    people = personas(sandbox)
    citizen = next(p for p in people if p.get("kind") == "with_visits")
    keypad = next(p for p in people if p["role"] == "feature_phone")
    found: dict[str, list[str]] = {}
    shown: list[str] = []
    async with chat_page(sandbox, width=1100) as page:
        found["the list"] = await low_contrast(page)
        shown.append(await page.content())
        await page.get_by_test_id(f"persona-{citizen['user_id']}").click()
        personal_id, birth = credentials(citizen)
        for typed in ("/start", personal_id, birth):
            await answer_after(page, typed)
        found["asked to share the contact"] = await low_contrast(page)  # the reply keyboard
        await page.get_by_test_id("contact-button").click()
        await expect(book_button(page)).to_be_visible()
        found["a chat with buttons"] = await low_contrast(page)
        await page.get_by_test_id("menu-button").click()
        await expect(page.get_by_test_id("menu-command").first).to_be_visible()
        found["the command menu"] = await low_contrast(page)
        shown.append(await page.content())
    async with chat_page(sandbox, **PHONE) as page:
        await page.get_by_test_id(f"persona-{keypad['user_id']}").click()
        found["a feature phone"] = await low_contrast(page)
        await page.get_by_test_id("ussd-dial").click()
        await expect(page.get_by_test_id("ussd-screen")).to_have_attribute("data-state", "open",
                                                                          timeout=15_000)
        found["a feature phone's menu"] = await low_contrast(page)
        shown.append(await page.content())
    assert not {state: problems for state, problems in found.items() if problems}
    for name in ("", "sandbox/static/chat.css", "sandbox/static/chat.js"):
        with urllib.request.urlopen(f"{sandbox}/{name}") as response:
            shown.append(response.read().decode())
    assert not [text for text in shown if FULL_WIDTH_PLUS in text]


def test_a_busy_port_is_one_line_saying_which_port_and_what_to_do(sandbox_database: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        command, env = sandbox_command(sandbox_database, port)
        ran = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                             timeout=60)
    said = (ran.stdout + ran.stderr).strip()
    assert ran.returncode != 0
    assert "Traceback" not in said and len(said.splitlines()) == 1, said
    assert str(port) in said and "PORT=" in said, said


def test_make_run_takes_a_port() -> None:
    planned = subprocess.run(["make", "-n", "run", "PORT=8090"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, check=True).stdout
    assert "-m sandbox --port 8090" in planned, planned



def test_the_desk_and_volunteer_hints_name_the_commands_a_vietnamese_reader_types() -> None:
    t = translator("vi")
    desk = reception_persona(Staff(1, 1, StaffRole.RECEPTIONIST, "01901", "Bệnh viện Bạch Mai", None,
                                   None), 1, t)
    volunteer = volunteer_persona(Staff(2, 2, StaffRole.VOLUNTEER, None, None, "00070", None), 2, t)
    assert "/tiepdon" in desk["hint"] and "/maqr" in desk["hint"], desk["hint"]
    assert "/danhsach" in volunteer["hint"] and "/hotro" in volunteer["hint"], volunteer["hint"]
    assert english_commands_named(desk["hint"] + volunteer["hint"]) == []
