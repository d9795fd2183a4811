"""The committee page's period picker with evaluation down: it offered the last 12 months and 4 quarters only, so a
trial's province with data from December 2025 lost Tháng 12/2025 and Quý IV/2025 (while still offering the year
2025). The periods offered no longer hang on evaluation answering: the first month it last told this gateway, else
every month and quarter of this year and last (the calendar's), and the page says it could not read them. Over the
fakes."""

from collections.abc import AsyncIterator

import httpx
import pytest

from shared.envelope import now
from shared.periods import month_of
from tests.gateway.conftest import OfficerWeb, TokenFactory
from tests.gateway.fakes import FakeServices, World
from tests.support.ids import random_id
from tests.support.web import section, values_after


@pytest.fixture
async def committees(world: World, token_for: TokenFactory) -> tuple[str, str]:
    """Two committees of the test's own, one cell each, their data from December of last year: one whose page is
    read before evaluation stops, one never read."""
    year = int(month_of(now())[:4])
    pair = []
    for name in ("xa", "phuong"):
        committee, cell = random_id(name), random_id("thon")
        world.add_unit(committee, "Đảng ủy Thử", "committee", None)
        world.add_unit(cell, "Chi bộ thôn Thử", "cell", committee)
        world.first_months[committee] = f"{year - 1}-12"
        pair.append(committee)
    return pair[0], pair[1]


@pytest.fixture
async def web(officer_web: OfficerWeb, committees: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own, signed in as a province officer (both committees are roots: its own is the first)."""
    async with officer_web("tinh", committees[0], peer=("203.0.113.10", 4714)) as client:
        yield client


def offered(page: str) -> list[str]:
    """The periods the picker offers."""
    return values_after(section(page, 'id="period"', "</select>"), '<option value="')


async def test_the_periods_offered_stay_while_evaluation_is_down(
    web: httpx.AsyncClient, committees: tuple[str, str], fakes: FakeServices
) -> None:
    read, _ = committees
    year = int(month_of(now())[:4])
    december, q4 = f"{year - 1}-12", f"{year - 1}-Q4"
    before = await web.get(f"/app/committees/{read}")
    assert before.status_code == 200 and december in offered(before.text) and q4 in offered(before.text)
    await fakes.evaluation.stop()
    try:
        during = await web.get(f"/app/committees/{read}")
        assert during.status_code == 200, during.text[-2000:]
        assert offered(during.text) == offered(before.text)
        assert 'id="periods-unknown"' not in during.text
    finally:
        await fakes.evaluation.start()


async def test_a_committee_never_read_is_offered_the_calendars_periods_and_told_so(
    officer_web: OfficerWeb, committees: tuple[str, str], fakes: FakeServices
) -> None:
    _, never_read = committees
    year = int(month_of(now())[:4])
    await fakes.evaluation.stop()
    try:
        async with officer_web("phuong", never_read, peer=("203.0.113.11", 4715)) as client:
            page = await client.get(f"/app/committees/{never_read}")
            assert page.status_code == 200, page.text[-2000:]
            shown = offered(page.text)
            last_year = [f"{year - 1}-{month:02d}" for month in range(1, 13)] + [
                f"{year - 1}-Q{q}" for q in range(1, 5)
            ]
            assert set(last_year) <= set(shown), shown
            assert str(year - 1) in shown and str(year) in shown
            assert 'id="periods-unknown"' in page.text and "Dịch vụ đánh giá chưa phản hồi" in page.text
    finally:
        await fakes.evaluation.start()
