"""POST /v1/events?dry_run=true (issue 15): each event's outcome exactly as a real send would have it (accepted,
duplicate, held with what it waits for, rejected with the field), and no trace: no row in any meetings table, no
inbox record, nothing on chibo.events."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx

from tests.partners import sdk
from tests.partners.scenario import SOURCE, Scenario
from tests.partners.wire import Tap
from tests.support.running import eventually

TABLES = [
    "org_unit",
    "member_version",
    "member",
    "monitor_assignment",
    "meeting",
    "roster",
    "attendance",
    "held_event",
    "rejection",
    "processed_message",
    "outbox",
]
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


async def footprint(db: asyncpg.Connection) -> dict[str, int]:
    """Row counts of every meetings table a send could write (state, holds, rejections, inbox, outbox)."""
    return {table: int(await db.fetchval(f"SELECT count(*) FROM {table}")) for table in TABLES}


def renamed(event: dict[str, Any], **data: Any) -> dict[str, Any]:
    """The event under a fresh id with some data changed."""
    return {**event, "id": f"evt-{uuid.uuid4().hex[:16]}", "data": {**event["data"], **data}}


async def test_a_dry_run_answers_every_outcome_as_a_real_send_and_leaves_no_trace(
    gateway: httpx.AsyncClient, meetings_db: asyncpg.Connection, events_out: Tap
) -> None:
    known = Scenario()
    ward, cell = known.events()[:2]
    answer = await gateway.post("/v1/events", json=[ward, cell], headers=BATCH)
    assert [r["outcome"] for r in answer.json()["results"]] == ["accepted", "accepted"]

    fresh = Scenario()
    member = next(e for e in known.events() if e["type"] == "member.upserted.v1")
    attendance = next(e for e in fresh.events() if e["type"] == "attendance.recorded.v1")
    new_cell = {**fresh.events()[1], "data": {**fresh.events()[1]["data"], "parent_id": known.ward}}
    new_member = renamed(member, id=f"mem-new-{fresh.tag}", cell_id=fresh.cell)
    batch = [
        member,  # accepted
        cell,  # duplicate: already applied
        attendance,  # held: its meeting is unknown
        renamed(member, id=f"mem-bad-{fresh.tag}", status="honorary"),  # rejected
        new_cell,  # accepted
        new_member,  # accepted: its cell came earlier in the same body
    ]
    before = await footprint(meetings_db)
    dry = await gateway.post("/v1/events", params={"dry_run": "true"}, json=batch, headers=BATCH)
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert body["dry_run"] is True
    outcomes = body["results"]
    assert [r["outcome"] for r in outcomes] == ["accepted", "duplicate", "held", "rejected", "accepted", "accepted"]
    assert outcomes[2]["waiting_for"] == f"meeting:{fresh.meeting}" and outcomes[2]["field"] == "data.meeting_id"
    assert outcomes[3]["field"] == "data.status"
    assert (body["accepted"], body["duplicate"], body["held"], body["rejected"]) == (3, 1, 1, 1)

    headers, payload = sdk.http_binary(renamed(member, id=f"mem-bin-{fresh.tag}"))
    binary = await gateway.post("/v1/events", params={"dry_run": "true"}, content=payload, headers=headers)
    assert binary.json()["results"][0]["outcome"] == "accepted"

    assert await footprint(meetings_db) == before

    # Nothing reached chibo.events: a real event sent afterwards arrives alone (the outbox relays in order).
    later = (datetime.fromisoformat(ward["time"]) + timedelta(minutes=5)).isoformat()
    sentinel = renamed({**ward, "time": later}, name="Đảng ủy phường Hòa Thuận (mới)")
    sent = await gateway.post("/v1/events", json=sentinel, headers={"Content-Type": "application/cloudevents+json"})
    assert sent.json()["results"][0]["outcome"] == "accepted"
    await eventually(lambda: events_out.originating(SOURCE, sentinel["id"]), timeout=90)
    dry_ids = {event["id"] for event in batch} - {cell["id"]}  # the cell alone had been sent for real
    assert not [e for e in events_out.events() if e.get("originid") in dry_ids]
    assert not [
        e for e in events_out.events() if e["type"] == "ingest.rejected.v1" and e["data"]["event_id"] in dry_ids
    ]

    # The same body sent for real has exactly the outcomes the dry run announced.
    real = await gateway.post("/v1/events", json=batch, headers=BATCH)
    assert [{k: v for k, v in r.items() if k != "index"} for r in real.json()["results"]] == [
        {k: v for k, v in r.items() if k != "index"} for r in outcomes
    ]
    assert real.json()["dry_run"] is False


async def test_the_answer_names_data_fields_the_type_does_not_read(gateway: httpx.AsyncClient) -> None:
    """A partner's `committe_prepared` (misspelt) was dropped without a word: the answer names it, through the real
    gateway and meetings, and the event is taken without it (a real send, then its dry-run twin)."""
    event = Scenario().events()[0]  # the scenario's first unit
    sent = renamed(event, tên_cũ="Chi bộ cũ")
    answer = await gateway.post("/v1/events", json=sent, headers={"Content-Type": "application/cloudevents+json"})
    assert answer.status_code in (200, 202), answer.text
    [result] = answer.json()["results"]
    assert result["outcome"] in ("accepted", "held") and result["ignored_fields"] == ["data.tên_cũ"]
    twin = renamed(event, tên_cũ="x", committe_prepared=True)
    dry = await gateway.post(
        "/v1/events?dry_run=true", json=twin, headers={"Content-Type": "application/cloudevents+json"}
    )
    assert dry.json()["results"][0]["ignored_fields"] == ["data.tên_cũ", "data.committe_prepared"]


async def test_a_rejection_answers_its_reason_code(gateway: httpx.AsyncClient) -> None:
    """A member born after the event was sent is rejected naming `data.birth_year`, with `reason_code` to match on
    (the English `reason` may change), as error answers carry it."""
    member = next(event for event in Scenario().events() if event["type"] == "member.upserted.v1")
    future = renamed(member, birth_year=datetime.fromisoformat(member["time"]).year + 1)
    answer = await gateway.post(
        "/v1/events?dry_run=true", json=future, headers={"Content-Type": "application/cloudevents+json"}
    )
    [result] = answer.json()["results"]
    assert (result["outcome"], result["field"], result["reason_code"]) == (
        "rejected",
        "data.birth_year",
        "born_after_event",
    )
