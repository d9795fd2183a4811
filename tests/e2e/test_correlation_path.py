"""One event followed through the logs of every service by its own correlation id (docs/operations.md), with the
four services running as processes: an integration sends the minutes of a meeting held yesterday whose roster names
a member absent without excuse, naming a `correlationid`, once through the gateway's HTTP route (structured mode) and
once on AMQP in binary mode. That one event is accepted by meetings, makes evaluation score the meeting and count it
in its cell's month, and makes notifications tell the cell's committee of the absence and mail them; every
service's lines about it name its correlation id, and so does every fact published because of it (the CloudEvents
`correlationid`)."""

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.e2e.test_walking_skeleton import Province, cloudevent
from tests.meetings.feed import Feed, feed
from tests.support.ids import random_id
from tests.support.running import eventually
from tests.support.system import RunningSystem, issue_token

pytestmark = pytest.mark.e2e
WAIT = 120.0


@pytest.fixture(scope="module")
def token(system: RunningSystem) -> str:
    """An integration account's token for the whole province."""
    return issue_token(system, role="integration", unit=None, sub=random_id("integration"), province_wide=True)


@pytest.fixture(scope="module")
async def bus(system: RunningSystem) -> AsyncIterator[Feed]:
    """Every event published on chibo.events from now on."""
    async with feed(system.env["CHIBO_AMQP_URL"]) as seen:
        yield seen


async def post(system: RunningSystem, token: str, body: Any, content_type: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as client:
        response = await client.post(
            "/v1/events",
            content=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        )
    assert response.status_code == 200, response.text
    return response


def log_lines(system: RunningSystem, service: str, **match: Any) -> list[dict[str, Any]]:
    """The service's JSON log lines (its process's output) whose fields hold `match`."""
    found = []
    for text in system.logs[service].read_text(errors="replace").splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict) and all(line.get(key) == value for key, value in match.items()):
            found.append(line)
    return found


def published(
    bus: Feed, event_type: str, where: Callable[[dict[str, Any]], bool], *, since: int = 0
) -> list[dict[str, Any]]:
    """The events of the type seen on chibo.events (from the `since`th on) for which `where` holds."""
    return [event for event in bus.seen[since:] if event["type"] == event_type and where(event)]


async def meeting_held_yesterday(system: RunningSystem, token: str) -> tuple[Province, str, datetime]:
    """A fresh province whose cell met 20 hours ago, its roster recorded (a member absent without excuse) and no
    minutes yet, every service done with it: what the minutes below cause is theirs alone. The meeting's id and
    start."""
    province = Province()
    await post(system, token, province.events(), "application/cloudevents-batch+json")
    meeting_id = random_id("mtg")
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=20)).replace(second=0, microsecond=0)
    scheduled = province.scheduled(meeting_id)
    scheduled["data"]["starts_at"] = starts.isoformat()
    present = [{"member_id": member, "status": "present"} for member in province.members[:2]]
    roster = cloudevent(
        "attendance.recorded.v1",
        {"meeting_id": meeting_id, "records": [*present, {"member_id": province.members[2], "status": "absent"}]},
    )
    await post(system, token, [scheduled, roster], "application/cloudevents-batch+json")

    async def settled() -> bool:
        connection = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"])
        try:
            return bool(
                await connection.fetchval(
                    "SELECT (SELECT count(*) FROM notifications.meeting_attendance WHERE meeting_id = $1) > 0"
                    " AND (SELECT count(*) FROM evaluation.attendance WHERE meeting_id = $1) > 0"
                    " AND NOT EXISTS (SELECT FROM evaluation.dirty_cell WHERE cell_id = $2)"
                    " AND NOT EXISTS (SELECT FROM evaluation.outbox WHERE published_at IS NULL)"
                    " AND NOT EXISTS (SELECT FROM notifications.outbox WHERE published_at IS NULL)",
                    meeting_id,
                    province.cell,
                )
            )
        finally:
            await connection.close()

    assert await eventually(settled, timeout=WAIT)
    return province, meeting_id, starts


def minutes_of(province: Province, meeting_id: str, starts: datetime, correlation_id: str) -> dict[str, Any]:
    """The meeting's minutes, naming `correlation_id`: it is held now, so evaluation scores it and counts it in its
    cell's month, and notifications tells the cell's committee of the member absent without excuse."""
    chair = province.members[0]
    minutes = {
        "meeting_id": meeting_id,
        "started_at": starts.isoformat(),
        "ended_at": (starts + timedelta(minutes=100)).isoformat(),
        "chair_id": chair,
        "recorder_id": province.members[1],
        "speakers": [chair],
        "content": "Kiểm điểm nghị quyết tháng trước",
        "conclusions": "Thống nhất",
        "resolutions": [{"text": "Nghị quyết tháng", "votes_for": 2, "votes_against": 0, "abstentions": 0}],
        "tasks": [],
    }
    return {**cloudevent("minutes.submitted.v1", minutes), "correlationid": correlation_id}


async def assert_followed(
    system: RunningSystem,
    bus: Feed,
    province: Province,
    meeting_id: str,
    starts: datetime,
    event: dict[str, Any],
    *,
    since: int,
) -> None:
    """Every service's lines about the event's consequences and every fact they published (seen on chibo.events
    from the `since`th on: once the event was sent) name its correlation id."""
    own = event["correlationid"]
    month = f"{starts:%Y-%m}"

    # the facts, as partners read them
    def facts() -> dict[str, list[dict[str, Any]]]:
        found = {
            "meeting": published(bus, event["type"], lambda e: e.get("originid") == event["id"], since=since),
            "score": published(
                bus,
                "score.meeting.updated.v1",
                lambda e: e["subject"] == meeting_id,
                since=since,
            ),
            "period": published(
                bus,
                "score.cell.updated.v1",
                lambda e: e["subject"] == province.cell and e["data"].get("period") == month,
                since=since,
            ),
            "delivered": published(
                bus,
                "notification.delivered.v1",
                lambda e: e["data"]["rule"] == "unexcused_absence" and e["data"]["subject_id"] == meeting_id,
                since=since,
            ),
        }
        return found

    def all_kinds() -> dict[str, list[dict[str, Any]]] | None:
        seen = facts()
        return seen if all(seen.values()) else None

    try:
        found = await eventually(all_kinds, timeout=WAIT)
    except AssertionError:
        seen = {kind: [(e["id"], e.get("correlationid")) for e in events] for kind, events in facts().items()}
        raise AssertionError(f"facts published since the event, by kind: {seen}") from None
    for kind, events in found.items():
        assert {e.get("correlationid") for e in events} == {own}, (kind, events)

    # the lines, as an operator searches them
    def lines() -> dict[str, list[dict[str, Any]]] | None:
        seen = {
            "meetings accepted": log_lines(
                system, "meetings", event="event_accepted", event_id=event["id"], correlation_id=own
            ),
            "evaluation took the fact": log_lines(system, "evaluation", correlation_id=own, event_type=event["type"]),
            "evaluation scored": log_lines(
                system, "evaluation", event="meeting_score_updated", meeting_id=meeting_id, correlation_id=own
            ),
            "evaluation refreshed the month": log_lines(
                system,
                "evaluation",
                event="cell_period_updated",
                cell_id=province.cell,
                period=month,
                correlation_id=own,
            ),
            "notifications decided": log_lines(
                system, "notifications", event="notifications_created", correlation_id=own
            ),
            "notifications delivered": log_lines(
                system, "notifications", event="notices_delivered", correlation_id=own
            ),
        }
        return seen if all(seen.values()) else None

    try:
        assert await eventually(lines, timeout=WAIT)
    except AssertionError:
        missing = {
            service: [line["event"] for line in log_lines(system, service, correlation_id=own)]
            for service in ("gateway", "meetings", "evaluation", "notifications")
        }
        raise AssertionError(f"lines naming {own}, by service: {missing}") from None
    for service in ("meetings", "evaluation", "notifications"):
        assert all(line.get("service") == service for line in log_lines(system, service, correlation_id=own))


async def test_an_event_posted_over_http_is_followed_by_its_correlation_id_through_every_service(
    system: RunningSystem, token: str, bus: Feed
) -> None:
    province, meeting_id, starts = await meeting_held_yesterday(system, token)
    event = minutes_of(province, meeting_id, starts, random_id("corr-http"))
    since = len(bus.seen)
    response = await post(system, token, event, "application/cloudevents+json")
    assert response.json()["results"][0]["outcome"] == "accepted", response.text

    await assert_followed(system, bus, province, meeting_id, starts, event, since=since)
    assert log_lines(system, "gateway", event="events_forwarded", correlation_id=event["correlationid"])


async def test_an_event_published_in_amqp_binary_mode_is_followed_by_its_correlation_id_through_every_service(
    system: RunningSystem, token: str, bus: Feed
) -> None:
    province, meeting_id, starts = await meeting_held_yesterday(system, token)
    event = minutes_of(province, meeting_id, starts, random_id("corr-amqp"))
    since = len(bus.seen)
    attributes = {key: value for key, value in event.items() if key not in ("data", "datacontenttype")}
    await bus.publish(
        json.dumps(event["data"], ensure_ascii=False).encode(),
        routing_key=event["type"],
        headers={f"cloudEvents:{key}": str(value) for key, value in attributes.items()},
        content_type="application/json",
    )

    await assert_followed(system, bus, province, meeting_id, starts, event, since=since)
