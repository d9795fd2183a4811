"""roster_received (meetings 0030) kept the sender and raw event of each meeting's stored roster; since 0031
roster_history keeps every integration's accepted roster with them and the re-judging reads only that, so
roster_received was written with every roster, cleared with every withdrawal, and read by nothing. Migration 0033
drops it: a roster is recorded, withdrawn by a backdated member move, replaced by the earlier one still valid and
then by a later one, all without it."""

import json
from datetime import datetime
from typing import Any

import asyncpg

from services.meetings import handlers
from services.meetings.bootstrap import SERVICE_DIR
from services.meetings.unit_of_work import SCHEMA
from shared.db import apply_migrations, migration_files
from shared.periods import VIETNAM_TZ
from tests.meetings import events as ev
from tests.support.ids import random_id

MIGRATION = "0033_drop_roster_received.sql"
START = datetime(2026, 3, 1, 19, 0, tzinfo=VIETNAM_TZ)


async def test_the_migration_drops_roster_received_and_keeps_the_history(database_url: str) -> None:
    """A schema migrated up to 0032, seeded with plain SQL of that schema (a kept roster in both tables): 0033 drops
    roster_received alone; the roster's place in roster_history stays."""
    schema = random_id("meetings_drop_received").replace("-", "_")
    files = migration_files(SERVICE_DIR)
    assert MIGRATION in [path.name for path in files]
    await apply_migrations(database_url, schema=schema, files=[path for path in files if path.name < MIGRATION])
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'SET search_path TO "{schema}"')
        meeting, raw = random_id("mtg"), json.dumps(ev.attendance("m", {"dv": "present"}))
        await conn.execute(
            "INSERT INTO roster_received (meeting_id, source, raw) VALUES ($1, $2, $3)", meeting, "s", raw
        )
        await conn.execute(
            "INSERT INTO roster_history (meeting_id, version_time, version_ns, version_id, source, raw, members)"
            " VALUES ($1, $2, 0, 'e', 's', $3, ARRAY['dv'])",
            meeting,
            START,
            raw,
        )
        upto = [path for path in files if path.name <= MIGRATION]  # a later migration is not this test's
        assert await apply_migrations(database_url, schema=schema, files=upto) == [MIGRATION]
        assert await conn.fetchval("SELECT to_regclass('roster_received')") is None
        kept = await conn.fetch("SELECT meeting_id, source, raw, members FROM roster_history")
        assert [tuple(row) for row in kept] == [(meeting, "s", raw, ["dv"])]
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


async def rosters(pool: asyncpg.Pool, meeting_id: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The meeting's stored roster (member, status) and the ids of the roster events kept in its history, oldest
    first."""
    async with pool.acquire() as conn:
        stored = await conn.fetch("SELECT member_id, status FROM attendance WHERE meeting_id = $1", meeting_id)
        kept = await conn.fetch(
            "SELECT raw FROM roster_history WHERE meeting_id = $1 ORDER BY version_time, version_ns, version_id",
            meeting_id,
        )
    return sorted((row["member_id"], row["status"]) for row in stored), [json.loads(row["raw"])["id"] for row in kept]


async def test_rosters_are_recorded_withdrawn_and_replaced_without_roster_received(
    meetings_pool: asyncpg.Pool, uow_factory: Any
) -> None:
    """Over every migration: roster A (20:00) then B (21:00, naming m3), m3 moved out of the cell backdated (B
    withdrawn and refused, A restored), then C (22:00) replacing A; each stored roster and history as before 0033."""
    async with meetings_pool.acquire() as conn:
        assert await conn.fetchval("SELECT to_regclass($1)", f'"{SCHEMA}".roster_received') is None
    committee, cell, other, meeting = random_id("xa"), random_id("cb"), random_id("cb"), random_id("mtg")
    m1, m2, m3 = (random_id("dv") for _ in range(3))
    a = ev.attendance(meeting, {m1: "present", m2: "excused"}, time=START.replace(hour=20))
    b = ev.attendance(meeting, {m1: "present", m2: "present", m3: "present"}, time=START.replace(hour=21))
    c = ev.attendance(meeting, {m1: "present", m2: "present"}, time=START.replace(hour=22))
    setup = [
        ev.unit(committee, kind="committee"),
        ev.unit(cell, parent_id=committee),
        ev.unit(other, parent_id=committee),
        *(ev.member(member, cell) for member in (m1, m2, m3)),
        ev.scheduled(meeting, cell, starts_at=START),
        a,
        b,
    ]
    results = await handlers.ingest_batch(setup, uow_factory, route="test")
    assert [result.outcome for result in results] == ["accepted"] * len(setup)
    assert await rosters(meetings_pool, meeting) == (
        sorted([(m1, "present"), (m2, "present"), (m3, "present")]),
        [a["id"], b["id"]],
    )

    moved = await handlers.ingest_batch(
        [ev.member(m3, other, time="2026-02-01T00:00:00+07:00")], uow_factory, route="test"
    )
    assert [result.outcome for result in moved] == ["accepted"]
    assert await rosters(meetings_pool, meeting) == (sorted([(m1, "present"), (m2, "excused")]), [a["id"]])
    async with meetings_pool.acquire() as conn:
        withdrawn = await conn.fetch(
            "SELECT payload FROM outbox WHERE type = 'attendance.withdrawn.v1' AND payload->'data'->>'meeting_id' = $1",
            meeting,
        )
    [payload] = [json.loads(row["payload"]) for row in withdrawn]
    assert (payload["data"]["roster_id"], payload["data"]["restored"]["roster_id"]) == (b["id"], a["id"])

    replaced = await handlers.ingest_batch([c], uow_factory, route="test")
    assert [result.outcome for result in replaced] == ["accepted"]
    assert await rosters(meetings_pool, meeting) == (sorted([(m1, "present"), (m2, "present")]), [a["id"], c["id"]])
