"""The per-batch statements of the fact projection take their indexes on grown tables that were never analyzed (as
after a bulk load, autovacuum behind or off), and answer as before."""

import json
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from services.evaluation.domain.facts import COMMITTEE_ROLE, members_in_cell_at
from services.evaluation.repository.facts import COMMITTEE_HISTORIES, MEETINGS_OF_CELLS, PgFactRepository
from tests.evaluation.private_db import private_pool

CELLS = 2000
MEMBERS = 17

GROW = f"""
INSERT INTO member_snapshot (member_id, fact_time, fact_id, cell_id, role)
 SELECT 'c' || c || 'm' || i, timestamptz '2026-10-01 08:00+07', 'f' || c || '-' || i, 'c' || c,
  CASE WHEN i = 0 THEN 'secretary' WHEN i IN (2, 3) THEN '{COMMITTEE_ROLE}' ELSE 'member' END
 FROM generate_series(0, {CELLS} - 1) c, generate_series(0, {MEMBERS} - 1) i;
INSERT INTO member_snapshot (member_id, fact_time, fact_id, cell_id, role)
 VALUES ('c7m2', timestamptz '2026-10-05 08:00+07', 'g', 'c8', 'member');
INSERT INTO member_removal (member_id, effective_on, fact_time, fact_id)
 VALUES ('c7m3', date '2026-10-20', timestamptz '2026-10-20 08:00+07', 'r');
INSERT INTO meeting (meeting_id, cell_id, kind, starts_at, notified_at, committee_prepared, fact_time, fact_id)
 SELECT 'c' || c || '-' || mo, 'c' || c, 'regular', timestamptz '2026-10-04 19:30+07' + mo * interval '30 days',
  NULL, true, now(), 'f' FROM generate_series(0, {CELLS} - 1) c, generate_series(0, 2) mo;
INSERT INTO attendance (meeting_id, records, fact_time, fact_id)
 SELECT meeting_id, '{{"c0m0": "present"}}'::jsonb, now(), 'f' FROM meeting;
INSERT INTO minutes (meeting_id, data, fact_time, fact_id) SELECT meeting_id, '{{}}'::jsonb, now(), 'f' FROM meeting;
INSERT INTO approval (meeting_id, approved_at, fact_time, fact_id) SELECT meeting_id, now(), now(), 'f' FROM meeting;
"""
"""A province's facts (34,000 snapshots, 6,000 meetings with their snapshots) written at once, no ANALYZE after."""


def scanned(plan: dict[str, Any]) -> set[tuple[str, str]]:
    """(node type, relation) of every scan in a plan."""
    found = {(plan["Node Type"], plan["Relation Name"])} if "Relation Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= scanned(child)
    return found


async def plan_of(conn: asyncpg.Connection, sql: str, *args: Any) -> set[tuple[str, str]]:
    """The scans of a statement's plan, custom and generic (a prepared statement's plan after five runs)."""
    found = scanned(json.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args))[0]["Plan"])
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    try:
        found |= scanned(json.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args))[0]["Plan"])
    finally:
        await conn.execute("RESET plan_cache_mode")
    return found


async def test_committee_histories_and_cells_meetings_read_by_index_on_unanalyzed_grown_tables(
    database_url: str,
) -> None:
    async with private_pool(database_url) as pool, pool.acquire() as conn:
        await conn.execute(GROW)
        cells = [f"c{index}" for index in range(0, CELLS, 7)]  # a scoring round's batch of cells

        histories = await plan_of(conn, COMMITTEE_HISTORIES, cells)
        meetings = await plan_of(conn, MEETINGS_OF_CELLS, cells)

        sequential = {scan for scan in histories | meetings if "Seq Scan" in scan[0]}
        assert sequential == set()
        assert {relation for _, relation in histories} == {"member_snapshot", "member_removal"}
        assert {relation for _, relation in meetings} >= {"meeting", "attendance", "minutes", "approval"}
        unanalyzed = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = 'evaluation'"
            " AND relname IN ('member_snapshot', 'meeting') AND last_analyze IS NULL AND last_autoanalyze IS NULL"
        )
        assert unanalyzed in (0, 2)  # where autovacuum is on it may have analyzed them meanwhile: the plans hold too

        facts = PgFactRepository(conn)
        found = await facts.committee_histories(["c7", "c8", "c9", "nowhere"])
        snapshots, removals = found["c7"]
        # every member ever in the cell (its committee and its members at a meeting's start are read from them)
        assert len(snapshots) == MEMBERS + 1
        assert sorted(
            (s.member_id, s.cell_id, s.role) for s in snapshots if s.role != "member" or s.cell_id != "c7"
        ) == [
            ("c7m0", "c7", "secretary"),
            ("c7m2", "c7", COMMITTEE_ROLE),
            ("c7m2", "c8", "member"),
            ("c7m3", "c7", COMMITTEE_ROLE),
        ]
        assert {member: removal.effective_on for member, removal in removals.items()} == {"c7m3": date(2026, 10, 20)}
        assert [len(found[cell][0]) for cell in ("c8", "c9", "nowhere")] == [MEMBERS + 2, MEMBERS, 0]
        in_c7 = [
            len(members_in_cell_at(cell_id="c7", moment=moment, snapshots=snapshots, removals=removals))
            for moment in (
                datetime(2026, 10, 4, tzinfo=UTC),
                datetime(2026, 10, 10, tzinfo=UTC),
                datetime(2026, 10, 21, tzinfo=UTC),
            )
        ]
        assert in_c7 == [MEMBERS, MEMBERS - 1, MEMBERS - 2]  # c7m2 moved to c8 on 5 October, c7m3 removed on the 20th
        by_cell = await facts.cells_meetings(["c7", "nowhere"])
        assert [m.meeting_id for m in by_cell["c7"]] == ["c7-0", "c7-1", "c7-2"]
        assert by_cell["c7"][0].roster == {"c0m0": "present"} and by_cell["c7"][0].approved_at is not None
        assert by_cell["c7"][0].starts_at == datetime(2026, 10, 4, 12, 30, tzinfo=UTC)
        assert by_cell["nowhere"] == []
