"""Every page and API route answers an out-of-range period the same way (docs/architecture.md, "Periods out of
range"): a trial found a period not begun a 422 "Chưa đến kỳ" on the committee's page but a 404 on the cell's page
(next year), and a period before a committee's data a 404 on its page but 200 `no_data` on the API.

- a period not begun yet: 422 naming `query.period` on the API, the 422 page "Chưa đến kỳ" on every page;
- a period ending before the unit's first month of data: 404 naming `query.period` on the API, the 404 page naming
  the span there is on every page;
- a unit without any data yet: 200, its figures empty (`no_data`, the page "Chưa có dữ liệu").

Over the real broker, evaluation faked (tests.gateway.fakes.World.first_months)."""

import re
import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from services.gateway.bootstrap import GatewayState
from shared.periods import VIETNAM_TZ
from tests.gateway.conftest import RPC_TIMEOUT
from tests.gateway.fakes import FakeServices, World
from tests.gateway.test_minutes_label_pages import signed_in

FIRST = "2025-12"
BEFORE = ("2024", "2025-Q3", "2025-11")
COMMITTEE_READS = ("rollup", "ranking", "weakest")


def next_month() -> str:
    today = datetime.now(VIETNAM_TZ)
    return f"{today.year + today.month // 12}-{today.month % 12 + 1:02d}"


def next_year() -> str:
    return str(datetime.now(VIETNAM_TZ).year + 1)


@pytest.fixture
def first_data(world: World) -> Iterator[None]:
    """Ward A and its cell A1 have data from December 2025."""
    world.first_months.update({world.ward_a: FIRST, world.cell_a1: FIRST})
    yield
    world.first_months.clear()


async def test_the_api_answers_a_period_not_begun_422_and_one_before_the_data_404_naming_query_period(
    client: httpx.AsyncClient, world: World, headers: dict[str, dict[str, str]], first_data: None
) -> None:
    officer = headers["ward_officer"]
    for period, status in [(next_month(), 422), (next_year(), 422), *((before, 404) for before in BEFORE)]:
        for read in COMMITTEE_READS:
            answer = await client.get(f"/v1/committees/{world.ward_a}/{read}?period={period}", headers=officer)
            assert answer.status_code == status, (read, period, answer.text)
            assert answer.json()["field"] == "query.period", (read, period, answer.text)
        ratings = await client.get(f"/v1/cells/{world.cell_a1}/ratings?period={period}", headers=officer)
        assert ratings.status_code == status, (period, ratings.text)
        assert ratings.json()["field"] == "query.period", (period, ratings.text)
    said = (await client.get(f"/v1/committees/{world.ward_a}/rollup?period=2024", headers=officer)).json()
    assert "2025-12" in said["message"], said
    # the period that holds the first month, and every later one, has data
    for period in (FIRST, "2025-Q4", "2025", "2026-10"):
        for read in COMMITTEE_READS:
            answer = await client.get(f"/v1/committees/{world.ward_a}/{read}?period={period}", headers=officer)
            assert answer.status_code == 200, (read, period, answer.text)
        ratings = await client.get(f"/v1/cells/{world.cell_a1}/ratings?period={period}", headers=officer)
        assert ratings.status_code == 200, (period, ratings.text)


async def test_the_cells_meetings_before_its_data_are_the_404_its_ratings_answer(
    client: httpx.AsyncClient, world: World, headers: dict[str, dict[str, str]], first_data: None
) -> None:
    """A trial read `/meetings?period=2020-01` as 200 and an empty list where ratings, roll-up and ranking answered
    404: a period before the cell's data is the same 404 naming `query.period` there; its first period and periods
    ahead (meetings planned) still list."""
    officer = headers["ward_officer"]
    for period in (*BEFORE, "2020-01"):
        answer = await client.get(f"/v1/cells/{world.cell_a1}/meetings?period={period}", headers=officer)
        assert answer.status_code == 404, (period, answer.text)
        assert answer.json()["field"] == "query.period" and FIRST in answer.json()["message"], (period, answer.text)
    for period in (FIRST, "2025-Q4", "2025", next_month()):
        answer = await client.get(f"/v1/cells/{world.cell_a1}/meetings?period={period}", headers=officer)
        assert answer.status_code == 200, (period, answer.text)


async def test_every_page_answers_a_period_not_begun_with_the_422_chua_den_ky_page(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, first_data: None
) -> None:
    committee, cell = f"/app/committees/{world.ward_a}", f"/app/cells/{world.cell_a1}"
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        answers = {
            path: await officer.get(path)
            for path in (
                f"{committee}?period={next_month()}",
                f"{committee}/report.csv?period={next_month()}",
                f"{committee}/report.pdf?period={next_year()}",
                f"{cell}?year={next_year()}",
                f"{cell}/evidence?year={next_year()}",
                f"{cell}/evidence.csv?year={next_year()}",
            )
        }
    for path, answer in answers.items():
        assert answer.status_code == 422, (path, answer.status_code, answer.text[-600:])
        assert "Chưa đến kỳ" in answer.text, (path, answer.text[-600:])


async def test_every_page_answers_a_period_before_the_units_data_with_the_404_page_naming_its_span(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, first_data: None
) -> None:
    committee, cell = f"/app/committees/{world.ward_a}", f"/app/cells/{world.cell_a1}"
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        answers = {
            path: await officer.get(path)
            for path in (
                f"{committee}?period=2024",
                f"{committee}?period=2025-11",
                f"{committee}/report.csv?period=2025-Q3",
                f"{committee}/report.pdf?period=2024",
                f"{cell}?year=2024",
                f"{cell}/evidence?year=2024",
            )
        }
    for path, answer in answers.items():
        assert answer.status_code == 404, (path, answer.status_code, answer.text[-600:])
        assert "Không có dữ liệu của" in answer.text and "2025" in answer.text, (path, answer.text[-600:])


def back_link(page: str) -> str:
    """The error page's way back besides the home page (error.html's `back`): its `<a …>label</a>`."""
    links = re.findall(r'<p><a href="[^"]+">[^<]+</a></p>', page.split('<section class="card narrow">', 1)[-1])
    return links[0] if len(links) == 2 else ""


async def test_a_cells_year_not_begun_gives_the_way_back_its_404_page_gives(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, first_data: None
) -> None:
    """The 422 "Chưa đến kỳ" of a cell's next year offered only the home page, where the 404 of a year before the
    cell's data leads to its latest year (`Xem năm 2026`): both lead there now, on the cell's and evidence pages."""
    cell = f"/app/cells/{world.cell_a1}"
    this_year = str(datetime.now(VIETNAM_TZ).year)
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        for page, back in (
            (cell, f"{cell}?year={this_year}"),
            (f"{cell}/evidence", f"{cell}/evidence?year={this_year}"),
        ):
            not_begun, before = await officer.get(f"{page}?year={next_year()}"), await officer.get(f"{page}?year=2024")
            assert (not_begun.status_code, before.status_code) == (422, 404)
            assert back_link(before.text) == f'<p><a href="{back}">Xem năm {this_year}</a></p>', before.text[-600:]
            assert back_link(not_begun.text) == back_link(before.text), not_begun.text[-600:]
        csv_not_begun = await officer.get(f"{cell}/evidence.csv?year={next_year()}")
    assert csv_not_begun.status_code == 422
    assert back_link(csv_not_begun.text) == f'<p><a href="{cell}/evidence?year={this_year}">Xem năm {this_year}</a></p>'


async def test_the_cells_meetings_of_a_period_are_listed_while_evaluation_does_not_answer(
    client: httpx.AsyncClient,
    world: World,
    headers: dict[str, dict[str, str]],
    fakes: FakeServices,
    first_data: None,
) -> None:
    """The first month is evaluation's: while it is silent the meetings (meetings' own) are listed unchecked, not a
    503 for a read that did not need evaluation before."""
    await fakes.evaluation.stop()
    try:
        answer = await client.get(f"/v1/cells/{world.cell_a1}/meetings?period={FIRST}", headers=headers["ward_officer"])
    finally:
        await fakes.evaluation.start()
    assert answer.status_code == 200, answer.text


async def test_a_committees_report_of_a_period_not_begun_gives_the_way_back_its_404_page_gives(
    client: httpx.AsyncClient,
    world: World,
    headers: dict[str, dict[str, str]],
    amqp_url: str,
    database_url: str,
    first_data: None,
) -> None:
    """The report's CSV and PDF of next month were the 422 "Chưa đến kỳ" with only the home page to go to, where a
    period before the committee's data leads to its page (`Xem kỳ gần nhất`): both lead there now. The API's read of
    the same period stays JSON naming `query.period` (a page path answers a page, /v1 JSON)."""
    committee = f"/app/committees/{world.ward_a}"
    back = f'<p><a href="{committee}">Xem kỳ gần nhất</a></p>'
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        for report in ("report.csv", "report.pdf"):
            not_begun = await officer.get(f"{committee}/{report}?period={next_month()}")
            before = await officer.get(f"{committee}/{report}?period=2024")
            assert (not_begun.status_code, before.status_code) == (422, 404), (report, not_begun.text[-600:])
            assert back_link(before.text) == back, before.text[-600:]
            assert "Chưa đến kỳ" in not_begun.text and back_link(not_begun.text) == back, not_begun.text[-600:]
    officer_api = headers["ward_officer"]
    api = await client.get(f"/v1/committees/{world.ward_a}/rollup?period={next_month()}", headers=officer_api)
    assert api.status_code == 422 and api.headers["content-type"].startswith("application/json"), api.text
    assert api.json()["field"] == "query.period", api.text


async def test_a_cells_page_of_a_year_without_meetings_waits_one_timeout_while_evaluation_does_not_answer(
    client: httpx.AsyncClient,
    world: World,
    amqp_url: str,
    database_url: str,
    fakes: FakeServices,
    state: GatewayState,
) -> None:
    """A cell's page waits for a silent evaluation once (gateway.availability: the first unanswered call marks it for
    the rest of the render); a year listing no meeting then asked evaluation for the cell's first month again and
    waited a second timeout (10.1 s against the gateway's 5 s). The page still lists the year, unchecked."""
    year = str(datetime.now(VIETNAM_TZ).year - 2)  # offered while the cell's span is unknown, no meeting in it
    # never told by evaluation (another test's page would have)
    await state.pool.execute("DELETE FROM web_told_months WHERE unit_id = $1", world.cell_a1)
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        await fakes.evaluation.stop()
        try:
            started = time.monotonic()
            page = await officer.get(f"/app/cells/{world.cell_a1}?year={year}")
            took = time.monotonic() - started
        finally:
            await fakes.evaluation.start()
    assert page.status_code == 200, page.text[-600:]
    assert 'id="ratings-unavailable"' in page.text, page.text[-1500:]
    assert took < 1.5 * RPC_TIMEOUT, took
