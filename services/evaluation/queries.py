"""Read side: meeting scores, cell periods, committee roll-ups and rankings, frameworks (set-based SQL)."""

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

import asyncpg

from services.evaluation.domain.periods import (
    HALF_YEAR_FLAGS,
    REGULAR_KINDS,
    HalfYearTotals,
    QuarterFigures,
    half_year_figures_of,
    half_year_line,
)
from services.evaluation.unit_of_work import today_in_vietnam
from shared.contracts.evaluation_rpc import LATE_CHANGES_PAGE
from shared.numbers import shown_change
from shared.periods import (
    half_quarters,
    is_half_year,
    month_of,
    period_months,
    previous_period,
    vietnam_day,
    vietnam_month,
)
from shared.reasons import ReasonPart, reason_text
from shared.tree import fetch_ancestors

LARGE_SUBTREE = 2000
"""A subtree of at least this many cells has its ranked pages read off the period's score-ordered index, stopping
after the page (smaller ones are joined and sorted whole, which is cheaper for them)."""
DEEP_PAGE = 2000
"""Past this many ranked cells a page is computed whole: reading the ordered index that far gains nothing."""
COMPACT_PIECES = 32
"""A unit whose read found more delta rows than this has them folded into one per period."""

SUBTREE_PERIOD = """
SELECT s.cell_id,
       coalesce(p.rating, {missing_rating}) AS rating,
       coalesce(p.score, {missing_score}) AS score,
       coalesce(p.regular_held, 0) AS regular_held,
       coalesce(p.meetings_held, 0) AS meetings_held,
       coalesce(p.thematic_held, 0) AS thematic_held,
       p.present, p.counted, p.speakers_present
FROM subtree_cell s LEFT JOIN cell_period p ON p.cell_id = s.cell_id AND p.period = $2
WHERE s.ancestor_id = $1 AND cell_in_period(s.first_month, s.last_month, $2)
"""
"""Each cell of the subtree that existed in the period with its rating, score and regular meetings held, a cell
without a stored period Poor at 0 with none held (in a running quarter or year: not rated yet, rating and score
NULL; `_subtree_period` fills the placeholders)."""

SMALL_SUBTREE_PERIOD = """
SELECT s.cell_id,
       coalesce(p.rating, {missing_rating}) AS rating,
       coalesce(p.score, {missing_score}) AS score,
       coalesce(p.regular_held, 0) AS regular_held,
       coalesce(p.meetings_held, 0) AS meetings_held,
       coalesce(p.thematic_held, 0) AS thematic_held,
       p.present, p.counted, p.speakers_present
FROM subtree_cell s
LEFT JOIN LATERAL (
    SELECT p.rating, p.score, p.regular_held, p.meetings_held, p.thematic_held, p.present, p.counted,
           p.speakers_present
    FROM cell_period p
    WHERE p.cell_id = s.cell_id AND p.period = $2 OFFSET 0
) p ON true
WHERE s.ancestor_id = $1 AND cell_in_period(s.first_month, s.last_month, $2)
"""
"""SUBTREE_PERIOD for a small subtree: one index probe per cell (OFFSET 0 keeps the planner from hashing the whole
period's rows, which it chooses when it misjudges how few cells a commune has)."""

SUMS_OF = """
SELECT unit_id, period, sum(cells)::bigint AS cells, sum(rows)::bigint AS rows, sum(good)::bigint AS good,
       sum(fair)::bigint AS fair, sum(average)::bigint AS average, sum(poor)::bigint AS poor,
       sum(regular)::bigint AS regular, sum(thematic)::bigint AS thematic,
       sum(thematic_met)::bigint AS thematic_met, sum(present)::bigint AS present,
       sum(counted)::bigint AS counted, sum(speakers_present)::bigint AS speakers_present, sum(score) AS score,
       count(*) AS pieces
FROM (
    SELECT committee_id AS unit_id, period, cells, rows, good, fair, average, poor, regular, thematic, thematic_met,
           present, counted, speakers_present, score
    FROM committee_period_delta
    WHERE committee_id {units}
      AND (period = ANY($2::text[]) OR length(period) = 7 AND period <= $3 OR left(period, 1) IN ('+', '-'))
    UNION ALL
    -- a cell's own count under its span's keys and its periods (its own pair carries no deltas)
    SELECT s.cell_id, k.key, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM subtree_cell s CROSS JOIN LATERAL (
        SELECT coalesce('+' || s.first_month, '') AS key
        UNION ALL SELECT '-' || s.last_month WHERE s.last_month IS NOT NULL
    ) k
    WHERE s.ancestor_id {units} AND s.cell_id {units} AND s.cell_id = s.ancestor_id
    UNION ALL
    SELECT s.cell_id, p.period, 0, 1, v.rating_good, v.rating_fair, v.rating_average, v.rating_poor, v.regular,
           v.thematic, v.thematic_met, v.present, v.counted, v.speakers_present, v.score
    FROM subtree_cell s JOIN cell_period p ON p.cell_id = s.cell_id CROSS JOIN LATERAL cell_period_sums(p) v
    WHERE s.ancestor_id {units} AND s.cell_id {units} AND s.cell_id = s.ancestor_id
      AND (p.period = ANY($2::text[]) OR length(p.period) = 7 AND p.period <= $3)
) d
GROUP BY unit_id, period
"""
"""Units' stored sums of the given periods, of every month up to the third argument, and their counts of cells by
span (migration 0006: '' the cells without one, '+YYYY-MM' those beginning, '-YYYY-MM' those ending that month;
migration 0005: the sum of the appended deltas; a cell's own figures read directly), each row naming its unit;
`{units}` matches the units against $1 (SUMS: one id, SUMS_MANY: an array)."""

SUMS = SUMS_OF.format(units="= $1")
"""SUMS_OF of one unit. Not SUMS_MANY with a one-id array: PostgreSQL keeps planning that afresh on every run (its
generic plan for an array of unknown length costs more than a custom plan for one id), 0.4 ms a read, where this
one goes generic after five runs; a province's committee_rollup took 5.8 ms instead of 4.6 (median of 200 each,
rollup bench seed of 35,000 cells)."""

SUMS_MANY = SUMS_OF.format(units="= ANY($1::text[])")
"""SUMS_OF of several units at once ($1 their ids): one statement for a committee's direct children instead of one
per child."""

MISSING = """
SELECT s.cell_id, {missing_score}::float8 AS score, {missing_rating}::text AS rating, 0 AS regular_held,
       0 AS meetings_held, 0 AS thematic_held, NULL::int AS present, NULL::int AS counted,
       NULL::int AS speakers_present
FROM subtree_cell s
WHERE s.ancestor_id = $1 AND cell_in_period(s.first_month, s.last_month, $2)
  AND NOT EXISTS (SELECT 1 FROM cell_period p WHERE p.cell_id = s.cell_id AND p.period = $2)
ORDER BY s.cell_id LIMIT $3
"""
"""The first cells of the subtree (by id) that existed in the period without a stored period: Poor at 0, no
regular meeting held (in a running quarter or year not rated yet, NULL; `_missing` fills the placeholders)."""


def not_rated_yet(period: str, *, today: date) -> bool:
    """Whether `period` is a quarter or year still running on `today` (Vietnam), in which a cell of the subtree
    without a stored period is not rated yet (no month of it counted so far: a cell set up this month that has not
    met yet, docs/architecture.md) rather than Poor at 0; in a month or a closed period such a cell is Poor."""
    months = period_months(period)
    return len(months) > 1 and months[0] <= f"{today:%Y-%m}" <= months[-1]


def _placeholders(unrated: bool) -> dict[str, str]:
    return (
        {"missing_rating": "NULL", "missing_score": "NULL"}
        if unrated
        else {
            "missing_rating": "'poor'",
            "missing_score": "0",
        }
    )


def _missing(unrated: bool) -> str:
    return MISSING.format(**_placeholders(unrated))


IN_SUBTREE = "EXISTS (SELECT 1 FROM subtree_cell s WHERE s.ancestor_id = $1 AND s.cell_id = p.cell_id)"

WEAK_RATINGS = ("poor", "average")
"""The ratings a committee is alerted about (DOMAIN.md "Alerts": a period rated Average or Poor), worst first: only
cells rated so are "weak", so a Good or Fair cell is never listed however few weak cells there are."""
WEAK_ORDER = "array_position(ARRAY['poor', 'average'], s.rating), s.score, s.cell_id"
"""Worst rating first, then lowest score: a year's or quarter's rating is not a band of its mean score."""


ANALYZE_AFTER_MOVES = 10_000
"""(unit, cell) pairs moved by one refresh of the subtrees above which subtree_cell is analyzed at once."""


async def refresh_subtrees(conn: asyncpg.Connection) -> int:
    """Apply the org-tree changes noted since the last read to `subtree_cell` and the roll-up sums (migration 0005,
    `refresh_subtree_cells`); one cheap look when there are none; after a large change the table is analyzed.
    Returns the (unit, cell) pairs moved or re-dated, 0 when none were noted."""
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM subtree_change)"):
        return 0
    moved = int(await conn.fetchval("SELECT refresh_subtree_cells()"))
    if moved >= ANALYZE_AFTER_MOVES:
        # a tree loaded or re-hung whole: without statistics the planner took a province's 35,000 pairs for
        # ~200 and walked them all for a ranking page (180 ms instead of 2 ms, rollup preset); the statistics
        # round (shared.statistics) would come too late for the first reads
        await conn.execute("ANALYZE subtree_cell")
    return moved


INLINE_REFRESH_CELLS = 200
"""At most how many units below the noted ones a read applies noted org-tree changes for itself (a few
milliseconds); more (a province re-hung or re-dated, 35,000 cells: 13-17 s) are left to subtree_refresh_loop."""

PENDING_TREE_CHANGES = "SELECT count(*) FROM subtree_change"
"""The noted org-tree changes not applied as a statement sees them: those a refresh has taken stay visible to others
until it commits (MVCC), so a read during a refresh counts them too."""

UNITS_BELOW_NOTED = """
WITH RECURSIVE down(id) AS (
    SELECT unit_id FROM (SELECT unit_id FROM subtree_change LIMIT $1 + 1) noted
    UNION
    SELECT u.id FROM unit u JOIN down d ON u.parent_id = d.id
) SELECT count(*) FROM (SELECT 1 FROM down LIMIT $1 + 1) reached
"""
"""The noted units and those below them, counted up to $1 + 1 (the walk stops there): what a refresh would redo."""


async def tree_changes_pending(conn: asyncpg.Connection) -> int:
    """Apply the noted org-tree changes now if that is quick and waits for nobody (no refresh or cell-period writer
    holds the tree lock: pg_try_advisory_xact_lock; at most INLINE_REFRESH_CELLS units below them), else leave them to
    subtree_refresh_loop; the number of changes still pending as this connection sees them (0: the roll-ups read the
    current tree; else they read the tree as last applied). Never waits on a lock (a refresh runs in its own
    transaction: its readers see the rows before it until it commits)."""
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM subtree_change)"):
        return 0
    async with conn.transaction():
        if await conn.fetchval("SELECT pg_try_advisory_xact_lock(subtree_lock_key())") and (
            await conn.fetchval(UNITS_BELOW_NOTED, INLINE_REFRESH_CELLS) <= INLINE_REFRESH_CELLS
        ):
            await conn.fetchval("SELECT refresh_subtree_cells()")
    return int(await conn.fetchval(PENDING_TREE_CHANGES))


async def tree_pending(conn: asyncpg.Connection, pending: int | None) -> int:
    """The noted org-tree changes still waiting: `pending` when the read already counted them (tree_changes_pending,
    once per read: with changes queued it is five statements), else tree_changes_pending now."""
    return await tree_changes_pending(conn) if pending is None else pending


async def tree_refresh_state(conn: asyncpg.Connection, *, pending: int | None = None) -> dict[str, Any]:
    """What a reply read off the org tree says of it (rpc.TreeRefreshReply): `pending_tree_changes`, the noted
    org-tree changes still waiting after tree_changes_pending (which applies small ones first; `pending` when the read
    already ran it: tree_pending), and `recalculating`, whether there are any (the figures then those of the tree as
    last applied). Read before the figures: a refresh committing meanwhile makes them fresher than said, never
    staler; the read passes `pending_tree_changes` on to what reads its figures, which then count nothing again."""
    changes = await tree_pending(conn, pending)
    return {"pending_tree_changes": changes, "recalculating": changes > 0}


async def fold_rollup_deltas(conn: asyncpg.Connection, *, pairs: int = 10000) -> int:
    """Fold the roll-up deltas appended since the last fold into one row per (unit, period), at most `pairs` of
    them (sums unchanged); the number of rows left for them."""
    return int(await conn.fetchval("SELECT compact_rollup_deltas(NULL, $1)", pairs))


class SubtreeSums:
    """A unit's stored roll-up sums per period (migration 0005), as read by `subtree_sums`."""

    def __init__(self, rows: list[asyncpg.Record]) -> None:
        self._periods = {row["period"]: row for row in rows}

    @property
    def cells(self) -> int:
        """The cells of the subtree (the recursive walk's cells), in any period."""
        return sum(int(row["cells"]) for period, row in self._periods.items() if period[:1] in ("", "+"))

    def cells_in(self, period: str) -> int:
        """The cells of the subtree that existed in (some month of) the period: those without a span, plus those
        whose span begins by its last month, minus those whose span ended before its first."""
        months = period_months(period)
        first, last = months[0], months[-1]
        total = 0
        for key, row in self._periods.items():
            if key == "" or key[0] == "+" and key[1:] <= last:
                total += int(row["cells"])
            elif key[0] == "-" and key[1:] < first:
                total -= int(row["cells"])
        return total

    def stored(self, period: str) -> int:
        """How many cells of the subtree have the period stored (the others are Poor at 0)."""
        row = self._periods.get(period)
        return int(row["rows"]) if row else 0

    def has_data(self, upto: str) -> bool:
        """Whether a cell of the subtree has a row of length 7 (a month) up to `upto` (as the walk's check read)."""
        return any(len(period) == 7 and period <= upto and row["rows"] > 0 for period, row in self._periods.items())

    def first_month(self) -> str | None:
        """The subtree's first month with a cell's month stored among the months read (`YYYY-MM`), None without any
        (a quarter's key, `2026-Q4`, is seven characters long too)."""
        months = (key for key, row in self._periods.items() if len(key) == 7 and key[5] != "Q" and row["rows"] > 0)
        return min(months, default=None)

    def figures(self, period: str, *, unrated: bool = False) -> dict[str, Any]:
        """Cells per rating, regularity, pooled rates, thematic coverage and mean score of the cells that existed in
        the period (one of them without the period stored counts Poor at 0, or with `unrated`, a running quarter or
        year, is not rated yet: counted in `not_rated`, out of the ratings, rates and mean score); `irregular`: the
        cells rated that missed a counted month's regular meeting (a month: those without it), and for a month
        `met_score`, the mean score of the cells that held it, and `met_thematic_coverage`, the share of them that
        held a thematic meeting too."""
        cells = self.cells_in(period)
        row = self._periods.get(period)

        def total(name: str) -> int:
            return int(row[name]) if row else 0

        missing = cells - self.stored(period)
        not_rated = missing if unrated else 0
        rated = cells - not_rated
        score = row["score"] if row else 0
        met = total("regular")
        month = len(period_months(period)) == 1
        return {
            "cells": cells,
            "by_rating": {
                "good": total("good"),
                "fair": total("fair"),
                "average": total("average"),
                "poor": total("poor") + missing - not_rated,
            },
            "regularity": _share(total("regular"), rated),
            "attendance_rate": _share(total("present"), total("counted")),
            "speaking_rate": _share(total("speakers_present"), total("present")),
            "thematic_coverage": _share(total("thematic"), rated),
            # the exact sum rounded once, divided in float8 as avg() divides its sum: the same value whenever the
            # walk's float sum was exact (integral, half, quarter scores); else they differ only in its rounding
            "score": float(score) / rated if rated else None,
            # a month's cells without its regular meeting, apart, so that a page can tell "not met yet" in the
            # running month from a meeting rated Kém (both are Poor here)
            "irregular": rated - met,
            "met_score": float(score) / met if month and met else None,
            # and the share of those cells that held a thematic one too (a cell not met yet, even with a thematic
            # meeting alone so far, is out of it as of the regularity and score: services/gateway/rollups.py)
            "met_thematic_coverage": _share(total("thematic_met"), met) if month else None,
            "not_rated": not_rated,
        }


async def _read_sums(
    conn: asyncpg.Connection,
    sql: str,
    units: str | list[str],
    periods: list[str],
    months_upto: str,
    *,
    pending: int | None = None,
) -> dict[str, SubtreeSums]:
    """SubtreeSums by unit id off `sql` (SUMS or SUMS_MANY for `units`), on the tree as last applied
    (tree_changes_pending applies small changes first, unless the read already did: `pending`, tree_pending); a unit
    whose deltas have piled up has them folded (the sums stay as they are)."""
    await tree_pending(conn, pending)
    rows = await conn.fetch(sql, units, ["", *periods], months_upto)
    by_unit: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        by_unit.setdefault(row["unit_id"], []).append(row)
    for unit_id, found in by_unit.items():
        if sum(row["pieces"] for row in found) - len(found) > COMPACT_PIECES:
            await conn.execute("SELECT compact_rollup_deltas($1)", unit_id)
    return {unit_id: SubtreeSums(found) for unit_id, found in by_unit.items()}


async def subtree_sums(
    conn: asyncpg.Connection, committee_id: str, periods: list[str], *, months_upto: str, pending: int | None = None
) -> SubtreeSums:
    """The unit's sums of `periods` and of every month up to `months_upto`, on the tree as last applied
    (tree_changes_pending, or `pending`: tree_pending); a unit whose deltas have piled up has them folded (the sums
    stay as they are)."""
    found = await _read_sums(conn, SUMS, committee_id, periods, months_upto, pending=pending)
    return found.get(committee_id) or SubtreeSums([])


async def subtree_sums_of(
    conn: asyncpg.Connection, unit_ids: list[str], periods: list[str], *, months_upto: str, pending: int | None = None
) -> dict[str, SubtreeSums]:
    """subtree_sums of each of `unit_ids` read in one statement (SUMS_MANY), by unit id; a unit without any sums
    (unknown to evaluation) is left out. Units whose deltas have piled up have them folded. `pending`: tree_pending."""
    return await _read_sums(conn, SUMS_MANY, unit_ids, periods, months_upto, pending=pending)


class PeriodNotRated(LookupError):
    """A period the subtree has no rating for: it has not begun, or it ends before the subtree's first data."""

    def __init__(self, message: str, *, begun: bool) -> None:
        super().__init__(message)
        self.message = message
        self.begun = begun


async def check_period_rated(
    conn: asyncpg.Connection, committee_id: str, period: str, *, today: date, pending: int | None = None
) -> None:
    """PeriodNotRated when `period` starts after `today`'s month (Vietnam) or no cell of the subtree has any month
    stored up to its last month (a month long before the data, e.g. 1999-01): such a period is not Poor, it is
    unknown. A committee left without cells by a move after the month closed still has it: its roll-up reads no cell
    and lists the move (move_late_changes; docs/architecture.md "A cell moved to another committee"). While org-tree
    changes wait, "no data" is said of the current tree, not of the tree as last applied (has_data_now: its cells may
    not be in its sums yet; the read then answers from the tree as last applied, `recalculating`). `pending`:
    tree_pending (the read's count, passed on to the read after the check)."""
    months = period_months(period)
    current = f"{today:%Y-%m}"
    if months[0] > current:
        raise PeriodNotRated(f"period {period} has not begun (this month is {current})", begun=False)
    pending = await tree_pending(conn, pending)
    sums = await subtree_sums(conn, committee_id, [], months_upto=months[-1], pending=pending)
    if sums.has_data(months[-1]) or await has_data_now(conn, committee_id, months[-1], pending=pending):
        return
    if not await move_late_changes(conn, committee_id, period):
        raise PeriodNotRated(f"period {period}: no data for the cells of {committee_id} up to then", begun=True)


CURRENT_SUBTREE_HAS_MONTH = """
WITH RECURSIVE down(id, kind, active, path) AS (
    SELECT id, kind, active, ARRAY[id] FROM unit WHERE id = $1
    UNION ALL
    SELECT u.id, u.kind, u.active, d.path || u.id FROM down d JOIN unit u ON u.parent_id = d.id
    WHERE (d.active OR d.id = $1) AND d.kind <> 'cell' AND NOT u.id = ANY(d.path)
)
SELECT EXISTS (
    SELECT 1 FROM down JOIN cell_period p ON p.cell_id = down.id
    WHERE down.kind = 'cell' AND length(p.period) = 7 AND p.period <= $2
)
"""
"""Whether a cell under $1 in the current tree (`unit`: down through active units, as refresh_subtree_cells goes up
through them) has a period of length 7 stored up to $2, as SubtreeSums.has_data reads the applied tree's sums."""


async def has_data_now(conn: asyncpg.Connection, unit_id: str, upto: str, *, pending: int) -> bool:
    """Whether the unit's subtree has a cell's month stored up to `upto` (`YYYY-MM`) in the current tree, asked when
    its sums (the tree as last applied) have none: while `pending` org-tree changes wait (a refresh holding the tree
    lock, or too many for a read to apply) cells already under it may not be in its sums yet, and its reads answer
    from the tree as last applied, `recalculating`, rather than "no data". False without pending changes."""
    return bool(pending) and bool(await conn.fetchval(CURRENT_SUBTREE_HAS_MONTH, unit_id, upto))


def _share(part: int | None, whole: int | None) -> float | None:
    return (part or 0) / whole if whole else None


def _worded(line: dict[str, Any]) -> dict[str, Any]:
    """A stored criteria line with its English `reason` said from its parts by today's wording (shared.reasons:
    moments at +07:00), so a row stored before a wording changed and not scored since reads as a new one; a line stored
    without parts keeps its reason."""
    parts = line.get("parts")
    if not parts:
        return line
    return line | {"reason": reason_text([ReasonPart.model_validate(part) for part in parts])}


async def meeting_score(conn: asyncpg.Connection, meeting_id: str) -> dict[str, Any] | None:
    """A meeting's published score with its explanation (each line with its reason `parts` when stored with them),
    its framework's id, version and name (None when its document is not stored), when it was computed and when a
    re-scoring job last scored it again (`rescored_at`: the function below; None when none did)."""
    row = await conn.fetchrow(
        "SELECT s.meeting_id, s.cell_id, s.framework_id, s.framework_version, f.document->>'name' AS framework_name,"
        " s.score, s.rating, s.provisional, s.criteria::text AS criteria, s.computed_at, s.starts_at"
        " FROM meeting_score s LEFT JOIN framework f"
        " ON f.framework_id = s.framework_id AND f.version = s.framework_version WHERE s.meeting_id = $1",
        meeting_id,
    )
    if row is None:
        return None
    rescored = await rescored_at(conn, row["cell_id"], row["starts_at"])
    return {
        "meeting_id": row["meeting_id"],
        "cell_id": row["cell_id"],
        "framework": {"id": row["framework_id"], "version": row["framework_version"], "name": row["framework_name"]},
        "score": row["score"],
        "rating": row["rating"],
        "provisional": row["provisional"],
        "criteria": [_worded(line) for line in json.loads(row["criteria"])],
        "computed_at": row["computed_at"].isoformat(),
        "rescored_at": rescored.isoformat() if rescored is not None else None,
    }


async def rescored_at(conn: asyncpg.Connection, cell_id: str, starts_at: datetime) -> datetime | None:
    """When the last finished re-scoring job (rescore_job, status done) scored a meeting of `cell_id` starting at
    `starts_at` again: the job's subtree (its unit, or the whole province when it names none) holds the cell and its
    months (`period_from`..`period_to`, open ends unbounded) hold the meeting's month, and it began after the meeting
    did (one before the start scored nothing of it). None when no job did."""
    ancestors = await fetch_ancestors(conn, table="unit", unit_id=cell_id) or [cell_id]
    rows = await conn.fetch(
        "SELECT period_from, period_to, finished_at FROM rescore_job"
        " WHERE status = 'done' AND finished_at IS NOT NULL AND started_at >= $2"
        " AND (unit_id IS NULL OR unit_id = ANY($1::text[])) ORDER BY finished_at DESC",
        ancestors,
        starts_at,
    )
    month = month_of(starts_at)
    for job in rows:
        first = period_months(job["period_from"])[0] if job["period_from"] else None
        last = period_months(job["period_to"])[-1] if job["period_to"] else None
        if (first is None or first <= month) and (last is None or month <= last):
            finished: datetime = job["finished_at"]
            return finished
    return None


LATE_CHANGES = f"""
SELECT l.*, p.rating AS now_rating, p.score AS now_score, w.meeting_starts_at, w.meeting_cancelled,
       f.document->>'name' AS framework_name, n.meeting_id AS month_meeting_id,
       l.last_kind = 'withdrawn' AND EXISTS (
           SELECT 1 FROM period_late_change e
           WHERE e.cell_id = l.cell_id AND e.period = l.period AND e.kind IN ('result', 'unit_added')
             AND e.meeting_id = l.meeting_id
       ) AS withdrawn_was_late
FROM (
    SELECT cell_id, period,
           (array_agg(meeting_id ORDER BY changed_at DESC, id DESC))[1] AS meeting_id,
           (array_agg(old_rating ORDER BY changed_at, id))[1] AS old_rating,
           (array_agg(old_score ORDER BY changed_at, id))[1] AS old_score,
           (array_agg(new_rating ORDER BY changed_at DESC, id DESC))[1] AS new_rating,
           (array_agg(new_score ORDER BY changed_at DESC, id DESC))[1] AS new_score,
           max(changed_at) AS changed_at, min(changed_at) AS first_changed_at,
           count(DISTINCT {vietnam_day("changed_at")})::int AS changes,
           (array_agg(kind ORDER BY changed_at, id))[1] AS first_kind,
           (array_agg(kind ORDER BY changed_at DESC, id DESC))[1] AS last_kind,
           (array_agg(framework_id ORDER BY changed_at DESC, id DESC))[1] AS framework_id,
           (array_agg(framework_version ORDER BY changed_at DESC, id DESC))[1] AS framework_version,
           count(DISTINCT {vietnam_day("changed_at")})
               FILTER (WHERE kind <> 'withdrawn')::int AS changes_kept
    FROM period_late_change
    WHERE cell_id = ANY($1::text[]) AND period = ANY($2::text[])
    GROUP BY cell_id, period
) l
LEFT JOIN cell_period p ON p.cell_id = l.cell_id AND p.period = l.period
LEFT JOIN LATERAL (
    SELECT coalesce(r.starts_at, m.starts_at) AS meeting_starts_at, m.cancelled AS meeting_cancelled
    FROM meeting m
    LEFT JOIN meeting_reschedule r ON r.meeting_id = m.meeting_id
        AND (r.fact_time, r.fact_ns, r.fact_id) > (m.fact_time, m.fact_ns, m.fact_id)
    WHERE m.meeting_id = l.meeting_id AND l.last_kind = 'withdrawn'
) w ON true
LEFT JOIN framework f ON f.framework_id = l.framework_id AND f.version = l.framework_version
    AND l.last_kind = 'rescored'
LEFT JOIN LATERAL (
    SELECT s.meeting_id FROM meeting_score s
    WHERE s.cell_id = l.cell_id AND s.held AND s.kind = ANY($3::text[])
      AND {vietnam_month("s.starts_at")} = l.period
    ORDER BY s.starts_at DESC, s.meeting_id COLLATE "C" DESC
    LIMIT 1
) n ON true
"""
"""Each (cell, month) whose closed result late facts changed: the figures it closed with (the first note's before:
none when the first note is a cell set up late, `kind` "unit_added", or a month a meeting recorded late first
counted), those it has now (`now_*`: the month's stored row, which the ranking, the report and the cell page read;
the last note's after when none is stored: none when the cell was closed late and no longer counts in the month,
`kind` "unit_closed"), the meeting its result is now its, and when; a month last changed by a withdrawn meeting
(`kind` "withdrawn") with that meeting's start and whether it was cancelled, one last re-scored (`kind` "rescored")
with its framework's name; the meeting the month's result is its now (`month_meeting_id`, domain.periods.month_meeting
over the stored scores: the last held regular or combined meeting of the month), and `changes`, the days (Vietnam's
calendar) its result was changed late on, of its notes other than withdrawals too (`changes_kept`): not the notes
themselves, whose number is how many arrivals happened to move the result (facts sent one by one leave one each,
the same facts sent together one), so every order of the same facts ends with the same count (CONTRACT.md);
`withdrawn_was_late`: the meeting the last note withdrew was one an earlier note of the month had counted in late
(recorded after the month closed)."""


async def late_changes(
    conn: asyncpg.Connection, cell_ids: list[str], periods: list[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The late changes (LATE_CHANGES) of the given cells in the given months, by (cell, month)."""
    months = [period for period in periods if len(period_months(period)) == 1]
    if not cell_ids or not months:
        return {}
    rows = await conn.fetch(LATE_CHANGES, cell_ids, months, list(REGULAR_KINDS))
    noted = {(row["cell_id"], row["period"]): _late_change(row) for row in rows}
    return {key: late for key, late in noted.items() if late is not None}


def _late_change(row: asyncpg.Record) -> dict[str, Any] | None:
    """A LATE_CHANGES row as a `late_change`: its figures now are the month's stored row when there is one (a note's
    after can be older: a later fact about a month first rated late leaves no note, domain.periods.late_change), so
    the note says what the ranking, the report and the cell page say of the month; None for a month back at the
    figures it closed with because a meeting recorded late was withdrawn (h374: cancelled before it was known, in
    another order, it was never held and left no note)."""
    stored = row["now_rating"] is not None
    rating, score = (row["now_rating"], row["now_score"]) if stored else (row["new_rating"], row["new_score"])
    closed = row["last_kind"] == "unit_closed" and not stored
    # a month first counted by its note (a cell set up late, a meeting recorded late counting it: no figures before)
    # says its result now, whatever came after; a held meeting withdrawn after it is in those figures, not a note of
    # its own: one sent before it was never held, and the orders must end alike (CONTRACT.md)
    first_counted = row["old_rating"] is None and row["first_kind"] in ("unit_added", "result")
    changes = row["changes_kept"] if first_counted else row["changes"]
    # a meeting recorded late and then withdrawn was never part of the month as it closed: when the month is back at
    # its figures the note is gone, as it never was when the withdrawal came first; else another late fact moved it
    late_withdrawn = row["withdrawn_was_late"] and not first_counted
    # back where it closed as a person reads it (shared.numbers.shown_change: the score at the pages' one decimal)
    back = row["old_score"] is not None and not shown_change(row["old_score"], row["old_rating"], score, rating)
    if late_withdrawn and back:
        return None
    if row["last_kind"] == "rescored" or (row["last_kind"] == "withdrawn" and not first_counted and not late_withdrawn):
        kind = row["last_kind"]
    else:
        kind = "unit_closed" if closed else "unit_added" if row["first_kind"] == "unit_added" else "result"
    # the meeting the month's result is its now, read from the stored scores as the month's row is: the notes'
    # meeting is the one when each was left, which the arrival order decides (a cell set up before its meeting
    # came named none); a withdrawal names the meeting withdrawn, a cell no longer counted none
    if kind == "withdrawn":
        meeting_id = row["meeting_id"]
    else:
        meeting_id = None if kind == "unit_closed" else row["month_meeting_id"]
    return {
        "meeting_id": meeting_id,
        "kind": kind,
        **(
            {
                "meeting_starts_at": row["meeting_starts_at"].isoformat() if row["meeting_starts_at"] else None,
                "meeting_cancelled": row["meeting_cancelled"],
            }
            if kind == "withdrawn"
            else {}
        ),
        **(
            {
                "framework_id": row["framework_id"],
                "framework_version": row["framework_version"],
                "framework_name": row["framework_name"],
            }
            if kind == "rescored"
            else {}
        ),
        "old_rating": row["old_rating"],
        "old_score": row["old_score"],
        "new_rating": rating,
        "new_score": score,
        "changed_at": row["changed_at"].isoformat(),
        "first_changed_at": row["first_changed_at"].isoformat(),
        "changes": changes,
    }


async def rating_notes(
    conn: asyncpg.Connection, cell_ids: list[str], period: str
) -> dict[str, tuple[dict[str, Any] | None, bool]]:
    """The stored rating reason (domain.periods.RatingReason, None when the rating is its score's band) and whether
    the rating is provisional (the `provisional` flag: a meeting's manual items not assessed yet, DOMAIN.md "Quality
    evaluation") of the given cells in `period`, by cell; a cell with neither is left out. Read apart from a page's
    rows, as late_changes are, so the ranking's streams keep their columns."""
    if not cell_ids:
        return {}
    rows = await conn.fetch(
        "SELECT cell_id, rating_reason::text AS reason, 'provisional' = ANY(flags) AS provisional FROM cell_period"
        " WHERE cell_id = ANY($1::text[]) AND period = $2"
        " AND (rating_reason IS NOT NULL OR 'provisional' = ANY(flags))",
        cell_ids,
        period,
    )
    return {
        row["cell_id"]: (json.loads(row["reason"]) if row["reason"] else None, bool(row["provisional"])) for row in rows
    }


async def _note_rating_reasons(conn: asyncpg.Connection, items: list[dict[str, Any]], period: str) -> None:
    """Set each line's `rating_reason` (None without one) and `provisional` (rating_notes) in place, a line not rated
    left without either."""
    notes = await rating_notes(conn, [item["cell_id"] for item in items if item.get("rating")], period)
    for item in items:
        item["rating_reason"], item["provisional"] = notes.get(item["cell_id"], (None, False))


async def note_quarter_reasons(conn: asyncpg.Connection, lines: list[dict[str, Any]], period: str) -> None:
    """Set each half-year line's `quarter_reasons` ({quarter: its stored rating reason or None}, the keys of its
    `quarter_ratings`) in place: a half-year has no rating of its own (DOMAIN.md rates months, quarters and years), so
    the reason its line gives is its quarters' own (rating_notes of each quarter), for a quarter the line rates only
    (one read as Poor at 0 without a stored row has none)."""
    notes = {
        quarter: await rating_notes(
            conn, [line["cell_id"] for line in lines if (line.get("quarter_ratings") or {}).get(quarter)], quarter
        )
        for quarter in half_quarters(period)
    }
    for line in lines:
        rated = line.get("quarter_ratings") or {}
        line["quarter_reasons"] = {
            quarter: (notes[quarter].get(line["cell_id"], (None, False))[0] if rating else None)
            for quarter, rating in rated.items()
        }


def period_data(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    """A stored period row as `score.cell.updated.v1` data."""
    return {
        "cell_id": row["cell_id"],
        "period": row["period"],
        "rating": row["rating"],
        "score": row["score"],
        "regular_held": row["regular_held"],
        "thematic_held": row["thematic_held"],
        "meetings_held": row.get("meetings_held"),
        "attendance_rate": _share(row["present"], row["counted"]),
        "speaking_rate": _share(row["speakers_present"], row["present"]),
        "flags": list(row["flags"]),
        "rating_reason": json.loads(row["rating_reason"]) if row.get("rating_reason") else None,
    }


async def cell_periods(
    conn: asyncpg.Connection, cell_id: str, year: int | None, *, today: date | None = None
) -> list[dict[str, Any]]:
    """A cell's stored months, quarters and years (of one year, or all), in that order per year, and the quarter and
    year running on `today` (default: today in Vietnam) while not rated yet (`not_period_rated`)."""
    rows = await conn.fetch(
        "SELECT * FROM cell_period WHERE cell_id = $1 AND ($2::int IS NULL OR left(period, 4) = $2::text)"
        " ORDER BY left(period, 4), length(period) DESC, period",
        cell_id,
        year,
    )
    periods = [period_data(row) for row in rows]
    shown = [item["period"] for item in periods]
    # the cell's own page says its move to another committee after a month closed as its committees' pages do; a
    # change of the month's result (late_changes) is said before it, as a committee's report line does
    noted = await cell_move_late_changes(conn, [cell_id], shown) | await late_changes(conn, [cell_id], shown)
    for item in periods:
        item["late_change"] = noted.get((cell_id, item["period"]))
    today = today or today_in_vietnam()
    if year is not None and year != today.year:
        return periods
    stored = {item["period"] for item in periods}
    span = await cell_months(conn, cell_id)
    current = f"{today:%Y-%m}"
    if not span or (span["first_month"] or current) > current or (span["last_month"] or current) < current:
        return periods  # not a cell this month (or not known): nothing of it is running
    running = (f"{today.year}-Q{(today.month - 1) // 3 + 1}", str(today.year))
    unrated = [not_period_rated(cell_id, period) for period in running if period not in stored]
    return sorted(periods + unrated, key=lambda item: (item["period"][:4], -len(item["period"]), item["period"]))


def not_period_rated(cell_id: str, period: str) -> dict[str, Any]:
    """A cell's quarter or year still running and not rated yet (no month of it counted so far: its only month is the
    running one, without the cell's regular meeting yet), listed as such: `not_rated`, no rating, score or counts,
    as a committee's roll-up counts it apart (`not_rated`)."""
    return {
        "cell_id": cell_id,
        "period": period,
        "rating": None,
        "score": None,
        "regular_held": None,
        "thematic_held": None,
        "meetings_held": None,
        "attendance_rate": None,
        "speaking_rate": None,
        "flags": ["in_progress"],
        "not_rated": True,
    }


async def cell_months(conn: asyncpg.Connection, cell_id: str) -> dict[str, str | None]:
    """The months a cell existed in, {first_month, last_month} (`cell_span`: domain.periods.cell_span); empty while
    its span is not known."""
    row = await conn.fetchrow("SELECT first_month, last_month FROM cell_span WHERE cell_id = $1", cell_id)
    return {"first_month": row["first_month"], "last_month": row["last_month"]} if row else {}


async def unit_kind(conn: asyncpg.Connection, unit_id: str) -> str | None:
    """The kind of a known unit."""
    return await conn.fetchval("SELECT kind FROM unit WHERE id = $1", unit_id)


async def rollup_figures(conn: asyncpg.Connection, committee_id: str, period: str) -> dict[str, Any]:
    """Cells per rating, regularity, pooled rates, thematic coverage and mean score of a subtree."""
    return (await subtree_sums(conn, committee_id, [period], months_upto="")).figures(period)


def _subtree_period(cells: int, *, unrated: bool = False) -> str:
    sql = SMALL_SUBTREE_PERIOD if cells < LARGE_SUBTREE else SUBTREE_PERIOD
    return sql.format(**_placeholders(unrated))


RANKED_COLUMNS = (
    "p.cell_id, p.score, p.rating, p.regular_held, coalesce(p.meetings_held, 0) AS meetings_held,"
    " p.thematic_held, p.present, p.counted, p.speakers_present"
)
"""The columns of a stored period a ranking line reads, as SUBTREE_PERIOD and MISSING give them (`meetings_held` 0
for a row rated before it was kept; the period's own counts its attendance and speaking rates are shares of, as the
cell's period row reads them: period_data)."""

LINE_FIGURES = "thematic_held, present, counted, speakers_present"
"""The counts a ranking line's figures beside its score come from (RANKED_COLUMNS), carried through a page's
statement (_named_page)."""


def _named_page(cells: str, order: str, *, ranked: str | None = None) -> str:
    """The page ($4 limit, $5 offset) of `cells` in `order`, then their names: joined after the page is cut, else the
    planner hashes every unit to name a commune's few cells (39 ms instead of 3). `ranked`: the condition on `s` of a
    cell that takes a rank; each row's `rank` then counts such cells from the first in `order` up to it (NULL for a
    row that takes none), over `cells` before the page is cut, so a page past the first ranks right whichever cells
    before it had none."""
    figures = LINE_FIGURES.replace(", ", ", s.")
    rank = (
        f", CASE WHEN {ranked} THEN count(*) FILTER (WHERE {ranked}) OVER (ORDER BY {order} ROWS UNBOUNDED PRECEDING)"
        " END AS rank"
        if ranked
        else ", NULL::bigint AS rank"
    )
    return (
        f"SELECT s.cell_id, u.name, s.score, s.rating, s.regular_held, s.meetings_held, s.{figures}, s.rank FROM ("
        f" SELECT s.cell_id, s.score, s.rating, s.regular_held, s.meetings_held, s.{figures}{rank} FROM ({cells}) s"
        f" ORDER BY {order} LIMIT $4 OFFSET $5"
        f") s JOIN unit u ON u.id = s.cell_id ORDER BY {order}"
    )


def _weak_sql(*, large: bool, missing: bool, cells: int, met_only: bool = False, unrated: bool = False) -> str:
    """A page of the subtree's weak cells, worst first ($1 unit, $2 period, $3 cells read per stream, $4 limit,
    $5 offset): off the weak-rating index per rating when `large`, else the whole subtree sorted; `met_only`: only
    the cells that held a regular meeting in the period (a cell without a stored period held none); `unrated`: a
    running quarter or year, where a cell without a stored period is not rated yet, so never weak."""
    held = " AND p.regular_held > 0" if met_only else ""
    if large:
        streams = [
            f"(SELECT {RANKED_COLUMNS} FROM cell_period p"
            f" WHERE p.period = $2 AND p.rating = '{rating}'{held}"
            f" AND {IN_SUBTREE} ORDER BY p.score, p.cell_id LIMIT $3)"
            for rating in WEAK_RATINGS
        ]
        if missing and not met_only and not unrated:
            streams.append(f"({_missing(False)})")
        chosen = " UNION ALL ".join(streams)
    else:
        chosen = (
            f"SELECT * FROM ({_subtree_period(cells, unrated=unrated)}) a"
            " WHERE $3::int IS NOT NULL AND a.rating IN ('poor', 'average')"
            + (" AND a.regular_held > 0" if met_only else "")
        )
    return _named_page(chosen, WEAK_ORDER)


def _ranked_sql(
    *, large: bool, missing: bool, descending: bool, cells: int, unrated: bool = False, waiting: bool = False
) -> str:
    """A page of the subtree's cells by score, ties by id ($1 unit, $2 period, $3 cells read per stream, $4 limit,
    $5 offset): off the score index when `large` (descending, with every cell tied at the last score read, since
    the index runs ids backwards there), else the whole subtree sorted; `unrated`: a running quarter or year, whose
    cells without a stored period are not rated yet (score and rating NULL), listed after every rated cell. Each
    cell with a score has its `rank` in that order among them (_named_page); `waiting`: a month still waiting for its
    meetings, where a cell without its regular meeting (Poor at 0 for now) has none (people read it not met yet)."""
    direction = "DESC" if descending else "ASC"
    missing_cells = f" UNION ALL ({_missing(unrated)})" if missing else ""
    if not large:
        chosen = f"SELECT * FROM ({_subtree_period(cells, unrated=unrated)}) a WHERE $3::int IS NOT NULL"
    elif descending:
        top = (
            f"SELECT {RANKED_COLUMNS} FROM cell_period p WHERE p.period = $2"
            f" AND {IN_SUBTREE} ORDER BY p.score DESC LIMIT $3"
        )
        chosen = (
            f"SELECT * FROM ({top}) top UNION SELECT {RANKED_COLUMNS} FROM cell_period p"
            f" WHERE p.period = $2 AND p.score = (SELECT min(t.score) FROM ({top}) t) AND {IN_SUBTREE}{missing_cells}"
        )
    else:
        chosen = (
            f"(SELECT {RANKED_COLUMNS} FROM cell_period p WHERE p.period = $2"
            f" AND {IN_SUBTREE}"
            f" ORDER BY p.score, p.cell_id LIMIT $3){missing_cells}"
        )
    scored = "s.score IS NOT NULL" + (" AND coalesce(s.regular_held, 0) > 0" if waiting else "")
    return _named_page(chosen, f"s.score {direction} NULLS LAST, s.cell_id", ranked=scored)


async def _fetch_planned_for(conn: asyncpg.Connection, sql: str, *args: object) -> list[asyncpg.Record]:
    """Fetch with a plan made for these arguments: a prepared statement's generic plan, which PostgreSQL switches to
    after five runs, cannot tell a province (an ordered read that stops after the page) from a commune (a few index
    probes) and hashed the whole period for both (224 ms for a province's page instead of 4 ms)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        return await conn.fetch(sql, *args)


def _cell_items(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    return [
        {
            "cell_id": r["cell_id"],
            "name": r["name"],
            "score": r["score"],
            "rating": r["rating"],
            "regular_held": r["regular_held"],
            "meetings_held": r["meetings_held"],
            "thematic_held": r["thematic_held"],
            "attendance_rate": _share(r["present"], r["counted"]),
            "speaking_rate": _share(r["speakers_present"], r["present"]),
        }
        for r in rows
    ]


async def committee_rollup(
    conn: asyncpg.Connection,
    committee_id: str,
    period: str,
    *,
    weakest: int = 5,
    today: date | None = None,
    late_changes_offset: int = 0,
    pending: int | None = None,
) -> dict[str, Any]:
    """The roll-up of a committee's whole subtree for a period, with the trend, the weakest cells and the cells whose
    month changed late (LATE_CHANGES_SHOWN from `late_changes_offset`); in a quarter or year running on `today`
    (default: today in Vietnam) the cells not rated yet are `not_rated`, apart. Never waits for a tree refresh: while
    noted org-tree changes are not applied (`pending_tree_changes`) the figures are those of the tree as last applied
    and `recalculating` is true (tree_changes_pending, counted once for the read, or `pending`: tree_pending)."""
    today = today or today_in_vietnam()
    tree = await tree_refresh_state(conn, pending=pending)  # before the figures (tree_refresh_state)
    pending = tree["pending_tree_changes"]
    if is_half_year(period):
        figures = await half_year_rollup(conn, committee_id, period, today=today, pending=pending)
        figures.pop("has_data")
        weak = await half_year_weakest(conn, committee_id, period, today=today, pending=pending)
        late, late_total = await subtree_late_changes(
            conn, committee_id, period, limit=LATE_CHANGES_SHOWN, offset=late_changes_offset
        )
        return {**figures, "weakest": weak, "late_changes": late, "late_changes_total": late_total, **tree}
    unrated = not_rated_yet(period, today=today)
    # every month up to the period's end, its own too: the subtree's first month of data is among them
    sums = await subtree_sums(
        conn, committee_id, [period, previous_period(period)], months_upto=period_months(period)[-1], pending=pending
    )
    cells, missing = sums.cells, sums.cells_in(period) - sums.stored(period)
    sql = _weak_sql(
        large=cells >= LARGE_SUBTREE and weakest <= DEEP_PAGE, missing=missing > 0, cells=cells, unrated=unrated
    )
    rows = await _fetch_planned_for(conn, sql, committee_id, period, weakest, weakest, 0)
    late, late_total = await subtree_late_changes(
        conn, committee_id, period, limit=LATE_CHANGES_SHOWN, offset=late_changes_offset
    )
    weakest_items = _cell_items(rows)
    await _note_rating_reasons(conn, weakest_items, period)
    figures = rollup_of(sums, committee_id, period, today=today)
    return {
        **figures,
        "weakest": weakest_items,
        "late_changes": late,
        "late_changes_total": late_total,
        **tree,
    }


def rollup_of(sums: SubtreeSums, unit_id: str, period: str, *, today: date) -> dict[str, Any]:
    """A unit's roll-up figures for a period off its sums of the period, the previous one and every month up to the
    period's end (subtree_sums): by rating, rates, score, trend and first month, without its weakest cells and late
    changes (committee_rollup adds them); in a quarter or year running on `today` the cells not rated yet apart."""
    before = previous_period(period)
    figures = sums.figures(period, unrated=not_rated_yet(period, today=today))
    previous = (
        sums.figures(before, unrated=not_rated_yet(before, today=today))
        if sums.has_data(period_months(before)[-1])
        else {"score": None}
    )
    delta = None
    if figures["score"] is not None and previous["score"] is not None:
        delta = figures["score"] - previous["score"]
    return {
        "committee_id": unit_id,
        "period": period,
        **figures,
        "trend": {"previous_period": before, "previous_score": previous["score"], "score_delta": delta},
        "first_month": sums.first_month(),
    }


async def unit_rollups(
    conn: asyncpg.Connection, unit_ids: list[str], period: str, *, today: date | None = None, pending: int | None = None
) -> dict[str, Any]:
    """rollup_of each of `unit_ids` (its first occurrence) whose subtree has data up to the period's end, in the
    order given, their sums read in one statement (subtree_sums_of); a unit without (unknown, or no cell's month
    stored by then in the current tree: check_period_rated's not_found, has_data_now) is left out; one whose cells
    the tree as last applied does not hold yet is listed from it; `recalculating` and `pending_tree_changes` as
    committee_rollup's (the tree's changes counted once for every unit). The caller checks that the period has
    begun."""
    today = today or today_in_vietnam()
    last = period_months(period)[-1]
    tree = await tree_refresh_state(conn, pending=pending)
    pending = tree["pending_tree_changes"]
    if is_half_year(period):
        halves = [
            await half_year_rollup(conn, unit_id, period, today=today, pending=pending)
            for unit_id in dict.fromkeys(unit_ids)
        ]
        return {"items": [item for item in halves if item.pop("has_data")], **tree}
    sums = await subtree_sums_of(conn, unit_ids, [period, previous_period(period)], months_upto=last, pending=pending)
    items = []
    for unit_id in dict.fromkeys(unit_ids):
        found = sums.get(unit_id) or SubtreeSums([])
        # a unit whose cells the tree as last applied does not hold yet is listed from it, as `recalculating` says
        if found.has_data(last) or await has_data_now(conn, unit_id, last, pending=pending):
            items.append(rollup_of(found, unit_id, period, today=today))
    return {"items": items, **tree}


DIRECT_CELLS = """
SELECT count(*) FROM unit u
JOIN subtree_cell s ON s.ancestor_id = u.id AND s.cell_id = u.id
WHERE u.parent_id = $1 AND u.kind = 'cell' AND cell_in_period(s.first_month, s.last_month, $2)
  AND EXISTS (SELECT 1 FROM cell_period p WHERE p.cell_id = u.id AND length(p.period) = 7 AND p.period <= $3)
"""
"""The cells whose parent is $1 that existed in period $2 (their span) and have a month stored up to $3, its last
month: those whose own sums (a cell's pair in subtree_cell, its periods) give cells_in > 0 and has_data, one index
probe each instead of their sums read."""


async def direct_cells(conn: asyncpg.Connection, committee_id: str, period: str) -> int:
    """How many cells directly under `committee_id` unit_rollups would list with cells in `period` (existed in it,
    with a month stored up to its end), counted without reading their sums; 0 for an unknown unit."""
    await tree_changes_pending(conn)
    return int(await conn.fetchval(DIRECT_CELLS, committee_id, period, period_months(period)[-1]))


LATE_CHANGES_SHOWN = LATE_CHANGES_PAGE
"""How many cells whose closed month changed late a committee's roll-up lists at a time (it says how many there are;
GetCommitteeRollup's `late_changes_offset` pages the rest)."""

SUBTREE_LATE_CHANGES = """
SELECT l.cell_id, u.name
FROM (SELECT DISTINCT cell_id FROM period_late_change WHERE period = $2) l
JOIN subtree_cell s ON s.cell_id = l.cell_id AND s.ancestor_id = $1
JOIN unit u ON u.id = l.cell_id
"""
"""The cells of a committee's subtree whose month (`$2`) a late fact changed after it closed, with their names."""


async def subtree_late_changes(
    conn: asyncpg.Connection, committee_id: str, period: str, *, limit: int, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """The subtree's cells whose closed month changed late (late_changes), the latest change first, at most `limit`
    from `offset`, and how many there are. Reads the subtree as refreshed by the roll-up's sums. A quarter, half-year
    or year lists only its cells moved in or out after a month of it closed (move_late_changes): a move changes the
    period's figures themselves; a result changed late is its month's to say."""
    if len(period_months(period)) != 1:
        items = await move_late_changes(conn, committee_id, period)
        items.sort(key=lambda item: (item["late_change"]["changed_at"], item["cell_id"]), reverse=True)
        return items[offset : offset + limit], len(items)
    rows = await conn.fetch(SUBTREE_LATE_CHANGES, committee_id, period)
    noted = await late_changes(conn, [row["cell_id"] for row in rows], [period])
    items = [
        {"cell_id": row["cell_id"], "name": row["name"], "late_change": noted[(row["cell_id"], period)]}
        for row in rows
        if (row["cell_id"], period) in noted
    ]
    items.extend(await move_late_changes(conn, committee_id, period))
    items.sort(key=lambda item: (item["late_change"]["changed_at"], item["cell_id"]), reverse=True)
    return items[offset : offset + limit], len(items)


MOVES_NET = f"""
WITH moves AS (
    SELECT * FROM unit_move_change m
    WHERE m.cell_id = ANY($1::text[]) AND m.period = ANY($2::text[])
), toggles AS (
    SELECT cell_id, period, committee_id, sum(d) AS net
    FROM (SELECT cell_id, period, unnest(left_ids) AS committee_id, 1 AS d FROM moves
          UNION ALL SELECT cell_id, period, unnest(joined_ids), -1 FROM moves) t
    GROUP BY cell_id, period, committee_id
), changed AS (
    SELECT cell_id, period FROM toggles
    WHERE net <> 0 AND ($3::text IS NULL OR committee_id = $3)
    GROUP BY cell_id, period
), first AS (
    SELECT DISTINCT ON (m.cell_id, m.period) m.cell_id, m.period, m.from_parent_id
    FROM moves m JOIN changed USING (cell_id, period)
    ORDER BY m.cell_id, m.period, m.changed_at, m.id
), counted AS (
    SELECT cell_id, period, count(DISTINCT {vietnam_day("changed_at")})::int AS changes
    FROM moves GROUP BY cell_id, period
)
SELECT DISTINCT ON (m.cell_id, m.period) m.cell_id, c.name, m.period, coalesce(p.rating, m.rating) AS rating,
       coalesce(p.score, m.score) AS score, m.changed_at,
       first.from_parent_id, f.name AS from_name, m.to_parent_id, t.name AS to_name,
       min(m.changed_at) OVER (PARTITION BY m.cell_id, m.period) AS first_changed_at, counted.changes,
       (SELECT json_agg(json_build_object(
                    'unit_id', coalesce(x.unit_id, x.cell_id), 'unit_name', xu.name,
                    'moved_from_id', x.from_parent_id, 'moved_from_name', xf.name,
                    'moved_to_id', x.to_parent_id, 'moved_to_name', xt.name, 'changed_at', x.changed_at
                ) ORDER BY x.changed_at, x.id)
        FROM moves x
        LEFT JOIN unit xu ON xu.id = coalesce(x.unit_id, x.cell_id)
        LEFT JOIN unit xf ON xf.id = x.from_parent_id
        LEFT JOIN unit xt ON xt.id = x.to_parent_id
        WHERE x.cell_id = m.cell_id AND x.period = m.period)::text AS moves
FROM moves m
JOIN first USING (cell_id, period)
JOIN counted USING (cell_id, period)
LEFT JOIN unit c ON c.id = m.cell_id
LEFT JOIN unit f ON f.id = first.from_parent_id
LEFT JOIN unit t ON t.id = m.to_parent_id
LEFT JOIN cell_period p ON p.cell_id = m.cell_id AND p.period = m.period
ORDER BY m.cell_id, m.period, m.changed_at DESC, m.id DESC
"""
"""The moves of cells $1 after months $2 closed, netted per (cell, month) (docs/architecture.md "A cell moved to
another committee"): each move row toggles whether its `left_ids` and `joined_ids` count the cell, so a committee whose
lost and gained counts are equal sees the month as it was shown (A→B→A: nobody; A→B→C: not B), whichever order the
moves arrived in. A (cell, month) is kept when a committee ($3, or any when null) has a net change; it reads from the
first move's old parent (where the month was shown) to the latest one's new parent (where it counts now), with the
latest move's time, the days (Vietnam's calendar) it was moved on (`changes`, as LATE_CHANGES counts them) and the
month's figures now (its stored row; the move's own, as they stood when it came, only
when none is stored: a late fact about the month before or after the move ends alike), and each move in the order
noted (`moves`: the unit that moved, the cell or a committee above it, from where to where, when; a row noted before
migration 0043 read as the cell's own move), so a cell moved and then its new committee moved reads as two moves."""

MOVED_CELLS = """
SELECT DISTINCT cell_id FROM unit_move_change
WHERE period = ANY($2::text[]) AND ($1 = ANY(left_ids) OR $1 = ANY(joined_ids))
"""
"""The cells with a move after one of months $2 closed that touched committee $1 (lost or gained them, migration
0034)."""

PERIOD_FIGURES = """
SELECT cell_id, rating, score FROM cell_period WHERE cell_id = ANY($1::text[]) AND period = $2
"""
"""The stored rating and score of cells $1 in period $2 (a quarter or year: what a move note of it says)."""


async def move_late_changes(
    conn: asyncpg.Connection, committee_id: str, period: str, *, cell_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """The committee's notes of cells moved out of or into it after a month of `period` (a month, quarter, half-year or
    year) closed whose net move still changes its figures (MOVES_NET), as subtree_late_changes' items (`cell_id`,
    `name`, `late_change`: move_late_change); of `cell_ids` only when given. A quarter, half-year or year changed
    with its closed months (the cell's record follows it, docs/architecture.md "A cell moved to another committee"):
    one note per cell, from its latest noted month's move, with the cell's figures of the period itself (None while
    it has no stored row: a period not rated yet, or a half-year, which has no rating of its own)."""
    months = period_months(period)
    moved = [row["cell_id"] for row in await conn.fetch(MOVED_CELLS, committee_id, months)]
    if cell_ids is not None:
        moved = [cell_id for cell_id in moved if cell_id in set(cell_ids)]
    if not moved:
        return []
    rows = await conn.fetch(MOVES_NET, moved, months, committee_id)
    if len(months) == 1:
        return [{"cell_id": row["cell_id"], "name": row["name"], "late_change": move_late_change(row)} for row in rows]
    return await period_move_notes(conn, rows, period)


async def period_move_notes(conn: asyncpg.Connection, rows: list[asyncpg.Record], period: str) -> list[dict[str, Any]]:
    """The notes of a quarter, half-year or year `period` from its months' netted moves (MOVES_NET `rows`, months of
    other periods ignored), one per cell (`cell_id`, `name`, `late_change`: move_late_change): from the cell's latest
    noted month's move (its months share the moves, netted alike), with the cell's figures of the period itself,
    exact (None while it has no stored row: a period not rated yet, or a half-year, which has no rating of its own).
    A committee's roll-up (move_late_changes) and the cell's own page (cell_move_late_changes) say it alike."""
    months = set(period_months(period))
    latest: dict[str, asyncpg.Record] = {}
    for row in rows:
        if row["period"] not in months:
            continue
        if row["cell_id"] not in latest or row["period"] > latest[row["cell_id"]]["period"]:
            latest[row["cell_id"]] = row
    if not latest:
        return []
    figures = {row["cell_id"]: row for row in await conn.fetch(PERIOD_FIGURES, list(latest), period)}
    items = []
    for cell_id, row in latest.items():
        late = move_late_change(row)
        stored = figures.get(cell_id)
        rating = stored["rating"] if stored is not None else None
        # exact, as every reply's figures (rounded once where they are shown)
        score = float(stored["score"]) if stored is not None and stored["score"] is not None else None
        late.update(old_rating=rating, old_score=score, new_rating=rating, new_score=score)
        items.append({"cell_id": cell_id, "name": row["name"], "late_change": late})
    return items


async def cell_move_late_changes(
    conn: asyncpg.Connection, cell_ids: list[str], periods: list[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The cells' own notes of being moved to another committee after a month closed, netted (MOVES_NET: none when
    every committee sees the month as it was shown), as `late_change`s of kind "unit_moved" (move_late_change) by
    (cell, period), as late_changes gives the others: each month of `periods` with its own move, and each quarter,
    half-year or year of them whose months carry one with the period's own figures (period_move_notes, as the
    committees' roll-ups of it say it: the cell's own page marked the move on its months only)."""
    months = sorted({month for period in periods for month in period_months(period)})
    if not cell_ids or not months:
        return {}
    rows = await conn.fetch(MOVES_NET, cell_ids, months, None)
    asked = set(periods)
    noted = {(row["cell_id"], row["period"]): move_late_change(row) for row in rows if row["period"] in asked}
    for period in periods:
        if len(period_months(period)) > 1:
            for item in await period_move_notes(conn, rows, period):
                noted[(item["cell_id"], period)] = item["late_change"]
    return noted


def move_late_change(row: asyncpg.Record) -> dict[str, Any]:
    """A row of a cell's net move after a month closed (MOVES_NET) as a `late_change` of
    kind "unit_moved": the month's figures as `old_*` and `new_*`, which did not change, and `moved_from_*` and
    `moved_to_*`, the committees it left and joined, netted; `moves`, each move of the unit that moved (the cell, or
    a committee above it that took it along) in the order noted."""
    return {
        "meeting_id": None,
        "kind": "unit_moved",
        "old_rating": row["rating"],
        "old_score": row["score"],
        "new_rating": row["rating"],
        "new_score": row["score"],
        "changed_at": row["changed_at"].isoformat(),
        "first_changed_at": row["first_changed_at"].isoformat(),
        "changes": row["changes"],
        "moved_from_id": row["from_parent_id"],
        "moved_from_name": row["from_name"],
        "moved_to_id": row["to_parent_id"],
        "moved_to_name": row["to_name"],
        "moves": json.loads(row["moves"] or "[]"),
    }


async def committee_ranking(
    conn: asyncpg.Connection,
    committee_id: str,
    period: str,
    *,
    order: Literal["asc", "desc"],
    limit: int,
    offset: int,
    weak_only: bool = False,
    met_only: bool = False,
    today: date | None = None,
    pending: int | None = None,
) -> dict[str, Any]:
    """A page of the subtree's cells ranked by period score; `weak_only`: only the cells rated Poor or Average,
    worst rating first (the weakest cells), and for a month with `met_only` only those that held its regular meeting
    (a cell without it is Poor: the weak less the irregular). In a quarter or year running on `today` (default:
    today in Vietnam) a cell not rated yet is never weak and ranks after the rated ones, without score or rating.
    `pending`: tree_pending."""
    tree = await tree_refresh_state(conn, pending=pending)
    pending = tree["pending_tree_changes"]
    if is_half_year(period):
        day = today or today_in_vietnam()
        if weak_only:
            # no half-year rating (DOMAIN.md rates months, quarters and years): weak in one of its quarters, the
            # roll-up's weakest cells (half_year_weak_page), without a rank as the other periods' weakest
            total, weak = await half_year_weak_page(
                conn, committee_id, period, today=day, limit=limit, offset=offset, pending=pending
            )
            items = [line | {"rank": None} for line in weak]
            return {"items": items, "total": total, "limit": limit, "offset": offset, **tree}
        total, page = await half_year_page(
            conn,
            committee_id,
            period,
            today=day,
            descending=order == "desc",
            limit=limit,
            offset=offset,
            pending=pending,
        )
        # a cell without a score (no month counted) sorts after every scored one (NULLS LAST, either order), so the
        # scored cells' ranks are their places in the order
        items = [
            _rank_item(line) | {"rank": None if line["score"] is None else offset + place}
            for place, (line, _) in enumerate(page, start=1)
        ]
        return {"items": items, "total": total, "limit": limit, "offset": offset, **tree}
    day = today or today_in_vietnam()
    unrated = not_rated_yet(period, today=day)
    # a month still waiting for its meetings (shared.periods.awaiting_meeting, as the gateway reads it)
    waiting = period_months(period) == [period] and f"{day:%Y-%m}" <= period
    sums = await subtree_sums(conn, committee_id, [period], months_upto="", pending=pending)
    figures = sums.figures(period, unrated=unrated)
    cells, missing = sums.cells, sums.cells_in(period) - sums.stored(period)
    large = cells >= LARGE_SUBTREE and offset + limit <= DEEP_PAGE
    if weak_only:
        total = figures["by_rating"]["poor"] + figures["by_rating"]["average"]
        if met_only:
            total -= figures["irregular"]
        sql = _weak_sql(large=large, missing=missing > 0, cells=cells, met_only=met_only, unrated=unrated)
    else:
        total = figures["cells"]
        sql = _ranked_sql(
            large=large, missing=missing > 0, descending=order == "desc", cells=cells, unrated=unrated, waiting=waiting
        )
    rows = await _fetch_planned_for(conn, sql, committee_id, period, offset + limit, limit, offset)
    items = [item | {"rank": row["rank"]} for item, row in zip(_cell_items(rows), rows, strict=True)]
    await _note_late_changes(conn, items, period, committee_id=committee_id)
    return {"items": items, "total": total, "limit": limit, "offset": offset, **tree}


REPORT_ROWS = """
SELECT s.cell_id, u.name, u.parent_id,
       coalesce(p.rating, {missing_rating}) AS rating,
       coalesce(p.score, {missing_score}) AS score,
       CASE WHEN p.cell_id IS NULL THEN {missing_held} ELSE p.regular_held END AS regular_held,
       p.thematic_held, p.meetings_held, p.present, p.counted, p.speakers_present, p.flags,
       p.cell_id IS NULL AS missing
FROM subtree_cell s
JOIN unit u ON u.id = s.cell_id
LEFT JOIN cell_period p ON p.cell_id = s.cell_id AND p.period = $2
WHERE s.ancestor_id = $1 AND cell_in_period(s.first_month, s.last_month, $2)
"""
"""Each cell of the subtree that existed in the period, with its name, parent and every figure of the period (a cell
without a stored period as SUBTREE_PERIOD reads it: Poor at 0 with no regular meeting, or in a running quarter or
year not rated yet, without any figure)."""

REPORT_PAGE = """
SELECT * FROM ({rows}) r
WHERE $4::text IS NULL
   OR ($3::float8 IS NOT NULL AND (r.score < $3 OR (r.score = $3 AND r.cell_id > $4) OR r.score IS NULL))
   OR ($3::float8 IS NULL AND r.score IS NULL AND r.cell_id > $4)
ORDER BY r.score DESC NULLS LAST, r.cell_id
LIMIT $5
"""
"""A page of REPORT_ROWS in ranking order (score descending, not rated last, ties by id), after the cursor
($3 the raw score of the last row read, NULL for a row not rated; $4 its cell, NULL for the first page)."""


async def committee_report(
    conn: asyncpg.Connection,
    committee_id: str,
    period: str,
    *,
    after_score: float | None,
    after_cell: str | None,
    limit: int,
    today: date | None = None,
    pending: int | None = None,
) -> dict[str, Any]:
    """A page of the subtree's cells with all their figures for the period, best first as the ranking orders them,
    read after a cursor (keyset: each page costs the same however deep); `next` is the cursor of the following
    page ({after_score, after_cell}), None after the last. In a quarter or year running on `today` a cell not rated
    yet is `not_rated`, without figures (as cell_periods lists it). A half-year reads every cell of the subtree off
    its quarters (half_year_page) and pages them in the same order. `pending`: tree_pending."""
    tree = await tree_refresh_state(conn, pending=pending)
    if is_half_year(period):
        page = await _half_year_report(
            conn,
            committee_id,
            period,
            after=(after_score, after_cell),
            limit=limit,
            today=today or today_in_vietnam(),
            pending=tree["pending_tree_changes"],
        )
        return {**page, **tree}
    unrated = not_rated_yet(period, today=today or today_in_vietnam())
    placeholders = _placeholders(unrated) | {"missing_held": "NULL" if unrated else "0"}
    sql = REPORT_PAGE.format(rows=REPORT_ROWS.format(**placeholders))
    rows = await _fetch_planned_for(conn, sql, committee_id, period, after_score, after_cell, limit)
    items = [_report_item(r, period, unrated=unrated) for r in rows]
    await _note_late_changes(conn, items, period, committee_id=committee_id)
    last = rows[-1] if len(rows) == limit else None
    following = {"after_score": last["score"], "after_cell": last["cell_id"]} if last is not None else None
    return {"items": items, "next": following, **tree}


async def _note_late_changes(
    conn: asyncpg.Connection, items: list[dict[str, Any]], period: str, *, committee_id: str | None = None
) -> None:
    """Set each report line's `late_change` (late_changes: its month's change after it closed, or None) in place;
    with `committee_id`, a line with none gets the committee's note of the cell moved in (move_late_changes)."""
    noted = await late_changes(conn, [item["cell_id"] for item in items], [period])
    if committee_id is not None and items:
        moves = await move_late_changes(conn, committee_id, period, cell_ids=[item["cell_id"] for item in items])
        noted = {(move["cell_id"], period): move["late_change"] for move in moves} | noted
    for item in items:
        item["late_change"] = noted.get((item["cell_id"], period))
    await _note_rating_reasons(conn, items, period)


def _report_item(r: asyncpg.Record, period: str, *, unrated: bool) -> dict[str, Any]:
    """A REPORT_ROWS row as a line of the report (its score and rates unrounded: each is rounded once where shown)."""
    return {
        "cell_id": r["cell_id"],
        "period": period,
        "name": r["name"],
        "parent_id": r["parent_id"],
        "rating": r["rating"],
        "score": r["score"],
        "regular_held": r["regular_held"],
        "thematic_held": r["thematic_held"],
        "meetings_held": r["meetings_held"],
        "attendance_rate": _share(r["present"], r["counted"]),
        "speaking_rate": _share(r["speakers_present"], r["present"]),
        "flags": ["in_progress"] if r["missing"] and unrated else list(r["flags"] or []),
        "not_rated": bool(r["missing"] and unrated),
    }


WEAK_MET = (
    " AND coalesce(r.regular_held, 1) <> 0 AND NOT coalesce(r.flags, '{}') @> ARRAY['no_regular_meeting']::text[]"
)
"""The weak report rows of a month that held its regular meeting (a month without it still waiting for it reads
as not met yet, not Poor: services/gateway/rollups.py `month_shown`)."""

STORED_IN_SUBTREE = (
    "EXISTS (SELECT 1 FROM subtree_cell s WHERE s.ancestor_id = $1 AND s.cell_id = p.cell_id"
    " AND cell_in_period(s.first_month, s.last_month, $2))"
)
"""A stored period of a cell in the subtree that existed in the period (as REPORT_ROWS reads the cells)."""
STORED_MET = " AND p.regular_held <> 0 AND NOT p.flags @> ARRAY['no_regular_meeting']::text[]"
"""WEAK_MET on a stored period."""
MISSING_IN_SUBTREE = """
SELECT s.cell_id FROM subtree_cell s
WHERE s.ancestor_id = $1 AND cell_in_period(s.first_month, s.last_month, $2)
  AND NOT EXISTS (SELECT 1 FROM cell_period p WHERE p.cell_id = s.cell_id AND p.period = $2)
ORDER BY s.cell_id COLLATE "C" LIMIT $3
"""
"""The first $3 cells of the subtree (in code point order) that existed in the period without a stored one: Poor at
0 (outside a running quarter or year, whose such cells are not rated)."""

WEAKEST_RAW = """
SELECT * FROM ({rows} AND s.cell_id = ANY($4::text[])) r
WHERE r.rating IN ('poor', 'average'){met}
ORDER BY array_position(ARRAY['poor', 'average'], r.rating), r.score, r.cell_id COLLATE "C"
LIMIT $3
"""
"""The first $3 weak REPORT_ROWS by rating (Poor first), raw score, then cell id in code point order, among the
cells $4 (read before: the first $3 of each weak rating off its index, WEAK_STREAM, and those without a stored period):
the names and figures read for those only (the ids given as an array: read inside this statement, the planner ran the
streams once per row of a real province's tree, seconds instead of milliseconds)."""
WEAK_STREAM = (
    "(SELECT p.cell_id FROM cell_period p WHERE p.period = $2 AND p.rating = '{rating}'{met} AND {subtree}"
    ' ORDER BY p.score, p.cell_id COLLATE "C" LIMIT $3)'
)

WEAKEST_TIED = """
SELECT * FROM (
    SELECT r.*, row_number() OVER (PARTITION BY abs(r.score - $5) < 0.004 ORDER BY r.cell_id COLLATE "C") AS nth
    FROM ({rows} AND s.cell_id = ANY($6::text[])) r
    WHERE r.rating = $4 AND r.score BETWEEN $5 - 0.006 AND $5 + 0.006{met}
) t
WHERE t.nth <= $3 OR abs(t.score - $5) >= 0.004
"""
"""The REPORT_ROWS rated $4 whose score may round to the cent $5: the first $3 by id of those that surely do (within
0.004 of it), and every one near the half cent either side (0.004 to 0.006 away), for Python's round to settle (a
float's error is far below those margins); among the cells $6 (read before: TIED_STREAM, and those without a stored
period when they may tie)."""
TIED_STREAM = (
    "SELECT p.cell_id FROM cell_period p WHERE $3::int IS NOT NULL AND p.period = $2 AND p.rating = $4::text"
    " AND p.score BETWEEN $5::float8 - 0.006 AND $5::float8 + 0.006 AND {subtree}"
)


def weak_key(item: dict[str, Any]) -> tuple[int, float, str]:
    """The order of the weakest cells as a report lists them: Poor before Average, then the score rounded to the cent
    (the line gives it unrounded; two cells at 45.001 and 44.999 both read 45 and tie), then the cell id in code
    point order (Python's)."""
    return (0 if item["rating"] == "poor" else 1, round(float(item["score"] or 0.0), 2), str(item["cell_id"]))


async def weakest_cells(
    conn: asyncpg.Connection,
    committee_id: str,
    period: str,
    *,
    limit: int,
    met_only: bool = False,
    today: date | None = None,
    pending: int | None = None,
) -> dict[str, Any]:
    """The subtree's `limit` weakest cells of the period as report lines (committee_report's items), in weak_key's
    order, read without reading every cell: the first `limit` by raw score off each weak rating's index (and the
    first cells without a stored period, Poor at 0), then every cell whose score rounds to the same cent as the last
    of them (whose order by id the raw score does not give), settled in Python by the line's score rounded to the cent.
    `met_only`: the cells that held the month's regular meeting only (WEAK_MET). None in a half-year: it has no
    rating (DOMAIN.md rates months, quarters and years), so no cell is weak in it. `pending`: tree_pending."""
    tree = await tree_refresh_state(conn, pending=pending)
    if is_half_year(period):
        return {"items": [], **tree}
    unrated = not_rated_yet(period, today=today or today_in_vietnam())
    placeholders = _placeholders(unrated) | {"missing_held": "NULL" if unrated else "0"}
    rows_sql = REPORT_ROWS.format(**placeholders).rstrip()  # ends with its WHERE: each query adds `chosen` to it
    met = WEAK_MET if met_only else ""
    # a cell without a stored period is Poor at 0 without the regular meeting: weak unless not rated yet or not met
    sums = await subtree_sums(conn, committee_id, [period], months_upto="", pending=tree["pending_tree_changes"])
    any_missing = sums.cells_in(period) > sums.stored(period) and not unrated and not met_only
    missing = [f"({MISSING_IN_SUBTREE})"] if any_missing else []
    streams = [
        WEAK_STREAM.format(rating=rating, met=STORED_MET if met_only else "", subtree=STORED_IN_SUBTREE)
        for rating in WEAK_RATINGS
    ]
    chosen = [row[0] for row in await conn.fetch(" UNION ALL ".join(streams + missing), committee_id, period, limit)]
    raw = WEAKEST_RAW.format(rows=rows_sql, met=met)
    rows = await _fetch_planned_for(conn, raw, committee_id, period, limit, chosen)
    if len(rows) == limit:
        last = rows[-1]
        cent = round(float(last["score"]), 2)
        near = " UNION ALL ".join([TIED_STREAM.format(subtree=STORED_IN_SUBTREE)] + (missing if cent == 0 else []))
        args = (committee_id, period, limit, last["rating"], cent)
        chosen = [row[0] for row in await conn.fetch(near, *args)]
        tied = await _fetch_planned_for(conn, WEAKEST_TIED.format(rows=rows_sql, met=met), *args, chosen)
        rows = [*rows, *tied]
    found = {r["cell_id"]: _report_item(r, period, unrated=unrated) for r in rows}
    items = sorted(found.values(), key=weak_key)[:limit]
    await _note_late_changes(conn, items, period, committee_id=committee_id)
    return {"items": items, **tree}


HALF_YEAR_ROW_COLUMNS = """s.cell_id, u.name, u.parent_id, s.first_month, s.last_month, p.period, p.rating, p.score,
       p.regular_held, p.thematic_held, p.meetings_held, p.present, p.counted, p.speakers_present, p.months_counted,
       p.months_with_regular, p.flags"""
"""What _half_year_lines_of reads of a cell (`s` its subtree_cell row, `u` its unit) and one stored quarter (`p`)."""

HALF_YEAR_ROWS = f"""
SELECT {HALF_YEAR_ROW_COLUMNS}
FROM subtree_cell s
JOIN unit u ON u.id = s.cell_id
LEFT JOIN cell_period p ON p.cell_id = s.cell_id AND p.period = ANY($3::text[])
WHERE s.ancestor_id = $1 AND cell_in_period(s.first_month, s.last_month, $2)
"""
"""Each cell of the subtree that existed in the half-year $2 with its stored rows of the quarters $3 (one row per
stored quarter, one with NULLs for a cell without any)."""


def _quarter_of_row(
    row: asyncpg.Record | None, quarter: str, *, span: tuple[str | None, str | None], today: date
) -> QuarterFigures | None:
    """A cell's quarter as a half-year counts it (QuarterFigures): its stored row; without one, nothing when the
    quarter has not begun, runs on `today` (not rated yet: not_rated_yet) or lies outside the cell's `span` (first and
    last month, None: open), else Poor at 0 over the quarter's months the cell existed in, as the quarter's roll-up
    reads a cell without a stored period."""
    first, last = span
    months = [month for month in period_months(quarter) if (first or month) <= month <= (last or month)]
    if not months:
        return None  # as the quarter's reads, a cell counts only in the periods of its span (cell_in_period)
    if row is not None:
        return QuarterFigures(
            period=quarter,
            rating=row["rating"],
            score=float(row["score"]),
            months_counted=int(row["months_counted"]),
            months_with_regular=int(row["months_with_regular"]),
            regular_held=int(row["regular_held"] or 0),
            thematic_held=int(row["thematic_held"] or 0),
            meetings_held=int(row["meetings_held"] or 0),
            present=int(row["present"] or 0),
            counted=int(row["counted"] or 0),
            speakers_present=int(row["speakers_present"] or 0),
            flags=tuple(row["flags"] or ()),
        )
    if months[0] > f"{today:%Y-%m}" or not_rated_yet(quarter, today=today):
        return None
    return QuarterFigures(period=quarter, rating="poor", score=0.0, months_counted=len(months), months_with_regular=0)


def months_gone(period: str, *, span: tuple[str | None, str | None], today: date) -> int:
    """How many months of `period` before the month of `today` the cell existed in (its `span`, first and last month,
    None: open): a cell set up partway through counts from the month it was set up, that month whole
    (docs/architecture.md "When a cell exists"; DOMAIN.md "Periods": a period's score is the mean of its months')."""
    first, last = span
    current = f"{today:%Y-%m}"
    return sum(1 for month in period_months(period) if month < current and (first or month) <= month <= (last or month))


async def half_year_lines(
    conn: asyncpg.Connection, unit_id: str, period: str, *, today: date | None = None, pending: int | None = None
) -> list[dict[str, Any]]:
    """Every cell of the unit's subtree that existed in the half-year `period` (`2026-H1`), each as
    domain.periods.half_year_line reads it off its two quarters' stored rows (a missing closed quarter Poor at 0 over
    its months, as the quarter's roll-up reads it), with its name and parent; in cell id order. The whole subtree is
    read, line by line: the definition half_year_page's statement is checked against
    (tests/evaluation/test_half_year_lists.py). `pending`: tree_pending."""
    today = today or today_in_vietnam()
    quarters = half_quarters(period)
    await tree_pending(conn, pending)
    rows = await conn.fetch(HALF_YEAR_ROWS, unit_id, period, quarters)
    lines = _half_year_lines_of(rows, period, today=today)
    await note_quarter_reasons(conn, lines, period)
    return lines


def _half_year_lines_of(rows: Sequence[asyncpg.Record], period: str, *, today: date) -> list[dict[str, Any]]:
    """HALF_YEAR_ROWS as each cell's half_year_line (_quarter_of_row of its two quarters),
    with its name and parent, in cell id order (Python's)."""
    quarters = half_quarters(period)
    cells: dict[str, dict[str, Any]] = {}
    for row in rows:
        cell = cells.setdefault(row["cell_id"], {"row": row, "quarters": {}})
        if row["period"] is not None:
            cell["quarters"][row["period"]] = row
    lines = []
    for cell_id in sorted(cells):
        first = cells[cell_id]["row"]
        span = (first["first_month"], first["last_month"])
        stored = cells[cell_id]["quarters"]
        counted = [
            found
            for quarter in quarters
            if (found := _quarter_of_row(stored.get(quarter), quarter, span=span, today=today)) is not None
        ]
        line = half_year_line(cell_id, period, counted)
        line["months_gone"] = months_gone(period, span=span, today=today)
        line["quarter_ratings"] = {quarter: line["quarter_ratings"].get(quarter) for quarter in quarters}
        line["quarter_provisional"] = {quarter: line["quarter_provisional"].get(quarter, False) for quarter in quarters}
        lines.append(line | {"name": first["name"], "parent_id": first["parent_id"]})
    return lines


CELL_HALF_YEAR_KEYS = (
    "cell_id",
    "period",
    "rating",
    "regular_held",
    "thematic_held",
    "meetings_held",
    "attendance_rate",
    "speaking_rate",
    "flags",
    "not_rated",
    "months_counted",
    "months_gone",
    "quarter_ratings",
    "quarter_provisional",
    "quarter_reasons",
)
"""What a cell's half-year line gives as a rating row (rpc.CellPeriodReply)."""


async def cell_half_year(
    conn: asyncpg.Connection, cell_id: str, period: str, *, today: date, pending: int | None = None
) -> dict[str, Any] | None:
    """A cell's half-year `period` as a rating row (rpc.CellPeriodReply): its half_year_lines line (the same figures a
    committee's half-year counts it with), its score and rates unrounded, its quarters begun so far in
    `quarter_ratings` (and whether each is provisional in `quarter_provisional`); None when the half-year has not
    begun on `today` or the cell did not exist in it. `pending`: tree_pending."""
    if period_months(period)[0] > f"{today:%Y-%m}":
        return None
    tree = await tree_refresh_state(conn, pending=pending)
    read = await half_year_lines(conn, cell_id, period, today=today, pending=tree["pending_tree_changes"])
    lines = [line for line in read if line["cell_id"] == cell_id]
    if not lines:
        return None
    line = lines[0]
    begun = {quarter for quarter in half_quarters(period) if period_months(quarter)[0] <= f"{today:%Y-%m}"}
    return {key: line[key] for key in CELL_HALF_YEAR_KEYS} | {
        "score": None if line["score"] is None else float(line["score"]),
        "quarter_ratings": {quarter: rating for quarter, rating in line["quarter_ratings"].items() if quarter in begun},
        "quarter_provisional": {
            quarter: provisional for quarter, provisional in line["quarter_provisional"].items() if quarter in begun
        },
        "quarter_reasons": {quarter: reason for quarter, reason in line["quarter_reasons"].items() if quarter in begun},
        "attendance_rate": line["attendance_rate"],
        "speaking_rate": line["speaking_rate"],
        # moved to another committee after a month of it closed: said as its quarters and year say it (no figures: a
        # half-year has no rating of its own, as its committees' notes of it)
        "late_change": (await cell_move_late_changes(conn, [cell_id], [period])).get((cell_id, period)),
        **tree,
    }


def _half_year_quarter(i: int) -> str:
    """The columns of a cell's quarter `i` (1 or 2) as _quarter_of_row counts it, for HALF_YEAR_TOTALS: `span{i}` its
    months in the cell's span ($4, three a quarter), `mc{i}` its months counted (0: not counted: outside the span,
    or without a stored row while not begun on the month $6 or running and not rated yet, $5 false)."""
    months = [f"($4::text[])[{3 * (i - 1) + k}]" for k in (1, 2, 3)]
    in_span = [
        f"((s.first_month IS NULL OR s.first_month <= {m}) AND (s.last_month IS NULL OR {m} <= s.last_month))"
        for m in months
    ]
    span = " + ".join(f"{cond}::int" for cond in in_span)
    begun = " OR ".join(f"({cond} AND {m} <= $6)" for cond, m in zip(in_span, months, strict=True))
    return (
        f"CASE WHEN ({span}) = 0 THEN 0 WHEN p{i}.cell_id IS NOT NULL THEN p{i}.months_counted"
        f" WHEN ($5::bool[])[{i}] AND ({begun}) THEN {span} ELSE 0 END AS mc{i},"
        f" p{i}.cell_id IS NOT NULL AND ({span}) > 0 AS stored{i}, p{i}.score AS score{i},"
        f" p{i}.months_with_regular AS mwr{i}, p{i}.thematic_held AS thematic{i}, p{i}.present AS present{i},"
        f" p{i}.counted AS counted{i}, p{i}.speakers_present AS speakers{i}, p{i}.regular_held AS regular{i},"
        f" coalesce(p{i}.meetings_held, 0) AS meetings{i}, p{i}.rating AS rating{i}, p{i}.flags AS flags{i}"
    )


def _flagged() -> str:
    """HALF_YEAR_CELLS' columns saying whether a counted quarter of the cell carries each of HALF_YEAR_FLAGS (a column
    of that name each): two booleans a row, not the quarters' flag arrays, through a page's sort of every cell."""
    return ", ".join(
        f"(q.stored1 AND '{flag}' = ANY(q.flags1)) OR (q.stored2 AND '{flag}' = ANY(q.flags2)) AS {flag}"
        for flag in HALF_YEAR_FLAGS
    )


def _months_gone() -> str:
    """The cell's months of the half-year ($4, six) before the month $6 in its span, as months_gone counts them: one
    expression (a subquery over unnest($4) for each cell took a tenth of a province's HALF_YEAR_PAGE)."""
    months = [f"($4::text[])[{k}]" for k in range(1, 7)]
    return " + ".join(
        f"({m} < $6 AND (s.first_month IS NULL OR s.first_month <= {m})"
        f" AND (s.last_month IS NULL OR {m} <= s.last_month))::int"
        for m in months
    )


def _stored(name: str) -> str:
    """A quarter figure summed over a cell's two quarters, each counted only when its stored row is (a quarter
    counted without one adds 0, as QuarterFigures' defaults do)."""
    return f"(CASE WHEN q.stored1 THEN q.{name}1 ELSE 0 END + CASE WHEN q.stored2 THEN q.{name}2 ELSE 0 END)"


HALF_YEAR_CELLS = f"""
WITH q AS (
    SELECT s.cell_id, u.name, u.parent_id, {_half_year_quarter(1)}, {_half_year_quarter(2)},
           ({_months_gone()}) AS gone
    FROM subtree_cell s
    JOIN unit u ON u.id = s.cell_id
    LEFT JOIN cell_period p1 ON p1.cell_id = s.cell_id AND p1.period = ($3::text[])[1]
    LEFT JOIN cell_period p2 ON p2.cell_id = s.cell_id AND p2.period = ($3::text[])[2]
    WHERE s.ancestor_id = $1 AND cell_in_period(s.first_month, s.last_month, $2)
), c AS NOT MATERIALIZED (
    SELECT q.cell_id, q.mc1 + q.mc2 AS months, q.gone,
           (CASE WHEN q.stored1 THEN q.score1 * q.mc1 ELSE 0 END
            + CASE WHEN q.stored2 THEN q.score2 * q.mc2 ELSE 0 END) / nullif(q.mc1 + q.mc2, 0) AS score,
           {_stored("mwr")} AS mwr, {_stored("thematic")} AS thematic, {_stored("present")} AS present,
           {_stored("counted")} AS counted, {_stored("speakers")} AS speakers,
           {_stored("regular")} AS regular, {_stored("meetings")} AS meetings, q.name, q.parent_id,
           CASE WHEN q.stored1 THEN q.rating1 WHEN q.mc1 > 0 THEN 'poor' END AS rating1,
           CASE WHEN q.stored2 THEN q.rating2 WHEN q.mc2 > 0 THEN 'poor' END AS rating2,
           coalesce(q.stored1 AND 'provisional' = ANY(q.flags1), false) AS provisional1,
           coalesce(q.stored2 AND 'provisional' = ANY(q.flags2), false) AS provisional2,
           {_flagged()}
    FROM q
)
"""
"""Each cell of a subtree that existed in a half-year (`c`: its months counted, score, months with the regular meeting,
cells' thematic meetings and pooled counts, and for a page's line its name, parent, regular meetings and meetings,
each quarter's rating, None when not counted, whether each counted quarter is provisional, and whether its counted
quarters carry each of HALF_YEAR_FLAGS) read off its two quarters' stored rows as half_year_lines reads it
(_quarter_of_row, half_year_line: a quarter's score weighted by its months counted, a closed quarter without a row
Poor at 0 over its months in the cell's span): $1 the unit, $2 the half-year, $3 its quarters, $4 their six months,
$5 per quarter whether a cell without its row counts (not running), $6 the month of `today` (`gone`: the cell's
months of the half-year before it, months_gone). The score is the line's float to the bit: each quarter's stored
score (float8) times its months, summed and divided in float8 as half_year_line does in Python; none (NULL) when no
month is counted."""

HALF_YEAR_TOTALS = (
    HALF_YEAR_CELLS
    + """
SELECT count(*) AS cells,
       count(*) FILTER (WHERE c.months > 0 AND c.mwr >= c.months) AS met_every_month,
       count(*) FILTER (WHERE c.months > 0 AND c.thematic > 0) AS thematic,
       coalesce(sum(c.present) FILTER (WHERE c.months > 0), 0) AS present,
       coalesce(sum(c.counted) FILTER (WHERE c.months > 0), 0) AS counted,
       coalesce(sum(c.speakers) FILTER (WHERE c.months > 0), 0) AS speakers_present,
       min(c.months) FILTER (WHERE c.months > 0) AS fewest_months_counted,
       max(c.months) FILTER (WHERE c.months > 0) AS most_months_counted,
       min(c.gone) FILTER (WHERE c.months > 0 AND c.gone > 0) AS fewest_months_gone,
       max(c.gone) FILTER (WHERE c.months > 0 AND c.gone > 0) AS most_months_gone,
       coalesce(array_agg(c.score::float8 ORDER BY c.cell_id COLLATE "C") FILTER (WHERE c.months > 0), '{}') AS scores
FROM (SELECT * FROM c OFFSET 0) c
"""
)
"""A subtree's half-year totals (domain.periods.HalfYearTotals) in one statement off HALF_YEAR_CELLS. The scores
come back in cell id order (Python's, so "C"), summed in Python as half_year_figures sums them: a half-year of a
province, 35,000 cells, without building a line for each (its roll-up 2.4-2.7 s before, 0.26-0.27 s now: rollup
preset). `c` is read through a fence (OFFSET 0) so that each cell's months, score and sums are worked out once: inlined,
every aggregate and FILTER repeated the expression of `c.months` and its quarters' CASEs (a province's totals 1.37 s,
0.78 s fenced, under the same load)."""

HALF_YEAR_PAGE = (
    HALF_YEAR_CELLS
    + """, ranked AS MATERIALIZED (
    SELECT c.cell_id, c.score FROM c
), page AS (
    SELECT r.cell_id FROM ranked r
    WHERE $8::text IS NULL
       OR ($7::float8 IS NOT NULL
           AND (r.score < $7 OR (r.score = $7 AND r.cell_id COLLATE "C" > $8) OR r.score IS NULL))
       OR ($7::float8 IS NULL AND r.score IS NULL AND r.cell_id COLLATE "C" > $8)
    ORDER BY r.score {order} NULLS LAST, r.cell_id COLLATE "C"
    LIMIT $9 OFFSET $10
)
SELECT t.total, line.*
FROM (SELECT count(*) AS total FROM ranked) t
LEFT JOIN (SELECT c.* FROM c WHERE c.cell_id IN (SELECT page.cell_id FROM page)) line ON true
ORDER BY line.score {order} NULLS LAST, line.cell_id COLLATE "C"
"""
)
"""A page of a subtree's half-year lines in the ranking's order (by score, `{order}` DESC or ASC, ties and the cells
not rated, last, by id in Python's order), off HALF_YEAR_CELLS: $9 cells from $10 on, after the cursor $7 $8 (the
raw score, NULL for a cell not rated, and the cell of the last row read; $8 NULL: from the first; DESC only, as a
report pages), in that order, each its row of `c` (the figures of its line, _half_year_page_line), every row with how
many cells the subtree has in the half-year (`total`; one row of NULLs besides it when the page is empty). Every cell
is ranked off its score alone (`ranked`, two columns kept); only the page's cells have their line's figures read
(`c` inlined again, for them): a `c` of every column kept for a province's 35,000 cells spilled to disk and cost
a 50-cell ranking page most of its time. A 5,000-cell report page read its cells' stored quarters again, a row
each, and built each line in Python off them (_half_year_lines_of, QuarterFigures, half_year_line)."""


def _half_year_page_line(row: asyncpg.Record, period: str, quarters: Sequence[str]) -> dict[str, Any]:
    """A HALF_YEAR_PAGE row as the cell's line: the same dict, key for key and float for float, as
    _half_year_lines_of builds off its quarters' rows (half_year_line, months_gone, name and parent)."""
    months = int(row["months"])
    present, counted, speakers = int(row["present"]), int(row["counted"]), int(row["speakers"])
    met_every_month = months > 0 and int(row["mwr"]) >= months
    flags = [flag for flag in HALF_YEAR_FLAGS if row[flag]]
    if months and not met_every_month:
        flags.insert(0, "months_without_regular_meeting")
    return {
        "cell_id": row["cell_id"],
        "period": period,
        "rating": None,
        "score": row["score"],
        "regular_held": int(row["regular"]),
        "thematic_held": int(row["thematic"]),
        "meetings_held": int(row["meetings"]),
        "present": present,
        "counted": counted,
        "speakers_present": speakers,
        "attendance_rate": present / counted if counted else None,
        "speaking_rate": speakers / present if present else None,
        "flags": flags,
        "not_rated": months == 0,
        "met_every_month": met_every_month,
        "months_counted": months,
        "quarter_ratings": {quarters[0]: row["rating1"], quarters[1]: row["rating2"]},
        "quarter_provisional": {quarters[0]: bool(row["provisional1"]), quarters[1]: bool(row["provisional2"])},
        "months_gone": int(row["gone"]),
        "name": row["name"],
        "parent_id": row["parent_id"],
    }


def _half_year_cells_args(unit_id: str, period: str, *, today: date) -> tuple[object, ...]:
    """HALF_YEAR_CELLS' arguments $1 to $6 for a unit's half-year read on `today`."""
    quarters = half_quarters(period)
    return (
        unit_id,
        period,
        quarters,
        [month for quarter in quarters for month in period_months(quarter)],
        [not not_rated_yet(quarter, today=today) for quarter in quarters],
        f"{today:%Y-%m}",
    )


async def _half_year_rows(
    conn: asyncpg.Connection,
    sql: str,
    unit_id: str,
    period: str,
    *extra: object,
    today: date,
    pending: int | None,
) -> list[asyncpg.Record]:
    """The rows of a statement over HALF_YEAR_CELLS (`sql`, its arguments _half_year_cells_args then `extra`), read
    once the tree is current (tree_pending) with no JIT and each run planned anew: JIT-compiling the statement's
    expressions took 178 ms of its 300 for a province (rollup preset), and a generic plan, made once JIT was on,
    kept it."""
    await tree_pending(conn, pending)
    async with conn.transaction():
        await conn.execute("SET LOCAL jit = off; SET LOCAL plan_cache_mode = force_custom_plan")
        return await conn.fetch(sql, *_half_year_cells_args(unit_id, period, today=today), *extra)


async def half_year_page(
    conn: asyncpg.Connection,
    unit_id: str,
    period: str,
    *,
    today: date,
    descending: bool,
    limit: int,
    offset: int = 0,
    after: tuple[float | None, str | None] = (None, None),
    pending: int | None = None,
) -> tuple[int, list[tuple[dict[str, Any], float | None]]]:
    """A page of the subtree's half-year lines in the ranking's order, chosen in one statement (HALF_YEAR_PAGE):
    how many cells the subtree has in the half-year, and the page's lines (half_year_line, as half_year_lines gives
    them) each with its raw score as the statement ordered it; `limit` lines from `offset`, after the cursor `after`
    (the raw score and cell of the last line read; a cell None: from the first; descending only). Only the page's
    cells are read into Python (a province's 35,000 were, for each page), one row each with its line's figures
    (_half_year_page_line), not a row per stored quarter for half_year_line. `pending`: tree_pending."""
    if after[1] is not None and not descending:
        raise ValueError("a half-year page read after a cursor is in descending order only")
    rows = await _half_year_rows(
        conn,
        HALF_YEAR_PAGE.format(order="DESC" if descending else "ASC"),
        unit_id,
        period,
        *after,
        limit,
        offset,
        today=today,
        pending=pending,
    )
    quarters = half_quarters(period)
    page = [(_half_year_page_line(row, period, quarters), row["score"]) for row in rows if row["cell_id"] is not None]
    await note_quarter_reasons(conn, [line for line, _ in page], period)
    return int(rows[0]["total"]), page


HALF_YEAR_WEAKEST = 10
"""How many cells a committee's half-year roll-up lists as its weakest (`weakest`)."""

HALF_YEAR_WEAK = (
    HALF_YEAR_CELLS
    + """, weak AS MATERIALIZED (
    SELECT c.cell_id, c.score,
           (c.rating1 IS NOT DISTINCT FROM 'poor')::int + (c.rating2 IS NOT DISTINCT FROM 'poor')::int AS poor,
           (c.rating1 IS NOT DISTINCT FROM 'average')::int + (c.rating2 IS NOT DISTINCT FROM 'average')::int AS average
    FROM c
    WHERE c.rating1 IN ('poor', 'average') OR c.rating2 IN ('poor', 'average')
), page AS (
    SELECT w.cell_id FROM weak w
    ORDER BY w.poor DESC, w.average DESC, w.score ASC NULLS LAST, w.cell_id COLLATE "C"
    LIMIT $7 OFFSET $8
)
SELECT t.total, line.*
FROM (SELECT count(*) AS total FROM weak) t
LEFT JOIN (
    (SELECT c.* FROM c WHERE c.cell_id IN (SELECT page.cell_id FROM page)) line
    JOIN weak w ON w.cell_id = line.cell_id
) ON true
ORDER BY w.poor DESC, w.average DESC, w.score ASC NULLS LAST, w.cell_id COLLATE "C"
"""
)
"""A subtree's weakest cells of a half-year off HALF_YEAR_CELLS, in one statement over all its cells: those rated
Average or Poor in one of its quarters (a half-year has no rating of its own: DOMAIN.md rates months, quarters and
years), most quarters Poor first, then most Average, then the lowest score (none last), then id in Python's order;
$7 of them from $8 on, each its row of `c` (the figures of its line, _half_year_page_line), every row with how many
weak cells the subtree has (`total`; one row of NULLs besides it when the page is empty), as HALF_YEAR_PAGE reads a
page."""


async def half_year_weakest(
    conn: asyncpg.Connection,
    unit_id: str,
    period: str,
    *,
    today: date,
    limit: int = HALF_YEAR_WEAKEST,
    pending: int | None = None,
) -> list[dict[str, Any]]:
    """The subtree's `limit` weakest cells of the half-year `period` (half_year_weak_page's first page) as ranking
    lines (_rank_item), worst first. `pending`: tree_pending."""
    return (await half_year_weak_page(conn, unit_id, period, today=today, limit=limit, pending=pending))[1]


async def half_year_weak_page(
    conn: asyncpg.Connection,
    unit_id: str,
    period: str,
    *,
    today: date,
    limit: int,
    offset: int = 0,
    pending: int | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """How many weak cells the subtree has in the half-year `period` (rated Average or Poor in one of its quarters:
    HALF_YEAR_WEAK) and `limit` of them from `offset`, worst first, as ranking lines (_rank_item): the roll-up's
    `weakest` and the weakest cells' pages (committee_ranking `weak_only`) alike. `pending`: tree_pending."""
    rows = await _half_year_rows(conn, HALF_YEAR_WEAK, unit_id, period, limit, offset, today=today, pending=pending)
    quarters = half_quarters(period)
    lines = [_half_year_page_line(row, period, quarters) for row in rows if row["cell_id"] is not None]
    await note_quarter_reasons(conn, lines, period)
    return int(rows[0]["total"]), [_rank_item(line) for line in lines]


async def half_year_totals(
    conn: asyncpg.Connection, unit_id: str, period: str, *, today: date, pending: int | None = None
) -> HalfYearTotals:
    """A unit's half-year totals (HALF_YEAR_TOTALS), what domain.periods.half_year_figures_of makes its figures of:
    the same as half_year_figures of its half_year_lines, without reading every cell's quarters into Python.
    `pending`: tree_pending."""
    [row] = await _half_year_rows(conn, HALF_YEAR_TOTALS, unit_id, period, today=today, pending=pending)
    return HalfYearTotals(
        cells=int(row["cells"]),
        met_every_month=int(row["met_every_month"]),
        thematic=int(row["thematic"]),
        present=int(row["present"]),
        counted=int(row["counted"]),
        speakers_present=int(row["speakers_present"]),
        fewest_months_counted=row["fewest_months_counted"],
        most_months_counted=row["most_months_counted"],
        scores=tuple(row["scores"]),
        fewest_months_gone=row["fewest_months_gone"],
        most_months_gone=row["most_months_gone"],
    )


async def half_year_rollup(
    conn: asyncpg.Connection, unit_id: str, period: str, *, today: date, pending: int | None = None
) -> dict[str, Any]:
    """A unit's roll-up figures for a half-year (domain.periods.half_year_figures_of its half_year_totals), the trend
    against the half-year before, and `quarters`: each quarter's cells by rating (a half-year has none of its own:
    DOMAIN.md rates months, quarters and years; `by_rating` None), read off the quarters' sums as their own roll-ups
    are; `has_data` whether a cell of the subtree has a month stored by the half-year's end (in the current tree while
    changes wait: has_data_now). The tree's changes are
    counted once for all three reads (tree_pending: `pending` when the read already counted them)."""
    quarters = half_quarters(period)
    before = previous_period(period)
    last = period_months(period)[-1]
    pending = await tree_pending(conn, pending)
    sums = await subtree_sums(conn, unit_id, quarters, months_upto=last, pending=pending)
    figures = half_year_figures_of(await half_year_totals(conn, unit_id, period, today=today, pending=pending))
    previous = (
        half_year_figures_of(await half_year_totals(conn, unit_id, before, today=today, pending=pending))["score"]
        if sums.has_data(period_months(before)[-1])
        else None
    )
    delta = None if figures["score"] is None or previous is None else figures["score"] - previous
    begun = [quarter for quarter in quarters if period_months(quarter)[0] <= f"{today:%Y-%m}"]
    return {
        "committee_id": unit_id,
        "period": period,
        **figures,
        "by_rating": None,
        "quarters": [
            {"period": quarter, **_quarter_ratings(sums.figures(quarter, unrated=not_rated_yet(quarter, today=today)))}
            for quarter in begun
        ],
        "trend": {"previous_period": before, "previous_score": previous, "score_delta": delta},
        "first_month": sums.first_month(),
        "has_data": sums.has_data(last) or await has_data_now(conn, unit_id, last, pending=pending),
    }


def _quarter_ratings(figures: dict[str, Any]) -> dict[str, Any]:
    """A quarter's cells by rating and those not rated yet, off its SubtreeSums.figures."""
    return {"by_rating": figures["by_rating"], "not_rated": figures["not_rated"]}


def _rank_item(line: dict[str, Any]) -> dict[str, Any]:
    """A half-year line as a ranking's line (its score unrounded, its quarters' ratings, which of them
    are provisional and their reasons: note_quarter_reasons)."""
    keys = (
        "cell_id",
        "name",
        "regular_held",
        "meetings_held",
        "thematic_held",
        "quarter_ratings",
        "quarter_provisional",
        "quarter_reasons",
    )
    return {key: line[key] for key in keys} | {
        "score": line["score"],
        "rating": None,
        "attendance_rate": line["attendance_rate"],
        "speaking_rate": line["speaking_rate"],
    }


async def _half_year_report(
    conn: asyncpg.Connection,
    committee_id: str,
    period: str,
    *,
    after: tuple[float | None, str | None],
    limit: int,
    today: date,
    pending: int | None = None,
) -> dict[str, Any]:
    """A page of committee_report for a half-year: the half-year lines ranked (half_year_page, the ranking's
    order), after the cursor `after` (the raw score and cell of the last line read; a cell None: the first page);
    `next` only when a line follows the page."""
    _, found = await half_year_page(
        conn, committee_id, period, today=today, descending=True, limit=limit + 1, after=after, pending=pending
    )
    page = [line for line, _ in found[:limit]]
    # the cells moved in after a month of the half-year closed (move_late_changes), as the other periods' lines say it
    moves = await move_late_changes(conn, committee_id, period, cell_ids=[line["cell_id"] for line in page])
    moved = {move["cell_id"]: move["late_change"] for move in moves}
    items = [
        {
            key: line[key]
            for key in ("cell_id", "period", "name", "parent_id", "rating", "regular_held", "thematic_held")
        }
        | {
            "meetings_held": line["meetings_held"],
            "score": line["score"],
            "attendance_rate": line["attendance_rate"],
            "speaking_rate": line["speaking_rate"],
            "flags": line["flags"],
            "not_rated": line["not_rated"],
            "quarter_ratings": line["quarter_ratings"],
            "quarter_provisional": line["quarter_provisional"],
            "quarter_reasons": line["quarter_reasons"],
            "late_change": moved.get(line["cell_id"]),
            "rating_reason": None,
        }
        for line in page
    ]
    following = None
    if len(found) > limit:
        last, score = found[limit - 1]
        following = {"after_score": score, "after_cell": last["cell_id"]}
    return {"items": items, "next": following}


async def list_frameworks(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every stored framework version with where and from when it is in force."""
    rows = await conn.fetch(
        "SELECT f.framework_id, f.version, f.document->>'name' AS name, f.document->>'document_number' AS number,"
        " f.document->>'effective_from' AS effective_from,"
        " coalesce(jsonb_agg(jsonb_build_object('committee_id', a.committee_id,"
        "  'effective_from', a.effective_from) ORDER BY a.sequence) FILTER (WHERE a.sequence IS NOT NULL),"
        "  '[]'::jsonb)::text AS adoptions"
        " FROM framework f LEFT JOIN framework_adoption a USING (framework_id, version)"
        " GROUP BY f.framework_id, f.version, f.document ORDER BY f.framework_id, f.version"
    )
    return [
        {
            "id": r["framework_id"],
            "version": r["version"],
            "name": r["name"],
            "document_number": r["number"],
            "effective_from": r["effective_from"],
            "adoptions": json.loads(r["adoptions"]),
        }
        for r in rows
    ]


async def get_framework(conn: asyncpg.Connection, framework_id: str, version: str | None) -> dict[str, Any] | None:
    """A framework document (the latest stored version unless one is named) and its versions."""
    rows = await conn.fetch(
        "SELECT version, document::text AS document FROM framework WHERE framework_id = $1 ORDER BY stored_at, version",
        framework_id,
    )
    if not rows:
        return None
    chosen = [r for r in rows if r["version"] == version] if version else [rows[-1]]
    if not chosen:
        return None
    return {**json.loads(chosen[0]["document"]), "versions": [r["version"] for r in rows]}


async def rescore_job(conn: asyncpg.Connection, job_id: str) -> dict[str, Any] | None:
    """A rescoring job's state and progress."""
    row = await conn.fetchrow(
        "SELECT job_id, status, unit_id, period_from, period_to, cells_total, cells_done, meetings_rescored,"
        " meetings_changed, periods_changed, changed, error, error_field, error_code, created_at, started_at,"
        " finished_at FROM rescore_job"
        " WHERE job_id = $1",
        job_id,
    )
    if row is None:
        return None
    found = dict(row)
    for moment in ("created_at", "started_at", "finished_at"):
        found[moment] = found[moment].isoformat() if found[moment] else None
    return found
