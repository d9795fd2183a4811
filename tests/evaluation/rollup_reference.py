"""The roll-up and ranking as computed before migration 0005: a recursive walk of the tree and a join per request
(over the cells that existed in the period: migration 0006's `cell_span`).

The straightforward reference the fast read side (services/evaluation/queries.py) must equal exactly.
"""

from typing import Any, Literal

import asyncpg

from shared.periods import period_months, previous_period

SUBTREE_CELLS = """
WITH RECURSIVE tree(id, kind) AS (
    SELECT id, kind FROM unit WHERE id = $1
    UNION
    -- an inactive committee leaves the walk with the cells below it; an inactive cell stays, counted in its span
    -- (migration 0007)
    SELECT u.id, u.kind FROM unit u JOIN tree t ON u.parent_id = t.id WHERE u.active OR u.kind = 'cell'
)
"""

PERIOD_OF_CELLS = (
    SUBTREE_CELLS
    + """
, scored AS (
    SELECT t.id AS cell_id,
           coalesce(p.rating, 'poor') AS rating,
           coalesce(p.score, 0) AS score,
           coalesce(p.regular_held, 0) AS regular_held,
           coalesce(p.meetings_held, 0) AS meetings_held,
           coalesce(p.thematic_held, 0) AS thematic_held,
           coalesce(p.months_with_regular = p.months_counted, false) AS regular,
           coalesce(p.thematic_held > 0, false) AS thematic,
           coalesce(p.present, 0) AS present,
           coalesce(p.counted, 0) AS counted,
           coalesce(p.speakers_present, 0) AS speakers_present
    FROM tree t LEFT JOIN cell_period p ON p.cell_id = t.id AND p.period = $2
    LEFT JOIN cell_span c ON c.cell_id = t.id
    WHERE t.kind = 'cell' AND cell_in_period(c.first_month, c.last_month, $2)
)
"""
)

ROLLUP = (
    PERIOD_OF_CELLS
    + """
SELECT count(*) AS cells,
       count(*) FILTER (WHERE rating = 'good') AS good,
       count(*) FILTER (WHERE rating = 'fair') AS fair,
       count(*) FILTER (WHERE rating = 'average') AS average,
       count(*) FILTER (WHERE rating = 'poor') AS poor,
       count(*) FILTER (WHERE regular) AS regular,
       count(*) FILTER (WHERE thematic) AS thematic,
       count(*) FILTER (WHERE thematic AND regular) AS thematic_met,
       sum(present) AS present, sum(counted) AS counted, sum(speakers_present) AS speakers_present,
       avg(score) AS score,
       sum(score) / nullif(count(*) FILTER (WHERE regular), 0) AS met_score  -- a cell without it scores 0
FROM scored
"""
)

WEAK_ORDER = "array_position(ARRAY['poor', 'average'], s.rating), s.score, s.cell_id"

WEAKEST = (
    PERIOD_OF_CELLS
    + "SELECT s.cell_id, u.name, s.score, s.rating, s.regular_held, s.meetings_held,"
    + " s.thematic_held, s.present, s.counted, s.speakers_present"
    + " FROM scored s JOIN unit u ON u.id = s.cell_id"
    + f" WHERE s.rating IN ('poor', 'average') ORDER BY {WEAK_ORDER} LIMIT $3"
)

HAS_DATA = (
    SUBTREE_CELLS
    + """
SELECT EXISTS (
    SELECT 1 FROM tree t JOIN cell_period p ON p.cell_id = t.id
    WHERE t.kind = 'cell' AND length(p.period) = 7 AND p.period <= $2
)
"""
)

FIRST_MONTH = (
    SUBTREE_CELLS
    + """
SELECT min(p.period) FROM tree t JOIN cell_period p ON p.cell_id = t.id
WHERE t.kind = 'cell' AND length(p.period) = 7 AND p.period <= $2
"""
)
"""The subtree's first month stored up to the second argument (None without any)."""


SHARES = ("attendance_rate", "speaking_rate", "regularity", "thematic_coverage", "met_thematic_coverage")
SCORES = ("score", "met_score", "previous_score", "score_delta", "old_score", "new_score")


def published(value: Any) -> Any:
    """A read (its lists and dicts) at the precision the gateway's API gives it (services/gateway/schemas/reads.py
    ApiPrecision): shares to 4 places, scores to the cent; evaluation answers them unrounded."""
    if isinstance(value, list):
        return [published(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: round(item, 4)
        if isinstance(item, float) and key in SHARES
        else round(item, 2)
        if isinstance(item, float) and key in SCORES
        else published(item)
        for key, item in value.items()
    }


def _share(part: int | None, whole: int | None) -> float | None:
    return round((part or 0) / whole, 4) if whole else None


async def has_data(conn: asyncpg.Connection, committee_id: str, month: str) -> bool:
    """Whether a cell of the subtree has a month stored up to `month`."""
    return bool(await conn.fetchval(HAS_DATA, committee_id, month))


async def raw_score(conn: asyncpg.Connection, committee_id: str, period: str) -> float | None:
    """The subtree's mean score for a period before rounding (the walk's float8 avg())."""
    row = await conn.fetchrow(ROLLUP, committee_id, period)
    return row["score"]


async def rollup_figures(conn: asyncpg.Connection, committee_id: str, period: str) -> dict[str, Any]:
    """The reference figures of a subtree for a period."""
    row = await conn.fetchrow(ROLLUP, committee_id, period)
    cells = row["cells"]
    month = len(period_months(period)) == 1
    return {
        "cells": cells,
        "by_rating": {rating: row[rating] for rating in ("good", "fair", "average", "poor")},
        "regularity": _share(row["regular"], cells),
        "attendance_rate": _share(row["present"], row["counted"]),
        "speaking_rate": _share(row["speakers_present"], row["present"]),
        "thematic_coverage": _share(row["thematic"], cells),
        "score": round(row["score"], 2) if row["score"] is not None else None,
        "irregular": cells - row["regular"],
        "met_score": round(row["met_score"], 2) if month and row["met_score"] is not None else None,
        "met_thematic_coverage": _share(row["thematic_met"], row["regular"]) if month else None,
        "not_rated": 0,  # the walk reads the periods closed (test_rollup_fast asks as of 2027-01-05)
    }


async def provisional_cells(conn: asyncpg.Connection, cell_ids: list[str], period: str) -> set[str]:
    """The given cells whose stored `period` is flagged provisional (a meeting's manual items not assessed yet)."""
    rows = await conn.fetch(
        "SELECT cell_id FROM cell_period WHERE cell_id = ANY($1::text[]) AND period = $2"
        " AND 'provisional' = ANY(flags)",
        cell_ids,
        period,
    )
    return {row["cell_id"] for row in rows}


async def committee_rollup(
    conn: asyncpg.Connection, committee_id: str, period: str, *, weakest: int = 5
) -> dict[str, Any]:
    """The reference roll-up with trend and weakest cells."""
    figures = await rollup_figures(conn, committee_id, period)
    before = previous_period(period)
    known = await has_data(conn, committee_id, period_months(before)[-1])
    previous = await rollup_figures(conn, committee_id, before) if known else {"score": None}
    delta = None
    if figures["score"] is not None and previous["score"] is not None:
        # the unrounded means' difference, rounded once (as the API gives it)
        now, then = await raw_score(conn, committee_id, period), await raw_score(conn, committee_id, before)
        assert now is not None and then is not None
        delta = round(now - then, 2)
    rows = await conn.fetch(WEAKEST, committee_id, period, weakest)
    provisional = await provisional_cells(conn, [r["cell_id"] for r in rows], period)
    return {
        "committee_id": committee_id,
        "period": period,
        **figures,
        "trend": {"previous_period": before, "previous_score": previous["score"], "score_delta": delta},
        "weakest": [
            {
                "cell_id": r["cell_id"],
                "name": r["name"],
                "score": round(r["score"], 2),
                "rating": r["rating"],
                "regular_held": r["regular_held"],
                "meetings_held": r["meetings_held"],
                "thematic_held": r["thematic_held"],
                "attendance_rate": _share(r["present"], r["counted"]),
                "speaking_rate": _share(r["speakers_present"], r["present"]),
                "rating_reason": None,  # the rows here are stored by score's band: nothing lowered them
                "provisional": r["cell_id"] in provisional,  # its stored month's flag (a cell without one: none)
            }
            for r in rows
        ],
        # no fact here changes a month after it closed: no cell is noted (queries.subtree_late_changes)
        "late_changes": [],
        "late_changes_total": 0,
        "first_month": await conn.fetchval(FIRST_MONTH, committee_id, period_months(period)[-1]),
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
) -> dict[str, Any]:
    """The reference ranking page."""
    direction = "DESC" if order == "desc" else "ASC"
    where = " WHERE s.rating IN ('poor', 'average')" if weak_only else ""
    where += " AND s.regular_held > 0" if met_only else ""
    ranking = f"{WEAK_ORDER}" if weak_only else f"s.score {direction}, s.cell_id"
    rows = await conn.fetch(
        PERIOD_OF_CELLS + ", ranked AS (SELECT s.cell_id, u.name, s.score, s.rating, s.regular_held, s.meetings_held,"
        " s.thematic_held, s.present, s.counted, s.speakers_present,"
        " count(*) OVER () AS total,"
        f" row_number() OVER (ORDER BY {ranking}) AS position FROM scored s JOIN unit u ON u.id = s.cell_id{where})"
        " SELECT * FROM ranked ORDER BY position LIMIT $3 OFFSET $4",
        committee_id,
        period,
        limit,
        offset,
    )
    total = (
        rows[0]["total"]
        if rows
        else await conn.fetchval(PERIOD_OF_CELLS + "SELECT count(*) FROM scored s" + where, committee_id, period)
    )
    provisional = await provisional_cells(conn, [r["cell_id"] for r in rows], period)
    return {
        "items": [
            {
                "cell_id": r["cell_id"],
                "name": r["name"],
                "score": round(r["score"], 2),
                "rating": r["rating"],
                "regular_held": r["regular_held"],
                "meetings_held": r["meetings_held"],
                "thematic_held": r["thematic_held"],
                "attendance_rate": _share(r["present"], r["counted"]),
                "speaking_rate": _share(r["speakers_present"], r["present"]),
                # every cell of a closed period has a score: its rank is its place (none among the weakest)
                "rank": None if weak_only else r["position"],
                "late_change": None,
                "rating_reason": None,  # the rows here are stored by score's band: nothing lowered them
                "provisional": r["cell_id"] in provisional,  # its stored month's flag (a cell without one: none)
            }
            for r in rows
        ],
        "total": total,
        "limit": limit,
        "offset": offset,
    }
