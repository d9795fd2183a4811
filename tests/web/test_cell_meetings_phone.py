"""In Debian's Chromium at a phone's 390 px: a cell's list of meetings ran off the screen, its "Tình trạng" column out
of sight with nothing to say it was there. The list now stacks each meeting's time, kind, topic and status, labelled,
as the app's other phone tables do: every cell of it lies within the screen, for a member and an officer, in the years
with and without topics."""

import pytest
from playwright.async_api import Browser

from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, sign_in

pytestmark = pytest.mark.e2e

PHONE = 390

CELLS_RIGHT = "Array.from(document.querySelectorAll('#meetings td')).map(c => c.getBoundingClientRect().right)"
STATUS_SHOWN = (
    "Array.from(document.querySelectorAll('#meetings td[data-status]'))"
    ".filter(c => c.getBoundingClientRect().width > 0 && c.getBoundingClientRect().right <= window.innerWidth)"
    ".map(c => getComputedStyle(c, '::before').content)"
)


async def test_a_cells_meetings_fit_a_phone_with_their_status_labelled(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    for who, landing in (("member", "**/app/**"), ("officer", "**/app/committees/demo-tinh-uy")):
        page = await sign_in(browser, system, who, width=PHONE)
        await page.wait_for_url(landing)
        for year in sorted({DEMO.first_year, DEMO.period[:4]}):
            await page.goto(f"{system.gateway_url}/app/cells/demo-cb-thon-1?year={year}")
            await page.wait_for_selector("#meetings")
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (who, year)
            rights = await page.evaluate(CELLS_RIGHT)
            assert rights and max(rights) <= PHONE, (who, year, rights)
            statuses = await page.evaluate(STATUS_SHOWN)
            count = await page.locator("#meetings td[data-status]").count()
            assert count and len(statuses) == count and set(statuses) == {'"Tình trạng"'}, (who, year, statuses)
        await page.context.close()
