"""The cell page's year list with evaluation down: a trial's cell page then offered 2024, a year the cell had no data
for (the fallback of a cell whose span is not known: this year and the two before). The page offers the years
evaluation last told of the cell, as the committee page keeps its first month (data.offered_first_month). Over the
fakes."""

import re

from shared.envelope import now
from shared.periods import month_of
from tests.gateway.conftest import OfficerWeb
from tests.gateway.fakes import FakeServices, World
from tests.support.ids import random_id


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
