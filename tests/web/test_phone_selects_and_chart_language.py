"""A new user's trial (trial 44) in Debian's Chromium: the committee page's charts speak Vietnamese (tooltips with a
decimal comma, a Vietnamese accessible description instead of ECharts' English one), and at a phone's 390 px the
meeting forms' selects stay within their card."""

import json
import re

import pytest
from playwright.async_api import Browser, Page

from tests.support.system import RunningSystem
from tests.web.conftest import sign_in

pytestmark = pytest.mark.e2e

PHONE = 390

OUTSIDE_CARD = (
    "Array.from(document.querySelectorAll('main select, main input, main textarea'))"
    ".filter(f => f.type !== 'hidden' && f.closest('.card'))"
    ".map(f => { const card = f.closest('.card'), style = getComputedStyle(card);"
    " return [f.name, f.getBoundingClientRect().right, card.getBoundingClientRect().right"
    " - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth)]; })"
    ".filter(([_name, right, edge]) => right > edge + 0.5)"
)
"""The page's form fields that reach past the right edge of their card's content: name, field's right, edge (px)."""


async def test_the_meeting_forms_selects_stay_within_their_card_on_a_phone(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    page = await sign_in(browser, system, "secretary", width=PHONE)
    await page.wait_for_url("**/app/cells/demo-cb-thon-1")
    for form in ("new", "held"):
        await page.goto(f"{system.gateway_url}/app/cells/demo-cb-thon-1/meetings/{form}")
        await page.get_by_label("Loại buổi sinh hoạt").wait_for()
        assert await page.evaluate(OUTSIDE_CARD) == [], form
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), form
    await page.context.close()


TOOLTIP = (
    "(() => { const el = document.querySelector('#chart-trend');"
    " return Array.from(el.querySelectorAll('div')).filter(d => !d.querySelector('svg') && d.innerText.trim())"
    ".map(d => d.innerText).join(' | '); })()"
)
"""The text of the trend chart's tooltip (ECharts draws it as a div inside the chart's element, beside the SVG)."""


async def trend_tooltip(page: Page, index: int) -> str:
    """The trend chart's tooltip text once shown over month `index`."""
    await page.evaluate(
        "(i) => window.echarts.getInstanceByDom(document.querySelector('#chart-trend'))"
        ".dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: i})",
        index,
    )
    await page.wait_for_function(f"{TOOLTIP}.length > 0")
    return str(await page.evaluate(TOOLTIP))


async def test_the_committee_charts_speak_vietnamese(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    page = await sign_in(browser, system, "officer")
    await page.wait_for_url("**/app/committees/demo-tinh-uy")
    await page.goto(f"{system.gateway_url}/app/committees/demo-xa-hoa-binh")
    for chart in ("#chart-ratings", "#chart-trend"):
        await page.wait_for_selector(f'{chart}[data-rendered="true"] svg')
        label = await page.locator(chart).get_attribute("aria-label") or ""
        assert label.startswith("Biểu đồ"), (chart, label)
        assert "chart" not in label and "series" not in label, (chart, label)
    ratings = await page.locator("#chart-ratings").get_attribute("aria-label") or ""
    assert all(rating in ratings for rating in ("Tốt", "Khá", "Trung bình", "Kém")), ratings
    option = json.loads(await page.locator("#chart-trend").get_attribute("data-chart") or "{}")
    scores = option["series"][0]["data"]
    index = max(i for i, score in enumerate(scores) if score is not None and score != int(score))
    trend = await page.locator("#chart-trend").get_attribute("aria-label") or ""
    assert "Điểm bình quân" in trend and str(scores[index]).replace(".", ",") in trend, trend
    tooltip = await trend_tooltip(page, index)
    assert str(scores[index]).replace(".", ",") in tooltip, (scores[index], tooltip)
    assert not re.search(r"[0-9][.][0-9]", tooltip), tooltip
    await page.context.close()
