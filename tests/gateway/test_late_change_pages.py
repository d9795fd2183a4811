"""The pages and the report say when a closed month's result changed because a meeting was recorded late (h231).

The trial: a meeting of 30 November recorded on 4 December became November's result, and the cell's strip, the
committee's page and the report showed the new score and rating as if they had always been so. Evaluation now answers
the month's `late_change`; the gateway's pages (over the real broker, evaluation faked) say it in Vietnamese."""

import csv
import html
import io
import re
from typing import Any

import httpx

from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import signed_in
from tests.web.test_late_change_note import ADDED, ADDED_NOTE

NOTE = "Ghi nhận muộn: kết quả tháng 11/2026 thay đổi ngày 04/12/2026, từ 85 (Khá) lên 92 (Tốt)."
LATE = {
    "meeting_id": "mtg-late-30-11",
    "old_rating": "fair",
    "old_score": 85.0,
    "new_rating": "good",
    "new_score": 92.0,
    "changed_at": "2026-12-04T02:10:00+00:00",
    "first_changed_at": "2026-12-04T02:10:00+00:00",
    "changes": 1,
}


def month(cell_id: str, period: str, late: dict[str, Any] | None = None) -> dict[str, Any]:
    """A cell's closed month as evaluation stores it (Good, 92), with its late change if any."""
    return {
        "cell_id": cell_id,
        "period": period,
        "rating": "good",
        "score": 92.0,
        "regular_held": 1,
        "thematic_held": 0,
        "meetings_held": 1,
        "attendance_rate": 0.9,
        "speaking_rate": 0.5,
        "flags": [],
        "late_change": late,
    }


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub("<[^>]+>", " ", page)).split())


async def committee_pages(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, change: dict[str, Any]
) -> tuple[str, list[list[str]]]:
    """Ward A's committee page (its HTML) and report CSV (header then rows, cells split) for November 2026, read by an
    officer while cell A1's November carries the late `change` (in the faked evaluation for the reads only); both
    answers 200 asserted."""
    world.late_changes[(world.cell_a1, "2026-11")] = change
    try:
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            page = await officer.get(f"/app/committees/{world.ward_a}?period=2026-11")
            report = await officer.get(f"/app/committees/{world.ward_a}/report.csv?period=2026-11")
    finally:
        world.late_changes.pop((world.cell_a1, "2026-11"))
    assert page.status_code == 200, page.text
    assert report.status_code == 200, report.text
    return page.text, list(csv.reader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";"))


def late_changes_listed(page: str) -> str:
    """The text of the committee page's late changes list; AssertionError when the page has none."""
    listed = re.search(r'<ul class="list" id="late-changes">(.*?)</ul>', page, re.S)
    assert listed is not None
    return text(listed.group(1))


async def cell_page_strip(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, late: dict[str, Any]
) -> tuple[httpx.Response, dict[str, str]]:
    """Cell A1's own page for 2026 as its commune's officer reads it, October stored in time and November with the
    `late` change, and its year strip: each month's list item by period."""
    world.stored_periods[world.cell_a1] = [month(world.cell_a1, "2026-10"), month(world.cell_a1, "2026-11", late)]
    try:
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            page = await officer.get(f"/app/cells/{world.cell_a1}?year=2026")
    finally:
        world.stored_periods.pop(world.cell_a1)
    assert page.status_code == 200, page.text
    strip = {
        found.group(1): found.group(2)
        for found in re.finditer(r'<li class="rating [a-z]+" data-period="([0-9-]+)">(.*?)</li>', page.text, re.S)
    }
    return page, strip


async def test_the_cell_page_marks_the_month_changed_late_with_its_old_and_new_figures(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    page, strip = await cell_page_strip(client, world, amqp_url, database_url, LATE)
    assert "data-late-change" in strip["2026-11"] and "ghi nhận muộn" in strip["2026-11"]
    assert "data-late-change" not in strip["2026-10"]  # a month recorded in time: no mark
    listed = re.search(r'<ul class="list" id="late-changes">(.*?)</ul>', page.text, re.S)
    assert listed is not None
    assert NOTE in text(listed.group(1))
    assert 'href="/app/meetings/mtg-late-30-11"' in listed.group(1)


async def test_the_committee_page_and_the_report_mark_the_cell_whose_month_changed_late(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    page, (header, *rows) = await committee_pages(client, world, amqp_url, database_url, LATE)
    row = re.search(f'<tr data-unit="{world.cell_a1}">(.*?)</tr>', page, re.S)
    other = re.search(f'<tr data-unit="{world.cell_a2}">(.*?)</tr>', page, re.S)
    assert row is not None and other is not None
    assert "data-late-change" in row.group(1) and NOTE in html.unescape(row.group(1))
    assert "data-late-change" not in other.group(1)
    assert late_changes_listed(page) == f"Chi bộ khu phố 1 — {NOTE}"

    by_cell = {line[0]: line for line in rows}
    assert header[-2:] == ["Ghi nhận muộn", "Lý do xếp loại"]
    assert by_cell[world.cell_a1][-2:] == [NOTE, ""]
    assert by_cell[world.cell_a2][-2:] == ["", ""]


async def test_the_committee_page_lists_a_cell_set_up_late_in_a_closed_month_among_the_late_changes(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """Trial 33: a cell set up on 5 December counting from November changed the commune's finished November (4 cells,
    the score down) with nothing said; the late changes section now names it, when it was added, from which month."""
    page, (_, *rows) = await committee_pages(client, world, amqp_url, database_url, ADDED)
    assert late_changes_listed(page) == f"Chi bộ khu phố 1 — {ADDED_NOTE}"
    assert {line[0]: line for line in rows}[world.cell_a1][-2] == ADDED_NOTE


async def test_the_cell_page_says_once_that_a_cell_set_up_late_counts_from_a_closed_month(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """A trial: a cell set up on 5 December counting from September read "Được bổ sung ngày 05/12/2026…" under each of
    September, October and November. The page says it once, naming the months; each month keeps its badge."""
    months = ["2026-09", "2026-10", "2026-11"]
    added = ADDED | {"new_score": 92.0, "new_rating": "good"}
    world.stored_periods[world.cell_a1] = [month(world.cell_a1, period, added) for period in months]
    try:
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            page = await officer.get(f"/app/cells/{world.cell_a1}?year=2026")
    finally:
        world.stored_periods.pop(world.cell_a1)
    assert page.status_code == 200, page.text
    listed = re.search(r'<ul class="list" id="late-changes">(.*?)</ul>', page.text, re.S)
    assert listed is not None
    said = text(listed.group(1))
    assert said == (
        "Được bổ sung ngày 05/12/2026, tính từ tháng 9/2026; kết quả tháng 9/2026, tháng 10/2026 và tháng 11/2026 đều"
        " là 92 (Tốt)."
    ), said
    assert 'data-periods="2026-09 2026-10 2026-11"' in listed.group(1)
    assert text(page.text).count("Được bổ sung ngày") == 1
    titles = re.findall(r'data-late-change title="([^"]*)"', page.text)
    assert [html.unescape(title) for title in titles] == [said] * 3  # each month's badge: the one note, not its own
