"""Read side: SQL over the meetings schema returning the read models of the RPC catalog."""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from services.meetings import domain
from services.meetings.config import Settings
from services.meetings.repository.ingest import rejection_filter_sql
from shared.collation import person_key
from shared.contracts.meetings_rpc import ANSWERED_ON_FORM, RejectionFilter
from shared.keyset import Column, Keyset
from shared.membership import MemberVersion
from shared.minutes import part_stands_sql
from shared.plausible import meeting_begun
from shared.rejection_counts import rejection_counts
from shared.rejection_fields import REJECTION_COLUMNS, rejection_reply, with_refusal
from shared.tree import fetch_ancestors


def page(
    items: list[dict[str, Any]], *, total: int, limit: int, offset: int, next_after: list[str] | None = None
) -> dict[str, Any]:
    """The catalog's page shape; `next_after` the key the following page starts after (shared.keyset)."""
    return {"items": items, "total": total, "limit": limit, "offset": offset, "next_after": next_after}


UNITS_ORDER = Keyset((Column("id", "text", "id"),))
MEETINGS_ORDER = Keyset(
    (Column("m.starts_at", "timestamptz", "starts_at"), Column("m.meeting_id", "text", "meeting_id"))
)
TASKS_ORDER = Keyset(
    (
        Column("t.due_on", "date", "due_on"),
        Column("t.meeting_id", "text", "meeting_id"),
        Column("t.task_id", "text", "task_id"),
    )
)
REJECTIONS_ORDER = Keyset(
    (
        Column("received_at", "timestamptz", "received_at", descending=True),
        Column("rejection_id", "text", "rejection_id"),
    )
)
HELD_ORDER = Keyset(
    (
        Column("held_at", "timestamptz", "held_at"),
        Column("source", "text", "source"),
        Column("event_id", "text", "event_id"),
    )
)
"""The orders of the lists read by cursor as well as by offset (shared.keyset): each page's rows after `after`."""


def _unit(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "kind": row["kind"],
        "parent_id": row["parent_id"],
        "category": row["category"],
        "active": row["active"],
        "contact_emails": json.loads(row["contact_emails"]),
    }


async def get_unit(conn: asyncpg.Connection, unit_id: str) -> dict[str, Any] | None:
    """One unit with the ids of its ancestors, root first, ending with itself."""
    row = await conn.fetchrow("SELECT * FROM org_unit WHERE id = $1", unit_id)
    if row is None:
        return None
    return _unit(row) | {"ancestors": await fetch_ancestors(conn, table="org_unit", unit_id=unit_id)}


async def known_units(conn: asyncpg.Connection, unit_ids: list[str]) -> list[str]:
    """Those of `unit_ids` that are units, in the order given, each once: one read of the primary key for all."""
    rows = await conn.fetch("SELECT id FROM org_unit WHERE id = ANY($1::text[])", unit_ids)
    known = {row["id"] for row in rows}
    return [unit_id for unit_id in dict.fromkeys(unit_ids) if unit_id in known]


async def list_units(
    conn: asyncpg.Connection, *, parent_id: str | None, limit: int, offset: int, after: list[str] | None = None
) -> dict[str, Any]:
    """The children of a unit (the roots when `parent_id` is None), each with its `ancestors` as get_unit gives
    them (the parent's path, then itself): the list said [] where the unit itself said the whole path; by id, those
    after the key `after` (UNITS_ORDER)."""
    where = "parent_id IS NOT DISTINCT FROM $1"
    following, key = UNITS_ORDER.after(after, first=4)
    rows = await conn.fetch(
        f"SELECT * FROM org_unit WHERE {where} AND {following} ORDER BY {UNITS_ORDER.order_by} LIMIT $2 OFFSET $3",
        parent_id,
        limit,
        offset,
        *key,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM org_unit WHERE {where}", parent_id)
    path = (
        (await fetch_ancestors(conn, table="org_unit", unit_id=parent_id) or [parent_id]) if parent_id and rows else []
    )
    items = [_unit(r) | {"ancestors": [*path, r["id"]]} for r in rows]
    return page(items, total=total, limit=limit, offset=offset, next_after=UNITS_ORDER.next_after(rows, limit=limit))


_MEMBER_COLUMNS = "id, full_name, status, role, exempt, email, admitted_on, probation_ends_on, removed_on AS left_on"
"""A member as the catalog's MemberReply gives them."""


async def list_members(
    conn: asyncpg.Connection, *, cell_id: str, today: date, limit: int, offset: int
) -> dict[str, Any]:
    """The members of a cell on `today` (a Vietnam date), in Vietnamese order of their names (shared.collation
    .person_key: the given name, then the rest, as the web pages list them: Hồ before Huỳnh, Đ after D), then by id;
    a cell's members are few, so they are ordered here. A member removed (member.removed.v1) is listed until the day
    before the removal's `effective_on`: it takes effect that day, as rosters and scores read it (DOMAIN.md: removals
    by `effective_on`), so a removal announced ahead leaves the list on its day, not when it arrives."""
    rows = await conn.fetch(
        f"SELECT {_MEMBER_COLUMNS} FROM member WHERE cell_id = $1 AND (removed_on IS NULL OR removed_on > $2)",
        cell_id,
        today,
    )
    ordered = sorted(rows, key=lambda row: (person_key(row["full_name"]), row["id"]))
    return page([dict(r) for r in ordered[offset : offset + limit]], total=len(ordered), limit=limit, offset=offset)


async def get_member(conn: asyncpg.Connection, *, cell_id: str, member_id: str, today: date) -> dict[str, Any] | None:
    """One member of the cell as list_members lists them on `today` (one removed from `effective_on` on is not);
    None when the cell does not list them. One row, read by its key."""
    row = await conn.fetchrow(
        f"SELECT {_MEMBER_COLUMNS} FROM member"
        " WHERE id = $1 AND cell_id = $2 AND (removed_on IS NULL OR removed_on > $3)",
        member_id,
        cell_id,
        today,
    )
    return None if row is None else dict(row)


async def list_members_at(
    conn: asyncpg.Connection, *, cell_id: str, at: datetime, limit: int, offset: int
) -> dict[str, Any]:
    """The members the snapshots in force at `at` put in the cell (domain.members_at: the rule a secretary's roster is
    judged complete by, domain.check_roster_complete), with their current records, in list_members's order: a member
    who left the cell since is listed, one another cell held then is not."""
    rows = await conn.fetch(
        "SELECT member_id, effective_at, effective_ns, version_id, removed, cell_id FROM member_version"
        " WHERE member_id IN (SELECT member_id FROM member_version WHERE cell_id = $1)",
        cell_id,
    )
    histories: dict[str, list[MemberVersion]] = {}
    for row in rows:
        histories.setdefault(row["member_id"], []).append(
            MemberVersion(row["effective_at"], row["version_id"], row["removed"], row["cell_id"], row["effective_ns"])
        )
    found = domain.members_at(cell_id, at, histories)
    members = await conn.fetch(
        f"SELECT {_MEMBER_COLUMNS} FROM member WHERE id = ANY($1::text[])",
        found,
    )
    ordered = sorted(members, key=lambda row: (person_key(row["full_name"]), row["id"]))
    return page([dict(r) for r in ordered[offset : offset + limit]], total=len(ordered), limit=limit, offset=offset)


async def list_members_after(
    conn: asyncpg.Connection, *, cell_id: str, today: date, after_id: str, limit: int
) -> dict[str, Any]:
    """A page of list_members's members on `today` in id order, those with an id above `after_id` (keyset on the
    member_cell index: a page reads its own rows only, however far into the cell); `next_after` the last id of a full
    page, None after the last."""
    rows = await conn.fetch(
        f"SELECT {_MEMBER_COLUMNS} FROM member WHERE cell_id = $1 AND (removed_on IS NULL OR removed_on > $2)"
        " AND id > $3 ORDER BY id LIMIT $4",
        cell_id,
        today,
        after_id,
        limit,
    )
    return {"items": [dict(r) for r in rows], "next_after": rows[-1]["id"] if len(rows) == limit else None}


async def list_members_at_after(
    conn: asyncpg.Connection,
    *,
    cell_id: str,
    at: datetime,
    after_id: str,
    limit: int,
    since: datetime | None = None,
) -> dict[str, Any]:
    """A page of list_members_at's members in id order: of the next `limit` members (by id, above `after_id`) ever in
    the cell, those the snapshots in force at `at` put in it (with `since`, at some moment from `since` to `at`:
    domain.members_during), so a page may hold fewer than `limit` and still have a `next_after` (the last of those
    members; None after the last). Reads those members' histories only."""
    candidates = await conn.fetch(
        "SELECT DISTINCT member_id FROM member_version WHERE cell_id = $1 AND member_id > $2 ORDER BY member_id"
        " LIMIT $3",
        cell_id,
        after_id,
        limit,
    )
    ids = [row["member_id"] for row in candidates]
    rows = await conn.fetch(
        "SELECT member_id, effective_at, effective_ns, version_id, removed, cell_id FROM member_version"
        " WHERE member_id = ANY($1::text[])",
        ids,
    )
    histories: dict[str, list[MemberVersion]] = {}
    for row in rows:
        histories.setdefault(row["member_id"], []).append(
            MemberVersion(row["effective_at"], row["version_id"], row["removed"], row["cell_id"], row["effective_ns"])
        )
    members = await conn.fetch(
        f"SELECT {_MEMBER_COLUMNS} FROM member WHERE id = ANY($1::text[]) ORDER BY id",
        domain.members_at(cell_id, at, histories)
        if since is None
        else domain.members_during(cell_id, since, at, histories),
    )
    return {"items": [dict(r) for r in members], "next_after": ids[-1] if len(ids) == limit else None}


async def list_monitor_assignments(
    conn: asyncpg.Connection, *, person_id: str, limit: int, offset: int
) -> dict[str, Any]:
    """The cells a person follows as upper-level monitor, with the cells' names, by name then id."""
    rows = await conn.fetch(
        "SELECT a.person_id, a.cell_id, a.committee_id, a.full_name, a.email, a.yearly_quota, u.name AS cell_name"
        " FROM monitor_assignment a LEFT JOIN org_unit u ON u.id = a.cell_id"
        " WHERE a.person_id = $1 ORDER BY u.name, a.cell_id LIMIT $2 OFFSET $3",
        person_id,
        limit,
        offset,
    )
    total = await conn.fetchval("SELECT count(*) FROM monitor_assignment WHERE person_id = $1", person_id)
    return page([dict(r) for r in rows], total=total, limit=limit, offset=offset)


_PART = {
    table: part_stands_sql(
        table=table,
        meeting_id="m.meeting_id",
        approval_time="m.approval_time",
        version_time=f"{alias}.version_time",
        version_ns=f"{alias}.version_ns",
        version_id=f"{alias}.version_id",
    )
    for table, alias in (("minutes_content", "mv"), ("roster_content", "rv"))
}
_SUMMARY = (
    "SELECT m.meeting_id, m.cell_id, m.kind, m.topic, m.starts_at, m.location, m.cancel_reason, m.held_recorded_at,"
    " m.cancel_time IS NOT NULL AS cancelled,"
    # an adoption is in force while no minutes or roster issued after it replaced the ones it adopted with others
    # (domain.adoption_in_force, shared.minutes.adoption_in_force_sql over the parts judged once below);
    # minutes_stand says which of the two voided it
    " CASE WHEN m.approval_time IS NOT NULL AND st.minutes_stand AND st.roster_stands THEN m.approved_at END"
    " AS adopted_at, COALESCE(st.minutes_stand, false) AS minutes_stand,"
    " EXISTS (SELECT 1 FROM minutes n WHERE n.meeting_id = m.meeting_id) AS has_minutes,"
    " EXISTS (SELECT 1 FROM roster r WHERE r.meeting_id = m.meeting_id) AS has_roster,"
    " EXISTS (SELECT 1 FROM document d WHERE d.meeting_id = m.meeting_id AND d.kind = 'minutes')"
    " AS minutes_published FROM meeting m LEFT JOIN minutes mv ON mv.meeting_id = m.meeting_id"
    " LEFT JOIN roster rv ON rv.meeting_id = m.meeting_id"
    # each part judged once a meeting (its content keys read once), not again for minutes_stand; OFFSET 0 keeps the
    # planner from inlining the two expressions into each use
    " CROSS JOIN LATERAL (SELECT "
    + _PART["minutes_content"]
    + " AS minutes_stand, "
    + _PART["roster_content"]
    + " AS roster_stands OFFSET 0) st"
)


def _status(row: asyncpg.Record) -> str:
    return domain.meeting_status(
        cancelled=row["cancelled"],
        has_minutes=row["has_minutes"],
        approved=row["adopted_at"] is not None,
    )


def _voided_by(row: asyncpg.Record) -> str | None:
    """What voided the stored adoption (MeetingReply.adoption_voided_by): the minutes, else the roster; None if none."""
    if row["approved_at"] is None or row["adopted_at"] is not None:
        return None
    return "roster" if row["minutes_stand"] else "minutes"


def _summary(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "meeting_id": row["meeting_id"],
        "cell_id": row["cell_id"],
        "kind": row["kind"],
        "topic": row["topic"],
        "status": _status(row),
        "starts_at": row["starts_at"],
        "location": row["location"],
        "attendance_recorded": row["has_roster"],
        "held_recorded_at": row["held_recorded_at"],
        "minutes_published": row["minutes_published"],
    }


async def list_meetings(
    conn: asyncpg.Connection,
    *,
    cell_id: str,
    period: str | None,
    limit: int,
    offset: int,
    after: list[str] | None = None,
) -> dict[str, Any]:
    """A cell's meetings, by start, optionally within a period; those after the key `after` (MEETINGS_ORDER)."""
    start, end = domain.parse_period(period) if period else (None, None)
    where = (
        " WHERE m.cell_id = $1 AND ($2::timestamptz IS NULL OR m.starts_at >= $2)"
        " AND ($3::timestamptz IS NULL OR m.starts_at < $3)"
    )
    following, key = MEETINGS_ORDER.after(after, first=6)
    rows = await conn.fetch(
        f"{_SUMMARY}{where} AND {following} ORDER BY {MEETINGS_ORDER.order_by} LIMIT $4 OFFSET $5",
        cell_id,
        start,
        end,
        limit,
        offset,
        *key,
    )
    total = await conn.fetchval("SELECT count(*) FROM meeting m" + where, cell_id, start, end)
    following_key = MEETINGS_ORDER.next_after(rows, limit=limit)
    return page([_summary(r) for r in rows], total=total, limit=limit, offset=offset, next_after=following_key)


HOLD_TIMEOUT = timedelta(seconds=Settings.model_fields["hold_timeout_seconds"].default)
"""The hold time a reader assumes when not told the running service's own (CHIBO_HOLD_TIMEOUT_SECONDS' default)."""
WAITING_KINDS = {"roster": "attendance", "minutes": "minutes", "task": "task"}
"""The holds on what a meeting's secretary records (handlers/apply.py), by their key's kind: what each waits for."""


async def get_meeting(
    conn: asyncpg.Connection, meeting_id: str, *, hold_timeout: timedelta = HOLD_TIMEOUT
) -> dict[str, Any] | None:
    """Everything recorded about one meeting, with the facts held on what its secretary records (waiting_facts,
    each running out `hold_timeout` after it came)."""
    row = await conn.fetchrow(_SUMMARY.replace("SELECT ", "SELECT m.*, ", 1) + " WHERE m.meeting_id = $1", meeting_id)
    if row is None:
        return None
    roster = await conn.fetchrow("SELECT guests FROM roster WHERE meeting_id = $1", meeting_id)
    attendance = None
    if roster is not None:
        records = await conn.fetch(
            "SELECT member_id, status, reason FROM attendance WHERE meeting_id = $1 ORDER BY member_id", meeting_id
        )
        attendance = {"records": [dict(r) for r in records], "guests": json.loads(roster["guests"])}
    minutes_row = await conn.fetchrow("SELECT * FROM minutes WHERE meeting_id = $1", meeting_id)
    minutes = None
    if minutes_row is not None:
        minutes = {
            "started_at": minutes_row["started_at"],
            "ended_at": minutes_row["ended_at"],
            "chair_id": minutes_row["chair_id"],
            "recorder_id": minutes_row["recorder_id"],
            "speakers": json.loads(minutes_row["speakers"]),
            "self_criticism_minutes": minutes_row["self_criticism_minutes"],
            "content": minutes_row["content"],
            "conclusions": minutes_row["conclusions"],
            "resolutions": json.loads(minutes_row["resolutions"]),
        }
    documents = await conn.fetch(
        "SELECT title, kind, url, published_at FROM document WHERE meeting_id = $1 ORDER BY"
        " published_at, origin_id, position",
        meeting_id,
    )
    assessments = await conn.fetch(
        "SELECT role, person_id, points, comment, assessed_time AS assessed_at FROM assessment WHERE meeting_id = $1"
        " ORDER BY assessed_time, assessed_ns, origin_id",
        meeting_id,
    )
    tasks = await _tasks(conn, "t.meeting_id = $1", meeting_id)
    return _summary(row) | {
        "agenda": json.loads(row["agenda"]),
        "notified_at": row["notified_at"],
        "committee_prepared": row["committee_prepared"],
        "cancel_reason": row["cancel_reason"],
        "attendance": attendance,
        "minutes": minutes,
        "approved_at": row["adopted_at"],
        # the votes of the adoption in force only: a voided one's count no adoption of the text now standing
        "adoption_votes_for": row["approval_votes_for"] if row["adopted_at"] is not None else None,
        "adoption_votes_against": row["approval_votes_against"] if row["adopted_at"] is not None else None,
        "adoption_voided_at": row["approved_at"] if row["adopted_at"] is None else None,
        "adoption_voided_by": _voided_by(row),
        "documents": [dict(d) for d in documents],
        "assessments": [dict(a) | {"points": json.loads(a["points"])} for a in assessments],
        "tasks": tasks,
        "waiting": await waiting_facts(conn, meeting_id, hold_timeout=hold_timeout),
    }


async def waiting_facts(conn: asyncpg.Connection, meeting_id: str, *, hold_timeout: timedelta) -> list[dict[str, Any]]:
    """The events held (not released) on meeting `meeting_id`'s attendance, minutes or a task of its minutes
    (WAITING_KINDS), oldest first: [{type, source, event_id, waiting_for, task_id, held_at, expires_at}], expires_at
    being held_at plus `hold_timeout` (CONTRACT.md: then rejected with a reason)."""
    rows = await conn.fetch(
        "SELECT type, source, event_id, waiting_for, held_at FROM held_event"
        " WHERE (raw -> 'data' ->> 'meeting_id') = $1 AND released_at IS NULL"
        " AND (waiting_for IN ('roster:' || $1, 'minutes:' || $1) OR starts_with(waiting_for, 'task:' || $1 || ':'))"
        " ORDER BY held_at, source, event_id",
        meeting_id,
    )
    facts = []
    for row in rows:
        kind, _colon, rest = row["waiting_for"].partition(":")
        facts.append(
            {
                "type": row["type"],
                "source": row["source"],
                "event_id": row["event_id"],
                "waiting_for": WAITING_KINDS[kind],
                "task_id": rest[len(meeting_id) + 1 :] if kind == "task" else None,
                "held_at": row["held_at"],
                "expires_at": row["held_at"] + hold_timeout,
            }
        )
    return facts


async def _tasks(conn: asyncpg.Connection, where: str, *args: Any, suffix: str = "") -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT t.task_id, t.meeting_id, t.assignee_id, t.description, t.due_on, c.completed_on"
        " FROM task t JOIN meeting m ON m.meeting_id = t.meeting_id"
        " LEFT JOIN task_completion c ON c.meeting_id = t.meeting_id AND c.task_id = t.task_id"
        f" WHERE {where} ORDER BY {TASKS_ORDER.order_by}{suffix}",
        *args,
    )
    return [dict(r) for r in rows]


async def list_tasks(
    conn: asyncpg.Connection,
    *,
    cell_id: str,
    open_only: bool,
    limit: int,
    offset: int,
    after: list[str] | None = None,
) -> dict[str, Any]:
    """A cell's tasks, optionally only those not completed; those after the key `after` (TASKS_ORDER). A cancelled
    meeting's tasks are left out: it is not held (DOMAIN.md "How to read it"), so it assigned nothing, as the year's
    evidence and the `results` item count (the API's task list and the member's "Nhiệm vụ của tôi" read this)."""
    where = "m.cell_id = $1 AND m.cancel_time IS NULL AND (NOT $2 OR c.completed_on IS NULL)"
    following, key = TASKS_ORDER.after(after, first=5)
    suffix = " LIMIT $3 OFFSET $4"
    items = await _tasks(conn, f"{where} AND {following}", cell_id, open_only, limit, offset, *key, suffix=suffix)
    total = await conn.fetchval(
        "SELECT count(*) FROM task t JOIN meeting m ON m.meeting_id = t.meeting_id"
        " LEFT JOIN task_completion c ON c.meeting_id = t.meeting_id AND c.task_id = t.task_id WHERE " + where,
        cell_id,
        open_only,
    )
    return page(items, total=total, limit=limit, offset=offset, next_after=TASKS_ORDER.next_after(items, limit=limit))


async def member_history(conn: asyncpg.Connection, member_id: str) -> dict[str, Any] | None:
    """A member's attendance on every roster of a meeting not cancelled and begun (shared.plausible.meeting_begun: a
    roster sent ahead of its meeting is no attendance yet, left out as a scheduled meeting without a roster is), each
    saying whether its meeting is held (has minutes), with the runs and counts derived from the held ones only."""
    member = await conn.fetchrow("SELECT id, cell_id, probation_ends_on FROM member WHERE id = $1", member_id)
    if member is None:
        return None
    rows = await conn.fetch(
        "SELECT a.meeting_id, m.cell_id, m.kind, m.starts_at, a.status, a.reason,"
        " EXISTS (SELECT FROM minutes n WHERE n.meeting_id = a.meeting_id) AS held FROM attendance a"
        " JOIN meeting m ON m.meeting_id = a.meeting_id WHERE a.member_id = $1 AND m.cancel_time IS NULL"
        " ORDER BY m.starts_at, a.meeting_id",
        member_id,
    )
    moment = datetime.now(UTC)
    rows = [
        r
        for r in rows
        if meeting_begun(starts_at=r["starts_at"], minutes_recorded=r["held"], cancelled=False, now=moment)
    ]
    history = domain.attendance_history(
        domain.AttendanceEntry(meeting_id=r["meeting_id"], starts_at=r["starts_at"], status=r["status"], held=r["held"])
        for r in rows
    )
    return {
        "member_id": member_id,
        "cell_id": member["cell_id"],
        "consecutive_absences": history.consecutive_absences,
        "consecutive_excused_absences": history.consecutive_excused_absences,
        "unexcused_months_last_year": history.unexcused_months_last_year,
        "probation_ends_on": member["probation_ends_on"],
        "records": [dict(r) for r in rows],
    }


def _rejection_reply(row: asyncpg.Record) -> dict[str, Any]:
    """A rejection's row (REJECTION_COLUMNS) as its reply: shared.rejection_fields.rejection_reply, the one the
    command line's `rejections list` says it by too."""
    return rejection_reply(row)


async def rejection(conn: asyncpg.Connection, rejection_id: str) -> dict[str, Any] | None:
    """One stored rejection as list_rejections shows it; None when there is none."""
    row = await conn.fetchrow("SELECT " + REJECTION_COLUMNS + " FROM rejection WHERE rejection_id = $1", rejection_id)
    return _rejection_reply(row) if row else None


async def list_rejections(
    conn: asyncpg.Connection,
    *,
    limit: int,
    offset: int,
    type: str | None,
    status: str | None,
    after: list[str] | None = None,
) -> dict[str, Any]:
    """Stored rejections, newest first, those after the key `after` (REJECTIONS_ORDER), with `counts`, how many of
    `type` each status has (shared.rejection_counts), so a list of one status reconciles with all."""
    where = " WHERE ($1::text IS NULL OR type = $1) AND ($2::text IS NULL OR status = $2)"
    following, key = REJECTIONS_ORDER.after(after, first=5)
    rows = await conn.fetch(
        f"SELECT {REJECTION_COLUMNS} FROM rejection{where} AND {following}"
        f" ORDER BY {REJECTIONS_ORDER.order_by} LIMIT $3 OFFSET $4",
        type,
        status,
        limit,
        offset,
        *key,
    )
    total = await conn.fetchval("SELECT count(*) FROM rejection" + where, type, status)
    following_key = REJECTIONS_ORDER.next_after(rows, limit=limit)
    listed = page(
        [_rejection_reply(r) for r in rows], total=total, limit=limit, offset=offset, next_after=following_key
    )
    return listed | {"counts": await rejection_counts(conn, type=type)}


async def count_open_rejections(conn: asyncpg.Connection, selected: RejectionFilter) -> int:
    """How many open rejections `selected` chooses (what a filtered dismissal would close, rejection_filter_sql)."""
    where, args = rejection_filter_sql(selected, first=1)
    return int(await conn.fetchval(f"SELECT count(*) FROM rejection WHERE status = 'open'{where}", *args))


async def list_held_events(
    conn: asyncpg.Connection, *, limit: int, offset: int, after: list[str] | None = None
) -> dict[str, Any]:
    """Held events, oldest first, each with what it waits for and a preview of its data; those after the key
    `after` (HELD_ORDER)."""
    following, key = HELD_ORDER.after(after, first=3)
    rows = await conn.fetch(
        "SELECT source, event_id, type, waiting_for, reason, field, route, held_at, answer,"
        " left((raw -> 'data')::text, 500) AS data_preview, refusal::text AS refusal"
        f" FROM held_event WHERE {following} ORDER BY {HELD_ORDER.order_by} LIMIT $1 OFFSET $2",
        limit,
        offset,
        *key,
    )
    total = await conn.fetchval("SELECT count(*) FROM held_event")
    following_key = HELD_ORDER.next_after(rows, limit=limit)
    return page([_with_refusal(r) for r in rows], total=total, limit=limit, offset=offset, next_after=following_key)


async def held_event(conn: asyncpg.Connection, *, source: str, event_id: str) -> dict[str, Any] | None:
    """One event still held (none released to be applied), as list_held_events shows it; None when not held."""
    row = await conn.fetchrow(
        "SELECT source, event_id, type, waiting_for, reason, field, route, held_at, answer,"
        " left((raw -> 'data')::text, 500) AS data_preview, refusal::text AS refusal"
        " FROM held_event WHERE source = $1 AND event_id = $2 AND released_at IS NULL",
        source,
        event_id,
    )
    return _with_refusal(row) if row else None


async def open_rejection(conn: asyncpg.Connection, *, source: str, event_id: str) -> dict[str, Any] | None:
    """The standing (not replayed) rejection of an event, by rejection_identity, as list_rejections shows it: open, or
    a person's command closed as answered on its form (ANSWERED_ON_FORM: that form sent again is told why); None when
    there is none."""
    row = await conn.fetchrow(
        "SELECT " + REJECTION_COLUMNS + " FROM rejection WHERE source = $1 AND event_id = $2"
        " AND (status = 'open' OR (status = 'dismissed' AND dismissal_reason = $3))"
        " ORDER BY received_at DESC, rejection_id LIMIT 1",
        source,
        event_id,
        ANSWERED_ON_FORM,
    )
    return _rejection_reply(row) if row else None


def _with_refusal(row: asyncpg.Record) -> dict[str, Any]:
    """A held event's row as its reply: the refusal (why, machine-readably) only when its rule gave one
    (shared.rejection_fields.with_refusal)."""
    return with_refusal(row)
