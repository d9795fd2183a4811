"""The committee's ranking page at a phone's 390 px and by keyboard: its table stacks each cell's figures with their
labels (no sideways scrolling of the page or inside the table's box), and the committee page's link to it and the
ranking's pager are reached with Tab and followed with Enter."""

import pytest
from playwright.async_api import Browser

from tests.support.system import RunningSystem
from tests.web.conftest import PERIOD, sign_in
from tests.web.test_cell_year_phone import PHONE, TABLES_FIT

pytestmark = pytest.mark.e2e


async def test_the_ranking_page_is_usable_on_a_phone_and_by_keyboard(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    page = await sign_in(browser, system, "officer", width=PHONE)
    await page.wait_for_url("**/app/committees/demo-tinh-uy")
    await page.goto(f"{system.gateway_url}/app/committees/demo-tinh-uy?period={PERIOD}")
    for _ in range(60):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "ranking-link":
            break
    assert await page.evaluate("document.activeElement.id") == "ranking-link"
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/app/committees/demo-tinh-uy/ranking*")
    await page.wait_for_selector("#ranking tbody tr[data-cell]")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert await page.evaluate(TABLES_FIT) == []
    rights = await page.evaluate(
        "Array.from(document.querySelectorAll('#ranking td, #ranking th')).map(c => c.getBoundingClientRect().right)"
    )
    assert rights and max(rights) <= PHONE, rights
    labels = await page.evaluate(
        "Array.from(document.querySelectorAll('#ranking tbody tr[data-cell] td[data-score]'))"
        ".map(c => getComputedStyle(c, '::before').content)"
    )
    assert labels and all("Điểm" in label for label in labels), labels
    await page.context.close()
