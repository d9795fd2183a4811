"""A POST /v1/events body over the gateway's limit: the same 413 as ever, and a rejection meetings stores (here the
stand-in records what it was sent), with no more than the limit read and only a bounded prefix kept.

The user trial: 999 valid events of about 9 KB each (9.18 MB) were answered 413 by BodySizeLimit and nothing was
kept, no rejection, nothing for the operator, against CONTRACT.md's "a rejection is never silent". An anonymous or
non-integration caller still gets 401/403 and nothing is stored for it."""

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from services.gateway.auth import Role
from services.gateway.bootstrap import GatewayState
from services.gateway.limits import BodySizeLimit, body_cut
from services.gateway.main import create_app
from services.gateway.web.reasons import explain_dead_letter, explain_rejection
from shared.contracts.meetings_rpc import CUT_BODY_KEPT
from shared.reading import MAX_EVENT_BYTES, body_over_limit
from tests.gateway.conftest import gateway_settings, issue_token
from tests.gateway.fakes import FakeServices, World
from tests.support.ids import random_id

LIMIT = 64 * 1024
"""The gateway's body limit here: above CUT_BODY_KEPT, so the prefix bound is not the limit's."""
BATCH = {"Content-Type": "application/cloudevents-batch+json"}
TOO_LARGE = {"code": "payload_too_large", "message": body_over_limit(LIMIT), "field": "body"}


@pytest.fixture(scope="module")
async def gateway(amqp_url: str, database_url: str, fakes: FakeServices) -> AsyncIterator[tuple[Any, GatewayState]]:
    """A gateway whose body limit is LIMIT, talking to the stand-ins."""
    app = create_app(gateway_settings(amqp_url, database_url, max_body_bytes=LIMIT))
    async with app.router.lifespan_context(app):
        yield app, app.state.gateway


@pytest.fixture(scope="module")
async def tokens(gateway: tuple[Any, GatewayState], world: World) -> dict[str, str]:
    """Bearer headers' tokens of a province-wide integration account and of an operator."""
    _, state = gateway
    issued = {}
    for role in (Role.INTEGRATION, Role.OPERATOR):
        issued[role.value] = await issue_token(state, role)
    return issued


def client_of(gateway: tuple[Any, GatewayState], address: str) -> httpx.AsyncClient:
    app, _ = gateway
    transport = httpx.ASGITransport(app=app, client=(address, 4711))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=30)


def big_batch(world: World, *, events: int, padding: int) -> bytes:
    """`events` valid unit events, each about `padding` bytes, as one batch (the trial's shape, smaller)."""
    return json.dumps(
        [
            {
                "specversion": "1.0",
                "id": random_id("evt"),
                "source": "urn:test:member-db",
                "type": "org.unit.upserted.v1",
                "time": "2026-11-01T08:00:00+07:00",
                "data": {
                    "id": random_id("cell"),
                    "name": "Chi bộ thôn " + "x" * padding,
                    "kind": "cell",
                    "parent_id": world.ward_a,
                },
            }
            for _ in range(events)
        ],
        ensure_ascii=False,
    ).encode()


class Chunks:
    """A request body streamed without a Content-Length, counting how much of it the gateway pulled."""

    def __init__(self, body: bytes, size: int = 4096) -> None:
        self.body = body
        self.size = size
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), self.size):
            chunk = self.body[start : start + self.size]
            self.pulled += len(chunk)
            yield chunk


async def test_a_body_declared_over_the_limit_is_the_same_413_and_a_stored_rejection_of_nothing_read(
    gateway: tuple[Any, GatewayState], tokens: dict[str, str], world: World
) -> None:
    body = big_batch(world, events=20, padding=4000)
    assert len(body) > LIMIT
    before = len(world.rejected)
    async with client_of(gateway, "198.51.100.31") as client:
        response = await client.post(
            "/v1/events", content=body, headers={"Authorization": f"Bearer {tokens['integration']}", **BATCH}
        )
    assert response.status_code == 413
    assert {key: response.json()[key] for key in TOO_LARGE} == TOO_LARGE
    [stored] = world.rejected[before:]
    assert stored == {
        "type": "batch",
        "reason": body_over_limit(LIMIT),
        "field": "body",
        "kept": b"",  # its Content-Length said it all: not a byte of it was read
        "declared": len(body),
    }
    _, state = gateway
    audited = await state.pool.fetchrow(
        "SELECT sub, status, detail FROM audit_log WHERE client_ip = '198.51.100.31' ORDER BY id DESC LIMIT 1"
    )
    assert audited["status"] == 413 and audited["sub"].startswith("integration")
    assert json.loads(audited["detail"])["declared_size"] == len(body)


async def test_a_streamed_body_is_read_only_up_to_the_limit_and_only_its_prefix_is_kept(
    gateway: tuple[Any, GatewayState], tokens: dict[str, str], world: World
) -> None:
    body = big_batch(world, events=60, padding=4000)
    chunks = Chunks(body)
    before = len(world.rejected)
    async with client_of(gateway, "198.51.100.32") as client:
        response = await client.post(
            "/v1/events", content=chunks, headers={"Authorization": f"Bearer {tokens['integration']}", **BATCH}
        )
    assert response.status_code == 413
    assert {key: response.json()[key] for key in TOO_LARGE} == TOO_LARGE
    # the chunk that crossed the limit was the last one pulled: the rest of the body was never read
    assert LIMIT < chunks.pulled <= LIMIT + chunks.size < len(body)
    [stored] = world.rejected[before:]
    assert stored["field"] == "body" and stored["type"] == "batch" and stored["declared"] is None
    assert stored["kept"] == body[:CUT_BODY_KEPT]  # a bounded prefix, never the limit's worth


async def test_a_dry_run_of_a_body_over_the_limit_is_the_413_and_keeps_nothing(
    gateway: tuple[Any, GatewayState], tokens: dict[str, str], world: World
) -> None:
    body = big_batch(world, events=20, padding=4000)
    before = len(world.rejected)
    async with client_of(gateway, "198.51.100.33") as client:
        response = await client.post(
            "/v1/events?dry_run=true",
            content=body,
            headers={"Authorization": f"Bearer {tokens['integration']}", **BATCH},
        )
    assert response.status_code == 413 and response.json()["message"] == TOO_LARGE["message"]
    assert world.rejected[before:] == []


@pytest.mark.parametrize("streamed", [False, True])
async def test_anonymous_and_non_integration_callers_get_401_or_403_and_nothing_is_stored(
    gateway: tuple[Any, GatewayState], tokens: dict[str, str], world: World, streamed: bool
) -> None:
    body = big_batch(world, events=20, padding=4000)
    before = len(world.rejected)
    callers = {
        "anonymous": ({}, 401),
        "bad token": ({"Authorization": f"Bearer {secrets.token_urlsafe(40)}"}, 401),
        "operator": ({"Authorization": f"Bearer {tokens['operator']}"}, 403),
    }
    async with client_of(gateway, f"198.51.100.{34 + streamed}") as client:
        for who, (auth, status) in callers.items():
            chunks = Chunks(body)
            response = await client.post("/v1/events", content=chunks if streamed else body, headers={**auth, **BATCH})
            assert response.status_code == status, (who, response.text)
            assert chunks.pulled <= chunks.size, who  # refused before its body was read
    assert world.rejected[before:] == []


async def test_other_routes_still_refuse_a_body_over_the_limit_before_anything_else(
    gateway: tuple[Any, GatewayState], world: World
) -> None:
    before = len(world.rejected)
    async with client_of(gateway, "198.51.100.36") as client:
        response = await client.post(
            "/v1/accounts", content=b"{" + b" " * LIMIT + b"}", headers={"Content-Type": "application/json"}
        )
    # no batch to split here: the plain limit
    assert response.status_code == 413 and response.json()["message"] == f"body: larger than {LIMIT} bytes"
    assert world.rejected[before:] == []


async def test_a_route_that_answers_a_cut_body_as_whole_still_sends_the_413() -> None:
    """The middleware's guard: a reported route must never take the part it was handed for the whole body."""
    seen: list[tuple[int, Any]] = []

    async def careless(scope: Scope, receive: Receive, send: Send) -> None:
        size = 0
        while True:
            message: Message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        seen.append((size, body_cut(scope)))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = BodySizeLimit(careless, max_bytes=1000, reported_by_route=frozenset({"/v1/events"}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        declared = await client.post("/v1/events", content=b"x" * 5000)
        streamed = await client.post("/v1/events", content=Chunks(b"x" * 5000, size=300))
        whole = await client.post("/v1/events", content=b"x" * 1000)
    assert [declared.status_code, streamed.status_code, whole.status_code] == [413, 413, 200]
    assert declared.json()["message"] == body_over_limit(1000)
    assert "split the batch" in declared.json()["message"]
    assert [(size, cut.declared if cut else "whole") for size, cut in seen] == [
        (0, 5000),
        (1000, None),
        (1000, "whole"),
    ]


def test_the_operator_reads_a_cut_body_s_rejection_in_vietnamese() -> None:
    for reason in ("body: larger than 8388608 bytes", body_over_limit(8388608)):  # as stored before, and now
        said = explain_rejection(reason, "body")
        assert "vượt quá giới hạn kích thước của cổng tiếp nhận" in said and "1 MiB" not in said
    assert "1 MiB" in explain_rejection("body: larger than 1048576 bytes (1200000 bytes)", "body")


def test_an_event_over_the_per_event_limit_is_said_as_that_limit_not_the_gateways() -> None:
    """A trial's dead letter of an oversized event (cause `body: larger than 1048576 bytes`, the per-event limit as
    shared.reading writes it) was glossed as the gateway's limit for one request: it names the event's 1 MiB."""
    for cause in (
        f"body: larger than {MAX_EVENT_BYTES} bytes",
        f"body: larger than {MAX_EVENT_BYTES} bytes (1153434 bytes)",
    ):
        for said in (explain_rejection(cause, "body"), explain_dead_letter(cause) or ""):
            assert "1 MiB" in said and "cổng tiếp nhận" not in said, (cause, said)
