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
from tests.web.conftest import PERIOD, signed_in

pytestmark = pytest.mark.e2e

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
