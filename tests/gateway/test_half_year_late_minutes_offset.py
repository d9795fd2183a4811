"""A new user's trial: `/app/committees/demo-tinh-uy?period=2026-H1&late_offset=3` as can-bo-tinh (the demo province:
3 meetings with late minutes in Q1, 3 in Q2) said "Trang này đã vượt quá cuối danh sách" instead of listing April to
June; `late_offset=1` worked.

The cause is in services/gateway/web/data.late_minutes (which h323 replaces: notifications answering a half-year
itself): it asks the first quarter from `offset` and the second from `offset - first.total`, but notifications answers
a page past its end with `total` 0 (its count comes with the page's rows: services/notifications/queries.py
late_minutes), so an offset at or past the first quarter's count reads the second quarter from `offset` too, past its
end as well, and the half-year counts none. Notifications now answers a half-year itself, in one list; the fakes
answer the quarters and the half-year alike, as notifications pages them."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import OfficerWeb
from tests.gateway.fakes import World
from tests.support.ids import random_id
from tests.support.web import section, values_after

HALF_YEAR = "2026-H1"


def late_meeting(cell: str, month: int) -> dict[str, Any]:
    """A meeting of `cell` on the 5th of `month` 2026 whose minutes are late, as notifications lists it."""
    return {
        "meeting_id": f"{cell}-2026-{month:02d}",
        "cell_id": cell,
        "cell_name": "Chi bộ thôn Thử",
        "kind": "regular",
        "starts_at": f"2026-{month:02d}-05T19:30:00+07:00",
        "due_at": f"2026-{month:02d}-07T19:30:00+07:00",
        "missing": ["minutes_submitted"],
    }


@pytest.fixture
async def province(world: World) -> tuple[str, str]:
    """A committee of the test's own with one cell and a late meeting in each month of 2026-H1 (3 in Q1, 3 in Q2,
    as the demo province); its id and the cell's."""
    committee, cell = random_id("tinh"), random_id("thon")
    world.add_unit(committee, "Tỉnh ủy Thử", "committee", None)
    world.add_unit(cell, "Chi bộ thôn Thử", "cell", committee)
    q1, q2 = [late_meeting(cell, month) for month in (1, 2, 3)], [late_meeting(cell, month) for month in (4, 5, 6)]
    world.late_minutes[(committee, "2026-Q1")] = q1
    world.late_minutes[(committee, "2026-Q2")] = q2
    world.late_minutes[(committee, HALF_YEAR)] = [*q1, *q2]  # once notifications answers a half-year itself (h323)
    return committee, cell


@pytest.fixture
async def web(officer_web: OfficerWeb, province: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own, signed in as an officer of the test's committee."""
    async with officer_web("tinh", province[0], peer=("203.0.113.9", 4714)) as client:
        yield client


def listed(page: str) -> list[str]:
    """The meetings the late-minutes list links, in its order."""
    return values_after(section(page, 'id="late-minutes"', "</ul>"), 'href="/app/meetings/')


@pytest.mark.parametrize("offset", [3, 4])
async def test_a_half_years_late_minutes_page_past_the_first_quarter_lists_the_second(
    web: httpx.AsyncClient, province: tuple[str, str], offset: int
) -> None:
    committee, cell = province
    page = await web.get(f"/app/committees/{committee}", params={"period": HALF_YEAR, "late_offset": offset})
    assert page.status_code == 200, page.text[-2000:]
    assert "Trang này đã vượt quá cuối danh sách" not in page.text
    assert listed(page.text) == [f"{cell}-2026-{month:02d}" for month in range(offset + 1, 7)]


@pytest.mark.parametrize("offset", [0, 1, 2])
async def test_a_half_years_late_minutes_page_within_the_first_quarter_lists_both(
    web: httpx.AsyncClient, province: tuple[str, str], offset: int
) -> None:
    committee, cell = province
    page = await web.get(f"/app/committees/{committee}", params={"period": HALF_YEAR, "late_offset": offset})
    assert page.status_code == 200, page.text[-2000:]
    assert listed(page.text) == [f"{cell}-2026-{month:02d}" for month in range(offset + 1, 7)]
