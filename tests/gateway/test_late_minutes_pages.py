"""The committee page's list of meetings with late minutes stopped at 50 and ended with the plain text "và 10 buổi
khác" (a trial's commune with 60 meetings lacking documents): nothing led to the other ten. The list is paged
(`late_offset`): a pager says which meetings it shows of how many and links the next and earlier ones, a page past
the end says so with the way back, and a position that is no number is the 400 page naming the list. Over the
fakes."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.gateway.web.data import LATE_MINUTES_SHOWN
from shared.envelope import now
from shared.periods import month_of, previous_period
from tests.gateway.conftest import OfficerWeb, TokenFactory
from tests.gateway.fakes import World
from tests.support.ids import random_id
from tests.support.web import pager_link, section, values_after

LATE = 60


def late_meeting(cell: str, index: int, period: str) -> dict[str, Any]:
    """A meeting of `cell` in `period` whose minutes are late, as notifications lists it."""
    return {
        "meeting_id": f"{cell}-mtg-{index:02d}",
        "cell_id": cell,
        "cell_name": "Chi bộ thôn Thử",
        "kind": "regular",
        "starts_at": f"{period}-05T19:30:00+07:00",
        "due_at": f"{period}-07T19:30:00+07:00",
        "missing": ["minutes_submitted"],
    }


@pytest.fixture
async def committee(world: World, token_for: TokenFactory) -> tuple[str, str]:
    """A committee of the test's own with one cell and LATE meetings with late minutes last month; its id and the
    month."""
    committee, cell = random_id("xa"), random_id("thon")
    world.add_unit(committee, "Đảng ủy xã Thử", "committee", None)
    world.add_unit(cell, "Chi bộ thôn Thử", "cell", committee)
    period = previous_period(month_of(now()))
    world.late_minutes[(committee, period)] = [late_meeting(cell, index, period) for index in range(LATE)]
    return committee, period


@pytest.fixture
async def web(officer_web: OfficerWeb, committee: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own, signed in as an officer of the test's committee."""
    async with officer_web("xa", committee[0], peer=("203.0.113.9", 4713)) as client:
        yield client


def listed(page: str) -> list[str]:
    """The meetings the late-minutes list links, in its order."""
    return values_after(section(page, 'id="late-minutes"', "</ul>"), 'href="/app/meetings/')


def link(page: str, rel: str) -> str | None:
    """The late-minutes pager's link `rel` (next, prev), unescaped; None when it has none."""
    return pager_link(page, "late-minutes-pager", rel)


async def test_every_meeting_with_late_minutes_is_reached_page_by_page(
    web: httpx.AsyncClient, committee: tuple[str, str]
) -> None:
    committee_id, period = committee
    first = await web.get(f"/app/committees/{committee_id}", params={"period": period})
    assert first.status_code == 200, first.text[-2000:]
    shown = listed(first.text)
    assert len(shown) == LATE_MINUTES_SHOWN
    assert "và 10 buổi khác" not in first.text
    assert "Đang hiện buổi thứ 1 đến 50 trong 60 buổi" in first.text and "Xem 10 buổi tiếp theo" in first.text
    following = link(first.text, "next")
    assert following is not None and link(first.text, "prev") is None
    second = await web.get(following.split("#", 1)[0])
    assert second.status_code == 200
    rest = listed(second.text)
    assert len(rest) == LATE - LATE_MINUTES_SHOWN and not set(rest) & set(shown)
    assert "Đang hiện buổi thứ 51 đến 60 trong 60 buổi" in second.text
    assert link(second.text, "next") is None and link(second.text, "prev") is not None


async def test_a_late_minutes_position_past_the_end_or_not_a_number_is_said(
    web: httpx.AsyncClient, committee: tuple[str, str]
) -> None:
    committee_id, period = committee
    past = await web.get(f"/app/committees/{committee_id}", params={"period": period, "late_offset": "500"})
    assert past.status_code == 200 and listed(past.text) == []
    assert "Trang này đã vượt quá cuối danh sách." in past.text and "Về đầu danh sách" in past.text
    wrong = await web.get(f"/app/committees/{committee_id}", params={"period": period, "late_offset": "abc"})
    assert wrong.status_code == 400
    assert "danh sách buổi sinh hoạt chậm đăng tải biên bản, nghị quyết" in wrong.text


@pytest.fixture
async def changed(world: World, committee: tuple[str, str]) -> int:
    """CHANGED cells of the test's committee whose last month changed after it closed; how many."""
    committee_id, period = committee
    for index in range(CHANGED):
        cell = random_id(f"thon-{index:02d}")
        world.add_unit(cell, f"Chi bộ thôn {index}", "cell", committee_id)
        world.late_changes[(cell, period)] = {
            "meeting_id": f"{cell}-mtg",
            "old_rating": "fair",
            "old_score": 85.0,
            "new_rating": "good",
            "new_score": 92.0,
            "changed_at": f"{period}-28T02:10:00+00:00",
            "first_changed_at": f"{period}-28T02:10:00+00:00",
            "changes": 1,
        }
    return CHANGED


CHANGED = 55


def changed_cells(page: str) -> list[str]:
    """The cells the late-changes list names, in its order."""
    return values_after(section(page, 'id="late-changes"', "</ul>"), 'data-cell="')


async def test_every_cell_whose_month_changed_late_is_reached_page_by_page(
    web: httpx.AsyncClient, committee: tuple[str, str], changed: int
) -> None:
    """The same kind of list: the cells whose results changed after the month closed ended with "và 5 chi bộ khác"."""
    committee_id, period = committee
    first = await web.get(f"/app/committees/{committee_id}", params={"period": period})
    assert first.status_code == 200, first.text[-2000:]
    shown = changed_cells(first.text)
    assert len(shown) == 50 and "chi bộ khác" not in first.text
    assert "Đang hiện chi bộ thứ 1 đến 50 trong 55 chi bộ" in first.text and "Xem 5 chi bộ tiếp theo" in first.text
    following = pager_link(first.text, "late-changes-pager", "next")
    assert following is not None
    second = await web.get(following.split("#", 1)[0])
    rest = changed_cells(second.text)
    assert len(rest) == changed - 50 and not set(rest) & set(shown)
    # the other list stays where it was
    assert len(listed(second.text)) == LATE_MINUTES_SHOWN
    on_second = await web.get(f"/app/committees/{committee_id}", params={"period": period, "late_offset": "50"})
    pager = section(on_second.text, 'id="late-changes-pager"', "</nav>")
    assert "late_offset=50&amp;changes_offset=50" in pager
    past = await web.get(f"/app/committees/{committee_id}", params={"period": period, "changes_offset": "950"})
    assert past.status_code == 200 and 'id="late-changes-past-end"' in past.text


async def test_a_list_position_between_pages_is_honoured_and_a_negative_one_refused(
    web: httpx.AsyncClient, committee: tuple[str, str], changed: int
) -> None:
    """`late_offset=1` showed the same as 0 (rounded down to a page without a word); any item may start the list."""
    committee_id, period = committee
    pages = [
        await web.get(f"/app/committees/{committee_id}", params={"period": period, "late_offset": at})
        for at in ("0", "50")
    ]
    whole = [meeting for page in pages for meeting in listed(page.text)]  # all LATE, in order
    cells = changed_cells((await web.get(f"/app/committees/{committee_id}", params={"period": period})).text)
    for offset in (1, 7, 49, 51):
        page = await web.get(f"/app/committees/{committee_id}", params={"period": period, "late_offset": str(offset)})
        assert page.status_code == 200, page.text[-2000:]
        shown = listed(page.text)
        assert shown == whole[offset : offset + LATE_MINUTES_SHOWN]  # from item offset + 1, as the pager says
        last = min(offset + LATE_MINUTES_SHOWN, LATE)
        assert f"Đang hiện buổi thứ {offset + 1} đến {last} trong {LATE} buổi" in page.text
        assert link(page.text, "prev") is not None
    moved = await web.get(f"/app/committees/{committee_id}", params={"period": period, "changes_offset": "3"})
    assert changed_cells(moved.text)[:47] == cells[3:]
    assert f"Đang hiện chi bộ thứ 4 đến 53 trong {changed} chi bộ" in moved.text
    for parameter in ("late_offset", "changes_offset"):
        negative = await web.get(f"/app/committees/{committee_id}", params={"period": period, parameter: "-1"})
        assert negative.status_code == 400, parameter
        huge = await web.get(f"/app/committees/{committee_id}", params={"period": period, parameter: "9" * 30})
        assert huge.status_code == 200 and "Trang này đã vượt quá cuối danh sách." in huge.text, parameter
