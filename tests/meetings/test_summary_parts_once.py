"""A meeting's summary (queries.get_meeting, list_meetings) judged whether the stored minutes leave the adoption
standing (shared.minutes.part_stands_sql) twice a meeting: once inside the adoption's rule (adopted_at) and again
for `minutes_stand` (what voided it), reading the minutes' content keys twice. It is judged once a meeting; what the
page says is unchanged.

Over the real broker and database: the content-key scans PostgreSQL executes for the summary of one meeting are
counted (EXPLAIN ANALYZE) against those of the minutes' part_stands_sql alone."""

import json
from datetime import timedelta
from typing import Any

import asyncpg

from services.meetings import queries
from shared.minutes import part_stands_sql
from shared.rpc import RpcClient
from tests.meetings.feed import Feed
from tests.meetings.test_adoption_voided_by_roster import ADOPTED_AT, outcome, world
from tests.meetings.test_cancelled_stays_quiet import rpc
from tests.meetings.test_meeting_state_rules_both_routes import START, adoption, minutes
from tests.support.ids import random_id

__all__ = ["rpc", "world"]  # the fixtures

_MINUTES_PART = (
    "SELECT "
    + part_stands_sql(
        table="minutes_content",
        meeting_id="m.meeting_id",
        approval_time="m.approval_time",
        version_time="mv.version_time",
        version_ns="mv.version_ns",
        version_id="mv.version_id",
    )
    + " FROM meeting m LEFT JOIN minutes mv ON mv.meeting_id = m.meeting_id WHERE m.meeting_id = $1"
)


def _loops(plan: dict[str, Any], relation: str) -> int:
    """The times nodes reading `relation` ran in an EXPLAIN (ANALYZE, FORMAT JSON) plan, its subplans included."""
    own = plan["Actual Loops"] if plan.get("Relation Name") == relation else 0
    return own + sum(_loops(child, relation) for child in plan.get("Plans", []))


async def _scans(db: asyncpg.Connection, sql: str, meeting_id: str) -> int:
    async with db.transaction():
        await db.execute("SET LOCAL search_path TO meetings")
        explained = await db.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", meeting_id)
    [root] = json.loads(explained) if isinstance(explained, str) else explained
    return _loops(root["Plan"], "minutes_content")


async def test_the_summary_reads_the_minutes_keys_once_a_meeting(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection
) -> None:
    bus, ids = world
    mtg = random_id("mtg")
    late = [adoption(mtg, time=ADOPTED_AT), minutes(ids, mtg, time=START + timedelta(hours=14), minutes_long=60)]
    assert await outcome(rpc, bus, db, "amqp", ids, late) == ("minutes_submitted", None, ADOPTED_AT, "minutes")
    alone = await _scans(db, _MINUTES_PART, mtg)
    assert alone >= 2  # the stored minutes' key and the adopted one's: minutes issued after the adoption
    summary = queries._SUMMARY.replace("SELECT ", "SELECT m.*, ", 1) + " WHERE m.meeting_id = $1"
    assert await _scans(db, summary, mtg) == alone
