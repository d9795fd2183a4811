"""Stored meeting scores and cell period results."""

import json
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from services.evaluation.domain.periods import MeetingSummary, PeriodResult
from services.evaluation.domain.scoring import MeetingScore


class ResultRepository(Protocol):
    """Meeting scores and period results as stored."""

    async def stored_scores(self, meeting_ids: list[str]) -> dict[str, dict[str, Any]]: ...
    async def save_score(
        self,
        *,
        result: MeetingScore,
        kind: str,
        starts_at: datetime,
        held: bool,
        present: int,
        counted: int,
        speakers_present: int,
    ) -> None: ...
    async def delete_score(self, meeting_id: str) -> None: ...
    async def cell_summaries(self, cell_id: str, *, year_from: int, year_to: int) -> list[MeetingSummary]: ...
    async def stored_periods(self, cell_id: str, periods: list[str]) -> dict[str, dict[str, Any]]: ...
    async def save_periods(self, results: list[PeriodResult]) -> None: ...


class PgResultRepository:
    """ResultRepository on the evaluation schema."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection

    async def stored_scores(self, meeting_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Stored score rows by meeting id (criteria decoded)."""
        rows = await self._conn.fetch(
            "SELECT meeting_id, cell_id, kind, starts_at, held, framework_id, framework_version, score, rating,"
            " provisional, criteria::text AS criteria, present, counted, speakers_present"
            " FROM meeting_score WHERE meeting_id = ANY($1::text[])",
            meeting_ids,
        )
        return {row["meeting_id"]: {**dict(row), "criteria": json.loads(row["criteria"])} for row in rows}

    async def save_score(
        self,
        *,
        result: MeetingScore,
        kind: str,
        starts_at: datetime,
        held: bool,
        present: int,
        counted: int,
        speakers_present: int,
    ) -> None:
        """Insert or replace a meeting's score row."""
        await self._conn.execute(
            "INSERT INTO meeting_score (meeting_id, cell_id, kind, starts_at, held, framework_id, framework_version,"
            " score, rating, provisional, criteria, present, counted, speakers_present, computed_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, now())"
            " ON CONFLICT (meeting_id) DO UPDATE SET cell_id = EXCLUDED.cell_id, kind = EXCLUDED.kind,"
            " starts_at = EXCLUDED.starts_at, held = EXCLUDED.held, framework_id = EXCLUDED.framework_id,"
            " framework_version = EXCLUDED.framework_version, score = EXCLUDED.score, rating = EXCLUDED.rating,"
            " provisional = EXCLUDED.provisional, criteria = EXCLUDED.criteria, present = EXCLUDED.present,"
            " counted = EXCLUDED.counted, speakers_present = EXCLUDED.speakers_present, computed_at = now()",
            result.meeting_id,
            result.cell_id,
            kind,
            starts_at,
            held,
            result.framework_id,
            result.framework_version,
            result.score,
            result.rating,
            result.provisional,
            json.dumps([line.as_dict() for line in result.criteria]),
            present,
            counted,
            speakers_present,
        )

    async def delete_score(self, meeting_id: str) -> None:
        """Drop a meeting's score row (a cancelled meeting is not scored)."""
        await self._conn.execute("DELETE FROM meeting_score WHERE meeting_id = $1", meeting_id)

    async def cell_summaries(self, cell_id: str, *, year_from: int, year_to: int) -> list[MeetingSummary]:
        """The cell's scored meetings starting in the given years (local time), for its periods."""
        rows = await self._conn.fetch(
            "SELECT meeting_id, kind, starts_at, held, score, rating, provisional, present, counted, speakers_present"
            " FROM meeting_score WHERE cell_id = $1"
            " AND starts_at >= make_timestamptz($2, 1, 1, 0, 0, 0, '+07')"
            " AND starts_at < make_timestamptz($3 + 1, 1, 1, 0, 0, 0, '+07')",
            cell_id,
            year_from,
            year_to,
        )
        return [MeetingSummary(**dict(row)) for row in rows]

    async def stored_periods(self, cell_id: str, periods: list[str]) -> dict[str, dict[str, Any]]:
        """Stored period rows of a cell."""
        rows = await self._conn.fetch(
            "SELECT * FROM cell_period WHERE cell_id = $1 AND period = ANY($2::text[])", cell_id, periods
        )
        return {row["period"]: dict(row) for row in rows}

    async def save_periods(self, results: list[PeriodResult]) -> None:
        """Insert or replace period rows (one pipelined round trip for a cell's month, quarter and year)."""
        if not results:
            return
        await self._conn.executemany(
            "INSERT INTO cell_period (cell_id, period, rating, score, regular_held, thematic_held, present, counted,"
            " speakers_present, months_counted, months_with_regular, flags, computed_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())"
            " ON CONFLICT (cell_id, period) DO UPDATE SET rating = EXCLUDED.rating, score = EXCLUDED.score,"
            " regular_held = EXCLUDED.regular_held, thematic_held = EXCLUDED.thematic_held,"
            " present = EXCLUDED.present, counted = EXCLUDED.counted, speakers_present = EXCLUDED.speakers_present,"
            " months_counted = EXCLUDED.months_counted, months_with_regular = EXCLUDED.months_with_regular,"
            " flags = EXCLUDED.flags, computed_at = now()",
            [
                (
                    result.cell_id,
                    result.period,
                    result.rating,
                    result.score,
                    result.regular_held,
                    result.thematic_held,
                    result.present,
                    result.counted,
                    result.speakers_present,
                    result.months_counted,
                    result.months_with_regular,
                    list(result.flags),
                )
                for result in results
            ],
        )
