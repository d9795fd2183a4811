"""A batch sent again after it was stored (a partner's retry after a timeout, the deadline's 503 asking for it): its
events are found in the inbox by the batch's one inbox statement, not one statement each. Before, every event found
there before was checked again on its own (an insert and a read each): a resent 400-event batch sent about 800
inbox statements, the slowest case of the HTTP batch route. Each outcome stays as before (duplicate, held, an id
reused with other content rejected, new ones accepted), and an event whose hold the same transaction changed first
is checked again; two batches sent at once with the same events still store each once (the inbox insert stays the
gate). Real PostgreSQL."""

import asyncio
import json
from typing import Any

import asyncpg

from services.meetings import handlers
from services.meetings.handlers.ingest import REUSED_ID
from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared.envelope import BATCH_CONTENT_TYPE
from tests.meetings import events as ev
from tests.meetings.test_batch_statements import CountingUnitOfWork
from tests.support.ids import random_id


async def resend(pool: asyncpg.Pool, events: list[dict[str, Any]], sent: list[str]) -> list[str]:
    """Send `events` as an HTTP batch body, as the gateway hands it over, its statements noted in `sent`; the
    outcomes."""
    results = await handlers.ingest_delivery(
        json.dumps(events).encode(),
        lambda: CountingUnitOfWork(pool, sent),
        batch=True,
        route="http",
        content_type=BATCH_CONTENT_TYPE,
    )
    return [result.outcome for result in results]


async def test_a_resent_batch_checks_its_events_in_the_inbox_by_a_bounded_number_of_statements(
    meetings_pool: asyncpg.Pool,
) -> None:
    cells = [random_id("cell") for _ in range(2)]
    await handlers.ingest_batch([ev.unit(cell) for cell in cells], lambda: MeetingsUnitOfWork(meetings_pool), route="t")
    batch = [ev.member(random_id("mem"), cells[n % 2]) for n in range(400)]
    assert await resend(meetings_pool, batch, []) == ["accepted"] * 400

    sent: list[str] = []
    assert await resend(meetings_pool, batch, sent) == ["duplicate"] * 400

    transactions = sent.count("COMMIT;")
    inbox = [query for query in sent if "processed_message" in query]
    # per transaction its insert and the read of the rows there before; 802 before (an insert and a read per event)
    assert 1 <= transactions <= 2 and len(inbox) <= 2 * transactions, "\n".join(query[:100] for query in inbox)


async def test_a_resent_batch_answers_each_event_as_before(meetings_pool: asyncpg.Pool) -> None:
    cell, unknown, later = random_id("cell"), random_id("cell"), random_id("cell")
    stored = ev.member(random_id("mem"), cell)
    reused = ev.member(random_id("mem"), cell)
    still_held = ev.member(random_id("mem"), unknown)
    released = ev.member(random_id("mem"), later)
    first = await resend(meetings_pool, [ev.unit(cell), stored, reused, still_held, released], [])
    assert first == ["accepted", "accepted", "accepted", "held", "held"]
    other_content = {**reused, "data": {**reused["data"], "full_name": "Trần Thị Khác"}}
    fresh = ev.member(random_id("mem"), cell)

    again = await resend(
        meetings_pool,
        # `later` arrives before the copy of the member held for it (one transaction: they share its key): the member
        # is applied in this transaction, so its copy is a duplicate, no longer held; so is its copy after it
        [stored, other_content, fresh, still_held, ev.unit(later), released, released],
        [],
    )

    assert again == ["duplicate", "rejected", "accepted", "held", "accepted", "duplicate", "duplicate"]
    async with meetings_pool.acquire() as conn:
        reason = await conn.fetchval(
            "SELECT reason FROM rejection WHERE source = $1 AND event_id = $2", reused["source"], reused["id"]
        )
        held = await conn.fetchval(
            "SELECT count(*) FROM held_event WHERE event_id = ANY($1::text[])", [still_held["id"], released["id"]]
        )
    assert reason == REUSED_ID and held == 1


async def test_two_batches_sent_at_once_with_the_same_events_store_each_once(meetings_pool: asyncpg.Pool) -> None:
    cells = [random_id("cell") for _ in range(2)]
    await handlers.ingest_batch([ev.unit(cell) for cell in cells], lambda: MeetingsUnitOfWork(meetings_pool), route="t")
    stored = [ev.member(random_id("mem"), cells[n % 2]) for n in range(100)]
    assert await resend(meetings_pool, stored, []) == ["accepted"] * 100
    batch = stored + [ev.member(random_id("mem"), cells[n % 2]) for n in range(100)]  # resent, and new ones

    answers = await asyncio.gather(resend(meetings_pool, batch, []), resend(meetings_pool, batch, []))

    assert [a[:100] for a in answers] == [["duplicate"] * 100] * 2
    assert all(sorted(pair) == ["accepted", "duplicate"] for pair in zip(*(a[100:] for a in answers), strict=True))
    async with meetings_pool.acquire() as conn:
        inbox = await conn.fetchval(
            "SELECT count(*) FROM processed_message WHERE event_id = ANY($1::text[])", [e["id"] for e in batch]
        )
        published = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE type = 'member.upserted.v1'"
            " AND payload->'data'->>'id' = ANY($1::text[])",
            [e["data"]["id"] for e in batch],
        )
    assert inbox == 200 and published == 200
