"""The web console as staff use it: Debian's chromium on the sandbox's `/desk`, signed in through
the one-time link the sandbox page (or the bot) gives; axe-core for accessibility."""

from __future__ import annotations

import itertools
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


async def tab_from(page: Page, start: str, presses: int) -> list[str]:
    """What the keyboard reaches, Tab after Tab, from the element labelled `start`: each element's
    name (its label, text or name attribute)."""
    await page.get_by_label(start).focus()
    reached = []
    for _ in range(presses):
        await page.keyboard.press("Tab")
        reached.append(await page.evaluate(
            "() => { const e = document.activeElement; return (e.getAttribute('aria-label') || "
            "e.innerText || e.name || e.id || e.tagName).trim(); }"))
    return reached


_TABBABLE = """() => [...document.querySelectorAll(
    'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea')]
  .filter(e => e.offsetParent !== null && e.getAttribute('tabindex') !== '-1')
  .map(e => { const r = e.getBoundingClientRect();
               return [r.top, r.bottom, r.left, e.outerHTML.slice(0, 80)]; })"""


async def focus_follows_reading_order(page: Page) -> None:
    """Tab goes the way the page reads (WCAG 2.4.3): each next control is on a lower line, or on
    the same line further right; a control never comes before one above it."""
    controls = await page.evaluate(_TABBABLE)
    for (top, bottom, left, html), (next_top, _b, next_left, next_html) in itertools.pairwise(controls):
        same_line = next_top < bottom - 2
        assert (same_line and next_left >= left) or (not same_line and next_top >= top), \
            f"Tab goes from {html} back up or left to {next_html}"
