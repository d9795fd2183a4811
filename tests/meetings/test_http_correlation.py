"""POST /v1/events can be followed across the logs by the gateway's correlation id (trial: the gateway's id appeared
in no other service's log; meetings' HTTP-route lines carried none, a whole batch's rejection was logged with an
empty `event_id`). Through the real gateway (in-process) and the real meetings service, real broker and database:
the id travels with the RPC, every line of meetings about the request names it, and each event naming no
correlation id of its own takes it, so the facts and rejections meetings publishes carry it on (as an AMQP event's
own `correlationid` travels)."""

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.gateway.auth import Role
from services.gateway.bootstrap import GatewayState
from services.gateway.main import create_app
from tests.gateway.conftest import gateway_settings, issue_token
from tests.meetings.feed import Feed, feed
from tests.support.ids import random_id
from tests.support.logs import route_logs_to_stdlib, structured_logs
from tests.support.running import eventually

BATCH = {"Content-Type": "application/cloudevents-batch+json"}
REQUEST_LINES = {"rpc_ingest_body", "ingest_transaction_judged"}


@pytest.fixture(scope="module")
async def bus(amqp_url: str) -> AsyncIterator[Feed]:
    async with feed(amqp_url) as seen:
        yield seen


@pytest.fixture(scope="module")
async def gateway(meetings_service: str, amqp_url: str, database_url: str) -> AsyncIterator[tuple[Any, str]]:
    """The real gateway app in its lifespan, talking to the real meetings; an integration account's token."""
    app = create_app(gateway_settings(amqp_url, database_url))
    async with app.router.lifespan_context(app):
        state: GatewayState = app.state.gateway
        yield app, await issue_token(state, Role.INTEGRATION)


def unit(**extensions: Any) -> dict[str, Any]:
    """A valid org.unit.upserted.v1 of a new cell, with any extension attributes given."""
    return {
        "specversion": "1.0",
        "id": random_id("evt"),
        "source": "urn:test:correlation",
        "type": "org.unit.upserted.v1",
        "time": "2026-11-01T08:00:00+07:00",
        "data": {"id": random_id("cell"), "name": "Chi bộ thôn Đông", "kind": "committee", "parent_id": None},
        **extensions,
    }


def invalid() -> dict[str, Any]:
    """An org.unit.upserted.v1 refused for its data (no name)."""
    event = unit()
    del event["data"]["name"]
    return event


async def post(app: Any, token: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.78", 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=60) as client:
        request = {"json": body} if not isinstance(body, bytes) else {"content": body}
        response = await client.post(
            "/v1/events", headers={"Authorization": f"Bearer {token}", **BATCH, **(headers or {})}, **request
        )
    assert response.status_code < 500, response.text
    return response


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    route_logs_to_stdlib(caplog)
    caplog.set_level(logging.INFO)
    return caplog


async def published(bus: Feed, event_type: str, **match: Any) -> dict[str, Any]:
    found = await eventually(lambda: bus.find(event_type, **match))
    assert isinstance(found, dict)
    return found


@pytest.mark.parametrize("given", [True, False], ids=["caller-gave-one", "gateway-made-one"])
async def test_the_gateways_correlation_id_is_on_meetings_lines_and_on_the_facts_of_events_naming_none(
    gateway: tuple[Any, str], bus: Feed, lines: pytest.LogCaptureFixture, given: bool
) -> None:
    app, token = gateway
    plain, own, refused = unit(), unit(correlationid=random_id("own")), invalid()
    headers = {"X-Correlation-ID": random_id("trace")} if given else {}
    response = await post(app, token, [plain, own, refused], headers)
    assert [result["outcome"] for result in response.json()["results"]] == ["accepted", "accepted", "rejected"]
    correlation_id = response.headers["x-correlation-id"]
    if given:
        assert correlation_id == headers["X-Correlation-ID"]

    # meetings' lines about the request name it: the RPC's, the transaction's, the rejection's
    logged = structured_logs(lines)
    # meetings runs in this process beside the gateway, so `service` is whichever configured logging last: the
    # stdlib logger's name says which service's code wrote the line
    ours = [
        record.msg["event"]
        for record in lines.records
        if isinstance(record.msg, dict)
        and record.msg.get("correlation_id") == correlation_id
        and record.name.startswith("services.meetings")
    ]
    assert set(ours) >= REQUEST_LINES
    rejected = [line for line in logged if line["event"] == "event_rejected" and line.get("event_id") == refused["id"]]
    assert [line.get("correlation_id") for line in rejected] == [correlation_id]
    assert all(line.get("correlation_id") for line in logged if line["event"] in REQUEST_LINES)

    # the facts: an event naming none carries the request's on; one naming its own keeps its own
    fact = await published(bus, "org.unit.upserted.v1", originid=plain["id"])
    assert fact["correlationid"] == correlation_id
    kept = await published(bus, "org.unit.upserted.v1", originid=own["id"])
    assert kept["correlationid"] == own["correlationid"]
    rejection = await published(bus, "ingest.rejected.v1", event_id=refused["id"])
    assert rejection["correlationid"] == correlation_id


@pytest.mark.parametrize(
    "body",
    [b"[", b"[]", b'{"not": "a batch"}', b"[" * 100_000],
    ids=["not-json", "empty", "no-array", "nested-past-recursion"],
)
async def test_a_whole_body_rejected_is_logged_without_an_empty_event_id_and_with_the_requests_correlation_id(
    gateway: tuple[Any, str], bus: Feed, lines: pytest.LogCaptureFixture, body: bytes
) -> None:
    app, token = gateway
    correlation_id = random_id("trace")
    response = await post(app, token, body, {"X-Correlation-ID": correlation_id})
    assert response.status_code in (400, 413, 422), response.text

    rejected = [line for line in structured_logs(lines) if line["event"] == "event_rejected"]
    ours = [line for line in rejected if line.get("correlation_id") == correlation_id]
    assert len(ours) == 1, rejected
    assert "event_id" not in ours[0]
    assert ours[0]["event_type"] == "batch" and ours[0]["rejection_id"]
    assert all(line.get("event_id") != "" for line in rejected)
    published_rejection = await published(bus, "ingest.rejected.v1", subject=ours[0]["rejection_id"])
    assert published_rejection["correlationid"] == correlation_id


async def test_every_rejection_line_names_the_correlation_id_its_published_rejection_carries_on_amqp_too(
    meetings_service: str, bus: Feed, lines: pytest.LogCaptureFixture
) -> None:
    """An item of an AMQP batch that is no event is judged outside any event's context: its line still names the
    correlation id its ingest.rejected.v1 carries, so the two are found together."""
    good, message_id = unit(), random_id("batch")
    await bus.publish([good, 42], message_id=message_id)
    await published(bus, "org.unit.upserted.v1", originid=good["id"])

    def item_line() -> dict[str, Any] | None:
        found = [
            line
            for line in structured_logs(lines)
            if line["event"] == "event_rejected" and "event_id" not in line and line.get("message_id") == message_id
        ]
        return found[-1] if found else None

    line = await eventually(item_line)
    rejection = await published(bus, "ingest.rejected.v1", subject=line["rejection_id"])
    assert line["correlation_id"] == rejection["correlationid"]


SINGLE = {"Content-Type": "application/cloudevents+json"}
IDENTITY = ("event_id", "event_type", "event_source", "correlation_id")


def named(lines: pytest.LogCaptureFixture, prefix: str, **match: Any) -> list[dict[str, Any]]:
    """The structured lines written by `prefix`'s code (its stdlib logger name) whose fields hold `match`."""
    return [
        dict(record.msg)
        for record in lines.records
        if isinstance(record.msg, dict)
        and record.name.startswith(prefix)
        and all(record.msg.get(key) == value for key, value in match.items())
    ]


@pytest.mark.parametrize("mode", ["structured", "binary", "batch"])
async def test_an_events_own_correlation_id_follows_it_through_the_gateway_and_meetings(
    gateway: tuple[Any, str], bus: Feed, lines: pytest.LogCaptureFixture, mode: str
) -> None:
    """Trial: an event naming `correlationid` corr-xyz was logged by the gateway (3 lines) and meetings (2 lines)
    only under the HTTP request's id, by evaluation and notifications only under corr-xyz: no one id followed it.
    The event's own id is now every line's `correlation_id`, the request's own kept as `request_id`."""
    app, token = gateway
    own = random_id("corr")
    event = unit(correlationid=own)
    if mode == "structured":
        response = await post(app, token, event, SINGLE)
    elif mode == "batch":
        response = await post(app, token, [event, unit(correlationid=own)])
    else:
        data = event.pop("data")
        headers = {f"ce-{key}": str(value) for key, value in event.items()}
        response = await post(app, token, json.dumps(data).encode(), {**headers, "Content-Type": "application/json"})
    assert {result["outcome"] for result in response.json()["results"]} == {"accepted"}
    request_id = response.headers["x-correlation-id"]
    assert request_id != own

    gateway_lines = {line["event"] for line in named(lines, "services.gateway", correlation_id=own)}
    assert gateway_lines >= {"http_request", "events_forwarded"}
    assert not named(lines, "services.gateway", correlation_id=request_id)
    assert named(lines, "services.gateway", event="http_request", request_id=request_id)
    meetings_lines = {line["event"] for line in named(lines, "services.meetings", correlation_id=own)}
    assert meetings_lines >= REQUEST_LINES | {"event_accepted"}
    assert not named(lines, "services.meetings", correlation_id=request_id)
    # the fact it re-publishes carries it on to evaluation and notifications, which log it
    fact = await published(bus, "org.unit.upserted.v1", originid=event["id"])
    assert fact["correlationid"] == own


async def test_an_accepted_event_is_logged_once_by_its_identity(
    gateway: tuple[Any, str], bus: Feed, lines: pytest.LogCaptureFixture
) -> None:
    """Trial: only held, duplicate and rejected events left a meetings line naming their id."""
    app, token = gateway
    first, second = unit(), unit()
    response = await post(app, token, [first, second])
    correlation_id = response.headers["x-correlation-id"]
    for event in (first, second):
        accepted = named(lines, "services.meetings", event="event_accepted", event_id=event["id"])
        assert len(accepted) == 1, accepted
        assert {key: accepted[0].get(key) for key in IDENTITY} == {
            "event_id": event["id"],
            "event_type": "org.unit.upserted.v1",
            "event_source": "urn:test:correlation",
            "correlation_id": correlation_id,
        }


async def test_duplicate_and_rejected_lines_name_the_events_identity_by_the_documented_fields(
    gateway: tuple[Any, str], bus: Feed, lines: pytest.LogCaptureFixture
) -> None:
    """Trial: `event_duplicate` and `event_rejected` wrote `source` for `event_source`, and the duplicate line had
    no `event_type` nor `correlation_id` (docs/operations.md: every line carries all four)."""
    app, token = gateway
    own = random_id("corr")
    event, refused = unit(correlationid=own), invalid()
    await post(app, token, [event])
    await post(app, token, [event, refused])
    for name, sent, correlation_id in (("event_duplicate", event, own), ("event_rejected", refused, None)):
        found = named(lines, "services.meetings", event=name, event_id=sent["id"])
        assert len(found) == 1, found
        line = found[0]
        assert "source" not in line
        assert line["event_source"] == "urn:test:correlation"
        assert line["event_type"] == "org.unit.upserted.v1"
        assert line["correlation_id"] == (correlation_id or line["correlation_id"]) and line["correlation_id"]


@pytest.mark.parametrize("second", ["another", "none"])
async def test_a_batch_naming_several_ids_or_none_is_followed_by_the_requests_and_each_event_by_its_own(
    gateway: tuple[Any, str], bus: Feed, lines: pytest.LogCaptureFixture, second: str
) -> None:
    """The id a body's events all name is found by meetings' one reading of it (the gateway no longer parses it):
    a batch whose events name two ids, or one none, is followed by the request's own on the request's lines, each
    event by its own (or the request's) on its `event_accepted` line."""
    app, token = gateway
    first = unit(correlationid=random_id("own"))
    other = unit(correlationid=random_id("other")) if second == "another" else unit()
    response = await post(app, token, [first, other])
    assert [result["outcome"] for result in response.json()["results"]] == ["accepted", "accepted"]
    request_id = response.headers["x-correlation-id"]

    gateway_lines = {line["event"] for line in named(lines, "services.gateway", correlation_id=request_id)}
    assert gateway_lines >= {"http_request", "events_forwarded"}
    meetings_lines = {line["event"] for line in named(lines, "services.meetings", correlation_id=request_id)}
    assert meetings_lines >= REQUEST_LINES
    for sent in (first, other):
        accepted = named(lines, "services.meetings", event="event_accepted", event_id=sent["id"])
        assert [line["correlation_id"] for line in accepted] == [sent.get("correlationid", request_id)]


@pytest.mark.parametrize("named", [["c-1"], {"id": "c-1"}], ids=["a-list", "an-object"])
async def test_a_correlationid_that_is_not_text_is_refused_not_a_server_error(
    gateway: tuple[Any, str], bus: Feed, named: Any
) -> None:
    """The gateway put every event's `correlationid` in a set to find the one they name: a list answered 500
    (unhashable) and nothing was stored. It is now each event's refusal naming `correlationid`, as on AMQP."""
    first, second = unit(correlationid=named), unit(correlationid=named)
    response = await post(app=gateway[0], token=gateway[1], body=[first, second])
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(result["outcome"], result["field"]) for result in results] == [("rejected", "correlationid")] * 2
