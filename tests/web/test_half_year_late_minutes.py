"""A half-year's late-minutes list is notifications' own answer (ListLateMinutes takes `2026-H1`): one query over its
six months, in the order a year's list has them (the longest overdue first, the earlier quarter's first, then those
whose records arrived late), `total` over both quarters, paged across the quarter boundary; the committee page asks
it once. Before, the gateway stitched two quarter lists, so a January meeting whose records came late sat between
March and April. A badly spelled period is refused naming `period`. Against the real services."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from deploy.seed_demo import publish
from shared.contracts.notifications_rpc import ListLateMinutes
from shared.rpc import RpcError
from tests.evaluation.stream import at, fact
from tests.support.rpc import rpc_client
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import PASSWORD, csrf_of, web_account

pytestmark = pytest.mark.e2e

HALF = "2026-H1"


def history(committee: str, cell: str, prefix: str) -> tuple[list[dict[str, Any]], list[str]]:
    """A committee, its cell and one meeting a month from January to June 2026 with no minutes, plus one in January
    whose minutes and final documents came a week late; the facts and the meeting ids in a year's list's order."""
    events = [
        fact(
            "org.unit.upserted.v1",
            {"id": committee, "name": "Đảng ủy xã Nửa Năm", "kind": "committee", "parent_id": None},
            time=at(1, 1, 8),
        ),
        fact(
            "org.unit.upserted.v1",
            {"id": cell, "name": "Chi bộ thôn Nửa Năm", "kind": "cell", "parent_id": committee}
            | {"category": "residential"},
            time=at(1, 1, 8),
        ),
        fact(
            "member.upserted.v1",
            {"id": f"{prefix}-x", "full_name": "Bí thư", "cell_id": cell, "status": "official", "role": "secretary"},
            time=at(1, 1, 8),
        ),
    ]
    outstanding = []
    for month in range(1, 7):
        meeting_id = f"{prefix}-m{month}"
        outstanding.append(meeting_id)
        events.append(scheduled(meeting_id, cell, month, 5))
    arrived = f"{prefix}-late-records"
    events.append(scheduled(arrived, cell, 1, 10))
    start, end = at(1, 10), at(1, 10, 21)
    minutes = {
        "meeting_id": arrived,
        "started_at": start.isoformat(),
        "ended_at": end.isoformat(),
        "chair_id": f"{prefix}-x",
        "recorder_id": f"{prefix}-x",
        "speakers": [],
        "resolutions": [],
        "tasks": [],
    }
    events.append(fact("minutes.submitted.v1", minutes, time=end + timedelta(days=7)))
    items = [{"title": "Biên bản", "kind": "minutes"}, {"title": "Nghị quyết", "kind": "resolution"}]
    published = {"meeting_id": arrived, "published_at": (end + timedelta(days=7)).isoformat(), "items": items}
    events.append(fact("documents.published.v1", published, time=end + timedelta(days=7)))
    return events, [*outstanding, arrived]


def scheduled(meeting_id: str, cell: str, month: int, day: int) -> dict[str, Any]:
    """meeting.scheduled.v1 of a regular meeting of `cell` on `day` of `month` 2026, published a week before."""
    start = at(month, day)
    data = {
        "meeting_id": meeting_id,
        "cell_id": cell,
        "kind": "regular",
        "starts_at": start.isoformat(),
        "location": "Nhà văn hóa",
        "agenda": ["Sinh hoạt thường kỳ"],
    }
    return fact("meeting.scheduled.v1", data, time=start - timedelta(days=7))


async def test_a_half_year_is_one_list_of_its_six_months_paged_across_the_quarters(system: RunningSystem) -> None:
    suffix = uuid.uuid4().hex[:8]
    committee, cell = f"xa-nua-nam-tre-{suffix}", f"thon-nua-nam-tre-{suffix}"
    events, order = history(committee, cell, f"hy{suffix}")
    await publish(system.env["CHIBO_AMQP_URL"], events)
    async with rpc_client(system.env["CHIBO_AMQP_URL"]) as rpc:

        async def settled() -> bool:
            year = await rpc.call(ListLateMinutes(committee_id=committee, period="2026", limit=50))
            return [item.meeting_id for item in year.items] == order and year.items[-1].arrived_at is not None

        await eventually(settled, timeout=120, interval=0.5)
        seen: list[str] = []
        for offset in range(0, len(order), 2):  # pages of two: the second holds March and April
            part = await rpc.call(ListLateMinutes(committee_id=committee, period=HALF, limit=2, offset=offset))
            assert part.total == len(order) and part.offset == offset, part
            seen.extend(item.meeting_id for item in part.items)
        assert seen == order
        quarter = await rpc.call(ListLateMinutes(committee_id=committee, period="2026-Q2", limit=50))
        assert quarter.total == 3  # the quarters still answer alone
        for spelling in ["2026-H3", "2026-h1", "2026H1"]:
            with pytest.raises(RpcError) as refused:
                await rpc.call(ListLateMinutes.model_construct(committee_id=committee, period=spelling, limit=2))
            assert refused.value.field == "period" and refused.value.code == "invalid", refused.value
    sub = f"can-bo-tre-{suffix}"
    await web_account(system, sub, "committee_officer", committee, None)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as client:
        form = (await client.get("/app/sign-in")).text
        signed = await client.post("/app/sign-in", data={"username": sub, "password": PASSWORD, "csrf": csrf_of(form)})
        assert signed.status_code == 303, signed.text

        async def rated() -> httpx.Response | None:
            # evaluation rolls the half-year up on its own time (notifications' list settling says nothing of it):
            # until then the page is the 200 "no data yet", never a 404 claiming the half-year lies outside the span
            page = await client.get(f"/app/committees/{committee}?period={HALF}")
            assert page.status_code == 200, page.text[-800:]
            return page if 'id="late-minutes"' in page.text else None

        page = await eventually(rated, timeout=120, interval=0.5)
        section = page.text.split('id="late-minutes"', 1)[1].split("</ul>", 1)[0]
        listed = [part.split('"', 1)[0] for part in section.split('href="/app/meetings/')[1:]]
        assert listed == order, listed
