"""Planner statistics kept fresh after bulk growth: ANALYZE a service's tables that changed a lot since their last one.

A bulk stretch (a province's tree loaded, a month-start spike) grows tables faster than autovacuum's analyze
thresholds follow, and autovacuum may be off. Without statistics PostgreSQL estimates a grown table from its pages
alone and the default selectivities, and may pick a sequential scan or hash join over it for a per-key statement
(issue 12: 134 members/s before a manual ANALYZE, 3,248/s after). The hot statements are written to take their
indexes regardless (services/*/repository); this keeps the statistics right for the rest and for operators' reads.

Every service runs `keep_statistics` beside its outbox relay (shared.runtime): each round reads
pg_stat_user_tables (a cheap read of the statistics collector's counters) and analyzes, each in its own statement
and outside any unit of work, the tables of its schema whose rows inserted, updated or deleted since their last
analyze exceed `min_rows` plus `fraction` of the rows the planner knew then, as autovacuum's analyze threshold does.
"""

import contextlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import asyncpg

from shared.background import poll
from shared.db import keeps_session_state
from shared.logs import get_logger

log = get_logger(__name__)

UNPLANNED_TABLES = ("outbox", "processed_message")
"""The messaging tables of every schema (shared/migrations), left out: each of their statements goes by a key or a
partial index whose predicate it repeats, so no plan of theirs depends on statistics, and they grow with every event,
so analyzing them was most of the maintenance's cost (month-start at scale 0.1: 12-16 outbox analyzes per service of
0.4-1.06 s each, the run's costliest statements). Autovacuum, where it is on, still analyzes them."""

GROWN_TABLES_SQL = (
    "SELECT s.relname AS table_name, s.n_live_tup AS live_rows, s.n_mod_since_analyze AS changed_rows,"
    " greatest(c.reltuples, 0)::bigint AS planned_rows"
    " FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
    " WHERE s.schemaname = $1 AND s.n_mod_since_analyze > $2 + $3 * greatest(c.reltuples, 0)"
    " AND NOT s.relname = ANY($4::text[])"
    " ORDER BY s.n_mod_since_analyze DESC, s.relname"
)
"""The schema's tables past the threshold: rows changed since the last analyze > min_rows + fraction × the rows the
planner knew (pg_class.reltuples; -1, unknown, before any analyze)."""


@dataclass(frozen=True)
class AnalyzedTable:
    """One table analyzed, with the counts that made it due."""

    table: str
    live_rows: int
    changed_rows: int
    planned_rows: int
    seconds: float


async def analyze_grown_tables(
    conn: asyncpg.Connection,
    *,
    schema: str,
    fraction: float,
    min_rows: int,
    skip: Sequence[str] = UNPLANNED_TABLES,
) -> list[AnalyzedTable]:
    """ANALYZE each table of `schema` (but `skip`) changed by more than `min_rows` + `fraction` of its planned rows
    since its last analyze, one statement each (not inside a transaction of the caller's); those analyzed, logged."""
    due = await conn.fetch(GROWN_TABLES_SQL, schema, min_rows, fraction, list(skip))
    done: list[AnalyzedTable] = []
    for row in due:
        seconds = await _analyze(conn, schema, row["table_name"])
        table = AnalyzedTable(
            table=row["table_name"],
            live_rows=row["live_rows"],
            changed_rows=row["changed_rows"],
            planned_rows=row["planned_rows"],
            seconds=seconds,
        )
        log.info("table_analyzed", schema=schema, **asdict(table))
        done.append(table)
    return done


async def analyze_tables(
    conn: asyncpg.Connection, *, schema: str, tables: list[str], reason: str
) -> list[AnalyzedTable]:
    """ANALYZE the named tables of `schema` now (after a bulk stretch that loaded them), each logged with its rows;
    returned too, for a command to report them in its summary (bulk-load's JSON on stdout)."""
    done: list[AnalyzedTable] = []
    for name in tables:
        seconds = await _analyze(conn, schema, name)
        row = await conn.fetchrow(
            "SELECT c.reltuples::bigint AS planned_rows, coalesce(s.n_live_tup, 0) AS live_rows"
            " FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = to_regclass($1)",
            _qualified(schema, name),
        )
        table = AnalyzedTable(
            table=name,
            live_rows=row["live_rows"] if row else 0,
            changed_rows=0,
            planned_rows=row["planned_rows"] if row else 0,
            seconds=seconds,
        )
        log.info(
            "table_analyzed", schema=schema, table=name, planned_rows=table.planned_rows, reason=reason, seconds=seconds
        )
        done.append(table)
    return done


async def _analyze(conn: asyncpg.Connection, schema: str, table: str) -> float:
    """ANALYZE one table of `schema`; the seconds it took, rounded to milliseconds."""
    started = time.perf_counter()
    await conn.execute(f"ANALYZE {_qualified(schema, table)}")
    return round(time.perf_counter() - started, 3)


async def keep_statistics(
    pool: asyncpg.Pool, *, schema: str, poll_seconds: float, fraction: float, min_rows: int
) -> None:
    """Run `analyze_grown_tables` on the schema every `poll_seconds` until cancelled; one instance of a service at a
    time does a round (a session advisory lock tried, not waited for), the others skip it."""
    lock_key = f"chibo.statistics:{schema}"

    async def step() -> bool:
        async with pool.acquire() as conn:
            keeps_session_state(conn)  # the release resets it fully, should the unlock below not run
            if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", lock_key):
                return False
            try:
                await analyze_grown_tables(conn, schema=schema, fraction=fraction, min_rows=min_rows)
            finally:
                # after a cancel (shutdown) mid-ANALYZE the connection may refuse this; its reset on release unlocks
                with contextlib.suppress(Exception):
                    await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", lock_key)
        return False

    await poll(f"{schema}.statistics", step, poll_seconds=poll_seconds)


def _qualified(schema: str, table: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in (schema, table))
