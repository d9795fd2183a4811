"""Content keys for the minutes stored before the service kept them (migration 0026): without one, the same minutes
re-sent later voided their adoption. Run at start, right after the migrations. Rosters stored before 0027 keep none:
this service stores a roster's statuses only, not its reasons and guests, which its key covers. The keys kept while
evaluation read minutes in part (computed from part of them, unlike meetings') are computed again once, for the minutes
it holds in full (recheck, migration 0028)."""

from datetime import datetime

import asyncpg
from pydantic import ValidationError

from shared.contracts.meetings import MinutesSubmitted
from shared.logs import get_logger
from shared.minutes import BACKFILL_PAGE, backfill_content_keys, json_field, lacking_key_sql, minutes_content_key

log = get_logger(__name__)

MINUTES_PAGE_SQL = (
    "SELECT s.meeting_id, s.fact_time AS version_time, s.fact_ns AS version_ns, s.fact_id AS version_id, s.data"
    " FROM minutes s WHERE s.meeting_id > $1 AND s.data ? 'chair_id'"
    + lacking_key_sql("minutes_content", version=("fact_time", "fact_ns", "fact_id"))
)
"""A page of stored minutes lacking a content key and not found unreadable before (shared.minutes.
backfill_content_keys), of those stored in full: minutes stored before evaluation read them in full (no `chair_id`:
services/evaluation/reading.py) can give no key meetings' equals; read and refused one by one, they were every start's
work again and a warning each."""


def stored_minutes_key(row: asyncpg.Record) -> str:
    """The content key of stored minutes (their data as the event carried it), as minutes_content_key gave then."""
    return minutes_content_key(MinutesSubmitted.model_validate(json_field(row["data"])))


RECHECK_PAGE_SQL = (
    "SELECT s.meeting_id, s.fact_time AS version_time, s.fact_ns AS version_ns, s.fact_id AS version_id, s.data,"
    " c.content_key FROM minutes s CROSS JOIN LATERAL (SELECT c.content_key FROM minutes_content c"
    " WHERE c.meeting_id = s.meeting_id AND (c.version_time, c.version_ns, c.version_id) = (s.fact_time, s.fact_ns,"
    " s.fact_id) AND NOT c.rechecked LIMIT 1) c"
    " WHERE s.meeting_id > $1 AND s.data ? 'chair_id' ORDER BY s.meeting_id LIMIT $2"
)
"""A page of stored minutes held in full whose kept key was not computed again since migration 0028, with that key.
The key is looked up per stored minutes (LIMIT 1 keeps the lateral from being joined as a whole): joined, PostgreSQL
misjudged the four-column match as one row and hashed every unchecked key for each page, 0.7 s a page at 200,000
minutes (the recheck took minutes, growing with the square of the table); walked in key order it stops at the page."""
_RECHECKED_SQL = (
    "UPDATE minutes_content c SET content_key = u.k, rechecked = true"
    " FROM unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::text[], $5::text[]) AS u(m, t, n, i, k)"
    " WHERE c.meeting_id = u.m AND (c.version_time, c.version_ns, c.version_id) = (u.t, u.n, u.i)"
)
_RESCORE_SQL = (
    "INSERT INTO dirty_cell (cell_id, only_meetings) SELECT cell_id, array_agg(meeting_id ORDER BY meeting_id)"
    " FROM meeting WHERE meeting_id = ANY($1::text[]) GROUP BY cell_id"
)


async def recheck(pool: asyncpg.Pool, *, page_size: int = BACKFILL_PAGE) -> dict[str, int]:
    """Compute again, once (migration 0028), the key of every stored minutes version held in full whose key was kept
    before: while evaluation read minutes in part it keyed them on part of the text, unlike meetings (shared.minutes).
    A key that differs is corrected and its meeting noted for scoring again (its adoption may stand or fall); every
    key left unchecked then (minutes stored in part, older versions: no full text to compute from) is marked checked,
    so later starts read nothing. Counts: read, corrected, unreadable."""
    counts = {"read": 0, "corrected": 0, "unreadable": 0}
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM minutes_content WHERE NOT rechecked)"):
            return counts  # done at an earlier start (the partial index minutes_content_unchecked answers)
    after = ""
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(RECHECK_PAGE_SQL, after, page_size)
            if not rows:
                break
            checked: list[tuple[str, datetime, int, str, str]] = []
            corrected: list[str] = []
            for row in rows:
                try:
                    key = stored_minutes_key(row)
                except ValidationError as error:
                    counts["unreadable"] += 1
                    log.warning(
                        "content_key_unreadable",
                        table="minutes_content",
                        meeting_id=row["meeting_id"],
                        error=str(error),
                    )
                    key = row["content_key"]
                if key != row["content_key"]:
                    corrected.append(row["meeting_id"])
                checked.append((row["meeting_id"], row["version_time"], row["version_ns"], row["version_id"], key))
            await conn.execute(_RECHECKED_SQL, *(list(column) for column in zip(*checked, strict=True)))
            if corrected:
                await conn.execute(_RESCORE_SQL, corrected)
        counts["read"] += len(rows)
        counts["corrected"] += len(corrected)
        after = rows[-1]["meeting_id"]
    await mark_rest_checked(pool, page_size=page_size)
    log.info("content_keys_rechecked", table="minutes_content", **counts)
    return counts


_REST_CHECKED_SQL = (
    "WITH page AS (SELECT DISTINCT meeting_id FROM minutes_content WHERE NOT rechecked AND meeting_id > $1"
    " ORDER BY meeting_id LIMIT $2) UPDATE minutes_content c SET rechecked = true FROM page"
    " WHERE c.meeting_id = page.meeting_id AND NOT c.rechecked RETURNING c.meeting_id"
)


async def mark_rest_checked(pool: asyncpg.Pool, *, page_size: int = BACKFILL_PAGE) -> int:
    """Mark checked the keys recheck could not compute again (minutes stored in part, older versions), the meetings
    of a page at a time in meeting_id order, each page committed alone (no transaction over the whole table); how
    many."""
    marked, after = 0, ""
    while True:
        async with pool.acquire() as conn:
            rows = await conn.fetch(_REST_CHECKED_SQL, after, page_size)
        if not rows:
            return marked
        marked += len(rows)
        after = max(row["meeting_id"] for row in rows)


async def backfill(pool: asyncpg.Pool) -> dict[str, int]:
    """Give the stored minutes lacking a content key theirs (idempotent), then recheck the keys kept before migration
    0028 (once); the counts of the first."""
    page_sql, key_of = MINUTES_PAGE_SQL, stored_minutes_key
    counts = await backfill_content_keys(pool, table="minutes_content", page_sql=page_sql, key_of=key_of)
    await recheck(pool)
    return counts
