"""Whether an adoption of minutes stands, defined once for meetings and evaluation (DOMAIN.md "Meetings": the
minutes are read and adopted; CONTRACT.md: minutes are snapshots, the latest `time` wins, the same state whatever
the arrival order).

An adoption (`minutes.approved.v1`) adopts the text stored when it was adopted: the latest snapshot issued (`time`) not
after it, its second counted whole (feeds send times to the second: a secretary's minutes and a handbook's adoption
sent the same second are one moment), or, when every snapshot was issued after it (a sender's clock behind ours), the
earliest, the first text there was to adopt. Whenever the stored text changes after that (a snapshot with another
content key replaces it, newest `time` winning, whatever the route) the adoption is void until a newer one; the same
text sent again (a feed's periodic resend with a later `time`) or an older snapshot that does not replace the stored
one leaves it standing. There is no clock allowance beyond the second: a trial's changed conclusions sent 25 seconds
after the adoption were taken as adopted under a 15-minute one. "Say the same" is the content key:
the minutes' `data` (every field; the event's own id, source and time are no part of it), instants compared as
instants and tasks in any order. Each service keeps every snapshot's key in its table `minutes_content` (meeting_id,
version_time, version_ns, version_id, content_key), whatever order they arrive in, so either order ends the same.

The roster (attendance.recorded.v1) is part of the adopted record (DOMAIN.md "Meetings": minutes hold the members
present and absent with reasons), so the same rule holds for it with its own content key (roster_content_key) kept in
`roster_content`: a roster issued after the adoption saying otherwise voids it, whatever the route and arrival order,
as a secretary's such roster is refused (meetings' domain.check_adopted_roster_unchanged). The adoption stands while
both the stored minutes and the stored roster stand (part_stands, part_stands_sql, adoption_in_force_sql).

Versions stored before the keys were kept (migrations 0026, 0027) get theirs at each service's start, computed by these
same functions from the stored data (backfill_content_keys; services/*/content_keys.py); evaluation stores a roster's
statuses only, not the reasons and guests its key covers, so its rosters stored before 0027 stay without one; the
minutes keys evaluation kept while it read minutes in part are computed again once where it holds them in full
(services/evaluation/content_keys.py recheck). A stored version its contract no longer accepts stays without a key;
meetings notes it (content_key_unreadable) so that later starts do not read it again.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
from pydantic import ValidationError
from pydantic_core import to_json

from shared.contracts.meetings import AttendanceRecorded, MinutesSubmitted
from shared.logs import get_logger

log = get_logger(__name__)

INSTANTS = ("started_at", "ended_at")
"""The minutes' moments, compared as instants (the same moment at another offset is the same text)."""


def minutes_content_key(data: MinutesSubmitted | Mapping[str, Any]) -> str:
    """The content key of minutes (`data`, the model or a service's model_dump(mode="json") of them, not validated
    again): a SHA-256 hex digest of their fields, INSTANTS in UTC and tasks ordered by id, equal for minutes saying
    the same whatever event carries them."""
    dumped = dict(data.model_dump(mode="json") if isinstance(data, MinutesSubmitted) else data)
    for name in INSTANTS:
        if isinstance(dumped.get(name), str):
            dumped[name] = datetime.fromisoformat(dumped[name]).astimezone(UTC).isoformat()
    dumped["tasks"] = sorted(dumped.get("tasks") or [], key=lambda task: str(task.get("task_id")))
    return hashlib.sha256(to_json(dumped)).hexdigest()


def roster_content_key(data: AttendanceRecorded) -> str:
    """The content key of a roster: a SHA-256 hex digest of its lines (member, status, reason) in member order and its
    guests as sent, equal for rosters saying the same whatever event carries them (meetings' domain.same_roster)."""
    lines = sorted((record.member_id, record.status.value, record.reason) for record in data.records)
    guests = [guest.model_dump(mode="json", exclude_none=True) for guest in data.guests]
    return hashlib.sha256(to_json({"records": lines, "guests": guests})).hexdigest()


CONTENT_TABLES = ("minutes_content", "roster_content")
"""The tables of content keys per version, of minutes and of rosters (the same columns in both services)."""

V = TypeVar("V", bound=tuple[Any, ...])

ADOPTION_GRAIN = timedelta(seconds=1)
"""The adoption's moment counts whole to this grain: minutes issued within its second are the text it adopted."""


def adopted_until(approval_time: datetime) -> datetime:
    """The first moment after the adoption at `approval_time` (its second counted whole): minutes issued before it
    are the ones it may have adopted."""
    return approval_time.replace(microsecond=0) + ADOPTION_GRAIN


def adopted_version(versions: Iterable[V], approval_time: datetime) -> V | None:
    """Of the minutes' versions (tuples led by their `time`), the one the adoption at `approval_time` adopted: the
    latest issued before adopted_until, else the earliest; None without any (adopted_key_sql in SQL)."""
    ordered = sorted(versions)
    before = [version for version in ordered if version[0] < adopted_until(approval_time)]
    return before[-1] if before else (ordered[0] if ordered else None)


def part_stands(version: tuple[Any, ...] | None, *, approval_time: datetime, same_content: bool) -> bool:
    """Whether the stored minutes or roster (`version`, led by its `time`; None without) leave the adoption at
    `approval_time` standing: issued before adopted_until, or saying what the adopted one said (`same_content`)."""
    return version is None or version[0] < adopted_until(approval_time) or same_content


def _until_sql(approval_time: str) -> str:
    return f"(date_trunc('second', {approval_time}) + interval '1 second')"


def adopted_key_sql(*, meeting_id: str, approval_time: str, table: str = "minutes_content") -> str:
    """SQL: the content key of the minutes (or, `table` roster_content, the roster) the adoption at `approval_time`
    adopted (adopted_version), NULL without."""
    assert table in CONTENT_TABLES, table
    until = _until_sql(approval_time)
    select = f"SELECT a.content_key FROM {table} a WHERE a.meeting_id = {meeting_id}"
    latest_before = (
        f"{select} AND a.version_time < {until} ORDER BY a.version_time DESC, a.version_ns DESC, a.version_id DESC"
    )
    earliest = f"{select} ORDER BY a.version_time, a.version_ns, a.version_id"
    return f"COALESCE(({latest_before} LIMIT 1), ({earliest} LIMIT 1))"


def part_stands_sql(
    *, table: str, meeting_id: str, approval_time: str, version_time: str, version_ns: str, version_id: str
) -> str:
    """SQL: part_stands for the stored minutes or roster (`table` their content keys) whose version is (`version_time`,
    `version_ns`, `version_id`), NULL when there is none; a NULL result counts as not standing."""
    assert table in CONTENT_TABLES, table
    stored = (
        f"(SELECT s.content_key FROM {table} s WHERE s.meeting_id = {meeting_id}"
        f" AND (s.version_time, s.version_ns, s.version_id) = ({version_time}, {version_ns}, {version_id}))"
    )
    at_adoption = adopted_key_sql(meeting_id=meeting_id, approval_time=approval_time, table=table)
    return f"({version_time} IS NULL OR {version_time} < {_until_sql(approval_time)} OR {stored} = {at_adoption})"


def adoption_in_force_sql(
    *,
    meeting_id: str,
    approval_time: str,
    minutes: tuple[str, str, str],
    roster: tuple[str, str, str],
) -> str:
    """SQL: whether the adoption stored at `approval_time` (an expression, NULL without one) stands over the stored
    minutes and roster whose versions are `minutes` and `roster` (time, ns, id expressions, NULL without one): both
    part_stands_sql (meetings' domain.adoption_in_force is the same rule). NULL counts as not in force."""
    parts = [
        part_stands_sql(
            table=table, meeting_id=meeting_id, approval_time=approval_time, version_time=t, version_ns=n, version_id=i
        )
        for table, (t, n, i) in (("minutes_content", minutes), ("roster_content", roster))
    ]
    return f"({approval_time} IS NOT NULL AND {parts[0]} AND {parts[1]})"


BACKFILL_PAGE = 500
"""Stored minutes or rosters read per page by backfill_content_keys (a province's rows are never loaded at once)."""
UNREADABLE_TABLE = "content_key_unreadable"
"""The stored versions backfill_content_keys found unreadable (a service's migrations create it: meetings 0028,
evaluation 0029), which later starts skip: (content_table, meeting_id, version_time, version_ns, version_id)."""


def lacking_key_sql(table: str, *, version: tuple[str, str, str] = ("version_time", "version_ns", "version_id")) -> str:
    """The end of a backfill_content_keys `page_sql` over stored versions `s` (meeting_id and the `version` columns:
    time, ns, id): those with no key in `table` nor noted unreadable at an earlier start, after $1, at most $2."""
    assert table in CONTENT_TABLES, table
    stored = ", ".join(f"s.{column}" for column in version)
    return (
        f" AND NOT EXISTS (SELECT 1 FROM {table} c WHERE c.meeting_id = s.meeting_id"
        f" AND (c.version_time, c.version_ns, c.version_id) = ({stored}))"
        # found unreadable at an earlier start: read once, not at every start
        f" AND NOT EXISTS (SELECT 1 FROM {UNREADABLE_TABLE} u WHERE u.content_table = '{table}'"
        " AND u.meeting_id = s.meeting_id"
        f" AND (u.version_time, u.version_ns, u.version_id) = ({stored}))"
        " ORDER BY s.meeting_id LIMIT $2"
    )


def json_field(value: Any) -> Any:
    """A jsonb column's value as read (asyncpg gives text unless a codec decodes it), decoded."""
    return json.loads(value) if isinstance(value, str) else value


async def backfill_content_keys(
    pool: asyncpg.Pool,
    *,
    table: str,
    page_sql: str,
    key_of: Callable[[asyncpg.Record], str],
    page_size: int = BACKFILL_PAGE,
) -> dict[str, int]:
    """Give every stored minutes or roster version without a content key (stored before the service kept them) its
    key, computed by `key_of` (minutes_content_key or roster_content_key over the stored data) and kept in `table` (one
    of CONTENT_TABLES); idempotent. `page_sql` reads, of the stored versions lacking a key, those of meetings after
    $1 in meeting_id order, at most $2, as (meeting_id, version_time, version_ns, version_id, ...the data), leaving out
    those noted unreadable (lacking_key_sql). A stored version its contract no longer accepts is left without a key
    (logged): its adoption is voided as before; it is noted in UNREADABLE_TABLE, so later starts neither read it nor
    warn again."""
    assert table in CONTENT_TABLES, table
    insert = (
        f"INSERT INTO {table} (meeting_id, version_time, version_ns, version_id, content_key)"
        " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::text[], $5::text[])"
        " ON CONFLICT DO NOTHING"
    )
    counts = {"read": 0, "added": 0, "unreadable": 0}
    after = ""
    while True:
        async with pool.acquire() as conn:
            rows = await conn.fetch(page_sql, after, page_size)
            if not rows:
                break
            kept: list[tuple[str, datetime, int, str, str]] = []
            unreadable: list[tuple[str, str, datetime, int, str]] = []
            for row in rows:
                version = (row["meeting_id"], row["version_time"], row["version_ns"], row["version_id"])
                try:
                    key = key_of(row)
                except ValidationError as error:
                    counts["unreadable"] += 1
                    log.warning("content_key_unreadable", table=table, meeting_id=row["meeting_id"], error=str(error))
                    unreadable.append((table, *version))
                    continue
                kept.append((*version, key))
            if kept:
                status = await conn.execute(insert, *(list(column) for column in zip(*kept, strict=True)))
                counts["added"] += int(status.split()[-1])
            if unreadable:
                await conn.execute(
                    f"INSERT INTO {UNREADABLE_TABLE} (content_table, meeting_id, version_time, version_ns, version_id)"
                    " SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::smallint[], $5::text[])"
                    " ON CONFLICT DO NOTHING",
                    *(list(column) for column in zip(*unreadable, strict=True)),
                )
        counts["read"] += len(rows)
        after = rows[-1]["meeting_id"]
    log.info("content_keys_backfilled", table=table, **counts)
    return counts
