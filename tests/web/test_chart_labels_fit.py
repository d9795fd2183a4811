"""In Debian's Chromium: no chart on the committee page draws a text over another or outside its box. A trial's
province officer at 390 px read "Trung bình" and "Chưa sinh hoạt thường kỳ" under the rating chart drawn over
each other and cut off at its bottom; every chart the officer pages draw (the rating chart and the 12-month trend),
in a closed month and in the month in progress, at a phone's 390 px (the rating
chart laid on its side) and a desk's 1,366 px (its bars upright, each name wrapped under its bar)."""

import json

import pytest
from playwright.async_api import Page

from tests.support.system import RunningSystem
from tests.web.conftest import PERIOD, RUNNING, screenshot, sign_in

pytestmark = pytest.mark.e2e

CHARTS = ("#chart-ratings", "#chart-trend")

TEXT_BOXES = """(selector) => {
  const chart = document.querySelector(selector);
  const box = chart.querySelector('svg').getBoundingClientRect();
  const texts = Array.from(chart.querySelectorAll('svg text'))
    .filter(t => t.textContent.trim() && getComputedStyle(t).display !== 'none' && t.getAttribute('opacity') !== '0')
    .map(t => { const r = t.getBoundingClientRect();
      return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })
    .filter(r => r.right > r.left && r.bottom > r.top);
  return {box: {left: box.left, right: box.right, top: box.top, bottom: box.bottom}, texts: texts};
}"""


def clipped(box: dict[str, float], texts: list[dict[str, float | str]]) -> list[str]:
    """The texts reaching outside the chart's SVG (1 px of slack for anti-aliasing)."""
    return [
        str(t["text"])
        for t in texts
        if float(t["left"]) < box["left"] - 1
        or float(t["right"]) > box["right"] + 1
        or float(t["top"]) < box["top"] - 1
        or float(t["bottom"]) > box["bottom"] + 1
    ]


def overlapping(texts: list[dict[str, float | str]]) -> list[tuple[str, str]]:
    """The pairs of texts whose boxes cross by more than 1 px each way."""
    pairs = []
    for index, a in enumerate(texts):
        for b in texts[index + 1 :]:
            across = min(float(a["right"]), float(b["right"])) - max(float(a["left"]), float(b["left"]))
            down = min(float(a["bottom"]), float(b["bottom"])) - max(float(a["top"]), float(b["top"]))
            if across > 1 and down > 1:
                pairs.append((str(a["text"]), str(b["text"])))
    return pairs


async def faults(page: Page) -> dict[str, object]:
    """Every chart's clipped texts and overlapping pairs, by chart; empty when all fit."""
    found: dict[str, object] = {}
    for selector in CHARTS:
        await page.wait_for_selector(f'{selector}[data-rendered="true"] svg')
        drawn = await page.evaluate(TEXT_BOXES, selector)
        assert drawn["texts"], selector  # the chart drew its labels
        cut, crossed = clipped(drawn["box"], drawn["texts"]), overlapping(drawn["texts"])
        if cut or crossed:
            found[selector] = {"clipped": cut, "overlapping": crossed}
    return found


@pytest.mark.parametrize("width", [390, 1366])
async def test_no_chart_label_overlaps_or_is_cut_off(
    browser: object, system: RunningSystem, province: dict[str, str], width: int
) -> None:
    page = await sign_in(browser, system, "officer", width=width)  # type: ignore[arg-type]
    await page.wait_for_url("**/app/committees/demo-tinh-uy")
    found = {}
    for period in (RUNNING, PERIOD):
        await page.goto(f"{system.gateway_url}/app/committees/demo-tinh-uy?period={period}")
        if fault := await faults(page):
            found[period] = fault
        await screenshot(page, f"chart-labels-{width}-{period}")  # only when CHIBO_SCREENSHOTS names a directory
        # the table under the chart stays, whatever way the chart is laid
        assert await page.locator("#chart-ratings + table").is_visible()
    assert not found, found
    await page.context.close()


# The Vietnamese compounds of the charts' labels (ratings, the not-met bar, the trend's series) that a line must not
# split: a trial read "Chưa sinh hoạt thường / kỳ" at 390 px. Written here apart from the app's own list.
COMPOUNDS = {"sinh hoạt", "thường kỳ", "trung bình", "bình quân", "tỷ lệ", "đều đặn", "hoàn thành", "nhiệm vụ"}

LINES = """(selector) => Array.from(document.querySelectorAll(selector + ' svg text'))
  .filter(t => t.textContent.trim() && getComputedStyle(t).display !== 'none' && t.getAttribute('opacity') !== '0')
  .map(t => t.textContent.replace(/\\u00a0/g, ' ').trim())"""


def said(text: str) -> str:
    """A label as read, its non-breaking spaces as spaces."""
    return text.replace("\u00a0", " ").strip()


def drawn_lines(label: str, lines: list[str]) -> list[str] | None:
    """The run of consecutive drawn lines that reads `label` (joined by spaces), or None when none does."""
    for start in range(len(lines)):
        for end in range(start + 1, len(lines) + 1):
            if " ".join(lines[start:end]) == label:
                return lines[start:end]
            if len(" ".join(lines[start:end])) >= len(label):
                break
    return None


def split_badly(lines: list[str]) -> list[str]:
    """The line breaks inside a compound, before a parenthesised unit ("(%)") or before a period's number."""
    bad = []
    for before, after in zip(lines, lines[1:], strict=False):
        pair = f"{before.split()[-1]} {after.split()[0]}".lower()
        if pair in COMPOUNDS or after.startswith("(") or after[0].isdigit():
            bad.append(f"{before} / {after}")
    return bad


@pytest.mark.parametrize("width", [390, 1366])
async def test_chart_labels_break_only_between_words(
    browser: object, system: RunningSystem, province: dict[str, str], width: int
) -> None:
    page = await sign_in(browser, system, "commune-officer", width=width)  # type: ignore[arg-type]
    await page.wait_for_url("**/app/committees/demo-xa-hoa-binh*")
    found: dict[str, object] = {}
    wrapped: dict[str, list[str]] = {}
    for period in (RUNNING, PERIOD):
        await page.goto(f"{system.gateway_url}/app/committees/demo-xa-hoa-binh?period={period}")
        for selector in CHARTS:
            await page.wait_for_selector(f'{selector}[data-rendered="true"] svg')
            option = json.loads(await page.locator(selector).get_attribute("data-chart") or "{}")
            lines = await page.evaluate(LINES, selector)
            axes = [axis for axis in (option["xAxis"], option["yAxis"]) if axis.get("type") == "category"]
            whole = [axis for axis in axes if axis.get("axisLabel", {}).get("interval") == 0]
            every = [said(name) for axis in whole for name in axis["data"]]
            some = [said(name) for axis in axes for name in axis["data"]] + [said(s["name"]) for s in option["series"]]
            for label in dict.fromkeys(every + some):
                drawn = drawn_lines(label, lines)
                if drawn is None:
                    # every name of a bar chart is drawn (interval 0), each whole, in lines split at spaces
                    assert label not in every, (period, selector, label, lines)
                    continue
                if len(drawn) > 1:
                    wrapped[label] = drawn
                if bad := split_badly(drawn):
                    found[f"{period} {selector} {label}"] = bad
    assert not found, found
    # the trial's label, wherever it wraps ("Chưa sinh hoạt" / "thường kỳ" at 390 px), keeps each compound on a line
    if (lines := wrapped.get("Chưa sinh hoạt thường kỳ")) is not None:
        assert {"sinh hoạt", "thường kỳ"} <= {compound for line in lines for compound in COMPOUNDS if compound in line}
    await page.context.close()
