"""The evaluation.rpc methods (shared/contracts/evaluation_rpc.py), each calling one handler or query."""

import uuid
from datetime import date
from functools import partial
from typing import Any

import asyncpg

from services.evaluation import queries
from services.evaluation.context import EvaluationContext
from services.evaluation.domain.framework import FrameworkError
from services.evaluation.handlers import adopt_framework as adopt_framework_use_case
from services.evaluation.handlers.frameworks import FrameworkConflict
from services.evaluation.handlers.rescoring import RescoreJobConflict, start_rescore_job
from services.evaluation.unit_of_work import today_in_vietnam
from shared.contracts import evaluation_rpc as rpc
from shared.envelope import now
from shared.ops.rpc import add_ops_methods
from shared.periods import period_months
from shared.plausible import span_range_problem
from shared.rpc import RpcError, RpcMethods


async def meeting_score(request: rpc.GetMeetingScore, app: EvaluationContext) -> dict[str, Any]:
    """A meeting's score with its explanation; not_found before it is scored."""
    async with app.pool.acquire() as conn:
        found = await queries.meeting_score(conn, request.meeting_id)
    if found is None:
        raise RpcError("not_found", f"no score for meeting {request.meeting_id}", field="meeting_id")
    return found


async def cell_periods(request: rpc.GetCellPeriods, app: EvaluationContext) -> dict[str, Any]:
    """A cell's stored periods (of one year when asked) and the months it existed in (its span, when known)."""
    async with app.pool.acquire() as conn:
        periods = await queries.cell_periods(conn, request.cell_id, request.year)
        span = await queries.cell_months(conn, request.cell_id)
    return {"cell_id": request.cell_id, "periods": periods, **span}


async def cell_half_year(request: rpc.GetCellHalfYear, app: EvaluationContext) -> dict[str, Any]:
    """A cell's half-year line (queries.cell_half_year); `not_found` naming `period` when the cell did not exist in it
    or it has not begun."""
    async with app.pool.acquire() as conn:
        found = await queries.cell_half_year(conn, request.cell_id, request.period, today=today_in_vietnam())
    if found is None:
        raise RpcError("not_found", f"period: cell {request.cell_id} has no {request.period}", field="period")
    return found


async def _committee(conn: asyncpg.Connection, committee_id: str) -> None:
    if await queries.unit_kind(conn, committee_id) is None:
        raise RpcError("not_found", f"no unit {committee_id}", field="committee_id")


async def _rated(conn: asyncpg.Connection, committee_id: str, period: str) -> int:
    """A period that has not begun, or has no data in the subtree, is an error naming `period`, not a page of Poor;
    else the noted org-tree changes still waiting (queries.tree_changes_pending, counted once for the whole read: the
    read is given them as `pending`)."""
    pending = await queries.tree_changes_pending(conn)
    try:
        await queries.check_period_rated(conn, committee_id, period, today=today_in_vietnam(), pending=pending)
    except queries.PeriodNotRated as exc:
        raise RpcError("invalid" if not exc.begun else "not_found", exc.message, field="period") from None
    return pending


async def committee_rollup(request: rpc.GetCommitteeRollup, app: EvaluationContext) -> dict[str, Any]:
    """A committee's subtree for one period; invalid (`period`) before it begins, not_found (`period`) without data."""
    async with app.pool.acquire() as conn:
        await _committee(conn, request.committee_id)
        pending = await _rated(conn, request.committee_id, request.period)
        return await queries.committee_rollup(
            conn,
            request.committee_id,
            request.period,
            weakest=app.settings.rollup_weakest,
            late_changes_offset=request.late_changes_offset,
            pending=pending,
        )


def _begun(period: str) -> date:
    """Today in Vietnam, or invalid (`period`) when the period has not begun."""
    today = today_in_vietnam()
    current = f"{today:%Y-%m}"
    if period_months(period)[0] > current:
        raise RpcError("invalid", f"period {period} has not begun (this month is {current})", field="period")
    return today


async def unit_rollups(request: rpc.GetUnitRollups, app: EvaluationContext) -> dict[str, Any]:
    """The roll-up figures of each unit asked for that has data (queries.unit_rollups), in one reply; invalid
    (`period`) before the period begins."""
    today = _begun(request.period)
    async with app.pool.acquire() as conn:
        return await queries.unit_rollups(conn, request.unit_ids, request.period, today=today)


async def direct_cells(request: rpc.CountDirectCells, app: EvaluationContext) -> dict[str, Any]:
    """How many cells directly under the committee count in the period (queries.direct_cells); invalid (`period`)
    before the period begins."""
    _begun(request.period)
    async with app.pool.acquire() as conn:
        return {"cells": await queries.direct_cells(conn, request.committee_id, request.period)}


async def committee_ranking(request: rpc.GetCommitteeRanking, app: EvaluationContext) -> dict[str, Any]:
    """The subtree's cells ranked by score (only the weak ones, worst first, when asked); `limit` at most the
    configured maximum; the period's errors as for the roll-up."""
    max_limit = app.settings.ranking_max_limit
    if request.limit > max_limit:
        raise RpcError("invalid", f"limit must be 1–{max_limit} and offset ≥ 0", field="limit")
    if request.met_only and not (request.weak_only and len(period_months(request.period)) == 1):
        raise RpcError("invalid", "met_only: only for the weakest cells of a month", field="met_only")
    async with app.pool.acquire() as conn:
        await _committee(conn, request.committee_id)
        pending = await _rated(conn, request.committee_id, request.period)
        return await queries.committee_ranking(
            conn,
            request.committee_id,
            request.period,
            order=request.order,
            limit=request.limit,
            offset=request.offset,
            weak_only=request.weak_only,
            met_only=request.met_only,
            pending=pending,
        )


async def committee_report(request: rpc.GetCommitteeReport, app: EvaluationContext) -> dict[str, Any]:
    """A page of the subtree's cells with their figures (queries.committee_report); the period's errors as for the
    roll-up."""
    async with app.pool.acquire() as conn:
        await _committee(conn, request.committee_id)
        pending = await _rated(conn, request.committee_id, request.period)
        return await queries.committee_report(
            conn,
            request.committee_id,
            request.period,
            after_score=request.after_score,
            after_cell=request.after_cell,
            limit=request.limit,
            pending=pending,
        )


async def weakest_cells(request: rpc.GetWeakestCells, app: EvaluationContext) -> dict[str, Any]:
    """The subtree's weakest cells as report lines (queries.weakest_cells); the period's errors as for the roll-up."""
    async with app.pool.acquire() as conn:
        await _committee(conn, request.committee_id)
        pending = await _rated(conn, request.committee_id, request.period)
        return await queries.weakest_cells(
            conn,
            request.committee_id,
            request.period,
            limit=request.limit,
            met_only=request.met_only,
            pending=pending,
        )


async def list_frameworks(request: rpc.ListFrameworks, app: EvaluationContext) -> dict[str, Any]:
    """Every stored framework version, as one page."""
    async with app.pool.acquire() as conn:
        items = await queries.list_frameworks(conn)
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}


async def get_framework(request: rpc.GetFramework, app: EvaluationContext) -> dict[str, Any]:
    """A framework document and its versions."""
    async with app.pool.acquire() as conn:
        found = await queries.get_framework(conn, request.framework_id, request.version)
    if found is None:
        raise RpcError("not_found", f"no framework {request.framework_id}", field="framework_id")
    return found


async def adopt_framework(request: rpc.AdoptFramework, app: EvaluationContext) -> dict[str, Any]:
    """Store and adopt a framework document; invalid naming `document.<field>`, conflict on a changed version."""
    async with app.uow_factory() as uow:
        if request.committee_id is not None:
            async with app.pool.acquire() as conn:
                if await queries.unit_kind(conn, request.committee_id) != "committee":
                    raise RpcError("not_found", f"no committee {request.committee_id}", field="committee_id")
        try:
            adopted = await adopt_framework_use_case(uow, document=request.document, committee_id=request.committee_id)
        except FrameworkError as exc:
            field = f"document.{exc.field}" if exc.field else "document"
            raise RpcError("invalid", exc.message, field=field) from None
        except FrameworkConflict as exc:
            raise RpcError("conflict", str(exc), field="document.version") from None
        await uow.commit()
    return adopted


async def rescore(request: rpc.Rescore, app: EvaluationContext) -> dict[str, Any]:
    """Queue a rescoring job and wake the worker; the job already queued by the caller's `job_id` when it names one
    (conflict when that job covers another subtree or other months); `invalid` naming the field for months outside
    what history holds (shared.plausible.span_range_problem: the gateway's own rule, judged again for any caller)."""
    if problem := span_range_problem(request.period_from, request.period_to, now=now()):
        raise RpcError("invalid", problem.message, field=problem.field)
    async with app.uow_factory() as uow:
        try:
            started = await start_rescore_job(
                uow,
                job_id=request.job_id or uuid.uuid4().hex,
                unit_id=request.unit_id,
                period_from=request.period_from,
                period_to=request.period_to,
            )
        except RescoreJobConflict:
            raise RpcError(
                "conflict", f"job_id: {request.job_id} names a job over other cells or months", field="job_id"
            ) from None
        await uow.commit()
    app.rescore_wanted.set()
    return started


async def rescore_status(request: rpc.GetRescoreStatus, app: EvaluationContext) -> dict[str, Any]:
    """A rescoring job's state and progress."""
    async with app.pool.acquire() as conn:
        found = await queries.rescore_job(conn, request.job_id)
    if found is None:
        raise RpcError("not_found", f"no rescoring job {request.job_id}", field="job_id")
    return found


def rpc_methods(app: EvaluationContext) -> RpcMethods:
    """The evaluation.rpc catalog bound to the service's context."""
    methods = RpcMethods("evaluation")
    methods.add(rpc.GetMeetingScore, partial(meeting_score, app=app))
    methods.add(rpc.GetCellPeriods, partial(cell_periods, app=app))
    methods.add(rpc.GetCellHalfYear, partial(cell_half_year, app=app))
    methods.add(rpc.GetCommitteeRollup, partial(committee_rollup, app=app))
    methods.add(rpc.GetUnitRollups, partial(unit_rollups, app=app))
    methods.add(rpc.CountDirectCells, partial(direct_cells, app=app))
    methods.add(rpc.GetCommitteeRanking, partial(committee_ranking, app=app))
    methods.add(rpc.GetCommitteeReport, partial(committee_report, app=app))
    methods.add(rpc.GetWeakestCells, partial(weakest_cells, app=app))
    methods.add(rpc.ListFrameworks, partial(list_frameworks, app=app))
    methods.add(rpc.GetFramework, partial(get_framework, app=app))
    methods.add(rpc.AdoptFramework, partial(adopt_framework, app=app))
    methods.add(rpc.Rescore, partial(rescore, app=app))
    methods.add(rpc.GetRescoreStatus, partial(rescore_status, app=app))
    add_ops_methods(methods, rpc.OPS, pool=app.pool, settings=app.settings)
    return methods
