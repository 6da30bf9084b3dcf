"""A newcomer in a real browser: `python -m sandbox`, the chat page, and verification by clicking."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Locator, Page, expect

from core.text import strip_diacritics
from tests.sandbox_world import chat_page, credentials, personas


async def type_steps(page: Page, steps: tuple[tuple[str, str | None], ...]) -> Locator:
    """Types each text and waits for the bot's answer holding the expected words."""
    box, messages = page.get_by_test_id("message-input"), page.get_by_test_id("bot-message")
    for typed, answer in steps:
        await box.fill(typed)
        await box.press("Enter")
        if answer:
            await expect(messages.filter(has_text=answer).last).to_be_visible(timeout=15_000)
    return messages


async def ussd_send(page: Page, typed: str | None = None) -> str:
    """Dials (no text) or answers the feature phone's screen; waits for the next screen and reads it."""
    screen = page.get_by_test_id("ussd-screen")
    shown = int(await screen.get_attribute("data-seq"))
    if typed is None:
        await page.get_by_test_id("ussd-dial").click()
    else:
        await page.get_by_test_id("ussd-input").fill(typed)
        await page.get_by_test_id("ussd-input").press("Enter")
    await expect(screen).to_have_attribute("data-seq", str(shown + 1), timeout=15_000)
    return await screen.inner_text()


def ussd_option(screen: str, *labels: str) -> str | None:
    """The number the person types for the option whose label holds one of `labels`, read off the screen."""
    for line in screen.splitlines():
        found = re.fullmatch(r"(\d+)\. (.+)", line.strip())
        if found and found.group(1) not in ("0", "00") and any(
                label.lower() in found.group(2).lower() for label in labels):
            return found.group(1)
    return None


async def ussd_choose(page: Page, screen: str, *labels: str) -> str:
    """Types the option's number, turning the page with `0` while the option is not on it yet."""
    for _ in range(4):
        number = ussd_option(screen, *labels)
        if number is not None:
            return await ussd_send(page, number)
        assert re.search(r"^0\. ", screen, re.M), f"no option like {labels} on the screen:\n{screen}"
        screen = await ussd_send(page, "0")  # "0. Xem tiep" (more)
    raise AssertionError(f"no option like {labels} on the screen:\n{screen}")


async def test_newcomer_verifies_a_demo_citizen_by_clicking_in_the_chat_page(sandbox: str,
                                                                             tmp_path: Path) -> None:
    citizen = next(p for p in personas(sandbox) if p["role"] == "citizen" and p["phone_number"])
    personal_id, birth = credentials(citizen)
    async with chat_page(sandbox) as page:
        await page.get_by_test_id(f"persona-{citizen['user_id']}").click()
        messages = await type_steps(page, (("/start", "CCCD"),))
        await page.get_by_test_id("message-input").fill(personal_id)
        await page.get_by_test_id("send-button").click()  # the Send button, not only Enter
        await expect(messages.filter(has_text="ngày/tháng/năm").last).to_be_visible()
        await type_steps(page, ((birth, None),))
        await page.get_by_test_id("contact-button").click()
        book = page.get_by_test_id("inline-button").filter(has_text="Sổ sức khỏe của tôi")
        await expect(book.last).to_be_visible()
        await book.last.click()
        await page.get_by_test_id("inline-button").filter(has_text="Thông tin hành chính").last.click()
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
        messages = await type_steps(page, (("/start", "CCCD"), (personal_id, "ngày/tháng/năm"),
                                           (birth, None)))
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
        await type_steps(page, (("/assist", "12 chữ số"), (personal_id, "ngày sinh của người dân"),
                                (birth, "còn thiếu")))
        found = await messages.filter(has_text="còn thiếu").last.inner_text()
        assert resident["name"] not in found  # the volunteer sees a shortened name


async def test_a_newcomer_on_a_feature_phone_reads_the_book_and_gets_a_code_the_reception_opens(
        sandbox: str, tmp_path: Path) -> None:
    people = personas(sandbox)
    keypad = next(p for p in people if p["role"] == "feature_phone")
    desk = next(p for p in people if p["role"] == "receptionist")
    # The same resident in the Telegram list: the ID and birth date the hints tell the newcomer.
    resident = next(p for p in people if p["role"] == "citizen" and p["name"] == keypad["name"])
    personal_id, birth = credentials(resident)
    born = birth.replace("/", "")  # a keypad phone types the date as ddmmyyyy
    assert personal_id in keypad["hint"] and born in keypad["hint"]
    menu = ("Ma kham benh", "Check-in code")
    async with chat_page(sandbox) as page:
        await page.get_by_test_id(f"persona-{keypad['user_id']}").click()
        await expect(page.get_by_test_id("ussd-dial")).to_be_visible()
        await expect(page.get_by_test_id("message-input")).to_be_hidden()  # no Telegram on this phone
        await expect(page.get_by_test_id("ussd-input")).to_be_disabled()  # nothing to answer before dialling

        await ussd_send(page)
        await ussd_send(page, personal_id)
        await ussd_send(page, born)
        await ussd_send(page, "2580")
        screen = await ussd_send(page, "2580")  # the PIN again: the menu
        assert ussd_option(screen, *menu), screen

        screen = await ussd_choose(page, screen, "So suc khoe", "health book")
        screen = await ussd_choose(page, screen, "Thong tin hanh chinh", "Administrative information")
        assert strip_diacritics(keypad["name"]) in screen, screen  # GSM-7: the name without diacritics
        for _ in range(4):  # back to the menu, as the screen offers it
            if ussd_option(screen, *menu):
                break
            if ussd_option(screen, "Menu chinh", "Main menu"):
                screen = await ussd_choose(page, screen, "Menu chinh", "Main menu")
            else:
                screen = await ussd_send(page, "00")
        screen = await ussd_choose(page, screen, *menu)
        code = re.search(r"\b\d{4} \d{4}\b", screen).group()  # the END screen stays on the phone
        await expect(page.get_by_test_id("ussd-screen")).to_have_attribute("data-state", "ended")
        await expect(page.get_by_test_id("ussd-screen")).to_contain_text(code)
        await expect(page.get_by_test_id("ussd-notice")).to_contain_text("Phiên đã kết thúc")
        await expect(page.get_by_test_id("ussd-send")).to_be_disabled()
        await page.screenshot(path=str(tmp_path / "feature-phone.png"))

        await page.get_by_test_id("back-button").click()  # a phone-width page: back to the list
        await page.get_by_test_id(f"persona-{desk['user_id']}").click()
        await expect(page.get_by_test_id("ussd-screen")).to_be_hidden()
        messages = await type_steps(page, ((f"/checkin {code.replace(' ', '')}", "Thẻ tiếp đón"),))
        card = messages.filter(has_text="Thẻ tiếp đón").last
        assert keypad["name"] in await card.inner_text()  # Telegram shows the name as written


async def test_a_visit_reads_on_one_phone_screen_without_repeating_its_heading(sandbox: str) -> None:
    # Issue 14, point 15: on a 390×844 phone a visit's card fits the chat's screen in the common
    # case (a visit from the seed: its kind, times, diagnosis, a few medicines and results,
    # each on a line), and no line says again what its heading says.
    citizen = next(p for p in personas(sandbox) if p["role"] == "citizen" and p["kind"] == "with_visits")
    personal_id, birth = credentials(citizen)
    async with chat_page(sandbox, width=390, height=844) as page:
        await page.get_by_test_id(f"persona-{citizen['user_id']}").click()
        messages = await type_steps(page, (("/start", "CCCD"), (personal_id, "ngày/tháng/năm"),
                                           (birth, None)))
        await page.get_by_test_id("contact-button").click()
        await type_steps(page, (("/so", "Sổ sức khỏe của bạn"),))
        await page.get_by_test_id("inline-button").filter(has_text="Lịch sử khám chữa bệnh").last.click()
        await expect(messages.filter(has_text="mới nhất xếp trước").last).to_be_visible()
        newest = page.get_by_test_id("inline-button").filter(has_text=re.compile(r"^\d{2}/\d{2}/\d{4} · "))
        title = (await newest.first.inner_text()).strip()
        await newest.first.click()
        card = messages.filter(has_text="Loại khám chữa bệnh").last
        await expect(card).to_be_visible()
        text = await card.inner_text()
        facility = title.split(" · ", 1)[1]
        assert text.count(facility) == 1, text  # the heading names the clinic; no line repeats it
        assert "Cơ sở khám chữa bệnh:" not in text
        # No ISO date, no route code (1.01): values as the book shows them.
        assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b|\b[0-9]\.[0-9]{2}\b", text), text
        card_height = (await card.bounding_box())["height"]
        screen_height = await page.get_by_test_id("messages").evaluate("m => m.clientHeight")
        assert card_height <= screen_height, f"{card_height:.0f} px of {screen_height} px:\n{text}"
