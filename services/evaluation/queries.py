"""Read side: meeting scores, cell periods, committee roll-ups and rankings, frameworks (set-based SQL)."""

import json
from datetime import date
from typing import Any, Literal

import asyncpg

from shared.periods import period_months, previous_period

SUBTREE_CELLS = """
WITH RECURSIVE tree(id, kind) AS (
    SELECT id, kind FROM unit WHERE id = $1
    UNION
    SELECT u.id, u.kind FROM unit u JOIN tree t ON u.parent_id = t.id WHERE u.active
)
"""

PERIOD_OF_CELLS = (
    SUBTREE_CELLS
    + """
, scored AS (
    SELECT t.id AS cell_id,
           coalesce(p.rating, 'poor') AS rating,
           coalesce(p.score, 0) AS score,
           coalesce(p.months_with_regular = p.months_counted, false) AS regular,
           coalesce(p.thematic_held > 0, false) AS thematic,
           coalesce(p.present, 0) AS present,
           coalesce(p.counted, 0) AS counted,
           coalesce(p.speakers_present, 0) AS speakers_present
    FROM tree t LEFT JOIN cell_period p ON p.cell_id = t.id AND p.period = $2
    WHERE t.kind = 'cell'
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
       sum(present) AS present, sum(counted) AS counted, sum(speakers_present) AS speakers_present,
       avg(score) AS score
FROM scored
"""
)

WEAK_RATINGS = ("poor", "average")
"""The ratings a committee is alerted about (DOMAIN.md "Alerts": a period rated Average or Poor), worst first: only
cells rated so are "weak", so a Good or Fair cell is never listed however few weak cells there are."""
WEAK_ORDER = "array_position(ARRAY['poor', 'average'], s.rating), s.score, s.cell_id"
"""Worst rating first, then lowest score: a year's or quarter's rating is not a band of its mean score."""

WEAKEST = (
    PERIOD_OF_CELLS
    + "SELECT s.cell_id, u.name, s.score, s.rating FROM scored s JOIN unit u ON u.id = s.cell_id"
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


class PeriodNotRated(LookupError):
    """A period the subtree has no rating for: it has not begun, or it ends before the subtree's first data."""

    def __init__(self, message: str, *, begun: bool) -> None:
        super().__init__(message)
        self.message = message
        self.begun = begun


async def check_period_rated(conn: asyncpg.Connection, committee_id: str, period: str, *, today: date) -> None:
    """PeriodNotRated when `period` starts after `today`'s month (Vietnam) or no cell of the subtree has any month
    stored up to its last month (a month long before the data, e.g. 1999-01): such a period is not Poor, it is
    unknown."""
    months = period_months(period)
    current = f"{today:%Y-%m}"
    if months[0] > current:
        raise PeriodNotRated(f"period {period} has not begun (this month is {current})", begun=False)
    if not await conn.fetchval(HAS_DATA, committee_id, months[-1]):
        raise PeriodNotRated(f"period {period}: no data for the cells of {committee_id} up to then", begun=True)


def _share(part: int | None, whole: int | None) -> float | None:
    return round((part or 0) / whole, 4) if whole else None


async def meeting_score(conn: asyncpg.Connection, meeting_id: str) -> dict[str, Any] | None:
    """A meeting's published score with its explanation and when it was computed."""
    row = await conn.fetchrow(
        "SELECT meeting_id, cell_id, framework_id, framework_version, score, rating, provisional,"
        " criteria::text AS criteria, computed_at FROM meeting_score WHERE meeting_id = $1",
        meeting_id,
    )
    if row is None:
        return None
    return {
        "meeting_id": row["meeting_id"],
        "cell_id": row["cell_id"],
        "framework": {"id": row["framework_id"], "version": row["framework_version"]},
        "score": round(row["score"], 2),
        "rating": row["rating"],
        "provisional": row["provisional"],
        "criteria": json.loads(row["criteria"]),
        "computed_at": row["computed_at"].isoformat(),
    }


def period_data(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    """A stored period row as `score.cell.updated.v1` data."""
    return {
        "cell_id": row["cell_id"],
        "period": row["period"],
        "rating": row["rating"],
        "score": round(row["score"], 2),
        "regular_held": row["regular_held"],
        "thematic_held": row["thematic_held"],
        "attendance_rate": _share(row["present"], row["counted"]),
        "speaking_rate": _share(row["speakers_present"], row["present"]),
        "flags": list(row["flags"]),
    }


async def cell_periods(conn: asyncpg.Connection, cell_id: str, year: int | None) -> list[dict[str, Any]]:
    """A cell's stored months, quarters and years (of one year, or all), in that order per year."""
    rows = await conn.fetch(
        "SELECT * FROM cell_period WHERE cell_id = $1 AND ($2::int IS NULL OR left(period, 4) = $2::text)"
        " ORDER BY left(period, 4), length(period) DESC, period",
        cell_id,
        year,
    )
    return [period_data(row) for row in rows]


async def unit_kind(conn: asyncpg.Connection, unit_id: str) -> str | None:
    """The kind of a known unit."""
    return await conn.fetchval("SELECT kind FROM unit WHERE id = $1", unit_id)


async def rollup_figures(conn: asyncpg.Connection, committee_id: str, period: str) -> dict[str, Any]:
    """Cells per rating, regularity, pooled rates, thematic coverage and mean score of a subtree."""
    row = await conn.fetchrow(ROLLUP, committee_id, period)
    cells = row["cells"]
    return {
        "cells": cells,
        "by_rating": {rating: row[rating] for rating in ("good", "fair", "average", "poor")},
        "regularity": _share(row["regular"], cells),
        "attendance_rate": _share(row["present"], row["counted"]),
        "speaking_rate": _share(row["speakers_present"], row["present"]),
        "thematic_coverage": _share(row["thematic"], cells),
        "score": round(row["score"], 2) if row["score"] is not None else None,
    }


async def committee_rollup(
    conn: asyncpg.Connection, committee_id: str, period: str, *, weakest: int = 5
) -> dict[str, Any]:
    """The roll-up of a committee's whole subtree for a period, with the trend and the weakest cells."""
    figures = await rollup_figures(conn, committee_id, period)
    before = previous_period(period)
    known = await conn.fetchval(HAS_DATA, committee_id, period_months(before)[-1])
    previous = await rollup_figures(conn, committee_id, before) if known else {"score": None}
    delta = None
    if figures["score"] is not None and previous["score"] is not None:
        delta = round(figures["score"] - previous["score"], 2)
    rows = await conn.fetch(WEAKEST, committee_id, period, weakest)
    return {
        "committee_id": committee_id,
        "period": period,
        **figures,
        "trend": {"previous_period": before, "previous_score": previous["score"], "score_delta": delta},
        "weakest": [
            {"cell_id": r["cell_id"], "name": r["name"], "score": round(r["score"], 2), "rating": r["rating"]}
            for r in rows
        ],
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
) -> dict[str, Any]:
    """A page of the subtree's cells ranked by period score; `weak_only`: only the cells rated Poor or Average,
    worst rating first (the weakest cells)."""
    direction = "DESC" if order == "desc" else "ASC"
    where = " WHERE s.rating IN ('poor', 'average')" if weak_only else ""
    ranking = f"{WEAK_ORDER}" if weak_only else f"s.score {direction}, s.cell_id"
    rows = await conn.fetch(
        PERIOD_OF_CELLS + ", ranked AS (SELECT s.cell_id, u.name, s.score, s.rating, count(*) OVER () AS total,"
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
    return {
        "items": [
            {"cell_id": r["cell_id"], "name": r["name"], "score": round(r["score"], 2), "rating": r["rating"]}
            for r in rows
        ],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


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
        "SELECT job_id, status, unit_id, period_from, period_to, cells_total, cells_done, meetings_rescored, changed,"
        " error, created_at, started_at, finished_at FROM rescore_job WHERE job_id = $1",
        job_id,
    )
    if row is None:
        return None
    found = dict(row)
    for moment in ("created_at", "started_at", "finished_at"):
        found[moment] = found[moment].isoformat() if found[moment] else None
    return found
