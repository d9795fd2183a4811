"""A roster leaving out members of the cell, scored off the rules and the real evaluation service (RabbitMQ,
PostgreSQL).

A trial: a check-in device's attendance.recorded.v1 listed 1 of the cell's 5 members, present, and the meeting scored
full attendance (1/1, 100 %) without a word. DOMAIN.md fixes the rate as present ÷ (present + excused + absent) over
the roster and lets a member "not listed" be (an excused run neither extended nor broken), but does not count those
left out in any way: the points stand, and the attendance line now says the roster lacked N members of the cell (the
snapshots in force at the meeting's start, as `cell_members`).
"""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from services.gateway.web.explain import explain_line
from shared.contracts import evaluation_rpc as evaluation
from shared.reasons import ReasonCode
from shared.rpc import RpcClient, RpcError
from tests.evaluation.builders import perfect, roster
from tests.evaluation.stream import fact, publish, ward_with_cell
from tests.evaluation.test_implausible_counts import START, voted_meeting
from tests.evaluation.test_rules import line
from tests.evaluation.test_votes_over_members import members
from tests.support.ids import random_id
from tests.support.rpc import ask, evaluation_rpc
from tests.support.running import eventually


def test_a_roster_lacking_members_keeps_its_points_and_says_how_many_it_lacks() -> None:
    facts = perfect(roster=roster(1), cell_member_ids=frozenset({"p1", "x2", "x3", "x4", "x5"}))
    entry = line(facts, "attendance")
    assert entry.points == entry.max  # DOMAIN.md counts the roster only: 1/1 present
    lacks = [part for part in entry.parts if part.code == ReasonCode.ROSTER_LACKS_MEMBERS]
    assert [part.count for part in lacks] == [4]
    assert "the roster lacks 4 of the cell's members" in entry.reason
    said = explain_line({"parts": [part.model_dump() for part in entry.parts]})
    assert "điểm danh thiếu tên 4 đảng viên của chi bộ (không tính vào tỷ lệ tham dự)" in said, said


def test_a_full_roster_says_nothing_of_it() -> None:
    facts = perfect(roster=roster(2, exempt=1), cell_member_ids=frozenset({"p1", "p2", "ex1"}))
    assert all(part.code != ReasonCode.ROSTER_LACKS_MEMBERS for part in line(facts, "attendance").parts)


@pytest.fixture(scope="module")
async def rpc(amqp_url: str, database_url: str) -> AsyncIterator[RpcClient]:
    """An RpcClient on the test vhost, with the evaluation service serving in this process."""
    async with evaluation_rpc(amqp_url, database_url) as client:
        yield client


async def attendance_line(rpc: RpcClient, meeting_id: str) -> dict[str, Any] | None:
    """The meeting's `attendance` line once it names a roster lacking members, else None."""
    try:
        score = await ask(rpc, evaluation.GetMeetingScore(meeting_id=meeting_id))
    except RpcError:
        return None
    found = {entry["code"]: entry for entry in score["criteria"]}["attendance"]
    return found if "lacks" in (found["reason"] or "") else None


async def test_the_service_scores_a_one_of_five_roster_as_before_and_says_it_lacks_four(
    rpc: RpcClient, amqp_url: str
) -> None:
    cell, meeting = random_id("cell"), random_id("mtg")
    one = fact(
        "attendance.recorded.v1",
        {"meeting_id": meeting, "records": [{"member_id": f"{cell}-m1", "status": "present"}]},
        time=START + timedelta(hours=1),
    )
    await publish(amqp_url, [*ward_with_cell(cell, time=START - timedelta(days=30))[:2], *members(cell, 5)])
    await publish(amqp_url, [*voted_meeting(cell, meeting, 1), one])
    found = await eventually(lambda: attendance_line(rpc, meeting), timeout=60, interval=0.3)
    assert found["points"] == found["max"], found
    assert "1/1 present" in found["reason"] and "the roster lacks 4 of the cell's members" in found["reason"], found
