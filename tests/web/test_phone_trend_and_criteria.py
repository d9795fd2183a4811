"""In Debian's Chromium at a phone's 390 px (the Vietnamese readers' trial, h421): the 12-month chart's month names
no longer lie under its legend (the legend wrapped onto rows drawn over the x-axis labels), and the meeting page's
score table reads as one card a criterion (its three columns wrapped one word a line: a 10,715 px page)."""

import pytest
from playwright.async_api import Browser

from tests.support.system import RunningSystem
from tests.web.conftest import PERIOD, sign_in

pytestmark = pytest.mark.e2e

BOXES = """(() => Array.from(document.querySelectorAll('#chart-trend svg text')).map(t => {
  const r = t.getBoundingClientRect();
  return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
}))()"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two boxes share some area."""
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


async def test_the_trend_charts_legend_lies_clear_of_its_month_names_on_a_phone(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    page = await sign_in(browser, system, "officer", width=390)
    await page.wait_for_url("**/app/committees/demo-tinh-uy*")
    await page.goto(f"{system.gateway_url}/app/committees/demo-tinh-uy?period={PERIOD}")
    await page.wait_for_selector('#chart-trend[data-rendered="true"] svg')
    boxes = [box for box in await page.evaluate(BOXES) if box["text"].strip() and box["right"] > box["left"]]
    legend = [box for box in boxes if not box["text"].startswith("Tháng") and not box["text"].isdigit()]
    months = [box for box in boxes if box["text"].startswith("Tháng")]
    assert len(legend) == 3 and months, boxes
    chart = await page.evaluate(
        "(() => { const r = document.querySelector('#chart-trend').getBoundingClientRect();"
        " return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })()"
    )
    for box in legend:
        assert chart["left"] <= box["left"] and box["right"] <= chart["right"] + 1, (box, chart)
        assert box["bottom"] <= chart["bottom"] + 1, (box, chart)
        assert not [month for month in months if overlap(month, box)], (box, months)
    await page.context.close()


async def test_the_meetings_score_table_reads_as_cards_on_a_phone(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    page = await sign_in(browser, system, "officer", width=390)
    await page.wait_for_url("**/app/committees/demo-tinh-uy*")
    await page.goto(f"{system.gateway_url}/app/meetings/demo-cb-thon-2-{PERIOD}")
    await page.wait_for_selector("#criteria tbody tr")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    widths = await page.evaluate(
        "Array.from(document.querySelectorAll('#criteria tbody td')).map(td => td.getBoundingClientRect().width)"
    )
    assert widths and min(widths) >= 250, widths  # each part of a criterion as wide as the card, not a column
    # each figure is labelled as its column was ("Điểm: "), the heading row not shown
    labels = await page.evaluate(
        "Array.from(document.querySelectorAll('#criteria tbody td.num'))"
        ".map(td => getComputedStyle(td, '::before').content)"
    )
    assert labels and all(label == '"Điểm: "' for label in labels), labels
    # a criterion, its figure and how it was judged in a few lines (one word a line made each row a screen tall)
    heights = await page.evaluate(
        "Array.from(document.querySelectorAll('#criteria tbody tr')).map(tr => tr.getBoundingClientRect().height)"
    )
    assert max(heights) <= 300, heights
    await page.context.close()
