"""The evaluation.rpc catalog of docs/architecture.md, over the read side and the use cases."""

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg

from services.evaluation import queries
from services.evaluation.domain.framework import FrameworkError
from services.evaluation.handlers import adopt_framework as adopt_framework_use_case
from services.evaluation.handlers.frameworks import FrameworkConflict
from services.evaluation.handlers.rescoring import start_rescore_job
from services.evaluation.unit_of_work import EvaluationUnitOfWork
from shared.periods import is_period
from shared.rpc import RpcError, RpcMethod


def check_period(period: str, *, field: str = "period") -> str:
    """A period like 2026-11, 2026-Q4 or 2026, else an `invalid` error naming the field."""
    if not is_period(period):
        raise RpcError("invalid", "period must look like 2026-11, 2026-Q4 or 2026", field=field)
    return period


def rpc_methods(
    pool: asyncpg.Pool,
    *,
    uow_factory: Callable[[], EvaluationUnitOfWork],
    weakest: int = 5,
    max_limit: int = 500,
    wake_rescore: Callable[[], None] = lambda: None,
) -> Mapping[str, RpcMethod]:
    """Build the methods, bound to the pool, the unit-of-work factory and the rescoring worker's wake-up."""

    async def meeting_score(meeting_id: str) -> dict[str, Any]:
        async with pool.acquire() as conn:
            found = await queries.meeting_score(conn, meeting_id)
        if found is None:
            raise RpcError("not_found", f"no score for meeting {meeting_id}", field="meeting_id")
        return found

    async def cell_periods(cell_id: str, year: int | None = None) -> dict[str, Any]:
        async with pool.acquire() as conn:
            return {"cell_id": cell_id, "periods": await queries.cell_periods(conn, cell_id, year)}

    async def _committee(conn: asyncpg.Connection, committee_id: str) -> None:
        if await queries.unit_kind(conn, committee_id) is None:
            raise RpcError("not_found", f"no unit {committee_id}", field="committee_id")

    async def committee_rollup(committee_id: str, period: str) -> dict[str, Any]:
        check_period(period)
        async with pool.acquire() as conn:
            await _committee(conn, committee_id)
            return await queries.committee_rollup(conn, committee_id, period, weakest=weakest)

    async def committee_ranking(
        committee_id: str, period: str, order: str = "desc", limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        check_period(period)
        if order not in ("asc", "desc"):
            raise RpcError("invalid", "order must be asc or desc", field="order")
        if not (1 <= limit <= max_limit) or offset < 0:
            raise RpcError("invalid", f"limit must be 1–{max_limit} and offset ≥ 0", field="limit")
        async with pool.acquire() as conn:
            await _committee(conn, committee_id)
            return await queries.committee_ranking(
                conn,
                committee_id,
                period,
                order="asc" if order == "asc" else "desc",
                limit=limit,
                offset=offset,
            )

    async def list_frameworks() -> dict[str, Any]:
        async with pool.acquire() as conn:
            items = await queries.list_frameworks(conn)
        return {"items": items, "total": len(items), "limit": len(items), "offset": 0}

    async def get_framework(framework_id: str, version: str | None = None) -> dict[str, Any]:
        async with pool.acquire() as conn:
            found = await queries.get_framework(conn, framework_id, version)
        if found is None:
            raise RpcError("not_found", f"no framework {framework_id}", field="framework_id")
        return found

    async def adopt_framework(document: Any, committee_id: str | None = None) -> dict[str, Any]:
        async with uow_factory() as uow:
            if committee_id is not None:
                async with pool.acquire() as conn:
                    if await queries.unit_kind(conn, committee_id) != "committee":
                        raise RpcError("not_found", f"no committee {committee_id}", field="committee_id")
            try:
                adopted = await adopt_framework_use_case(uow, document=document, committee_id=committee_id)
            except FrameworkError as exc:
                field = f"document.{exc.field}" if exc.field else "document"
                raise RpcError("invalid", exc.message, field=field) from None
            except FrameworkConflict as exc:
                raise RpcError("conflict", str(exc), field="document.version") from None
            await uow.commit()
        return adopted

    async def rescore(
        unit_id: str | None = None, period_from: str | None = None, period_to: str | None = None
    ) -> dict[str, Any]:
        for value, field in ((period_from, "period_from"), (period_to, "period_to")):
            if value is not None:
                check_period(value, field=field)
        async with uow_factory() as uow:
            started = await start_rescore_job(
                uow, job_id=uuid.uuid4().hex, unit_id=unit_id, period_from=period_from, period_to=period_to
            )
            await uow.commit()
        wake_rescore()
        return started

    async def rescore_status(job_id: str) -> dict[str, Any]:
        async with pool.acquire() as conn:
            found = await queries.rescore_job(conn, job_id)
        if found is None:
            raise RpcError("not_found", f"no rescoring job {job_id}", field="job_id")
        return found

    return {
        "meeting_score": meeting_score,
        "cell_periods": cell_periods,
        "committee_rollup": committee_rollup,
        "committee_ranking": committee_ranking,
        "list_frameworks": list_frameworks,
        "get_framework": get_framework,
        "adopt_framework": adopt_framework,
        "rescore": rescore,
        "rescore_status": rescore_status,
    }
