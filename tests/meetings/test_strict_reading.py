"""Issue 10, faults 1-9: every bad input gets the same answer on both routes, stored and published.

Each case is sent as bytes over AMQP (chibo.ingest) and over the HTTP route's door into meetings
(`ingest_body`, exactly the call the gateway makes with the POST /v1/events body); both must end in a
stored rejection naming the field and an ingest.rejected.v1, never a 500, a retry loop or a dead letter.
The gateway's own answers (status codes) are in tests/gateway/test_ingest.py.
"""

import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from shared.contracts import meetings_rpc as meetings
from shared.rpc import RpcClient
from tests.meetings import events as ev
from tests.meetings.feed import Feed, feed, scheduled_meeting
from tests.support.ids import random_id
from tests.support.rpc import ask, rpc_client
from tests.support.running import eventually

START = ev.BASE_TIME + timedelta(days=10)
SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


@pytest.fixture(scope="module")
async def world(meetings_service: str, amqp_url: str) -> AsyncIterator[tuple[Feed, dict[str, str]]]:
    """A committee, a cell with a member and a scheduled meeting."""
    async with feed(amqp_url) as bus:
        yield bus, await scheduled_meeting(bus, starts_at=START)


@pytest.fixture(scope="module")
async def rpc(meetings_service: str, amqp_url: str) -> AsyncIterator[RpcClient]:
    async with rpc_client(amqp_url) as client:
        yield client


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


Case = Callable[[dict[str, str], str], tuple[bytes, str]]
"""(ids, marker) -> (body, the field the rejection names); the marker is somewhere in the body."""


def _member(ids: dict[str, str], marker: str, **data: Any) -> dict[str, Any]:
    raw = ev.member(random_id("mem"), ids["cell"], data=data)
    raw["subject"] = marker
    return raw


def _scheduled(ids: dict[str, str], marker: str, **data: Any) -> dict[str, Any]:
    raw = ev.scheduled(random_id("mtg"), ids["cell"], starts_at=START, data=data)
    raw["subject"] = marker
    return raw


def _assessed(ids: dict[str, str], marker: str, points: str) -> bytes:
    raw = ev.raw_event(
        "meeting.assessed.v1",
        {"meeting_id": ids["mtg"], "assessor": {"role": "cell_committee"}, "points": {}, "comment": marker},
    )
    return _dumps(raw).replace(b'"points": {}', b'"points": ' + points.encode())


def _minutes_nan(ids: dict[str, str], marker: str) -> bytes:
    raw = ev.minutes(ids["mtg"], chair_id=ids["mem"], started_at=START)
    raw["data"]["self_criticism_minutes"] = "@NAN@"
    raw["subject"] = marker
    return _dumps(raw).replace(b'"@NAN@"', b"NaN")


def _event_with(marker: str, **envelope: Any) -> dict[str, Any]:
    raw = ev.unit(random_id("cell"), kind="committee", name=f"Đảng ủy {marker}")
    raw.update(envelope)
    return raw


CASES: dict[str, Case] = {
    # 1. unbounded ids and extension attributes
    "correlationid of 300": lambda ids, m: (_dumps(_event_with(m, correlationid="c" * 300)), "correlationid"),
    "id of 300": lambda ids, m: (_dumps(_event_with(m, id=m + "e" * 300)), "id"),
    "source of 300": lambda ids, m: (_dumps(_event_with(m, source="urn:" + "s" * 300)), "source"),
    "subject of 300": lambda ids, m: (_dumps(_event_with(m, subject="s" * 300)), "subject"),
    "extension with a space": lambda ids, m: (_dumps(_event_with(m, traceparent="a b")), "traceparent"),
    "data id with a slash": lambda ids, m: (_dumps(_member(ids, m, id="mem/1")), "data.id"),
    "name of 201": lambda ids, m: (_dumps(_member(ids, m, full_name="N" * 201)), "data.full_name"),
    "agenda of 1001": lambda ids, m: (_dumps(_scheduled(ids, m, agenda=["Mục"] * 1001)), "data.agenda"),
    # 2. deep nesting
    "agenda nested 260 deep": lambda ids, m: (
        _dumps(_scheduled(ids, m, agenda="@DEEP@")).replace(b'"@DEEP@"', nested(260).encode()),
        "data.agenda",
    ),
    "body nested 100000 deep": lambda ids, m: (f'{{"id": "{m}", "data": {nested(100_000)}}}'.encode(), "body"),
    # 3. U+0000
    "NUL in a name": lambda ids, m: (_dumps(_member(ids, m, full_name="Lê\u0000Văn Bảy")), "data.full_name"),
    # 4. non-finite numbers
    "points 1e999": lambda ids, m: (_assessed(ids, m, '{"chairing.flexible": 1e999}'), "data.points.chairing.flexible"),
    "minutes NaN": lambda ids, m: (_minutes_nan(ids, m), "data.self_criticism_minutes"),
    "Infinity": lambda ids, m: (_assessed(ids, m, '{"chairing.flexible": -Infinity}'), "data.points.chairing.flexible"),
    # 5. a lone surrogate
    "lone surrogate": lambda ids, m: (json.dumps(_scheduled(ids, m, location="Nhà \udc00")).encode(), "data.location"),
    "surrogate bytes": lambda ids, m: (_dumps(_scheduled(ids, m, location="Nhà \udc00")), "body"),
    # 6. coercion
    "time as a number": lambda ids, m: (_dumps(_event_with(m, time=1767229200)), "time"),
    "time as digits": lambda ids, m: (_dumps(_event_with(m, time="1767229200")), "time"),
    "time +0700": lambda ids, m: (_dumps(_event_with(m, time="2026-01-01T08:00:00+0700")), "time"),
    "time without seconds": lambda ids, m: (_dumps(_event_with(m, time="2026-01-01T08:00+07:00")), "time"),
    "starts_at as digits": lambda ids, m: (_dumps(_scheduled(ids, m, starts_at="1796736600")), "data.starts_at"),
    "active no": lambda ids, m: (
        _dumps(_event_with(m) | {"data": {**_event_with(m)["data"], "active": "no"}}),
        "data.active",
    ),
    "exempt yes": lambda ids, m: (_dumps(_member(ids, m, exempt="yes")), "data.exempt"),
    "committee_prepared yes": lambda ids, m: (
        _dumps(_scheduled(ids, m, committee_prepared="yes")),
        "data.committee_prepared",
    ),
    "birth_year as text": lambda ids, m: (_dumps(_member(ids, m, birth_year="1970")), "data.birth_year"),
    "admitted_on 0": lambda ids, m: (_dumps(_member(ids, m, admitted_on=0)), "data.admitted_on"),
    "admitted_on with a time": lambda ids, m: (
        _dumps(_member(ids, m, admitted_on="2020-01-01T00:00:00+07:00")),
        "data.admitted_on",
    ),
    # 8. impossible assessments
    "points above the item's maximum": lambda ids, m: (
        _assessed(ids, m, '{"conduct.praise_criticism": 1000}'),
        "data.points.conduct.praise_criticism",
    ),
    "unknown item code": lambda ids, m: (_assessed(ids, m, '{"conduct.bribery": 1}'), "data.points.conduct.bribery"),
    "points as text": lambda ids, m: (_assessed(ids, m, '{"conduct.procedure": "4"}'), "data.points.conduct.procedure"),
    # 10. a key given twice (JSON leaves its meaning undefined)
    "meeting_id twice": lambda ids, m: (
        _dumps(_scheduled(ids, m)).replace(b'"meeting_id": ', b'"meeting_id": "other", "meeting_id": ', 1),
        "data.meeting_id",
    ),
    "status twice in a roster row": lambda ids, m: (
        _dumps(ev.attendance(ids["mtg"], {ids["mem"]: "present"}) | {"subject": m}).replace(
            b'"status": ', b'"status": "absent", "status": ', 1
        ),
        "data.records.0.status",
    ),
    "id twice": lambda ids, m: (_dumps(_event_with(m)).replace(b'"id": ', b'"id": "x", "id": ', 1), "id"),
    # 11. absurd moments
    "time in 9999": lambda ids, m: (_dumps(_event_with(m, time="9999-01-01T00:00:00+07:00")), "time"),
    "starts_at in 1999": lambda ids, m: (
        _dumps(_scheduled(ids, m, starts_at="1999-01-01T19:30:00+07:00")),
        "data.starts_at",
    ),
    "starts_at in 2099": lambda ids, m: (
        _dumps(_scheduled(ids, m, starts_at="2099-01-01T19:30:00+07:00")),
        "data.starts_at",
    ),
    # 9. bodies that are not events
    "bad JSON": lambda ids, m: (f'{{"id": "{m}", '.encode(), "body"),
    "bare number": lambda ids, m: (str(int(m[4:], 16)).encode(), "body"),
    "bare string": lambda ids, m: (f'"{m}"'.encode(), "body"),
    "invalid UTF-8": lambda ids, m: (b'{"id": "' + m.encode() + b'\xff"}', "body"),
}


def new_marker() -> str:
    return "mark" + uuid.uuid4().hex


async def send(route: str, body: bytes, *, bus: Feed, rpc: RpcClient) -> dict[str, Any] | None:
    """Send the body by one route; the HTTP door answers its outcome, AMQP answers nothing (published under its
    type, as CONTRACT.md asks, when it names one: another key is itself a rejection naming `type`)."""
    if route == "amqp":
        await bus.publish(body, routing_key=_type_of(body) or "meeting.scheduled.v1")
        return None
    reply = await ask(
        rpc, meetings.IngestBody(body_base64=base64.b64encode(body).decode(), content_type=SINGLE, account="test")
    )
    [result] = reply["results"]
    return dict(result)


def _type_of(body: bytes) -> str | None:
    """The `type` a body names, when it reads as an object with a text type."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) and kind else None


async def stored_rejection(db: asyncpg.Connection, marker: str) -> asyncpg.Record:
    async def find() -> asyncpg.Record | None:
        return await db.fetchrow("SELECT * FROM meetings.rejection WHERE raw LIKE $1", f"%{marker}%")

    row = await eventually(find, timeout=60)
    assert row is not None
    return row


@pytest.mark.parametrize("route", ["amqp", "http"])
@pytest.mark.parametrize("case", list(CASES))
async def test_each_bad_input_is_a_stored_published_rejection_naming_the_field(  # type: ignore[no-untyped-def]
    world, rpc: RpcClient, db: asyncpg.Connection, case: str, route: str
) -> None:
    bus, ids = world
    marker = new_marker()
    body, field = CASES[case](ids, marker)
    answer = await send(route, body, bus=bus, rpc=rpc)
    row = await stored_rejection(db, marker if marker.encode() in body else body.decode())
    assert row["field"] == field, row["reason"]
    assert row["route"] == route and row["status"] == "open"
    if answer is not None:
        assert answer["outcome"] == "rejected" and answer["field"] == field
    subject = row["event_id"] if row["event_id"] and len(row["event_id"]) <= 64 else row["rejection_id"]
    published = await eventually(
        lambda: next(
            (e for e in bus.seen if e["type"] == "ingest.rejected.v1" and e["subject"] == subject),
            None,
        ),
        timeout=20,
    )
    assert published["data"]["field"] == field and published["data"]["reason"] == row["reason"]
    assert len(published.get("correlationid", "")) <= 128


@pytest.mark.parametrize("route", ["amqp", "http"])
@pytest.mark.parametrize("body", [b"", b"   ", b"null"])
async def test_empty_and_null_bodies_are_stored_and_published_too(  # type: ignore[no-untyped-def]
    world, rpc: RpcClient, db: asyncpg.Connection, body: bytes, route: str
) -> None:
    bus, _ = world
    query = "SELECT count(*) FROM meetings.rejection WHERE raw = $1 AND field = 'body' AND route = $2"
    before = await db.fetchval(query, body.decode(), route)
    answer = await send(route, body, bus=bus, rpc=rpc)
    await eventually(lambda: _count_above(db, query, body.decode(), route, before), timeout=60)
    if answer is not None:
        assert answer["outcome"] == "rejected" and answer["field"] == "body" and answer["problem"]


async def _count_above(db: asyncpg.Connection, query: str, raw: str, route: str, before: int) -> bool:
    return bool(await db.fetchval(query, raw, route) > before)


@pytest.mark.parametrize("route", ["amqp", "http"])
@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", None])
async def test_json_content_types_with_parameters_or_null_are_accepted(  # type: ignore[no-untyped-def]
    world, rpc: RpcClient, content_type: str | None, route: str
) -> None:
    bus, ids = world
    raw = ev.scheduled(random_id("mtg"), ids["cell"], starts_at=START)
    raw["datacontenttype"] = content_type
    answer = await send(route, _dumps(raw), bus=bus, rpc=rpc)
    assert answer is None or answer["outcome"] == "accepted", answer
    await eventually(lambda: bus.find("meeting.scheduled.v1", originid=raw["id"]), timeout=60)


async def test_a_batch_with_a_nan_or_a_deep_item_rejects_only_that_item(world, db: asyncpg.Connection) -> None:  # type: ignore[no-untyped-def]
    bus, ids = world
    good = ev.scheduled(random_id("mtg"), ids["cell"], starts_at=START)
    bad = ev.raw_event("meeting.cancelled.v1", {"meeting_id": ids["mtg"], "reason": "@NAN@"})
    deep = ev.scheduled(random_id("mtg"), ids["cell"], starts_at=START, data={"agenda": "@DEEP@"})
    body = _dumps([bad, deep, good]).replace(b'"@NAN@"', b"NaN").replace(b'"@DEEP@"', nested(40).encode())
    await bus.publish(body, routing_key="batch")
    await eventually(lambda: bus.find("meeting.scheduled.v1", originid=good["id"]), timeout=60)
    rows = await db.fetch(
        "SELECT event_id, field FROM meetings.rejection WHERE event_id = ANY($1::text[])", [bad["id"], deep["id"]]
    )
    assert {row["event_id"]: row["field"] for row in rows} == {bad["id"]: "data.reason", deep["id"]: "data.agenda"}


async def test_a_batch_is_walked_item_by_item_unless_its_whole_text_is_clean(  # type: ignore[no-untyped-def]
    world, db: asyncpg.Connection
) -> None:
    """A batch body is read once; its items skip their own walk only when the whole text is clean (no escape,
    NFC): an escaped U+0000 is still refused naming the field, a decomposed name still stored in NFC."""
    bus, ids = world
    member_id = random_id("mem")
    nfd = ev.member(member_id, ids["cell"], data={"full_name": "Nguye\u0302\u0303n Thi\u0323 Hoa"})
    nul = ev.scheduled(random_id("mtg"), ids["cell"], starts_at=START, data={"location": "@NUL@"})
    good = ev.scheduled(random_id("mtg"), ids["cell"], starts_at=START)
    body = _dumps([nfd, nul, good]).replace(b'"@NUL@"', b'"Ho\\u0000i tru\\u1eddng"')
    await bus.publish(body, routing_key="batch")
    await eventually(lambda: bus.find("meeting.scheduled.v1", originid=good["id"]), timeout=60)
    assert await db.fetchval("SELECT full_name FROM meetings.member WHERE id = $1", member_id) == "Nguyễn Thị Hoa"
    field = await db.fetchval("SELECT field FROM meetings.rejection WHERE event_id = $1", nul["id"])
    assert field == "data.location"


async def test_text_is_stored_in_nfc_so_another_normalization_form_is_no_change(  # type: ignore[no-untyped-def]
    world, db: asyncpg.Connection
) -> None:
    bus, ids = world
    member_id = random_id("mem")
    nfd = "Nguye\u0302\u0303n Thi\u0323 Hoa"  # "Nguyễn Thị Hoa" decomposed
    first = ev.member(member_id, ids["cell"], data={"full_name": nfd})
    await bus.publish(first)
    out = await eventually(lambda: bus.find("member.upserted.v1", originid=first["id"]), timeout=60)
    assert out["data"]["full_name"] == "Nguyễn Thị Hoa"
    stored = await db.fetchval("SELECT full_name FROM meetings.member WHERE id = $1", member_id)
    assert stored == "Nguyễn Thị Hoa"


HEADER_NAME = "Lê Văn B\r\nBcc: evil@x.com\x85\x07"
"""A name holding line breaks (CR LF, NEL U+0085) and a C0 control (BEL) and a mail header after them."""


@pytest.mark.parametrize("route", ["amqp", "http"])
async def test_a_name_with_line_breaks_or_controls_is_accepted_and_stored_as_sent(  # type: ignore[no-untyped-def]
    world, rpc: RpcClient, db: asyncpg.Connection, route: str
) -> None:
    """CONTRACT.md "Reading an event" refuses exactly U+0000 and an unpaired surrogate in a text and stores text in
    NFC: it names no single-line field and no other control character, so such a name is valid and kept as sent;
    every rendering makes it one line (shared.text.shown_name; tests/gateway/test_name_spoofing.py)."""
    bus, ids = world
    member_id = random_id("mem")
    raw = ev.member(member_id, ids["cell"], data={"full_name": HEADER_NAME})
    answer = await send(route, _dumps(raw), bus=bus, rpc=rpc)
    if answer is not None:
        assert answer["outcome"] == "accepted", answer
    out = await eventually(lambda: bus.find("member.upserted.v1", originid=raw["id"]), timeout=60)
    assert out["data"]["full_name"] == HEADER_NAME
    assert await db.fetchval("SELECT full_name FROM meetings.member WHERE id = $1", member_id) == HEADER_NAME
    assert await db.fetchval("SELECT count(*) FROM meetings.rejection WHERE event_id = $1", raw["id"]) == 0


@pytest.mark.parametrize("route", ["amqp", "http"])
async def test_a_batch_item_that_is_no_object_rejects_only_itself(  # type: ignore[no-untyped-def]
    world, rpc: RpcClient, db: asyncpg.Connection, route: str
) -> None:
    """Items that are JSON but not objects (an array, an event inside an array, a text, a number, a literal) are
    each a stored rejection naming the body, never read as an event's text; the events beside them are applied.
    An array item used to crash the reading (AttributeError), so the whole batch was retried until it was
    dead-lettered, and over HTTP answered 500."""
    bus, ids = world
    marker = new_marker()
    good = [ev.scheduled(random_id("mtg"), ids["cell"], starts_at=START) for _ in range(2)]
    nested_event = ev.member(random_id("mem"), ids["cell"])
    nested_event["subject"] = marker
    odd: list[Any] = [[1, marker], [nested_event], f"{marker}-text", f'{{"id": "{marker}"}}', 4.5, True, None]
    body = _dumps([good[0], *odd, good[1]])
    if route == "amqp":
        await bus.publish(body, routing_key="batch")
    else:
        reply = await ask(
            rpc, meetings.IngestBody(body_base64=base64.b64encode(body).decode(), content_type=BATCH, account="test")
        )
        outcomes = [result["outcome"] for result in reply["results"]]
        assert outcomes == ["accepted"] + ["rejected"] * len(odd) + ["accepted"]
        assert {result["field"] for result in reply["results"][1:-1]} == {"body"}
    for event in good:
        await eventually(lambda event=event: bus.find("meeting.scheduled.v1", originid=event["id"]), timeout=60)

    async def stored() -> list[asyncpg.Record] | None:
        rows = await db.fetch(
            "SELECT raw, field, reason, route FROM meetings.rejection WHERE raw LIKE $1 AND route = $2",
            f"%{marker}%",
            f"{route}-batch",  # a batch's item is stored as come by the batch route (test_batch_route_names)
        )
        return rows if len(rows) == 4 else None

    rows = await eventually(stored, timeout=60)
    assert all(row["field"] == "body" and row["reason"] == "body: an event must be a JSON object" for row in rows)
    assert sorted(json.loads(row["raw"]) == item for row in rows for item in odd[:4]).count(True) == 4
    assert await db.fetchval("SELECT count(*) FROM meetings.member WHERE id = $1", nested_event["data"]["id"]) == 0


@pytest.mark.parametrize("route", ["amqp", "http"])
async def test_optional_fields_given_null_are_read_as_absent_on_both_routes(  # type: ignore[no-untyped-def]
    world, rpc: RpcClient, db: asyncpg.Connection, route: str
) -> None:
    """CONTRACT.md: an optional field given as JSON null is the same as absent; `role: null`, `exempt: null`,
    `active: null` and `contact_emails: null` were rejected ("Input should be a valid list")."""
    bus, ids = world
    member_id, unit_id = random_id("mem"), random_id("cell")
    member = ev.member(member_id, ids["cell"], data={"role": None, "exempt": None, "gender": None})
    unit = ev.raw_event(
        "org.unit.upserted.v1",
        {
            "id": unit_id,
            "name": "Chi bộ thôn 2",
            "kind": "cell",
            "parent_id": ids["committee"],
            "active": None,
            "contact_emails": None,
            "category": None,
        },
    )
    for raw in (unit, member):
        answer = await send(route, _dumps(raw), bus=bus, rpc=rpc)
        assert answer is None or answer["outcome"] == "accepted", answer
        await eventually(lambda: bus.find(raw["type"], originid=raw["id"]), timeout=60)  # noqa: B023
    stored = await db.fetchrow("SELECT role, exempt FROM meetings.member WHERE id = $1", member_id)
    assert (stored["role"], stored["exempt"]) == ("member", False)
    stored = await db.fetchrow("SELECT active, contact_emails FROM meetings.org_unit WHERE id = $1", unit_id)
    assert stored["active"] is True and json.loads(stored["contact_emails"]) == []
