"""Ratings and periods as every reader shows them, over the fakes: a month is Poor for having no regular meeting only
once it has closed, by the clock and never by the `in_progress` flag it was stored with (DOMAIN.md "Periods",
shared.periods.awaiting_meeting); a `?period=` reads from 2000-01 to two years ahead (shared.plausible.
period_range_problem) and one not begun yet has no rating at all, on the API, the pages, the PDF and the CSV alike.
`0000-01` crashed the roll-up, its pages and exports (a date in year 0); a cell's API and page read the running month
before its meeting as Poor 0."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.gateway.bootstrap import GatewayState
from shared.envelope import now
from shared.periods import month_of, next_period, previous_period
from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World
from tests.support.ids import random_id
from tests.support.web import signed_in_web

OUT_OF_RANGE = ["0000-01", "1999-12", "9999-12", "2999"]


@dataclass
class Ours:
    """A committee with one cell of the test's own, whose months evaluation stored as the rows say."""

    committee: str
    cell: str
    running: str
    closed: str
    api: dict[str, str]
    """The Authorization header of an officer of the committee."""


def stored_rows(cell: str, running: str, closed: str) -> list[dict[str, Any]]:
    """The running month stored Poor 0 without its regular meeting and without the `in_progress` flag; the month
    before, closed without one, still carrying the `in_progress` flag it was stored with while it ran."""
    empty = {"cell_id": cell, "rating": "poor", "score": 0.0, "regular_held": 0, "thematic_held": 0}
    return [
        {**empty, "period": closed, "flags": ["no_regular_meeting", "in_progress"]},
        {**empty, "period": running, "flags": ["no_regular_meeting"]},
    ]


@pytest.fixture
async def ours(world: World, token_for: TokenFactory) -> Ours:
    committee, cell = random_id("xa"), random_id("thon")
    world.add_unit(committee, "Đảng ủy xã Thử", "committee", None)
    world.add_unit(cell, "Chi bộ thôn Thử", "cell", committee)
    running = month_of(now())
    closed = previous_period(running)
    world.stored_periods[cell] = stored_rows(cell, running, closed)
    api = await token_for("committee_officer", committee, random_id("per"))
    return Ours(committee=committee, cell=cell, running=running, closed=closed, api=api)


@pytest.fixture
async def web(
    app_and_state: tuple[object, GatewayState], ours: Ours, amqp_url: str, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own, signed in as an officer of the test's committee."""
    app, _ = app_and_state
    async with signed_in_web(
        app, "xa", "committee_officer", ours.committee, database_url, amqp_url, peer=("203.0.113.8", 4712)
    ) as client:
        yield client


def strip_month(page: str, period: str) -> str:
    """The cell page's strip item of one month."""
    found = re.search(rf'<li class="[^"]*" data-period="{period}">.*?</li>', page, re.S)
    assert found is not None, period
    return found.group(0)


async def test_the_running_month_before_its_meeting_has_no_rating_on_the_ratings_api(
    client: httpx.AsyncClient, ours: Ours
) -> None:
    """The running month, stored Poor 0 without the `in_progress` flag, reads `not_met_yet`, no rating nor score;
    the closed month, stored with a stale `in_progress` flag, is Poor."""
    for period in (None, ours.running[:4]):
        query = f"?period={period}" if period else ""
        answer = await client.get(f"/v1/cells/{ours.cell}/ratings{query}", headers=ours.api)
        assert answer.status_code == 200, answer.text
        rows = {row["period"]: row for row in answer.json()["items"]}
        running = rows[ours.running]
        assert (running["rating"], running["score"], running["not_met_yet"]) == (None, None, True)
        if ours.closed in rows:  # (in January the closed month is of last year)
            closed = rows[ours.closed]
            assert (closed["rating"], closed["score"], closed.get("not_met_yet")) == ("poor", 0.0, None)


async def test_the_cell_page_reads_the_running_month_as_not_met_yet_and_a_closed_one_as_kem(
    web: httpx.AsyncClient, ours: Ours
) -> None:
    page = await web.get(f"/app/cells/{ours.cell}?year={ours.running[:4]}")
    assert page.status_code == 200, page.text
    running = strip_month(page.text, ours.running)
    assert "data-not-met-yet" in running and "Kém" not in running and 'class="rating poor"' not in running
    closed_page = (await web.get(f"/app/cells/{ours.cell}?year={ours.closed[:4]}")).text
    closed = strip_month(closed_page, ours.closed)
    assert "Kém" in closed and "data-not-met-yet" not in closed


async def test_the_evidence_page_reads_the_running_month_as_not_met_yet(web: httpx.AsyncClient, ours: Ours) -> None:
    page = await web.get(f"/app/cells/{ours.cell}/evidence?year={ours.running[:4]}")
    assert page.status_code == 200, page.text
    strip = page.text[page.text.index('<ol class="strip">') :].split("</ol>", 1)[0]
    month = re.findall(r"<li.*?</li>", strip, re.S)[int(ours.running[5:7]) - 1]
    assert "data-not-met-yet" in month and "Kém" not in month


@pytest.mark.parametrize("period", OUT_OF_RANGE)
async def test_a_period_out_of_range_is_422_naming_query_period_on_every_api_read(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, period: str
) -> None:
    officer = headers["province_officer"]
    for path in (
        f"/v1/committees/{world.root}/rollup",
        f"/v1/committees/{world.root}/ranking",
        f"/v1/committees/{world.root}/weakest",
        f"/v1/cells/{world.cell_a1}/ratings",
        f"/v1/cells/{world.cell_a1}/meetings",
    ):
        answer = await client.get(f"{path}?period={period}", headers=officer)
        assert answer.status_code == 422, (path, answer.text)
        body = answer.json()
        assert body["field"] == "query.period" and period in body["message"], (path, body)
    # the bounds themselves are read: 2000-01 (no data there: a page of nothing, not Poor), and a cell's meetings
    # up to two years ahead, as far as meetings are planned
    earliest = await client.get(f"/v1/cells/{world.cell_a1}/ratings?period=2000-01", headers=officer)
    assert earliest.status_code == 200, earliest.text
    this_month = month_of(now())
    ahead = f"{int(this_month[:4]) + 2}{this_month[4:]}"
    answer = await client.get(f"/v1/cells/{world.cell_a1}/meetings?period={ahead}", headers=officer)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("period", OUT_OF_RANGE)
async def test_a_period_out_of_range_is_a_vietnamese_422_on_the_page_the_pdf_and_the_csv(
    web: httpx.AsyncClient, ours: Ours, period: str
) -> None:
    for path in ("", "/report.pdf", "/report.csv"):
        answer = await web.get(f"/app/committees/{ours.committee}{path}?period={period}")
        assert answer.status_code == 422, (path, answer.text[:300])
        assert "Kỳ không hợp lệ" in answer.text and f"“{period}” nằm ngoài khoảng kỳ có thể xem" in answer.text, path
        assert "tháng 1/2000" in answer.text, path


async def test_a_period_not_begun_is_422_on_the_api_and_chua_den_ky_on_the_page_pdf_and_csv(
    client: httpx.AsyncClient, web: httpx.AsyncClient, ours: Ours
) -> None:
    coming = next_period(ours.running)
    for path in (
        f"/v1/committees/{ours.committee}/rollup",
        f"/v1/committees/{ours.committee}/ranking",
        f"/v1/committees/{ours.committee}/weakest",
        f"/v1/cells/{ours.cell}/ratings",
    ):
        answer = await client.get(f"{path}?period={coming}", headers=ours.api)
        assert answer.status_code == 422, (path, answer.text)
        body = answer.json()
        assert body["field"] == "query.period", (path, body)
        assert f"query.period: {coming} has not begun yet" in body["message"], (path, body)
    for path in ("", "/report.pdf", "/report.csv"):
        answer = await web.get(f"/app/committees/{ours.committee}{path}?period={coming}")
        assert answer.status_code == 422, (path, answer.text[:300])
        assert "Chưa đến kỳ" in answer.text and "chưa đến kỳ nên chưa được đánh giá" in answer.text, path
        assert 'class="rating poor"' not in answer.text and "data-rating-count" not in answer.text, path
    # the committee page says it with its period chooser, to pick another
    page = await web.get(f"/app/committees/{ours.committee}?period={coming}")
    assert 'data-state="not_begun"' in page.text
    # a cell's meetings of the coming month are listed still: they are planned ahead, only ratings wait
    meetings = await client.get(f"/v1/cells/{ours.cell}/meetings?period={coming}", headers=ours.api)
    assert meetings.status_code == 200, meetings.text


async def test_every_period_problem_names_the_same_field_on_every_endpoint(
    client: httpx.AsyncClient, web: httpx.AsyncClient, ours: Ours
) -> None:
    """A user trial: `?period=2026-13` answered `"field": "query.period"` and `9999-12` `"field": "period"`. Every
    `?period=` problem (malformed, out of range, not begun) names `query.period`, as other query parameters' errors
    (`query.limit`) do, on every API read taking it; the committee page, its PDF and CSV answer the same 422 page for
    a malformed period as for one out of range."""
    coming = next_period(ours.running)
    rated = [
        f"/v1/committees/{ours.committee}/rollup",
        f"/v1/committees/{ours.committee}/ranking",
        f"/v1/committees/{ours.committee}/weakest",
        f"/v1/cells/{ours.cell}/ratings",
    ]
    for path in [*rated, f"/v1/cells/{ours.cell}/meetings"]:
        for period in ["2026-13", "abc", "9999-12", "1999-12", *([coming] if path in rated else [])]:
            answer = await client.get(path, params={"period": period}, headers=ours.api)
            assert answer.status_code == 422, (path, period, answer.text)
            body = answer.json()
            assert body["field"] == "query.period", (path, period, body)
            assert body["message"].startswith("query.period: "), (path, period, body)
    for path in ("", "/report.pdf", "/report.csv"):
        answers = [
            await web.get(f"/app/committees/{ours.committee}{path}", params={"period": period})
            for period in ("2026-13", "9999-12")
        ]
        assert [answer.status_code for answer in answers] == [422, 422], path
        assert all("Kỳ không hợp lệ" in answer.text for answer in answers), path


async def test_the_page_says_the_alerts_are_ahead_while_a_late_rating_of_a_period_past_its_grace_settles(
    web: httpx.AsyncClient, ours: Ours, world: World
) -> None:
    """Trial 14: a month past its grace, a cell's rating that came late (Kém) is judged by notifications once settled;
    the page, knowing only the grace, said "Không có cảnh báo." and nothing pending. It asks notifications
    (GetPeriodChecks) and says when the alerts will be decided while one of its checks is pending."""
    long_past = previous_period(ours.closed)  # its grace (3 days) over whatever the day
    empty = {"cell_id": ours.cell, "rating": "poor", "score": 40.0, "regular_held": 1, "thematic_held": 0}
    world.stored_periods[ours.cell] = [{**empty, "period": long_past, "flags": []}, *world.stored_periods[ours.cell]]
    address = f"/app/committees/{ours.committee}?period={long_past}"
    page = await web.get(address)
    assert page.status_code == 200 and 'id="alerts-due"' not in page.text, page.text[-3000:]
    world.period_checks[(ours.committee, long_past)] = now() + timedelta(minutes=30)
    page = await web.get(address)
    assert page.status_code == 200 and 'id="alerts-due"' in page.text, page.text[-3000:]
    # past its grace: the rating settling alone holds the alerts back, and the page says only that (h191)
    assert ", khi xếp loại mới nhất đã ổn định." in page.text, page.text[-3000:]
    assert "thời gian chờ biên bản nộp muộn" not in page.text


async def test_every_period_refusal_names_the_latest_period_a_rating_can_be_read_for(
    client: httpx.AsyncClient, web: httpx.AsyncClient, ours: Ours
) -> None:
    """The fresh-user trial: `?period=9999-12` on a roll-up said "the latest period is 2028-12" (two years ahead, the
    span of a meeting list), then 2028-12 and 2027-01 were refused as not begun. The API and the pages name the real
    latest period of a rating, this month in Vietnam's time, whether the period asked lies beyond two years or not."""
    month, year = int(ours.running[5:]), ours.running[:4]
    said = f"tháng {month}/{year}"
    two_years_ahead = f"{int(year) + 2}-{month:02d}"
    for period in (next_period(ours.running), two_years_ahead, "9999-12", "1999-12"):
        answer = await client.get(f"/v1/committees/{ours.committee}/rollup?period={period}", headers=ours.api)
        assert answer.status_code == 422, (period, answer.text)
        message = answer.json()["message"]
        assert f"latest period is {ours.running}" in message or f"the latest is {ours.running})" in message, message
        assert two_years_ahead not in message.removeprefix(f"query.period: {period}"), message
        page = await web.get(f"/app/committees/{ours.committee}?period={period}")
        assert page.status_code == 422 and said in page.text, (period, page.text[-2000:])
        assert f"tháng {month}/{int(year) + 2}" not in page.text.replace(f"“{period}”", ""), period
