"""The committee page's late-minutes list says bulk-loaded history is listed but sends no alert, and now how old such
a meeting is: the days of notifications' CHIBO_HISTORY_CUTOFF_DAYS as it runs (its GetRules answers them), never a
number of the page's own; changed there, the page says the new number. While notifications does not tell it, the
note says it without a number. Over the fakes."""

from collections.abc import AsyncIterator

import httpx
import pytest

from services.notifications.config import Settings
from shared.envelope import now
from shared.periods import month_of, previous_period
from tests.gateway.conftest import OfficerWeb
from tests.gateway.fakes import World
from tests.gateway.test_late_minutes_pages import late_meeting
from tests.support.ids import random_id
from tests.support.web import section


@pytest.fixture
async def committee(world: World) -> tuple[str, str]:
    """A committee of the test's own with one cell and a meeting with late minutes last month; its id and month."""
    committee, cell = random_id("xa"), random_id("thon")
    world.add_unit(committee, "Đảng ủy xã Thử", "committee", None)
    world.add_unit(cell, "Chi bộ thôn Thử", "cell", committee)
    period = previous_period(month_of(now()))
    world.late_minutes[(committee, period)] = [late_meeting(cell, 0, period)]
    return committee, period


@pytest.fixture
async def web(officer_web: OfficerWeb, committee: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own, signed in as an officer of the test's committee."""
    async with officer_web("xa", committee[0], peer=("203.0.113.9", 4731)) as client:
        yield client


async def note(web: httpx.AsyncClient, committee: tuple[str, str]) -> str:
    """The late-minutes list's note on history, with its opening tag."""
    committee_id, period = committee
    page = await web.get(f"/app/committees/{committee_id}", params={"period": period})
    assert page.status_code == 200, page.text[-2000:]
    return section(page.text, 'id="late-minutes-history"', "</p>")


async def test_the_history_note_names_the_cutoff_notifications_runs_with(
    web: httpx.AsyncClient, committee: tuple[str, str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = Settings().history_cutoff_days
    said = await note(web, committee)
    assert f'data-days="{default}"' in said, said
    assert f"khi đã diễn ra hơn {default} ngày (dữ liệu lịch sử nạp hàng loạt)" in said, said
    assert "không gửi cảnh báo đến cấp ủy" in said
    for days in (30, 7):
        monkeypatch.setattr(world, "history_cutoff_days", days)
        said = await note(web, committee)
        assert f'data-days="{days}"' in said and f"hơn {days} ngày" in said, said
        assert f"hơn {default} ngày" not in said, said


async def test_without_notifications_telling_the_cutoff_the_note_names_no_number(
    web: httpx.AsyncClient, committee: tuple[str, str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world, "history_cutoff_days", None)
    said = await note(web, committee)
    assert "data-days" not in said and "ngày" not in said, said
    assert "đã qua lâu khi mới được đưa vào hệ thống (dữ liệu lịch sử nạp hàng loạt)" in said, said
