"""A committee's `GET /v1/committees/{c}/weakest?period=2026-H1` answered an empty list while the committee page of
the half-year listed its weakest cells (evaluation's queries.half_year_weakest: those rated Average or Poor in one of
its quarters). The API now answers the same cells, in the same order, from the same query, with its `limit`. Against
the real services."""

import re
import uuid
from datetime import datetime

import httpx
import pytest

from deploy.seed_demo import publish
from shared.periods import VIETNAM_TZ
from tests.support.quiet import wait_quiet
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import officer_api_headers, signed_in_officer
from tests.web.test_half_year_months_counted import committee_with_a_new_cell

pytestmark = pytest.mark.e2e

HALF = "2026-H1"
"""A half-year long ended: both its quarters closed, each a cell without a meeting rated Kém."""


async def test_the_api_lists_a_half_years_weakest_cells_as_the_committee_page_does(system: RunningSystem) -> None:
    """A committee's cell there since January without a meeting is Kém in both quarters of 2026-H1, one set up in
    April Kém in the second only: the API's weakest cells are both, the one Kém twice first, as the page lists them."""
    suffix = uuid.uuid4().hex[:8]
    committee, old, new = f"phuong-yeu-nhat-{suffix}", f"kp-kem-{suffix}", f"kp-kem-quy-hai-{suffix}"
    names = ("Đảng ủy phường Yếu Nhất", "Chi bộ khu phố Kém", "Chi bộ khu phố Kém Quý Hai")
    set_up_at = datetime(2026, 4, 3, 9, tzinfo=VIETNAM_TZ)
    events = committee_with_a_new_cell((committee, old, new), names, year=2026, set_up_at=set_up_at)
    amqp, database = system.env["CHIBO_AMQP_URL"], system.env["CHIBO_DATABASE_URL"]
    await publish(amqp, events)
    sub = f"can-bo-yeu-nhat-{suffix}"
    headers = await officer_api_headers(system, committee=committee, sub=sub)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:

        async def both_counted() -> bool:
            found = await api.get(f"/v1/committees/{committee}/rollup?period={HALF}")
            return found.status_code == 200 and found.json().get("cells") == 2

        await eventually(both_counted, timeout=300, interval=1)
        await wait_quiet(amqp, database, timeout=300)
        rollup = (await api.get(f"/v1/committees/{committee}/rollup?period={HALF}")).json()
        answer = await api.get(f"/v1/committees/{committee}/weakest?period={HALF}")
        assert answer.status_code == 200, answer.text
        weakest = answer.json()
        first = await api.get(f"/v1/committees/{committee}/weakest?period={HALF}&limit=1")
        assert first.status_code == 200, first.text
    assert [cell["cell_id"] for cell in rollup["weakest"]] == [old, new], rollup["weakest"]
    assert (weakest["committee_id"], weakest["period"]) == (committee, HALF)
    assert [cell["cell_id"] for cell in weakest["items"]] == [old, new], weakest
    kem = weakest["items"][0]
    assert kem["quarter_ratings"] == {"2026-Q1": "poor", "2026-Q2": "poor"} and kem["rating"] is None, kem
    assert weakest["items"][1]["quarter_ratings"] == {"2026-Q1": None, "2026-Q2": "poor"}, weakest
    # the roll-up's lines, figure for figure; the limit honoured as for any other period
    assert weakest["items"] == rollup["weakest"]
    assert [cell["cell_id"] for cell in first.json()["items"]] == [old], first.text
    async with signed_in_officer(system, sub, committee) as client:
        page = await client.get(f"/app/committees/{committee}?period={HALF}")
        assert page.status_code == 200, page.text[-800:]
    listed = re.search(r'<ol class="list" id="weakest">(.*?)</ol>', page.text, re.S)
    assert listed is not None, page.text[-3000:]
    assert re.findall(r'<li data-cell="([^"]+)"', listed.group(1)) == [old, new]
