"""The explicit re-scoring job: a subtree and a span of months, one transaction per cell.

The command line runs it synchronously; the `rescore` RPC queues a job (`rescore_job`) that a
background worker claims, runs with its progress committed with each cell, and resumes at its
cursor when a worker stopped mid-way.
"""

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from services.evaluation.handlers.scores import refresh_periods, rescore_cell
from shared.logs import get_logger
from shared.periods import VIETNAM_TZ, months_between, period_bounds, period_months
from shared.plausible import span_range_problem

log = get_logger(__name__)


InTransaction = Callable[[Any, str, dict[str, int]], Awaitable[None]]


async def rescore(
    *,
    uow_factory: Callable[[], AbstractAsyncContextManager[Any]],
    unit_id: str | None,
    period_from: str | None,
    period_to: str | None,
    start_after: str | None = None,
    on_total: Callable[[int], None] = lambda total: None,
    on_cell: Callable[[], None] = lambda: None,
    in_transaction: InTransaction | None = None,
) -> dict[str, int]:
    """Rescore the meetings of a subtree (or every cell) starting in the periods' months; refresh their periods.

    Cells go in id order; `start_after` skips those up to a cursor. `in_transaction` runs in each
    cell's transaction with the running totals (TOTALS) of this call. `changed` counts everything that changed:
    the meetings whose score, rating or points changed (`meetings_changed`; one only moved to a new framework
    version that rates it the same is republished but not counted) and the month, quarter and year rows whose
    rating, score or figures changed (`periods_changed`).
    """
    first = period_months(period_from)[0] if period_from else None
    last = period_months(period_to)[-1] if period_to else None
    since = period_bounds(first)[0] if first else datetime(1900, 1, 1, tzinfo=VIETNAM_TZ)
    until = period_bounds(last)[1] if last else None
    async with uow_factory() as uow:
        cells = await uow.facts.subtree_cells(unit_id) if unit_id else await uow.facts.cells_with_meetings()
        through = f"{uow.today():%Y-%m}"
    span = months_between(first, min(last or through, through)) if first else []
    on_total(len(cells))
    running = dict.fromkeys(TOTALS, 0)
    for cell_id in sorted(cells):
        if start_after is not None and cell_id <= start_after:
            continue
        async with uow_factory() as uow:
            outcome = await rescore_cell(uow, cell_id, since=since, until=until, rescoring=True)
            months = {*span, *outcome.months.get(cell_id, set())}
            periods = 0
            for cell, touched in sorted(outcome.months.items()):
                periods += await refresh_periods(
                    uow, cell, touched | (months if cell == cell_id else set()), rescoring=True
                )
            if cell_id not in outcome.months and months:
                periods += await refresh_periods(uow, cell_id, months, rescoring=True)
            totals = add_totals(
                running,
                {
                    "cells": 1,
                    "meetings_rescored": outcome.meetings,
                    "meetings_changed": outcome.changed,
                    "periods_changed": periods,
                },
            )
            if in_transaction is not None:
                await in_transaction(uow, cell_id, totals)
            await uow.commit()
        running = totals
        on_cell()
    result = {**running, "cells": len(cells)}
    log.info("rescore_done", unit_id=unit_id, **result)
    return result


TOTALS = ("cells", "meetings_rescored", "meetings_changed", "periods_changed", "changed")
"""A rescoring's running totals: cells done, meetings scored again, meeting scores and period rows (month, quarter,
year) that changed, and `changed`, their sum: everything the job changed."""


def add_totals(before: Mapping[str, int], more: Mapping[str, int]) -> dict[str, int]:
    """`before` plus `more`, key by key over TOTALS, `changed` always the meetings' and the periods' sum."""
    totals = {key: before.get(key, 0) + more.get(key, 0) for key in TOTALS if key != "changed"}
    return {**totals, "changed": totals["meetings_changed"] + totals["periods_changed"]}


JOB_COLUMNS = {"cells": "cells_done"}
"""The rescore_job column of each total whose name differs."""


class RescoreJobConflict(Exception):
    """A job id already used by a job over another subtree or other months."""


async def start_rescore_job(
    uow: Any, *, job_id: str, unit_id: str | None, period_from: str | None, period_to: str | None
) -> dict[str, Any]:
    """Queue a rescoring job; a background worker runs it. A job by that id over the same subtree and months (the
    same web form sent twice) is answered as it stands, queued, running or done, and not queued again;
    RescoreJobConflict when that id's job covers something else."""
    if await uow.jobs.create_rescore_job(job_id=job_id, unit_id=unit_id, period_from=period_from, period_to=period_to):
        log.info("rescore_job_queued", job_id=job_id, unit_id=unit_id, period_from=period_from, period_to=period_to)
        return {
            "job_id": job_id,
            "status": "queued",
            "unit_id": unit_id,
            "period_from": period_from,
            "period_to": period_to,
        }
    existing = await uow.jobs.rescore_job(job_id)
    if existing is None or (existing["unit_id"], existing["period_from"], existing["period_to"]) != (
        unit_id,
        period_from,
        period_to,
    ):
        raise RescoreJobConflict(job_id)
    log.info("rescore_job_asked_again", job_id=job_id, status=existing["status"])
    return {
        "job_id": job_id,
        "status": existing["status"],
        "unit_id": unit_id,
        "period_from": period_from,
        "period_to": period_to,
    }


async def run_rescore_job(
    *, uow_factory: Callable[[], AbstractAsyncContextManager[Any]], stale_after_seconds: float
) -> str | None:
    """Claim one queued (or abandoned) job and run it to the end; return its id, None when there was none."""
    async with uow_factory() as uow:
        job = await uow.jobs.claim_rescore_job(stale_after_seconds=stale_after_seconds)
        await uow.commit()
    if job is None:
        return None
    job_id = job["job_id"]
    # a job resumed at its cursor adds this run's totals to what its earlier runs recorded
    before = {key: job[JOB_COLUMNS.get(key, key)] for key in TOTALS}
    total: list[int] = []

    async def record(uow: Any, cell_id: str, totals: dict[str, int]) -> None:
        progress = add_totals(before, totals)
        values = {JOB_COLUMNS.get(key, key): value for key, value in progress.items()}
        await uow.jobs.record_rescore_progress(
            job_id=job_id, values={"cursor": cell_id, "cells_total": total[0], **values}
        )

    log.info("rescore_job_started", job_id=job_id, resumed_after=job["cursor"], attempt=job["attempts"])
    # a job queued before its months were bounded (a trial's `9999-12`) fails naming the field, never running
    if problem := span_range_problem(job["period_from"], job["period_to"], now=datetime.now(VIETNAM_TZ)):
        log.warning("rescore_job_refused", job_id=job_id, field=problem.field, reason=problem.reason)
        await _fail(uow_factory, job_id, error=problem.message, field=problem.field, code=problem.code)
        return job_id
    try:
        await rescore(
            uow_factory=uow_factory,
            unit_id=job["unit_id"],
            period_from=job["period_from"],
            period_to=job["period_to"],
            start_after=job["cursor"],
            on_total=total.append,
            in_transaction=record,
        )
    except Exception as exc:
        log.exception("rescore_job_failed", job_id=job_id, error=repr(exc))
        await _fail(uow_factory, job_id, error=INTERNAL_FAILURE, field=None, code="internal")
        return job_id
    async with uow_factory() as uow:
        values = {"status": "done", "cells_total": total[0], "finished_at": datetime.now(UTC)}
        await uow.jobs.record_rescore_progress(job_id=job_id, values=values)
        await uow.commit()
    log.info("rescore_job_done", job_id=job_id)
    return job_id


INTERNAL_FAILURE = "the job stopped on an internal error; operators find it in evaluation's log (rescore_job_failed)"
"""What a job stopped by an unexpected exception says: the exception's repr goes to the log, never to a person."""


async def _fail(
    uow_factory: Callable[[], AbstractAsyncContextManager[Any]],
    job_id: str,
    *,
    error: str,
    field: str | None,
    code: str,
) -> None:
    """Mark the job failed with an English reason (`error`), the field at fault and a code people's pages word."""
    async with uow_factory() as uow:
        values = {
            "status": "failed",
            "error": error,
            "error_field": field,
            "error_code": code,
            "finished_at": datetime.now(UTC),
        }
        await uow.jobs.record_rescore_progress(job_id=job_id, values=values)
        await uow.commit()
