"""Read side: meeting scores, cell periods, committee roll-ups and rankings, frameworks (set-based SQL)."""

import json
from typing import Any, Literal

import asyncpg

from shared.periods import previous_period

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

WEAKEST = (
    PERIOD_OF_CELLS
    + "SELECT s.cell_id, u.name, s.score, s.rating FROM scored s JOIN unit u ON u.id = s.cell_id"
    + " ORDER BY s.score, s.cell_id LIMIT $3"
)


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
    previous = await rollup_figures(conn, committee_id, before)
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
    conn: asyncpg.Connection, committee_id: str, period: str, *, order: Literal["asc", "desc"], limit: int, offset: int
) -> dict[str, Any]:
    """A page of the subtree's cells ranked by period score."""
    direction = "DESC" if order == "desc" else "ASC"
    rows = await conn.fetch(
        PERIOD_OF_CELLS + ", ranked AS (SELECT s.cell_id, u.name, s.score, s.rating, count(*) OVER () AS total"
        " FROM scored s JOIN unit u ON u.id = s.cell_id)"
        f" SELECT * FROM ranked ORDER BY score {direction}, cell_id LIMIT $3 OFFSET $4",
        committee_id,
        period,
        limit,
        offset,
    )
    total = (
        rows[0]["total"]
        if rows
        else await conn.fetchval(PERIOD_OF_CELLS + "SELECT count(*) FROM scored", committee_id, period)
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
