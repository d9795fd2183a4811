"""A replay judges a rejected body the way its first reading did, so every kind of rejection replays to its own reason
(a trial: a batch of 1,001 events replayed as "over the size limit", a body not UTF-8 as "not valid JSON"): a body
not kept as sent (cut, or not UTF-8) is refused as body_not_kept saying its first reason, a body that reads as no
JSON as body_reads_no_json, and one certain to be refused again as sent (content type refused or absent, a batch
envelope that is no batch or over the event count, kept whole within the size limit) as refused_again_as_sent
(real PostgreSQL)."""

import json
import uuid
from typing import Any

import pytest

from services.meetings import handlers
from services.meetings.queries import rejection
from shared.envelope import MAX_BATCH_SIZE
from shared.reading import body_reads_no_json, refused_again_as_sent
from tests.meetings import events as ev
from tests.support.ids import random_id

BATCH = "application/cloudevents-batch+json"


async def stored_rejection(db: Any, marker: str) -> dict[str, Any]:
    """The one rejection whose kept body holds `marker`."""
    rows = await db.fetch("SELECT rejection_id FROM meetings.rejection WHERE strpos(raw, $1) > 0", marker)
    assert len(rows) == 1, rows
    return dict(rows[0])


async def read_back(pool: Any, rejection_id: str) -> dict[str, Any] | None:
    """The rejection as its reply reads it (queries.rejection, on the meetings schema)."""
    async with pool.acquire() as conn:
        return await rejection(conn, rejection_id)


async def replayed(uow_factory: Any, rejection_id: str) -> handlers.IngestResult:
    async with uow_factory() as uow:
        result = await handlers.replay_rejection(rejection_id, uow)
        await uow.commit()
    return result


async def test_a_batch_over_the_event_count_is_not_replayed_as_it_was(
    uow_factory: Any, db: Any, meetings_pool: Any
) -> None:
    """A batch of 1,001 events is kept whole (within the size limit) and refused naming the event count; replayed as it
    was it could only be refused again for the same reason (a trial's replay stored a new attempt refused so), so the
    replay is refused up front (refused_again_as_sent), storing nothing."""
    marker = random_id("many")
    events = [ev.member(f"{marker}-{index}", "cell-none") for index in range(MAX_BATCH_SIZE + 1)]
    body = json.dumps(events).encode()
    [first] = await handlers.ingest_delivery(body, uow_factory, batch=True, route="http", content_type=BATCH)
    assert first.reason == f"body: a batch holds at most {MAX_BATCH_SIZE} events, got {MAX_BATCH_SIZE + 1}"
    found = await stored_rejection(db, marker)
    attempts = "SELECT count(*) FROM meetings.rejection_attempt WHERE rejection_id = $1"
    before = await db.fetchval(attempts, found["rejection_id"])
    async with uow_factory() as uow:
        with pytest.raises(handlers.RejectionRefusedAgainAsSent) as caught:
            await handlers.replay_rejection(found["rejection_id"], uow)
    assert caught.value.refusal.code == "refused_again_as_sent" and str(first.reason) in str(caught.value)
    assert await db.fetchval(attempts, found["rejection_id"]) == before
    kept = await read_back(meetings_pool, found["rejection_id"])
    assert kept is not None and kept["status"] == "open" and kept["last_replay_reason"] is None
    assert kept["body_not_kept"] is None


@pytest.mark.parametrize("batch", [False, True])
async def test_a_body_not_utf8_is_not_replayed_as_other_text_and_says_its_first_reason(
    uow_factory: Any, db: Any, meetings_pool: Any, batch: bool
) -> None:
    marker = random_id("latin")
    body = (f'[{{"id": "{marker}", "x": "' if batch else f'{{"id": "{marker}", "x": "').encode() + b'\xff\xfe"}'
    body += b"]" if batch else b""
    [first] = await handlers.ingest_delivery(
        body, uow_factory, batch=batch, route="http", content_type=BATCH if batch else "application/cloudevents+json"
    )
    assert first.reason is not None and first.reason.startswith("body: not valid UTF-8"), first
    found = await stored_rejection(db, marker)
    before = await db.fetchval("SELECT count(*) FROM meetings.rejection")
    async with uow_factory() as uow:
        with pytest.raises(handlers.RejectionUnreplayable) as caught:
            await handlers.replay_rejection(found["rejection_id"], uow)
    assert caught.value.refusal.code == "body_not_kept"
    assert first.reason in str(caught.value) and "UTF-8" in str(caught.value) and "size limit" not in str(caught.value)
    assert await db.fetchval("SELECT count(*) FROM meetings.rejection") == before
    kept = await read_back(meetings_pool, found["rejection_id"])
    assert kept is not None and kept["body_not_kept"] == "not_utf8"


async def test_a_batch_over_the_count_and_the_size_says_its_count_when_not_replayed(
    uow_factory: Any, db: Any, meetings_pool: Any
) -> None:
    marker = random_id("huge")
    pad = "x" * 1_100
    events = [ev.member(f"{marker}-{index}", "cell-none", data={"pad": pad}) for index in range(MAX_BATCH_SIZE + 1)]
    body = json.dumps(events).encode()
    [first] = await handlers.ingest_delivery(body, uow_factory, batch=True, route="http", content_type=BATCH)
    found = await stored_rejection(db, marker)
    async with uow_factory() as uow:
        with pytest.raises(handlers.RejectionUnreplayable) as caught:
            await handlers.replay_rejection(found["rejection_id"], uow)
    said = str(caught.value)
    assert first.reason is not None and first.reason in said and "first 2048 characters" in said, said
    kept = await read_back(meetings_pool, found["rejection_id"])
    assert kept is not None and kept["body_not_kept"] == "cut"


@pytest.mark.parametrize(
    ("body", "batch"),
    [
        ('["{marker}", 1, 2', True),
        ('{{"id": "{marker}", not json}}', False),
        ('{{"id": "{marker}", "agenda": ' + "[" * 80 + "]" * 80 + "}}", False),
    ],
)
async def test_a_body_that_reads_as_no_json_is_not_replayed_as_it_was_and_stores_no_attempt(
    uow_factory: Any, db: Any, meetings_pool: Any, body: str, batch: bool
) -> None:
    """A replay of such a body was judged again and refused again, storing a new attempt (binary mode: for another
    reason, `data: Input should be a valid dictionary`); the operations page already offered no "Xét lại" for it.
    Refused up front, as the page's rule says (shared.reading.body_reads_no_json), naming its first reason."""
    marker = random_id("nojson")
    sent = body.format(marker=marker).encode()
    content_type = BATCH if batch else "application/cloudevents+json"
    [first] = await handlers.ingest_delivery(sent, uow_factory, batch=batch, route="http", content_type=content_type)
    assert first.outcome == "rejected" and body_reads_no_json(first.reason), first
    found = await stored_rejection(db, marker)
    attempts = "SELECT count(*) FROM meetings.rejection_attempt WHERE rejection_id = $1"
    before = await db.fetchval(attempts, found["rejection_id"])
    async with uow_factory() as uow:
        with pytest.raises(handlers.RejectionReadsNoJson) as caught:
            await handlers.replay_rejection(found["rejection_id"], uow)
    assert caught.value.refusal.code == "body_reads_no_json"
    assert str(first.reason) in str(caught.value) and "cannot be read as JSON" in str(caught.value)
    assert await db.fetchval(attempts, found["rejection_id"]) == before
    kept = await read_back(meetings_pool, found["rejection_id"])
    assert kept is not None and kept["status"] == "open" and kept["last_replay_reason"] is None


@pytest.mark.parametrize("route", ["http", "amqp"])
@pytest.mark.parametrize(
    ("body", "content_type", "batch"),
    [
        ("hello {marker}", "text/plain", False),
        ("<event id='{marker}'/>", "application/xml", False),
        ("garbage {marker}", None, False),
        ('{{"id": "{marker}"}}', BATCH, True),
        ("[{number}]", BATCH, True),
        ("[]", BATCH, True),
    ],
    ids=["text_plain", "xml", "no_content_type", "batch_not_array", "batch_item_not_object", "batch_empty"],
)
async def test_a_body_refused_again_as_sent_is_not_replayed_as_it_was_and_stores_no_attempt(
    uow_factory: Any, db: Any, meetings_pool: Any, route: str, body: str, content_type: str | None, batch: bool
) -> None:
    """A trial replayed a body refused for its content type (or sent with none), and batch envelopes that are no batch
    or hold no event object: each was judged again and refused again, storing a new attempt. Refused up front, as the
    page's rule says (shared.reading.refused_again_as_sent), naming its first reason; nothing stored."""
    marker = random_id("as-sent")
    number = str(int(uuid.uuid4().int % 10**15))
    sent = body.format(marker=marker, number=number).encode()
    rows = "SELECT rejection_id FROM meetings.rejection WHERE raw = $1"
    kept_as = number if batch and sent.startswith(b"[") and sent != b"[]" else sent.decode()  # an item kept alone
    earlier = {row["rejection_id"] for row in await db.fetch(rows, kept_as)}
    [first] = await handlers.ingest_delivery(sent, uow_factory, batch=batch, route=route, content_type=content_type)
    assert first.outcome == "rejected" and refused_again_as_sent(first.reason), first
    assert not body_reads_no_json(first.reason), first
    [found] = [row for row in await db.fetch(rows, kept_as) if row["rejection_id"] not in earlier]
    attempts = "SELECT count(*) FROM meetings.rejection_attempt WHERE rejection_id = $1"
    before = await db.fetchval(attempts, found["rejection_id"])
    async with uow_factory() as uow:
        with pytest.raises(handlers.RejectionRefusedAgainAsSent) as caught:
            await handlers.replay_rejection(found["rejection_id"], uow)
    assert caught.value.refusal.code == "refused_again_as_sent"
    assert str(first.reason) in str(caught.value), caught.value
    assert await db.fetchval(attempts, found["rejection_id"]) == before
    kept = await read_back(meetings_pool, found["rejection_id"])
    assert kept is not None and kept["status"] == "open" and kept["last_replay_reason"] is None
