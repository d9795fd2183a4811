"""POST /v1/events: one event or a batch forwarded to meetings, each event's outcome answered."""

import json

import httpx

from services.gateway.bootstrap import GatewayState
from shared.contracts.ingest_answer import ingest_answer
from tests.gateway.fakes import World
from tests.support.ids import random_id

SINGLE = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


def unit_event(world: World, **overrides: object) -> dict:
    return {
        "specversion": "1.0",
        "id": random_id("evt"),
        "source": "urn:test:member-db",
        "type": "org.unit.upserted.v1",
        "time": "2026-11-01T08:00:00+07:00",
        "data": {"id": random_id("cell"), "name": "Chi bộ thôn 4", "kind": "cell", "parent_id": world.ward_a},
        **overrides,
    }


async def test_an_integration_posts_one_event_and_it_is_accepted_then_duplicate(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    event = unit_event(world)
    first = await client.post("/v1/events", content=json.dumps(event), headers={**headers["integration"], **SINGLE})
    assert first.status_code == 200, first.text
    assert first.json()["results"] == [
        {
            "index": 0,
            "id": event["id"],
            "source": event["source"],
            "type": event["type"],
            "outcome": "accepted",
            "reason": None,
            "field": None,
            "waiting_for": None,
            "reason_code": None,
            "ignored_fields": None,
            "warnings": None,
        }
    ]
    again = await client.post("/v1/events", content=json.dumps(event), headers={**headers["integration"], **SINGLE})
    assert again.json()["results"][0]["outcome"] == "duplicate"
    assert again.json()["duplicate"] == 1
    assert event in world.ingested


async def test_a_batch_answers_each_event_and_one_bad_event_rejects_only_itself(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    good = unit_event(world)
    bad = unit_event(world, data={"id": random_id("cell"), "kind": "cell", "parent_id": None})
    held = {
        **unit_event(world),
        "type": "attendance.recorded.v1",
        "data": {"meeting_id": random_id("mtg"), "records": []},
    }
    response = await client.post(
        "/v1/events", content=json.dumps([good, bad, held]), headers={**headers["integration"], **BATCH}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["outcome"] for item in body["results"]] == ["accepted", "rejected", "held"]
    assert body["results"][1]["field"] == "data.name"
    assert (body["accepted"], body["rejected"], body["held"], body["duplicate"]) == (1, 1, 1, 0)


async def test_the_http_answer_is_the_body_a_chibo_ingest_message_is_replied(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """shared.contracts.ingest_answer builds both: the AMQP direct reply-to answer (services/meetings/consumers.py)
    from meetings' results, this route from the same results come by RPC; an unreadable body's error answer too."""
    good, bad = unit_event(world), unit_event(world, data={"id": random_id("cell"), "kind": "cell"})
    batch = await client.post(
        "/v1/events", content=json.dumps([good, bad]), headers={**headers["integration"], **BATCH}
    )
    assert batch.status_code == 200, batch.text
    assert batch.json() == ingest_answer(world.body_replies[-1]["results"])
    assert batch.json()["results"][1]["outcome"] == "rejected"
    broken = await client.post("/v1/events", content=b"{not json", headers={**headers["integration"], **SINGLE})
    assert broken.status_code == 400
    assert broken.json() == ingest_answer(world.body_replies[-1]["results"])


async def test_a_body_that_is_not_json_is_a_400_naming_the_body(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]]
) -> None:
    response = await client.post("/v1/events", content=b"{not json", headers={**headers["integration"], **SINGLE})
    assert response.status_code == 400
    assert response.json()["field"] == "body" and "JSON" in response.json()["message"]


async def test_a_batch_that_is_not_an_array_is_a_422(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    response = await client.post(
        "/v1/events", content=json.dumps(unit_event(world)), headers={**headers["integration"], **BATCH}
    )
    assert response.status_code == 422
    assert "array" in response.json()["message"]


async def test_a_single_event_that_is_not_an_object_is_a_422(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]]
) -> None:
    response = await client.post("/v1/events", content=b'"hello"', headers={**headers["integration"], **SINGLE})
    assert response.status_code == 422 and response.json()["field"] == "body"


async def test_a_batch_over_1000_events_is_refused_with_413(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    events = [unit_event(world) for _ in range(1001)]
    response = await client.post("/v1/events", content=json.dumps(events), headers={**headers["integration"], **BATCH})
    assert response.status_code == 413
    assert "1000" in response.json()["message"]


async def test_a_batch_of_exactly_1000_events_is_forwarded(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    events = [unit_event(world) for _ in range(1000)]
    response = await client.post("/v1/events", content=json.dumps(events), headers={**headers["integration"], **BATCH})
    assert response.status_code == 200
    assert response.json()["accepted"] == 1000


async def test_an_unknown_content_type_is_a_415(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    response = await client.post(
        "/v1/events",
        content=json.dumps(unit_event(world)),
        headers={**headers["integration"], "Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    # the content type is what is wrong (trial 16 #10), not a missing `specversion`
    assert response.json()["field"] == "datacontenttype" and "'text/plain'" in response.json()["message"]
    assert "ce-specversion" in response.json()["message"]
    assert world.rejected[-1]["field"] == "datacontenttype"  # stored by meetings like any rejection


async def test_ce_headers_make_a_binary_mode_event_of_the_body(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    event = unit_event(world)
    attributes = {f"ce-{name}": str(value) for name, value in event.items() if name not in ("data", "datacontenttype")}
    response = await client.post(
        "/v1/events",
        content=json.dumps(event["data"]),
        headers={**headers["integration"], **attributes, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["outcome"] == "accepted" and response.json()["results"][0]["id"] == event["id"]


async def test_attribute_headers_under_a_prefix_http_does_not_use_are_refused_naming_them(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """`ce_` headers (HTTP's binding uses only `ce-`) were dropped by the gateway, and the event refused as missing
    its `specversion`: they go along, and the answer is a 422 naming the header and its prefix."""
    event = unit_event(world)
    for prefix in ("ce_", "CloudEvents_"):
        attributes = {f"{prefix}{name}": str(value) for name, value in event.items() if name not in ("data",)}
        response = await client.post(
            "/v1/events",
            content=json.dumps(event["data"]),
            headers={**headers["integration"], **attributes, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
        said = prefix.lower()
        assert response.json()["field"] == f"{said}specversion", response.text
        assert (
            f"the header prefix '{said}' is not one CloudEvents attributes are read under on HTTP (only ce-)"
            in (response.json()["message"])
        )


async def test_only_integration_accounts_may_ingest(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    for role in ("member", "secretary", "ward_officer", "operator", "admin"):
        response = await client.post(
            "/v1/events", content=json.dumps(unit_event(world)), headers={**headers[role], **SINGLE}
        )
        assert response.status_code == 403, role
        assert response.json()["code"] == "forbidden"


async def test_every_ingest_call_is_audited_with_who_and_where(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, state: GatewayState
) -> None:
    event = unit_event(world)
    await client.post("/v1/events", content=json.dumps(event), headers={**headers["integration"], **SINGLE})
    row = await state.pool.fetchrow(
        "SELECT * FROM audit_log WHERE path = '/v1/events' AND detail->>'accepted' = '1' ORDER BY id DESC LIMIT 1"
    )
    assert row["role"] == "integration" and row["sub"].startswith("integration-")
    assert row["client_ip"] == "203.0.113.7" and row["status"] == 200 and row["method"] == "POST"


async def test_body_level_rejections_are_answered_and_recorded_as_rejections(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """Issue 10 fault 9: bad JSON, an empty body, null, a bare number: 400/422 naming the body, and meetings
    stores and publishes each (the stand-in records what it would)."""
    for body, status in [(b"{not json", 400), (b"", 400), (b"null", 422), (b"12345", 422)]:
        before = len(world.rejected)
        response = await client.post("/v1/events", content=body, headers={**headers["integration"], **SINGLE})
        assert response.status_code == status, (body, response.text)
        assert response.json()["field"] == "body"
        assert len(world.rejected) == before + 1 and world.rejected[-1]["field"] == "body"


async def test_non_finite_numbers_and_deep_nesting_are_rejections_naming_the_field_not_500s(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """Issue 10 faults 2 and 4 on the HTTP route: NaN is not read as null; 260 nested arrays name the field."""
    event = unit_event(world)
    event["data"]["active"] = "@NAN@"
    nan = json.dumps(event).replace('"@NAN@"', "NaN")
    deep = unit_event(world)
    deep["data"]["contact_emails"] = "@DEEP@"
    nested = json.dumps(deep).replace('"@DEEP@"', "[" * 260 + "]" * 260)
    for body, field in [(nan, "data.active"), (nested, "data.contact_emails")]:
        response = await client.post("/v1/events", content=body, headers={**headers["integration"], **SINGLE})
        assert response.status_code == 200, response.text
        [result] = response.json()["results"]
        assert (result["outcome"], result["field"]) == ("rejected", field)


async def test_a_content_type_with_parameters_or_null_is_accepted(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    for content_type in ("application/json; charset=utf-8", None):
        event = unit_event(world, datacontenttype=content_type)
        response = await client.post(
            "/v1/events", content=json.dumps(event), headers={**headers["integration"], **SINGLE}
        )
        assert response.json()["results"][0]["outcome"] == "accepted", response.text


async def test_a_batch_meetings_judged_only_in_part_is_a_503_listing_the_judged_outcomes_and_the_rest(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    batch = [unit_event(world) for _ in range(5)]
    world.judged_before_deadline = 3
    response = await client.post("/v1/events", content=json.dumps(batch), headers={**headers["integration"], **BATCH})
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    body = response.json()
    assert (body["code"], body["service"]) == ("unavailable", "meetings")
    assert [(r["index"], r["id"], r["outcome"]) for r in body["judged"]] == [
        (index, event["id"], "accepted") for index, event in enumerate(batch[:3])
    ]
    assert set(body["judged"][0]) >= {"reason", "field", "waiting_for", "reason_code", "ignored_fields", "warnings"}
    assert body["not_judged"] == [
        {"index": index, "id": event["id"], "source": event["source"], "type": event["type"]}
        for index, event in enumerate(batch)
        if index >= 3
    ]
    assert body["counts"] == {"accepted": 3, "duplicate": 0, "held": 0, "rejected": 0, "not_judged": 2}
    assert "3 of the 5 events" in body["message"] and "again is safe" in body["message"]
    assert "results" not in body and "not_judged" not in json.dumps(body["judged"])
    # sent again with time enough: the judged ones are duplicates, the others taken, a plain 200 of four outcomes
    world.judged_before_deadline = None
    again = await client.post("/v1/events", content=json.dumps(batch), headers={**headers["integration"], **BATCH})
    assert again.status_code == 200, again.text
    assert [r["outcome"] for r in again.json()["results"]] == ["duplicate"] * 3 + ["accepted"] * 2
    assert "not_judged" not in again.json()
