"""Meetings and what is recorded about them: schedule, roster, minutes, tasks, documents, assessments.

Issue 12: a transaction reads meetings ahead (`prefetch`), keeps what it read (its locks keep it true), decides
each write in memory (is this snapshot newer?) and queues it in PendingWrites, sent one statement per kind.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg

from services.meetings.domain import MeetingState, StartFact, Version, first_cancellation, scheduled_from_fact
from services.meetings.repository.pending import PendingWrites, jsonb
from shared.contracts import meetings as contract
from shared.minutes import adopted_key_sql, minutes_content_key, roster_content_key
from shared.periods import vietnam_month

TRANSFERRED = contract.AttendanceStatus.TRANSFERRED.value


def _version(row: asyncpg.Record | None, prefix: str) -> Version | None:
    if row is None or row[f"{prefix}_time"] is None:
        return None
    return (row[f"{prefix}_time"], row[f"{prefix}_ns"], row[f"{prefix}_id"])


class MeetingRepository(Protocol):
    """Meetings and their records."""

    async def get_state(self, meeting_id: str, *, adoption_current: bool = False) -> MeetingState | None: ...
    async def schedule(self, data: contract.MeetingScheduled, *, version: Version, notified_at: datetime) -> bool: ...
    def record_held(self, meeting_id: str, *, at: datetime) -> None: ...
    async def reschedule(self, data: contract.MeetingRescheduled, *, version: Version) -> bool: ...
    async def cancel(self, data: contract.MeetingCancelled, *, version: Version) -> bool: ...
    async def replace_roster(self, data: contract.AttendanceRecorded, *, version: Version) -> list[str]: ...
    async def roster_members(self, meeting_id: str) -> list[str]: ...
    async def rosters_naming(self, member_id: str) -> list[str]: ...
    async def prefetch_naming(self, member_ids: Iterable[str]) -> set[str]: ...
    async def drop_roster(self, meeting_id: str) -> None: ...
    async def roster_statuses(self, meeting_id: str) -> dict[str, str]: ...
    async def replace_minutes(self, data: contract.MinutesSubmitted, *, version: Version) -> None: ...
    async def record_minutes_content(self, data: contract.MinutesSubmitted, *, version: Version) -> None: ...
    async def record_roster_content(
        self,
        data: contract.AttendanceRecorded,
        *,
        version: Version,
        source: str | None = None,
        raw: str | None = None,
        sender: str | None = None,
    ) -> None: ...
    async def roster_history(self, meeting_id: str) -> list[tuple[Version, str, str]]: ...
    def kept_sender(self, meeting_id: str, version: Version) -> str | None: ...
    async def forget_roster(self, meeting_id: str, version: Version) -> None: ...
    async def stored_minutes(self, meeting_id: str) -> dict[str, Any] | None: ...
    async def stored_roster(self, meeting_id: str) -> dict[str, Any] | None: ...
    async def stored_approval(self, meeting_id: str) -> tuple[datetime, int | None, int | None] | None: ...
    async def approve(self, data: contract.MinutesApproved, *, version: Version) -> bool: ...
    async def add_documents(self, data: contract.DocumentsPublished, *, source: str, event_id: str) -> None: ...
    async def add_assessment(
        self, data: contract.MeetingAssessed, *, source: str, event_id: str, assessed_time: datetime, assessed_ns: int
    ) -> None: ...
    async def task_exists(self, *, meeting_id: str, task_id: str) -> bool: ...
    async def complete_task(self, data: contract.TaskCompleted, *, version: Version) -> bool: ...
    async def attendance_news(
        self, member_ids: Sequence[str], *, announcements: Mapping[str, int] | None = None
    ) -> Mapping[str, Mapping[str, Any]]: ...
    async def prefetch(self, meeting_ids: Iterable[str]) -> set[str]: ...
    async def starting_near(
        self, cell_id: str, starts_at: datetime, *, window: timedelta, other_than: str
    ) -> list[dict[str, Any]]: ...
    def add_start_fact(self, meeting_id: str, fact: StartFact) -> None: ...
    async def start_facts(self, meeting_id: str) -> list[StartFact]: ...
    async def restore_start(
        self, meeting_id: str, *, start: StartFact, location: StartFact | None, undone: Sequence[StartFact]
    ) -> None: ...
    async def restore_schedule(self, meeting_id: str, *, fact: StartFact) -> None: ...


_STATE_SQL = (
    "SELECT m.meeting_id, m.cell_id, m.kind, m.starts_at, m.cancel_time, m.cancel_ns, m.cancel_id,"
    " m.first_cancel_time, m.first_cancel_ns, m.first_cancel_id,"
    " m.schedule_time, m.schedule_ns, m.schedule_id, m.start_time, m.start_ns, m.start_id,"
    " m.location_time, m.location_ns, m.location_id, m.approval_time, m.approval_ns, m.approval_id,"
    " r.version_time AS roster_time, r.version_ns AS roster_ns, r.version_id AS roster_id,"
    " n.version_time AS minutes_time, n.version_ns AS minutes_ns, n.version_id AS minutes_id,"
    " n.started_at AS minutes_started_at, n.ended_at AS minutes_ended_at, m.held_recorded_at, m.notified_at,"
    " (SELECT c.content_key FROM minutes_content c WHERE c.meeting_id = m.meeting_id"
    "  AND (c.version_time, c.version_ns, c.version_id) = (n.version_time, n.version_ns, n.version_id)) AS minutes_key,"
    " " + adopted_key_sql(meeting_id="m.meeting_id", approval_time="m.approval_time") + " AS adopted_key,"
    " (SELECT c.content_key FROM roster_content c WHERE c.meeting_id = m.meeting_id"
    "  AND (c.version_time, c.version_ns, c.version_id) = (r.version_time, r.version_ns, r.version_id)) AS roster_key,"
    " "
    + adopted_key_sql(meeting_id="m.meeting_id", approval_time="m.approval_time", table="roster_content")
    + " AS adopted_roster_key"
    " FROM meeting m LEFT JOIN minutes n ON n.meeting_id = m.meeting_id"
    " LEFT JOIN roster r ON r.meeting_id = m.meeting_id WHERE m.meeting_id = ANY($1::text[])"
)

_ADOPTED_KEYS_SQL = (
    "SELECT "
    + adopted_key_sql(meeting_id="m.meeting_id", approval_time="m.approval_time")
    + " AS adopted_key, "
    + adopted_key_sql(meeting_id="m.meeting_id", approval_time="m.approval_time", table="roster_content")
    + " AS adopted_roster_key FROM meeting m WHERE m.meeting_id = $1"
)
"""The content keys of the minutes and roster a meeting's stored adoption adopted (as _STATE_SQL reads them)."""


def _newer(part: str) -> str:
    """SQL: the incoming meeting row's `part` version (time, ns, id) is newer than the stored one's."""
    return (
        f"(meeting.{part}_time, meeting.{part}_ns, meeting.{part}_id)"
        f" < (EXCLUDED.{part}_time, EXCLUDED.{part}_ns, EXCLUDED.{part}_id)"
    )


def _latest(part: str, columns: Sequence[str]) -> str:
    """SQL SET items: each of `columns` from the incoming row when its `part` version is newer, else as stored."""
    return ", ".join(
        f"{column} = CASE WHEN {_newer(part)} THEN EXCLUDED.{column} ELSE meeting.{column} END" for column in columns
    )


_TASKS_AND_COMPLETIONS_SQL = (
    "SELECT false AS done, meeting_id, task_id, NULL::timestamptz AS version_time, NULL::smallint AS version_ns,"
    " NULL::text AS version_id FROM task WHERE meeting_id = ANY($1::text[])"
    " UNION ALL SELECT true, meeting_id, task_id, version_time, version_ns, version_id FROM task_completion"
    " WHERE meeting_id = ANY($1::text[])"
)
_SCHEDULE_SQL = (
    "INSERT INTO meeting (meeting_id, cell_id, kind, topic, agenda, notified_at, committee_prepared,"
    " schedule_time, schedule_ns, schedule_id, starts_at, start_time, start_ns, start_id,"
    " location, location_time, location_ns, location_id)"
    " SELECT m, c, k, t, a::jsonb, n, p, vt, vn, vi, s, vt, vn, vi, l, vt, vn, vi FROM unnest($1::text[],"
    " $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::bool[], $8::timestamptz[],"
    " $9::smallint[], $10::text[], $11::timestamptz[], $12::text[]) AS u(m, c, k, t, a, n, p, vt, vn, vi, s, l)"
    " ON CONFLICT (meeting_id) DO UPDATE SET"
    " cell_id = EXCLUDED.cell_id, kind = EXCLUDED.kind, topic = EXCLUDED.topic, agenda = EXCLUDED.agenda,"
    " notified_at = EXCLUDED.notified_at, committee_prepared = EXCLUDED.committee_prepared,"
    " schedule_time = EXCLUDED.schedule_time, schedule_ns = EXCLUDED.schedule_ns, schedule_id = EXCLUDED.schedule_id,"
    f" {_latest('start', ('starts_at', 'start_time', 'start_ns', 'start_id'))},"
    f" {_latest('location', ('location', 'location_time', 'location_ns', 'location_id'))}"
    f" WHERE {_newer('schedule')}"
)
_HELD_SQL = "UPDATE meeting SET held_recorded_at = LEAST(held_recorded_at, $2) WHERE meeting_id = $1"
"""A recording as already held: the meeting keeps the earliest (LEAST passes over a NULL)."""
_START_FACT_SQL = (
    "INSERT INTO meeting_start_fact (meeting_id, version_time, version_ns, version_id, kind, source, starts_at,"
    " location, reason, raw, sender) SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::text[],"
    " $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[])"
    " ON CONFLICT DO NOTHING"
)
_RESCHEDULE_SQL = (
    "UPDATE meeting SET starts_at = u.s, start_time = u.vt, start_ns = u.vn, start_id = u.vi, reschedule_reason = u.r"
    " FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::smallint[], $5::text[], $6::text[])"
    " AS u(m, s, vt, vn, vi, r)"
    " WHERE meeting.meeting_id = u.m AND (start_time, start_ns, start_id) < (u.vt, u.vn, u.vi)"
)
"""The latest move of each meeting a transaction queued, one statement (issue 12: one execution per move before)."""
_RELOCATE_SQL = (
    "UPDATE meeting SET location = u.l, location_time = u.vt, location_ns = u.vn, location_id = u.vi"
    " FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::smallint[], $5::text[]) AS u(m, l, vt, vn, vi)"
    " WHERE meeting.meeting_id = u.m AND (location_time, location_ns, location_id) < (u.vt, u.vn, u.vi)"
)
"""The latest place of each meeting a transaction queued, one statement (as _RESCHEDULE_SQL)."""
_CANCEL_SQL = (
    "UPDATE meeting SET cancel_reason = $2, cancel_time = $3, cancel_ns = $4, cancel_id = $5 WHERE meeting_id = $1"
    " AND (cancel_time IS NULL OR (cancel_time, cancel_ns, cancel_id) < ($3, $4, $5))"
)
_CONTENT_SQL = (
    "INSERT INTO {table} (meeting_id, version_time, version_ns, version_id, content_key)"
    " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::text[], $5::text[])"
    " ON CONFLICT DO NOTHING"
)
"""Keep content keys of minutes or rosters per version (shared.minutes; {table} one of its CONTENT_TABLES)."""
_MINUTES_CONTENT_SQL = _CONTENT_SQL.format(table="minutes_content")
_ROSTER_CONTENT_SQL = (
    # with the version, source and raw event of an integration's roster kept in its history ($6, $7, its members not
    # transferred $8 as a JSON array, the account that sent it $9; NULL for a person's), in the same statement: one
    # per transaction
    "WITH kept AS (INSERT INTO roster_history (meeting_id, version_time, version_ns, version_id, source, raw, members,"
    " sender) SELECT k.m, k.vt, k.vn, k.vi, k.s, k.r, ARRAY(SELECT jsonb_array_elements_text(k.l::jsonb)), k.a"
    " FROM unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::text[], $6::text[], $7::text[], $8::text[],"
    " $9::text[]) AS k(m, vt, vn, vi, s, r, l, a) WHERE k.s IS NOT NULL ON CONFLICT DO NOTHING)"
    " INSERT INTO roster_content (meeting_id, version_time, version_ns, version_id, content_key)"
    " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::text[], $5::text[])"
    " ON CONFLICT DO NOTHING"
)
"""Keep a roster's content key (as _CONTENT_SQL) and, for an integration's, its place in the meeting's history."""
_NAMING_SQL = (
    "SELECT member_id, meeting_id FROM attendance WHERE member_id = ANY($1::text[]) AND status <> 'transferred'"
    " UNION SELECT m.member_id, h.meeting_id FROM roster_history h CROSS JOIN LATERAL unnest(h.members) AS m(member_id)"
    " WHERE h.members && $1::text[] AND m.member_id = ANY($1::text[])"
)
"""(member, meeting) of each stored roster, or roster kept in a meeting's history, naming one of the members $1 other
than transferred (roster_history's members: its gin index serves the overlap)."""
_FIRST_CANCEL_SQL = (
    "UPDATE meeting SET first_cancel_time = $2, first_cancel_ns = $3, first_cancel_id = $4 WHERE meeting_id = $1"
    " AND (first_cancel_time IS NULL OR ($2, $3, $4) < (first_cancel_time, first_cancel_ns, first_cancel_id))"
)
_APPROVE_SQL = (
    "UPDATE meeting SET approved_at = u.a, approval_votes_for = u.f, approval_votes_against = u.g,"
    " approval_time = u.vt, approval_ns = u.vn, approval_id = u.vi FROM unnest($1::text[], $2::timestamptz[],"
    " $3::int[], $4::int[], $5::timestamptz[], $6::smallint[], $7::text[]) AS u(m, a, f, g, vt, vn, vi)"
    " WHERE meeting.meeting_id = u.m"
    " AND (meeting.approval_time IS NULL OR (meeting.approval_time, meeting.approval_ns, meeting.approval_id)"
    " < (u.vt, u.vn, u.vi))"
)
_COMPLETE_SQL = (
    "INSERT INTO task_completion (meeting_id, task_id, completed_on, version_time, version_ns, version_id)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::timestamptz[], $5::smallint[], $6::text[])"
    " ON CONFLICT (meeting_id, task_id) DO UPDATE SET"
    " completed_on = EXCLUDED.completed_on, version_time = EXCLUDED.version_time, version_ns = EXCLUDED.version_ns,"
    " version_id = EXCLUDED.version_id"
    " WHERE (task_completion.version_time, task_completion.version_ns, task_completion.version_id)"
    " < (EXCLUDED.version_time, EXCLUDED.version_ns, EXCLUDED.version_id)"
)
_MINUTES_SQL = (
    "INSERT INTO minutes (meeting_id, started_at, ended_at, chair_id, recorder_id, speakers,"
    " self_criticism_minutes, content, conclusions, resolutions, version_time, version_ns, version_id)"
    " SELECT m, s, e, c, r, sp::jsonb, sc, t, co, re::jsonb, vt, vn, vi FROM unnest($1::text[], $2::timestamptz[],"
    " $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[],"
    " $11::timestamptz[], $12::smallint[], $13::text[]) AS u(m, s, e, c, r, sp, sc, t, co, re, vt, vn, vi)"
    " ON CONFLICT (meeting_id) DO UPDATE SET started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,"
    " chair_id = EXCLUDED.chair_id, recorder_id = EXCLUDED.recorder_id, speakers = EXCLUDED.speakers,"
    " self_criticism_minutes = EXCLUDED.self_criticism_minutes, content = EXCLUDED.content,"
    " conclusions = EXCLUDED.conclusions, resolutions = EXCLUDED.resolutions,"
    " version_time = EXCLUDED.version_time, version_ns = EXCLUDED.version_ns, version_id = EXCLUDED.version_id"
)
STORED_MINUTES_COLUMNS = (
    "meeting_id",
    "started_at",
    "ended_at",
    "chair_id",
    "recorder_id",
    "self_criticism_minutes",
    "content",
    "conclusions",
)
"""The minutes' columns stored as the event carried them (speakers, resolutions: JSON; tasks: table task)."""
_STORED_MINUTES_SQL = (
    f"SELECT {', '.join(STORED_MINUTES_COLUMNS)}, speakers, resolutions FROM minutes WHERE meeting_id = $1"
)
_ROSTER_SQL = (
    # its sender and raw event, an integration's, are kept in roster_history with its content key (_ROSTER_CONTENT_SQL)
    "INSERT INTO roster (meeting_id, guests, version_time, version_ns, version_id) SELECT m, g::jsonb, vt, vn, vi"
    " FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::smallint[], $5::text[]) AS u(m, g, vt, vn, vi)"
    " ON CONFLICT (meeting_id) DO UPDATE SET guests = EXCLUDED.guests,"
    " version_time = EXCLUDED.version_time, version_ns = EXCLUDED.version_ns, version_id = EXCLUDED.version_id"
)
_DOCUMENT_SQL = (
    "INSERT INTO document (meeting_id, origin_source, origin_id, position, published_at, title, kind, url)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::text[],"
    " $7::text[], $8::text[]) ON CONFLICT DO NOTHING"
)
_ASSESSMENT_SQL = (
    "INSERT INTO assessment (meeting_id, origin_source, origin_id, assessed_time, assessed_ns, role, person_id,"
    " points, comment) SELECT m, s, i, t, n, r, p, points::jsonb, c FROM unnest($1::text[], $2::text[], $3::text[],"
    " $4::timestamptz[], $5::smallint[], $6::text[], $7::text[], $8::text[], $9::text[])"
    " AS u(m, s, i, t, n, r, p, points, c) ON CONFLICT DO NOTHING"
)
_ATTENDANCE_SQL = (
    "INSERT INTO attendance (meeting_id, member_id, status, reason)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])"
)
_TASK_SQL = (
    "INSERT INTO task (meeting_id, task_id, assignee_id, description, due_on)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[])"
)
FIRST = 0
"""The rank of the statements creating meeting rows, sent before those updating or adding to them."""
THEN = 1
LAST = 2
"""The rank of the rows replacing a meeting's roster or tasks, sent after the rows they replace are deleted."""


def _state(row: asyncpg.Record) -> MeetingState:
    return MeetingState(
        meeting_id=row["meeting_id"],
        cell_id=row["cell_id"],
        kind=row["kind"],
        starts_at=row["starts_at"],
        cancel_version=_version(row, "first_cancel"),
        last_cancel_version=_version(row, "cancel"),
        has_roster=row["roster_time"] is not None,
        has_minutes=row["minutes_time"] is not None,
        minutes_version=_version(row, "minutes"),
        roster_version=_version(row, "roster"),
        approval_version=_version(row, "approval"),
        minutes_ended_at=row["minutes_ended_at"],
        minutes_started_at=row["minutes_started_at"],
        start_version=_version(row, "start"),
        held_recorded_at=row["held_recorded_at"],
        notified_at=row["notified_at"],
        minutes_key=row["minutes_key"],
        adopted_key=row["adopted_key"],
        roster_key=row["roster_key"],
        adopted_roster_key=row["adopted_roster_key"],
    )


@dataclass(frozen=True)
class _Kept:
    """A roster kept in a meeting's history (roster_history): its version, source, raw event (JSON text), the
    members it lists other than transferred and the account that sent it (None: not known, or kept before 0038)."""

    version: Version
    source: str
    raw: str
    members: frozenset[str]
    sender: str | None = None


@dataclass
class _Versions:
    """What decides a meeting row's writes beyond its MeetingState: the versions of its schedule, start, location
    and approval as stored (None for a NULL, which no row comparison in SQL finds older)."""

    schedule: Version | None
    start: Version | None
    approval: Version | None
    location: Version | None


class PgMeetingRepository:
    """MeetingRepository over the meetings schema, reading through a cache that lives as long as its transaction
    (which holds those meetings locked, handlers/locks.py) and queueing its writes in `pending`; a statement of its
    own sends the queue first."""

    def __init__(self, connection: asyncpg.Connection, pending: PendingWrites | None = None) -> None:
        self._conn = connection
        self._pending = pending or PendingWrites(connection)
        self._pending.hooks(before=self._queue_replacements, after=_nothing)
        self._states: dict[str, MeetingState | None] = {}
        """Meeting states read so far (None: not scheduled)."""
        self._versions: dict[str, _Versions] = {}
        self._tasks: dict[str, set[str]] = {}
        """The task ids of each meeting's minutes, for the meetings whose tasks were read."""
        self._completions: dict[str, dict[str, Version]] = {}
        """The stored completion versions of each meeting's tasks, for the meetings whose completions were read."""
        self._rosters: dict[str, dict[str, str]] = {}
        """The members on each meeting's roster and their statuses, for the meetings whose rosters were read."""
        self._new_rosters: dict[str, tuple[contract.AttendanceRecorded, Version]] = {}
        self._naming: dict[str, set[str]] = {}
        """The meetings whose stored roster named each member other than transferred when read (prefetch_naming)."""
        self._roster_touched: set[str] = set()
        """Meetings whose roster this transaction replaced or dropped (their `_rosters` entry says what they name)."""
        self._history: dict[str, list[_Kept]] = {}
        """The rosters kept in each meeting's history (roster_history), newest first, for the meetings whose history
        was read (prefetch_naming, roster_history), kept current as rosters are kept and forgotten."""
        self._history_touched: set[str] = set()
        """Meetings to whose history this transaction added a roster (record_roster_content with its raw)."""
        self._new_minutes: dict[str, tuple[contract.MinutesSubmitted, Version]] = {}
        self._adoption_moved: set[str] = set()
        """Meetings whose state's adopted keys may differ from their stored ones: an adoption, minutes or a roster
        taken since the state was read (get_state's adoption_current)."""

    async def _direct(self) -> asyncpg.Connection:
        """The connection, once every queued write is sent (before any statement of this repository's own)."""
        await self._pending.flush()
        return self._conn

    async def prefetch(self, meeting_ids: Iterable[str]) -> set[str]:
        """Read the meetings' states, tasks with their completions, and roster members in three statements; return the
        cells of the meetings known."""
        wanted = sorted(set(meeting_ids) - self._states.keys())
        if wanted:
            await self._read_states(wanted)
            await self._read_tasks_and_completions(wanted)
            await self._read_rosters(wanted)
        return {state.cell_id for state in self._states.values() if state is not None}

    async def _read_states(self, meeting_ids: list[str]) -> None:
        conn = await self._direct()
        for meeting_id in meeting_ids:
            self._states[meeting_id] = None
        for row in await conn.fetch(_STATE_SQL, meeting_ids):
            self._states[row["meeting_id"]] = _state(row)
            self._versions[row["meeting_id"]] = _Versions(
                schedule=_version(row, "schedule"),
                start=_version(row, "start"),
                approval=_version(row, "approval"),
                location=_version(row, "location"),
            )

    async def _read_tasks(self, meeting_ids: list[str]) -> None:
        conn = await self._direct()
        rows = await conn.fetch("SELECT meeting_id, task_id FROM task WHERE meeting_id = ANY($1::text[])", meeting_ids)
        for meeting_id in meeting_ids:
            self._tasks[meeting_id] = set()
        for row in rows:
            self._tasks[row["meeting_id"]].add(row["task_id"])

    async def _read_tasks_and_completions(self, meeting_ids: list[str]) -> None:
        """_read_tasks and _read_completions in one round trip (issue 12: a statement less per transaction)."""
        conn = await self._direct()
        rows = await conn.fetch(_TASKS_AND_COMPLETIONS_SQL, meeting_ids)
        for meeting_id in meeting_ids:
            self._tasks[meeting_id] = set()
            self._completions[meeting_id] = {}
        for row in rows:
            if row["done"]:
                version = (row["version_time"], row["version_ns"], row["version_id"])
                self._completions[row["meeting_id"]][row["task_id"]] = version
            else:
                self._tasks[row["meeting_id"]].add(row["task_id"])

    async def _read_completions(self, meeting_ids: list[str]) -> None:
        conn = await self._direct()
        rows = await conn.fetch(
            "SELECT meeting_id, task_id, version_time, version_ns, version_id FROM task_completion"
            " WHERE meeting_id = ANY($1::text[])",
            meeting_ids,
        )
        for meeting_id in meeting_ids:
            self._completions[meeting_id] = {}
        for row in rows:
            version = (row["version_time"], row["version_ns"], row["version_id"])
            self._completions[row["meeting_id"]][row["task_id"]] = version

    async def _read_rosters(self, meeting_ids: list[str]) -> None:
        conn = await self._direct()
        rows = await conn.fetch(
            "SELECT k.key AS meeting_id, a.member_id, a.status FROM (SELECT DISTINCT unnest($1::text[]) AS key) k"
            " CROSS JOIN LATERAL (SELECT member_id, status FROM attendance WHERE meeting_id = k.key OFFSET 0) a",
            meeting_ids,
        )
        for meeting_id in meeting_ids:
            self._rosters[meeting_id] = {}
        for row in rows:
            self._rosters[row["meeting_id"]][row["member_id"]] = row["status"]

    async def get_state(self, meeting_id: str, *, adoption_current: bool = False) -> MeetingState | None:
        """The lifecycle facts of a meeting, or None when it is not scheduled. With `adoption_current` (a person's
        command, judged on whether the minutes are adopted: MeetingState.adopted) the keys of the minutes and roster
        its adoption adopted are read again when an adoption, minutes or a roster was taken earlier in this
        transaction (a batch's events: each judged as if sent alone, CONTRACT.md); else they are as first read."""
        if meeting_id not in self._states:
            await self._read_states([meeting_id])
        state = self._states[meeting_id]
        if adoption_current and state is not None and meeting_id in self._adoption_moved:
            row = await (await self._direct()).fetchrow(_ADOPTED_KEYS_SQL, meeting_id)
            if row is not None:
                state = replace(state, adopted_key=row["adopted_key"], adopted_roster_key=row["adopted_roster_key"])
                self._states[meeting_id] = state
            self._adoption_moved.discard(meeting_id)
        return state

    async def schedule(self, data: contract.MeetingScheduled, *, version: Version, notified_at: datetime) -> bool:
        """Create the meeting or merge a newer schedule snapshot; True when anything was written."""
        existing = await self.get_state(data.meeting_id)
        if existing is None:
            self._states[data.meeting_id] = MeetingState(
                meeting_id=data.meeting_id,
                cell_id=data.cell_id,
                kind=data.kind.value,
                starts_at=data.starts_at,
                cancel_version=None,
                has_roster=False,
                has_minutes=False,
                start_version=version,
                notified_at=notified_at,
            )
            self._versions[data.meeting_id] = _Versions(
                schedule=version, start=version, approval=None, location=version
            )
        else:
            stored = self._versions[data.meeting_id]
            if stored.schedule is None or not stored.schedule < version:
                return False
            stored.schedule = version
            moves = stored.start is not None and stored.start < version
            if moves:
                stored.start = version
            if stored.location is not None and stored.location < version:
                stored.location = version
            self._states[data.meeting_id] = replace(
                existing,
                cell_id=data.cell_id,
                kind=data.kind.value,
                starts_at=data.starts_at if moves else existing.starts_at,
                start_version=stored.start,
                notified_at=notified_at,
            )
        self._pending.add(
            _SCHEDULE_SQL,
            (
                data.meeting_id,
                data.cell_id,
                data.kind.value,
                data.topic,
                jsonb(data.agenda),
                notified_at,
                data.committee_prepared,
                *version,
                data.starts_at,
                data.location,
            ),
            rank=FIRST,
            columns=True,
            key=1,
        )
        return True

    def record_held(self, meeting_id: str, *, at: datetime) -> None:
        """Keep `at` as when the scheduled meeting was recorded as already held, unless an earlier recording is kept
        (whatever the arrival order: the earliest wins); queued after the meeting's row is written."""
        state = self._states.get(meeting_id)
        if state is not None and (state.held_recorded_at is None or at < state.held_recorded_at):
            self._states[meeting_id] = replace(state, held_recorded_at=at)
        self._pending.add(_HELD_SQL, (meeting_id, at), rank=THEN)

    async def starting_near(
        self, cell_id: str, starts_at: datetime, *, window: timedelta, other_than: str
    ) -> list[dict[str, Any]]:
        """The cell's meetings, not cancelled and other than `other_than`, starting less than `window` from
        `starts_at`, earliest first, as {meeting_id, starts_at, location}: read fresh (the queue sent first), so
        under the cell's lock it is every such meeting committed or written by this transaction (check_same_start)."""
        conn = await self._direct()
        rows = await conn.fetch(
            "SELECT meeting_id, starts_at, location FROM meeting WHERE cell_id = $1 AND meeting_id <> $2"
            " AND cancel_time IS NULL AND starts_at > $3::timestamptz - $4::interval"
            " AND starts_at < $3::timestamptz + $4::interval"
            " ORDER BY starts_at, meeting_id",
            cell_id,
            other_than,
            starts_at,
            window,
        )
        return [dict(row) for row in rows]

    def add_start_fact(self, meeting_id: str, fact: StartFact) -> None:
        """Keep an accepted schedule or move of the meeting beside its current start (the same one again: no-op)."""
        self._pending.add(
            _START_FACT_SQL,
            (
                meeting_id,
                *fact.version,
                fact.kind,
                fact.source,
                fact.starts_at,
                fact.location,
                fact.reason,
                fact.raw,
                fact.sender,
            ),
            rank=THEN,
            columns=True,
        )

    async def start_facts(self, meeting_id: str) -> list[StartFact]:
        """The meeting's kept schedules and moves, oldest first (those queued by this transaction too)."""
        conn = await self._direct()
        rows = await conn.fetch(
            "SELECT version_time, version_ns, version_id, kind, source, starts_at, location, reason, raw, sender"
            " FROM meeting_start_fact WHERE meeting_id = $1 ORDER BY version_time, version_ns, version_id",
            meeting_id,
        )
        return [
            StartFact(
                version=(row["version_time"], row["version_ns"], row["version_id"]),
                kind=row["kind"],
                source=row["source"],
                starts_at=row["starts_at"],
                location=row["location"],
                reason=row["reason"],
                raw=row["raw"],
                sender=row["sender"],
            )
            for row in rows
        ]

    async def restore_start(
        self, meeting_id: str, *, start: StartFact, location: StartFact | None, undone: Sequence[StartFact]
    ) -> None:
        """Set the start (and place) back to the facts in force and forget the `undone` moves, at once (the queue
        sent first: a move queued earlier in this transaction is written before it is undone)."""
        conn = await self._direct()
        await conn.execute(
            "UPDATE meeting SET starts_at = $2, start_time = $3, start_ns = $4, start_id = $5, reschedule_reason = $6"
            " WHERE meeting_id = $1",
            meeting_id,
            start.starts_at,
            *start.version,
            start.reason,
        )
        if location is not None:
            await conn.execute(
                "UPDATE meeting SET location = $2, location_time = $3, location_ns = $4, location_id = $5"
                " WHERE meeting_id = $1",
                meeting_id,
                location.location,
                *location.version,
            )
            self._versions[meeting_id].location = location.version
        await conn.executemany(
            "DELETE FROM meeting_start_fact WHERE meeting_id = $1 AND version_time = $2 AND version_ns = $3"
            " AND version_id = $4",
            [(meeting_id, *fact.version) for fact in undone],
        )
        self._versions[meeting_id].start = start.version
        state = self._states[meeting_id]
        if state is not None:
            self._states[meeting_id] = replace(state, starts_at=start.starts_at, start_version=start.version)

    async def restore_schedule(self, meeting_id: str, *, fact: StartFact) -> None:
        """Set what a schedule says of the meeting besides its start and place (kind, topic, agenda, notice, committee
        prepared) back to the kept schedule `fact` (its event's text), with its version, at once (the queue sent
        first): a re-sent schedule undone by a cancellation issued before it (domain.moves_undone_by_cancellation)."""
        data, notified_at = scheduled_from_fact(fact)
        conn = await self._direct()
        await conn.execute(
            "UPDATE meeting SET kind = $2, topic = $3, agenda = $4::jsonb, notified_at = $5, committee_prepared = $6,"
            " schedule_time = $7, schedule_ns = $8, schedule_id = $9 WHERE meeting_id = $1",
            meeting_id,
            data.kind.value,
            data.topic,
            jsonb(data.agenda),
            notified_at,
            data.committee_prepared,
            *fact.version,
        )
        self._versions[meeting_id].schedule = fact.version
        state = self._states[meeting_id]
        if state is not None:
            self._states[meeting_id] = replace(state, kind=data.kind.value, notified_at=notified_at)

    async def reschedule(self, data: contract.MeetingRescheduled, *, version: Version) -> bool:
        """Move the start (and place) when this is the latest word on them; True when anything changed. Decided on
        the versions read under the meeting's lock and queued like the other writes (a direct statement here sent
        the transaction's queue early, splitting its statements: 4.1 % of meetings' busy samples)."""
        state = await self.get_state(data.meeting_id)
        if state is None:
            return False  # no row to update
        stored = self._versions[data.meeting_id]
        moved = stored.start is not None and stored.start < version
        relocated = data.location is not None and stored.location is not None and stored.location < version
        if moved:
            stored.start = version
            self._states[data.meeting_id] = replace(state, starts_at=data.starts_at, start_version=version)
            # each queued move is newer than the one before it (stored.start), so the last one per meeting is sent
            row = (data.meeting_id, data.starts_at, *version, data.reason)
            self._pending.add(_RESCHEDULE_SQL, row, rank=THEN, columns=True, key=1)
        if relocated:
            stored.location = version
            self._pending.add(_RELOCATE_SQL, (data.meeting_id, data.location, *version), rank=THEN, columns=True, key=1)
        return moved or relocated

    async def cancel(self, data: contract.MeetingCancelled, *, version: Version) -> bool:
        """Mark the meeting cancelled from its earliest cancellation (cancel_version, domain.first_cancellation), the
        latest cancellation's reason winning (last_cancel_version); True when either changed. Queued like reschedule."""
        state = await self.get_state(data.meeting_id)
        if state is None:
            return False  # no row to update
        first, last = first_cancellation(state, version)
        if (first, last) == (state.cancel_version, state.last_cancel_version):
            return False
        self._states[data.meeting_id] = replace(state, cancel_version=first, last_cancel_version=last)
        self._pending.add(_CANCEL_SQL, (data.meeting_id, data.reason, *version), rank=THEN)
        self._pending.add(_FIRST_CANCEL_SQL, (data.meeting_id, *version), rank=THEN)
        return True

    async def replace_roster(self, data: contract.AttendanceRecorded, *, version: Version) -> list[str]:
        """Replace the roster; return the members of the previous one."""
        if data.meeting_id not in self._rosters:
            await self._read_rosters([data.meeting_id])
        previous = list(self._rosters[data.meeting_id])
        self._rosters[data.meeting_id] = {record.member_id: record.status.value for record in data.records}
        self._new_rosters[data.meeting_id] = (data, version)  # only the last one of a transaction is written
        self._roster_touched.add(data.meeting_id)
        self._pending.dirty = True
        state = self._states.get(data.meeting_id)
        if state is not None:
            self._states[data.meeting_id] = replace(state, has_roster=True, roster_version=version)
        return previous

    async def roster_members(self, meeting_id: str) -> list[str]:
        """The members on the meeting's roster as this transaction sees it (none without a roster)."""
        if meeting_id not in self._rosters:
            await self._read_rosters([meeting_id])
        return list(self._rosters[meeting_id])

    async def rosters_naming(self, member_id: str) -> list[str]:
        """The meetings whose roster, or an integration's roster kept in their history (roster_history), lists the
        member other than transferred, as this transaction sees them, sorted."""
        if member_id not in self._naming:
            await self.prefetch_naming([member_id])
        unread = sorted(self._history_touched - self._history.keys())
        if unread:  # a roster kept for a meeting whose history was not read: read with it (the queue sent first)
            await self._read_history(unread)
        candidates = self._naming[member_id] | self._roster_touched | self._history_touched
        return sorted(
            meeting_id
            for meeting_id in candidates
            if self._rosters.get(meeting_id, {}).get(member_id, TRANSFERRED) != TRANSFERRED
            or any(member_id in kept.members for kept in self._history.get(meeting_id, []))
        )

    async def prefetch_naming(self, member_ids: Iterable[str]) -> set[str]:
        """Read, for all the members together, which stored rosters and which rosters kept in a meeting's history
        (roster_history) name them other than transferred, with those meetings' states, tasks, rosters (prefetch) and
        histories: rosters_naming and roster_history then cost no round trip (issue 12: a batch of member moves read
        them a member at a time, about five statements each). Returns the members on those rosters."""
        wanted = sorted(set(member_ids) - self._naming.keys())
        if not wanted:
            return set()
        conn = await self._direct()
        rows = await conn.fetch(_NAMING_SQL, wanted)
        for member_id in wanted:
            self._naming[member_id] = set()
        for row in rows:
            self._naming[row["member_id"]].add(row["meeting_id"])
        meetings = sorted({row["meeting_id"] for row in rows})
        await self.prefetch(meetings)
        unread = [meeting_id for meeting_id in meetings if meeting_id not in self._rosters]
        if unread:  # a meeting whose state was read before its roster
            await self._read_rosters(unread)
        unknown = [meeting_id for meeting_id in meetings if meeting_id not in self._history]
        if unknown:
            await self._read_history(unknown)
        return {member for meeting_id in meetings for member in self._rosters[meeting_id]} | {
            member for meeting_id in meetings for kept in self._history[meeting_id] for member in kept.members
        }

    async def _read_history(self, meeting_ids: list[str]) -> None:
        conn = await self._direct()
        rows = await conn.fetch(
            "SELECT meeting_id, version_time, version_ns, version_id, source, raw, members, sender FROM roster_history"
            " WHERE meeting_id = ANY($1::text[]) ORDER BY version_time DESC, version_ns DESC, version_id DESC",
            meeting_ids,
        )
        for meeting_id in meeting_ids:
            self._history[meeting_id] = []
        for row in rows:
            version = (row["version_time"], row["version_ns"], row["version_id"])
            kept = _Kept(version, row["source"], row["raw"], frozenset(row["members"]), row["sender"])
            self._history[row["meeting_id"]].append(kept)

    async def roster_history(self, meeting_id: str) -> list[tuple[Version, str, str]]:
        """The integrations' rosters accepted for the meeting and not withdrawn since, newest first: (version, source,
        raw JSON text); the stored roster among them when an integration's (kept since meetings 0030). Served from
        what prefetch_naming read when it read the meeting."""
        if meeting_id not in self._history:
            await self._read_history([meeting_id])
        return [(kept.version, kept.source, kept.raw) for kept in self._history[meeting_id]]

    def kept_sender(self, meeting_id: str, version: Version) -> str | None:
        """The account that sent the roster of `version` kept in the meeting's history (read by roster_history first),
        None when not known (kept before meetings 0038, or sent with no sender) or not kept."""
        kept = [kept.sender for kept in self._history.get(meeting_id, ()) if kept.version == version]
        return kept[0] if kept else None

    async def forget_roster(self, meeting_id: str, version: Version) -> None:
        """Drop the roster of `version` from the meeting's history (roster_history): it is refused now."""
        conn = await self._direct()
        await conn.execute(
            "DELETE FROM roster_history WHERE meeting_id = $1 AND version_time = $2 AND version_ns = $3"
            " AND version_id = $4",
            meeting_id,
            *version,
        )
        if meeting_id in self._history:
            self._history[meeting_id] = [kept for kept in self._history[meeting_id] if kept.version != version]

    async def drop_roster(self, meeting_id: str) -> None:
        """Withdraw the meeting's stored roster (its lines, version and content key): no roster is known."""
        conn = await self._direct()
        version = await conn.fetchrow(
            "DELETE FROM roster WHERE meeting_id = $1 RETURNING version_time, version_ns, version_id", meeting_id
        )
        await conn.execute("DELETE FROM attendance WHERE meeting_id = $1", meeting_id)
        if version is not None:
            await conn.execute(
                "DELETE FROM roster_content WHERE meeting_id = $1 AND version_time = $2 AND version_ns = $3"
                " AND version_id = $4",
                meeting_id,
                *version,
            )
        self._rosters[meeting_id] = {}
        self._roster_touched.add(meeting_id)
        self._new_rosters.pop(meeting_id, None)
        state = self._states.get(meeting_id)
        if state is not None:
            self._states[meeting_id] = replace(state, has_roster=False, roster_version=None, roster_key=None)

    async def roster_statuses(self, meeting_id: str) -> dict[str, str]:
        """Each member on the meeting's roster and their status (present, excused...), as this transaction sees it
        (empty without a roster)."""
        if meeting_id not in self._rosters:
            await self._read_rosters([meeting_id])
        return dict(self._rosters[meeting_id])

    async def replace_minutes(self, data: contract.MinutesSubmitted, *, version: Version) -> None:
        """Store the minutes and their tasks, replacing earlier ones."""
        self._new_minutes[data.meeting_id] = (data, version)  # only the last one of a transaction is written
        self._pending.dirty = True
        state = self._states.get(data.meeting_id)
        if state is not None:
            self._states[data.meeting_id] = replace(
                state,
                has_minutes=True,
                minutes_version=version,
                minutes_ended_at=data.ended_at,
                minutes_started_at=data.started_at,
            )
        self._tasks[data.meeting_id] = {task.task_id for task in data.tasks}

    async def record_minutes_content(self, data: contract.MinutesSubmitted, *, version: Version) -> None:
        """Keep the content key of minutes taken (stored or older than the stored ones), whatever their arrival order:
        an adoption stands over later minutes saying the same (shared.minutes)."""
        key = minutes_content_key(data)
        self._pending.add(_MINUTES_CONTENT_SQL, (data.meeting_id, *version, key), rank=THEN, columns=True)
        self._adoption_moved.add(data.meeting_id)  # these may be the adopted text: get_state(adoption_current=True)
        state = self._states.get(data.meeting_id)
        if state is not None and (state.minutes_version is None or not version < state.minutes_version):
            self._states[data.meeting_id] = replace(state, minutes_key=key)

    async def record_roster_content(
        self,
        data: contract.AttendanceRecorded,
        *,
        version: Version,
        source: str | None = None,
        raw: str | None = None,
        sender: str | None = None,
    ) -> None:
        """Keep the content key of a roster taken (stored or older than the stored one), whatever its arrival order:
        an adoption stands over a later roster saying the same (shared.minutes), as record_minutes_content; with an
        integration's `source` and `raw` (JSON text), the roster in the meeting's history too (roster_history), with
        the account that sent it (`sender`, None: not known)."""
        key = roster_content_key(data)
        members = [r.member_id for r in data.records if r.status != contract.AttendanceStatus.TRANSFERRED]
        listed = json.dumps(members) if source is not None else None
        row = (data.meeting_id, *version, key, source, raw, listed, sender)
        self._pending.add(_ROSTER_CONTENT_SQL, row, rank=THEN, columns=True)
        if source is not None and raw is not None:
            self._history_touched.add(data.meeting_id)
            history = self._history.get(data.meeting_id)
            if history is not None and all(kept.version != version for kept in history):  # ON CONFLICT DO NOTHING
                history.append(_Kept(version, source, raw, frozenset(members), sender))
                history.sort(key=lambda kept: kept.version, reverse=True)
        self._adoption_moved.add(data.meeting_id)
        state = self._states.get(data.meeting_id)
        if state is not None and (state.roster_version is None or not version < state.roster_version):
            self._states[data.meeting_id] = replace(state, roster_key=key)

    async def stored_minutes(self, meeting_id: str) -> dict[str, Any] | None:
        """The meeting's stored minutes in the shape of MinutesSubmitted.model_dump() (tasks in no set order), None
        without minutes."""
        conn = await self._direct()
        row = await conn.fetchrow(_STORED_MINUTES_SQL, meeting_id)
        if row is None:
            return None
        tasks = await conn.fetch(
            "SELECT task_id, assignee_id, description, due_on FROM task WHERE meeting_id = $1", meeting_id
        )
        return {
            **{key: row[key] for key in STORED_MINUTES_COLUMNS},
            "speakers": json.loads(row["speakers"]),
            "resolutions": json.loads(row["resolutions"]),
            "tasks": [dict(task) for task in tasks],
        }

    def _queue_replacements(self) -> None:
        """Queue the rows of the last roster and minutes of each meeting replaced since the last flush."""
        for meeting_id, (roster, version) in self._new_rosters.items():
            self._pending.add(
                "DELETE FROM attendance WHERE meeting_id = ANY($1::text[])", (meeting_id,), rank=THEN, columns=True
            )
            for r in roster.records:
                self._pending.add(
                    _ATTENDANCE_SQL, (meeting_id, r.member_id, r.status.value, r.reason), rank=LAST, columns=True
                )
            guests = [g.model_dump(mode="json", exclude_none=True) for g in roster.guests]
            self._pending.add(_ROSTER_SQL, (meeting_id, jsonb(guests), *version), rank=THEN, columns=True, key=1)
        for meeting_id, (minutes, version) in self._new_minutes.items():
            self._pending.add(
                _MINUTES_SQL,
                (
                    meeting_id,
                    minutes.started_at,
                    minutes.ended_at,
                    minutes.chair_id,
                    minutes.recorder_id,
                    jsonb(minutes.speakers),
                    minutes.self_criticism_minutes,
                    minutes.content,
                    minutes.conclusions,
                    jsonb([r.model_dump(mode="json") for r in minutes.resolutions]),
                    *version,
                ),
                rank=THEN,
                columns=True,
                key=1,
            )
            self._pending.add(
                "DELETE FROM task WHERE meeting_id = ANY($1::text[])", (meeting_id,), rank=THEN, columns=True
            )
            for t in minutes.tasks:
                self._pending.add(
                    _TASK_SQL, (meeting_id, t.task_id, t.assignee_id, t.description, t.due_on), rank=LAST, columns=True
                )
        self._new_rosters.clear()
        self._new_minutes.clear()

    async def stored_roster(self, meeting_id: str) -> dict[str, Any] | None:
        """The meeting's stored roster: {"records": [{member_id, status, reason}] (no set order), "guests": [guest as
        model_dump(mode="json", exclude_none=True)]}, None without a roster."""
        conn = await self._direct()
        guests = await conn.fetchval("SELECT guests FROM roster WHERE meeting_id = $1", meeting_id)
        if guests is None:
            return None
        records = await conn.fetch("SELECT member_id, status, reason FROM attendance WHERE meeting_id = $1", meeting_id)
        return {"records": [dict(record) for record in records], "guests": json.loads(guests)}

    async def stored_approval(self, meeting_id: str) -> tuple[datetime, int | None, int | None] | None:
        """The stored adoption's moment and votes (approved_at, for, against), None when the minutes are not adopted."""
        conn = await self._direct()
        row = await conn.fetchrow(
            "SELECT approved_at, approval_votes_for, approval_votes_against FROM meeting"
            " WHERE meeting_id = $1 AND approval_time IS NOT NULL",
            meeting_id,
        )
        return None if row is None else (row["approved_at"], row["approval_votes_for"], row["approval_votes_against"])

    async def approve(self, data: contract.MinutesApproved, *, version: Version) -> bool:
        """Record the approval unless a later one is stored."""
        if await self.get_state(data.meeting_id) is None:
            return False  # no row to update
        stored = self._versions[data.meeting_id]
        if stored.approval is not None and not stored.approval < version:
            return False
        stored.approval = version
        self._adoption_moved.add(data.meeting_id)  # it adopts another text: get_state(adoption_current=True)
        state = self._states.get(data.meeting_id)
        if state is not None:
            self._states[data.meeting_id] = replace(state, approval_version=version)
        self._pending.add(
            _APPROVE_SQL,
            (data.meeting_id, data.approved_at, data.votes_for, data.votes_against, *version),
            rank=THEN,
            columns=True,
            key=1,
        )
        return True

    async def add_documents(self, data: contract.DocumentsPublished, *, source: str, event_id: str) -> None:
        """Keep the published items (each publication is its own fact)."""
        for i, item in enumerate(data.items):
            self._pending.add(
                _DOCUMENT_SQL,
                (data.meeting_id, source, event_id, i, data.published_at, item.title, item.kind.value, item.url),
                rank=THEN,
                columns=True,
            )

    async def add_assessment(
        self, data: contract.MeetingAssessed, *, source: str, event_id: str, assessed_time: datetime, assessed_ns: int
    ) -> None:
        """Keep one assessment (its event's time and the nanoseconds below its microsecond order it); evaluation
        decides which one wins per item."""
        self._pending.add(
            _ASSESSMENT_SQL,
            (
                data.meeting_id,
                source,
                event_id,
                assessed_time,
                assessed_ns,
                data.assessor.role.value,
                data.assessor.person_id,
                jsonb(data.points),
                data.comment,
            ),
            rank=THEN,
            columns=True,
        )

    async def task_exists(self, *, meeting_id: str, task_id: str) -> bool:
        """True when the meeting's minutes assign the task."""
        if meeting_id not in self._tasks:
            await self._read_tasks([meeting_id])
        return task_id in self._tasks[meeting_id]

    async def complete_task(self, data: contract.TaskCompleted, *, version: Version) -> bool:
        """Record the completion unless a later report is stored."""
        if data.meeting_id not in self._completions:
            await self._read_completions([data.meeting_id])
        completions = self._completions[data.meeting_id]
        stored = completions.get(data.task_id)
        if stored is not None and not stored < version:
            return False
        completions[data.task_id] = version
        self._pending.add(
            _COMPLETE_SQL, (data.meeting_id, data.task_id, data.completed_on, *version), rank=THEN, columns=True, key=2
        )
        return True

    async def attendance_news(
        self, member_ids: Sequence[str], *, announcements: Mapping[str, int] | None = None
    ) -> dict[str, asyncpg.Record]:
        """The current members among `member_ids` whose attendance figures moved since last announced (a member never
        announced counts as announced at zeros), keyed by member id: consecutive_absences,
        consecutive_excused_absences, unexcused_months_last_year (domain.attendance_history over held meetings,
        computed here) with full_name, cell_id and probation_ends_on; the same statement remembers those figures as
        announced, and `sequence`: the number of this announcement among the member's (1, 2, …; see
        MemberAttendanceUpdated.sequence). One round trip for the transaction's members, whatever their count.
        `announcements`: how many announcements of the same figures a member gets (one per meeting whose roster
        changed it; 1 when not given): its numbers are all taken, `sequence` is the last of them."""
        conn = await self._direct()
        counts = announcements or {}
        rows = await conn.fetch(
            _ATTENDANCE_NEWS_SQL, list(member_ids), [max(1, counts.get(member_id, 1)) for member_id in member_ids]
        )
        return {row["member_id"]: row for row in rows}


_ATTENDANCE_NEWS_SQL = (
    # Rosters driven member by member through attendance_member, then meeting by key, and the member and the
    # announced figures by their primary keys (LATERAL, OFFSET 0) whatever the statistics say: a new province at its
    # first month start has none yet, and a plain join or `= ANY` over hundreds of members walked whole tables.
    "WITH wanted AS (SELECT member_id, max(n) AS n FROM unnest($1::text[], $2::int[]) AS t(member_id, n)"
    "  GROUP BY member_id),"
    " entry AS (SELECT wanted.member_id, a.meeting_id, a.status, m.starts_at FROM wanted"
    "  CROSS JOIN LATERAL (SELECT meeting_id, status FROM attendance"
    "   WHERE attendance.member_id = wanted.member_id OFFSET 0) AS a"
    # only held meetings count (DOMAIN.md: minutes and not cancelled): the minutes by their primary key
    "  CROSS JOIN LATERAL (SELECT starts_at FROM meeting"
    "   WHERE meeting.meeting_id = a.meeting_id AND meeting.cancel_time IS NULL"
    "   AND EXISTS (SELECT FROM minutes WHERE minutes.meeting_id = a.meeting_id) OFFSET 0) AS m"
    "  WHERE a.status IN ('present', 'excused', 'absent')),"  # domain.COUNTED_STATUSES
    # newest first, ties by meeting id in code point order as Python sorts them: a row's run of absences (excused
    # ones) reaches the latest meeting when no present (no non-excused) row comes at or after it
    " ranked AS (SELECT member_id, status, starts_at,"
    "  count(*) FILTER (WHERE status = 'present') OVER newest AS present_since,"
    "  count(*) FILTER (WHERE status <> 'excused') OVER newest AS unexcused_since,"
    "  max(starts_at) OVER (PARTITION BY member_id) AS latest FROM entry"
    '  WINDOW newest AS (PARTITION BY member_id ORDER BY starts_at DESC, meeting_id COLLATE "C" DESC'
    "   ROWS UNBOUNDED PRECEDING)),"
    " figures AS (SELECT member_id,"
    "  count(*) FILTER (WHERE present_since = 0)::int AS absences,"
    "  count(*) FILTER (WHERE unexcused_since = 0)::int AS excused,"
    # the months in Vietnam (shared.periods.vietnam_month, as evaluation names a period) of unexcused absences in
    # the 365 × 24 hours before the latest meeting
    f"  count(DISTINCT {vietnam_month('starts_at')})"
    "   FILTER (WHERE status = 'absent' AND starts_at > latest - INTERVAL '8760 hours')::int AS months"
    "  FROM ranked GROUP BY member_id),"
    " moved AS (SELECT wanted.member_id, wanted.n, coalesce(f.absences, 0) AS consecutive_absences,"
    "  coalesce(f.excused, 0) AS consecutive_excused_absences, coalesce(f.months, 0) AS unexcused_months_last_year,"
    "  b.full_name, b.cell_id, b.probation_ends_on FROM wanted"
    "  CROSS JOIN LATERAL (SELECT full_name, cell_id, probation_ends_on FROM member"
    "   WHERE member.id = wanted.member_id OFFSET 0) AS b"
    "  LEFT JOIN figures AS f ON f.member_id = wanted.member_id"
    "  LEFT JOIN LATERAL (SELECT consecutive_absences, consecutive_excused_absences, unexcused_months_last_year"
    "   FROM attendance_figures WHERE attendance_figures.member_id = wanted.member_id OFFSET 0) AS known ON true"
    # a member never announced counts as announced at zeros: one never absent is news to nobody
    "  WHERE (coalesce(known.consecutive_absences, 0), coalesce(known.consecutive_excused_absences, 0),"
    "   coalesce(known.unexcused_months_last_year, 0))"
    "   IS DISTINCT FROM (coalesce(f.absences, 0), coalesce(f.excused, 0), coalesce(f.months, 0))),"
    # each announcement numbered after the member's last one (n numbers taken for n announcements): the row's lock
    # orders two transactions numbering one member, the later one reading the number the earlier committed
    " announced AS (INSERT INTO attendance_figures"
    "  (member_id, consecutive_absences, consecutive_excused_absences, unexcused_months_last_year,"
    "  announced_sequence)"
    "  SELECT member_id, consecutive_absences, consecutive_excused_absences, unexcused_months_last_year, n FROM moved"
    "  ON CONFLICT (member_id) DO UPDATE SET consecutive_absences = excluded.consecutive_absences,"
    "  consecutive_excused_absences = excluded.consecutive_excused_absences,"
    "  unexcused_months_last_year = excluded.unexcused_months_last_year, announced_at = now(),"
    "  announced_sequence = attendance_figures.announced_sequence + excluded.announced_sequence"
    "  RETURNING member_id, announced_sequence)"
    " SELECT moved.member_id, moved.consecutive_absences, moved.consecutive_excused_absences,"
    "  moved.unexcused_months_last_year, moved.full_name, moved.cell_id, moved.probation_ends_on,"
    "  announced.announced_sequence AS sequence FROM moved JOIN announced USING (member_id)"
)
"""Each wanted current member's attendance figures where they differ from the last announced, announcing them."""


async def _nothing() -> None:
    """No work after a flush."""
