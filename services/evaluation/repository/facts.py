"""The projection of facts: snapshots by (time, ns, id), accumulating documents and assessments."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import asyncpg
from pydantic_core import from_json, to_json

from services.evaluation.domain.facts import COMMITTEE_ROLE, MemberRemoval, MemberSnapshot
from shared.minutes import adoption_in_force_sql, minutes_content_key
from shared.tree import fetch_ancestor_rows, fetch_ancestors, fetch_subtree_cells

NEWER = "({t}.fact_time, {t}.fact_ns, {t}.fact_id) < (EXCLUDED.fact_time, EXCLUDED.fact_ns, EXCLUDED.fact_id)"
"""Snapshot rule: a row is replaced only by a later event (time to the nanosecond, then id)."""


@dataclass(frozen=True)
class FactStamp:
    """When and by which event a fact was stated."""

    time: datetime
    event_id: str
    ns: int = 0
    """The nanoseconds of `time` below its microsecond (shared.envelope.sub_microsecond)."""

    @property
    def order(self) -> tuple[datetime, int, str]:
        """(time, ns, event id): the order of snapshots (CONTRACT.md), as NEWER compares them."""
        return (self.time, self.ns, self.event_id)


@dataclass(frozen=True)
class MeetingRow:
    """A meeting of the projection with its snapshot facts (documents and assessments load apart)."""

    meeting_id: str
    cell_id: str
    kind: str
    starts_at: datetime
    notified_at: datetime | None
    committee_prepared: bool | None
    cancelled: bool
    roster: dict[str, str] | None
    minutes: dict[str, Any] | None
    approved_at: datetime | None
    approval_voted: bool | None = None
    """Whether the adoption in force gave its votes for; None without one, or for one stored before evaluation kept
    its votes (migration 0039: votes_carried false)."""
    completions: dict[str, date] = field(default_factory=dict)
    """Completion dates of the meeting's tasks that are done, by task id (a task is named within its meeting)."""
    minutes_first_at: datetime | None = None
    """When its minutes were first recorded: the earliest minutes snapshot's `time` (minutes_content, migration 0026;
    None without minutes, or for minutes stored before 0026)."""


CommitteeHistory = tuple[list[MemberSnapshot], dict[str, MemberRemoval]]
"""Every snapshot of the members ever in a cell (committee members or not: the cell's committee and its member count
at a meeting's start are read from it), and each such member's removal."""

Unrostered = list[tuple[str, str]]
"""(cell id, meeting id) of the meetings with minutes and no roster in the cells a member write names (its
resolutions' votes are judged against the cell's members: domain.rules._resolution_adopted), to rescore."""

UNROSTERED_IN = (
    "SELECT m.cell_id, m.meeting_id FROM meeting m WHERE m.cell_id IN ({cells})"
    " AND EXISTS (SELECT FROM minutes n WHERE n.meeting_id = m.meeting_id)"
    " AND NOT EXISTS (SELECT FROM attendance a WHERE a.meeting_id = m.meeting_id)"
)
"""The meetings with minutes and no roster of the cells the subquery `cells` gives (Unrostered)."""


def lock_cells_sql(cells: str) -> str:
    """A SELECT taking the `evaluation.cell:` advisory lock (until the transaction ends) of each distinct cell the
    subquery `cells` (a column `cell_id`) gives, in code point order (COLLATE "C", as every locker of cells takes
    them), in one row: `cells`, a text[] of them in that order (NULL for none)."""
    return (
        "SELECT array_agg(c) AS cells, count(pg_advisory_xact_lock(hashtextextended('evaluation.cell:' || c, 0)))"
        f' FROM (SELECT DISTINCT cell_id COLLATE "C" AS c FROM ({cells}) AS named ORDER BY 1) AS ordered'
    )


UNROSTERED_OF_LOCKED = UNROSTERED_IN.format(cells="SELECT unnest($1::text[])")
"""The meetings with minutes and no roster of the cells $1, read once a member write has locked them.

A member write does not read them in the statement that writes it: under READ COMMITTED a statement's snapshot is
taken when it starts, before its locks are granted, so it would miss minutes (or a schedule, a roster's withdrawal)
committed meanwhile by a transaction that held the cell's lock and scored them against the members it read before
the write committed: the meeting kept the old membership's score for good. The writing statement locks the cells it
names (lock_cells_sql), this read comes in a statement of its own, and scoring locks its cells before it reads the
members (scores.rescore_cells): whichever of the two commits second sees what the first wrote (docs/architecture.md,
"member writes and scoring share the cell's lock")."""


def per_key(table: str, column: str, outer: str, *, alias: str, columns: str = "*") -> str:
    """`LEFT JOIN LATERAL` of the rows of `table` whose `column` equals `outer` (an indexed column), kept a subquery by
    OFFSET 0: PostgreSQL reads it through the index once per outer row, whatever the table's statistics say (a
    plain join over a table grown by a bulk stretch and not analyzed yet is planned as a hash join over a sequential
    scan of it)."""
    return f" LEFT JOIN LATERAL (SELECT {columns} FROM {table} WHERE {column} = {outer} OFFSET 0) {alias} ON true"


WITHDRAWN_ROSTER = (
    "NOT EXISTS (SELECT 1 FROM withdrawn_roster w WHERE w.meeting_id = u.m AND w.version_time = u.t"
    " AND w.version_ns = u.n AND w.version_id = u.i)"
)
"""The filter of rows `u(m, t, n, i)` (meeting, time, ns, id) of a roster or its content key: not one meetings withdrew
(withdrawn_roster), which may arrive after its withdrawal (evaluation 0047)."""

STAMPED = "fact_time = EXCLUDED.fact_time, fact_ns = EXCLUDED.fact_ns, fact_id = EXCLUDED.fact_id"
"""The SET items that keep the stamp of the snapshot written."""

KEYS = "(SELECT DISTINCT unnest($1::text[]) AS key) k"
"""The distinct keys of a `= ANY($1)` lookup as rows, for `CROSS JOIN LATERAL` (per_key) lookups by each."""

MEETINGS_OF_CELLS = (
    "SELECT m.meeting_id, m.cell_id, m.kind, m.notified_at, m.committee_prepared,"
    " CASE WHEN r.meeting_id IS NOT NULL AND (r.fact_time, r.fact_ns, r.fact_id) > (m.fact_time, m.fact_ns, m.fact_id)"
    "  THEN r.starts_at ELSE m.starts_at END AS starts_at,"
    " c.meeting_id IS NOT NULL AS cancelled, a.records::text AS roster, n.data::text AS minutes,"
    # the adoption counts while no minutes or roster issued after it replaced the ones it adopted with others
    # (meetings' domain.adoption_in_force, shared.minutes: CONTRACT.md's latest snapshots win, DOMAIN.md's minutes
    # with their roster are adopted)
    " CASE WHEN "
    + adoption_in_force_sql(
        meeting_id="m.meeting_id",
        approval_time="p.fact_time",
        minutes=("n.fact_time", "n.fact_ns", "n.fact_id"),
        roster=("a.fact_time", "a.fact_ns", "a.fact_id"),
    )
    + " THEN p.approved_at END AS approved_at,"
    " CASE WHEN p.votes_carried THEN p.votes_for IS NOT NULL END AS approval_voted, t.done_tasks, t.done_on,"
    # when its minutes were first recorded (the earliest snapshot's own time, in whatever order they came)
    " (SELECT min(v.version_time) FROM minutes_content v WHERE v.meeting_id = m.meeting_id) AS minutes_first_at"
    f" FROM {KEYS} CROSS JOIN LATERAL (SELECT * FROM meeting WHERE cell_id = k.key OFFSET 0) m"
    + per_key("meeting_reschedule", "meeting_id", "m.meeting_id", alias="r")
    + per_key("meeting_cancellation", "meeting_id", "m.meeting_id", alias="c", columns="meeting_id")
    + per_key("attendance", "meeting_id", "m.meeting_id", alias="a", columns="records, fact_time, fact_ns, fact_id")
    + per_key("minutes", "meeting_id", "m.meeting_id", alias="n", columns="data, fact_time, fact_ns, fact_id")
    + per_key(
        "approval",
        "meeting_id",
        "m.meeting_id",
        alias="p",
        columns="approved_at, votes_for, votes_carried, fact_time",
    )
    + " CROSS JOIN LATERAL (SELECT array_agg(task_id) AS done_tasks, array_agg(completed_on) AS done_on"
    "  FROM task_completion WHERE meeting_id = m.meeting_id) t"
)
"""Every meeting of the cells $1 with its snapshots and its tasks' completions (each table read by its key: see
per_key; the completions here save scoring a round trip of its own)."""

COMMITTEE_HISTORIES = (
    "SELECT k.key, s.member_id, s.fact_time, s.fact_ns, s.fact_id, s.cell_id, s.role, r.effective_on,"
    " r.fact_time AS removal_time, r.fact_ns AS removal_ns, r.fact_id AS removal_id"
    f" FROM {KEYS} CROSS JOIN LATERAL (SELECT DISTINCT member_id FROM member_snapshot"
    "  WHERE cell_id = k.key OFFSET 0) c"
    " CROSS JOIN LATERAL (SELECT member_id, fact_time, fact_ns, fact_id, cell_id, role FROM member_snapshot"
    "  WHERE member_id = c.member_id OFFSET 0) s"
    + per_key(
        "member_removal", "member_id", "c.member_id", alias="r", columns="effective_on, fact_time, fact_ns, fact_id"
    )
)
"""Of the cells $1, every snapshot of each member ever there and the member's removal, by cell (`key`): the cell's
committee and members at a meeting's start are read from it (domain.facts.members_in_cell_at).

Each step is a LATERAL subquery per key (OFFSET 0 keeps it from being flattened into a join: per_key), so PostgreSQL
reads each through its index whatever its statistics say: joined plainly, a member_snapshot grown by a bulk load and
not analyzed yet was read whole for each call (a hash join over a sequential scan: 150 ms at 595,000 snapshots for
one cell, 0.4 ms this way; 134 members/s during a full-size tree load until a manual ANALYZE)."""


def _meeting_row(row: asyncpg.Record) -> MeetingRow:
    return MeetingRow(
        meeting_id=row["meeting_id"],
        cell_id=row["cell_id"],
        kind=row["kind"],
        starts_at=row["starts_at"],
        notified_at=row["notified_at"],
        committee_prepared=row["committee_prepared"],
        cancelled=row["cancelled"],
        roster=from_json(row["roster"]) if row["roster"] else None,
        minutes=from_json(row["minutes"]) if row["minutes"] else None,
        approved_at=row["approved_at"],
        approval_voted=row["approval_voted"] if row["approved_at"] is not None else None,
        completions=dict(zip(row["done_tasks"], row["done_on"], strict=True)) if row["done_tasks"] else {},
        minutes_first_at=row["minutes_first_at"],
    )


_NAMED_CELLS = (
    "SELECT cell_id FROM added UNION SELECT s.cell_id FROM member_snapshot s"
    " WHERE s.member_id IN (SELECT member_id FROM added)"
)
"""The cells the snapshots `added` (a CTE of member_id, cell_id) name, and those their members' earlier ones name (a
statement does not see its own inserts): a member joining one cell may leave another."""


def _unrostered(rows: Sequence[asyncpg.Record]) -> Unrostered:
    return sorted({(row["cell_id"], row["meeting_id"]) for row in rows if row["meeting_id"] is not None})


def _committee_history(rows: Sequence[asyncpg.Record]) -> CommitteeHistory:
    snapshots = [
        MemberSnapshot(
            member_id=row["member_id"],
            time=row["fact_time"],
            event_id=row["fact_id"],
            cell_id=row["cell_id"],
            role=row["role"],
            ns=row["fact_ns"],
        )
        for row in rows
    ]
    return snapshots, {
        row["member_id"]: MemberRemoval(
            member_id=row["member_id"],
            effective_on=row["effective_on"],
            time=row["removal_time"],
            event_id=row["removal_id"],
            ns=row["removal_ns"],
        )
        for row in rows
        if row["effective_on"] is not None
    }


SNAPSHOT_TABLES = {
    "attendance": ("records", "text[]", "::jsonb"),
    "minutes": ("data", "text[]", "::jsonb"),
    "meeting_reschedule": ("starts_at", "timestamptz[]", ""),
}
"""Snapshot tables written many rows at once: the value column, the array type it travels in, its cast (approval,
whose value is an Adoption, has its own statement: FactRepository.upsert_snapshots)."""


@dataclass(frozen=True)
class Adoption:
    """An adoption of the minutes as evaluation keeps it (minutes.approved.v1): its moment and its votes for and
    against, each None when the event gives none (CONTRACT.md: optional)."""

    approved_at: datetime
    votes_for: int | None = None
    votes_against: int | None = None


class FactRepository(Protocol):
    """The projection of facts, as evaluation needs them."""

    async def upsert_unit(self, *, unit: dict[str, Any], stamp: FactStamp) -> tuple[bool, str | None, bool]: ...
    async def unit_kind(self, unit_id: str) -> str | None: ...
    async def units_held(self, unit_ids: Sequence[str]) -> dict[str, tuple[str, str | None, bool]]: ...
    async def upsert_units(
        self, rows: Sequence[tuple[dict[str, Any], FactStamp]], held: dict[str, tuple[str, str | None, bool]]
    ) -> dict[str, tuple[bool, str | None, bool]]: ...
    async def upsert_member(self, *, member: dict[str, Any], stamp: FactStamp) -> tuple[bool, Unrostered]: ...
    async def remove_member(
        self, *, member_id: str, effective_on: date, stamp: FactStamp
    ) -> tuple[bool, Unrostered]: ...
    async def member_cells(self, member_id: str) -> set[str]: ...
    async def cells_of_members(self, member_ids: Sequence[str]) -> dict[str, set[str]]: ...
    async def committee_cells(self, member_id: str) -> set[str]: ...
    async def committee_members(self, member_ids: Sequence[str]) -> set[str]: ...
    async def upsert_members(self, rows: Sequence[tuple[dict[str, Any], FactStamp]]) -> Unrostered: ...
    async def upsert_meeting(self, *, meeting: dict[str, Any], stamp: FactStamp) -> bool: ...
    async def upsert_meetings(self, rows: Sequence[tuple[dict[str, Any], FactStamp]]) -> set[str]: ...
    async def reschedule_meeting(self, *, meeting_id: str, starts_at: datetime, stamp: FactStamp) -> bool: ...
    async def cancel_meeting(self, *, meeting_id: str, stamp: FactStamp) -> bool: ...
    async def add_documents(self, *, meeting_id: str, items: list[tuple[str, datetime]], stamp: FactStamp) -> bool: ...
    async def record_attendance(self, *, meeting_id: str, roster: dict[str, str], stamp: FactStamp) -> bool: ...
    async def keep_roster_content(self, rows: Sequence[tuple[str, str, FactStamp]]) -> set[str]: ...
    async def withdraw_attendance(self, *, meeting_id: str, stamp: FactStamp) -> bool: ...
    async def submit_minutes(self, *, meeting_id: str, minutes: dict[str, Any], stamp: FactStamp) -> bool: ...
    async def approve_minutes(self, *, meeting_id: str, adoption: Adoption, stamp: FactStamp) -> bool: ...
    async def add_assessment(
        self, *, meeting_id: str, role: str, points: dict[str, float], stamp: FactStamp
    ) -> bool: ...
    async def complete_task(self, *, task_id: str, meeting_id: str, completed_on: date, stamp: FactStamp) -> bool: ...
    async def meeting_position(self, meeting_id: str) -> tuple[str, datetime] | None: ...
    async def meeting_positions(self, meeting_ids: Sequence[str]) -> dict[str, tuple[str, datetime]]: ...
    async def upsert_snapshots(self, table: str, rows: Sequence[tuple[str, Any, FactStamp]]) -> set[str]: ...
    async def add_documents_many(self, rows: Sequence[tuple[str, list[tuple[str, datetime]], FactStamp]]) -> None: ...
    async def add_assessments(
        self, rows: Sequence[tuple[str, str, dict[str, float], FactStamp]]
    ) -> set[tuple[str, str]]: ...
    async def complete_tasks(self, rows: Sequence[tuple[str, str, date, FactStamp]]) -> set[tuple[str, str]]: ...
    async def cancel_meetings(self, rows: Sequence[tuple[str, FactStamp]]) -> set[str]: ...
    async def cells_meetings(self, cell_ids: Sequence[str]) -> dict[str, list[MeetingRow]]: ...
    async def committee_history(self, cell_id: str) -> CommitteeHistory: ...
    async def committee_histories(self, cell_ids: Sequence[str]) -> dict[str, CommitteeHistory]: ...
    async def meeting_starts(self, cell_id: str) -> list[tuple[str, datetime]]: ...
    async def meeting_starts_of(self, cell_ids: Sequence[str]) -> dict[str, list[tuple[str, datetime]]]: ...
    async def ancestors(self, unit_id: str) -> list[str]: ...
    async def ancestors_of(self, unit_ids: Sequence[str]) -> dict[str, list[str]]: ...
    async def subtree_cells(self, unit_id: str) -> list[str]: ...
    async def cells_with_meetings(self) -> list[str]: ...
    async def lock_cell(self, cell_id: str) -> None: ...
    async def lock_cells(self, cell_ids: Sequence[str]) -> None: ...
    async def lock_fact_subject(self, key: str) -> None: ...
    async def lock_fact_subjects(self, keys: Sequence[str]) -> None: ...


class PgFactRepository:
    """FactRepository on the evaluation schema."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection
        # Per unit of work: a fact reads a cell's ancestors for its meeting and again for its periods.
        self._ancestors: dict[str, list[str]] = {}
        # Per unit of work (one transaction): a batch's facts about one subject lock it once, and read the meeting's
        # position once until a schedule or reschedule of it (the subject lock keeps others from moving it).
        self._subjects: set[str] = set()
        self._cells: set[str] = set()  # cell locks held, likewise until the transaction ends
        self._positions: dict[str, tuple[str, datetime] | None] = {}

    async def unit_kind(self, unit_id: str) -> str | None:
        """The kind of a stored unit (`cell`, `committee`), None for one not stored yet."""
        kind: str | None = await self._conn.fetchval("SELECT kind FROM unit WHERE id = $1", unit_id)
        return kind

    async def units_held(self, unit_ids: Sequence[str]) -> dict[str, tuple[str, str | None, bool]]:
        """(kind, parent id, active) of each stored unit of `unit_ids` (those not stored left out), in one
        statement."""
        rows = await self._conn.fetch(
            "SELECT id, kind, parent_id, active FROM unit WHERE id = ANY($1::text[])", list(unit_ids)
        )
        return {row["id"]: (row["kind"], row["parent_id"], row["active"]) for row in rows}

    async def upsert_units(
        self, rows: Sequence[tuple[dict[str, Any], FactStamp]], held: dict[str, tuple[str, str | None, bool]]
    ) -> dict[str, tuple[bool, str | None, bool]]:
        """`upsert_unit` of each row (each unit at most once), `held` the stored units as `units_held` read them
        (the caller holds what keeps them so: see handlers.facts.units_upserted), in two statements; by unit id
        what `upsert_unit` returns."""
        if not rows:
            return {}
        self._ancestors.clear()
        ids = [unit["id"] for unit, _ in rows]
        actives = [unit.get("active", True) for unit, _ in rows]
        times = [stamp.time for _, stamp in rows]
        event_ids = [stamp.event_id for _, stamp in rows]
        nss = [stamp.ns for _, stamp in rows]
        # every snapshot's time and `active`, in any order: when a cell exists is read from them (cells_existence);
        # the NOT EXISTS sees the table as the statement began, each unit's snapshot alone in it as in upsert_unit
        snapshots = await self._conn.fetch(
            "INSERT INTO unit_snapshot AS n (unit_id, fact_time, fact_id, active, fact_ns)"
            " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::bool[], $5::smallint[])"
            " ON CONFLICT DO NOTHING RETURNING n.unit_id, NOT EXISTS (SELECT 1 FROM unit_snapshot s"
            "  WHERE s.unit_id = n.unit_id"
            "  AND (s.fact_time, s.fact_ns, s.fact_id) < (n.fact_time, n.fact_ns, n.fact_id)) AS earliest",
            ids,
            times,
            event_ids,
            actives,
            nss,
        )
        earliest = {row["unit_id"]: row["earliest"] for row in snapshots}
        changed = await self._conn.fetch(
            "INSERT INTO unit (id, name, kind, parent_id, active, fact_time, fact_id, fact_ns)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::timestamptz[],"
            " $7::text[], $8::smallint[])"
            " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
            " parent_id = EXCLUDED.parent_id, active = EXCLUDED.active,"
            f" {STAMPED} WHERE {NEWER.format(t='unit')} RETURNING id",
            ids,
            [unit["name"] for unit, _ in rows],
            [unit["kind"] for unit, _ in rows],
            [unit.get("parent_id") for unit, _ in rows],
            actives,
            times,
            event_ids,
            nss,
        )
        written = {row["id"] for row in changed}
        found: dict[str, tuple[bool, str | None, bool]] = {}
        for unit_id, active in zip(ids, actives, strict=True):
            previous = held.get(unit_id)
            first = earliest.get(unit_id)
            plain = unit_id in written and previous is not None and previous[2] and active and not first
            found[unit_id] = (unit_id in written, previous[1] if previous else None, first is not None and not plain)
        return found

    async def upsert_unit(self, *, unit: dict[str, Any], stamp: FactStamp) -> tuple[bool, str | None, bool]:
        """Store a unit snapshot (the current one if newer); return (changed, previous parent, whether it may move
        when the unit existed: a new snapshot that is its first, late, inactive or re-activating, not a plain newer
        active one after an active one, which a tree sent again daily is)."""
        self._ancestors.clear()
        active = unit.get("active", True)
        # every snapshot's time and `active`, in any order: when a cell exists is read from them (cells_existence)
        earliest = await self._conn.fetchval(
            "INSERT INTO unit_snapshot (unit_id, fact_time, fact_id, active, fact_ns) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT DO NOTHING RETURNING NOT EXISTS (SELECT 1 FROM unit_snapshot s WHERE s.unit_id = $1"
            "  AND (s.fact_time, s.fact_ns, s.fact_id) < ($2, $5, $3))",
            unit["id"],
            stamp.time,
            stamp.event_id,
            active,
            stamp.ns,
        )
        previous = await self._conn.fetchrow("SELECT parent_id, active FROM unit WHERE id = $1", unit["id"])
        changed = await self._conn.fetchval(
            "INSERT INTO unit (id, name, kind, parent_id, active, fact_time, fact_id, fact_ns)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
            " parent_id = EXCLUDED.parent_id, active = EXCLUDED.active,"
            f" {STAMPED} WHERE {NEWER.format(t='unit')} RETURNING 1",
            unit["id"],
            unit["name"],
            unit["kind"],
            unit.get("parent_id"),
            active,
            stamp.time,
            stamp.event_id,
            stamp.ns,
        )
        plain = changed is not None and previous is not None and previous["active"] and active and not earliest
        return changed is not None, previous["parent_id"] if previous else None, earliest is not None and not plain

    async def upsert_member(self, *, member: dict[str, Any], stamp: FactStamp) -> tuple[bool, Unrostered]:
        """Keep the snapshot in the member's history, and as the current one if newer: (True when it is new, the
        meetings with minutes and no roster of the cells its snapshots name when it is new: Unrostered).

        One statement writes both and locks those cells, one more reads their meetings (UNROSTERED_OF_LOCKED)."""
        row = await self._conn.fetchrow(
            "WITH added AS (INSERT INTO member_snapshot (member_id, fact_time, fact_id, cell_id, role, fact_ns)"
            " VALUES ($1, $6, $7, $2, $3, $8) ON CONFLICT DO NOTHING RETURNING member_id, cell_id),"
            " current AS (INSERT INTO member (id, cell_id, role, status, exempt, fact_time, fact_id, fact_ns)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (id) DO UPDATE SET cell_id = EXCLUDED.cell_id, role = EXCLUDED.role,"
            " status = EXCLUDED.status, exempt = EXCLUDED.exempt,"
            f" {STAMPED} WHERE {NEWER.format(t='member')}) " + lock_cells_sql(_NAMED_CELLS),
            member["id"],
            member["cell_id"],
            member["role"],
            member["status"],
            member["exempt"],
            stamp.time,
            stamp.event_id,
            stamp.ns,
        )
        # a new snapshot names its own cell: no cell locked is no snapshot added
        return row["cells"] is not None, await self._unrostered_of_locked(row["cells"])

    async def remove_member(self, *, member_id: str, effective_on: date, stamp: FactStamp) -> tuple[bool, Unrostered]:
        """Store a removal if newer than a previous one: (stored, the meetings with minutes and no roster of the
        cells the member's snapshots name when stored: Unrostered). One statement writes it and locks those cells,
        one more reads their meetings (UNROSTERED_OF_LOCKED)."""
        row = await self._conn.fetchrow(
            "WITH changed AS (INSERT INTO member_removal (member_id, effective_on, fact_time, fact_id, fact_ns)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (member_id) DO UPDATE SET effective_on = EXCLUDED.effective_on,"
            f" {STAMPED} WHERE {NEWER.format(t='member_removal')} RETURNING member_id)"
            " SELECT EXISTS (SELECT FROM changed) AS added, l.cells FROM ("
            + lock_cells_sql(
                "SELECT s.cell_id FROM member_snapshot s WHERE s.member_id IN (SELECT member_id FROM changed)"
            )
            + ") AS l",
            member_id,
            effective_on,
            stamp.time,
            stamp.event_id,
            stamp.ns,
        )
        return bool(row["added"]), await self._unrostered_of_locked(row["cells"])

    async def _unrostered_of_locked(self, cells: list[str] | None) -> Unrostered:
        """Note the cells a member write's statement locked as held; their meetings with minutes and no roster
        (UNROSTERED_OF_LOCKED, in a statement of its own: none when no cell was locked)."""
        if not cells:
            return []
        self._cells.update(cells)
        return _unrostered(await self._conn.fetch(UNROSTERED_OF_LOCKED, cells))

    async def member_cells(self, member_id: str) -> set[str]:
        """Every cell a member's snapshots name."""
        rows = await self._conn.fetch("SELECT DISTINCT cell_id FROM member_snapshot WHERE member_id = $1", member_id)
        return {row["cell_id"] for row in rows}

    async def cells_of_members(self, member_ids: Sequence[str]) -> dict[str, set[str]]:
        """`member_cells` of each member (every one a key), in one statement."""
        rows = await self._conn.fetch(
            "SELECT DISTINCT member_id, cell_id FROM member_snapshot WHERE member_id = ANY($1::text[])",
            list(member_ids),
        )
        cells: dict[str, set[str]] = {member_id: set() for member_id in member_ids}
        for row in rows:
            cells[row["member_id"]].add(row["cell_id"])
        return cells

    async def committee_cells(self, member_id: str) -> set[str]:
        """Every cell a member's snapshots name as a committee_member there (their committee histories hold it)."""
        rows = await self._conn.fetch(
            "SELECT DISTINCT cell_id FROM member_snapshot WHERE member_id = $1 AND role = $2", member_id, COMMITTEE_ROLE
        )
        return {row["cell_id"] for row in rows}

    async def committee_members(self, member_ids: Sequence[str]) -> set[str]:
        """Those of the members whose snapshots name them a committee_member anywhere (`committee_cells` not empty),
        in one statement."""
        rows = await self._conn.fetch(
            f"SELECT k.key AS member_id FROM {KEYS} WHERE EXISTS"
            " (SELECT FROM member_snapshot WHERE member_id = k.key AND role = $2 OFFSET 0)",
            list(member_ids),
            COMMITTEE_ROLE,
        )
        return {row["member_id"] for row in rows}

    async def upsert_members(self, rows: Sequence[tuple[dict[str, Any], FactStamp]]) -> Unrostered:
        """`upsert_member` of each row, in two statements: every snapshot kept in the history, locking the cells the
        new snapshots' members name (lock_cells_sql); then per member the newest row (time, ns, then id, compared as
        NEWER compares them) offered as the current one if newer, with the meetings with minutes and no roster of
        those cells (UNROSTERED_OF_LOCKED's read: Unrostered, returned)."""
        if not rows:
            return []
        columns = (
            [member["id"] for member, _ in rows],
            [member["cell_id"] for member, _ in rows],
            [member["role"] for member, _ in rows],
            [member["status"] for member, _ in rows],
            [member["exempt"] for member, _ in rows],
            [stamp.time for _, stamp in rows],
            [stamp.event_id for _, stamp in rows],
            [stamp.ns for _, stamp in rows],
        )
        given = (
            "unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::timestamptz[], $7::text[],"
            " $8::smallint[]) AS g(id, cell_id, role, status, exempt, fact_time, fact_id, fact_ns)"
        )
        locked = await self._conn.fetchval(
            "WITH added AS (INSERT INTO member_snapshot (member_id, fact_time, fact_id, cell_id, role, fact_ns)"
            f" SELECT id, fact_time, fact_id, cell_id, role, fact_ns FROM {given} ON CONFLICT DO NOTHING"
            " RETURNING member_id, cell_id) SELECT cells FROM (" + lock_cells_sql(_NAMED_CELLS) + ") AS l",
            *columns,
        )
        if locked:
            self._cells.update(locked)
        # the current rows, and the cells' meetings with minutes and no roster read once the cells are locked
        unrostered = await self._conn.fetch(
            "WITH current AS (INSERT INTO member (id, cell_id, role, status, exempt, fact_time, fact_id, fact_ns)"
            " SELECT DISTINCT ON (id) id, cell_id, role, status, exempt, fact_time, fact_id, fact_ns"
            f' FROM {given} ORDER BY id, fact_time DESC, fact_ns DESC, fact_id COLLATE "C" DESC'
            " ON CONFLICT (id) DO UPDATE SET cell_id = EXCLUDED.cell_id, role = EXCLUDED.role,"
            " status = EXCLUDED.status, exempt = EXCLUDED.exempt,"
            f" {STAMPED} WHERE {NEWER.format(t='member')}) " + UNROSTERED_IN.format(cells="SELECT unnest($9::text[])"),
            *columns,
            locked or [],
        )
        return _unrostered(unrostered)

    async def upsert_meeting(self, *, meeting: dict[str, Any], stamp: FactStamp) -> bool:
        """Store a meeting.scheduled snapshot if newer."""
        self._positions.pop(meeting["meeting_id"], None)
        changed = await self._conn.fetchval(
            "INSERT INTO meeting (meeting_id, cell_id, kind, starts_at, notified_at, committee_prepared,"
            " fact_time, fact_id, fact_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (meeting_id) DO UPDATE SET cell_id = EXCLUDED.cell_id, kind = EXCLUDED.kind,"
            " starts_at = EXCLUDED.starts_at, notified_at = EXCLUDED.notified_at,"
            " committee_prepared = EXCLUDED.committee_prepared,"
            f" {STAMPED} WHERE {NEWER.format(t='meeting')} RETURNING 1",
            meeting["meeting_id"],
            meeting["cell_id"],
            meeting["kind"],
            meeting["starts_at"],
            meeting["notified_at"],
            meeting.get("committee_prepared"),
            stamp.time,
            stamp.event_id,
            stamp.ns,
        )
        return changed is not None

    async def upsert_meetings(self, rows: Sequence[tuple[dict[str, Any], FactStamp]]) -> set[str]:
        """`upsert_meeting` of each row (each meeting at most once) in one statement; the ids of those changed."""
        if not rows:
            return set()
        for meeting, _ in rows:
            self._positions.pop(meeting["meeting_id"], None)
        changed = await self._conn.fetch(
            "INSERT INTO meeting (meeting_id, cell_id, kind, starts_at, notified_at, committee_prepared,"
            " fact_time, fact_id, fact_ns) SELECT * FROM unnest($1::text[], $2::text[], $3::text[],"
            " $4::timestamptz[], $5::timestamptz[], $6::bool[], $7::timestamptz[], $8::text[], $9::smallint[])"
            " ON CONFLICT (meeting_id) DO UPDATE SET cell_id = EXCLUDED.cell_id, kind = EXCLUDED.kind,"
            " starts_at = EXCLUDED.starts_at, notified_at = EXCLUDED.notified_at,"
            " committee_prepared = EXCLUDED.committee_prepared,"
            f" {STAMPED} WHERE {NEWER.format(t='meeting')} RETURNING meeting_id",
            [meeting["meeting_id"] for meeting, _ in rows],
            [meeting["cell_id"] for meeting, _ in rows],
            [meeting["kind"] for meeting, _ in rows],
            [meeting["starts_at"] for meeting, _ in rows],
            [meeting["notified_at"] for meeting, _ in rows],
            [meeting.get("committee_prepared") for meeting, _ in rows],
            [stamp.time for _, stamp in rows],
            [stamp.event_id for _, stamp in rows],
            [stamp.ns for _, stamp in rows],
        )
        return {row["meeting_id"] for row in changed}

    async def reschedule_meeting(self, *, meeting_id: str, starts_at: datetime, stamp: FactStamp) -> bool:
        """Store the latest reschedule of a meeting."""
        self._positions.pop(meeting_id, None)
        return await self._snapshot(
            "meeting_reschedule", "starts_at", meeting_id=meeting_id, value=starts_at, stamp=stamp
        )

    async def cancel_meeting(self, *, meeting_id: str, stamp: FactStamp) -> bool:
        """Mark a meeting cancelled (the first cancellation stays; cancelling is final)."""
        changed = await self._conn.fetchval(
            "INSERT INTO meeting_cancellation (meeting_id, fact_time, fact_id) VALUES ($1, $2, $3)"
            " ON CONFLICT (meeting_id) DO NOTHING RETURNING 1",
            meeting_id,
            stamp.time,
            stamp.event_id,
        )
        return changed is not None

    async def add_documents(self, *, meeting_id: str, items: list[tuple[str, datetime]], stamp: FactStamp) -> bool:
        """Add the documents of one publication (publications accumulate)."""
        await self._conn.executemany(
            "INSERT INTO document (meeting_id, fact_id, position, kind, published_at) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT DO NOTHING",
            [(meeting_id, stamp.event_id, index, kind, at) for index, (kind, at) in enumerate(items)],
        )
        return True

    async def record_attendance(self, *, meeting_id: str, roster: dict[str, str], stamp: FactStamp) -> bool:
        """Store a roster if newer than the stored one and not withdrawn (WITHDRAWN_ROSTER)."""
        return bool(await self.upsert_snapshots("attendance", [(meeting_id, roster, stamp)]))

    async def withdraw_attendance(self, *, meeting_id: str, stamp: FactStamp) -> bool:
        """Drop the roster stated at `stamp` (stored or only its content key), as if never received, and remember it
        withdrawn (withdrawn_roster), so that it is not stored if it arrives after this; a newer stored roster stays.
        Whether the stored roster was dropped."""
        args = (meeting_id, stamp.time, stamp.ns, stamp.event_id)
        await self._conn.execute(
            "WITH kept AS (INSERT INTO withdrawn_roster (meeting_id, version_time, version_ns, version_id)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING)"
            " DELETE FROM roster_content WHERE meeting_id = $1 AND version_time = $2 AND version_ns = $3"
            " AND version_id = $4",
            *args,
        )
        dropped = await self._conn.fetchval(
            "DELETE FROM attendance WHERE meeting_id = $1 AND fact_time = $2 AND fact_ns = $3 AND fact_id = $4"
            " RETURNING meeting_id",
            *args,
        )
        return dropped is not None

    async def submit_minutes(self, *, meeting_id: str, minutes: dict[str, Any], stamp: FactStamp) -> bool:
        """Store minutes if newer than the stored ones; their content key in any case (shared.minutes)."""
        kept = await self._minutes_content([(meeting_id, minutes, stamp)])
        return bool(kept) | await self._snapshot(
            "minutes", "data", meeting_id=meeting_id, value=to_json(minutes).decode(), stamp=stamp, cast="::jsonb"
        )

    async def approve_minutes(self, *, meeting_id: str, adoption: Adoption, stamp: FactStamp) -> bool:
        """Store an adoption (its moment and votes) if newer than the stored one; whether it was stored."""
        return bool(await self._approvals({meeting_id: (meeting_id, adoption, stamp)}))

    async def _approvals(self, newest: dict[str, tuple[str, Any, FactStamp]]) -> set[str]:
        """Store adoptions (the newest offered of each meeting), each if newer than the stored one, with their votes
        (votes_carried: the row says whether they were given); the meetings whose adoption changed."""
        adoptions: list[Adoption] = [adoption for _, adoption, _ in newest.values()]
        changed = await self._conn.fetch(
            "INSERT INTO approval (meeting_id, approved_at, votes_for, votes_against, votes_carried, fact_time,"
            " fact_id, fact_ns)"
            " SELECT m, a, f, g, true, t, i, n FROM unnest($1::text[], $2::timestamptz[], $3::int[], $4::int[],"
            " $5::timestamptz[], $6::text[], $7::smallint[]) AS u(m, a, f, g, t, i, n)"
            " ON CONFLICT (meeting_id) DO UPDATE SET approved_at = EXCLUDED.approved_at,"
            " votes_for = EXCLUDED.votes_for, votes_against = EXCLUDED.votes_against, votes_carried = true,"
            f" {STAMPED} WHERE {NEWER.format(t='approval')} RETURNING meeting_id",
            list(newest),
            [adoption.approved_at for adoption in adoptions],
            [adoption.votes_for for adoption in adoptions],
            [adoption.votes_against for adoption in adoptions],
            [stamp.time for _, _, stamp in newest.values()],
            [stamp.event_id for _, _, stamp in newest.values()],
            [stamp.ns for _, _, stamp in newest.values()],
        )
        return {row["meeting_id"] for row in changed}

    async def _snapshot(
        self, table: str, column: str, *, meeting_id: str, value: Any, stamp: FactStamp, cast: str = ""
    ) -> bool:
        changed = await self._conn.fetchval(
            f"INSERT INTO {table} (meeting_id, {column}, fact_time, fact_id, fact_ns) VALUES ($1, $2{cast}, $3, $4, $5)"
            f" ON CONFLICT (meeting_id) DO UPDATE SET {column} = EXCLUDED.{column},"
            f" {STAMPED} WHERE {NEWER.format(t=table)} RETURNING 1",
            meeting_id,
            value,
            stamp.time,
            stamp.event_id,
            stamp.ns,
        )
        return changed is not None

    async def _minutes_content(self, rows: Sequence[tuple[str, Any, FactStamp]]) -> set[str]:
        """Keep each minutes' content key (shared.minutes); the meetings with a key not kept before."""
        return await self._content("minutes_content", [(m, minutes_content_key(v), stamp) for m, v, stamp in rows])

    async def keep_roster_content(self, rows: Sequence[tuple[str, str, FactStamp]]) -> set[str]:
        """Keep each roster's content key (meeting id, key, stamp; shared.minutes.roster_content_key), older rosters'
        too: it may decide whether the adoption stands; the meetings with a key not kept before."""
        return await self._content("roster_content", rows)

    async def _content(self, table: str, rows: Sequence[tuple[str, str, FactStamp]]) -> set[str]:
        kept = await self._conn.fetch(
            f"INSERT INTO {table} (meeting_id, version_time, version_ns, version_id, content_key)"
            " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::text[], $5::text[])"
            " AS u(m, t, n, i, k)"
            + (f" WHERE {WITHDRAWN_ROSTER}" if table == "roster_content" else "")
            + " ON CONFLICT DO NOTHING RETURNING meeting_id",
            [meeting_id for meeting_id, _, _ in rows],
            [stamp.time for _, _, stamp in rows],
            [stamp.ns for _, _, stamp in rows],
            [stamp.event_id for _, _, stamp in rows],
            [key for _, key, _ in rows],
        )
        return {row["meeting_id"] for row in kept}

    async def add_assessment(self, *, meeting_id: str, role: str, points: dict[str, float], stamp: FactStamp) -> bool:
        """Keep every assessment; precedence is decided when scoring."""
        changed = await self._conn.fetchval(
            "INSERT INTO assessment (meeting_id, fact_id, role, points, fact_time, fact_ns)"
            " VALUES ($1, $2, $3, $4::jsonb, $5, $6) ON CONFLICT DO NOTHING RETURNING 1",
            meeting_id,
            stamp.event_id,
            role,
            to_json(points).decode(),
            stamp.time,
            stamp.ns,
        )
        return changed is not None

    async def complete_task(self, *, task_id: str, meeting_id: str, completed_on: date, stamp: FactStamp) -> bool:
        """Store a task completion if newer than the stored one."""
        changed = await self._conn.fetchval(
            "INSERT INTO task_completion (task_id, meeting_id, completed_on, fact_time, fact_id, fact_ns)"
            " VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (meeting_id, task_id) DO UPDATE SET"
            f" completed_on = EXCLUDED.completed_on, {STAMPED} WHERE {NEWER.format(t='task_completion')} RETURNING 1",
            task_id,
            meeting_id,
            completed_on,
            stamp.time,
            stamp.event_id,
            stamp.ns,
        )
        return changed is not None

    async def meeting_position(self, meeting_id: str) -> tuple[str, datetime] | None:
        """The cell and effective start of a scheduled meeting, or None before it is scheduled."""
        if meeting_id in self._positions:
            return self._positions[meeting_id]
        row = await self._conn.fetchrow(
            "SELECT m.cell_id, CASE WHEN r.meeting_id IS NOT NULL"
            " AND (r.fact_time, r.fact_ns, r.fact_id) > (m.fact_time, m.fact_ns, m.fact_id)"
            " THEN r.starts_at ELSE m.starts_at END AS starts_at"
            " FROM meeting m LEFT JOIN meeting_reschedule r USING (meeting_id) WHERE m.meeting_id = $1",
            meeting_id,
        )
        self._positions[meeting_id] = (row["cell_id"], row["starts_at"]) if row else None
        return self._positions[meeting_id]

    async def meeting_positions(self, meeting_ids: Sequence[str]) -> dict[str, tuple[str, datetime]]:
        """`meeting_position` of each meeting scheduled (those not read yet in this transaction in one statement)."""
        missing = sorted({meeting_id for meeting_id in meeting_ids if meeting_id not in self._positions})
        if missing:
            for meeting_id in missing:
                self._positions[meeting_id] = None
            for row in await self._conn.fetch(
                "SELECT m.meeting_id, m.cell_id, CASE WHEN r.meeting_id IS NOT NULL"
                " AND (r.fact_time, r.fact_ns, r.fact_id) > (m.fact_time, m.fact_ns, m.fact_id)"
                " THEN r.starts_at ELSE m.starts_at END AS starts_at"
                f" FROM {KEYS} CROSS JOIN LATERAL (SELECT * FROM meeting WHERE meeting_id = k.key OFFSET 0) m"
                + per_key("meeting_reschedule", "meeting_id", "m.meeting_id", alias="r"),
                missing,
            ):
                self._positions[row["meeting_id"]] = (row["cell_id"], row["starts_at"])
        found = {meeting_id: self._positions[meeting_id] for meeting_id in meeting_ids}
        return {meeting_id: position for meeting_id, position in found.items() if position is not None}

    async def upsert_snapshots(self, table: str, rows: Sequence[tuple[str, Any, FactStamp]]) -> set[str]:
        """Store many snapshots (meeting id, value, stamp) of one kind in one statement, each if newer than the
        stored one (of several for one meeting only the newest is offered: the same end state); the meetings whose
        snapshot changed, or (minutes) whose content keys gained one (shared.minutes: it may decide the adoption).
        `table` is attendance (value the roster), minutes (their data), approval (an Adoption) or meeting_reschedule
        (the new start)."""
        # every minutes' content, older ones too, may decide whether the adoption stands (shared.minutes)
        kept = await self._minutes_content(rows) if table == "minutes" else set()
        newest: dict[str, tuple[str, Any, FactStamp]] = {}
        for row in rows:
            held = newest.get(row[0])
            if held is None or held[2].order < row[2].order:
                newest[row[0]] = row
        if not newest:
            return kept
        if table == "approval":
            return await self._approvals(newest)
        if table == "meeting_reschedule":
            for meeting_id in newest:
                self._positions.pop(meeting_id, None)  # its effective start may move
        column, array, cast = SNAPSHOT_TABLES[table]
        values = [to_json(value).decode() if cast else value for _, value, _ in newest.values()]
        changed = await self._conn.fetch(
            f"INSERT INTO {table} (meeting_id, {column}, fact_time, fact_id, fact_ns)"
            f" SELECT m, v{cast}, t, i, n FROM unnest($1::text[], $2::{array}, $3::timestamptz[], $4::text[],"
            " $5::smallint[]) AS u(m, v, t, i, n)"
            + (f" WHERE {WITHDRAWN_ROSTER}" if table == "attendance" else "")
            + f" ON CONFLICT (meeting_id) DO UPDATE SET {column} = EXCLUDED.{column},"
            f" {STAMPED} WHERE {NEWER.format(t=table)} RETURNING meeting_id",
            list(newest),
            values,
            [stamp.time for _, _, stamp in newest.values()],
            [stamp.event_id for _, _, stamp in newest.values()],
            [stamp.ns for _, _, stamp in newest.values()],
        )
        return {row["meeting_id"] for row in changed} | kept

    async def add_documents_many(self, rows: Sequence[tuple[str, list[tuple[str, datetime]], FactStamp]]) -> None:
        """Add the documents of many publications (meeting id, items, stamp) in one statement."""
        flat = [
            (meeting_id, stamp.event_id, index, kind, at)
            for meeting_id, items, stamp in rows
            for index, (kind, at) in enumerate(items)
        ]
        if not flat:
            return
        await self._conn.execute(
            "INSERT INTO document (meeting_id, fact_id, position, kind, published_at)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::timestamptz[])"
            " ON CONFLICT DO NOTHING",
            *(list(column) for column in zip(*flat, strict=True)),
        )

    async def add_assessments(
        self, rows: Sequence[tuple[str, str, dict[str, float], FactStamp]]
    ) -> set[tuple[str, str]]:
        """Keep many assessments (meeting id, role, points, stamp) in one statement; the (meeting, event id) new."""
        if not rows:
            return set()
        inserted = await self._conn.fetch(
            "INSERT INTO assessment (meeting_id, fact_id, role, points, fact_time, fact_ns)"
            " SELECT m, i, r, p::jsonb, t, n FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
            " $5::timestamptz[], $6::smallint[]) AS u(m, i, r, p, t, n)"
            " ON CONFLICT DO NOTHING RETURNING meeting_id, fact_id",
            [meeting_id for meeting_id, _, _, _ in rows],
            [stamp.event_id for _, _, _, stamp in rows],
            [role for _, role, _, _ in rows],
            [to_json(points).decode() for _, _, points, _ in rows],
            [stamp.time for _, _, _, stamp in rows],
            [stamp.ns for _, _, _, stamp in rows],
        )
        return {(row["meeting_id"], row["fact_id"]) for row in inserted}

    async def complete_tasks(self, rows: Sequence[tuple[str, str, date, FactStamp]]) -> set[tuple[str, str]]:
        """Store many (task id, meeting id, completed on, stamp) completions in one statement (only the newest of a
        task is offered; a task is named within its meeting); the (meeting id, task id) whose completion changed."""
        newest: dict[tuple[str, str], tuple[str, str, date, FactStamp]] = {}
        for row in rows:
            key = (row[1], row[0])
            held = newest.get(key)
            if held is None or held[3].order < row[3].order:
                newest[key] = row
        if not newest:
            return set()
        changed = await self._conn.fetch(
            "INSERT INTO task_completion (task_id, meeting_id, completed_on, fact_time, fact_id, fact_ns)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::timestamptz[], $5::text[], $6::smallint[])"
            " ON CONFLICT (meeting_id, task_id) DO UPDATE SET"
            f" completed_on = EXCLUDED.completed_on, {STAMPED}"
            f" WHERE {NEWER.format(t='task_completion')} RETURNING meeting_id, task_id",
            [task_id for task_id, _, _, _ in newest.values()],
            [meeting_id for _, meeting_id, _, _ in newest.values()],
            [completed_on for _, _, completed_on, _ in newest.values()],
            [stamp.time for _, _, _, stamp in newest.values()],
            [stamp.event_id for _, _, _, stamp in newest.values()],
            [stamp.ns for _, _, _, stamp in newest.values()],
        )
        return {(row["meeting_id"], row["task_id"]) for row in changed}

    async def cancel_meetings(self, rows: Sequence[tuple[str, FactStamp]]) -> set[str]:
        """Mark many meetings cancelled in one statement (the first cancellation stays); those newly cancelled."""
        first: dict[str, FactStamp] = {}
        for meeting_id, stamp in rows:
            first.setdefault(meeting_id, stamp)
        if not first:
            return set()
        inserted = await self._conn.fetch(
            "INSERT INTO meeting_cancellation (meeting_id, fact_time, fact_id)"
            " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[])"
            " ON CONFLICT (meeting_id) DO NOTHING RETURNING meeting_id",
            list(first),
            [stamp.time for stamp in first.values()],
            [stamp.event_id for stamp in first.values()],
        )
        return {row["meeting_id"] for row in inserted}

    async def cells_meetings(self, cell_ids: Sequence[str]) -> dict[str, list[MeetingRow]]:
        """Every scheduled meeting of each cell with its snapshots, by effective start then id (every cell a key)."""
        rows = await self._conn.fetch(MEETINGS_OF_CELLS, list(cell_ids))
        found: dict[str, list[MeetingRow]] = {cell_id: [] for cell_id in cell_ids}
        for row in rows:
            found[row["cell_id"]].append(_meeting_row(row))
        for meetings in found.values():
            meetings.sort(key=lambda m: (m.starts_at, m.meeting_id))
        return found

    async def committee_history(self, cell_id: str) -> CommitteeHistory:
        """Every snapshot and the removal of each member ever in the cell (CommitteeHistory)."""
        return (await self.committee_histories([cell_id]))[cell_id]

    async def committee_histories(self, cell_ids: Sequence[str]) -> dict[str, CommitteeHistory]:
        """Per cell (every one a key), `committee_history` of it, in one statement (COMMITTEE_HISTORIES)."""
        rows = await self._conn.fetch(COMMITTEE_HISTORIES, list(cell_ids))
        by_cell: dict[str, list[asyncpg.Record]] = {cell_id: [] for cell_id in cell_ids}
        for row in rows:
            by_cell[row["key"]].append(row)
        return {cell_id: _committee_history(cell_rows) for cell_id, cell_rows in by_cell.items()}

    async def meeting_starts(self, cell_id: str) -> list[tuple[str, datetime]]:
        """(meeting id, effective start) of every scheduled meeting of a cell."""
        return (await self.meeting_starts_of([cell_id]))[cell_id]

    async def meeting_starts_of(self, cell_ids: Sequence[str]) -> dict[str, list[tuple[str, datetime]]]:
        """Per cell (every one a key), `meeting_starts` of it, in one statement."""
        rows = await self._conn.fetch(
            "SELECT m.cell_id, m.meeting_id, CASE WHEN r.meeting_id IS NOT NULL"
            " AND (r.fact_time, r.fact_ns, r.fact_id) > (m.fact_time, m.fact_ns, m.fact_id)"
            " THEN r.starts_at ELSE m.starts_at END AS starts_at"
            " FROM meeting m LEFT JOIN meeting_reschedule r USING (meeting_id) WHERE m.cell_id = ANY($1::text[])",
            list(cell_ids),
        )
        starts: dict[str, list[tuple[str, datetime]]] = {cell_id: [] for cell_id in cell_ids}
        for row in rows:
            starts[row["cell_id"]].append((row["meeting_id"], row["starts_at"]))
        return starts

    async def ancestors(self, unit_id: str) -> list[str]:
        """The units above a unit, nearest first (cycles in bad data stop the walk)."""
        if unit_id in self._ancestors:
            return list(self._ancestors[unit_id])
        path = await fetch_ancestors(self._conn, table="unit", unit_id=unit_id)
        self._ancestors[unit_id] = path[-2::-1]  # nearest first, without the unit itself
        return list(self._ancestors[unit_id])

    async def ancestors_of(self, unit_ids: Sequence[str]) -> dict[str, list[str]]:
        """`ancestors` of each unit, those not read yet in this unit of work in one statement."""
        missing = sorted({unit_id for unit_id in unit_ids if unit_id not in self._ancestors})
        if missing:
            rows = await fetch_ancestor_rows(self._conn, table="unit", unit_ids=missing)
            paths: dict[str, list[str]] = {unit_id: [] for unit_id in missing}
            heads: dict[str, str | None] = {}
            for row in rows:
                heads.setdefault(row["start_id"], row["parent_id"])
                paths[row["start_id"]].append(row["id"])
            for unit_id, path in paths.items():
                # as shared.tree.fetch_ancestors: a parent not known yet still heads the path
                head = heads.get(unit_id)
                if head is not None and head not in path:
                    path.insert(0, head)
                self._ancestors[unit_id] = path[-2::-1]  # nearest first, without the unit itself
        return {unit_id: list(self._ancestors[unit_id]) for unit_id in unit_ids}

    async def subtree_cells(self, unit_id: str) -> list[str]:
        """Every cell at any depth under a unit (the unit itself if it is a cell)."""
        cells = await fetch_subtree_cells(self._conn, table="unit", unit_id=unit_id)
        if not cells and await self._conn.fetchval("SELECT EXISTS (SELECT 1 FROM meeting WHERE cell_id = $1)", unit_id):
            cells = [unit_id]
        return cells

    async def cells_with_meetings(self) -> list[str]:
        """Every cell that has a scheduled meeting."""
        return [row["cell_id"] for row in await self._conn.fetch("SELECT DISTINCT cell_id FROM meeting ORDER BY 1")]

    async def lock_cell(self, cell_id: str) -> None:
        """Serialize recomputation of one cell across consumers until the transaction ends."""
        if cell_id in self._cells:
            return  # held until the transaction ends
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('evaluation.cell:' || $1, 0))", cell_id)
        self._cells.add(cell_id)

    async def lock_cells(self, cell_ids: Sequence[str]) -> None:
        """`lock_cell` of each cell, in id order (the order every locker uses: code point order, as Python's `sorted`
        before `lock_cell` one by one, whatever the database's collation), in one statement; those held already
        in this transaction are not asked again."""
        wanted = sorted(set(cell_ids) - self._cells)
        if not wanted:
            return
        await self._conn.execute(lock_cells_sql("SELECT unnest($1::text[]) AS cell_id"), wanted)
        self._cells.update(wanted)

    async def lock_fact_subjects(self, keys: Sequence[str]) -> None:
        """`lock_fact_subject` of each key not locked yet in this transaction, in key order, in one statement."""
        wanted = sorted(set(keys) - self._subjects)
        if not wanted:
            return
        await self._conn.execute(
            "SELECT count(pg_advisory_xact_lock(hashtextextended('evaluation.subject:' || k, 0)))"
            ' FROM (SELECT k FROM unnest($1::text[]) AS k ORDER BY k COLLATE "C") AS ordered',
            wanted,
        )
        self._subjects.update(wanted)

    async def lock_fact_subject(self, key: str) -> None:
        """Serialize facts about one meeting or member until the transaction ends.

        A handler decides which cell to rescore from data it reads before holding the cell's lock
        (a meeting's position, a member's cells); without this, a meeting's schedule and its minutes
        handled at the same moment could each miss the other's uncommitted row and neither rescore.
        """
        if key in self._subjects:
            return  # held until the transaction ends
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('evaluation.subject:' || $1, 0))", key)
        self._subjects.add(key)
