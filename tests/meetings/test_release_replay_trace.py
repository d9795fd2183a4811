"""Events applied through a release (a held event whose unit arrived) or an operator's replay leave a trace
(docs/operations.md): one `event_accepted` line each, naming how it came (`route`: `release`, `replay`), and a
`chibo_ingest_events_total` sample under that route. A trial found neither: an operator searching a released
event's id found only its `event_held`, and the metric had no `replay` series though its help text lists it. A replay
releasing many held events answered 503 after the RPC timeout though it succeeded, and its audit row said 503: the
release now runs after the replay commits, the answer says how many are being released, and the audit row and the
`operator_action` line say what happened. Real gateway (in-process), real meetings, real broker and database."""

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from services.gateway.auth import Role
from services.gateway.bootstrap import GatewayState
from services.gateway.main import create_app
from tests.gateway.conftest import gateway_settings, issue_token
from tests.meetings import events as ev
from tests.support.delivery_paths import metric_total, metrics_text
from tests.support.ids import random_id
from tests.support.logs import route_logs_to_stdlib, structured_logs
from tests.support.running import eventually

BATCH = {"Content-Type": "application/cloudevents-batch+json"}
MANY = 1000
"""How many held events the large replay releases: the trial's ~1,000."""
SHORT_RPC_TIMEOUT = 1.0
"""The gateway's RPC timeout for the large replay, the trial's 25 s scaled down: judging MANY held events inside the
replay took 1.6 s here (a 503), marking them for after it 0.1-0.3 s."""


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    route_logs_to_stdlib(caplog)
    caplog.set_level(logging.INFO)
    return caplog


async def _gateway(amqp_url: str, database_url: str, **overrides: Any) -> AsyncIterator[tuple[Any, str, str]]:
    app = create_app(gateway_settings(amqp_url, database_url, **overrides))
    async with app.router.lifespan_context(app):
        state: GatewayState = app.state.gateway
        yield app, await issue_token(state, Role.INTEGRATION), await issue_token(state, Role.OPERATOR)


@pytest.fixture(scope="module")
async def gateway(meetings_service: str, amqp_url: str, database_url: str) -> AsyncIterator[tuple[Any, str, str]]:
    """The real gateway app talking to the real meetings; an integration account's token and an operator's."""
    async for served in _gateway(amqp_url, database_url):
        yield served


@pytest.fixture
async def hasty_gateway(meetings_service: str, amqp_url: str, database_url: str) -> AsyncIterator[tuple[Any, str, str]]:
    """The same, with an RPC timeout shorter than the inline release of MANY held events took."""
    async for served in _gateway(amqp_url, database_url, rpc_timeout=SHORT_RPC_TIMEOUT):
        yield served


async def call(app: Any, token: str, method: str, path: str, body: Any = None, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.79", 4712))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=120) as client:
        return await client.request(
            method,
            path,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers},
            content=json.dumps(body),
        )


async def post_events(app: Any, token: str, events: list[dict[str, Any]]) -> list[str]:
    response = await call(app, token, "POST", "/v1/events", events, **BATCH)
    assert response.status_code < 500, response.text
    return [result["outcome"] for result in response.json()["results"]]


def accepted_lines(caplog: pytest.LogCaptureFixture, event_id: str) -> list[dict[str, Any]]:
    return [
        line
        for line in structured_logs(caplog)
        if line["event"] == "event_accepted" and line.get("event_id") == event_id
    ]


def ingested(text: str, route: str, event_type: str, outcome: str = "accepted") -> float:
    return metric_total(text, "chibo_ingest_events_total", route=route, type=event_type, outcome=outcome)


async def rejection_of(database_url: str, event_id: str) -> str:
    connection = await asyncpg.connect(database_url)
    try:
        found = await connection.fetchval("SELECT rejection_id FROM meetings.rejection WHERE event_id = $1", event_id)
    finally:
        await connection.close()
    assert isinstance(found, str)
    return found


async def audit_rows(database_url: str, path: str) -> list[tuple[int, dict[str, Any]]]:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch("SELECT status, detail FROM gateway.audit_log WHERE path = $1", path)
    finally:
        await connection.close()
    return [(row["status"], json.loads(row["detail"]) if row["detail"] else {}) for row in rows]


async def held_count(database_url: str, event_ids: list[str]) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM meetings.held_event WHERE event_id = ANY($1::text[])", event_ids
        )
    finally:
        await connection.close()
    return int(count)


def assert_traced(caplog: pytest.LogCaptureFixture, event: dict[str, Any], route: str) -> None:
    found = accepted_lines(caplog, event["id"])
    assert len(found) == 1, found
    [line] = found
    assert line["route"] == route
    assert line["event_type"] == event["type"] and line["event_source"] == event["source"]
    assert line.get("correlation_id") and line.get("service")


async def test_held_events_released_by_their_unit_are_logged_and_counted_as_released(
    gateway: tuple[Any, str, str], meetings_service: str, lines: pytest.LogCaptureFixture
) -> None:
    app, token, _ = gateway
    cell = random_id("cell")
    members = [ev.member(random_id("mem"), cell) for _ in range(3)]
    before = await metrics_text(meetings_service)
    assert await post_events(app, token, members) == ["held"] * 3
    assert await post_events(app, token, [ev.unit(cell)]) == ["accepted"]

    for member in members:
        assert_traced(lines, member, "release")
    after = await metrics_text(meetings_service)
    released = ingested(after, "release", "member.upserted.v1") - ingested(before, "release", "member.upserted.v1")
    assert released == 3


@pytest.mark.parametrize("corrected", [True, False], ids=["corrected", "as-is"])
async def test_an_event_applied_by_a_replay_is_logged_and_counted_as_replayed_with_what_it_released(
    gateway: tuple[Any, str, str],
    meetings_service: str,
    database_url: str,
    lines: pytest.LogCaptureFixture,
    corrected: bool,
) -> None:
    app, token, operator = gateway
    cell = random_id("cell")
    unit = ev.unit(cell)
    refused = {**unit, "data": {**unit["data"], "name": ""}}  # refused for its name
    members = [ev.member(random_id("mem"), cell) for _ in range(2)]
    if corrected:
        assert await post_events(app, token, [refused, *members]) == ["rejected", "held", "held"]
        replayed, body = unit, {"event": unit}
    else:  # a held unit an operator dropped (a stored rejection), replayed as it was once its parent exists
        parent = random_id("cmt")
        replayed = ev.unit(cell, parent_id=parent)
        assert await post_events(app, token, [replayed, *members]) == ["held"] * 3
        drop = {"source": replayed["source"], "event_id": replayed["id"], "reason": "thử lại sau"}
        assert (await call(app, operator, "POST", "/v1/held-events/drop", drop)).status_code == 200
        assert await post_events(app, token, [ev.unit(parent, kind="committee")]) == ["accepted"]
        body = {}
    rejection = await rejection_of(database_url, replayed["id"])
    before = await metrics_text(meetings_service)

    response = await call(app, operator, "POST", f"/v1/rejections/{rejection}/replay", body)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "accepted"

    assert_traced(lines, replayed, "replay")
    await eventually(lambda: all(accepted_lines(lines, member["id"]) for member in members))
    for member in members:
        assert_traced(lines, member, "release")
    after = await metrics_text(meetings_service)
    unit_type, member_type = "org.unit.upserted.v1", "member.upserted.v1"
    assert ingested(after, "replay", unit_type) - ingested(before, "replay", unit_type) == 1
    assert ingested(after, "release", member_type) - ingested(before, "release", member_type) == 2
    actions = [line for line in structured_logs(lines) if line["event"] == "operator_action"]
    assert [line for line in actions if line.get("rejection_id") == rejection and line.get("outcome") == "accepted"]


async def test_a_replay_releasing_many_held_events_answers_in_time_and_its_audit_says_what_happened(
    hasty_gateway: tuple[Any, str, str],
    meetings_service: str,
    database_url: str,
    lines: pytest.LogCaptureFixture,
) -> None:
    app, token, operator = hasty_gateway
    cell = random_id("cell")
    unit = ev.unit(cell)
    refused = {**unit, "data": {**unit["data"], "name": ""}}
    members = [ev.member(random_id("mem"), cell) for _ in range(MANY)]
    assert await post_events(app, token, [refused]) == ["rejected"]
    for start in range(0, MANY, 500):
        assert set(await post_events(app, token, members[start : start + 500])) == {"held"}
    rejection = await rejection_of(database_url, unit["id"])
    path = f"/v1/rejections/{rejection}/replay"

    response = await call(app, operator, "POST", path, {"event": unit})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["outcome"] == "accepted"
    assert answer["releasing"] == MANY

    # the audit row and the operator's log line say what happened, as the answer does
    [(status, detail)] = await audit_rows(database_url, path)
    assert status == 200
    assert detail["outcome"] == "accepted" and detail["releasing"] == MANY
    [action] = [
        line
        for line in structured_logs(lines)
        if line["event"] == "operator_action" and line.get("rejection_id") == rejection
    ]
    assert action["outcome"] == "accepted" and action["releasing"] == MANY

    # and the release it announced happens: every held member applied, each traced
    ids = [member["id"] for member in members]
    await eventually(lambda: _none_held(database_url, ids), timeout=180)
    await eventually(lambda: all(accepted_lines(lines, event_id) for event_id in ids), timeout=60)
    assert all(accepted_lines(lines, event_id)[0]["route"] == "release" for event_id in ids)


async def _none_held(database_url: str, ids: list[str]) -> bool:
    return await held_count(database_url, ids) == 0
