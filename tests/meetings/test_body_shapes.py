"""What a body holds is judged per event: an item of a batch over 1 MiB is refused alone naming `body` (its id kept),
nothing meetings accepts is too large to pass on, and a binary-mode event whose data is a JSON array is one event,
not a batch (real PostgreSQL, through ingest_delivery as the AMQP consumer and the HTTP route both call it)."""

import json
from datetime import timedelta
from typing import Any

import pytest

from services.meetings import handlers
from shared.envelope import is_batch
from shared.reading import MAX_EVENT_BYTES
from tests.meetings import events as ev
from tests.support.ids import random_id

START = ev.BASE_TIME + timedelta(days=330)
BATCH = "application/cloudevents-batch+json"


def compact(event: dict[str, Any]) -> bytes:
    """An event's compact JSON, as meetings measures it."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def big_meeting(cell: str, *, size: int) -> dict[str, Any]:
    """A meeting.scheduled.v1 of exactly `size` bytes of compact JSON, its agenda long (each item under 10,000)."""
    event = ev.scheduled(f"{cell}-{random_id('big')}", cell, starts_at=START, data={"agenda": []})
    base = len(compact(event))
    count = (size - base) // 9_003 + 1
    agenda = ["x" * 9_000 for _ in range(count)]
    agenda[-1] = "x" * (9_000 - (base + count * 9_003 - 1 - size))
    event["data"]["agenda"] = agenda
    assert len(compact(event)) == size
    return event


@pytest.fixture
async def cell(uow_factory: Any) -> str:
    """A fresh cell."""
    cell_id = random_id("cell")
    [result] = await handlers.ingest_batch([ev.unit(cell_id)], uow_factory, route="test")
    assert result.outcome == "accepted"
    return cell_id


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_an_item_over_one_mebibyte_is_refused_alone_naming_body(
    uow_factory: Any, db: Any, cell: str, route: str
) -> None:
    big = big_meeting(cell, size=1_170_839)
    small = ev.member(random_id("mem"), cell)
    body = json.dumps([big, small]).encode()
    assert len(json.dumps(big).encode()) > MAX_EVENT_BYTES
    results = await handlers.ingest_delivery(body, uow_factory, batch=True, route=route, content_type=BATCH)
    assert [(result.id, result.outcome, result.field) for result in results] == [
        (big["id"], "rejected", "body"),
        (small["id"], "accepted", None),
    ]
    assert results[0].reason is not None and f"larger than {MAX_EVENT_BYTES} bytes" in results[0].reason
    assert results[0].problem is None  # an item's refusal, not the whole body's (no 413 for a one-item batch)
    stored = await db.fetchrow(
        "SELECT field, length(raw) AS kept FROM meetings.rejection WHERE event_id = $1", big["id"]
    )
    assert stored["field"] == "body" and stored["kept"] < 10_000  # a prefix and the size, not the megabyte
    [alone] = await handlers.ingest_delivery(
        json.dumps([big_meeting(cell, size=1_170_839)]).encode(),
        uow_factory,
        batch=True,
        route=route,
        content_type=BATCH,
    )
    assert (alone.outcome, alone.field) == ("rejected", "body")


async def test_nothing_accepted_is_too_large_to_pass_on(uow_factory: Any, db: Any, cell: str) -> None:
    # under 1 MiB as sent, but with meetings' envelope around its data it would not be: refused, not passed on
    near = big_meeting(cell, size=MAX_EVENT_BYTES - 1_000)
    text = compact(near)
    [result] = await handlers.ingest_delivery(text, uow_factory, batch=False, route="amqp")
    # named as `data`, with the data's own size and the bound it broke (a trial read "body: larger than 1048576
    # bytes (1049614 bytes)" for a body of 1,045,632)
    assert (result.outcome, result.field) == ("rejected", "data")
    assert result.reason is not None and "above the 1044480 bytes" in result.reason
    fine = big_meeting(cell, size=MAX_EVENT_BYTES - 20_000)
    [accepted] = await handlers.ingest_delivery(compact(fine), uow_factory, batch=False, route="amqp")
    assert accepted.outcome == "accepted"
    largest = await db.fetchval(
        "SELECT max(octet_length(payload::text)) FROM meetings.outbox WHERE payload->>'originid' = $1", fine["id"]
    )
    assert largest is not None and largest <= MAX_EVENT_BYTES


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_a_binary_mode_event_whose_data_is_an_array_is_one_event(uow_factory: Any, route: str) -> None:
    event_id = random_id("bn")
    prefix = "ce-" if route == "http" else "cloudEvents:"
    headers = [
        (f"{prefix}specversion", "1.0"),
        (f"{prefix}id", event_id),
        (f"{prefix}source", "urn:test:binary"),
        (f"{prefix}type", "meeting.cancelled.v1"),
        (f"{prefix}time", "2026-11-25T10:00:00+07:00"),
    ]
    body = b"[1,2]"
    batch = is_batch("application/json", body=body, headers=headers)
    assert batch is False
    results = await handlers.ingest_delivery(
        body, uow_factory, batch=batch, route=route, headers=headers, content_type="application/json"
    )
    assert [(result.id, result.outcome, result.field) for result in results] == [(event_id, "rejected", "data")]


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_a_body_over_the_limits_is_a_stored_rejection_kept_short(
    uow_factory: Any, db: Any, cell: str, route: str
) -> None:
    big = big_meeting(cell, size=1_170_839)
    [alone] = await handlers.ingest_delivery(compact(big), uow_factory, batch=False, route=route)
    assert (alone.id, alone.outcome, alone.field, alone.problem) == (big["id"], "rejected", "body", "too_large")
    many = [ev.member(random_id("mem"), cell) for _ in range(1_001)]
    [batch] = await handlers.ingest_delivery(
        json.dumps(many).encode(), uow_factory, batch=True, route=route, content_type=BATCH
    )
    assert (batch.outcome, batch.field, batch.problem) == ("rejected", "body", "too_large")
    stored = await db.fetch(
        "SELECT event_id, type, field, octet_length(raw) AS kept FROM meetings.rejection"
        " WHERE (source = $1 AND event_id = $2) OR raw LIKE $3",
        big["source"],
        big["id"],
        f"%{many[0]['id']}%",
    )
    assert sorted((row["event_id"], row["type"], row["field"]) for row in stored) == sorted(
        [(big["id"], "meeting.scheduled.v1", "body"), ("", "batch", "body")]
    )
    kept = {row["type"]: row["kept"] for row in stored}
    assert kept["meeting.scheduled.v1"] < 10_000
    # a batch over the event count but within the size of one event is kept whole: its replay reads it again as a
    # batch, to its own reason (test_replay_reasons); never more than an event's size
    assert kept["batch"] == len(json.dumps(many).encode()) <= MAX_EVENT_BYTES
    published = await db.fetchval(
        "SELECT count(*) FROM meetings.outbox WHERE type = 'ingest.rejected.v1' AND payload->'data'->>'event_id' = $1",
        big["id"],
    )
    assert published == 1


async def test_a_rejection_whose_body_was_not_kept_is_not_replayed_as_it_was(
    uow_factory: Any, db: Any, cell: str
) -> None:
    """A trial replayed five rejections of events over the limit: each made a new unreadable rejection (empty source
    and id) and the first stayed open. Only a prefix was kept, so such a replay is refused (body_not_kept); a
    corrected event within the limit still replays it."""
    big = big_meeting(cell, size=1_170_839)
    [refused] = await handlers.ingest_delivery(compact(big), uow_factory, batch=False, route="http")
    assert refused.outcome == "rejected"
    rejection_id = await db.fetchval(
        "SELECT rejection_id FROM meetings.rejection WHERE source = $1 AND event_id = $2", big["source"], big["id"]
    )
    before = await db.fetchval("SELECT count(*) FROM meetings.rejection")
    async with uow_factory() as uow:
        with pytest.raises(handlers.RejectionUnreplayable) as caught:
            await handlers.replay_rejection(rejection_id, uow)
    assert caught.value.refusal.code == "body_not_kept"
    assert await db.fetchval("SELECT count(*) FROM meetings.rejection") == before  # no junk rejection
    fixed = big_meeting(cell, size=2_000) | {"id": big["id"], "source": big["source"], "time": big["time"]}
    async with uow_factory() as uow:
        replayed = await handlers.replay_rejection(rejection_id, uow, event=fixed)
        await uow.commit()
    assert replayed.outcome == "accepted"


def binary_headers(event: dict[str, Any], *, route: str) -> list[tuple[str, Any]]:
    """An event's attributes as binary-mode headers of `route` (`ce-` on HTTP, the AMQP binding's `cloudEvents:`)."""
    prefix = "ce-" if route == "http" else "cloudEvents:"
    return [(f"{prefix}{name}", value) for name, value in event.items() if name not in ("data", "datacontenttype")]


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_a_binary_mode_event_over_one_mebibyte_is_refused_as_the_same_structured_one(
    uow_factory: Any, db: Any, cell: str, route: str
) -> None:
    """A trial's binary event whose data was ~1,048,700 bytes was accepted on both routes (HTTP even answered
    ignored_fields ["data.pad"]) while the same event in structured mode was `body: larger than 1048576 bytes`: the
    body was read as JSON with no limit. Binary mode is bounded by the size of the event it stands for, and refused,
    stored and published exactly as the structured one."""
    event = ev.member(random_id("mem"), cell, data={"pad": "x" * 1_048_700})
    headers = binary_headers(event, route=route)
    body = compact(event["data"])
    [binary] = await handlers.ingest_delivery(
        body, uow_factory, batch=False, route=route, headers=headers, content_type="application/json"
    )
    assert (binary.id, binary.source, binary.type) == (event["id"], event["source"], "member.upserted.v1")
    assert (binary.outcome, binary.field, binary.problem, binary.ignored_fields) == (
        "rejected",
        "body",
        "too_large",
        (),
    )
    structured = dict(event, id=event["id"][:-4] + "sTrC")  # an id of the same length: the same size
    [alone] = await handlers.ingest_delivery(compact(structured), uow_factory, batch=False, route=route)
    assert (alone.outcome, alone.field, alone.problem) == ("rejected", "body", "too_large")
    assert binary.reason == alone.reason  # the same size: the event's, not only its data's
    assert binary.reason is not None and binary.reason.startswith(f"body: larger than {MAX_EVENT_BYTES} bytes")
    stored = await db.fetchrow(
        "SELECT type, field, octet_length(raw) AS kept FROM meetings.rejection WHERE source = $1 AND event_id = $2",
        event["source"],
        event["id"],
    )
    assert (stored["type"], stored["field"]) == ("member.upserted.v1", "body") and stored["kept"] < 10_000
    published = await db.fetchval(
        "SELECT count(*) FROM meetings.outbox WHERE type = 'ingest.rejected.v1' AND payload->'data'->>'event_id' = $1",
        event["id"],
    )
    assert published == 1
    # the AMQP consumer reads a single delivery itself (the group commit): the same refusal
    if route == "amqp":
        reading = handlers.single_event(dict(headers), "application/json", body)
        assert reading is not None and reading.error is not None and reading.error.reason == binary.reason


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_a_binary_body_is_read_as_strictly_as_a_structured_one(uow_factory: Any, cell: str, route: str) -> None:
    """Binary mode's body is `data`, read by the same rules as a structured body: nesting past the parser's stack (a
    RecursionError, a crash on every delivery), UTF-16, a byte order mark, an encoded surrogate, a number of too
    many digits, NaN, U+0000, a key given twice, each refused naming `data...`, not read or crashed on."""
    cases = [
        (b"[" * 100_000, "data", "data: JSON nested deeper than 32 levels"),
        ('{"id": "x"}'.encode("utf-16"), "data", "data: not valid JSON (not UTF-8 text)"),
        (b"\xef\xbb\xbf{}", "data", "data: not valid JSON (Unexpected UTF-8 BOM"),
        (b'{"full_name": "\xed\xa0\x80"}', "data", "data: not valid JSON (not UTF-8 text)"),
        (b'{"n": ' + b"1" * 5_000 + b"}", "data.n", "data.n: number too long (5000 digits; at most 4300)"),
        (b'{"n": NaN}', "data.n", "data.n: not a finite number"),
        (b'{"full_name": "a\\u0000"}', "data.full_name", "data.full_name: contains U+0000"),
        (b'{"id": "a", "id": "b"}', "data.id", "data.id: duplicate key"),
    ]
    for body, field, said in cases:
        event = ev.member(random_id("mem"), cell)
        [result] = await handlers.ingest_delivery(
            body,
            uow_factory,
            batch=False,
            route=route,
            headers=binary_headers(event, route=route),
            content_type="application/json",
        )
        assert (result.id, result.outcome, result.field) == (event["id"], "rejected", field), body[:40]
        assert result.reason is not None and result.reason.startswith(said), result.reason


@pytest.mark.parametrize("route", ["http", "amqp"])
@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
async def test_an_integer_of_too_many_digits_is_a_stored_rejection_naming_its_field_in_our_words(
    uow_factory: Any, db: Any, cell: str, route: str, batch: bool
) -> None:
    """A trial's event posted to /v1/events with a 5,000-digit number was refused, and stored, as `body: not valid
    JSON (Exceeds the limit (4300 digits) for integer string conversion …; use sys.set_int_max_str_digits() …)`:
    Python's words, naming no field, its identity lost. Refused naming the field, in our words, its identity kept."""
    event = ev.member(random_id("mem"), cell)
    event["data"]["birth_year"] = "@"
    text = json.dumps([event] if batch else event).replace('"@"', "-" + "9" * 5_000)
    [result] = await handlers.ingest_delivery(
        text.encode(), uow_factory, batch=batch, route=route, content_type=BATCH if batch else None
    )
    said = "data.birth_year: number too long (5000 digits; at most 4300)"
    assert (result.id, result.outcome, result.field, result.reason) == (
        event["id"],
        "rejected",
        "data.birth_year",
        said,
    )
    stored = await db.fetchrow(
        "SELECT source, type, field, reason FROM meetings.rejection WHERE event_id = $1", event["id"]
    )
    assert dict(stored) == {
        "source": event["source"],
        "type": event["type"],
        "field": "data.birth_year",
        "reason": said,
    }


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_a_header_that_cannot_be_read_keeps_the_identity_of_the_others(
    uow_factory: Any, db: Any, cell: str, route: str
) -> None:
    """A trial's `ce-subject: abc%zz` beside a valid `ce-id` and `ce-source` was stored with source, id and type
    empty: the first bad header stopped the reading. Every header is read, and the rejection names the bad one and
    keeps what the readable ones say; over AMQP, a header sent twice or bytes that are not UTF-8 alike."""
    event = ev.member(random_id("mem"), cell)
    headers = binary_headers(event, route=route)
    bad: list[tuple[str, Any]] = [("ce-subject", "abc%zz")]
    if route == "amqp":  # bytes that are not UTF-8, then an attribute given twice
        bad = [("cloudEvents:subject", b"abc\xff"), ("cloudEvents_correlationid", "c1"), ("ce-correlationid", "c2")]
    field = "subject"
    [result] = await handlers.ingest_delivery(
        compact(event["data"]),
        uow_factory,
        batch=False,
        route=route,
        headers=headers + bad,
        content_type="application/json",
    )
    assert (result.id, result.source, result.type) == (event["id"], event["source"], event["type"])
    assert (result.outcome, result.field, result.problem) == ("rejected", field, "header")
    stored = await db.fetchrow(
        "SELECT source, event_id, type, field FROM meetings.rejection WHERE source = $1 AND event_id = $2",
        event["source"],
        event["id"],
    )
    assert stored is not None and (stored["type"], stored["field"]) == (event["type"], field)
    # an unreadable id is no identity, the others still are
    [no_id] = await handlers.ingest_delivery(
        b"{}",
        uow_factory,
        batch=False,
        route=route,
        headers=[*headers, headers[1]],  # the id given twice
        content_type="application/json",
    )
    assert (no_id.id, no_id.source, no_id.type, no_id.field) == ("", event["source"], event["type"], "id")


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_a_body_that_is_no_envelope_gives_its_rejection_no_event_id(
    uow_factory: Any, db: Any, cell: str, route: str
) -> None:
    """A trial's binary message under the prefix `ce_` (CONTRACT.md accepts `ce-`, `cloudEvents_`, `cloudEvents:`)
    was read as a structured body, and its rejection stored with `event_id` = the member's `data.id`. An event id is
    taken only where the mode read puts it (structured: the envelope's `id`), none from a body that is no envelope."""
    event = ev.member(random_id("mem"), cell)
    headers = [(f"ce_{name}", value) for name, value in event.items() if name not in ("data", "datacontenttype")]
    body = compact(event["data"])
    [result] = await handlers.ingest_delivery(
        body, uow_factory, batch=False, route=route, headers=headers, content_type="application/json"
    )
    assert (result.outcome, result.id, result.source) == ("rejected", "", "")
    stored = await db.fetchval(
        "SELECT count(*) FROM meetings.rejection WHERE event_id = $1 OR raw LIKE $2",
        event["data"]["id"],
        f"%{event['data']['id']}%",
    )
    kept = await db.fetch("SELECT event_id FROM meetings.rejection WHERE raw LIKE $1", f"%{event['data']['id']}%")
    assert stored >= 1 and [row["event_id"] for row in kept] == [""] * len(kept)
    if route == "amqp":  # the consumer's own reading hands it to ingest_delivery, as any header it cannot read
        assert handlers.single_event(dict(headers), "application/json", body) is None
    # a structured envelope that does not read still names its own id
    broken = {**event, "data": {**event["data"], "status": "retired"}}
    broken.pop("specversion")
    [named] = await handlers.ingest_delivery(compact(broken), uow_factory, batch=False, route=route)
    assert (named.outcome, named.id, named.source) == ("rejected", event["id"], event["source"])


MISPREFIXED = {"http": ["ce_", "cloudEvents_", "CE_"], "amqp": ["ce_", "cloudevents-", "CloudEvents-"]}
"""Prefixes of attribute headers that CONTRACT.md "Routes in" does not accept on each route (HTTP: only `ce-`;
AMQP: `ce-`, `cloudEvents:`, `cloudEvents_`)."""


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_an_attribute_header_under_a_prefix_the_route_does_not_accept_is_refused_naming_it(
    uow_factory: Any, db: Any, cell: str, route: str
) -> None:
    """Trial 15: a binary message under `ce_` was refused as `specversion: Field required` (its headers dropped, its
    data read as the envelope), which told the sender nothing of the prefix. It is refused naming the header and its
    prefix (`problem` header), stored naming it; beside accepted headers (`ce-id` with `ce_type`) the misprefixed one
    is named and the identity the accepted ones give is kept."""
    for prefix in MISPREFIXED[route]:
        event = ev.member(random_id("mem"), cell)
        headers = [
            (f"{prefix}{name}", value) for name, value in event.items() if name not in ("data", "datacontenttype")
        ]
        body = compact(event["data"])
        [result] = await handlers.ingest_delivery(
            body, uow_factory, batch=False, route=route, headers=headers, content_type="application/json"
        )
        assert (result.outcome, result.field, result.problem) == ("rejected", f"{prefix}specversion", "header")
        assert result.reason is not None and f"the header prefix '{prefix}' is not one" in result.reason
        assert "send this attribute as ce-specversion" in result.reason
        stored = await db.fetchval("SELECT field FROM meetings.rejection WHERE raw LIKE $1", f"%{event['data']['id']}%")
        assert stored == f"{prefix}specversion"
        if route == "amqp":
            assert handlers.single_event(dict(headers), "application/json", body) is None
    event = ev.member(random_id("mem"), cell)
    mixed = [
        (name, value) if name != f"{accepted(route)}type" else ("ce_type", value)
        for name, value in binary_headers(event, route=route)
    ]
    [result] = await handlers.ingest_delivery(
        compact(event["data"]), uow_factory, batch=False, route=route, headers=mixed, content_type="application/json"
    )
    assert (result.outcome, result.field, result.problem) == ("rejected", "ce_type", "header")
    assert (result.id, result.source) == (event["id"], event["source"])
    stored = await db.fetchval(
        "SELECT field FROM meetings.rejection WHERE source = $1 AND event_id = $2", event["source"], event["id"]
    )
    assert stored == "ce_type"


def accepted(route: str) -> str:
    """The prefix binary_headers writes on `route`."""
    return "ce-" if route == "http" else "cloudEvents:"


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_a_content_type_no_mode_reads_is_refused_naming_the_content_type(
    uow_factory: Any, db: Any, cell: str, route: str
) -> None:
    """Trial 16 #10: an event sent as `text/plain` (neither a CloudEvents content type nor, with attribute headers,
    binary mode's `application/json`) was stored with the field `specversion`, as if an attribute were missing. It
    names `datacontenttype` (the body's content type, CONTRACT.md "Routes in") and the content types that are read."""
    for content_type in ("text/plain", "application/xml; charset=utf-8"):
        event = ev.member(random_id("mem"), cell)
        [result] = await handlers.ingest_delivery(
            compact(event), uow_factory, batch=False, route=route, headers=[], content_type=content_type
        )
        assert (result.outcome, result.field, result.problem) == ("rejected", "datacontenttype", "neither_mode")
        media = content_type.split(";")[0]
        assert result.reason is not None and result.reason.startswith(
            f"datacontenttype: the content type '{media}' is no CloudEvents content type"
        )
        assert "application/cloudevents+json" in result.reason
        stored = await db.fetchval("SELECT field FROM meetings.rejection WHERE raw LIKE $1", f"%{event['id']}%")
        assert stored == "datacontenttype"


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_an_event_carrying_data_base64_is_refused_naming_it(uow_factory: Any, cell: str, route: str) -> None:
    """A trial's structured event with `data_base64` in place of `data` was refused as `data: Field required`, as if
    it had forgotten its data; chibo reads JSON `data` only (CONTRACT.md "Envelope"). It is refused naming
    `data_base64`, saying it is not supported, with its own code, alone and in a batch, on both routes alike."""
    base64_only = ev.member(random_id("mem"), cell)
    base64_only["data_base64"] = "eyJpZCI6ICJtIn0="
    del base64_only["data"]
    both = ev.member(random_id("mem"), cell) | {"data_base64": "eyJpZCI6ICJtIn0="}
    for event in (base64_only, both):
        alone = await handlers.ingest_delivery(
            json.dumps(event).encode(),
            uow_factory,
            batch=False,
            route=route,
            content_type="application/cloudevents+json",
        )
        batched = await handlers.ingest_delivery(
            json.dumps([event]).encode(), uow_factory, batch=True, route=route, content_type=BATCH
        )
        for [result] in (alone, batched):
            said = (result.outcome, result.field, result.refusal and str(result.refusal.code))
            assert said == ("rejected", "data_base64", "data_base64_unsupported"), result
            assert result.reason is not None and "data_base64: not supported" in result.reason, result.reason
            assert "Field required" not in result.reason
