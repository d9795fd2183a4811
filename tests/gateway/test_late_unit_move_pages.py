"""The committee page, the report and the cell's own page name a cell moved to another committee after the month
closed (h351).

Over the real broker, evaluation faked: the roll-up's `late_changes` and the report line carry kind "unit_moved"
with the committees it moved from and to, which the reply keeps and the page and CSV say in Vietnamese."""

import csv
import io
import re

import httpx

from tests.gateway.fakes import World
from tests.gateway.test_late_change_pages import cell_page_strip, committee_pages, late_changes_listed, month, text
from tests.gateway.test_minutes_label_pages import signed_in
from tests.web.test_late_unit_move_note import (
    MOVED,
    MOVED_NOTE,
    PLACED,
    PLACED_NOTE,
    TWO_UNITS_MOVED,
    TWO_UNITS_MOVED_NOTE,
    UNPLACED,
    UNPLACED_NOTE,
)
from tests.web.test_late_unit_move_period_note import QUARTER_MOVED, QUARTER_NOTE
from tests.web.test_late_unit_move_period_note import TITLE as QUARTER_TITLE


async def test_the_committee_page_and_the_report_say_a_cell_moved_in_after_the_month_closed(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    page, (_, *rows) = await committee_pages(client, world, amqp_url, database_url, MOVED)
    assert late_changes_listed(page) == f"Chi bộ khu phố 1 — {MOVED_NOTE}"
    assert {line[0]: line for line in rows}[world.cell_a1][-2] == MOVED_NOTE


async def test_the_committee_page_and_the_report_say_a_root_unit_put_under_the_committee(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """A root unit's cell put under the ward after the month closed (evaluation's `moved_from_id` None): the page and
    the CSV say it was under no committee before, not "another committee"."""
    page, (_, *rows) = await committee_pages(client, world, amqp_url, database_url, PLACED)
    assert late_changes_listed(page) == f"Chi bộ khu phố 1 — {PLACED_NOTE}"
    assert {line[0]: line for line in rows}[world.cell_a1][-2] == PLACED_NOTE


async def test_the_cells_own_page_says_its_move_in_the_committees_words(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """Its strip marks the month "ghi nhận muộn" and its list of late changes says the move as the committee page
    does, with no meeting to see (evaluation's cell periods now carry the move: test_late_unit_moves)."""
    page, strip = await cell_page_strip(client, world, amqp_url, database_url, MOVED)
    assert "data-late-change" in strip["2026-11"] and "data-late-change" not in strip["2026-10"]
    listed = re.search(r'<ul class="list" id="late-changes">(.*?)</ul>', page.text, re.S)
    assert listed is not None
    assert text(listed.group(1)) == MOVED_NOTE
    assert "/app/meetings/" not in listed.group(1)


async def test_the_report_csv_has_a_line_for_a_cell_the_committee_lost_after_the_month_closed(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """h374: ward A's cell moved away after November closed (to ward B, or made a root): its page listed the move, its
    report CSV said nothing, since the cell is no longer among its lines. The CSV now ends with a line for it: its code
    and name, no figures (they no longer count under the ward), the period and the note."""
    gone = "thon-3-roi"
    moves = [
        {"cell_id": gone, "name": "Chi bộ thôn 3", "late_change": MOVED},
        {"cell_id": f"{gone}-goc", "name": "Chi bộ thôn 4", "late_change": UNPLACED},
    ]
    world.moved_away[(world.ward_a, "2026-11")] = moves
    try:
        page, (header, *rows) = await committee_pages(client, world, amqp_url, database_url, PLACED)
    finally:
        world.moved_away.pop((world.ward_a, "2026-11"))
    assert f"Chi bộ thôn 3 — {MOVED_NOTE}" in late_changes_listed(page)
    lines = {line[0]: dict(zip(header, line, strict=True)) for line in rows}
    assert lines[world.cell_a1]["Ghi nhận muộn"] == PLACED_NOTE  # its own cells' lines as before
    for move in moves:
        line = lines[str(move["cell_id"])]
        assert line["Chi bộ"] == move["name"]
        assert (line["Điểm"], line["Xếp loại"], line["Số buổi thường kỳ"]) == ("", "", "")
        assert line["Kỳ"] == "Tháng 11/2026"
        assert line["Ghi nhận muộn"] == (MOVED_NOTE if move["late_change"] is MOVED else UNPLACED_NOTE)
    assert [line[0] for line in rows][-2:] == [gone, f"{gone}-goc"]  # after the ward's own cells


async def test_a_cell_moved_and_then_its_new_committee_moved_reads_as_two_moves_on_both_pages(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """Evaluation's `moves` of two units (the cell to the ward, then the ward to another district) pass the gateway's
    reply and are said one sentence each on the committee page, its CSV and the cell's own page."""
    page, (_, *rows) = await committee_pages(client, world, amqp_url, database_url, TWO_UNITS_MOVED)
    assert late_changes_listed(page) == f"Chi bộ khu phố 1 — {TWO_UNITS_MOVED_NOTE}"
    assert {line[0]: line for line in rows}[world.cell_a1][-2] == TWO_UNITS_MOVED_NOTE
    cell_page, _ = await cell_page_strip(client, world, amqp_url, database_url, TWO_UNITS_MOVED)
    listed = re.search(r'<ul class="list" id="late-changes">(.*?)</ul>', cell_page.text, re.S)
    assert listed is not None and text(listed.group(1)) == TWO_UNITS_MOVED_NOTE


async def test_a_quarters_committee_page_and_report_say_a_cell_moved_after_a_month_of_it_closed(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """The carried leftover: a quarter's figures a cell move changed were shown with no note. Evaluation now lists the
    move on the quarter (tests/evaluation/test_late_unit_move_periods.py); the committee page says it under a heading
    that names moves, not late results, and the CSV's column says the same words."""
    world.late_changes[(world.cell_a1, "2026-Q3")] = QUARTER_MOVED
    # and a cell the ward lost after a month of the quarter closed: no line of its own cells, listed last
    world.moved_away[(world.ward_a, "2026-Q3")] = [
        {"cell_id": "thon-3-roi", "name": "Chi bộ thôn 3", "late_change": QUARTER_MOVED}
    ]
    try:
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            page = await officer.get(f"/app/committees/{world.ward_a}?period=2026-Q3")
            report = await officer.get(f"/app/committees/{world.ward_a}/report.csv?period=2026-Q3")
    finally:
        world.late_changes.pop((world.cell_a1, "2026-Q3"))
        world.moved_away.pop((world.ward_a, "2026-Q3"))
    assert page.status_code == 200, page.text
    assert report.status_code == 200, report.text
    assert late_changes_listed(page.text) == f"Chi bộ khu phố 1 — {QUARTER_NOTE} Chi bộ thôn 3 — {QUARTER_NOTE}"
    heading = re.search(r'<h2 id="late-changes-title">(.*?)</h2>', page.text, re.S)
    assert heading is not None and text(heading.group(1)) == QUARTER_TITLE
    header, *rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";"))
    lines = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert lines[world.cell_a1]["Ghi nhận muộn"] == QUARTER_NOTE
    gone = lines["thon-3-roi"]
    assert (gone["Chi bộ"], gone["Điểm"], gone["Kỳ"], gone["Ghi nhận muộn"]) == (
        "Chi bộ thôn 3",
        "",
        "Quý III/2026",
        QUARTER_NOTE,
    )


async def test_the_cells_own_quarter_and_year_say_its_move_with_their_own_figures_rounded_once(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """The cell's own page marked its moved month only; its quarter and year, whose figures moved with it, said
    nothing (h524). Evaluation's quarter and year now carry the move with their own exact figures (Poor at 66.67 and
    22.22, hand-computed in tests/web/test_late_unit_move_own_periods.py), which the page says once each, rounded
    once (66,7 and 22,2), under the quarters-and-year table."""
    quarter, year = 100 * 20 / 30, 100 * 20 / 30 / 3
    figures = {"old_rating": "poor", "new_rating": "poor"}
    rows = [
        month(world.cell_a1, "2026-09", MOVED | figures | {"old_score": quarter, "new_score": quarter}),
        month(world.cell_a1, "2026-Q3")
        | {"rating": "poor", "score": quarter}
        | {"late_change": MOVED | figures | {"old_score": quarter, "new_score": quarter}},
        month(world.cell_a1, "2026")
        | {"rating": "poor", "score": year}
        | {"late_change": MOVED | figures | {"old_score": year, "new_score": year}},
    ]
    world.stored_periods[world.cell_a1] = rows
    try:
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            page = await officer.get(f"/app/cells/{world.cell_a1}?year=2026")
    finally:
        world.stored_periods.pop(world.cell_a1)
    assert page.status_code == 200, page.text
    listed = re.search(r'<ul class="list" id="period-late-changes">(.*?)</ul>', page.text, re.S)
    assert listed is not None
    said = {
        found.group(1): text(found.group(2))
        for found in re.finditer(r'<li data-period="([^"]+)">(.*?)</li>', listed.group(1), re.S)
    }
    assert said == {
        "2026-Q3": QUARTER_NOTE,
        "2026": QUARTER_NOTE.replace("kết quả quý III/2026 là 66,7", "kết quả năm 2026 là 22,2"),
    }
