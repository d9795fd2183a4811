"""Durable state of the background jobs: month closes, rescoring jobs and the dirty set of cells to score."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg

from services.evaluation.domain.touched import TouchedCell

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
"""A `since` earlier than this is stored as this (no meeting starts before; year 1 does not fit a timestamptz)."""


@dataclass(frozen=True)
class PeriodClose:
    """A month being closed: the months its run refreshes start at `first_month`; `cursor` is the last cell done."""

    month: str
    first_month: str
    cursor: str | None


@dataclass(frozen=True)
class DirtyRow:
    """One stored note that a transaction's facts touched a cell (see `TouchedCell`)."""

    id: int
    cell_id: str
    since: datetime | None
    only: tuple[str, ...]
    correlation_id: str | None
    created_at: datetime
    received_month: str | None = None
    """The month (YYYY-MM, the service's today) its facts were received in; None: no fact (a recheck released it)."""
    months: tuple[str, ...] = ()
    """Months (YYYY-MM) whose periods are to be refreshed whatever the meetings' scores do: a scoring round's
    note of the months its committed meeting scores moved (`note_periods`)."""
    recorded_at: datetime | None = None
    """When the latest of its facts happened (their `time`, migration 0046); None: no fact, or noted before 0046."""


DIRTY_COLUMNS = "id, cell_id, since, only_meetings, correlation_id, created_at, received_month, months, recorded_at"


def _dirty_row(row: asyncpg.Record) -> DirtyRow:
    return DirtyRow(
        id=row["id"],
        cell_id=row["cell_id"],
        since=row["since"],
        only=tuple(row["only_meetings"]),
        correlation_id=row["correlation_id"],
        created_at=row["created_at"],
        received_month=row["received_month"],
        months=tuple(row["months"]),
        recorded_at=row["recorded_at"],
    )


class JobRepository(Protocol):
    """Month closes and rescoring jobs as stored."""

    async def last_closed_month(self) -> str | None: ...
    async def open_period_close(self, *, month: str, first_month: str) -> bool: ...
    async def claim_period_close(self) -> PeriodClose | None: ...
    async def advance_period_close(self, *, month: str, cursor: str, cells: int, changed: int) -> None: ...
    async def finish_period_close(self, month: str) -> None: ...
    async def cells_after(self, cursor: str | None, *, limit: int) -> list[str]: ...
    async def stale_periods(self, cell_ids: list[str]) -> dict[str, list[str]]: ...
    async def create_rescore_job(
        self, *, job_id: str, unit_id: str | None, period_from: str | None, period_to: str | None
    ) -> bool: ...
    async def claim_rescore_job(self, *, stale_after_seconds: float) -> dict[str, Any] | None: ...
    async def rescore_job(self, job_id: str) -> dict[str, Any] | None: ...
    async def record_rescore_progress(self, *, job_id: str, values: dict[str, Any]) -> None: ...
    async def add_dirty_cells(self, cells: Sequence[tuple[str, TouchedCell]], *, received_month: str) -> None: ...
    async def claim_dirty_cells(self, *, limit: int, noted_before: float | None = None) -> list[DirtyRow]: ...
    async def claim_dirty(self, ids: Sequence[int]) -> list[DirtyRow]: ...
    async def note_periods(
        self,
        cells: Sequence[tuple[str, TouchedCell]],
        *,
        received: Mapping[str, str | None],
        hold_seconds: float | None = None,
    ) -> list[int]: ...
    async def release_held_periods(self) -> int: ...
    async def take_dirty(self, ids: Sequence[int]) -> list[DirtyRow]: ...
    async def delete_dirty(self, ids: Sequence[int]) -> None: ...
    async def defer_dirty(self, ids: Sequence[int], *, error: str, max_delay: float) -> None: ...
    async def release_due_rechecks(self, *, limit: int) -> int: ...


RESCORE_JOB_COLUMNS = (
    "job_id, unit_id, period_from, period_to, status, cells_total, cells_done, meetings_rescored, meetings_changed,"
    " periods_changed, changed, cursor, error, error_field, error_code, attempts, created_at, started_at,"
    " heartbeat_at, finished_at"
)
PROGRESS_COLUMNS = frozenset(
    {
        "status",
        "cells_total",
        "cells_done",
        "meetings_rescored",
        "meetings_changed",
        "periods_changed",
        "changed",
        "cursor",
        "error",
        "error_field",
        "error_code",
        "finished_at",
    }
)


class PgJobRepository:
    """JobRepository on the evaluation schema."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection

    async def last_closed_month(self) -> str | None:
        """The latest month a close was opened for."""
        return await self._conn.fetchval("SELECT max(month) FROM period_close")

    async def open_period_close(self, *, month: str, first_month: str) -> bool:
        """Record that a month is to be closed (once: a second instance's insert changes nothing)."""
        inserted = await self._conn.fetchval(
            "INSERT INTO period_close (month, first_month) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
            month,
            first_month,
        )
        return inserted is not None

    async def claim_period_close(self) -> PeriodClose | None:
        """The earliest unfinished close nobody else is working on, locked until the transaction ends."""
        row = await self._conn.fetchrow(
            "SELECT month, first_month, cursor FROM period_close WHERE finished_at IS NULL"
            " ORDER BY month LIMIT 1 FOR UPDATE SKIP LOCKED"
        )
        return PeriodClose(**dict(row)) if row else None

    async def advance_period_close(self, *, month: str, cursor: str, cells: int, changed: int) -> None:
        """Commit a batch's progress with its results."""
        await self._conn.execute(
            "UPDATE period_close SET cursor = $2, cells_done = cells_done + $3, changed = changed + $4"
            " WHERE month = $1",
            month,
            cursor,
            cells,
            changed,
        )

    async def finish_period_close(self, month: str) -> None:
        """Mark a month closed."""
        await self._conn.execute("UPDATE period_close SET finished_at = now() WHERE month = $1", month)

    async def cells_after(self, cursor: str | None, *, limit: int) -> list[str]:
        """The next cells by id: every unit of kind cell and every cell a meeting names."""
        rows = await self._conn.fetch(
            "SELECT id FROM (SELECT id FROM unit WHERE kind = 'cell' UNION SELECT cell_id FROM meeting) AS cells"
            " WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2",
            cursor,
            limit,
        )
        return [row["id"] for row in rows]

    async def stale_periods(self, cell_ids: list[str]) -> dict[str, list[str]]:
        """Per cell, the stored periods still flagged in progress (they may have ended since)."""
        found: dict[str, list[str]] = {}
        for row in await self._conn.fetch(
            "SELECT cell_id, period FROM cell_period WHERE cell_id = ANY($1::text[]) AND 'in_progress' = ANY(flags)",
            cell_ids,
        ):
            found.setdefault(row["cell_id"], []).append(row["period"])
        return found

    async def create_rescore_job(
        self, *, job_id: str, unit_id: str | None, period_from: str | None, period_to: str | None
    ) -> bool:
        """Queue a rescoring job; False when a job by that id exists already (it is left as it is)."""
        inserted = await self._conn.fetchval(
            "INSERT INTO rescore_job (job_id, unit_id, period_from, period_to) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (job_id) DO NOTHING RETURNING 1",
            job_id,
            unit_id,
            period_from,
            period_to,
        )
        return inserted is not None

    async def claim_rescore_job(self, *, stale_after_seconds: float) -> dict[str, Any] | None:
        """Take the oldest queued job, or a running one whose worker stopped beating (it resumes at its cursor)."""
        row = await self._conn.fetchrow(
            "UPDATE rescore_job SET status = 'running', started_at = coalesce(started_at, now()),"
            " heartbeat_at = now(), attempts = attempts + 1"
            " WHERE job_id = (SELECT job_id FROM rescore_job WHERE status = 'queued'"
            "  OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => $1))"
            "  ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
            f" RETURNING {RESCORE_JOB_COLUMNS}",
            stale_after_seconds,
        )
        return dict(row) if row else None

    async def rescore_job(self, job_id: str) -> dict[str, Any] | None:
        """A job's state."""
        row = await self._conn.fetchrow(f"SELECT {RESCORE_JOB_COLUMNS} FROM rescore_job WHERE job_id = $1", job_id)
        return dict(row) if row else None

    async def record_rescore_progress(self, *, job_id: str, values: dict[str, Any]) -> None:
        """Store progress (and beat the heartbeat) of a running job."""
        unknown = set(values) - PROGRESS_COLUMNS
        if unknown:
            raise ValueError(f"not progress columns: {sorted(unknown)}")
        names = sorted(values)
        assignments = ", ".join(f"{name} = ${index}" for index, name in enumerate(names, start=2))
        await self._conn.execute(
            f"UPDATE rescore_job SET {assignments}, heartbeat_at = now() WHERE job_id = $1",
            job_id,
            *(values[name] for name in names),
        )

    async def add_dirty_cells(self, cells: Sequence[tuple[str, TouchedCell]], *, received_month: str) -> None:
        """Note the touched cells for the scoring worker, one appended row each, in one statement; their facts were
        received in `received_month` (YYYY-MM, the service's today: what a late change is judged by), the latest of
        each cell's happened at its `recorded_at` (TouchedCell.recorded_at, migration 0046)."""
        if not cells:
            return
        await self._conn.execute(
            # noted when written, at the end of the fact transaction (not at its start: a claim that leaves the cells
            # noted lately to the next round judges by this)
            "INSERT INTO dirty_cell (cell_id, since, only_meetings, correlation_id, created_at, received_month,"
            " recorded_at)"
            " SELECT c, s, ARRAY(SELECT jsonb_array_elements_text(o::jsonb)), r, clock_timestamp(), $5, a"
            " FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $6::timestamptz[])"
            " AS t(c, s, o, r, a)",
            [cell_id for cell_id, _ in cells],
            [None if cell.since is None else max(cell.since, EARLIEST) for _, cell in cells],
            [json.dumps(sorted(cell.only)) for _, cell in cells],
            [cell.correlation_id for _, cell in cells],
            received_month,
            [cell.recorded_at for _, cell in cells],
        )

    async def claim_dirty_cells(self, *, limit: int, noted_before: float | None = None) -> list[DirtyRow]:
        """The oldest unclaimed rows (up to `limit`) and every other unclaimed row of their cells, by id, deleted in
        the claiming transaction (SKIP LOCKED: another worker's claim is passed over, never waited for). Deleted at
        once rather than after the scoring: one round trip less, and a round that fails rolls them back all the same.
        With `noted_before` (seconds), only cells with a row noted at least that long ago are claimed (with all
        their rows): a round cut short while facts still flow leaves the cells noted meanwhile to the next round."""
        rows = await self._conn.fetch(
            "WITH first AS MATERIALIZED (SELECT cell_id FROM dirty_cell"
            "  WHERE (not_before IS NULL OR not_before <= now())"
            "  AND ($2::float8 IS NULL OR created_at <= clock_timestamp() - make_interval(secs => $2))"
            "  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)"
            " DELETE FROM dirty_cell WHERE id IN (SELECT id FROM dirty_cell"
            "  WHERE cell_id IN (SELECT cell_id FROM first) FOR UPDATE SKIP LOCKED)"
            f" RETURNING {DIRTY_COLUMNS}",
            limit,
            noted_before,
        )
        return sorted((_dirty_row(row) for row in rows), key=lambda row: row.id)

    async def claim_dirty(self, ids: Sequence[int]) -> list[DirtyRow]:
        """The given rows that still wait and nobody else holds, locked until the transaction ends."""
        rows = await self._conn.fetch(
            f"SELECT {DIRTY_COLUMNS} FROM dirty_cell WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE SKIP LOCKED",
            list(ids),
        )
        return [_dirty_row(row) for row in rows]

    async def note_periods(
        self,
        cells: Sequence[tuple[str, TouchedCell]],
        *,
        received: Mapping[str, str | None],
        hold_seconds: float | None = None,
    ) -> list[int]:
        """Note cells whose periods are to be refreshed (each cell's `months`, its correlation id and the month its
        facts were received in, `received`, None when no fact, and when the latest happened, `recorded_at`), one
        appended row each, in one statement; their ids.
        A scoring round leaves these for its second transaction (handlers/coalesced.score_dirty). `hold_seconds`:
        periods held back while batches flow (handlers/coalesced.Hold), not claimed on their own before that many
        seconds or `release_held_periods` (`not_before`, with no attempt counted: no failure)."""
        if not cells:
            return []
        rows = await self._conn.fetch(
            "INSERT INTO dirty_cell (cell_id, months, correlation_id, received_month, created_at, not_before,"
            " recorded_at)"
            " SELECT c, ARRAY(SELECT jsonb_array_elements_text(m::jsonb)), r, g, clock_timestamp(),"
            " CASE WHEN $5::float8 IS NOT NULL THEN now() + make_interval(secs => $5::float8) END, a"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::timestamptz[]) AS t(c, m, r, g, a)"
            " RETURNING id",
            [cell_id for cell_id, _ in cells],
            [json.dumps(sorted(cell.months)) for _, cell in cells],
            [cell.correlation_id for _, cell in cells],
            [received.get(cell_id) for cell_id, _ in cells],
            hold_seconds,
            [cell.recorded_at for _, cell in cells],
        )
        return [row["id"] for row in rows]

    async def release_held_periods(self) -> int:
        """Make the periods held while batches flowed claimable now (`note_periods`' `hold_seconds`: a note due
        later with no failed attempt); how many notes."""
        released = await self._conn.fetchval(
            "WITH released AS (UPDATE dirty_cell SET not_before = NULL"
            " WHERE attempts = 0 AND not_before > now() RETURNING 1) SELECT count(*) FROM released"
        )
        return int(released or 0)

    async def take_dirty(self, ids: Sequence[int]) -> list[DirtyRow]:
        """The given rows that still wait and nobody else holds, deleted in this transaction (SKIP LOCKED: a row
        another round claimed is left to it), by id."""
        if not ids:
            return []
        rows = await self._conn.fetch(
            "DELETE FROM dirty_cell WHERE id IN (SELECT id FROM dirty_cell WHERE id = ANY($1::bigint[])"
            f" FOR UPDATE SKIP LOCKED) RETURNING {DIRTY_COLUMNS}",
            list(ids),
        )
        return sorted((_dirty_row(row) for row in rows), key=lambda row: row.id)

    async def delete_dirty(self, ids: Sequence[int]) -> None:
        """Drop claimed rows once their cells are scored (in the scoring transaction)."""
        if ids:
            await self._conn.execute("DELETE FROM dirty_cell WHERE id = ANY($1::bigint[])", list(ids))

    async def release_due_rechecks(self, *, limit: int) -> int:
        """Turn up to `limit` rechecks whose moment has come into dirty-cell notes of their meetings (one per cell,
        SKIP LOCKED: two workers never release the same one; no `received_month`: no fact came, a moment passed);
        how many were released."""
        return int(
            await self._conn.fetchval(
                "WITH due AS (DELETE FROM score_recheck WHERE (meeting_id, due_at) IN ("
                "  SELECT meeting_id, due_at FROM score_recheck WHERE due_at <= now()"
                "  ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING meeting_id, cell_id),"
                " noted AS (INSERT INTO dirty_cell (cell_id, only_meetings)"
                "  SELECT cell_id, array_agg(DISTINCT meeting_id) FROM due GROUP BY cell_id RETURNING 1)"
                " SELECT count(*) FROM due",
                limit,
            )
            or 0
        )

    async def defer_dirty(self, ids: Sequence[int], *, error: str, max_delay: float) -> None:
        """Note a failed scoring of these rows: tried again after 1, 2, 4 ... s, at most `max_delay`."""
        await self._conn.execute(
            "UPDATE dirty_cell SET attempts = attempts + 1, last_error = $2,"
            " not_before = now() + make_interval(secs => least(power(2, attempts), $3))"
            " WHERE id = ANY($1::bigint[])",
            list(ids),
            error,
            max_delay,
        )
