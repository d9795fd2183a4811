"""Officers' reads with meetings down: a trial killed meetings and the committee's roll-up and ranking (API and pages)
answered 503 after 5 s, though their figures are all evaluation's. The gateway asked meetings for the committee
again (the unit directory's 30 s had run out) to scope the read; it now scopes a read with its kept copy of the unit
(handlers.UnitDirectory), never without one (fail closed), and waits for a meetings known to be down no second
time. Over the fakes, meetings stopped as the evaluation-down tests stop evaluation. A kept copy scopes reads for
`unit_kept_seconds` only; a large committee's PDF is made without its units' table; a meeting's page is the "try
again" page with Retry-After, at once once meetings is known silent."""

import asyncio
import importlib
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from services.gateway.bootstrap import GatewayState
from services.gateway.handlers import TtlCache, UnitDirectory, read_with_kept_units
from shared.contracts.meetings_rpc import GetUnit, UnitReply
from shared.envelope import now
from shared.periods import month_of
from shared.rpc import Request, ServiceUnavailable
from tests.gateway.conftest import RPC_TIMEOUT, OfficerWeb, TokenFactory
from tests.gateway.fakes import FakeServices, World
from tests.support.ids import random_id
from tests.support.web import section

exports = importlib.import_module("services.gateway.web.exports")
MEETINGS_UNAVAILABLE = "Tạm thời chưa xem được danh sách đơn vị trực thuộc"
CELL_MEETINGS_UNAVAILABLE = "Tạm thời chưa xem được các buổi sinh hoạt của chi bộ."
QUICK = RPC_TIMEOUT / 2
"""Seconds a read may take with meetings down: well under one RPC timeout (it waited a whole one, then 503)."""


def closed_month() -> str:
    """December of last year: a closed month, rated as evaluation rated it."""
    return f"{int(month_of(now())[:4]) - 1}-12"


@pytest.fixture
def expired(state: GatewayState, monkeypatch: pytest.MonkeyPatch) -> None:
    """The directory's fresh units gone, as after its `unit_cache_seconds`: its kept copy stays."""
    monkeypatch.setattr(state.directory, "_cache", TtlCache(seconds=30))
    monkeypatch.setattr(state.directory, "_silent_until", float("-inf"), raising=False)


async def timed(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> tuple[httpx.Response, float]:
    """The response to GET `url` and the seconds it took."""
    started = time.perf_counter()
    response = await client.get(url, headers=headers)
    return response, time.perf_counter() - started


async def test_with_meetings_down_the_rollup_ranking_and_weakest_answer_from_evaluation(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    world: World,
    fakes: FakeServices,
    state: GatewayState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    period = closed_month()
    officer = headers["province_officer"]
    reads = [f"/v1/committees/{world.root}/{read}?period={period}" for read in ("rollup", "ranking", "weakest")]
    before = [(await client.get(url, headers=officer)).json() for url in reads]
    monkeypatch.setattr(state.directory, "_cache", TtlCache(seconds=30))  # its 30 s run out
    async with fakes.meetings.down():
        answers = [await timed(client, url, officer) for url in reads]
    for (response, took), answered in zip(answers, before, strict=True):
        assert response.status_code == 200, response.text
        assert took < QUICK, took
        assert response.json() == answered
    assert answers[0][0].json()["score"] == 80.5


async def test_with_meetings_down_scoping_stays_and_a_unit_never_seen_fails_closed(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    world: World,
    fakes: FakeServices,
    state: GatewayState,
    token_for: TokenFactory,
    expired: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    period = closed_month()
    ward_officer = headers["ward_officer"]
    # the province officer's read leaves the gateway a copy of ward B, outside ward A's subtree
    province_officer = headers["province_officer"]
    seen = await client.get(f"/v1/committees/{world.ward_b}/rollup?period={period}", headers=province_officer)
    assert seen.status_code == 200, seen.text
    own = await client.get(f"/v1/committees/{world.ward_a}/rollup?period={period}", headers=ward_officer)
    assert own.status_code == 200, own.text
    district, never_seen = random_id("huyen"), random_id("xa")  # a tree of the test's own: the world's stays as it was
    world.add_unit(district, "Huyện ủy Thử", "committee", None)
    world.add_unit(never_seen, "Đảng ủy xã Chưa xem", "committee", district)
    district_officer = await token_for("committee_officer", district)
    assert (await client.get(f"/v1/committees/{district}", headers=district_officer)).status_code == 200
    monkeypatch.setattr(state.directory, "_cache", TtlCache(seconds=30))  # the 30 s run out
    async with fakes.meetings.down():
        other, _ = await timed(client, f"/v1/committees/{world.ward_b}/rollup?period={period}", ward_officer)
        mine, took = await timed(client, f"/v1/committees/{world.ward_a}/ranking?period={period}", ward_officer)
        unknown, _ = await timed(client, f"/v1/committees/{never_seen}/rollup?period={period}", district_officer)
        command = await client.post(
            f"/v1/committees/{world.ward_a}/inbox/{random_id('ntf')}/read", headers=ward_officer
        )
    assert other.status_code == 404, other.text  # ward B stays outside ward A's subtree
    assert mine.status_code == 200 and took < QUICK, (mine.text, took)
    assert unknown.status_code == 503, unknown.text  # no copy of it: not scoped at all, never let through
    assert unknown.json()["service"] == "meetings"
    assert command.status_code == 503, command.text  # a command is never scoped with a kept copy
    assert command.json()["service"] == "meetings"


@pytest.fixture
async def web(officer_web: OfficerWeb, world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own, signed in as an officer of the province."""
    async with officer_web("tinh", world.root, peer=("203.0.113.14", 4718)) as browser:
        yield browser


async def test_with_meetings_down_the_committee_pages_show_evaluations_figures(
    web: httpx.AsyncClient, world: World, fakes: FakeServices, state: GatewayState, monkeypatch: pytest.MonkeyPatch
) -> None:
    period = closed_month()
    pages = [
        f"/app/committees/{world.root}?period={period}",
        f"/app/committees/{world.root}/ranking?period={period}",
        f"/app/committees/{world.root}/report.csv?period={period}",
        f"/app/cells/{world.cell_a1}?year={period[:4]}",
    ]
    for url in pages:
        assert (await web.get(url)).status_code == 200, url
    monkeypatch.setattr(state.directory, "_cache", TtlCache(seconds=30))
    async with fakes.meetings.down():
        shown = [await timed(web, url, {}) for url in pages]
    (overview, took), (ranking, ranked_in), (report, reported_in), (cell, cell_in) = shown
    assert overview.status_code == 200, overview.text[-2000:]
    assert took < QUICK, took
    assert MEETINGS_UNAVAILABLE in overview.text
    assert "Chưa có dữ liệu" not in section(overview.text, 'id="weakest"', "</ol>")
    assert ranking.status_code == 200 and ranked_in < QUICK, (ranking.text[-2000:], ranked_in)
    assert world.cell_a2 in ranking.text
    assert report.status_code == 200 and reported_in < QUICK, (report.text[-2000:], reported_in)
    assert cell.status_code == 200 and cell_in < QUICK, (cell.text[-2000:], cell_in)
    assert CELL_MEETINGS_UNAVAILABLE in section(cell.text, 'id="meetings"', "</table>")
    assert "Năm này chưa có buổi sinh hoạt nào." not in cell.text


KEPT_SECONDS = 600.0
"""The age cap of the kept copies of the directory the age tests put in the gateway (its setting: unit_kept_seconds)."""
UNREACHABLE = "Tạm thời chưa kết nối được với dịch vụ sinh hoạt chi bộ. Đồng chí vui lòng thử lại sau ít phút."


class Clock:
    """A monotonic clock the test moves (`now`, seconds), never the real one."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(state: GatewayState, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The gateway's unit directory made anew as bootstrap makes it, on a clock of the test's, copies kept
    KEPT_SECONDS."""
    at = Clock()
    settings = state.settings
    directory = UnitDirectory(
        state.rpc,
        TtlCache(seconds=settings.unit_cache_seconds, clock=at),
        miss_seconds=settings.unit_miss_cache_seconds,
        read_timeout=settings.person_name_timeout,
        retry_seconds=settings.person_name_retry_seconds,
        kept_seconds=KEPT_SECONDS,
        timer=at,
    )
    monkeypatch.setattr(state, "directory", directory)
    return at


async def test_a_kept_copy_older_than_its_cap_scopes_no_read(
    client: httpx.AsyncClient,
    web: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    world: World,
    fakes: FakeServices,
    clock: Clock,
) -> None:
    """The kept copy had no age: a unit moved (or a scope changed) long before meetings went down could still be read
    through it for as long as meetings stayed down. Past `unit_kept_seconds` after meetings gave it, a copy scopes
    no read: the API's 503 names meetings and why, the page is the "try again" page, as for a unit never seen."""
    period = closed_month()
    ward_officer = headers["ward_officer"]
    api = f"/v1/committees/{world.ward_a}/rollup?period={period}"
    page = f"/app/committees/{world.ward_a}?period={period}"
    assert (await client.get(api, headers=ward_officer)).status_code == 200  # the copies are made at 0 s
    assert (await web.get(page)).status_code == 200
    clock.now = KEPT_SECONDS - 1  # no longer fresh, still young enough
    async with fakes.meetings.down():
        young = await client.get(api, headers=ward_officer)
        young_page = await web.get(page)
        clock.now = KEPT_SECONDS + 1
        old = await client.get(api, headers=ward_officer)
        old_page = await web.get(page)
    assert young.status_code == 200, young.text
    assert young_page.status_code == 200 and MEETINGS_UNAVAILABLE in young_page.text, young_page.text[-2000:]
    assert old.status_code == 503, old.text  # fail closed: the copy is too old to scope with
    said = old.json()
    assert said["service"] == "meetings" and said["code"] == "unavailable", said
    assert f"copy of unit {world.ward_a} only while that copy is at most 600 s old" in said["message"], said
    assert old.headers["Retry-After"] == "5"
    assert old_page.status_code == 503, old_page.text[-2000:]
    assert UNREACHABLE in section(old_page.text, "<main", "</main>")
    assert old_page.headers["Retry-After"] == "5"
    # meetings back: its answer is a new copy, and the read goes on
    again = await client.get(api, headers=ward_officer)
    assert again.status_code == 200, again.text


def pdf_words(content: bytes) -> str:
    """The text of a PDF, its words one space apart."""
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())


async def test_with_meetings_down_the_committee_pdfs_are_made_from_evaluations_figures(
    web: httpx.AsyncClient,
    world: World,
    fakes: FakeServices,
    state: GatewayState,
    expired: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large committee's PDF (above FULL_LIST_CELLS: its table by directly subordinate unit lists the units meetings
    gives) answered 503 after the RPC timeout with meetings down, though its figures are evaluation's: it is made,
    saying where that table would be that the units cannot be listed now; a smaller committee's lists every cell."""
    monkeypatch.setattr(exports, "FULL_LIST_CELLS", 2, raising=False)  # the province's three cells are above it
    period = closed_month()
    large = f"/app/committees/{world.root}/report.pdf?period={period}"
    small = f"/app/committees/{world.ward_a}/report.pdf?period={period}"
    assert "Đảng ủy phường A" in pdf_words((await web.get(large)).content)  # the copies, and the table, with meetings
    assert (await web.get(small)).status_code == 200
    monkeypatch.setattr(state.directory, "_cache", TtlCache(seconds=30))  # its 30 s run out
    async with fakes.meetings.down():
        (summary, took), (full, _) = [await timed(web, url, {}) for url in (large, small)]
    assert summary.status_code == 200, summary.text[-2000:]
    assert took < QUICK, took
    text = pdf_words(summary.content)
    assert "Theo đơn vị trực thuộc " + MEETINGS_UNAVAILABLE in text, text
    assert "dịch vụ sinh hoạt chi bộ chưa trả lời" in text and "Đảng ủy phường A" not in text
    assert "Các chi bộ yếu nhất" in text and "Chi bộ khu phố 2" in text  # evaluation's weakest cells
    assert "80,5" in text  # the roll-up's average score
    assert full.status_code == 200, full.text[-2000:]
    assert "Chi bộ khu phố 1" in pdf_words(full.content) and "Chi bộ khu phố 2" in pdf_words(full.content)


async def test_with_meetings_down_a_meeting_page_says_so_at_once_with_retry_after(
    web: httpx.AsyncClient, world: World, fakes: FakeServices, expired: None
) -> None:
    """A meeting's page (and its minutes' PDF) is all meetings': with meetings down it waited the RPC timeout every
    time, then a 503 page without Retry-After. It is the Vietnamese "try again" page naming the meetings service,
    with Retry-After, and once the gateway found meetings silent it waits no RPC timeout again."""
    meeting = f"/app/meetings/{world.meeting_a1}"
    assert (await web.get(meeting)).status_code == 200
    async with fakes.meetings.down():
        first, _ = await timed(web, meeting, {})
        again, took = await timed(web, meeting, {})
        minutes, minutes_in = await timed(web, f"{meeting}/minutes.pdf", {})
    for page in (first, again, minutes):
        assert page.status_code == 503, page.text[-2000:]
        assert UNREACHABLE in section(page.text, "<main", "</main>")
        assert page.headers["Retry-After"] == "5"
    assert took < QUICK and minutes_in < QUICK, (took, minutes_in)


async def test_the_first_pages_after_meetings_stopped_come_promptly_from_the_fresh_copy(
    web: httpx.AsyncClient, world: World, fakes: FakeServices, state: GatewayState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first page after meetings stopped, its unit still fresh in the directory (nothing asked meetings for the
    scoping), waited the whole RPC timeout (5.1 s) for its meetings-only part before showing its note: the committee
    page, the cell page, and a meeting's page before its 503. Each now waits `read_timeout`, finds from the broker that
    meetings has no consumer, and answers: the note (or the try-again page), meetings noted down for the pages
    after it. The scoping is the fresh copy's: nothing is let through without one."""
    period = closed_month()
    pages = {
        "committee": f"/app/committees/{world.root}?period={period}",
        "cell": f"/app/cells/{world.cell_a1}?year={period[:4]}",
        "meeting": f"/app/meetings/{world.meeting_a1}",
    }
    for url in pages.values():
        assert (await web.get(url)).status_code == 200, url  # the units cached fresh (30 s), their copies kept
    shown: dict[str, tuple[httpx.Response, float]] = {}
    async with fakes.meetings.down():
        for name, url in pages.items():
            monkeypatch.setattr(state.directory, "_silent_until", float("-inf"), raising=False)  # each one the first
            shown[name] = await timed(web, url, {})
            assert state.directory.meetings_silent(), name  # the pages after it do not wait for meetings
    (committee, committee_in), (cell, cell_in), (meeting, meeting_in) = shown.values()
    assert committee.status_code == 200 and committee_in < QUICK, (committee.text[-2000:], committee_in)
    assert MEETINGS_UNAVAILABLE in committee.text
    assert cell.status_code == 200 and cell_in < QUICK, (cell.text[-2000:], cell_in)
    assert CELL_MEETINGS_UNAVAILABLE in section(cell.text, 'id="meetings"', "</table>")
    assert meeting.status_code == 503 and meeting_in < QUICK, (meeting.text[-2000:], meeting_in)
    assert UNREACHABLE in section(meeting.text, "<main", "</main>")
    assert meeting.headers["Retry-After"] == "5"


class GetUnitWaiting:
    """meetings' get_unit answering only once `answer` is set (a meetings there but slow); `cancelled` counts the
    calls given up."""

    def __init__(self) -> None:
        self.answer = asyncio.Event()
        self.cancelled = 0

    async def call(
        self, request: Request[Any], *, correlation_id: str | None = None, timeout: float | None = None
    ) -> Any:
        """The unit as meetings has it, once `answer` is set."""
        assert isinstance(request, GetUnit)
        try:
            await self.answer.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return UnitReply(id=request.unit_id, name="Đảng ủy phường A", kind="committee", ancestors=[request.unit_id])


async def test_a_read_gives_meetings_up_after_its_short_wait_only_when_the_broker_says_it_is_gone() -> None:
    """The short wait is no cap on a meetings that is there: past `read_timeout` the read asks the broker and waits on
    while meetings has a consumer (its answer used); without one it is ServiceUnavailable (meetings) at once, the
    call dropped and meetings noted down. A command is never given up early."""
    meetings = GetUnitWaiting()
    asked = asyncio.Event()
    gone = False

    async def presence() -> bool:
        asked.set()
        return gone

    clock = Clock()
    directory = UnitDirectory(
        meetings, TtlCache(seconds=30, clock=clock), read_timeout=0.01, timer=clock, gone=presence, kept_seconds=600
    )
    read_with_kept_units(True)
    try:
        slow = asyncio.ensure_future(directory.get("ward-a"))
        await asyncio.wait_for(asked.wait(), 10)  # the short wait is over: the broker was asked, meetings is there
        assert not slow.done()
        meetings.answer.set()
        assert (await asyncio.wait_for(slow, 10)) is not None and not directory.meetings_silent()
        meetings.answer.clear()
        asked.clear()
        gone = True
        with pytest.raises(ServiceUnavailable) as silence:
            await asyncio.wait_for(directory.get("ward-b"), 10)  # never seen, meetings gone: fail closed
        assert silence.value.service == "meetings" and meetings.cancelled == 1
        assert directory.meetings_silent()
    finally:
        read_with_kept_units(False)
