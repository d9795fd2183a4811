"""The committee page and the report name a cell moved to another committee after the month closed (h351).

Over the real broker, evaluation faked: the roll-up's `late_changes` and the report line carry kind "unit_moved"
with the committees it moved from and to, which the reply keeps and the page and CSV say in Vietnamese."""

import httpx

from tests.gateway.fakes import World
from tests.gateway.test_late_change_pages import committee_pages, late_changes_listed
from tests.web.test_late_unit_move_note import MOVED, MOVED_NOTE


async def test_the_committee_page_and_the_report_say_a_cell_moved_in_after_the_month_closed(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    page, (_, *rows) = await committee_pages(client, world, amqp_url, database_url, MOVED)
    assert late_changes_listed(page) == f"Chi bộ khu phố 1 — {MOVED_NOTE}"
    assert {line[0]: line for line in rows}[world.cell_a1][-2] == MOVED_NOTE
