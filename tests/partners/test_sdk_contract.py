"""The SDK contract (issue 15): every type in fed with the official CloudEvents SDKs for Python and JavaScript, in
both content modes on both routes, is accepted as sent; every type out is read with both SDKs. These are the proof
that a partner's feeder written with an SDK works unchanged."""

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.contracts.registry import INTERNAL_TYPES, REGISTRY
from shared.envelope import VIETNAM_TZ
from tests.partners import sdk
from tests.partners.js import run_node
from tests.partners.scenario import SOURCE, Scenario, attributes
from tests.partners.wire import Tap, publish
from tests.support.running import eventually
from tests.support.system import RunningSystem


def equivalent(sent: Any, seen: Any) -> bool:
    """Values equal, times compared as instants (an SDK may write the same instant another way)."""
    if isinstance(sent, dict) and isinstance(seen, dict):
        return all(equivalent(value, seen.get(key)) for key, value in sent.items())
    if isinstance(sent, list) and isinstance(seen, list):
        return len(sent) == len(seen) and all(equivalent(a, b) for a, b in zip(sent, seen, strict=True))
    if isinstance(sent, str) and isinstance(seen, str) and sent != seen:
        try:
            return datetime.fromisoformat(sent) == datetime.fromisoformat(seen)
        except ValueError:
            return False
    return bool(sent == seen)


async def feed_with_python(
    events: list[dict[str, Any]], *, route: str, mode: str, system: RunningSystem, token: str
) -> list[str]:
    """Send the events one by one with the Python SDK; the HTTP outcomes (AMQP: 'published')."""
    outcomes = []
    if route == "http":
        async with httpx.AsyncClient(base_url=system.gateway_url, timeout=90) as client:
            for event in events:
                headers, body = (sdk.http_binary if mode == "binary" else sdk.http_structured)(event)
                response = await client.post(
                    "/v1/events", content=body, headers={**headers, "Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 200, response.text
                outcomes.append(response.json()["results"][0]["outcome"])
        return outcomes
    for event in events:
        message = (sdk.rabbitmq_binary if mode == "binary" else sdk.rabbitmq_structured)(event)
        await publish(
            system.env["CHIBO_AMQP_URL"],
            message.body,
            routing_key=event["type"],
            content_type=message.content_type,
            headers=message.headers,
        )
        outcomes.append("published")
    return outcomes


async def feed_with_javascript(
    events: list[dict[str, Any]], *, route: str, mode: str, system: RunningSystem, token: str
) -> list[str]:
    """Send the events one by one with the JavaScript SDK (tests/js/feed.js under the machine's Node.js)."""
    env = {
        "CHIBO_GATEWAY_URL": system.gateway_url,
        "CHIBO_TOKEN": token,
        "CHIBO_AMQP_URL": system.env["CHIBO_AMQP_URL"],
    }
    output = await run_node("tests/js/feed.js", route, mode, stdin=json.dumps(events).encode(), env=env)
    lines = [json.loads(line) for line in output.decode().splitlines() if line.strip()]
    assert [line["id"] for line in lines] == [event["id"] for event in events]
    return [line["outcome"] for line in lines]


FEEDERS = {"python": feed_with_python, "javascript": feed_with_javascript}


@pytest.mark.parametrize("mode", ["binary", "structured"])
@pytest.mark.parametrize("route", ["http", "amqp"])
@pytest.mark.parametrize("language", ["python", "javascript"])
async def test_every_type_in_fed_with_the_sdk_is_accepted_as_sent(
    language: str, route: str, mode: str, system: RunningSystem, integration_token: str, events_out: Tap
) -> None:
    events = Scenario().events()
    outcomes = await FEEDERS[language](events, route=route, mode=mode, system=system, token=integration_token)
    if route == "http":
        assert outcomes == ["accepted"] * len(events), list(zip([e["type"] for e in events], outcomes, strict=True))
    for event in events:
        copies = await eventually(lambda e=event: events_out.originating(SOURCE, e["id"]), timeout=90)
        assert copies[0]["type"] == event["type"]
        assert equivalent(event["data"], copies[0]["data"]), (event, copies[0])
        assert datetime.fromisoformat(copies[0]["time"]) == datetime.fromisoformat(event["time"])
    assert not [e for e in events if events_out.rejection_of(e["id"])]


def upcoming_meeting(scenario: Scenario) -> dict[str, Any]:
    """A meeting of the scenario's cell next week: notifications announce it (delivered, and failed by webhook)."""
    starts = (datetime.now(VIETNAM_TZ) + timedelta(days=7)).replace(hour=19, minute=30, second=0, microsecond=0)
    return {
        **attributes("meeting.scheduled.v1", at=datetime.now(VIETNAM_TZ).replace(microsecond=0)),
        "data": {
            "meeting_id": f"mtg-next-{scenario.tag}",
            "cell_id": scenario.cell,
            "kind": "regular",
            "starts_at": starts.isoformat(),
            "location": "Nhà văn hóa khu phố 3",
            "agenda": ["Sinh hoạt thường kỳ"],
        },
    }


PUBLIC_TYPES = set(REGISTRY) - INTERNAL_TYPES
"""The types a partner may read (framework.adopted.v1 is internal, published once when a framework is adopted)."""


def messages_of_every_type(tap: Tap) -> dict[str, Any] | None:
    """One message per type out once every type has been seen."""
    found: dict[str, Any] = {}
    for message in tap.messages:
        for event in message.events():
            found.setdefault(event["type"], message)
    return found if PUBLIC_TYPES <= set(found) else None


async def test_every_type_out_reads_with_both_sdks(
    system: RunningSystem, integration_token: str, events_out: Tap
) -> None:
    scenario = Scenario()
    bad = {**scenario.events()[0], "id": "evt-bad-" + scenario.tag, "data": {"id": "x", "kind": "cell"}}
    feed = scenario.events()
    cancellation = next(event for event in feed if event["type"] == "meeting.cancelled.v1")
    events = [*(event for event in feed if event is not cancellation), upcoming_meeting(scenario), bad]
    await feed_with_python(events, route="http", mode="structured", system=system, token=integration_token)

    # score.meeting.withdrawn.v1 withdraws a published score: the meeting is cancelled once it has one (scoring is
    # coalesced, so a meeting scheduled and cancelled within one scoring round is never scored nor withdrawn)
    def scored(meeting_id: str) -> bool:
        return any(
            e["type"] == "score.meeting.updated.v1" and e["data"]["meeting_id"] == meeting_id
            for e in events_out.events()
        )

    await eventually(lambda: scored(scenario.cancelled), timeout=120, interval=0.5)
    await feed_with_python([cancellation], route="http", mode="structured", system=system, token=integration_token)

    async def all_types() -> dict[str, Any] | None:
        return messages_of_every_type(events_out)

    try:
        by_type = await eventually(all_types, timeout=120, interval=0.5)
    except AssertionError:
        seen = {event["type"] for message in events_out.messages for event in message.events()}
        raise AssertionError(f"never seen on chibo.events: {sorted(PUBLIC_TYPES - seen)}") from None
    messages = list(by_type.values())

    for message in messages:
        for raw, event in zip(message.events(), _python_read(message), strict=True):
            assert event.get_type() == raw["type"] and event.get_id() == raw["id"]
            assert event.get_source() == raw["source"] and event.get_time() == datetime.fromisoformat(raw["time"])
            assert event.get_data() == raw["data"]

    wire = [
        {
            "content_type": message.content_type,
            "headers": {key: str(value) for key, value in message.headers.items()},
            "body": message.body.decode(),
        }
        for message in messages
    ]
    read = json.loads(await run_node("tests/js/read.js", stdin=json.dumps(wire).encode()))
    assert len(read) == len(messages)
    for message, events in zip(messages, read, strict=True):
        raws = message.events()
        assert [event["type"] for event in events] == [raw["type"] for raw in raws]
        for raw, event in zip(raws, events, strict=True):
            assert event["id"] == raw["id"] and event["source"] == raw["source"] and event["data"] == raw["data"]
            # JavaScript dates hold milliseconds: the SDK keeps the instant to the millisecond.
            drift = datetime.fromisoformat(event["time"]) - datetime.fromisoformat(raw["time"])
            assert abs(drift) < timedelta(milliseconds=1), (event["time"], raw["time"])


def _python_read(message: Any) -> list[Any]:
    """The Python SDK's reading: from_rabbitmq for one event; a batch is a JSON array of structured events."""
    if len(message.events()) == 1 and not message.body.lstrip().startswith(b"["):
        return [sdk.read_rabbitmq(message.headers, message.content_type, message.body)]
    return [
        sdk.read_rabbitmq({}, "application/cloudevents+json", json.dumps(item).encode()) for item in message.events()
    ]
