"""Content keys for the minutes and rosters stored before the service kept them (migrations 0026, 0027): without one,
the same text re-sent later voided their adoption. Run at start, right after the migrations."""

from typing import Any

import asyncpg

from services.meetings.repository.meetings import STORED_MINUTES_COLUMNS
from shared.contracts.meetings import AttendanceRecorded, MinutesSubmitted
from shared.minutes import (
    backfill_content_keys,
    json_field,
    lacking_key_sql,
    minutes_content_key,
    roster_content_key,
)

MINUTES_PAGE_SQL = (
    f"SELECT {', '.join(f's.{name}' for name in STORED_MINUTES_COLUMNS)}, s.version_time, s.version_ns,"
    " s.version_id, s.speakers, s.resolutions,"
    " (SELECT coalesce(jsonb_agg(jsonb_build_object('task_id', t.task_id, 'assignee_id', t.assignee_id,"
    " 'description', t.description, 'due_on', t.due_on)), '[]'::jsonb) FROM task t"
    " WHERE t.meeting_id = s.meeting_id) AS tasks"
    " FROM minutes s WHERE s.meeting_id > $1" + lacking_key_sql("minutes_content")
)
"""A page of stored minutes lacking a content key and not found unreadable before, with their tasks
(shared.minutes.backfill_content_keys)."""
ROSTER_PAGE_SQL = (
    "SELECT s.meeting_id, s.version_time, s.version_ns, s.version_id, s.guests,"
    " (SELECT coalesce(jsonb_agg(jsonb_build_object('member_id', a.member_id, 'status', a.status,"
    " 'reason', a.reason)), '[]'::jsonb) FROM attendance a WHERE a.meeting_id = s.meeting_id) AS records"
    " FROM roster s WHERE s.meeting_id > $1" + lacking_key_sql("roster_content")
)
"""A page of stored rosters lacking a content key and not found unreadable before, with their lines
(shared.minutes.backfill_content_keys)."""


def stored_minutes_key(row: asyncpg.Record) -> str:
    """The content key of stored minutes (a MINUTES_PAGE_SQL row), as minutes_content_key gave when they came."""
    data: dict[str, Any] = {name: row[name] for name in STORED_MINUTES_COLUMNS}
    for name in ("speakers", "resolutions", "tasks"):
        data[name] = json_field(row[name])
    return minutes_content_key(MinutesSubmitted.model_validate(data))


def stored_roster_key(row: asyncpg.Record) -> str:
    """The content key of a stored roster (a ROSTER_PAGE_SQL row), as roster_content_key gave when it came."""
    data = {"meeting_id": row["meeting_id"], "records": json_field(row["records"]), "guests": json_field(row["guests"])}
    return roster_content_key(AttendanceRecorded.model_validate(data))


async def backfill(pool: asyncpg.Pool) -> dict[str, dict[str, int]]:
    """Give the stored minutes and rosters lacking a content key theirs (idempotent); the counts per table. A version
    its contract no longer accepts is noted in content_key_unreadable and not read at later starts."""
    return {
        "minutes_content": await backfill_content_keys(
            pool,
            table="minutes_content",
            page_sql=MINUTES_PAGE_SQL,
            key_of=stored_minutes_key,
        ),
        "roster_content": await backfill_content_keys(
            pool,
            table="roster_content",
            page_sql=ROSTER_PAGE_SQL,
            key_of=stored_roster_key,
        ),
    }
