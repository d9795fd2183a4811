"""The announced attendance figures of members, which the absence rules decide over."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.notifications.domain import settings as r
from services.notifications.domain.model import AnnouncedFigures

ORDER = "sequence, version_time, version_ns, cause_id, event_id"
"""A member's announcements in the order meetings published them: its announcement number first (each number is
given under the member's row lock as meetings commits, so it follows the figures as they changed, whatever the times
of the facts that caused them: two batches committing in the other order than their facts' times, a held fact
released later, a late record), then, among the unnumbered (0, published before every numbered one), by the time
of their cause as before (migration 0012)."""


@dataclass(frozen=True)
class NewFigures:
    """A member.attendance.updated.v1 to store: the member, the announcement's order (time, its nanoseconds below the
    microsecond, the member's announcement number, 0 when it carries none, cause, id), its figures, whether its
    meeting is recent enough to alert about, and that meeting."""

    member_id: str
    time: datetime
    sequence: int
    cause_id: str
    event_id: str
    consecutive_absences: int
    unexcused_months: int
    recent: bool
    ns: int = 0
    meeting_id: str = ""


@dataclass(frozen=True)
class ToldCrossing:
    """A member an absence alert at a meeting told of already: the rule, the meeting, the member, their name in the
    projection (None when it has none) and the count the alert told."""

    rule: str
    meeting_id: str
    member_id: str
    full_name: str | None
    count: int


class PgFigures:
    """member_figures on the unit of work's connection."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._db = connection

    async def lock_members(self, member_ids: Sequence[str]) -> None:
        """Serialize this transaction with others deciding about the same members until it ends (in sorted order,
        so two batches naming the same members cannot wait on each other)."""
        if member_ids:
            await self._db.execute(
                "SELECT count(pg_advisory_xact_lock(hashtextextended('member:' || k, 0)))"
                ' FROM (SELECT DISTINCT k COLLATE "C" AS k FROM unnest($1::text[]) AS t(k) ORDER BY 1) AS ordered',
                list(member_ids),
            )

    async def add_figures(self, figures: Sequence[NewFigures]) -> dict[tuple[str, str], bool]:
        """Store the announcements not stored yet, in one statement; for each stored (member, event id), whether a
        later announcement of the member was stored before (it arrived late)."""
        if not figures:
            return {}
        rows = await self._db.fetch(
            "WITH added AS (INSERT INTO member_figures (member_id, version_time, sequence, cause_id, event_id,"
            " consecutive_absences, unexcused_months, recent, version_ns, meeting_id)"
            " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::text[], $5::text[], $6::int[],"
            " $7::int[], $8::bool[], $9::smallint[], $10::text[]) ON CONFLICT DO NOTHING"
            " RETURNING member_id, version_time, version_ns, sequence, cause_id, event_id)"
            # the statement's snapshot: the rows stored before it, not those it adds
            " SELECT a.member_id, a.event_id, EXISTS (SELECT 1 FROM member_figures AS f WHERE f.member_id = a.member_id"
            "  AND (f.sequence, f.version_time, f.version_ns, f.cause_id, f.event_id)"
            "  > (a.sequence, a.version_time, a.version_ns, a.cause_id, a.event_id)) AS late"
            " FROM added AS a",
            [f.member_id for f in figures],
            [f.time for f in figures],
            [f.sequence for f in figures],
            [f.cause_id for f in figures],
            [f.event_id for f in figures],
            [f.consecutive_absences for f in figures],
            [f.unexcused_months for f in figures],
            [f.recent for f in figures],
            [f.ns for f in figures],
            [f.meeting_id for f in figures],
        )
        return {(row["member_id"], row["event_id"]): row["late"] for row in rows}

    async def figure_histories(self, member_ids: Sequence[str]) -> dict[str, list[AnnouncedFigures]]:
        """Each member's announced figures in order (ORDER: announcement number, then time, ns, cause, id), in one
        query."""
        if not member_ids:
            return {}
        rows = await self._db.fetch(
            "SELECT member_id, event_id, consecutive_absences, unexcused_months, recent, run_alerted, months_alerted,"
            " meeting_id"
            f" FROM member_figures WHERE member_id = ANY($1::text[]) ORDER BY member_id, {ORDER}",
            list(member_ids),
        )
        histories: dict[str, list[AnnouncedFigures]] = {member_id: [] for member_id in member_ids}
        for row in rows:
            histories[row["member_id"]].append(
                AnnouncedFigures(
                    event_id=row["event_id"],
                    consecutive_absences=row["consecutive_absences"],
                    unexcused_months=row["unexcused_months"],
                    recent=row["recent"],
                    run_alerted=row["run_alerted"],
                    months_alerted=row["months_alerted"],
                    meeting_id=row["meeting_id"],
                )
            )
        return histories

    async def lock_meetings(self, meeting_ids: Sequence[str]) -> None:
        """Serialize this transaction with others deciding about absence crossings at the same meetings until it
        ends (sorted, after the members: whether a meeting's alert went out is then read as it stands)."""
        if meeting_ids:
            await self._db.execute(
                "SELECT count(pg_advisory_xact_lock(hashtextextended('figures-meeting:' || k, 0)))"
                ' FROM (SELECT DISTINCT k COLLATE "C" AS k FROM unnest($1::text[]) AS t(k) ORDER BY 1) AS ordered',
                list(meeting_ids),
            )

    async def alerted_at(self, meeting_ids: Sequence[str]) -> set[tuple[str, str]]:
        """(rule, meeting) of the given meetings where an absence alert is anchored already (a figure of that
        meeting marked run_alerted: consecutive_absences; months_alerted: unexcused_months), in one query."""
        if not meeting_ids:
            return set()
        rows = await self._db.fetch(
            "SELECT meeting_id, bool_or(run_alerted) AS run, bool_or(months_alerted) AS months FROM member_figures"
            " WHERE meeting_id = ANY($1::text[]) AND (run_alerted OR months_alerted) GROUP BY meeting_id",
            list(meeting_ids),
        )
        found: set[tuple[str, str]] = set()
        for row in rows:
            if row["run"]:
                found.add((r.CONSECUTIVE_ABSENCES, row["meeting_id"]))
            if row["months"]:
                found.add((r.UNEXCUSED_MONTHS, row["meeting_id"]))
        return found

    async def told_crossings(self, meeting_ids: Sequence[str]) -> list[ToldCrossing]:
        """The members whose absence alert is anchored at the given meetings (rule, meeting, member, their name as the
        projection has it or None, the count the alert told), in one query: whom the meeting's alert names so far."""
        if not meeting_ids:
            return []
        rows = await self._db.fetch(
            "SELECT f.meeting_id, f.member_id, m.full_name, f.run_alerted, f.months_alerted,"
            " f.consecutive_absences, f.unexcused_months FROM member_figures AS f"
            " LEFT JOIN member AS m ON m.id = f.member_id"
            " WHERE f.meeting_id = ANY($1::text[]) AND (f.run_alerted OR f.months_alerted)"
            f" ORDER BY f.member_id, {_of('f')}",
            list(meeting_ids),
        )
        told: list[ToldCrossing] = []
        for row in rows:
            for rule, alerted, count in (
                (r.CONSECUTIVE_ABSENCES, row["run_alerted"], row["consecutive_absences"]),
                (r.UNEXCUSED_MONTHS, row["months_alerted"], row["unexcused_months"]),
            ):
                if alerted:
                    told.append(ToldCrossing(rule, row["meeting_id"], row["member_id"], row["full_name"], count))
        return told

    async def told_after(self, announced: Sequence[tuple[str, str]]) -> list[ToldCrossing]:
        """For each (member, meeting) announced, the member's absence alerts (consecutive_absences: run_alerted;
        unexcused_months: months_alerted) anchored on a figure published after the member's first one about that
        meeting, at another meeting: the runs and crossings of the months an announcement about an earlier meeting
        (its roster corrected) may cut. One query."""
        if not announced:
            return []
        rows = await self._db.fetch(
            "SELECT DISTINCT a.meeting_id, a.member_id, m.full_name, a.consecutive_absences, a.unexcused_months,"
            " a.run_alerted, a.months_alerted"
            " FROM unnest($1::text[], $2::text[]) AS t(member_id, meeting_id)"
            f" CROSS JOIN LATERAL (SELECT {ORDER} FROM member_figures f"
            f"  WHERE f.member_id = t.member_id AND f.meeting_id = t.meeting_id ORDER BY {ORDER} LIMIT 1) AS e"
            " JOIN member_figures a ON a.member_id = t.member_id AND (a.run_alerted OR a.months_alerted)"
            f" AND a.meeting_id <> t.meeting_id AND ({_of('a')}) > ({_of('e')})"
            " LEFT JOIN member AS m ON m.id = a.member_id ORDER BY a.member_id, a.meeting_id",
            [member_id for member_id, _ in announced],
            [meeting_id for _, meeting_id in announced],
        )
        return [
            ToldCrossing(rule, row["meeting_id"], row["member_id"], row["full_name"], count)
            for row in rows
            for rule, alerted, count in (
                (r.CONSECUTIVE_ABSENCES, row["run_alerted"], row["consecutive_absences"]),
                (r.UNEXCUSED_MONTHS, row["months_alerted"], row["unexcused_months"]),
            )
            if alerted
        ]

    async def mark_alerted(self, marks: Sequence[tuple[str, str, str]]) -> None:
        """Anchor alerts on figures: (member, event id, rule) each, the rule consecutive_absences or
        unexcused_months, in one statement."""
        if not marks:
            return
        await self._db.execute(
            # one row per figure: an UPDATE joined to two rows of the same figure applies only one of them
            "UPDATE member_figures AS f SET run_alerted = f.run_alerted OR m.run,"
            " months_alerted = f.months_alerted OR m.months"
            " FROM (SELECT member_id, event_id, bool_or(rule = $4) AS run, bool_or(rule = $5) AS months"
            "  FROM unnest($1::text[], $2::text[], $3::text[]) AS t(member_id, event_id, rule)"
            "  GROUP BY member_id, event_id) AS m"
            " WHERE f.member_id = m.member_id AND f.event_id = m.event_id",
            [member_id for member_id, _, _ in marks],
            [event_id for _, event_id, _ in marks],
            [rule for _, _, rule in marks],
            r.CONSECUTIVE_ABSENCES,
            r.UNEXCUSED_MONTHS,
        )

    async def prune_figures(self, *, before: datetime, after: str, limit: int) -> tuple[int, str | None]:
        """Delete, for the next `limit` members after `after` (member id order), each one's figures that come (in
        ORDER) before their latest figure at zeros (no absence in a row, no unexcused month) that, with every figure
        before it, was announced before `before`; (rows deleted, the last member of this batch, or None when no
        member is left after it). Nothing before such a figure bears on a later alert: a run of absences and a time
        above the unexcused months both end there (rules.absence_runs, unexcused_crossings), and every deleted
        figure is older than `before`, so a copy of it arriving again is never recent (histories) and its run, ended
        by the zeros, cannot alert again. Batched so that a province's first prune is many short transactions, not
        one of millions."""
        row = await self._db.fetchrow(
            "WITH members AS (SELECT DISTINCT member_id FROM member_figures WHERE member_id > $2"
            "  ORDER BY member_id LIMIT $3),"
            " ordered AS (SELECT f.member_id, f.sequence, f.version_time, f.version_ns, f.cause_id, f.event_id,"
            "  f.consecutive_absences, f.unexcused_months,"
            "  bool_or(f.version_time >= $1) OVER (PARTITION BY f.member_id"
            f"  ORDER BY {_of('f')} ROWS UNBOUNDED PRECEDING) AS newer_so_far"
            "  FROM member_figures AS f JOIN members AS m ON m.member_id = f.member_id),"
            " reset AS (SELECT DISTINCT ON (o.member_id) o.member_id, o.sequence, o.version_time, o.version_ns,"
            "  o.cause_id, o.event_id FROM ordered AS o"
            "  WHERE o.consecutive_absences = 0 AND o.unexcused_months = 0 AND NOT o.newer_so_far"
            "  ORDER BY o.member_id, o.sequence DESC, o.version_time DESC, o.version_ns DESC, o.cause_id DESC,"
            "  o.event_id DESC),"
            " pruned AS (DELETE FROM member_figures AS f USING reset AS z WHERE f.member_id = z.member_id"
            f"  AND ({_of('f')}) < ({_of('z')}) RETURNING 1)"
            " SELECT (SELECT count(*) FROM pruned) AS pruned, (SELECT count(*) FROM members) AS members,"
            " (SELECT max(member_id) FROM members) AS last",
            before,
            after,
            limit,
        )
        assert row is not None
        return int(row["pruned"]), row["last"] if row["members"] == limit else None


def _of(alias: str) -> str:
    """SQL: the ORDER columns of the member_figures row `alias`, comma-separated."""
    return ", ".join(f"{alias}.{column}" for column in ORDER.split(", "))
