"""Binary content mode on both routes (issue 15): the attributes as headers, `data` as the body, judged exactly like
the structured event they stand for: applied alike, deduplicated across modes, held, rejected naming the field."""

import json
import uuid
from typing import Any

import asyncpg
import httpx

from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from tests.partners import sdk
from tests.partners.scenario import SOURCE, Scenario
from tests.partners.wire import Tap, publish
from tests.support.running import eventually
from tests.support.system import RunningSystem

MEMBER_COLUMNS = "cell_id, full_name, status, role, admitted_on, exempt, email, version_time"


async def post(gateway: httpx.AsyncClient, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """POST /v1/events and the single outcome."""
    response = await gateway.post("/v1/events", content=body, headers=headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 1
    return dict(results[0])


async def org_of(gateway: httpx.AsyncClient, scenario: Scenario) -> None:
    """The scenario's ward and cell, sent structured."""
    for event in scenario.events()[:2]:
        headers, body = sdk.http_structured(event)
        assert (await post(gateway, headers, body))["outcome"] == "accepted"


def member_event(scenario: Scenario, member_id: str, **data: Any) -> dict[str, Any]:
    """The issue's member.upserted.v1 for a member of the scenario's cell."""
    event = next(e for e in scenario.events() if e["type"] == "member.upserted.v1")
    return {**event, "id": f"evt-{uuid.uuid4().hex[:16]}", "data": {**event["data"], "id": member_id, **data}}


def same_apart_from_ids(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Two re-published events equal in everything but their own ids, the member id and when each was built.

    `time` is when meetings built the event (the second it applied the fact): two facts sent one after the
    other can be applied in different seconds on a loaded machine, so only its presence is compared."""
    assert first.get("time") and second.get("time")
    ignore = {"id", "originid", "causationid", "correlationid", "subject", "time"}
    a = {k: v for k, v in first.items() if k not in ignore} | {"data": {**first["data"], "id": None}}
    b = {k: v for k, v in second.items() if k not in ignore} | {"data": {**second["data"], "id": None}}
    return a == b


async def test_the_issues_binary_request_is_accepted_and_applied_as_its_structured_twin_over_http(
    gateway: httpx.AsyncClient, meetings_db: asyncpg.Connection, events_out: Tap
) -> None:
    scenario = Scenario()
    await org_of(gateway, scenario)
    binary = member_event(scenario, "mem-bin-" + scenario.tag)
    twin = member_event(scenario, "mem-str-" + scenario.tag)

    headers, body = sdk.http_binary(binary)
    assert {"ce-id", "ce-specversion", "ce-type", "ce-source", "ce-time"} <= set(headers)
    assert headers["content-type"] == "application/json" and json.loads(body) == binary["data"]
    assert (await post(gateway, headers, body))["outcome"] == "accepted"
    assert (await post(gateway, *sdk.http_structured(twin)))["outcome"] == "accepted"

    rows = await meetings_db.fetch(
        f"SELECT id, {MEMBER_COLUMNS} FROM member WHERE id = ANY($1::text[]) ORDER BY id",
        [binary["data"]["id"], twin["data"]["id"]],
    )
    assert len(rows) == 2
    assert {k: v for k, v in rows[0].items() if k != "id"} == {k: v for k, v in rows[1].items() if k != "id"}

    from_binary = await eventually(lambda: events_out.originating(SOURCE, binary["id"]), timeout=90)
    from_twin = await eventually(lambda: events_out.originating(SOURCE, twin["id"]), timeout=90)
    assert same_apart_from_ids(from_binary[0], from_twin[0])

    # (source, id) is one event whichever mode carries it.
    assert (await post(gateway, *sdk.http_structured(binary)))["outcome"] == "duplicate"
    assert (await post(gateway, *sdk.http_binary(twin)))["outcome"] == "duplicate"


async def test_binary_messages_on_chibo_ingest_are_applied_with_every_binding_prefix(
    system: RunningSystem, gateway: httpx.AsyncClient, meetings_db: asyncpg.Connection, events_out: Tap
) -> None:
    scenario = Scenario()
    await org_of(gateway, scenario)
    amqp_url = system.env["CHIBO_AMQP_URL"]
    rabbit = member_event(scenario, "mem-rmq-" + scenario.tag)
    message = sdk.rabbitmq_binary(rabbit)
    await publish(
        amqp_url, message.body, routing_key=rabbit["type"], content_type=message.content_type, headers=message.headers
    )
    underscore = member_event(scenario, "mem-amqp-" + scenario.tag)
    properties, content_type, body = sdk.amqp_binary(underscore)
    assert "cloudEvents_id" in properties and isinstance(properties["cloudEvents_time"], int)
    await publish(amqp_url, body, routing_key=underscore["type"], content_type=content_type, headers=properties)
    colon = member_event(scenario, "mem-colon-" + scenario.tag)
    colon_headers = {f"cloudEvents:{k}": v for k, v in colon.items() if k not in ("data", "datacontenttype")}
    await publish(
        amqp_url,
        json.dumps(colon["data"]).encode(),
        routing_key=colon["type"],
        content_type="application/json",
        headers=colon_headers,
    )
    twin = member_event(scenario, "mem-str-" + scenario.tag)
    structured = sdk.rabbitmq_structured(twin)
    await publish(amqp_url, structured.body, routing_key=twin["type"], content_type=structured.content_type)

    ids = [e["data"]["id"] for e in (rabbit, underscore, colon, twin)]

    async def stored() -> list[asyncpg.Record] | None:
        rows = await meetings_db.fetch(f"SELECT id, {MEMBER_COLUMNS} FROM member WHERE id = ANY($1::text[])", ids)
        return rows if len(rows) == 4 else None

    rows = {row["id"]: {k: v for k, v in row.items() if k != "id"} for row in await eventually(stored, timeout=90)}
    assert rows[ids[0]] == rows[ids[1]] == rows[ids[2]] == rows[ids[3]]
    for event in (rabbit, underscore, colon):
        copies = await eventually(lambda e=event: events_out.originating(SOURCE, e["id"]), timeout=90)
        twins = await eventually(lambda: events_out.originating(SOURCE, twin["id"]), timeout=90)
        assert same_apart_from_ids(copies[0], twins[0])

    # The same (source, id) in the other mode over HTTP is a duplicate.
    assert (await post(gateway, *sdk.http_structured(rabbit)))["outcome"] == "duplicate"


async def test_a_binary_event_waiting_for_its_cell_is_held_then_applied(
    gateway: httpx.AsyncClient, meetings_db: asyncpg.Connection
) -> None:
    scenario = Scenario()
    early = member_event(scenario, "mem-early-" + scenario.tag)
    held = await post(gateway, *sdk.http_binary(early))
    assert held["outcome"] == "held" and scenario.cell in (held["reason"] or "")
    await org_of(gateway, scenario)
    row = await meetings_db.fetchrow("SELECT cell_id FROM member WHERE id = $1", early["data"]["id"])
    assert row is not None and row["cell_id"] == scenario.cell


async def test_an_invalid_binary_event_is_rejected_naming_the_field_like_its_structured_twin(
    system: RunningSystem, gateway: httpx.AsyncClient, events_out: Tap
) -> None:
    scenario = Scenario()
    await org_of(gateway, scenario)
    bad = member_event(scenario, "mem-bad-" + scenario.tag, status="honorary")
    binary = await post(gateway, *sdk.http_binary(bad))
    structured = await post(gateway, *sdk.http_structured({**bad, "id": bad["id"] + "-s"}))
    assert binary["outcome"] == structured["outcome"] == "rejected"
    assert binary["field"] == structured["field"] == "data.status"
    assert binary["reason"] == structured["reason"]

    no_time = member_event(scenario, "mem-notime-" + scenario.tag)
    headers, body = sdk.http_binary(no_time)
    headers.pop("ce-time")
    assert (await post(gateway, headers, body))["field"] == "time"

    over_amqp = member_event(scenario, "mem-badq-" + scenario.tag, status="honorary")
    message = sdk.rabbitmq_binary(over_amqp)
    await publish(
        system.env["CHIBO_AMQP_URL"],
        message.body,
        routing_key=over_amqp["type"],
        content_type=message.content_type,
        headers=message.headers,
    )
    rejection = await eventually(lambda: events_out.rejection_of(over_amqp["id"]), timeout=90)
    assert rejection["data"]["field"] == "data.status" and rejection["data"]["source"] == SOURCE

    not_json = member_event(scenario, "mem-notjson-" + scenario.tag)
    headers, _ = sdk.http_binary(not_json)
    answer = await post(gateway, headers, b"{not json")
    assert answer["outcome"] == "rejected" and answer["field"] == "data" and answer["id"] == not_json["id"]

    # an attribute header that cannot be read: refused with 422 naming it, and kept for operators like any refusal
    garbled = member_event(scenario, "mem-garbled-" + scenario.tag)
    headers, body = sdk.http_binary(garbled)
    garbled_subject = [(key, value) for key, value in headers.items() if key != "ce-subject"]
    twice = [*headers.items(), ("ce-id", headers["ce-id"] + "-2")]
    for sent, name, say in (
        ([*garbled_subject, ("ce-subject", "%ZZ%C3")], "subject", "percent-encoding is malformed"),
        (twice, "id", "given more than once"),
    ):
        response = await gateway.post("/v1/events", content=body, headers=sent)
        assert response.status_code == 422, response.text
        assert say in response.text and f'"field":"{name}"' in response.text.replace(" ", ""), response.text


async def test_a_message_in_neither_mode_is_rejected_naming_its_content_type_and_the_modes_read(
    system: RunningSystem, gateway: httpx.AsyncClient, events_out: Tap
) -> None:
    """A content type no mode reads is named (`datacontenttype`, trial 16 #10: it was `specversion`, as if an
    attribute were missing), with the content types and headers that are read, on both routes."""
    plain = f"text/x-partner-{uuid.uuid4().hex[:8]}"
    response = await gateway.post("/v1/events", content=b"hello", headers={"Content-Type": plain})
    assert response.status_code == 415
    error = response.json()
    assert error["field"] == "datacontenttype"
    for words in (
        f"the content type '{plain}' is no CloudEvents content type",
        "ce-specversion",
        CLOUDEVENT_CONTENT_TYPE,
    ):
        assert words in error["message"], error["message"]
    assert "cloudEvents_" not in error["message"]  # HTTP has only the ce- prefix

    def rejected_over_http() -> dict[str, Any] | None:
        return next(
            (e for e in events_out.events() if e["type"] == "ingest.rejected.v1" and plain in e["data"]["reason"]),
            None,
        )

    stored = await eventually(rejected_over_http, timeout=90)  # never silent: stored and published on both routes
    assert stored["data"]["field"] == "datacontenttype" and stored["data"]["reason"] == error["message"]

    other = f"text/x-partner-{uuid.uuid4().hex[:8]}"
    await publish(system.env["CHIBO_AMQP_URL"], b"hello", routing_key="member.upserted.v1", content_type=other)

    def rejected() -> dict[str, Any] | None:
        return next(
            (e for e in events_out.events() if e["type"] == "ingest.rejected.v1" and other in e["data"]["reason"]),
            None,
        )

    rejection = await eventually(rejected, timeout=90)
    assert rejection["data"]["field"] == "datacontenttype"
    assert "ce-specversion" in rejection["data"]["reason"] and "cloudEvents:" in rejection["data"]["reason"]


async def test_a_datacontenttype_header_is_refused_naming_it_on_both_routes(
    system: RunningSystem, gateway: httpx.AsyncClient, events_out: Tap
) -> None:
    """A trial's `ce-datacontenttype: text/plain` beside `Content-Type: application/json` was accepted silently over
    HTTP: datacontenttype travels in the content type, so the header is refused naming `datacontenttype` (422), and
    the AMQP binding's `cloudEvents:datacontenttype` beside the `content_type` property alike (stored, published)."""
    scenario = Scenario()
    await org_of(gateway, scenario)
    over_http = member_event(scenario, "mem-dct-http-" + scenario.tag)
    headers, body = sdk.http_binary(over_http)
    response = await gateway.post("/v1/events", content=body, headers={**headers, "ce-datacontenttype": "text/plain"})
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["field"] == "datacontenttype", error
    assert "in binary mode it travels in the message's content type" in error["message"], error

    over_amqp = member_event(scenario, "mem-dct-amqp-" + scenario.tag)
    attributes = {f"cloudEvents:{k}": v for k, v in over_amqp.items() if k != "data"}  # datacontenttype among them
    await publish(
        system.env["CHIBO_AMQP_URL"],
        json.dumps(over_amqp["data"]).encode(),
        routing_key=over_amqp["type"],
        content_type="application/json",
        headers=attributes,
    )

    def rejected() -> dict[str, Any] | None:
        return next(
            (
                e
                for e in events_out.events()
                if e["type"] == "ingest.rejected.v1" and e["data"]["event_id"] == over_amqp["id"]
            ),
            None,
        )

    rejection = await eventually(rejected, timeout=90)
    assert rejection["data"]["field"] == "datacontenttype", rejection
    assert "cloudEvents:datacontenttype" in rejection["data"]["reason"], rejection
