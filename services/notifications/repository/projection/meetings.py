"""The meetings part of the projection: schedules, documents, minutes, rosters and scores."""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.notifications.domain.model import (
    CancelApplied,
    CellScore,
    Meeting,
    MeetingScore,
    MeetingScoreWithdrawal,
    Roster,
)
from services.notifications.domain.rules.scores import MEETING_SCORE_CHECK
from services.notifications.repository.projection.rows import MEETING_SELECT, NEWER, to_meeting

# a newer schedule snapshot (by time to the nanosecond, then id, as meetings orders them) replaces the stored one;
# its start and place are the latest word on them when it is newer than the latest move too (the move's are then
# dropped), as meetings merges them
_SUPERSEDED_MOVE = (
    "m.rescheduled_time IS NOT NULL"
    " AND (m.rescheduled_time, m.rescheduled_ns, m.rescheduled_id)"
    " < (EXCLUDED.scheduled_time, EXCLUDED.scheduled_ns, EXCLUDED.scheduled_id)"
)
_SCHEDULED_UPDATE = (
    "cell_id = EXCLUDED.cell_id, kind = EXCLUDED.kind, topic = EXCLUDED.topic,"
    " scheduled_starts_at = EXCLUDED.scheduled_starts_at, location = EXCLUDED.location,"
    " scheduled_time = EXCLUDED.scheduled_time, scheduled_ns = EXCLUDED.scheduled_ns,"
    " scheduled_id = EXCLUDED.scheduled_id, agenda = EXCLUDED.agenda,"
    f" rescheduled_starts_at = CASE WHEN {_SUPERSEDED_MOVE} THEN NULL ELSE m.rescheduled_starts_at END,"
    f" rescheduled_location = CASE WHEN {_SUPERSEDED_MOVE} THEN NULL ELSE m.rescheduled_location END"
    " WHERE m.scheduled_time IS NULL"
    " OR (EXCLUDED.scheduled_time, EXCLUDED.scheduled_ns, EXCLUDED.scheduled_id)"
    " > (m.scheduled_time, m.scheduled_ns, COALESCE(m.scheduled_id, ''))"
)

# minutes newer (by time to the nanosecond, then id, as meetings orders them) than the stored ones give the meeting's
# end
_NEWER_MINUTES = (
    "(m.minutes_time IS NULL OR (EXCLUDED.minutes_time, EXCLUDED.minutes_ns, EXCLUDED.minutes_id)"
    " > (m.minutes_time, m.minutes_ns, COALESCE(m.minutes_id, '')))"
)
_NEWER_ROSTER = (
    "m.roster_time IS NULL OR (EXCLUDED.roster_time, EXCLUDED.roster_ns, EXCLUDED.roster_id)"
    " > (m.roster_time, m.roster_ns, m.roster_id)"
)


class PgMeetings:
    """Meetings, rosters and period scores on the unit of work's connection."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._db = connection
        self._upcoming: dict[str, tuple[datetime, list[Meeting]]] = {}
        """Upcoming meetings read in this transaction by cell, with the time they were read for, until it writes a
        meeting: the cell is locked by the handlers that read them, and a meeting's notice fields change only
        under that lock."""

    async def apply_scheduled(self, data: Any, *, time: datetime, event_id: str, ns: int = 0) -> bool:
        """Store a meeting's scheduled facts if newer than the stored ones (`ns`: the nanoseconds of `time` below
        its microsecond)."""
        self._upcoming.clear()
        applied = await self._db.fetchval(
            "INSERT INTO meeting AS m (meeting_id, cell_id, kind, topic, scheduled_starts_at, location,"
            " scheduled_time, agenda, scheduled_id, scheduled_ns)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)"
            f" ON CONFLICT (meeting_id) DO UPDATE SET {_SCHEDULED_UPDATE} RETURNING 1",
            data.meeting_id,
            data.cell_id,
            data.kind.value,
            data.topic,
            data.starts_at,
            data.location,
            time,
            json.dumps(list(data.agenda or []), ensure_ascii=False),
            event_id,
            ns,
        )
        return applied is not None

    async def apply_scheduled_many(self, scheduled: Sequence[tuple[Any, datetime, str, int]]) -> set[str]:
        """apply_scheduled of many (data, time, event id, ns) about distinct meetings, in one statement; the meetings
        applied."""
        self._upcoming.clear()
        if not scheduled:
            return set()
        rows = await self._db.fetch(
            "INSERT INTO meeting AS m (meeting_id, cell_id, kind, topic, scheduled_starts_at, location,"
            " scheduled_time, agenda, scheduled_id, scheduled_ns) SELECT * FROM unnest($1::text[], $2::text[],"
            " $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::timestamptz[], $8::jsonb[], $9::text[],"
            " $10::smallint[])"
            f" ON CONFLICT (meeting_id) DO UPDATE SET {_SCHEDULED_UPDATE} RETURNING m.meeting_id",
            [data.meeting_id for data, _, _, _ in scheduled],
            [data.cell_id for data, _, _, _ in scheduled],
            [data.kind.value for data, _, _, _ in scheduled],
            [data.topic for data, _, _, _ in scheduled],
            [data.starts_at for data, _, _, _ in scheduled],
            [data.location for data, _, _, _ in scheduled],
            [time for _, time, _, _ in scheduled],
            [json.dumps(list(data.agenda or []), ensure_ascii=False) for data, _, _, _ in scheduled],
            [event_id for _, _, event_id, _ in scheduled],
            [ns for _, _, _, ns in scheduled],
        )
        return {row["meeting_id"] for row in rows}

    async def apply_rescheduled(self, data: Any, *, time: datetime, event_id: str, ns: int = 0) -> bool:
        """Store a new start (and place) if this rescheduling is the latest one (by time, `ns`, id)."""
        self._upcoming.clear()
        applied = await self._db.fetchval(
            "INSERT INTO meeting AS m (meeting_id, rescheduled_starts_at, rescheduled_location, rescheduled_time,"
            " rescheduled_id, rescheduled_ns) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (meeting_id) DO UPDATE SET rescheduled_starts_at = EXCLUDED.rescheduled_starts_at,"
            " rescheduled_location = COALESCE(EXCLUDED.rescheduled_location, m.rescheduled_location),"
            " rescheduled_time = EXCLUDED.rescheduled_time, rescheduled_ns = EXCLUDED.rescheduled_ns,"
            " rescheduled_id = EXCLUDED.rescheduled_id"
            " WHERE (m.rescheduled_time IS NULL"
            " OR (EXCLUDED.rescheduled_time, EXCLUDED.rescheduled_ns, EXCLUDED.rescheduled_id)"
            " > (m.rescheduled_time, m.rescheduled_ns, m.rescheduled_id))"
            # a move older than the schedule snapshot in force is no longer the latest word on the start
            " AND (m.scheduled_time IS NULL"
            " OR (EXCLUDED.rescheduled_time, EXCLUDED.rescheduled_ns, EXCLUDED.rescheduled_id)"
            " > (m.scheduled_time, m.scheduled_ns, COALESCE(m.scheduled_id, '')))"
            " RETURNING 1",
            data.meeting_id,
            data.starts_at,
            data.location,
            time,
            event_id,
            ns,
        )
        return applied is not None

    async def apply_cancelled(
        self, meeting_id: str, *, reason: str, time: datetime, event_id: str, ns: int = 0
    ) -> CancelApplied | None:
        """Store a cancellation when it is the latest by (time, `ns`, id), as meetings keeps it (its reason is the one
        in force); `first` when the meeting was not cancelled before, `newer` when it replaced an older cancellation,
        None when an equal or newer one is stored."""
        self._upcoming.clear()
        row = await self._db.fetchrow(
            "WITH before AS (SELECT cancelled_time IS NOT NULL AS was FROM meeting WHERE meeting_id = $1),"
            " applied AS (INSERT INTO meeting AS m (meeting_id, cancelled_time, cancel_reason, cancel_id, cancelled_ns)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (meeting_id) DO UPDATE SET"
            " cancelled_time = EXCLUDED.cancelled_time, cancelled_ns = EXCLUDED.cancelled_ns,"
            " cancel_reason = EXCLUDED.cancel_reason, cancel_id = EXCLUDED.cancel_id"
            " WHERE m.cancelled_time IS NULL OR (m.cancelled_time, m.cancelled_ns, COALESCE(m.cancel_id, ''))"
            " < (EXCLUDED.cancelled_time, EXCLUDED.cancelled_ns, EXCLUDED.cancel_id)"
            " RETURNING 1)"
            " SELECT EXISTS (SELECT 1 FROM applied) AS applied, COALESCE((SELECT was FROM before), false) AS was",
            meeting_id,
            time,
            reason,
            event_id,
            ns,
        )
        if not row["applied"]:
            return None
        return "newer" if row["was"] else "first"

    async def add_documents(self, meeting_id: str, *, kinds: Sequence[str], published_at: datetime) -> None:
        """Remember the earliest publication of each document kind."""
        await self.add_documents_many([(meeting_id, kind, published_at) for kind in kinds])

    async def add_documents_many(self, documents: Sequence[tuple[str, str, datetime]]) -> None:
        """Remember the earliest publication of each (meeting, document kind) among many, in one statement."""
        self._upcoming.clear()
        earliest: dict[tuple[str, str], datetime] = {}
        for meeting_id, kind, published_at in documents:
            known = earliest.get((meeting_id, kind))
            earliest[(meeting_id, kind)] = published_at if known is None else min(known, published_at)
        if not earliest:
            return
        await self._db.execute(
            "INSERT INTO meeting_document AS d (meeting_id, kind, published_at)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])"
            " ON CONFLICT (meeting_id, kind) DO UPDATE SET published_at = LEAST(d.published_at, EXCLUDED.published_at)",
            [meeting_id for meeting_id, _ in earliest],
            [kind for _, kind in earliest],
            list(earliest.values()),
        )

    async def minutes_submitted(
        self, meeting_id: str, *, time: datetime, event_id: str, ended_at: datetime, ns: int = 0
    ) -> None:
        """Remember that minutes arrived (the earliest submission counts) and the meeting's end they give when they are
        the latest minutes by (time, `ns`, id), as meetings keeps them."""
        await self.minutes_submitted_many([(meeting_id, time, event_id, ended_at, ns)])

    async def minutes_submitted_many(self, minutes: Sequence[tuple[str, datetime, str, datetime, int]]) -> None:
        """Remember many minutes (meeting, event time, event id, ended at, ns) in one statement: per meeting the
        earliest submission counts and the end of the latest minutes by (time, ns, id) stands, whatever order they
        come in."""
        self._upcoming.clear()
        earliest: dict[str, datetime] = {}
        latest: dict[str, tuple[datetime, int, str, datetime]] = {}
        for meeting_id, time, event_id, ended_at, ns in minutes:
            known = earliest.get(meeting_id)
            earliest[meeting_id] = time if known is None else min(known, time)
            newest = latest.get(meeting_id)
            if newest is None or (time, ns, event_id) > newest[:3]:
                latest[meeting_id] = (time, ns, event_id, ended_at)
        if not earliest:
            return
        await self._db.execute(
            "INSERT INTO meeting AS m (meeting_id, minutes_submitted_at, minutes_time, minutes_ns, minutes_id,"
            " ended_at) SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::smallint[],"
            " $5::text[], $6::timestamptz[])"
            " ON CONFLICT (meeting_id) DO UPDATE SET minutes_submitted_at ="
            " LEAST(COALESCE(m.minutes_submitted_at, EXCLUDED.minutes_submitted_at), EXCLUDED.minutes_submitted_at),"
            + ",".join(
                f" {column} = CASE WHEN {_NEWER_MINUTES} THEN EXCLUDED.{column} ELSE m.{column} END"
                for column in ("ended_at", "minutes_id", "minutes_ns", "minutes_time")
            ),
            list(earliest),
            list(earliest.values()),
            [latest[meeting_id][0] for meeting_id in earliest],
            [latest[meeting_id][1] for meeting_id in earliest],
            [latest[meeting_id][2] for meeting_id in earliest],
            [latest[meeting_id][3] for meeting_id in earliest],
        )

    async def replace_roster(
        self,
        meeting_id: str,
        *,
        records: Sequence[tuple[str, str]],
        guests: Sequence[str],
        time: datetime,
        event_id: str,
        ns: int = 0,
    ) -> bool:
        """Replace the meeting's roster and guests if this one is newer (by time, `ns`, id); True when applied."""
        self._upcoming.clear()
        applied = await self._db.fetchval(
            "INSERT INTO meeting AS m (meeting_id, roster_time, roster_id, roster_ns) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (meeting_id) DO UPDATE SET roster_time = EXCLUDED.roster_time,"
            f" roster_id = EXCLUDED.roster_id, roster_ns = EXCLUDED.roster_ns WHERE {_NEWER_ROSTER} RETURNING 1",
            meeting_id,
            time,
            event_id,
            ns,
        )
        if applied is None:
            return False
        # the old roster goes in one statement and the new one comes in another (a statement cannot insert a
        # row its own other part deletes)
        await self._db.execute(
            "WITH attendance AS (DELETE FROM meeting_attendance WHERE meeting_id = $1)"
            " DELETE FROM meeting_guest WHERE meeting_id = $1",
            meeting_id,
        )
        if records or guests:
            await self._db.execute(
                "WITH attendance AS (INSERT INTO meeting_attendance (meeting_id, member_id, status)"
                " SELECT $1, member_id, status FROM unnest($2::text[], $3::text[]) AS t(member_id, status))"
                " INSERT INTO meeting_guest (meeting_id, person_id) SELECT $1, person_id"
                " FROM unnest($4::text[]) AS g(person_id) ON CONFLICT DO NOTHING",
                meeting_id,
                [member_id for member_id, _ in records],
                [status for _, status in records],
                list(guests),
            )
        return True

    async def withdraw_roster(
        self,
        meeting_id: str,
        *,
        roster_id: str,
        restored: Sequence[tuple[str, str]] | None,
        time: datetime | None,
        event_id: str | None,
        ns: int = 0,
    ) -> bool:
        """Drop the meeting's stored roster if it is the one withdrawn (`roster_id`: a newer roster stays), and store
        the `restored` records in its place with their version (none: the meeting has no roster); its guests stay
        as stored (a withdrawal names none). True when applied; a second call finds another roster, or none."""
        self._upcoming.clear()
        applied = await self._db.fetchval(
            "UPDATE meeting SET roster_time = $3, roster_id = $4, roster_ns = $5"
            " WHERE meeting_id = $1 AND roster_id = $2 RETURNING 1",
            meeting_id,
            roster_id,
            time,
            event_id,
            ns,
        )
        if applied is None:
            return False
        await self._db.execute("DELETE FROM meeting_attendance WHERE meeting_id = $1", meeting_id)
        if restored:
            await self._db.execute(
                "INSERT INTO meeting_attendance (meeting_id, member_id, status)"
                " SELECT $1, member_id, status FROM unnest($2::text[], $3::text[]) AS t(member_id, status)",
                meeting_id,
                [member_id for member_id, _ in restored],
                [status for _, status in restored],
            )
        return True

    async def replace_rosters(self, rosters: Sequence[Roster]) -> set[str]:
        """replace_roster of many rosters about distinct meetings, in three statements; the meetings applied."""
        self._upcoming.clear()
        if not rosters:
            return set()
        rows = await self._db.fetch(
            "INSERT INTO meeting AS m (meeting_id, roster_time, roster_id, roster_ns)"
            " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::smallint[])"
            " ON CONFLICT (meeting_id) DO UPDATE SET roster_time = EXCLUDED.roster_time,"
            f" roster_id = EXCLUDED.roster_id, roster_ns = EXCLUDED.roster_ns WHERE {_NEWER_ROSTER}"
            " RETURNING m.meeting_id",
            [roster.meeting_id for roster in rosters],
            [roster.time for roster in rosters],
            [roster.event_id for roster in rosters],
            [roster.ns for roster in rosters],
        )
        applied = {row["meeting_id"] for row in rows}
        if not applied:
            return applied
        ids = sorted(applied)
        await self._db.execute(
            "WITH attendance AS (DELETE FROM meeting_attendance WHERE meeting_id = ANY($1::text[]))"
            " DELETE FROM meeting_guest WHERE meeting_id = ANY($1::text[])",
            ids,
        )
        records = [
            (r.meeting_id, member, status) for r in rosters if r.meeting_id in applied for member, status in r.records
        ]
        guests = [(r.meeting_id, person) for r in rosters if r.meeting_id in applied for person in r.guests]
        if records or guests:
            await self._db.execute(
                "WITH attendance AS (INSERT INTO meeting_attendance (meeting_id, member_id, status)"
                " SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))"
                " INSERT INTO meeting_guest (meeting_id, person_id) SELECT * FROM unnest($4::text[], $5::text[])"
                " ON CONFLICT DO NOTHING",
                [meeting_id for meeting_id, _, _ in records],
                [member for _, member, _ in records],
                [status for _, _, status in records],
                [meeting_id for meeting_id, _ in guests],
                [person for _, person in guests],
            )
        return applied

    async def absent_members(self, meeting_id: str) -> list[str]:
        """Members marked absent without valid reason on the stored roster."""
        rows = await self._db.fetch(
            "SELECT member_id FROM meeting_attendance WHERE meeting_id = $1 AND status = 'absent' ORDER BY member_id",
            meeting_id,
        )
        return [row["member_id"] for row in rows]

    async def absent_members_of(self, meeting_ids: Sequence[str]) -> dict[str, list[str]]:
        """absent_members of many meetings in one query (those with nobody absent left out)."""
        rows = await self._db.fetch(
            # per meeting through the primary key (LATERAL, OFFSET 0) whatever the statistics say: `= ANY` of 100
            # meetings over 595,000 unanalyzed attendance rows was a sequential scan (211 ms)
            "SELECT k.key AS meeting_id, a.member_id FROM (SELECT DISTINCT unnest($1::text[]) AS key) k"
            " CROSS JOIN LATERAL (SELECT member_id FROM meeting_attendance WHERE meeting_id = k.key"
            " AND status = 'absent' OFFSET 0) a ORDER BY 1, 2",
            list(meeting_ids),
        )
        absent: dict[str, list[str]] = {}
        for row in rows:
            absent.setdefault(row["meeting_id"], []).append(row["member_id"])
        return absent

    async def get_meeting(self, meeting_id: str) -> Meeting | None:
        """One meeting with its effective start, or None while unknown."""
        row = await self._db.fetchrow(MEETING_SELECT + " WHERE m.meeting_id = $1", meeting_id)
        return to_meeting(row) if row else None

    async def meetings_by_id(self, meeting_ids: Sequence[str]) -> dict[str, Meeting]:
        """Known meetings among the ids, with their effective start, in one query."""
        rows = await self._db.fetch(MEETING_SELECT + " WHERE m.meeting_id = ANY($1::text[])", list(meeting_ids))
        return {row["meeting_id"]: to_meeting(row) for row in rows}

    async def upcoming_meetings(self, cell_id: str, *, now: datetime) -> list[Meeting]:
        """Meetings of a cell that have not started and are not cancelled (read once per transaction until it
        writes a meeting: a batch of one cell's members asks once)."""
        read = self._upcoming.get(cell_id)
        if read is not None and read[0] <= now:  # those still ahead of the later time
            return [meeting for meeting in read[1] if meeting.starts_at is not None and meeting.starts_at > now]
        rows = await self._db.fetch(
            f"SELECT * FROM ({MEETING_SELECT} WHERE m.cell_id = $1 AND m.cancelled_time IS NULL) x"
            " WHERE starts_at > $2",
            cell_id,
            now,
        )
        meetings = [to_meeting(row) for row in rows]
        self._upcoming[cell_id] = (now, meetings)
        return list(meetings)

    async def upsert_cell_score(
        self, *, cell_id: str, period: str, rating: str, score: float, time: datetime, event_id: str
    ) -> bool:
        """Store a period rating if newer; True when applied."""
        applied = await self._db.fetchval(
            "INSERT INTO cell_score AS c (cell_id, period, rating, score, version_time, version_id)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (cell_id, period) DO UPDATE SET rating = EXCLUDED.rating,"
            " score = EXCLUDED.score, version_time = EXCLUDED.version_time, version_id = EXCLUDED.version_id"
            f" WHERE {NEWER.format(t='c')} RETURNING 1",
            cell_id,
            period,
            rating,
            score,
            time,
            event_id,
        )
        return applied is not None

    async def upsert_cell_scores(self, scores: Sequence[CellScore], *, received_at: datetime) -> set[tuple[str, str]]:
        """Store many period ratings in one statement, each (cell, period) only when newer than the stored one
        (the newest of the given ones wins, by time then id as NEWER compares) and noted as arrived at `received_at`;
        the (cell, period) keys applied."""
        if not scores:
            return set()
        rows = await self._db.fetch(
            "INSERT INTO cell_score AS c (cell_id, period, rating, score, version_time, version_id, received_at)"
            " SELECT DISTINCT ON (cell_id, period) *, $7::timestamptz FROM unnest($1::text[], $2::text[],"
            " $3::text[], $4::float8[], $5::timestamptz[], $6::text[])"
            " AS t(cell_id, period, rating, score, version_time, version_id)"
            ' ORDER BY cell_id, period, version_time DESC, version_id COLLATE "C" DESC'
            " ON CONFLICT (cell_id, period) DO UPDATE SET rating = EXCLUDED.rating,"
            " score = EXCLUDED.score, version_time = EXCLUDED.version_time, version_id = EXCLUDED.version_id,"
            " received_at = EXCLUDED.received_at"
            f" WHERE {NEWER.format(t='c')} RETURNING c.cell_id, c.period",
            [score.cell_id for score in scores],
            [score.period for score in scores],
            [score.rating for score in scores],
            [score.score for score in scores],
            [score.time for score in scores],
            [score.event_id for score in scores],
            received_at,
        )
        return {(row["cell_id"], row["period"]) for row in rows}

    async def get_cell_score(self, *, cell_id: str, period: str) -> tuple[str, float] | None:
        """(rating, score) of a cell's period, if known."""
        row = await self._db.fetchrow(
            "SELECT rating, score FROM cell_score WHERE cell_id = $1 AND period = $2", cell_id, period
        )
        return (row["rating"], row["score"]) if row else None

    async def upsert_meeting_scores(self, scores: Sequence[MeetingScore]) -> list[MeetingScore]:
        """Store many meeting scores in one statement, each meeting's only when newer than the stored one (the newest
        of the given ones wins, by time then id as NEWER compares); the scores stored, as stored."""
        if not scores:
            return []
        rows = await self._db.fetch(
            "INSERT INTO meeting_score AS s (meeting_id, cell_id, rating, score, provisional, version_time,"
            " version_id, received_at)"
            " SELECT DISTINCT ON (meeting_id) * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[],"
            " $5::boolean[], $6::timestamptz[], $7::text[], $8::timestamptz[])"
            " AS t(meeting_id, cell_id, rating, score, provisional, version_time, version_id, received_at)"
            ' ORDER BY meeting_id, version_time DESC, version_id COLLATE "C" DESC'
            " ON CONFLICT (meeting_id) DO UPDATE SET cell_id = EXCLUDED.cell_id, rating = EXCLUDED.rating,"
            " score = EXCLUDED.score, provisional = EXCLUDED.provisional, version_time = EXCLUDED.version_time,"
            " version_id = EXCLUDED.version_id, received_at = EXCLUDED.received_at, withdrawn = false"
            f" WHERE {NEWER.format(t='s')} RETURNING s.*",
            [score.meeting_id for score in scores],
            [score.cell_id for score in scores],
            [score.rating for score in scores],
            [score.score for score in scores],
            [score.provisional for score in scores],
            [score.time for score in scores],
            [score.event_id for score in scores],
            [score.received_at for score in scores],
        )
        return [_meeting_score(row) for row in rows]

    async def withdraw_meeting_scores(self, withdrawals: Sequence[MeetingScoreWithdrawal]) -> list[str]:
        """Store many withdrawals (score.meeting.withdrawn.v1) in one statement, each meeting's only when newer than
        its stored score or withdrawal (as upsert_meeting_scores compares); the meetings withdrawn now, ascending."""
        if not withdrawals:
            return []
        rows = await self._db.fetch(
            "INSERT INTO meeting_score AS s (meeting_id, cell_id, rating, score, provisional, version_time,"
            " version_id, received_at, withdrawn)"
            " SELECT DISTINCT ON (meeting_id) meeting_id, cell_id, '', 0, false, version_time, version_id,"
            " received_at, true FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::timestamptz[])"
            " AS t(meeting_id, cell_id, version_time, version_id, received_at)"
            ' ORDER BY meeting_id, version_time DESC, version_id COLLATE "C" DESC'
            " ON CONFLICT (meeting_id) DO UPDATE SET cell_id = EXCLUDED.cell_id, version_time = EXCLUDED.version_time,"
            " version_id = EXCLUDED.version_id, received_at = EXCLUDED.received_at, withdrawn = true"
            f" WHERE {NEWER.format(t='s')} RETURNING s.meeting_id",
            [item.meeting_id for item in withdrawals],
            [item.cell_id for item in withdrawals],
            [item.time for item in withdrawals],
            [item.event_id for item in withdrawals],
            [item.received_at for item in withdrawals],
        )
        return sorted(row["meeting_id"] for row in rows)

    async def get_meeting_score(self, meeting_id: str) -> MeetingScore | None:
        """A meeting's latest stored score, if any and not withdrawn since."""
        row = await self._db.fetchrow("SELECT * FROM meeting_score WHERE meeting_id = $1 AND NOT withdrawn", meeting_id)
        return _meeting_score(row) if row else None

    async def meeting_scores_of(self, meeting_ids: Sequence[str]) -> dict[str, MeetingScore]:
        """The latest stored scores (not withdrawn) of these meetings, by meeting id, in one query."""
        rows = await self._db.fetch(
            "SELECT * FROM meeting_score WHERE meeting_id = ANY($1::text[]) AND NOT withdrawn", list(meeting_ids)
        )
        return {row["meeting_id"]: _meeting_score(row) for row in rows}

    async def pending_meeting_scores(self, cell_ids: Sequence[str]) -> list[MeetingScore]:
        """The latest scores (not withdrawn) of the cells' meetings whose rating check (MEETING_SCORE_CHECK) has not
        fired yet."""
        rows = await self._db.fetch(
            "SELECT s.* FROM meeting_score s JOIN schedule j ON j.subject_id = s.meeting_id AND j.kind = $2"
            " WHERE s.cell_id = ANY($1::text[]) AND j.done_at IS NULL AND NOT s.withdrawn ORDER BY s.meeting_id",
            list(cell_ids),
            MEETING_SCORE_CHECK,
        )
        return [_meeting_score(row) for row in rows]

    async def prune_meeting_scores(self, *, before: datetime, after: str, limit: int) -> tuple[int, str | None]:
        """Delete, among the next `limit` meetings after `after` (meeting id order), the scores stored before `before`
        whose settled-rating check (MEETING_SCORE_CHECK) is not pending (fired, or never planned: not low); (rows
        deleted, the last meeting of this batch, or None when none is left after it). Batched so that a province's
        scores go in many short transactions, each locking at most `limit` rows."""
        row = await self._db.fetchrow(
            "WITH batch AS (SELECT meeting_id FROM meeting_score WHERE meeting_id > $2 ORDER BY meeting_id LIMIT $3),"
            " pruned AS (DELETE FROM meeting_score AS s USING batch AS b WHERE s.meeting_id = b.meeting_id"
            "  AND s.received_at < $1 AND NOT EXISTS (SELECT 1 FROM schedule AS j WHERE j.kind = $4"
            "  AND j.subject_id = s.meeting_id AND j.done_at IS NULL) RETURNING 1)"
            " SELECT (SELECT count(*) FROM pruned) AS pruned, (SELECT count(*) FROM batch) AS meetings,"
            " (SELECT max(meeting_id) FROM batch) AS last",
            before,
            after,
            limit,
            MEETING_SCORE_CHECK,
        )
        assert row is not None
        return int(row["pruned"]), row["last"] if row["meetings"] == limit else None

    async def meetings_of_cells(
        self, cell_ids: Sequence[str], *, start: datetime, end: datetime
    ) -> dict[str, list[Meeting]]:
        """Meetings of many cells starting in [start, end), by cell."""
        rows = await self._db.fetch(
            f"SELECT * FROM ({MEETING_SELECT} WHERE m.cell_id = ANY($1::text[])) x"
            " WHERE starts_at >= $2 AND starts_at < $3 ORDER BY starts_at",
            list(cell_ids),
            start,
            end,
        )
        found: dict[str, list[Meeting]] = {}
        for row in rows:
            found.setdefault(row["cell_id"], []).append(to_meeting(row))
        return found

    async def monitor_attendance(
        self, cell_ids: Sequence[str], *, start: datetime, end: datetime
    ) -> dict[tuple[str, str], int]:
        """Meetings in [start, end) each monitor attended as a guest, by (person, cell), for many cells."""
        rows = await self._db.fetch(
            "SELECT g.person_id, m.cell_id, count(*) AS attended FROM meeting_guest g"
            " JOIN meeting m ON m.meeting_id = g.meeting_id"
            " JOIN monitor o ON o.person_id = g.person_id AND o.cell_id = m.cell_id"
            " WHERE m.cell_id = ANY($1::text[]) AND m.cancelled_time IS NULL"
            " AND COALESCE(m.rescheduled_starts_at, m.scheduled_starts_at) >= $2"
            " AND COALESCE(m.rescheduled_starts_at, m.scheduled_starts_at) < $3"
            " GROUP BY g.person_id, m.cell_id",
            list(cell_ids),
            start,
            end,
        )
        return {(row["person_id"], row["cell_id"]): int(row["attended"]) for row in rows}

    async def pending_meeting_jobs(self, cell_ids: Sequence[str]) -> list[Meeting]:
        """Meetings of the cells that still have a time-based rule waiting in the schedule."""
        rows = await self._db.fetch(
            f"{MEETING_SELECT} WHERE m.cell_id = ANY($1::text[]) AND EXISTS (SELECT 1 FROM schedule s"
            " WHERE s.subject_id = m.meeting_id AND s.kind LIKE 'meeting.%' AND s.done_at IS NULL)"
            " ORDER BY m.meeting_id",
            list(cell_ids),
        )
        return [to_meeting(row) for row in rows]


def _meeting_score(row: asyncpg.Record) -> MeetingScore:
    return MeetingScore(
        meeting_id=row["meeting_id"],
        cell_id=row["cell_id"],
        rating=row["rating"],
        score=row["score"],
        provisional=row["provisional"],
        time=row["version_time"],
        event_id=row["version_id"],
        received_at=row["received_at"],
    )
