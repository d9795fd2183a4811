"""A cell's evidence page and its CSV take a half-year (`?period=2026-H1`, the committee's half-year pages' spelling)
as well as a year: committees review by half-year. A period the evidence does not cover (a month, a quarter, a
misspelt half-year) is the 422 page naming the address's period in Vietnamese; a half-year before the cell's data the
404 naming the span. Over the real broker, the other services faked (tests.gateway.fakes)."""

import csv
import html
import io
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from services.gateway.web.exports import evidence_csv
from services.gateway.web.i18n import format_period
from shared.periods import VIETNAM_TZ
from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import signed_in

FIRST = "2025-12"
REFUSED = "kỳ ghi trong địa chỉ của trang) không dùng được cho minh chứng, vốn chỉ xem theo năm hoặc 6 tháng"


def this_year() -> str:
    return str(datetime.now(VIETNAM_TZ).year)


@pytest.fixture
def first_data(world: World) -> Iterator[None]:
    """Ward A's cell A1 has data from December 2025."""
    world.first_months.update({world.ward_a: FIRST, world.cell_a1: FIRST})
    yield
    world.first_months.clear()


def test_the_evidence_csv_names_the_half_year_on_every_row() -> None:
    people = [{"member_id": "dv-1", "name": "Nguyễn Văn An", "expected": 5, "present": 5}]
    for half, said in (("2025-H1", "6 tháng đầu năm 2025"), ("2025-H2", "6 tháng cuối năm 2025")):
        header, *rows = list(
            csv.reader(io.StringIO(evidence_csv(people, year=half).decode("utf-8-sig")), delimiter=";")
        )
        assert header[-2:] == ["Kỳ", "Trạng thái kỳ"]
        assert [row[-2:] for row in rows] == [[said, "đã kết thúc"]], rows


async def test_the_evidence_page_and_csv_take_a_half_year(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, first_data: None
) -> None:
    cell = f"/app/cells/{world.cell_a1}"
    half = f"{this_year()}-H1"
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        page = await officer.get(f"{cell}/evidence", params={"period": half})
        table = await officer.get(f"{cell}/evidence.csv", params={"period": half})
        year_page = await officer.get(f"{cell}/evidence", params={"period": this_year()})
    assert page.status_code == 200, page.text[-800:]
    heading = html.unescape(page.text.split("<h1>", 1)[1].split("</h1>", 1)[0])
    assert f"— 6 tháng đầu năm {this_year()}</small>" in heading, heading
    assert heading.startswith("Minh chứng phục vụ sơ kết 6 tháng <small>"), heading  # not the year's grading
    strip = page.text.split('<ol class="strip">', 1)[1].split("</ol>", 1)[0]
    assert [f"Tháng {month}" for month in range(1, 7)] == [
        part.split("</span>", 1)[0] for part in strip.split('<span class="m">')[1:]
    ], strip
    # the period picker of the committee's pages, the half-year chosen, its CSV link spelled the same way
    picker = page.text.split('<select id="period" name="period">', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{half}" selected>6 tháng đầu năm {this_year()}</option>' in picker, picker
    assert f'<option value="{this_year()}" ' in picker and f'value="{int(this_year()) - 1}-H2"' in picker, picker
    assert "2025-H1" not in picker  # before the cell's first month
    assert f'{cell}/evidence.csv?period={half}"' in page.text
    assert table.status_code == 200, table.text[-800:]
    rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][-2:] == ["Kỳ", "Trạng thái kỳ"]
    assert all(row[-2] == format_period(half) == f"6 tháng đầu năm {this_year()}" for row in rows[1:]), rows
    assert year_page.status_code == 200 and 'id="year-rating"' in year_page.text  # a year as `?period=` too
    assert "<h1>Minh chứng phục vụ đánh giá, xếp loại hằng năm <small>" in year_page.text


async def test_the_evidence_refuses_a_period_it_does_not_cover_naming_the_field(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, first_data: None
) -> None:
    cell = f"/app/cells/{world.cell_a1}"
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        for path in ("evidence", "evidence.csv"):
            for spelling in (f"{this_year()}-Q1", f"{this_year()}-03", f"{this_year()}-H3", f"{this_year()}-h1", "H1"):
                answer = await officer.get(f"{cell}/{path}", params={"period": spelling})
                said = html.unescape(answer.text)
                assert answer.status_code == 422, (path, spelling, answer.status_code)
                assert f"“{spelling}” ({REFUSED}" in said and "Kỳ không hợp lệ" in said, (path, spelling, said[-800:])
            before = await officer.get(f"{cell}/{path}", params={"period": "2025-H1"})
            assert before.status_code == 404, (path, before.status_code)
            assert "Không có dữ liệu của 6 tháng đầu năm 2025" in html.unescape(before.text), before.text[-800:]
            ahead = await officer.get(f"{cell}/{path}", params={"period": f"{int(this_year()) + 1}-H1"})
            assert ahead.status_code == 422 and "Chưa đến kỳ" in ahead.text, (path, ahead.status_code)
            # the period named as the latest to view is one the evidence takes: this half-year, not this month
            running = format_period(f"{this_year()}-H{1 if datetime.now(VIETNAM_TZ).month <= 6 else 2}", within=True)
            assert f"Kỳ mới nhất có thể xem là {running}." in html.unescape(ahead.text), ahead.text[-800:]
            next_year = await officer.get(f"{cell}/{path}", params={"period": str(int(this_year()) + 1)})
            assert next_year.status_code == 422, (path, next_year.status_code)
            latest_year = format_period(this_year(), within=True)
            assert f"Kỳ mới nhất có thể xem là {latest_year}." in html.unescape(next_year.text), next_year.text[-800:]
