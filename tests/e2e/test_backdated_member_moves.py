"""A new user's trial, through the real gateway, broker, meetings and evaluation: member m3 on the 1 Oct 2026 roster
of a cell (all five present), and a backdated `member.upserted.v1` (`time` 1 Jun 2026) moving m3 to another cell.
Roster first: the roster and its score (5/5 present) stood; the move first: the same roster was rejected
`member_not_in_cell`. CONTRACT.md promises one end state whatever the arrival order: the roster is judged against
the member histories as they end (DOMAIN.md: facts about members judged by the snapshots in force at the meeting's
start), so the move arriving second withdraws the roster (rejected, attendance.withdrawn.v1 to evaluation, which
rescores), and a move INTO the cell arriving second takes the refused roster in. Both orders, over POST /v1/events one
event at a time and over chibo.ingest in one batch, end with the same roster, score and rejection."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aio_pika
import httpx
import pytest

from shared.envelope import BATCH_CONTENT_TYPE
from shared.periods import VIETNAM_TZ
from shared.topology import INGEST_EXCHANGE
from tests.e2e.test_walking_skeleton import cloudevent
from tests.support.ids import random_id
from tests.support.running import eventually
from tests.support.system import RunningSystem, issue_token

pytestmark = pytest.mark.e2e

KNOWN = datetime(2026, 1, 1, 8, 0, tzinfo=VIETNAM_TZ)
MOVED = datetime(2026, 6, 1, 8, 0, tzinfo=VIETNAM_TZ)
START = datetime(2026, 10, 1, 19, 0, tzinfo=VIETNAM_TZ)
RECORDED = datetime(2026, 10, 1, 21, 0, tzinfo=VIETNAM_TZ)


async def ward_of_two_cells(system: RunningSystem, name: str) -> tuple[str, str, str, str]:
    """A province-wide integration's token and a committee named `name` with two cells, posted: (token, committee,
    cell, other cell)."""
    integration = issue_token(system, role="integration", unit=None, sub=random_id("feed"), province_wide=True)
    committee, cell, other = random_id("ward"), random_id("cell"), random_id("cell")
    world = [
        cloudevent(
            "org.unit.upserted.v1", {"id": committee, "name": name, "kind": "committee", "parent_id": None}, at=KNOWN
        ),
        *(
            cloudevent(
                "org.unit.upserted.v1",
                {"id": unit, "name": f"Chi bộ khu phố {unit[-4:]}", "kind": "cell", "parent_id": committee},
                at=KNOWN,
            )
            for unit in (cell, other)
        ),
    ]
    assert await post(system, integration, world) == ["accepted"] * 3
    return integration, committee, cell, other


@asynccontextmanager
async def reader(system: RunningSystem, unit: str | None, role: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway signed in as a person of `role` over `unit` (None: province-wide)."""
    token = issue_token(system, role=role, unit=unit, sub=random_id(role))
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


async def post(system: RunningSystem, token: str, events: list[dict[str, Any]]) -> list[str]:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        response = await client.post(
            "/v1/events",
            content=json.dumps(events, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/cloudevents-batch+json"},
        )
    assert response.status_code == 200, response.text
    return [result["outcome"] for result in response.json()["results"]]


async def publish_batch(system: RunningSystem, events: list[dict[str, Any]]) -> None:
    connection = await aio_pika.connect(system.env["CHIBO_AMQP_URL"])
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INGEST_EXCHANGE)
        message = aio_pika.Message(
            json.dumps(events, ensure_ascii=False).encode(),
            content_type=BATCH_CONTENT_TYPE,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await exchange.publish(message, routing_key="batch", mandatory=True)
    finally:
        await connection.close()


def member(member_id: str, cell: str, name: str, *, at: datetime) -> dict[str, Any]:
    data = {"id": member_id, "full_name": name, "cell_id": cell, "status": "official", "role": "member"}
    return cloudevent("member.upserted.v1", data, at=at)


async def end_state(
    officer: httpx.AsyncClient, operator: httpx.AsyncClient, meeting_id: str, roster_id: str, names: dict[str, str]
) -> dict[str, Any] | None:
    """The meeting's roster, score and the roster event's standing rejection; None until scored."""
    score = await officer.get(f"/v1/meetings/{meeting_id}/score")
    meeting = await officer.get(f"/v1/meetings/{meeting_id}")
    if score.status_code != 200 or meeting.status_code != 200:
        return None
    attendance = meeting.json().get("attendance")
    roster = sorted((names[r["member_id"]], r["status"]) for r in (attendance or {}).get("records", []))
    [line] = [line for line in score.json()["criteria"] if line["code"] == "attendance"]
    items = (await operator.get("/v1/rejections", params={"limit": 200, "status": "open"})).json()["items"]
    refused = [(item["field"], item["reason_code"]) for item in items if item["event_id"] == roster_id]
    return {
        "roster": roster,
        "score": score.json()["score"],
        "attendance": (line["points"], line["reason"]),
        "rejection": refused,
    }


@pytest.mark.parametrize("route", ["http", "amqp_batch"])
@pytest.mark.parametrize("direction", ["out_of_the_cell", "into_the_cell"])
async def test_a_backdated_move_and_a_roster_end_alike_in_either_order(
    system: RunningSystem, direction: str, route: str
) -> None:
    states: dict[str, dict[str, Any]] = {}
    async with reader(system, None, "operator") as operator:
        for order in ("roster_first", "move_first"):
            # a ward of its own for each order: the other order's five members in the same cell would be members
            # of this meeting's cell at its start that its roster leaves out (h440), a difference of the set-up
            integration, committee, cell, other = await ward_of_two_cells(system, "Đảng ủy phường Hòa Thuận")
            members = [random_id("mem") for _ in range(5)]
            names = {member_id: f"m{i + 1}" for i, member_id in enumerate(members)}
            moved = members[2]
            first_cell, moved_to = (cell, other) if direction == "out_of_the_cell" else (other, cell)
            meeting_id = random_id("mtg")
            setup = [member(m, first_cell if m == moved else cell, f"Nguyễn Văn {names[m]}", at=KNOWN) for m in members]
            setup.append(
                cloudevent(
                    "meeting.scheduled.v1",
                    {
                        "meeting_id": meeting_id,
                        "cell_id": cell,
                        "kind": "regular",
                        "starts_at": START.isoformat(),
                        "location": "Nhà văn hóa khu phố",
                        "agenda": ["Kiểm điểm nghị quyết tháng trước"],
                    },
                    at=KNOWN,
                )
            )
            assert await post(system, integration, setup) == ["accepted"] * 6
            roster = cloudevent(
                "attendance.recorded.v1",
                {"meeting_id": meeting_id, "records": [{"member_id": m, "status": "present"} for m in members]},
                at=RECORDED,
            )
            move = member(moved, moved_to, "Nguyễn Văn m3", at=MOVED)
            feed = [roster, move] if order == "roster_first" else [move, roster]
            if route == "http":
                for event in feed:  # one at a time, as separate deliveries
                    await post(system, integration, [event])
            else:
                await publish_batch(system, feed)

            expected_rejection = (
                [("data.records.2.member_id", "member_not_in_cell")] if direction == "out_of_the_cell" else []
            )

            async with reader(system, committee, "committee_officer") as officer:

                async def settled(
                    officer: httpx.AsyncClient = officer,
                    meeting_id: str = meeting_id,
                    roster_id: str = roster["id"],
                    names: dict[str, str] = names,
                    expected: list[tuple[str, str]] = expected_rejection,
                ) -> dict[str, Any] | None:
                    state = await end_state(officer, operator, meeting_id, roster_id, names)
                    if state is None or state["rejection"] != expected:
                        return None
                    if bool(state["roster"]) != (direction == "into_the_cell"):
                        return None
                    if (state["attendance"][0] > 0) != (direction == "into_the_cell"):
                        return None  # the score not yet recomputed from the roster in force
                    return state

                states[order] = await eventually(settled, timeout=120)

    assert states["roster_first"] == states["move_first"], states
    if direction == "into_the_cell":
        assert states["move_first"]["roster"] == [(f"m{i}", "present") for i in range(1, 6)]


async def test_a_withdrawn_roster_gives_way_to_the_earlier_one_in_either_order(system: RunningSystem) -> None:
    """Roster A (20:00: m3 not on it, m1 excused), then roster B (21:00: all five present), then m3 moved out
    backdated: B is withdrawn and A, which B had replaced, stands again with its score, as when the move comes first
    (A applied, B refused). Before, the meeting was left with no roster in the first order."""
    states: dict[str, dict[str, Any]] = {}
    async with reader(system, None, "operator") as operator:
        for order in ("move_then_rosters", "rosters_then_move"):
            # a ward of its own for each order, as in the test above: the first order's members would otherwise be
            # members of the second's cell its rosters leave out (h440's explanation would differ by the set-up)
            integration, committee, cell, other = await ward_of_two_cells(system, "Đảng ủy phường Hòa Cường")
            members = [random_id("mem") for _ in range(5)]
            names = {member_id: f"m{i + 1}" for i, member_id in enumerate(members)}
            moved = members[2]
            meeting_id = random_id("mtg")
            setup = [member(m, cell, f"Nguyễn Văn {names[m]}", at=KNOWN) for m in members]
            setup.append(
                cloudevent(
                    "meeting.scheduled.v1",
                    {
                        "meeting_id": meeting_id,
                        "cell_id": cell,
                        "kind": "regular",
                        "starts_at": START.isoformat(),
                        "location": "Nhà văn hóa khu phố",
                        "agenda": ["Kiểm điểm nghị quyết tháng trước"],
                    },
                    at=KNOWN,
                )
            )
            assert await post(system, integration, setup) == ["accepted"] * 6
            earlier = [
                {"member_id": m, "status": "present"} if m != members[0] else {"member_id": m, "status": "excused"}
                for m in members
                if m != moved
            ]
            earlier[0]["reason"] = "Đi công tác"
            roster_a = cloudevent(
                "attendance.recorded.v1", {"meeting_id": meeting_id, "records": earlier}, at=RECORDED.replace(hour=20)
            )
            roster_b = cloudevent(
                "attendance.recorded.v1",
                {"meeting_id": meeting_id, "records": [{"member_id": m, "status": "present"} for m in members]},
                at=RECORDED,
            )
            move = member(moved, other, "Nguyễn Văn m3", at=MOVED)
            feed = [roster_a, roster_b, move] if order == "rosters_then_move" else [move, roster_a, roster_b]
            for event in feed:  # one at a time, as separate deliveries
                await post(system, integration, [event])

            async with reader(system, committee, "committee_officer") as officer:

                async def settled(
                    officer: httpx.AsyncClient = officer,
                    meeting_id: str = meeting_id,
                    roster_a: str = roster_a["id"],
                    roster_b: str = roster_b["id"],
                    names: dict[str, str] = names,
                ) -> dict[str, Any] | None:
                    state = await end_state(officer, operator, meeting_id, roster_b, names)
                    if state is None or not state["rejection"] or len(state["roster"]) != 4:
                        return None
                    if state["attendance"][0] <= 0:
                        return None  # the score not yet recomputed from the roster in force
                    earlier_state = await end_state(officer, operator, meeting_id, roster_a, names)
                    state |= {"earlier_rejection": earlier_state["rejection"] if earlier_state else None}
                    first = states.get("move_then_rosters")
                    return state if first is None or state == first else None  # the second order: until alike

                states[order] = await eventually(settled, timeout=120)

    assert states["rosters_then_move"] == states["move_then_rosters"], states
    assert states["move_then_rosters"]["roster"] == [
        ("m1", "excused"),
        ("m2", "present"),
        ("m4", "present"),
        ("m5", "present"),
    ]
    assert states["move_then_rosters"]["rejection"] == [("data.records.2.member_id", "member_not_in_cell")]
    assert states["move_then_rosters"]["earlier_rejection"] == []


async def test_an_operator_replays_a_roster_a_backdated_move_undid(system: RunningSystem) -> None:
    """An integrator's trial: a scoped feed's roster for a meeting on 5 Nov 2026, accepted, then undone by a backdated
    move of its m3 to another cell (10 Oct): the stored rejection (route undone-by-member) was replayed by an operator
    and refused `source_of_another_account`, its row kept no scope. The replay is judged as any: refused again for m3's
    cell while the move stands; once m3 moves back the roster is applied again by itself, and a replay then says it
    was accepted, not held."""
    _, committee, cell, other = await ward_of_two_cells(system, "Đảng ủy phường Phước Mỹ")
    feed_source = f"urn:test:feed:{random_id('src')}"
    feed = issue_token(system, role="integration", unit=committee, sub=random_id("feed"), sources=[feed_source])

    def sent(event: dict[str, Any]) -> dict[str, Any]:
        return {**event, "source": feed_source}

    start = datetime(2026, 11, 5, 19, 0, tzinfo=VIETNAM_TZ)
    members = [random_id("mem") for _ in range(5)]
    meeting_id = random_id("mtg")
    setup = [sent(member(m, cell, f"Trần Thị p{i + 1}", at=KNOWN)) for i, m in enumerate(members)]
    scheduled = {
        "meeting_id": meeting_id,
        "cell_id": cell,
        "kind": "regular",
        "starts_at": start.isoformat(),
        "location": "Nhà văn hóa khu phố",
        "agenda": ["Kiểm điểm nghị quyết tháng trước"],
    }
    setup.append(sent(cloudevent("meeting.scheduled.v1", scheduled, at=KNOWN)))
    assert await post(system, feed, setup) == ["accepted"] * 6
    roster = sent(
        cloudevent(
            "attendance.recorded.v1",
            {"meeting_id": meeting_id, "records": [{"member_id": m, "status": "present"} for m in members]},
            at=start.replace(hour=21),
        )
    )
    assert await post(system, feed, [roster]) == ["accepted"]
    moved = members[2]
    away = sent(member(moved, other, "Trần Thị p3", at=datetime(2026, 10, 10, 8, 0, tzinfo=VIETNAM_TZ)))
    assert await post(system, feed, [away]) == ["accepted"]
    async with reader(system, None, "operator") as operator, reader(system, committee, "committee_officer") as officer:

        async def undone() -> dict[str, Any] | None:
            items = (await operator.get("/v1/rejections", params={"limit": 200, "status": "open"})).json()["items"]
            return next((item for item in items if item["event_id"] == roster["id"]), None)

        rejection = await eventually(undone, timeout=120)
        assert rejection["reason_code"] == "member_not_in_cell", rejection
        path = f"/v1/rejections/{rejection['rejection_id']}/replay"
        again = await operator.post(path, json={})
        assert again.status_code == 200, again.text
        answer = again.json()
        assert (answer["outcome"], answer["field"]) == ("rejected", "data.records.2.member_id"), answer
        assert moved in answer["reason"] and cell in answer["reason"], answer

        back = sent(member(moved, cell, "Trần Thị p3", at=datetime(2026, 10, 20, 8, 0, tzinfo=VIETNAM_TZ)))
        assert await post(system, feed, [back]) == ["accepted"]

        async def restored() -> bool:
            meeting = (await officer.get(f"/v1/meetings/{meeting_id}")).json()
            return len((meeting.get("attendance") or {}).get("records", [])) == 5

        await eventually(restored, timeout=120)
        twice = await operator.post(path, json={})
        assert twice.status_code == 409, twice.text
        said = twice.json()["message"]
        assert "accepted" in said and "held" not in said, said
