"""Pages show the API's figures, only within the viewer's subtree, in Vietnamese, with no asset from elsewhere."""

import re
from datetime import datetime, timedelta
from html import unescape

import httpx
import pytest

from services.gateway.web.data import month_shown
from services.gateway.web.i18n import format_number, format_share
from shared.periods import VIETNAM_TZ, next_period
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, MONTHS, PERIOD, figure, free_start, signed_in

pytestmark = pytest.mark.e2e


async def test_the_overview_shows_the_rollup_of_the_api(system: RunningSystem, api: httpx.AsyncClient) -> None:
    async with signed_in(system, "officer") as client:

        async def settled() -> tuple[dict, str] | None:
            # the province may still be scoring its last facts: compare a page with the API's figures before and
            # after it, once they agree
            before = (await api.get(f"/v1/committees/demo-tinh-uy/rollup?period={PERIOD}")).json()
            page = (await client.get(f"/app/committees/demo-tinh-uy?period={PERIOD}")).text
            after = (await api.get(f"/v1/committees/demo-tinh-uy/rollup?period={PERIOD}")).json()
            return (after, page) if before == after else None

        rollup, page = await eventually(settled, timeout=120, interval=1)
    assert figure(page, "cells") == str(rollup["cells"])
    assert figure(page, "score") == format_number(rollup["score"])
    for name in ("regularity", "attendance_rate", "speaking_rate", "thematic_coverage"):
        assert figure(page, name) == format_share(rollup[name]), name
    for rating, count in rollup["by_rating"].items():
        assert f'data-rating-count="{rating}">{count}<' in page
    for cell in rollup["weakest"]:
        assert f'data-cell="{cell["cell_id"]}"' in page
    # the weakest cells are the weak ones: never a cell rated Tốt or Khá, however few weak cells there are
    assert {cell["rating"] for cell in rollup["weakest"]} <= {"poor", "average"}
    weakest = (await api.get(f"/v1/committees/demo-tinh-uy/weakest?period={PERIOD}&limit=100")).json()["items"]
    assert {cell["rating"] for cell in weakest} <= {"poor", "average"}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/app/committees/demo-tinh-uy?period=abc", "abc"),
        ("/app/committees/demo-tinh-uy?period=2026-13", "2026-13"),
        ("/app/committees/demo-tinh-uy/report.csv?period=2026-1", "2026-1"),
        ("/app/committees/demo-tinh-uy?period=11%00%E2%80%AE", "11U+0000U+202E"),  # trial 14: a raw NUL was echoed
        # a cell page's malformed `year` is named back as a year, not a period: tests/web/test_year_message.py
    ],
)
async def test_a_malformed_period_is_named_back_in_vietnamese(
    system: RunningSystem, api: httpx.AsyncClient, path: str, value: str
) -> None:
    async with signed_in(system, "officer") as client:
        response = await client.get(path)
    assert response.status_code == 422
    assert f"“{value}” không phải là một kỳ hợp lệ" in response.text and "Kỳ không hợp lệ" in response.text
    api_answer = await api.get(f"/v1/committees/demo-tinh-uy/rollup?period={value}")
    assert api_answer.status_code == 422 and api_answer.json()["field"] == "query.period"


async def test_a_period_not_begun_or_before_the_data_is_not_rated_kem(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    coming = next_period(f"{datetime.now(VIETNAM_TZ):%Y-%m}")
    cases = [
        (coming, "not_begun", 422, "chưa đến kỳ nên chưa được đánh giá"),
        # the earliest period there is (shared.plausible), before the demo's data: the 404 page naming the span
        ("2000-01", "no_data", 404, "có dữ liệu từ"),
    ]
    async with signed_in(system, "officer") as client:
        for period, state, status, words in cases:
            page = await client.get(f"/app/committees/demo-tinh-uy?period={period}")
            # not begun: 422 as the API, report and export answer it; before the data: the 404 a cell's year before
            # it existed gets, on the page, the report and the API alike (h243: the API answered 200 `no_data`)
            assert page.status_code == status, period
            assert words in page.text and (state == "no_data" or f'data-state="{state}"' in page.text), period
            assert "data-rating-count" not in page.text and 'class="rating poor"' not in page.text, period
            answer = await api.get(f"/v1/committees/demo-tinh-uy/rollup?period={period}")
            report = await client.get(f"/app/committees/demo-tinh-uy/report.csv?period={period}")
            assert report.status_code == status, period
            if state == "not_begun":
                assert (answer.status_code, answer.json()["field"]) == (422, "query.period"), period
                assert words in report.text, period
            else:
                assert (answer.status_code, answer.json()["field"]) == (404, "query.period"), period
                assert words in report.text, period
        # the demo's first month, whose trend reaches back before the data, still shows its figures (the older
        # months left blank)
        early = await client.get(f"/app/committees/demo-tinh-uy?period={MONTHS[0]}")
        assert early.status_code == 200 and 'data-figure="cells"' in early.text


async def test_a_period_still_running_is_marked_as_such_not_read_as_final(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    """The month in progress counts every cell that has not met yet as Kém: the committee page says the period is
    still running, a closed month says nothing of the kind, and the cell page marks exactly the periods the API flags
    `in_progress` (CONTRACT.md, score.cell.updated.v1)."""
    month = f"{datetime.now(VIETNAM_TZ):%Y-%m}"
    async with signed_in(system, "officer") as client:
        running = (await client.get(f"/app/committees/demo-tinh-uy?period={month}")).text
        assert 'data-state="' in running or "chưa kết thúc: số liệu tính các buổi sinh hoạt đã tổ chức" in running
        closed = (await client.get(f"/app/committees/demo-tinh-uy?period={PERIOD}")).text
        assert 'id="in-progress"' not in closed and 'data-figure="cells"' in closed

        year = month[:4]
        flagged = {
            row["period"]
            for row in (await api.get(f"/v1/cells/demo-cb-thon-2/ratings?period={year}&limit=50")).json()["items"]
            if "in_progress" in row["flags"]
        }
        page = (await client.get(f"/app/cells/demo-cb-thon-2?year={year}")).text
    strip = set(re.findall(r'data-period="([^"]+)">(?:(?!</li>).)*data-in-progress', page, re.S))
    assert strip == {period for period in flagged if len(period) == 7 and "Q" not in period}
    # the running half-year's row (2026-H1/H2 beside the quarters) is marked as the API flags it
    halves = set(re.findall(r'data-half-year="([^"]+)"(?:(?!</tr>).)*data-in-progress', page, re.S))
    for half in halves:
        rows = (await api.get(f"/v1/cells/demo-cb-thon-2/ratings?period={half}&limit=50")).json()["items"]
        assert any(row["period"] == half and "in_progress" in row["flags"] for row in rows), rows
    assert len(halves) <= 1
    assert page.count("data-in-progress") == len(flagged) + len(halves)  # months, quarter, year and half-year rows
    assert all(period >= month[:4] for period in flagged)
    # the running month before the cell's regular meeting is not shown as Kém 0 but as not met yet
    waiting = {period for period in flagged if len(period) == 7 and "Q" not in period} & {
        row["period"]
        for row in (await api.get(f"/v1/cells/demo-cb-thon-2/ratings?period={year}&limit=50")).json()["items"]
        if "no_regular_meeting" in row["flags"]
    }
    shown = set(re.findall(r'data-period="([^"]+)">(?:(?!</li>).)*data-not-met-yet', page, re.S))
    assert shown == waiting


def test_the_running_month_before_its_meeting_has_no_rating_only_not_met_yet() -> None:
    """Evaluation counts a running month without a regular meeting as Kém 0 (so the committee's month counts it);
    the cell's own strip said "Kém 0" on the 1st of the month, before a meeting set for the 4th."""
    at = datetime(2026, 12, 1, 8, 0, tzinfo=VIETNAM_TZ)
    waiting = {"period": "2026-12", "rating": "poor", "score": 0.0, "flags": ["no_regular_meeting", "in_progress"]}
    assert month_shown(waiting, now=at) == {**waiting, "rating": None, "score": None, "not_met_yet": True}
    closed = {"period": "2026-11", "rating": "poor", "score": 0.0, "flags": ["no_regular_meeting"]}
    met = {"period": "2026-12", "rating": "good", "score": 92.0, "flags": ["in_progress"]}
    assert month_shown(closed, now=at) == closed and month_shown(met, now=at) == met
    # by the clock, not the flag: stored without `in_progress` it still waits; once closed it is Kém, flag or not
    assert month_shown({**waiting, "flags": ["no_regular_meeting"]}, now=at)["not_met_yet"] is True
    assert month_shown(waiting, now=datetime(2027, 1, 1, 8, 0, tzinfo=VIETNAM_TZ)) == waiting


async def test_a_meeting_not_held_yet_is_shown_as_scheduled_not_rated(
    system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str]
) -> None:
    # a meeting a week ahead of today, whatever today is (the demo's own meetings fall behind with time), more than an
    # hour from every other meeting of the cell: the shared demo system holds other tests' meetings at hours set from
    # the clock, and the API refuses a secretary's schedule within the hour of one (409 meeting_at_same_time)
    meeting_id = f"demo-cb-thon-1-upcoming-{datetime.now(VIETNAM_TZ):%Y%m%d%H%M%S}"
    day = (datetime.now(VIETNAM_TZ) + timedelta(days=7)).replace(second=0, microsecond=0)
    hours = [(19, 30), (17, 5), (21, 55), (14, 40), (8, 15), (10, 50)]
    candidates = [day.replace(hour=h, minute=m) for h, m in hours]
    starts_at = await free_start(api, province["secretary"], "demo-cb-thon-1", candidates)
    scheduled = await api.post(
        "/v1/cells/demo-cb-thon-1/meetings",
        headers={"Authorization": f"Bearer {province['secretary']}"},
        json={
            "meeting_id": meeting_id,
            "kind": "thematic",
            "topic": "Học tập Chỉ thị 50",
            "starts_at": starts_at.isoformat(),
            "location": "Nhà văn hóa thôn 1",
            "agenda": ["Quán triệt Chỉ thị 50-CT/TW"],
        },
    )
    assert scheduled.status_code < 300, scheduled.text

    async def known() -> bool:
        return (await api.get(f"/v1/meetings/{meeting_id}")).status_code == 200

    await eventually(known, timeout=120, interval=0.5)
    async with signed_in(system, "officer") as client:
        page = (await client.get(f"/app/meetings/{meeting_id}")).text
    assert 'id="upcoming"' in page and "chưa diễn ra nên chưa chấm điểm" in page
    assert 'id="meeting-rating"' not in page and "Kém" not in page


async def test_every_page_declares_vietnamese_and_loads_nothing_from_elsewhere(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    async with signed_in(system, "officer") as client:
        pages = [
            (await client.get(path)).text
            for path in (
                "/app/committees/demo-tinh-uy",
                f"/app/committees/demo-tinh-uy/ranking?period={PERIOD}",
                "/app/cells/demo-cb-thon-2",
                f"/app/meetings/demo-cb-thon-2-{PERIOD}",
                "/app/sign-in",
            )
        ]
        docs = (await client.get("/docs")).text
        for asset in re.findall(r'(?:src|href)="(/app/(?:static|vendor)/[^"]+)"', "".join(pages) + docs):
            assert (await client.get(asset)).status_code == 200, asset
    for html in pages:
        assert '<html lang="vi">' in html
        assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assert "/app/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower()


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("commune-officer", "/app/committees/demo-phuong-an-phu"),
        ("commune-officer", "/app/committees/demo-tinh-uy"),
        ("commune-officer", "/app/cells/demo-cb-kp-3"),
        ("commune-officer", f"/app/meetings/demo-cb-kp-3-{PERIOD}"),
        ("secretary", "/app/cells/demo-cb-thon-2"),
        ("secretary", f"/app/meetings/demo-cb-thon-2-{PERIOD}"),
        ("secretary", "/app/committees/demo-xa-hoa-binh"),
        ("member", "/app/committees/demo-xa-hoa-binh"),
        ("officer", "/app/committees/no-such-committee"),
        ("officer", "/app/cells/demo-xa-hoa-binh"),
    ],
)
async def test_a_page_outside_the_viewers_subtree_answers_404(
    system: RunningSystem, api: httpx.AsyncClient, who: str, path: str
) -> None:
    async with signed_in(system, who) as client:
        response = await client.get(path)
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.text


async def test_the_meeting_page_explains_every_criterion_in_vietnamese(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    score = (await api.get(f"/v1/meetings/demo-cb-thon-2-{PERIOD}/score")).json()
    # the gate is judged from the real framework document evaluation answers (reads.score_gate), never unknown here
    gate = score["gate"]
    assert gate is not None and gate["applied"] == (gate["rating_by_points"] != score["rating"]), score
    async with signed_in(system, "commune-officer") as client:
        page = (await client.get(f"/app/meetings/demo-cb-thon-2-{PERIOD}")).text
    assert f'id="meeting-score">{format_number(score["score"])}<' in page
    for line in score["criteria"]:
        assert f'data-code="{line["code"]}"' in page
    # evaluation's English reasons are not shown; their Vietnamese rendering is
    for line in score["criteria"]:
        assert line["reason"] not in page
    assert "đảng viên có mặt" in page


async def test_the_demos_strong_cells_are_not_poor_for_their_first_year(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    """The demo's cells first met in December 2025 but were loaded in November: every cell read Kém for 2025 (the
    tree is now loaded on the 1st of the history's first month, MONTHS[0], whose year is DEMO.first_year)."""
    before = DEMO.months[0] - timedelta(days=1)

    async def year_of(cell_id: str) -> dict | None:
        items = (await api.get(f"/v1/cells/{cell_id}/ratings?period={DEMO.first_year}")).json()["items"]
        return next((item for item in items if item["period"] == DEMO.first_year), None)

    for cell_id in ("demo-cb-thon-1", "demo-cb-cong-an"):
        year = await eventually(lambda cell_id=cell_id: year_of(cell_id), timeout=120, interval=0.5)
        assert year["rating"] in ("good", "fair"), (cell_id, year)
        months = (await api.get(f"/v1/cells/{cell_id}/ratings?period={DEMO.first_year}")).json()["items"]
        assert f"{before:%Y-%m}" not in {item["period"] for item in months}, cell_id


OUTSIDE_PAGES = [
    # (path template, the id outside the commune officer's subtree: the other ward's, and the province's own)
    ("/app/cells/{}", "demo-cb-kp-3"),
    ("/app/cells/{}/meetings/new", "demo-cb-kp-3"),
    ("/app/cells/{}/evidence", "demo-cb-kp-3"),
    ("/app/cells/{}/evidence.csv", "demo-cb-kp-3"),
    ("/app/meetings/{}", f"demo-cb-kp-3-{PERIOD}"),
    ("/app/meetings/{}/minutes.pdf", f"demo-cb-kp-3-{PERIOD}"),
    ("/app/meetings/{}/record", f"demo-cb-kp-3-{PERIOD}"),
    ("/app/committees/{}", "demo-phuong-an-phu"),
    ("/app/committees/{}", "demo-tinh-uy"),
    ("/app/committees/{}/report.csv", "demo-phuong-an-phu"),
    ("/app/committees/{}/rescore", "demo-phuong-an-phu"),
    ("/app/committees/{}/ranking", "demo-phuong-an-phu"),
    ("/app/committees/{}/ranking", "demo-tinh-uy"),
]


@pytest.mark.parametrize(("template", "outside"), OUTSIDE_PAGES, ids=[f"{t} {o}" for t, o in OUTSIDE_PAGES])
async def test_a_page_about_an_id_outside_reads_as_one_about_an_unknown_id(
    system: RunningSystem, province: dict[str, str], template: str, outside: str
) -> None:
    """Nobody learns from the web app which ids exist in the rest of the province: an id outside the viewer's part of
    the tree answers the page an id nobody has answers, byte for byte but for the per-response nonce and token."""
    unknown = "demo-khong-co-ai"
    async with signed_in(system, "commune-officer") as client:
        there = await client.get(template.format(outside))
        nowhere = await client.get(template.format(unknown))
    assert there.status_code == nowhere.status_code == 404

    def page(text: str, identifier: str) -> str:
        text = re.sub(r'nonce="[^"]*"', 'nonce=""', text.replace(identifier, "<id>"))
        return re.sub(r'name="csrf" value="[^"]*"', 'name="csrf" value=""', text)

    assert page(there.text, outside) == page(nowhere.text, unknown)


async def test_a_cells_year_picker_offers_the_years_it_existed_and_refuses_other_years_naming_them(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """A trial's `?year=1800` answered 200 with an empty year, and the picker offered 2024 for a cell set up in
    December 2025 (the demo's first month): only the years the cell existed in, up to this year, are offered; a later
    trial's `?year=1999` went to 2025 without a word, so a year outside them is the page naming it and the span."""
    this_year = f"{datetime.now(VIETNAM_TZ):%Y}"
    offered = [str(year) for year in range(int(this_year), int(DEMO.first_year) - 1, -1)]
    async with signed_in(system, "officer") as client:
        page = (await client.get("/app/cells/demo-cb-thon-2")).text
        assert re.findall(r'<option value="(\d{4})"', page) == offered
        before = str(int(DEMO.first_year) - 1)
        refused = await client.get(f"/app/cells/demo-cb-thon-2?year={before}")
        assert refused.status_code == 404, (before, refused.status_code)
        said = unescape(refused.text)
        assert f"Không có dữ liệu của năm {before} (năm ghi trong địa chỉ của trang)" in said, before
        assert f"chi bộ hoạt động từ năm {offered[-1]} đến năm {this_year}" in said, said[-1500:]
        # outside 2000 to two years ahead: the 422 of a period outside those there are, as a committee's `?period=`
        # and the API answer it (h243)
        for asked in ("1800", "1999", "2999"):
            refused = await client.get(f"/app/cells/demo-cb-thon-2?year={asked}")
            assert refused.status_code == 422, (asked, refused.status_code)
            assert "Kỳ không hợp lệ" in refused.text and f"“{asked}”" in unescape(refused.text), asked
        assert (await client.get(f"/app/cells/demo-cb-thon-2?year={offered[-1]}")).status_code == 200


async def test_a_malformed_year_on_the_cell_page_is_named_back_as_a_year(system: RunningSystem) -> None:
    async with signed_in(system, "officer") as client:
        response = await client.get("/app/cells/demo-cb-thon-2?year=hai")
    assert response.status_code == 422
    assert "Năm không hợp lệ" in response.text and "“hai” không phải là năm" in response.text
