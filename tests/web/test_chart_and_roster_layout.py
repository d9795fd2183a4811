"""In Debian's Chromium: the committee's rating chart draws every bar's name (a trial's 1280 px page with 5 bars
showed no "Khá" nor "Kém": ECharts thinned the category labels), and the record page's roster is usable at a
phone's 390 px (its reason column was cut off to the right): no sideways scrolling, each reason box on screen."""

import json
from datetime import datetime

import pytest
from playwright.async_api import Page

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import PERIOD, RUNNING, screenshot, sign_in
from tests.web.test_record_values import begun_meeting

NOT_ADOPTED = f"demo-cb-thon-1-{RUNNING}"
"""Thôn 1's meeting of this month, ahead, no minutes yet: its record page shows the roster form (an adopted one's is
read-only)."""

pytestmark = pytest.mark.e2e

DRAWN_TEXT = "Array.from(document.querySelectorAll('#chart-ratings svg text')).map(t => t.textContent).join(' ')"


async def labels_drawn(page: Page) -> tuple[list[str], str]:
    """The chart's bar names (its option's categories) and the text its SVG draws, spaces (and no-break ones)
    normalised."""
    await page.wait_for_selector('#chart-ratings[data-rendered="true"] svg')
    option = json.loads(await page.locator("#chart-ratings").get_attribute("data-chart") or "{}")
    drawn = " ".join(str(await page.evaluate(DRAWN_TEXT)).split())
    return [" ".join(name.split()) for name in option["xAxis"]["data"]], drawn


async def test_the_rating_chart_draws_every_bars_name(
    browser: object, system: RunningSystem, province: dict[str, str]
) -> None:
    page = await sign_in(browser, system, "officer")  # type: ignore[arg-type]
    await page.wait_for_url("**/app/committees/demo-tinh-uy")
    running = datetime.now(VIETNAM_TZ).strftime("%Y-%m")  # the four ratings and, once a cell has met, "not met yet"
    for period in (running, PERIOD):
        await page.goto(f"{system.gateway_url}/app/committees/demo-tinh-uy?period={period}")
        names, drawn = await labels_drawn(page)
        assert {"Tốt", "Khá", "Trung bình", "Kém"} <= set(names), names
        assert all(name in drawn for name in names), (period, names, drawn)
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone: still every name, wrapped
    await page.reload()
    names, drawn = await labels_drawn(page)
    assert all(" ".join(name.split()) in drawn for name in names), (names, drawn)
    await page.context.close()


async def test_the_roster_is_usable_on_a_phone(
    browser: object, system: RunningSystem, province: dict[str, str]
) -> None:
    begun, _starts = await begun_meeting(system, province)  # a meeting ahead shows no roster form until it begins
    page = await sign_in(browser, system, "secretary", width=390)  # type: ignore[arg-type]
    await page.wait_for_url("**/app/cells/demo-cb-thon-1")
    await page.goto(f"{system.gateway_url}/app/meetings/{begun}/record")
    await page.wait_for_selector("#roster-form")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # the table does not scroll inside its box either: every reason box lies within the screen
    assert await page.evaluate(
        "(() => { const t = document.querySelector('#roster-form');"
        " return t.scrollWidth <= t.parentElement.clientWidth + 1; })()"
    )
    rights = await page.evaluate(
        "Array.from(document.querySelectorAll('#roster-form input[name^=reason]'))"
        ".map(i => i.getBoundingClientRect().right)"
    )
    assert rights and max(rights) <= 390, rights
    await screenshot(page, "roster-phone-check")
    await page.context.close()
