"""The cell page's year list with evaluation down: a trial's cell page then offered 2024, a year the cell had no data
for (the fallback of a cell whose span is not known: this year and the two before). The page offers the years
evaluation last told of the cell, as the committee page keeps its first month (data.offered_first_month), and
after the gateway restarted too (gateway.web_told_months: the spans were kept in the process, and a restarted
gateway offered the fallback's years again). Over the fakes."""

import re

import pytest

from services.gateway.main import create_app
from services.gateway.web import data
from shared.envelope import now
from shared.periods import month_of
from tests.gateway.conftest import OfficerWeb, gateway_settings
from tests.gateway.fakes import FakeServices, World
from tests.gateway.test_periods_evaluation_down import offered as periods_offered
from tests.support.ids import random_id
from tests.support.web import signed_in_web


def offered(page: str) -> list[str]:
    """The years the page's year picker offers, as listed."""
    picker = page[page.index('id="year"') :]
    return re.findall(r'<option value="([0-9]{4})"', picker[: picker.index("</select>")])


async def test_with_evaluation_down_the_cell_page_offers_no_year_it_has_no_data_for(
    officer_web: OfficerWeb, world: World, fakes: FakeServices
) -> None:
    year = int(month_of(now())[:4])
    commune, cell = random_id("xa"), random_id("chibo")
    world.add_unit(commune, "Đảng ủy xã Thử", "committee", None)
    world.add_unit(cell, "Chi bộ Thử", "cell", commune)
    world.first_months[cell] = f"{year - 1}-12"  # set up last December: two years, never the one before
    async with officer_web("xa", commune, peer=("203.0.113.31", 4731)) as web:
        told = await web.get(f"/app/cells/{cell}")
        assert told.status_code == 200, told.text[-2000:]
        assert offered(told.text) == [str(year), str(year - 1)], offered(told.text)
        async with fakes.evaluation.down():
            silent = await web.get(f"/app/cells/{cell}")
    assert silent.status_code == 200, silent.text[-2000:]
    assert offered(silent.text) == [str(year), str(year - 1)], offered(silent.text)


async def test_after_a_restart_with_evaluation_down_the_pages_offer_what_evaluation_last_told(
    officer_web: OfficerWeb,
    world: World,
    fakes: FakeServices,
    amqp_url: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A gateway started while evaluation is down offers a cell's years and a committee's periods as evaluation last
    told the gateway before it stopped, not the fallback (this year and the two before; the calendar's periods)."""
    year = int(month_of(now())[:4])
    commune, cell = random_id("xa"), random_id("chibo")
    world.add_unit(commune, "Đảng ủy xã Thử", "committee", None)
    world.add_unit(cell, "Chi bộ Thử", "cell", commune)
    world.first_months[cell] = world.first_months[commune] = f"{year - 1}-12"
    async with officer_web("xa", commune, peer=("203.0.113.32", 4732)) as web:
        told = await web.get(f"/app/cells/{cell}")
        assert offered(told.text) == [str(year), str(year - 1)], offered(told.text)
        committee = await web.get(f"/app/committees/{commune}")
        assert committee.status_code == 200, committee.text[-2000:]
        periods = periods_offered(committee.text)
        assert f"{year - 1}-12" in periods and f"{year - 1}-11" not in periods, periods
    # a new process: nothing of the old one's memory (the gateway kept the spans in these before 0010)
    monkeypatch.setattr(data, "CELL_MONTHS", {}, raising=False)
    monkeypatch.setattr(data, "FIRST_MONTHS", {}, raising=False)
    async with fakes.evaluation.down():
        restarted = create_app(gateway_settings(amqp_url, database_url))
        async with restarted.router.lifespan_context(restarted):
            async with signed_in_web(
                restarted, "xa", "committee_officer", commune, database_url, amqp_url, peer=("203.0.113.33", 4733)
            ) as web:
                silent = await web.get(f"/app/cells/{cell}")
                silent_committee = await web.get(f"/app/committees/{commune}")
    assert silent.status_code == 200, silent.text[-2000:]
    assert offered(silent.text) == [str(year), str(year - 1)], offered(silent.text)
    assert silent_committee.status_code == 200, silent_committee.text[-2000:]
    assert periods_offered(silent_committee.text) == periods, periods_offered(silent_committee.text)
    assert 'id="periods-unknown"' not in silent_committee.text


async def test_a_cell_never_shown_with_evaluation_down_offers_only_this_year_and_says_why(
    officer_web: OfficerWeb, world: World, fakes: FakeServices
) -> None:
    """A trial's cell page never opened before (no row of gateway.web_told_months) offered 2024, a guessed year,
    without a word while evaluation was down: the years are not known then, so only this year is offered (and the
    years the cell has meetings in, none here) and the page says why; once evaluation answers, its years and no
    note."""
    year = int(month_of(now())[:4])
    commune, cell = random_id("xa"), random_id("chibo")
    world.add_unit(commune, "Đảng ủy xã Thử", "committee", None)
    world.add_unit(cell, "Chi bộ Thử", "cell", commune)
    world.first_months[cell] = f"{year - 1}-12"
    async with officer_web("xa", commune, peer=("203.0.113.34", 4734)) as web:
        async with fakes.evaluation.down():
            silent = await web.get(f"/app/cells/{cell}")
        told = await web.get(f"/app/cells/{cell}")
    assert silent.status_code == 200, silent.text[-2000:]
    assert offered(silent.text) == [str(year)], offered(silent.text)
    assert 'id="years-unknown"' in silent.text
    assert (
        "Dịch vụ đánh giá chưa phản hồi nên chưa biết chi bộ có dữ liệu từ những năm nào: tạm thời chỉ hiện năm nay"
        " và các năm chi bộ có buổi sinh hoạt."
    ) in silent.text
    assert told.status_code == 200, told.text[-2000:]
    assert offered(told.text) == [str(year), str(year - 1)], offered(told.text)
    assert 'id="years-unknown"' not in told.text
