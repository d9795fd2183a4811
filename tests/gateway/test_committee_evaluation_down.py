"""The committee page with evaluation down: a trial's province page for 2026-H1 said "Chưa có dữ liệu" for both its
communes, a false statement (their data was there, evaluation was not answering) beside the weakest-cells box that
said rightly "Tạm thời chưa xem được…". Every part of the page read from evaluation now says it cannot be seen right
now, never that there is no data. Over the fakes."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.gateway.http import reads
from shared.envelope import now
from shared.periods import month_of
from shared.rpc import ServiceUnavailable
from tests.gateway.conftest import OfficerWeb
from tests.gateway.fakes import FakeServices, World
from tests.support.ids import random_id
from tests.support.web import section

UNAVAILABLE = "Tạm thời chưa xem được kết quả xếp loại."


@pytest.fixture
async def province(world: World) -> tuple[str, str, str]:
    """(province, commune, cell): a province of the test's own with a commune (one cell under it) and a cell of its
    own, their data from December of last year."""
    year = int(month_of(now())[:4])
    province, commune = random_id("tinh"), random_id("xa")
    world.add_unit(province, "Tỉnh ủy Thử", "committee", None)
    world.add_unit(commune, "Đảng ủy xã Thử", "committee", province)
    world.add_unit(random_id("thon"), "Chi bộ thôn Thử", "cell", commune)
    cell = random_id("coquan")
    world.add_unit(cell, "Chi bộ cơ quan Thử", "cell", province)
    for unit in (province, commune):
        world.first_months[unit] = f"{year - 1}-12"
    return province, commune, cell


@pytest.fixture
async def web(officer_web: OfficerWeb, province: tuple[str, str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own, signed in as an officer of the province."""
    async with officer_web("tinh", province[0], peer=("203.0.113.12", 4716)) as client:
        yield client


async def test_with_evaluation_down_the_units_table_never_says_no_data(
    web: httpx.AsyncClient, province: tuple[str, str, str], fakes: FakeServices
) -> None:
    root, commune, cell = province
    period = month_of(now())
    await fakes.evaluation.stop()
    try:
        page = await web.get(f"/app/committees/{root}?period={period}")
    finally:
        await fakes.evaluation.start()
    assert page.status_code == 200, page.text[-2000:]
    table = section(page.text, 'id="children"', "</table>")
    assert f'data-unit="{commune}"' in table and f'data-unit="{cell}"' in table
    assert "Chưa có dữ liệu" not in page.text
    for unit in (commune, cell):
        row = section(table, f'data-unit="{unit}"', "</tr>")
        assert UNAVAILABLE in row, row
    assert UNAVAILABLE in section(page.text, 'id="weakest"', "</ol>")


async def test_evaluation_silent_on_where_the_data_begins_is_never_read_as_no_data(
    web: httpx.AsyncClient, province: tuple[str, str, str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page asked for a period evaluation has no roll-up of reads where the unit's data begins
    (data.committee_first_month: None while evaluation does not answer); evaluation silent then, that None is not
    known to be "no data" and the page does not say it."""
    root = province[0]
    this_month = month_of(now())
    world.first_months[root] = this_month
    asked = f"{int(this_month[:4]) - 1}-{this_month[5:]}"  # before the data: evaluation's not_found
    answered = reads.get_committee_rollup

    async def silent_on_this_month(committee_id: str, period: str, *args: Any, **kwargs: Any) -> Any:
        if period == this_month:
            raise ServiceUnavailable("evaluation")
        return await answered(committee_id, period, *args, **kwargs)

    monkeypatch.setattr(reads, "get_committee_rollup", silent_on_this_month)
    page = await web.get(f"/app/committees/{root}?period={asked}")
    assert page.status_code == 200, page.text[-2000:]
    assert "Chưa có dữ liệu" not in page.text
    assert 'data-state="unavailable"' in page.text and UNAVAILABLE in section(page.text, 'id="unrated"', "</section>")

    report = await web.get(f"/app/committees/{root}/report.csv?period={asked}")
    assert report.status_code == 503, report.text[-2000:]  # not the 404 of a period before the unit's data
