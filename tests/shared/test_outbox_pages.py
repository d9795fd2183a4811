"""Issue 12: marking an outbox row published keeps the row on its page, so the update's WAL is the changed bytes only.

Real RabbitMQ and PostgreSQL (the probe schema of test_messaging). The outbox keeps half of each page free
(shared/migrations/0004_outbox_fillfactor.sql): the relay's `published_at` update then writes the row's new version
beside the old one, and PostgreSQL logs a same-page update as the bytes that differ, not the whole event again.
"""

import asyncio

import aio_pika
import asyncpg

from shared.contracts.meetings import MeetingCancelled
from shared.envelope import CloudEvent, new_event
from shared.outbox import OutboxRelay, add_to_outbox
from tests.shared.conftest import SCHEMA
from tests.support.ids import random_id
from tests.support.running import eventually

ROWS = 60
"""About 1 KB each: some fifteen pages of rows, filled as a bulk transaction fills them."""


def cancelled(meeting_id: str) -> CloudEvent:
    return new_event(
        type="meeting.cancelled.v1",
        source="urn:test:pages",
        event_id=meeting_id,
        data=MeetingCancelled(meeting_id=meeting_id, reason="Mưa bão, đường ngập, họp dời sang tuần sau. " * 18),
    )


async def _pages(pool: asyncpg.Pool, event_ids: list[str]) -> dict[str, tuple[int, bool]]:
    """Per event id: the page of its row's live version and whether it is published."""
    rows = await pool.fetch(
        "SELECT event_id, (ctid::text::point)[0]::int AS page, published_at IS NOT NULL AS published"
        " FROM outbox WHERE event_id = ANY($1::text[])",
        event_ids,
    )
    return {row["event_id"]: (row["page"], row["published"]) for row in rows}


async def test_a_published_row_stays_on_the_page_it_was_written_to(
    pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel, amqp_url: str
) -> None:
    event_ids = [random_id("page") for _ in range(ROWS)]
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, [cancelled(event_id) for event_id in event_ids], schema=SCHEMA)
    written = await _pages(pool, event_ids)
    assert len(written) == ROWS and not any(published for _, published in written.values())
    assert len({page for page, _ in written.values()}) > 5  # the rows fill many pages, not one

    async def all_published() -> dict[str, tuple[int, bool]] | None:
        now = await _pages(pool, event_ids)
        return now if all(published for _, published in now.values()) else None

    relay = OutboxRelay(pool=pool, schema=SCHEMA, amqp_url=amqp_url, poll_seconds=0.2)
    task = asyncio.create_task(relay.run())
    try:
        published = await eventually(all_published, timeout=30)
    finally:
        relay.stop()
        await asyncio.wait_for(task, timeout=15)
    moved = sorted(event_id for event_id in event_ids if published[event_id][0] != written[event_id][0])
    # a full page (fillfactor 100) sent nearly every new version to another page, logging the whole row again
    assert moved == [], f"{len(moved)} of {ROWS} published rows left their page"
