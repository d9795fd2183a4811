"""The committee's ranking page lists the subtree's cells in the API's order with the API's figures, a page at a
time, and only the officer's own committee: a trial's officers saw only the weakest cells on the web app while the
full ranking was in the API (GET /v1/committees/{id}/ranking) and the report CSV alone."""

import re
from html import unescape

import httpx
import pytest

from services.gateway.web.i18n import format_number
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import MONTHS, PERIOD, signed_in

pytestmark = pytest.mark.e2e

LABEL = ' data-label="[^"]*"'
"""A stacked cell's label (its column's heading, shown before it at a phone's width)."""


def shows(row: str, figure: str, text: str) -> bool:
    """Whether a ranking row's cell marked `data-<figure>` reads `text`."""
    return re.search(f"data-{figure}{LABEL}>{re.escape(unescape(text))}<", unescape(row)) is not None


def shows_share(row: str, figure: str, share: float) -> bool:
    """Whether a ranking row's cell marked `data-<figure>` reads the API's `share` (given to 4 places) as the page
    rounds the exact share once: within half a tenth of a point of it, and the API's own rounding (a rate of 7/13,
    0.53846…, reads 53,8% though the API's 0.5385 would round again to 53,9%)."""
    found = re.search(f"data-{figure}{LABEL}>([0-9.]+(?:,[0-9])?)%<", unescape(row))
    if found is None:
        return False
    shown = float(found.group(1).replace(".", "").replace(",", "."))
    return abs(shown - share * 100) <= 0.05 + 0.005 + 1e-9


ROW = re.compile(r'<tr data-cell="([^"]+)" data-rank="(\d+)">(.*?)</tr>', re.S)


def rows_of(page: str) -> list[tuple[str, int, str]]:
    """The ranking table's rows: cell id, rank and the row's cells' text."""
    return [(cell, int(rank), unescape(re.sub(r"<[^>]+>", " ", body))) for cell, rank, body in ROW.findall(page)]


async def test_the_ranking_page_lists_the_apis_ranking_a_page_at_a_time(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    async with signed_in(system, "officer") as client:
        committee = (await client.get(f"/app/committees/demo-tinh-uy?period={PERIOD}")).text
        assert f"/app/committees/demo-tinh-uy/ranking?period={PERIOD}" in committee

        async def settled(offset: int) -> tuple[dict, str] | None:
            query = f"period={PERIOD}&limit=20&offset={offset}"
            before = (await api.get(f"/v1/committees/demo-tinh-uy/ranking?{query}")).json()
            page = await client.get(f"/app/committees/demo-tinh-uy/ranking?period={PERIOD}&offset={offset}")
            after = (await api.get(f"/v1/committees/demo-tinh-uy/ranking?{query}")).json()
            assert page.status_code == 200, page.text[-2000:]
            return (after, page.text) if before == after else None

        ranking, page = await eventually(lambda: settled(0), timeout=120, interval=1)
        assert ranking["items"], ranking
        rows = rows_of(page)
        assert [cell for cell, _, _ in rows] == [item["cell_id"] for item in ranking["items"]]
        assert [rank for _, rank, _ in rows] == list(range(1, len(rows) + 1))
        for (_, _, text), item in zip(rows, ranking["items"], strict=True):
            if item.get("score") is not None:
                assert format_number(item["score"]) in text, (text, item)
            if item.get("provisional"):
                assert "(tạm tính)" in text, text
        if ranking["total"] > 20:
            more, second = await eventually(lambda: settled(20), timeout=120, interval=1)
            assert [cell for cell, _, _ in rows_of(second)] == [item["cell_id"] for item in more["items"]]
            assert rows_of(second)[0][1] == 21


async def test_the_ranking_page_of_another_committee_is_not_found(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    async with signed_in(system, "commune-officer") as client:
        own = await client.get(f"/app/committees/demo-xa-hoa-binh/ranking?period={PERIOD}")
        other = await client.get(f"/app/committees/demo-phuong-an-phu/ranking?period={PERIOD}")
        province = await client.get(f"/app/committees/demo-tinh-uy/ranking?period={PERIOD}")
    assert own.status_code == 200
    assert other.status_code == province.status_code == 404
    ranking = (await api.get(f"/v1/committees/demo-phuong-an-phu/ranking?period={PERIOD}&limit=200")).json()
    for item in ranking["items"]:
        assert f'data-cell="{item["cell_id"]}"' not in own.text


async def test_the_ranking_page_shows_each_cells_thematic_meetings_and_rates_as_its_own_period_says(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    """Officers compare cells by their thematic meetings, attendance and speaking (DOMAIN.md "Periods"): the ranking
    (API and page) gives each cell's, as the cell's own ratings give them, the rates as percentages."""
    # the year of the demo's latest quarter-end month: each cell held a thematic (combined) meeting in it
    year = max(month for month in MONTHS if int(month[5:]) % 3 == 0)[:4]
    cells = ["demo-cb-thon-1", "demo-cb-thon-2"]
    async with signed_in(system, "commune-officer") as client:
        for period in (PERIOD, year):

            async def settled(period: str = period) -> tuple[dict, dict, str] | None:
                before = (await api.get(f"/v1/committees/demo-xa-hoa-binh/ranking?period={period}")).json()
                own = {
                    cell: (await api.get(f"/v1/cells/{cell}/ratings?period={period}")).json()["items"] for cell in cells
                }
                page = await client.get(f"/app/committees/demo-xa-hoa-binh/ranking?period={period}")
                after = (await api.get(f"/v1/committees/demo-xa-hoa-binh/ranking?period={period}")).json()
                assert page.status_code == 200, page.text[-2000:]
                return (after, own, page.text) if before == after else None

            ranking, own, page = await eventually(settled, timeout=120, interval=1)
            lines = {item["cell_id"]: item for item in ranking["items"]}
            for cell in cells:
                mine = next(row for row in own[cell] if row["period"] == period)
                line = lines[cell]
                assert mine["attendance_rate"] is not None and mine["speaking_rate"] is not None, mine
                figures = [line.get(key) for key in ("thematic_held", "attendance_rate", "speaking_rate")]
                assert figures == [mine["thematic_held"], mine["attendance_rate"], mine["speaking_rate"]], (
                    period,
                    line,
                    mine,
                )
                shown = re.search(f'<tr data-cell="{cell}".*?</tr>', page, re.S)
                assert shown is not None
                assert shows(shown.group(0), "thematic-held", format_number(mine["thematic_held"]))
                assert shows_share(shown.group(0), "attendance-rate", mine["attendance_rate"]), shown.group(0)
                assert shows_share(shown.group(0), "speaking-rate", mine["speaking_rate"]), shown.group(0)
            if period == year:
                assert all(lines[cell]["thematic_held"] for cell in cells), lines
    assert ">Số buổi chuyên đề<" in page and ">Tỷ lệ dự sinh hoạt<" in page and ">Tỷ lệ phát biểu<" in page
