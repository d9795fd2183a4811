"""The committee's ranking page says why a cell's period is rated below its score's band, as the committee's overview,
the report's CSV ("Lý do xếp loại") and PDF do: a trial's officer read "92,5 | Khá" on the ranking with no word why
(the quarter was Khá for want of a second month rated Tốt). Worded by i18n.rating_reason alone, from evaluation's
`rating_reason` on the API's ranking line; over the real services and the demo province."""

import csv
import io
import re
from html import unescape
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser

from services.gateway.web.i18n import rating_reason
from shared.periods import half_quarters
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import MONTHS, screenshot, sign_in, signed_in
from tests.web.test_cell_year_phone import PHONE, REASON_WIDTHS, TABLES_FIT

pytestmark = pytest.mark.e2e

COMMITTEE = "demo-tinh-uy"
PAGE = 50
"""The ranking page's cells a page (pages.officer.RANKING_PAGE)."""


def closed_quarters() -> list[str]:
    """The demo's quarters whose three months are all in its closed history, `YYYY-Qn`."""
    quarters = {f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}" for month in MONTHS}
    return sorted(
        quarter
        for quarter in quarters
        if all(f"{quarter[:4]}-{(int(quarter[-1]) - 1) * 3 + step:02d}" in MONTHS for step in (1, 2, 3))
    )


def text_of(html: str) -> str:
    """The words of a piece of a page, its tags taken out."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


async def whole_ranking(api: httpx.AsyncClient, period: str) -> list[dict[str, Any]]:
    """The committee's whole ranking of `period` as the API answers it, best first."""
    items: list[dict[str, Any]] = []
    while True:
        found = await api.get(f"/v1/committees/{COMMITTEE}/ranking?period={period}&limit=200&offset={len(items)}")
        assert found.status_code == 200, found.text
        body = found.json()
        items += body["items"]
        if not body["items"] or len(items) >= int(body["total"]):
            return items


async def fair_with_a_good_score(api: httpx.AsyncClient) -> tuple[str, int, dict[str, Any]]:
    """The first demo quarter line rated Khá whose score reached Tốt: its quarter, index in the ranking, line."""
    for quarter in closed_quarters():
        for index, item in enumerate(await whole_ranking(api, quarter)):
            reason = item.get("rating_reason") or {}
            if item.get("rating") == "fair" and reason.get("band") == "good":
                return quarter, index, item
    raise AssertionError(f"no quarter line rated Khá with a score at Tốt in {closed_quarters()}")


async def test_the_ranking_page_says_why_a_cell_with_a_good_score_is_rated_fair(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    """A quarter's cell rated Khá whose score reached Tốt (evaluation's month-by-month rule) reads its reason under
    its rating on the ranking page, the overview's words; so does every other line with a reason on its page."""
    quarter, index, line = await fair_with_a_good_score(api)
    said = rating_reason(line, quarter)
    assert said and said.startswith("Khá dù điểm đạt mức Tốt"), said
    async with signed_in(system, "officer") as client:

        async def settled() -> tuple[list[dict[str, Any]], str] | None:
            offset = index // PAGE * PAGE
            query = f"period={quarter}&limit={PAGE}&offset={offset}"
            before = (await api.get(f"/v1/committees/{COMMITTEE}/ranking?{query}")).json()
            page = await client.get(f"/app/committees/{COMMITTEE}/ranking?period={quarter}&offset={offset}")
            after = (await api.get(f"/v1/committees/{COMMITTEE}/ranking?{query}")).json()
            assert page.status_code == 200, page.text[-2000:]
            return (after["items"], page.text) if before == after else None

        items, page = await eventually(settled, timeout=120, interval=1)
    for item in items:
        row = re.search(f'<tr data-cell="{item["cell_id"]}"[^>]*>(.*?)</tr>', page, re.S)
        assert row is not None, item["cell_id"]
        why = rating_reason(item, quarter)
        assert ("data-rating-reason" in row.group(1)) == bool(why), (item, row.group(1))
        if why:
            assert why in text_of(row.group(1)), (why, text_of(row.group(1)))
    assert said in text_of(page), text_of(page)


async def test_the_ranking_pages_reasons_read_as_lines_on_a_phone(
    browser: Browser, system: RunningSystem, api: httpx.AsyncClient
) -> None:
    """At a phone's 390 px the reason is a second line under the rating, as wide as the stacked row (not a word a
    line), and nothing scrolls sideways."""
    quarter, index, line = await fair_with_a_good_score(api)
    page = await sign_in(browser, system, "officer", width=PHONE)
    await page.wait_for_url(f"**/app/committees/{COMMITTEE}")
    await page.goto(
        f"{system.gateway_url}/app/committees/{COMMITTEE}/ranking?period={quarter}&offset={index // PAGE * PAGE}"
    )
    reason = page.locator(f'#ranking tr[data-cell="{line["cell_id"]}"] [data-rating-reason]')
    await reason.wait_for()
    assert await reason.is_visible()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert await page.evaluate(TABLES_FIT) == []
    widths = await page.evaluate(REASON_WIDTHS)
    assert widths and all(PHONE / 2 <= width <= PHONE for width in widths), widths
    await page.set_viewport_size({"width": 1280, "height": 900})
    await screenshot(page, "ranking-reasons")
    await page.context.close()


def closed_halves() -> list[str]:
    """The demo's half-years whose two quarters are both in its closed history, `YYYY-Hn`."""
    quarters = set(closed_quarters())
    halves = {f"{quarter[:4]}-H{(int(quarter[-1]) + 1) // 2}" for quarter in quarters}
    return sorted(half for half in halves if all(q in quarters for q in half_quarters(half)))


async def test_a_half_years_lines_give_their_quarters_reasons_on_the_ranking_page_and_csv(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    """A half-year has no rating of its own: its line shows its quarters' ratings, and now their reasons, each the
    quarter's own (the API's `quarter_reasons` is the quarter ranking's `rating_reason` of the cell), on the ranking
    page and in the report's CSV in the words of i18n.rating_reason."""
    found: tuple[str, int, dict[str, Any]] | None = None
    for half in closed_halves():
        for index, item in enumerate(await whole_ranking(api, half)):
            if rating_reason(item, half):
                found = (half, index, item)
                break
        if found:
            break
    assert found is not None, f"no half-year line with a quarter's reason in {closed_halves()}"
    half, index, line = found
    for quarter in half_quarters(half):
        own = {item["cell_id"]: item for item in await whole_ranking(api, quarter)}[line["cell_id"]]
        assert line["quarter_ratings"][quarter] == own["rating"], (quarter, line, own)
        assert line["quarter_reasons"][quarter] == own["rating_reason"], (quarter, line, own)
    said = rating_reason(line, half)
    assert said and said.startswith("Quý "), said
    async with signed_in(system, "officer") as client:
        offset = index // PAGE * PAGE
        page = await client.get(f"/app/committees/{COMMITTEE}/ranking?period={half}&offset={offset}")
        report = await client.get(f"/app/committees/{COMMITTEE}/report.csv?period={half}")
    assert page.status_code == 200, page.text[-2000:]
    row = re.search(f'<tr data-cell="{line["cell_id"]}"[^>]*>(.*?)</tr>', page.text, re.S)
    assert row is not None and "data-rating-reason" in row.group(1), line["cell_id"]
    assert said in text_of(row.group(1)), (said, text_of(row.group(1)))
    assert report.status_code == 200, report.text[-2000:]
    header, *rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";"))
    assert header[-1] == "Lý do xếp loại"
    assert {cells[0]: cells for cells in rows}[line["cell_id"]][-1] == said
