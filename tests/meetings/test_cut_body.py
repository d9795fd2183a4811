"""A POST /v1/events body over the gateway's limit, through the real gateway (in-process) and the real meetings
service: the gateway's 413 as before, and ALSO a rejection naming `body` stored in PostgreSQL, published as
ingest.rejected.v1, listed for operators (API and web page), keeping a bounded prefix and marked as cut, so that
it is never replayed as if the prefix were the body (CONTRACT.md: a rejection is never silent).

The user trial: 999 valid events of about 9 KB each (9.18 MB) in one batch were refused by the gateway's
BodySizeLimit and nothing was kept at all."""

import argparse
import base64
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from services.gateway.auth import Role
from services.gateway.bootstrap import GatewayState
from services.gateway.main import create_app
from services.gateway.web.cli import create_web_account
from services.meetings.handlers.ingest import STORED_PREFIX
from shared.contracts import meetings_rpc as meetings
from shared.reading import body_over_limit
from shared.rpc import RpcClient
from tests.gateway.conftest import gateway_settings, issue_token
from tests.meetings.feed import Feed, feed
from tests.support.ids import random_id
from tests.support.rpc import ask, rpc_client
from tests.support.running import eventually

LIMIT = 8 * 1024 * 1024
"""The gateway's default body limit, as in the trial."""
BATCH = {"Content-Type": "application/cloudevents-batch+json"}
TOO_LARGE = {"code": "payload_too_large", "message": body_over_limit(LIMIT), "field": "body"}
PASSWORD = "mat-khau-van-hanh-2026"


@pytest.fixture(scope="module")
async def bus(amqp_url: str) -> AsyncIterator[Feed]:
    async with feed(amqp_url) as seen:
        yield seen


@pytest.fixture(scope="module")
async def gateway(
    meetings_service: str, amqp_url: str, database_url: str
) -> AsyncIterator[tuple[Any, GatewayState, dict[str, str]]]:
    """The real gateway app in its lifespan, talking to the real meetings; tokens of an integration account and of
    an operator, and the operator's web sign-in."""
    settings = gateway_settings(amqp_url, database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        state: GatewayState = app.state.gateway
        tokens = {}
        for role in (Role.INTEGRATION, Role.OPERATOR):
            tokens[role.value] = await issue_token(state, role)
        tokens["web"] = random_id("van-hanh")
        await create_web_account(
            settings,
            argparse.Namespace(
                sub=tokens["web"],
                role="operator",
                unit=None,
                person=None,
                password=PASSWORD,
                oidc_subject=None,
                oidc_email=None,
            ),
        )
        yield app, state, tokens


@pytest.fixture(scope="module")
async def rpc(meetings_service: str, amqp_url: str) -> AsyncIterator[RpcClient]:
    async with rpc_client(amqp_url) as client:
        yield client


def client_of(app: Any, address: str = "198.51.100.77") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 4711)), base_url="http://gateway", timeout=60
    )


def trial_batch(events: int = 999, size: int = 9190) -> bytes:
    """The trial's body: `events` valid unit events of about `size` bytes each."""
    items = []
    for _ in range(events):
        event: dict[str, Any] = {
            "specversion": "1.0",
            "id": random_id("evt"),
            "source": "urn:test:trial",
            "type": "org.unit.upserted.v1",
            "time": "2026-11-01T08:00:00+07:00",
            "data": {"id": random_id("cell"), "name": "Chi bộ thôn", "kind": "committee", "parent_id": None},
        }
        event["data"]["name"] += " " + "ấp" * ((size - len(json.dumps(event, ensure_ascii=False).encode())) // 4)
        items.append(event)
    return json.dumps(items, ensure_ascii=False).encode()


async def chunks(body: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def rejection_whose_raw_ends(db: asyncpg.Connection, suffix: str) -> asyncpg.Record:
    """The stored rejection whose raw text ends with `suffix`."""

    async def find() -> asyncpg.Record | None:
        return await db.fetchrow(
            "SELECT * FROM meetings.rejection WHERE right(raw, $2) = $1 ORDER BY received_at DESC LIMIT 1",
            suffix,
            len(suffix),
        )

    row = await eventually(find, timeout=60)
    assert row is not None
    return row


async def test_the_trials_batch_is_the_same_413_and_a_stored_published_rejection_naming_body(
    gateway: tuple[Any, GatewayState, dict[str, str]], bus: Feed, db: asyncpg.Connection
) -> None:
    app, _, tokens = gateway
    body = trial_batch()
    assert 9_000_000 < len(body) < 9_300_000
    async with client_of(app) as client:
        response = await client.post(
            "/v1/events", content=body, headers={"Authorization": f"Bearer {tokens['integration']}", **BATCH}
        )
        assert response.status_code == 413
        assert {key: response.json()[key] for key in TOO_LARGE} == TOO_LARGE

        # stored: its Content-Length said it all, so nothing of it was read; the size is kept, marked as cut
        row = await rejection_whose_raw_ends(db, f"… ({len(body)} bytes in all)")
        assert row["raw"] == f"… ({len(body)} bytes in all)"
        assert (row["field"], row["reason"], row["type"], row["route"], row["status"]) == (
            "body",
            TOO_LARGE["message"],
            "batch",
            "http-batch",  # a batch body is stored as come by the batch route (test_batch_route_names)
            "open",
        )
        rejection_id = str(row["rejection_id"])

        # published
        published = await eventually(lambda: bus.find("ingest.rejected.v1", subject=rejection_id), timeout=60)
        assert published is not None
        assert published["data"]["field"] == "body" and published["data"]["reason"] == TOO_LARGE["message"]

        # visible to operators
        operator = {"Authorization": f"Bearer {tokens['operator']}"}
        listed = await client.get("/v1/rejections", params={"type": "batch"}, headers=operator)
        assert listed.status_code == 200
        [item] = [item for item in listed.json()["items"] if item["rejection_id"] == rejection_id]
        assert item["field"] == "body" and item["reason"] == TOO_LARGE["message"]

        # not replayed as it was (only a prefix, here nothing, was kept), nor "corrected" into some other event
        replayed = await client.post(f"/v1/rejections/{rejection_id}/replay", headers=operator)
        assert replayed.status_code == 409 and replayed.json()["reason_code"] == "body_not_kept"
        first_event = json.loads(trial_batch(events=1))[0]
        corrected = await client.post(
            f"/v1/rejections/{rejection_id}/replay", json={"event": first_event}, headers=operator
        )
        assert corrected.status_code == 422 and corrected.json()["field"] == "event.source", corrected.text
        status = await db.fetchval("SELECT status FROM meetings.rejection WHERE rejection_id = $1", rejection_id)
        assert status == "open"

        # and on the operator's web page, said in Vietnamese
        form = await client.get("/app/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        signed = await client.post(
            "/app/sign-in",
            data={"username": tokens["web"], "password": PASSWORD, "csrf": csrf.group(1), "next": "/app/"},
        )
        assert signed.status_code == 303, signed.text
        page = await client.get("/app/operations", params={"rejections_offset": 0})
        assert page.status_code == 200
        assert "vượt quá giới hạn kích thước của cổng tiếp nhận" in page.text


async def test_a_streamed_body_keeps_only_a_bounded_prefix_and_an_anonymous_one_keeps_nothing(
    gateway: tuple[Any, GatewayState, dict[str, str]], bus: Feed, db: asyncpg.Connection
) -> None:
    app, _, tokens = gateway
    body = trial_batch()
    before = await db.fetchval("SELECT count(*) FROM meetings.rejection")
    async with client_of(app, "198.51.100.78") as client:
        anonymous = await client.post("/v1/events", content=chunks(body), headers=BATCH)
        assert anonymous.status_code == 401
        declared = await client.post("/v1/events", content=body, headers=BATCH)
        assert declared.status_code == 401
        assert await db.fetchval("SELECT count(*) FROM meetings.rejection") == before  # nothing stored for nobody

        streamed = await client.post(
            "/v1/events", content=chunks(body), headers={"Authorization": f"Bearer {tokens['integration']}", **BATCH}
        )
    assert streamed.status_code == 413
    assert {key: streamed.json()[key] for key in TOO_LARGE} == TOO_LARGE
    row = await rejection_whose_raw_ends(db, f"… (more than {LIMIT} bytes in all)")
    prefix = row["raw"].removesuffix(f"… (more than {LIMIT} bytes in all)")
    assert len(prefix) == STORED_PREFIX and body.decode().startswith(prefix)
    assert row["field"] == "body" and row["type"] == "batch"
    assert await eventually(lambda: bus.find("ingest.rejected.v1", subject=str(row["rejection_id"])), timeout=60)
    assert await db.fetchval("SELECT count(*) FROM meetings.rejection") == before + 1


async def test_meetings_keeps_no_more_than_its_prefix_of_what_the_gateway_sends_and_a_dry_run_nothing(
    rpc: RpcClient, db: asyncpg.Connection
) -> None:
    marker = random_id("cut")
    sent = (marker + "x" * 20_000).encode()
    dry = await ask(
        rpc,
        meetings.IngestBody(
            body_base64=base64.b64encode(sent).decode(),
            content_type="application/cloudevents+json",
            account="test",
            over_limit=LIMIT,
            dry_run=True,
        ),
    )
    assert dry["results"][0]["problem"] == "too_large"
    reply = await ask(
        rpc,
        meetings.IngestBody(
            body_base64=base64.b64encode(sent).decode(),
            content_type="application/cloudevents+json",
            account="test",
            over_limit=LIMIT,
            declared_size=9_000_000,
        ),
    )
    [result] = reply["results"]
    assert (result["outcome"], result["field"], result["problem"], result["type"]) == (
        "rejected",
        "body",
        "too_large",
        "",
    )
    [row] = await db.fetch("SELECT raw FROM meetings.rejection WHERE raw LIKE $1", f"{marker}%")
    assert row["raw"] == sent.decode()[:STORED_PREFIX] + "… (9000000 bytes in all)"


def huge_unit_event(event_id: str, source: str) -> dict[str, Any]:
    """One unit event whose data alone is over the gateway's limit."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": "org.unit.upserted.v1",
        "time": "2026-11-01T08:00:00+07:00",
        # a committee: the one kind of unit that may be a root (parent_id null)
        "data": {
            "id": random_id("xa"),
            "name": "Đảng ủy " + "x" * (LIMIT + 1024),
            "kind": "committee",
            "parent_id": None,
        },
    }


@pytest.mark.parametrize("mode", ["binary", "structured"])
async def test_a_cut_body_is_named_by_the_identity_its_headers_carry_in_binary_mode(
    gateway: tuple[Any, GatewayState, dict[str, str]], bus: Feed, db: asyncpg.Connection, mode: str
) -> None:
    """Binary mode says which event it is in its `ce-` headers, read whole although the body was cut: the stored
    rejection and ingest.rejected.v1 name that event, so its sender and the operator know which one to send again.
    A structured body cut at the limit never read, so nothing of it names it (no identity guessed from a prefix)."""
    app, _, tokens = gateway
    event = huge_unit_event(random_id("evt-cut"), f"urn:test:{random_id('feed')}")
    auth = {"Authorization": f"Bearer {tokens['integration']}"}
    if mode == "binary":
        attributes = {key: event[key] for key in ("specversion", "id", "source", "type", "time")}
        headers = {**auth, "Content-Type": "application/json", **{f"ce-{k}": v for k, v in attributes.items()}}
        body = json.dumps(event["data"]).encode()
    else:
        headers = {**auth, "Content-Type": "application/cloudevents+json"}
        body = json.dumps(event).encode()
    assert len(body) > LIMIT
    async with client_of(app, "198.51.100.79") as client:
        response = await client.post("/v1/events", content=body, headers=headers)
    assert response.status_code == 413
    assert {key: response.json()[key] for key in TOO_LARGE} == TOO_LARGE
    row = await rejection_whose_raw_ends(db, f"… ({len(body)} bytes in all)")
    assert (row["field"], row["reason"], row["route"]) == ("body", TOO_LARGE["message"], "http")
    if mode == "structured":
        assert (row["source"], row["event_id"], row["type"]) == ("", "", "")
        return
    assert (row["source"], row["event_id"], row["type"]) == (event["source"], event["id"], event["type"])
    published = await eventually(lambda: bus.find("ingest.rejected.v1", event_id=event["id"]), timeout=60)
    assert published is not None
    assert (published["data"]["source"], published["data"]["type"], published["data"]["field"]) == (
        event["source"],
        event["type"],
        "body",
    )
    # only a prefix was kept: not replayed as it was, but a correction of that very event may now replay it
    operator = {"Authorization": f"Bearer {tokens['operator']}"}
    corrected = {**event, "data": {**event["data"], "name": "Đảng ủy xã 5"}}
    async with client_of(app, "198.51.100.79") as client:
        refused = await client.post(f"/v1/rejections/{row['rejection_id']}/replay", headers=operator)
        assert refused.status_code == 409 and refused.json()["reason_code"] == "body_not_kept"
        replayed = await client.post(
            f"/v1/rejections/{row['rejection_id']}/replay", json={"event": corrected}, headers=operator
        )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["outcome"] == "accepted"


async def test_a_cut_binary_body_under_another_systems_source_cannot_unsettle_its_event(
    rpc: RpcClient, db: asyncpg.Connection
) -> None:
    """The identity a cut body's headers carry is judged as any event's: a scoped account's body under a source it
    has not registered is refused naming `source`, and the owner's event of that (source, id) stays a duplicate."""
    owner_source = f"urn:test:{random_id('member-db')}"
    real = {**huge_unit_event(random_id("evt-real"), owner_source)}
    real["data"] = {**real["data"], "name": "Đảng ủy tỉnh"}
    [accepted] = (await ask(rpc, meetings.Ingest(events=[real], account="province")))["results"]
    assert accepted["outcome"] == "accepted"
    headers = [("ce-specversion", "1.0"), ("ce-id", real["id"]), ("ce-source", owner_source)]
    headers += [("ce-type", real["type"]), ("ce-time", real["time"])]
    scope, own = random_id("xa"), f"urn:test:{random_id('xa-feed')}"
    reply = await ask(
        rpc,
        meetings.IngestBody(
            body_base64=base64.b64encode(b'{"id": "x", "name": "' + b"x" * 9000).decode(),
            content_type="application/json",
            headers=headers,
            account="integration-xa",
            scope=scope,
            sources=[own],
            over_limit=LIMIT,
        ),
    )
    [result] = reply["results"]
    assert (result["outcome"], result["field"], result["id"]) == ("rejected", "source", real["id"])
    [again] = (await ask(rpc, meetings.Ingest(events=[real], account="province")))["results"]
    assert again["outcome"] == "duplicate"
    # under its own source the cut body is named and stored as that event's rejection
    headers = [(name, own if name == "ce-source" else value) for name, value in headers]
    reply = await ask(
        rpc,
        meetings.IngestBody(
            body_base64=base64.b64encode(b"{}").decode(),
            content_type="application/json",
            headers=headers,
            account="integration-xa",
            scope=scope,
            sources=[own],
            over_limit=LIMIT,
            declared_size=LIMIT + 1,
        ),
    )
    [result] = reply["results"]
    assert (result["outcome"], result["field"], result["problem"]) == ("rejected", "body", "too_large")
    stored = await db.fetchrow(
        "SELECT type, field, scope, raw FROM meetings.rejection WHERE source = $1 AND event_id = $2", own, real["id"]
    )
    assert dict(stored) == {
        "type": real["type"],
        "field": "body",
        "scope": scope,
        "raw": f"{{}}… ({LIMIT + 1} bytes in all)",
    }
