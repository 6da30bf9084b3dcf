"""The web console as staff use it: Debian's chromium on the sandbox's `/desk`, signed in through
the one-time link the sandbox page (or the bot) gives; axe-core for accessibility."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.sandbox_world import CHROMIUM, CHROMIUM_ARGS

DESK = (1366, 768)  # a reception desk's screen
PHONE = (390, 844)
AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
      "resultTypes": ["violations"]}


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def signed_in(browser: Browser, sandbox: str, door: str, size: tuple[int, int] = DESK) -> Page:
    """A new browser (its own cookies) signed in through a one-time link: the sandbox page's door
    (`/sandbox/desk/<id>`) or a link the bot or `core desk link` gave."""
    context: BrowserContext = await browser.new_context(viewport={"width": size[0], "height": size[1]},
                                                        base_url=sandbox)
    page = await context.new_page()
    await page.goto(door)
    await page.get_by_role("button", name="Đăng nhập bàn làm việc").click()
    await expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
    return page


async def accessible(page: Page) -> None:
    """WCAG 2.1 A and AA as axe-core checks them (labels, contrast, names, landmarks): none broken,
    and no element forces its own place in the tab order."""
    results = await Axe().run(page, options=AA)
    assert results.violations_count == 0, results.generate_report()
    forced = await page.locator("[tabindex]:not([tabindex='0']):not([tabindex='-1'])").count()
    assert forced == 0, "an element sets a positive tabindex"


async def tab_order(page: Page, presses: int) -> list[str]:
    """What the keyboard reaches, Tab after Tab, from the top of the page: each element's role-ish
    name (its text, label or name attribute)."""
    await page.locator("body").focus()
    reached = []
    for _ in range(presses):
        await page.keyboard.press("Tab")
        reached.append(await page.evaluate(
            "() => { const e = document.activeElement; return (e.getAttribute('aria-label') || "
            "e.innerText || e.name || e.id || e.tagName).trim(); }"))
    return reached
