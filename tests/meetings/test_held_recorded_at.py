"""When a secretary recorded a meeting as already held is a column of the meeting (`held_recorded_at`, migration
0020), written as the gateway's schedule with the `alreadyheld` extension is applied, where it was derived at each
publication of documents by parsing the kept schedules' raw envelopes. Meetings recorded before the column get it
from those envelopes once, in SQL, as the parsing read them."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.meetings import handlers
from services.meetings.bootstrap import SERVICE_DIR
from shared.db import apply_migrations, migration_files
from shared.envelope import GATEWAY_SOURCE, HELD_EXTENSION, now
from tests.meetings import events as ev
from tests.meetings.test_secretary_dates import held_meeting
from tests.support.ids import random_id

MIGRATION = "0020_meeting_held_recorded_at.sql"


async def test_the_recording_as_held_is_written_on_the_meeting(uow_factory: Any, meetings_pool: asyncpg.Pool) -> None:
    sent = now().replace(microsecond=0) - timedelta(minutes=30)
    recorded, _member = await held_meeting(uow_factory, sent=sent)
    cell, ahead, fed = random_id("cell"), random_id("mtg"), random_id("mtg")
    later = [
        ev.unit(cell, time=sent - timedelta(days=30)),
        ev.scheduled(ahead, cell, starts_at=sent + timedelta(days=3), source=GATEWAY_SOURCE, time=sent),
        # an integration's schedule says nothing of a secretary's recording, whatever its envelope carries
        ev.scheduled(fed, cell, starts_at=sent - timedelta(days=2), time=sent) | {HELD_EXTENSION: True},
    ]
    assert [r.outcome for r in await handlers.ingest_batch(later, uow_factory, route="http")] == ["accepted"] * 3
    rows = await meetings_pool.fetch(
        "SELECT meeting_id, held_recorded_at FROM meeting WHERE meeting_id = ANY($1::text[])", [recorded, ahead, fed]
    )
    assert {row["meeting_id"]: row["held_recorded_at"] for row in rows} == {recorded: sent, ahead: None, fed: None}
    async with uow_factory() as uow:  # read back as the documents' check reads it
        state = await uow.meetings.get_state(recorded)
    assert state is not None and state.held_recorded_at == sent


def envelope(meeting_id: str, **extensions: Any) -> str:
    """A kept schedule's raw envelope (as apply.py's _start_fact writes it) with these extension attributes."""
    data = {"meeting_id": meeting_id, "cell_id": "c", "kind": "regular", "starts_at": "2026-01-01T01:00:00Z"}
    event = ev.raw_event("meeting.scheduled.v1", data, source=GATEWAY_SOURCE) | extensions
    return json.dumps(event)


async def test_the_migration_fills_the_meetings_recorded_before_it(database_url: str) -> None:
    """Old rows, in a schema migrated up to 0019: each meeting's earliest gateway schedule with `alreadyheld` JSON
    true; nothing for any other value, an integration's or a move's envelope, or a raw text that is no JSON."""
    schema = random_id("meetings_backfill").replace("-", "_")
    files = migration_files(SERVICE_DIR)
    assert MIGRATION in [path.name for path in files]
    await apply_migrations(database_url, schema=schema, files=[path for path in files if path.name < MIGRATION])
    t0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    held, twice, plain, text, feed, move, broken = (random_id(name) for name in ("h", "t", "p", "s", "f", "m", "b"))
    facts = [
        (held, t0, "schedule", GATEWAY_SOURCE, envelope(held, alreadyheld=True)),
        (twice, t0 + timedelta(hours=2), "schedule", GATEWAY_SOURCE, envelope(twice, alreadyheld=True)),
        (twice, t0 + timedelta(hours=1), "schedule", GATEWAY_SOURCE, envelope(twice, alreadyheld=True)),
        (plain, t0, "schedule", GATEWAY_SOURCE, envelope(plain)),
        (text, t0, "schedule", GATEWAY_SOURCE, envelope(text, alreadyheld="true")),
        (feed, t0, "schedule", "urn:test:feed", envelope(feed, alreadyheld=True)),
        (move, t0, "move", GATEWAY_SOURCE, envelope(move, alreadyheld=True)),
        (broken, t0, "schedule", GATEWAY_SOURCE, '{"alreadyheld": true, '),
    ]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'SET search_path TO "{schema}"')
        for meeting_id in {fact[0] for fact in facts}:
            await conn.execute(
                "INSERT INTO meeting (meeting_id, cell_id, kind, agenda, notified_at, schedule_time, schedule_id,"
                " starts_at, start_time, start_id, location, location_time, location_id)"
                " VALUES ($1, 'c', 'regular', '[]', $2, $2, 'e', $2, $2, 'e', 'x', $2, 'e')",
                meeting_id,
                t0,
            )
        await conn.executemany(
            "INSERT INTO meeting_start_fact (meeting_id, version_time, version_id, kind, source, starts_at, raw)"
            " VALUES ($1, $2, $3, $4, $5, $2, $6)",
            [(m, at, random_id("evt"), kind, source, raw) for m, at, kind, source, raw in facts],
        )
        upto = [path for path in files if path.name <= MIGRATION]  # a later migration is not this test's
        assert await apply_migrations(database_url, schema=schema, files=upto) == [MIGRATION]
        rows = await conn.fetch("SELECT meeting_id, held_recorded_at FROM meeting")
        assert {row["meeting_id"]: row["held_recorded_at"] for row in rows} == {
            held: t0,
            twice: t0 + timedelta(hours=1),
            plain: None,
            text: None,
            feed: None,
            move: None,
            broken: None,
        }
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
