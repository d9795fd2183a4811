"""Every meetings line about an event names the correlation id the other services follow it by (docs/operations.md,
"Following an event"; shared.envelope.Event.correlation_id: its own `correlationid`, over HTTP the request's it took,
else its own id). Trial: the 4,790 `event_accepted` lines of events that came over AMQP (routes `amqp` and
`amqp-batch`) said `"correlation_id": null` while evaluation and notifications logged the event's id for the same
event (and meetings' own `event_held` and `event_rejected` lines named it): the accept and duplicate lines took the
event's `correlationid` as it came, which an AMQP event naming none lacks, so a search of the logs by that id missed
meetings' accept line. Each route and content mode, each outcome (accepted, duplicate, held, rejected, released,
replayed), events naming a correlation id of their own and none; real PostgreSQL, the lines as structlog gets them."""

import json
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager, nullcontext
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from services.meetings import handlers
from services.meetings.handlers import trace
from services.meetings.handlers.grouped import ingest_singles, single_event
from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from shared.logs import merge_message_context, request_context
from tests.meetings import events as ev
from tests.support.ids import random_id

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
ROUTES = ["amqp", "amqp-binary", "amqp-batch", "http", "http-binary", "http-batch"]
"""How the events are sent: one AMQP message each through the group commit (structured or binary mode), one AMQP
batch message, one POST /v1/events per event (structured or binary mode, as the gateway's RPC hands it on), one
POST with a batch."""


@contextmanager
def lines() -> Iterator[list[MutableMapping[str, Any]]]:
    """The lines written in the block, each with what the message being handled binds (as the service writes it)."""
    with capture_logs(processors=[structlog.contextvars.merge_contextvars, merge_message_context]) as captured:
        yield captured


def binary(event: dict[str, Any], *, prefix: str) -> tuple[dict[str, Any], bytes]:
    """An event as a binary-mode message: its attributes as headers (`ce-` on HTTP, `cloudEvents:` on AMQP), its
    data the body."""
    headers = {f"{prefix}{name}": value for name, value in event.items() if name not in ("data", "datacontenttype")}
    return headers, json.dumps(event["data"]).encode()


async def send(route: str, events: list[dict[str, Any]], uow_factory: Any, request_id: str) -> list[str]:
    """Send `events` by `route` (ROUTES); their outcomes, in order. Over HTTP within the gateway's request
    `request_id`, as its RPC binds it."""
    if route in ("amqp", "amqp-binary"):
        readings = []
        for event in events:
            headers: dict[str, Any]
            if route == "amqp":
                headers, body, content_type = {}, json.dumps(event).encode(), CLOUDEVENT_CONTENT_TYPE
            else:
                (headers, body), content_type = binary(event, prefix="cloudEvents:"), "application/json"
            reading = single_event(headers, content_type, body, message_id=random_id("msg"))
            assert reading is not None
            readings.append(reading)
        singles = await ingest_singles(readings, uow_factory)
        assert not [single for single in singles if isinstance(single, Exception)], singles
        return [single.outcome for single in singles if not isinstance(single, Exception)]
    over_http = route.startswith("http")
    with request_context(correlation_id=request_id) if over_http else nullcontext():
        if route.endswith("-batch"):
            results = await handlers.ingest_delivery(
                json.dumps(events).encode(),
                uow_factory,
                batch=True,
                route="http" if over_http else "amqp",
                content_type=BATCH_CONTENT_TYPE,
                message_id=None if over_http else random_id("msg"),
            )
            return [result.outcome for result in results]
        outcomes = []
        for event in events:
            if route == "http-binary":
                (headers, body), content_type = binary(event, prefix="ce-"), "application/json"
            else:
                headers, body, content_type = {}, json.dumps(event).encode(), CLOUDEVENT_CONTENT_TYPE
            [result] = await handlers.ingest_delivery(
                body, uow_factory, batch=False, route="http", headers=headers, content_type=content_type
            )
            outcomes.append(result.outcome)
        return outcomes


async def replay(rejection_id: str, corrected: dict[str, Any], uow_factory: Any) -> str:
    """An operator's replay of a rejection with a corrected copy, its lines written once committed (as the RPC's)."""
    with trace.tracing() as judged:
        async with uow_factory() as uow:
            result = await handlers.replay_rejection(rejection_id, uow, event=corrected)
            await uow.commit()
        trace.report(judged)
    return result.outcome


def naming(event: dict[str, Any], named: bool) -> dict[str, Any]:
    """The event naming a correlation id of its own (`named`), or as it was, naming none."""
    return {**event, "correlationid": random_id("corr")} if named else event


@pytest.mark.parametrize("named", [False, True], ids=["naming-none", "naming-its-own"])
@pytest.mark.parametrize("route", ROUTES)
async def test_every_line_about_an_event_names_the_correlation_id_it_is_followed_by(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, route: str, named: bool
) -> None:
    cell, later_cell = random_id("cell"), random_id("cell")
    taken = naming(ev.unit(cell), named)
    held = naming(ev.member(random_id("mem"), later_cell), named)  # its cell comes later: held, then released
    refused = naming(ev.unit(random_id("cell"), kind="no-such-kind"), named)
    request_id = random_id("req")
    over_http = route.startswith("http")

    with lines() as written:
        assert await send(route, [taken, held, refused], uow_factory, request_id) == ["accepted", "held", "rejected"]
        assert await send(route, [taken], uow_factory, request_id) == ["duplicate"]
        assert await send(route, [ev.unit(later_cell)], uow_factory, request_id) == ["accepted"]  # releases `held`
        rejection_id = await meetings_pool.fetchval(
            "SELECT rejection_id FROM rejection WHERE source = $1 AND event_id = $2", refused["source"], refused["id"]
        )
        corrected = {**refused, "data": {**refused["data"], "kind": "cell", "parent_id": ev.TEST_ROOT}}
        assert await replay(rejection_id, corrected, uow_factory) == "accepted"  # outside any request: a script's

    def expected(event: dict[str, Any], *, sent: bool = True) -> str:
        own = event.get("correlationid")
        return own if isinstance(own, str) else request_id if over_http and sent else event["id"]

    line_route = ("http" if over_http else "amqp") + ("-batch" if route.endswith("-batch") else "")
    outcomes = {
        taken["id"]: {("event_accepted", line_route), ("event_duplicate", line_route)},
        held["id"]: {("event_held", line_route), ("event_accepted", "release")},
        refused["id"]: {("event_rejected", line_route), ("event_accepted", "replay")},
    }
    for event in (taken, held, refused):
        about = [line for line in written if line.get("event_id") == event["id"]]
        said = {(line["event"], line.get("route")) for line in about}
        assert outcomes[event["id"]] <= said, (route, said)
        for line in about:
            # the replay of a corrected copy judges that copy, sent by no request: its own id else the event's
            replayed = line["event"] == "event_accepted" and line.get("route") == "replay"
            assert line.get("correlation_id") == expected(event, sent=not replayed), (route, line)


async def test_a_replay_within_an_operators_request_is_followed_by_that_request_when_the_event_names_none(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory
) -> None:
    """docs/operations.md: a replay's `event_accepted` names the operator's request's correlation id when the event
    names none of its own; its own when it names one."""
    plain, own = ev.unit(random_id("cell"), kind="no-such-kind"), naming(ev.unit(random_id("cell"), kind="x"), True)
    assert await send("amqp", [plain, own], uow_factory, "") == ["rejected", "rejected"]
    operator = random_id("op")
    with lines() as written, request_context(correlation_id=operator):
        for event in (plain, own):
            rejection_id = await meetings_pool.fetchval(
                "SELECT rejection_id FROM rejection WHERE source = $1 AND event_id = $2", event["source"], event["id"]
            )
            corrected = {**event, "data": {**event["data"], "kind": "cell", "parent_id": ev.TEST_ROOT}}
            assert await replay(rejection_id, corrected, uow_factory) == "accepted"
    accepted = {line["event_id"]: line for line in written if line["event"] == "event_accepted"}
    assert accepted[plain["id"]]["correlation_id"] == operator
    assert accepted[own["id"]]["correlation_id"] == own["correlationid"]
