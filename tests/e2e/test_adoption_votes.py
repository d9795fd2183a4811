"""An integration's adoption of the minutes without votes, through the real gateway, broker, meetings and evaluation:
CONTRACT.md makes minutes.approved.v1's `votes_for` and `votes_against` optional, so it is accepted on both routes
(HTTP and AMQP), but it scored full on `closing.minutes_and_tasks` while a secretary's adoption needs its votes for
(h378). DOMAIN.md "Meetings" has the minutes read and adopted by the cell's vote: with no vote recorded the item
scores 0 and says so; with votes, the integration's adoption and the secretary's score full as before."""

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import aio_pika
import httpx
import pytest

from shared.periods import VIETNAM_TZ
from shared.topology import INGEST_EXCHANGE
from tests.e2e.test_walking_skeleton import Province, cloudevent
from tests.support.ids import random_id
from tests.support.running import eventually
from tests.support.system import RunningSystem, issue_token

pytestmark = pytest.mark.e2e
CODE = "closing.minutes_and_tasks"


@pytest.fixture(scope="module")
def integration(system: RunningSystem) -> str:
    return issue_token(system, role="integration", unit=None, sub=random_id("integration"), province_wide=True)


@pytest.fixture(scope="module")
async def province(system: RunningSystem, integration: str) -> Province:
    province = Province()
    await post(system, integration, province.events())
    return province


@pytest.fixture
async def officer(system: RunningSystem, province: Province) -> AsyncIterator[httpx.AsyncClient]:
    token = issue_token(system, role="committee_officer", unit=province.committee, sub=random_id("officer"))
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


@pytest.fixture
async def secretary(system: RunningSystem, province: Province) -> AsyncIterator[httpx.AsyncClient]:
    token = issue_token(
        system, role="secretary", unit=province.cell, person=province.members[0], sub=random_id("secretary")
    )
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


async def post(system: RunningSystem, token: str, events: list[dict[str, Any]]) -> None:
    """Send a batch over HTTP; every event is accepted."""
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as client:
        answer = await client.post(
            "/v1/events",
            content=json.dumps(events, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/cloudevents-batch+json"},
        )
    assert answer.status_code == 200, answer.text
    assert [r["outcome"] for r in answer.json()["results"]] == ["accepted"] * len(events), answer.text


def held(province: Province, meeting_id: str, starts: datetime) -> list[dict[str, Any]]:
    """A regular meeting held by the whole cell: its schedule, roster and minutes with one task."""
    scheduled = province.scheduled(meeting_id)
    scheduled["data"]["starts_at"] = starts.isoformat()
    chair, recorder, member = province.members
    minutes = {
        "meeting_id": meeting_id,
        "started_at": starts.isoformat(),
        "ended_at": (starts + timedelta(minutes=95)).isoformat(),
        "chair_id": chair,
        "recorder_id": recorder,
        "speakers": [chair, member],
        "content": "Kiểm điểm nghị quyết tháng trước",
        "conclusions": "Thống nhất",
        "resolutions": [{"text": "Nghị quyết tháng", "votes_for": 3, "votes_against": 0, "abstentions": 0}],
        "tasks": [
            {
                "task_id": f"{meeting_id}-t1",
                "assignee_id": member,
                "description": "Rà soát hộ nghèo",
                "due_on": (starts + timedelta(days=20)).date().isoformat(),
            }
        ],
    }
    records = [{"member_id": m, "status": "present"} for m in province.members]
    return [
        scheduled,
        cloudevent("attendance.recorded.v1", {"meeting_id": meeting_id, "records": records}),
        cloudevent("minutes.submitted.v1", minutes),
    ]


def adoption(meeting_id: str, starts: datetime, **votes: int) -> dict[str, Any]:
    data = {"meeting_id": meeting_id, "approved_at": (starts + timedelta(minutes=100)).isoformat(), **votes}
    return cloudevent("minutes.approved.v1", data)


async def publish(system: RunningSystem, event: dict[str, Any]) -> None:
    """Publish one event on the ingest exchange (the AMQP route)."""
    connection = await aio_pika.connect(system.env["CHIBO_AMQP_URL"])
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INGEST_EXCHANGE)
        await exchange.publish(
            aio_pika.Message(
                json.dumps(event, ensure_ascii=False).encode(),
                content_type="application/cloudevents+json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=event["type"],
            mandatory=True,
        )
    finally:
        await connection.close()


async def test_an_adoption_without_votes_is_accepted_on_both_routes_and_leaves_the_vote_unmet(
    system: RunningSystem,
    integration: str,
    province: Province,
    officer: httpx.AsyncClient,
    secretary: httpx.AsyncClient,
) -> None:
    today = datetime.now(VIETNAM_TZ).replace(hour=19, minute=30, second=0, microsecond=0)
    starts = {name: today - timedelta(days=days) for name, days in (("http", 4), ("amqp", 3), ("voted", 2), ("sec", 1))}
    ids = {name: random_id(f"mtg-{name}") for name in starts}
    await post(system, integration, [event for name in starts for event in held(province, ids[name], starts[name])])

    # the votes stay optional on both routes: the adoptions are taken, the meetings adopted
    await post(system, integration, [adoption(ids["http"], starts["http"])])
    await post(system, integration, [adoption(ids["voted"], starts["voted"], votes_for=3, votes_against=0)])
    await publish(system, adoption(ids["amqp"], starts["amqp"]))
    # the secretary's adoption still needs its votes for (h378), and with them is taken
    refused = await secretary.post(f"/v1/meetings/{ids['sec']}/minutes/approval", json={})
    assert refused.status_code == 422 and refused.json()["field"] == "votes_for", refused.text
    taken = await secretary.post(f"/v1/meetings/{ids['sec']}/minutes/approval", json={"votes_for": 3})
    assert taken.status_code == 202, taken.text

    async def line(name: str) -> dict[str, Any] | None:
        meeting = (await officer.get(f"/v1/meetings/{ids[name]}")).json()
        answer = await officer.get(f"/v1/meetings/{ids[name]}/score")
        if meeting.get("approved_at") is None or answer.status_code != 200:
            return None
        [found] = [line for line in answer.json()["criteria"] if line["code"] == CODE]
        # scored once the adoption reached evaluation: its reason no longer says the minutes are not adopted
        return None if found["reason"].startswith("minutes not approved") else dict(found)

    for name in ("http", "amqp"):
        unvoted = await eventually(lambda name=name: line(name), timeout=120)
        assert (unvoted["points"], unvoted["reason"]) == (0, "minutes adopted with no vote recorded"), name
    for name in ("voted", "sec"):
        voted = await eventually(lambda name=name: line(name), timeout=120)
        assert (voted["points"], voted["reason"]) == (2, "minutes approved and 1 task(s) assigned"), name
