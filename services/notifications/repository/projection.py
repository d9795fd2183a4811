"""The projection of units, members, monitors, meetings and scores that addressing needs.

Snapshots apply only when newer than what is stored, by event `time` then `id`, so any order
of arrival converges to the same rows.
"""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from services.notifications.domain.model import CellContext, Meeting, Member, Monitor, Unit
from services.notifications.domain.settings import RuleOverride

_NEWER = "(EXCLUDED.version_time, EXCLUDED.version_id) > ({t}.version_time, {t}.version_id)"


class ProjectionRepository(Protocol):
    """What handlers need of the projection."""

    async def upsert_unit(self, unit: Unit, *, time: datetime, event_id: str) -> bool: ...
    async def get_unit(self, unit_id: str) -> Unit | None: ...
    async def ancestors(self, unit_id: str) -> list[str]: ...
    async def upsert_member(self, member: Member, *, time: datetime, event_id: str) -> bool: ...
    async def remove_member(self, member_id: str, *, time: datetime, event_id: str) -> bool: ...
    async def get_member(self, member_id: str) -> Member | None: ...
    async def upsert_monitor(self, monitor: Monitor, *, time: datetime, event_id: str) -> bool: ...
    async def cell_context(self, cell_id: str | None) -> CellContext: ...
    async def get_meeting(self, meeting_id: str) -> Meeting | None: ...


def _unit(row: asyncpg.Record) -> Unit:
    return Unit(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        parent_id=row["parent_id"],
        contact_emails=tuple(row["contact_emails"]),
        active=row["active"],
        known_since=row["known_since"],
    )


def _member(row: asyncpg.Record) -> Member:
    return Member(
        id=row["id"],
        full_name=row["full_name"],
        cell_id=row["cell_id"],
        status=row["status"],
        role=row["role"],
        email=row["email"],
        phone=row["phone"],
        exempt=row["exempt"],
        admitted_on=row["admitted_on"],
        removed=row["removed"],
    )


def _monitor(row: asyncpg.Record) -> Monitor:
    return Monitor(
        person_id=row["person_id"],
        cell_id=row["cell_id"],
        committee_id=row["committee_id"],
        full_name=row["full_name"],
        email=row["email"],
        yearly_quota=row["yearly_quota"],
    )


_MEETING_SELECT = """
SELECT m.*, COALESCE(m.rescheduled_starts_at, m.scheduled_starts_at) AS starts_at,
       COALESCE(m.rescheduled_location, m.location) AS effective_location,
       COALESCE((SELECT jsonb_object_agg(d.kind, d.published_at) FROM meeting_document d
                 WHERE d.meeting_id = m.meeting_id), '{}'::jsonb)::text AS documents
FROM meeting m
"""


def _meeting(row: asyncpg.Record) -> Meeting:
    documents = {kind: datetime.fromisoformat(value) for kind, value in json.loads(row["documents"]).items()}
    return Meeting(
        meeting_id=row["meeting_id"],
        cell_id=row["cell_id"],
        kind=row["kind"],
        topic=row["topic"],
        starts_at=row["starts_at"],
        location=row["effective_location"],
        cancelled=row["cancelled_time"] is not None,
        cancel_reason=row["cancel_reason"],
        minutes_submitted_at=row["minutes_submitted_at"],
        documents=documents,
    )


class PgProjectionRepository:
    """The projection tables on the unit of work's connection."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._db = connection

    async def lock_cell(self, cell_id: str) -> None:
        """Serialize this transaction with others about the same cell until it ends.

        Facts about one cell are handled concurrently (prefetch); without this, a member and a
        meeting committed side by side would each miss the other and the member its notice.
        """
        await self._db.execute("SELECT pg_advisory_xact_lock(hashtextextended('cell:' || $1, 0))", cell_id)

    async def upsert_unit(self, unit: Unit, *, time: datetime, event_id: str) -> bool:
        """Store a unit snapshot if newer; True when it was applied."""
        applied = await self._db.fetchval(
            "INSERT INTO unit AS u (id, name, kind, parent_id, contact_emails, active, known_since,"
            " version_time, version_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)"
            " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
            " parent_id = EXCLUDED.parent_id, contact_emails = EXCLUDED.contact_emails, active = EXCLUDED.active,"
            " known_since = LEAST(u.known_since, EXCLUDED.known_since),"
            " version_time = EXCLUDED.version_time, version_id = EXCLUDED.version_id"
            f" WHERE {_NEWER.format(t='u')} RETURNING 1",
            unit.id,
            unit.name,
            unit.kind,
            unit.parent_id,
            list(unit.contact_emails),
            unit.active,
            time,
            event_id,
        )
        if applied is None:
            await self._db.execute("UPDATE unit SET known_since = LEAST(known_since, $2) WHERE id = $1", unit.id, time)
        return applied is not None

    async def get_unit(self, unit_id: str) -> Unit | None:
        """One unit, or None while unknown."""
        row = await self._db.fetchrow("SELECT * FROM unit WHERE id = $1", unit_id)
        return _unit(row) if row else None

    async def ancestors(self, unit_id: str) -> list[str]:
        """Unit ids from the root down to `unit_id` (as far as the tree is known)."""
        rows = await self._db.fetch(
            "WITH RECURSIVE up(id, parent_id, depth) AS ("
            " SELECT id, parent_id, 0 FROM unit WHERE id = $1"
            " UNION ALL SELECT u.id, u.parent_id, up.depth + 1 FROM unit u JOIN up ON u.id = up.parent_id"
            " WHERE up.depth < 50)"
            " SELECT id FROM up ORDER BY depth DESC",
            unit_id,
        )
        return [row["id"] for row in rows] or [unit_id]

    async def upsert_member(self, member: Member, *, time: datetime, event_id: str) -> bool:
        """Store a member snapshot if newer; True when applied."""
        applied = await self._db.fetchval(
            "INSERT INTO member AS m (id, full_name, cell_id, status, role, email, phone, exempt, admitted_on,"
            " removed, version_time, version_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, false, $10, $11)"
            " ON CONFLICT (id) DO UPDATE SET full_name = EXCLUDED.full_name, cell_id = EXCLUDED.cell_id,"
            " status = EXCLUDED.status, role = EXCLUDED.role, email = EXCLUDED.email, phone = EXCLUDED.phone,"
            " exempt = EXCLUDED.exempt, admitted_on = EXCLUDED.admitted_on, removed = false,"
            " version_time = EXCLUDED.version_time, version_id = EXCLUDED.version_id"
            f" WHERE {_NEWER.format(t='m')} RETURNING 1",
            member.id,
            member.full_name,
            member.cell_id,
            member.status,
            member.role,
            member.email,
            member.phone,
            member.exempt,
            member.admitted_on,
            time,
            event_id,
        )
        return applied is not None

    async def remove_member(self, member_id: str, *, time: datetime, event_id: str) -> bool:
        """Mark a member removed if the removal is newer than the stored snapshot."""
        applied = await self._db.fetchval(
            "UPDATE member SET removed = true, version_time = $2, version_id = $3"
            " WHERE id = $1 AND ($2::timestamptz, $3::text) > (version_time, version_id) RETURNING 1",
            member_id,
            time,
            event_id,
        )
        return applied is not None

    async def get_member(self, member_id: str) -> Member | None:
        """One member, or None while unknown."""
        row = await self._db.fetchrow("SELECT * FROM member WHERE id = $1", member_id)
        return _member(row) if row else None

    async def members_by_id(self, member_ids: Sequence[str]) -> dict[str, Member]:
        """Known members among the given ids."""
        rows = await self._db.fetch("SELECT * FROM member WHERE id = ANY($1::text[])", list(member_ids))
        return {row["id"]: _member(row) for row in rows}

    async def upsert_monitor(self, monitor: Monitor, *, time: datetime, event_id: str) -> bool:
        """Store a monitor assignment if newer; True when applied."""
        applied = await self._db.fetchval(
            "INSERT INTO monitor AS m (person_id, cell_id, committee_id, full_name, email, yearly_quota,"
            " version_time, version_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (person_id, cell_id) DO UPDATE SET committee_id = EXCLUDED.committee_id,"
            " full_name = EXCLUDED.full_name, email = EXCLUDED.email, yearly_quota = EXCLUDED.yearly_quota,"
            " version_time = EXCLUDED.version_time, version_id = EXCLUDED.version_id"
            f" WHERE {_NEWER.format(t='m')} RETURNING 1",
            monitor.person_id,
            monitor.cell_id,
            monitor.committee_id,
            monitor.full_name,
            monitor.email,
            monitor.yearly_quota,
            time,
            event_id,
        )
        return applied is not None

    async def monitors_with_quota(self, cell_id: str) -> list[Monitor]:
        """Monitors of a cell that have a yearly quota."""
        rows = await self._db.fetch(
            "SELECT * FROM monitor WHERE cell_id = $1 AND yearly_quota > 0 ORDER BY person_id", cell_id
        )
        return [_monitor(row) for row in rows]

    async def cell_context(self, cell_id: str | None) -> CellContext:
        """The cell, its superior, its members and monitors."""
        if cell_id is None:
            return CellContext(cell=None, superior=None)
        cell = await self.get_unit(cell_id)
        superior = await self.get_unit(cell.parent_id) if cell and cell.parent_id else None
        members = await self._db.fetch("SELECT * FROM member WHERE cell_id = $1 ORDER BY id", cell_id)
        monitors = await self._db.fetch("SELECT * FROM monitor WHERE cell_id = $1 ORDER BY person_id", cell_id)
        return CellContext(
            cell=cell,
            superior=superior,
            members=tuple(_member(row) for row in members),
            monitors=tuple(_monitor(row) for row in monitors),
        )

    async def active_cells(self, *, after_id: str, limit: int) -> list[str]:
        """Ids of active cells in id order, for sweeps in batches."""
        rows = await self._db.fetch(
            "SELECT id FROM unit WHERE kind = 'cell' AND active AND id > $1 ORDER BY id LIMIT $2", after_id, limit
        )
        return [row["id"] for row in rows]

    async def apply_scheduled(self, data: Any, *, time: datetime, event_id: str) -> bool:
        """Store a meeting's scheduled facts if newer than the stored ones."""
        applied = await self._db.fetchval(
            "INSERT INTO meeting AS m (meeting_id, cell_id, kind, topic, scheduled_starts_at, location,"
            " scheduled_time) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (meeting_id) DO UPDATE SET cell_id = EXCLUDED.cell_id, kind = EXCLUDED.kind,"
            " topic = EXCLUDED.topic, scheduled_starts_at = EXCLUDED.scheduled_starts_at,"
            " location = EXCLUDED.location, scheduled_time = EXCLUDED.scheduled_time"
            " WHERE m.scheduled_time IS NULL OR EXCLUDED.scheduled_time > m.scheduled_time RETURNING 1",
            data.meeting_id,
            data.cell_id,
            data.kind.value,
            data.topic,
            data.starts_at,
            data.location,
            time,
        )
        return applied is not None

    async def apply_rescheduled(self, data: Any, *, time: datetime, event_id: str) -> bool:
        """Store a new start (and place) if this rescheduling is the latest one."""
        applied = await self._db.fetchval(
            "INSERT INTO meeting AS m (meeting_id, rescheduled_starts_at, rescheduled_location, rescheduled_time,"
            " rescheduled_id) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (meeting_id) DO UPDATE SET rescheduled_starts_at = EXCLUDED.rescheduled_starts_at,"
            " rescheduled_location = COALESCE(EXCLUDED.rescheduled_location, m.rescheduled_location),"
            " rescheduled_time = EXCLUDED.rescheduled_time, rescheduled_id = EXCLUDED.rescheduled_id"
            " WHERE m.rescheduled_time IS NULL"
            " OR (EXCLUDED.rescheduled_time, EXCLUDED.rescheduled_id) > (m.rescheduled_time, m.rescheduled_id)"
            " RETURNING 1",
            data.meeting_id,
            data.starts_at,
            data.location,
            time,
            event_id,
        )
        return applied is not None

    async def apply_cancelled(self, meeting_id: str, *, reason: str, time: datetime) -> bool:
        """Mark a meeting cancelled (a final state); True the first time."""
        applied = await self._db.fetchval(
            "INSERT INTO meeting AS m (meeting_id, cancelled_time, cancel_reason) VALUES ($1, $2, $3)"
            " ON CONFLICT (meeting_id) DO UPDATE SET cancelled_time = EXCLUDED.cancelled_time,"
            " cancel_reason = EXCLUDED.cancel_reason WHERE m.cancelled_time IS NULL RETURNING 1",
            meeting_id,
            time,
            reason,
        )
        return applied is not None

    async def add_documents(self, meeting_id: str, *, kinds: Sequence[str], published_at: datetime) -> None:
        """Remember the earliest publication of each document kind."""
        await self._db.executemany(
            "INSERT INTO meeting_document AS d (meeting_id, kind, published_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (meeting_id, kind) DO UPDATE SET published_at = LEAST(d.published_at, EXCLUDED.published_at)",
            [(meeting_id, kind, published_at) for kind in set(kinds)],
        )

    async def minutes_submitted(self, meeting_id: str, *, time: datetime, ended_at: datetime) -> None:
        """Remember that minutes arrived (the earliest submission counts)."""
        await self._db.execute(
            "INSERT INTO meeting AS m (meeting_id, minutes_submitted_at, ended_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (meeting_id) DO UPDATE SET minutes_submitted_at ="
            " LEAST(COALESCE(m.minutes_submitted_at, EXCLUDED.minutes_submitted_at), EXCLUDED.minutes_submitted_at),"
            " ended_at = EXCLUDED.ended_at",
            meeting_id,
            time,
            ended_at,
        )

    async def replace_roster(
        self,
        meeting_id: str,
        *,
        records: Sequence[tuple[str, str]],
        guests: Sequence[str],
        time: datetime,
        event_id: str,
    ) -> bool:
        """Replace the meeting's roster and guests if this one is newer; True when applied."""
        applied = await self._db.fetchval(
            "INSERT INTO meeting AS m (meeting_id, roster_time, roster_id) VALUES ($1, $2, $3)"
            " ON CONFLICT (meeting_id) DO UPDATE SET roster_time = EXCLUDED.roster_time, roster_id = EXCLUDED.roster_id"
            " WHERE m.roster_time IS NULL OR (EXCLUDED.roster_time, EXCLUDED.roster_id) > (m.roster_time, m.roster_id)"
            " RETURNING 1",
            meeting_id,
            time,
            event_id,
        )
        if applied is None:
            return False
        await self._db.execute("DELETE FROM meeting_attendance WHERE meeting_id = $1", meeting_id)
        await self._db.execute("DELETE FROM meeting_guest WHERE meeting_id = $1", meeting_id)
        await self._db.executemany(
            "INSERT INTO meeting_attendance (meeting_id, member_id, status) VALUES ($1, $2, $3)",
            [(meeting_id, member_id, status) for member_id, status in records],
        )
        await self._db.executemany(
            "INSERT INTO meeting_guest (meeting_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(meeting_id, person_id) for person_id in guests],
        )
        return True

    async def absent_members(self, meeting_id: str) -> list[str]:
        """Members marked absent without valid reason on the stored roster."""
        rows = await self._db.fetch(
            "SELECT member_id FROM meeting_attendance WHERE meeting_id = $1 AND status = 'absent' ORDER BY member_id",
            meeting_id,
        )
        return [row["member_id"] for row in rows]

    async def get_meeting(self, meeting_id: str) -> Meeting | None:
        """One meeting with its effective start, or None while unknown."""
        row = await self._db.fetchrow(_MEETING_SELECT + " WHERE m.meeting_id = $1", meeting_id)
        return _meeting(row) if row else None

    async def cell_meetings(self, cell_id: str, *, start: datetime, end: datetime) -> list[Meeting]:
        """Meetings of a cell starting in [start, end)."""
        rows = await self._db.fetch(
            f"SELECT * FROM ({_MEETING_SELECT} WHERE m.cell_id = $1) x WHERE starts_at >= $2 AND starts_at < $3",
            cell_id,
            start,
            end,
        )
        return [_meeting(row) for row in rows]

    async def upcoming_meetings(self, cell_id: str, *, now: datetime) -> list[Meeting]:
        """Meetings of a cell that have not started and are not cancelled."""
        rows = await self._db.fetch(
            f"SELECT * FROM ({_MEETING_SELECT} WHERE m.cell_id = $1 AND m.cancelled_time IS NULL) x"
            " WHERE starts_at > $2",
            cell_id,
            now,
        )
        return [_meeting(row) for row in rows]

    async def monitor_attended(self, *, person_id: str, cell_id: str, start: datetime, end: datetime) -> int:
        """Meetings of the cell in [start, end) the monitor attended as a guest."""
        return int(
            await self._db.fetchval(
                "SELECT count(*) FROM meeting_guest g JOIN meeting m ON m.meeting_id = g.meeting_id"
                " WHERE g.person_id = $1 AND m.cell_id = $2 AND m.cancelled_time IS NULL"
                " AND COALESCE(m.rescheduled_starts_at, m.scheduled_starts_at) >= $3"
                " AND COALESCE(m.rescheduled_starts_at, m.scheduled_starts_at) < $4",
                person_id,
                cell_id,
                start,
                end,
            )
        )

    async def upsert_cell_score(
        self, *, cell_id: str, period: str, rating: str, score: float, time: datetime, event_id: str
    ) -> bool:
        """Store a period rating if newer; True when applied."""
        applied = await self._db.fetchval(
            "INSERT INTO cell_score AS c (cell_id, period, rating, score, version_time, version_id)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (cell_id, period) DO UPDATE SET rating = EXCLUDED.rating,"
            " score = EXCLUDED.score, version_time = EXCLUDED.version_time, version_id = EXCLUDED.version_id"
            f" WHERE {_NEWER.format(t='c')} RETURNING 1",
            cell_id,
            period,
            rating,
            score,
            time,
            event_id,
        )
        return applied is not None

    async def get_cell_score(self, *, cell_id: str, period: str) -> tuple[str, float] | None:
        """(rating, score) of a cell's period, if known."""
        row = await self._db.fetchrow(
            "SELECT rating, score FROM cell_score WHERE cell_id = $1 AND period = $2", cell_id, period
        )
        return (row["rating"], row["score"]) if row else None

    async def rule_overrides(self, unit_ids: Sequence[str]) -> list[RuleOverride]:
        """Rule settings stored for any of the units."""
        rows = await self._db.fetch(
            "SELECT unit_id, rule, enabled, params::text AS params FROM rule_setting WHERE unit_id = ANY($1::text[])",
            list(unit_ids),
        )
        return [
            RuleOverride(
                unit_id=row["unit_id"], rule=row["rule"], enabled=row["enabled"], params=json.loads(row["params"])
            )
            for row in rows
        ]

    async def set_rule_override(self, override: RuleOverride) -> None:
        """Store one unit's setting of one rule (replacing its previous one)."""
        await self._db.execute(
            "INSERT INTO rule_setting (unit_id, rule, enabled, params) VALUES ($1, $2, $3, $4::jsonb)"
            " ON CONFLICT (unit_id, rule) DO UPDATE SET enabled = EXCLUDED.enabled, params = EXCLUDED.params,"
            " updated_at = now()",
            override.unit_id,
            override.rule,
            override.enabled,
            json.dumps(dict(override.params)),
        )
