"""Content keys for the minutes stored before the service kept them (migration 0026): without one, the same minutes
re-sent later voided their adoption. Run at start, right after the migrations. Rosters stored before 0027 keep none:
this service stores a roster's statuses only, not its reasons and guests, which its key covers."""

import asyncpg

from shared.contracts.meetings import MinutesSubmitted
from shared.minutes import backfill_content_keys, json_field, minutes_content_key

MINUTES_PAGE_SQL = (
    "SELECT s.meeting_id, s.fact_time AS version_time, s.fact_ns AS version_ns, s.fact_id AS version_id, s.data"
    " FROM minutes s WHERE s.meeting_id > $1 AND s.data ? 'chair_id' AND NOT EXISTS (SELECT 1 FROM minutes_content c"
    " WHERE c.meeting_id = s.meeting_id AND (c.version_time, c.version_ns, c.version_id) = (s.fact_time, s.fact_ns,"
    " s.fact_id)) ORDER BY s.meeting_id LIMIT $2"
)
"""A page of stored minutes lacking a content key (shared.minutes.backfill_content_keys), of those stored in full:
minutes stored before evaluation read them in full (no `chair_id`: services/evaluation/reading.py) can give no key
meetings' equals; read and refused one by one, they were every start's work again and a warning each."""


def stored_minutes_key(row: asyncpg.Record) -> str:
    """The content key of stored minutes (their data as the event carried it), as minutes_content_key gave then."""
    return minutes_content_key(MinutesSubmitted.model_validate(json_field(row["data"])))


async def backfill(pool: asyncpg.Pool) -> dict[str, int]:
    """Give the stored minutes lacking a content key theirs (idempotent); the counts."""
    page_sql, key_of = MINUTES_PAGE_SQL, stored_minutes_key
    return await backfill_content_keys(pool, table="minutes_content", page_sql=page_sql, key_of=key_of)
