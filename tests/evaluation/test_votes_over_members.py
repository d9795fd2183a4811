"""Votes beyond the cell's members when the meeting has no roster, scored off the rules and the real evaluation
service (RabbitMQ, PostgreSQL).

An integration's minutes of 99999 votes for in a cell of 12 members, with no roster at all, scored full points on
`closing.resolution_adopted`: with no roster the votes are judged against the members the snapshots in force at the
meeting's start put in the cell (DOMAIN.md "How to read it"; shared.plausible.votes_over), and a roster arriving later
judges them against its members present instead. Members arriving after the minutes rescore the meeting (CONTRACT.md:
any arrival order converges).
"""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.evaluation.domain.facts import Resolution
from services.gateway.web.explain import explain_line
from shared.contracts import evaluation_rpc as evaluation
from shared.reasons import ReasonCode
from shared.rpc import RpcClient, RpcError
from tests.evaluation.builders import perfect, roster, with_minutes
from tests.evaluation.stream import at, by_type, fact, publish, publish_batches, ward_with_cell
from tests.evaluation.test_implausible_counts import voted_meeting
from tests.evaluation.test_rules import line
from tests.support.ids import random_id
from tests.support.rpc import ask, evaluation_rpc
from tests.support.running import eventually


@pytest.mark.parametrize(
    ("resolutions", "members", "expected"),
    [
        ((Resolution(99999, 0, 0),), 12, 0),
        ((Resolution(10, 2, 1),), 12, 0),
        ((Resolution(10, 1, 1),), 12, 2),
        ((Resolution(5, 0, 0), Resolution(8, 3, 2)), 12, 0),
        ((Resolution(99999, 0, 0),), None, 2),
        ((Resolution(99999, 0, 0),), 0, 2),
    ],
)
def test_with_no_roster_votes_beyond_the_cells_members_are_no_vote(
    resolutions: tuple[Resolution, ...], members: int | None, expected: int
) -> None:
    """No roster: the votes are judged against the cell's members at the meeting's start (`cell_members`); none
    known (no member snapshot of the cell yet, or not read) judges nothing, as members may arrive later."""
    facts = with_minutes(perfect(roster=None, cell_members=members), resolutions=resolutions)
    entry = line(facts, "closing.resolution_adopted")
    assert entry.points == expected
    if expected == 0:
        number = 2 if len(resolutions) == 2 else 1
        assert entry.parts[0].code == ReasonCode.VOTES_OVER_MEMBERS
        assert (entry.parts[0].number, entry.parts[0].count) == (number, 12)
        assert "members in the cell at the meeting's start" in entry.reason


def test_a_roster_judges_the_votes_by_its_members_present_not_the_cells_members() -> None:
    facts = with_minutes(perfect(roster=roster(5, absent=7), cell_members=12), resolutions=(Resolution(8, 0, 0),))
    entry = line(facts, "closing.resolution_adopted")
    assert (entry.points, entry.parts[0].code) == (0, ReasonCode.VOTES_OVER_PRESENT)
    within = with_minutes(perfect(roster=roster(10), cell_members=3), resolutions=(Resolution(8, 0, 0),))
    assert line(within, "closing.resolution_adopted").points == 2


def test_the_reason_reads_in_vietnamese_naming_the_cells_members() -> None:
    facts = with_minutes(perfect(roster=None, cell_members=12), resolutions=(Resolution(99999, 0, 0),))
    entry = line(facts, "closing.resolution_adopted")
    said = explain_line({"parts": [part.model_dump() for part in entry.parts]})
    assert said == (
        "Nghị quyết 1: có 99.999 phiếu biểu quyết trong khi chi bộ chỉ có 12 đảng viên khi bắt đầu buổi sinh hoạt,"
        " số phiếu nhiều hơn số người biểu quyết"
    )


@pytest.fixture(scope="module")
async def rpc(amqp_url: str, database_url: str) -> AsyncIterator[RpcClient]:
    """An RpcClient on the test vhost, with the evaluation service serving in this process."""
    async with evaluation_rpc(amqp_url, database_url) as client:
        yield client


def members(cell_id: str, count: int) -> list[dict[str, Any]]:
    """member.upserted.v1 of `count` members of the cell, loaded before the meeting."""
    return [
        fact(
            "member.upserted.v1",
            {"id": f"{cell_id}-m{n}", "full_name": f"Đảng viên {n}", "cell_id": cell_id, "status": "official"},
            time=at(1, 1),
        )
        for n in range(1, count + 1)
    ]


def unrostered_meeting(cell_id: str, meeting_id: str, votes_for: int) -> list[dict[str, Any]]:
    """The ward and the cell (no member: ward_with_cell's come with `members`), its meeting and minutes with a
    resolution of `votes_for` votes for; no roster ever."""
    return [
        *ward_with_cell(cell_id, time=at(1, 1))[:2],
        *voted_meeting(cell_id, meeting_id, votes_for),
    ]


async def adopted_line(rpc: RpcClient, meeting_id: str, *, reason_starts: str) -> dict[str, Any] | None:
    """The meeting's `closing.resolution_adopted` line once its reason starts so, else None (a reason in full waits
    for the members still arriving: one scored with some of them names fewer)."""
    try:
        score = await ask(rpc, evaluation.GetMeetingScore(meeting_id=meeting_id))
    except RpcError:
        return None
    lines = {line["code"]: line for line in score["criteria"]}
    adopted = lines["closing.resolution_adopted"]
    return adopted if (adopted["reason"] or "").startswith(reason_starts) else None


@pytest.mark.parametrize("route", ["single", "batch"])
async def test_minutes_without_roster_beyond_the_cells_members_earn_nothing_until_members_converge(
    rpc: RpcClient, amqp_url: str, route: str
) -> None:
    """12 members, then minutes of 99999 votes for and no roster: 0 naming the 12 members. A second cell gets its
    minutes of 9 votes first (full points while no member is known) and its 5 members after: rescored to 0 naming
    the 5, as if the members had come first."""
    cell, meeting = random_id("cell"), random_id("mtg")
    late_cell, late_meeting = random_id("cell"), random_id("mtg")
    first = [*members(cell, 12), *unrostered_meeting(cell, meeting, 99999)]
    before = unrostered_meeting(late_cell, late_meeting, 9)
    send = publish if route == "single" else (lambda url, events: publish_batches(url, by_type(events)))
    await send(amqp_url, first)
    await send(amqp_url, before)
    said = "resolution 1: 99999 votes cast with 12 members in the cell at the meeting's start, more votes than voters"
    over = await eventually(lambda: adopted_line(rpc, meeting, reason_starts=said), timeout=60, interval=0.3)
    assert over["points"] == 0, over
    adopted = await eventually(lambda: adopted_line(rpc, late_meeting, reason_starts="1 resolution"), timeout=60)
    assert adopted["points"] == adopted["max"], adopted
    await send(amqp_url, members(late_cell, 5))
    said = "resolution 1: 9 votes cast with 5 members in the cell at the meeting's start, more votes than voters"
    rescored = await eventually(lambda: adopted_line(rpc, late_meeting, reason_starts=said), timeout=60, interval=0.3)
    assert rescored["points"] == 0, rescored
