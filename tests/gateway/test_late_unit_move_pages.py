"""The committee page and the report name a cell moved to another committee after the month closed (h351).

Over the real broker, evaluation faked: the roll-up's `late_changes` and the report line carry kind "unit_moved"
with the committees it moved from and to, which the reply keeps and the page and CSV say in Vietnamese."""

import csv
import io
import re

import httpx

from tests.gateway.fakes import World
from tests.gateway.test_late_change_pages import text
from tests.gateway.test_minutes_label_pages import signed_in
from tests.web.test_late_unit_move_note import MOVED, MOVED_NOTE


async def test_the_committee_page_and_the_report_say_a_cell_moved_in_after_the_month_closed(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    world.late_changes[(world.cell_a1, "2026-11")] = MOVED
    try:
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            page = await officer.get(f"/app/committees/{world.ward_a}?period=2026-11")
            report = await officer.get(f"/app/committees/{world.ward_a}/report.csv?period=2026-11")
    finally:
        world.late_changes.pop((world.cell_a1, "2026-11"))
    assert page.status_code == 200, page.text
    listed = re.search(r'<ul class="list" id="late-changes">(.*?)</ul>', page.text, re.S)
    assert listed is not None
    assert text(listed.group(1)) == f"Chi bộ khu phố 1 — {MOVED_NOTE}"
    assert report.status_code == 200, report.text
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";"))[1:]
    assert {line[0]: line for line in rows}[world.cell_a1][-2] == MOVED_NOTE
