"""In Debian's Chromium at a phone's 390 px: a cell's year page ("Các quý và cả năm") scrolled sideways and its
rating reasons wrapped one word per line in a squeezed column. Each table of the page now fits the screen (no
sideways scrolling of the page or inside a table's box) and every rating reason has a readable width."""

import pytest
from playwright.async_api import Browser

from tests.support.system import RunningSystem
from tests.web.conftest import PERIOD, screenshot, sign_in

pytestmark = pytest.mark.e2e

PHONE = 390

TABLES_FIT = (
    "Array.from(document.querySelectorAll('main table')).filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)"
    ".map(t => t.id || t.className || t.caption?.textContent)"
)
"""The page's tables wider than their box (each would scroll sideways inside it)."""
REASON_WIDTHS = (
    "Array.from(document.querySelectorAll('[data-rating-reason]')).map(r => r.getBoundingClientRect().width)"
)


CELLS = ("demo-cb-thon-1", "demo-cb-thon-2", "demo-cb-truong-th", "demo-cb-kp-3", "demo-cb-tram-yte", "demo-cb-cong-an")
"""The demo's cells (deploy/seed_demo.py): weak, missed and fair ones have quarters rated below their score's band."""


async def test_the_cell_year_page_is_usable_on_a_phone(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    page = await sign_in(browser, system, "officer", width=PHONE)
    await page.wait_for_url("**/app/committees/demo-tinh-uy")
    reasons: list[float] = []
    for cell in CELLS:
        await page.goto(f"{system.gateway_url}/app/cells/{cell}?year={PERIOD[:4]}")
        await page.wait_for_selector("#quarters")
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), cell
        assert await page.evaluate(TABLES_FIT) == [], cell
        rights = await page.evaluate(
            "Array.from(document.querySelectorAll('#quarters td, #quarters th'))"
            ".map(c => c.getBoundingClientRect().right)"
        )
        assert rights and max(rights) <= PHONE, (cell, rights)
        widths = await page.evaluate(REASON_WIDTHS)
        assert all(width >= PHONE / 2 for width in widths), (cell, widths)  # lines of words, not a word a line
        reasons += widths
        if widths:
            await screenshot(page, "cell-year-phone-check")
    assert reasons  # some demo quarter said why it is rated below its band
    await page.context.close()
