"""The committee page with evaluation down: a trial's province page for 2026-H1 said "Chưa có dữ liệu" for both its
communes, a false statement (their data was there, evaluation was not answering) beside the weakest-cells box that
said rightly "Tạm thời chưa xem được…". Every part of the page read from evaluation now says it cannot be seen right
now, never that there is no data. Over the fakes."""

from collections.abc import AsyncIterator

import httpx
import pytest

from shared.envelope import now
from shared.periods import month_of
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
