"""Facts that count more than the meeting had, scored off the real evaluation service (RabbitMQ, PostgreSQL).

A new user's minutes with `votes_for: 99999` in a cell of 5 were scored adopted, and a roster with everyone absent
while the minutes named three speakers got 2 points on `conduct.speakers` for "0 of 0 present spoke" (53.33,
Trung bình). An integration's minutes are stored whatever roster arrives before or after them (CONTRACT.md: order is
not guaranteed), so they are judged at scoring: a share of present members with nobody present has no evidence and
earns nothing (DOMAIN.md "How to read it, exactly": "no evidence, no points"), and more votes than members present is
no vote (shared.plausible.votes_over). Sent alone and as batches, the roster after the minutes.
"""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from shared.contracts import evaluation_rpc as evaluation
from shared.rpc import RpcClient, RpcError
from tests.evaluation.stream import at, by_type, fact, publish, publish_batches, ward_with_cell
from tests.support.ids import random_id
from tests.support.rpc import ask, evaluation_rpc
from tests.support.running import eventually

START = at(11, 5)


@pytest.fixture(scope="module")
async def rpc(amqp_url: str, database_url: str) -> AsyncIterator[RpcClient]:
    """An RpcClient on the test vhost, with the evaluation service serving in this process."""
    async with evaluation_rpc(amqp_url, database_url) as client:
        yield client


def voted_meeting(cell_id: str, meeting_id: str, votes_for: int) -> list[dict[str, Any]]:
    """The cell's regular meeting of START (scheduled five days before) and its minutes (95 minutes, m1 chairing, m2
    recording, m1-m3 speaking) with one resolution of `votes_for` votes for."""
    scheduled = {
        "meeting_id": meeting_id,
        "cell_id": cell_id,
        "kind": "regular",
        "starts_at": START.isoformat(),
        "location": "Nhà văn hóa",
        "agenda": ["Kiểm điểm"],
    }
    minutes = {
        "meeting_id": meeting_id,
        "started_at": START.isoformat(),
        "ended_at": (START + timedelta(minutes=95)).isoformat(),
        "chair_id": f"{cell_id}-m1",
        "recorder_id": f"{cell_id}-m2",
        "speakers": [f"{cell_id}-m{n}" for n in (1, 2, 3)],
        "resolutions": [{"text": "Nghị quyết", "votes_for": votes_for, "votes_against": 0, "abstentions": 0}],
        "tasks": [],
    }
    return [
        fact("meeting.scheduled.v1", scheduled, time=START - timedelta(days=5)),
        fact("minutes.submitted.v1", minutes, time=START + timedelta(hours=2)),
    ]


def implausible_meeting(cell_id: str, meeting_id: str) -> list[dict[str, Any]]:
    """A cell of 5 members, its meeting's minutes naming three speakers and a resolution of 99999 votes for, then a
    roster (arriving after the minutes) listing all five absent."""
    members = [
        fact(
            "member.upserted.v1",
            {"id": f"{cell_id}-m{n}", "full_name": f"Đảng viên {n}", "cell_id": cell_id, "status": "official"},
            time=at(1, 1),
        )
        for n in (4, 5)
    ]
    records = [{"member_id": f"{cell_id}-m{n}", "status": "absent"} for n in range(1, 6)]
    return [
        *ward_with_cell(cell_id, time=at(1, 1)),
        *members,
        *voted_meeting(cell_id, meeting_id, 99999),
        fact("attendance.recorded.v1", {"meeting_id": meeting_id, "records": records}, time=START + timedelta(hours=3)),
    ]


async def scored_with_roster(rpc: RpcClient, meeting_id: str) -> dict[str, Any] | None:
    """The meeting's score once it counts the roster (attendance scored from it), else None."""
    try:
        score = await ask(rpc, evaluation.GetMeetingScore(meeting_id=meeting_id))
    except RpcError:
        return None
    lines = {line["code"]: line for line in score["criteria"]}
    return score if "absent" in (lines["attendance"]["reason"] or "") else None


@pytest.mark.parametrize("route", ["single", "batch"])
async def test_nobody_present_and_votes_beyond_them_earn_nothing_and_say_why(
    rpc: RpcClient, amqp_url: str, route: str
) -> None:
    cell, meeting = random_id("cell"), random_id("mtg")
    events = implausible_meeting(cell, meeting)
    if route == "single":
        await publish(amqp_url, events)
    else:
        await publish_batches(amqp_url, by_type(events[:-1]))
        await publish_batches(amqp_url, [events[-1:]])
    score = await eventually(lambda: scored_with_roster(rpc, meeting), timeout=60, interval=0.3)
    lines = {line["code"]: line for line in score["criteria"]}
    assert lines["conduct.speakers"]["points"] == 0, lines["conduct.speakers"]
    assert lines["conduct.speakers"]["reason"].startswith("nobody present on the roster")
    adopted = lines["closing.resolution_adopted"]
    assert adopted["points"] == 0, adopted
    assert adopted["reason"] == "resolution 1: 99999 votes cast with 0 members present, more votes than voters"
    assert score["rating"] == "poor"
