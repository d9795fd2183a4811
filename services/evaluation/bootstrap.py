"""Wires the evaluation service: the spec (router, queues, context), the shipped frameworks, the app."""

import asyncio
from collections.abc import Callable
from datetime import date
from pathlib import Path

import asyncpg
from faststream.asgi import AsgiFastStream
from faststream.rabbit import RabbitBroker

from services.evaluation import content_keys
from services.evaluation.background import (
    period_close_loop,
    recheck_loop,
    rescore_worker,
    scoring_worker,
    subtree_refresh_loop,
)
from services.evaluation.config import Settings
from services.evaluation.consumers import RPC_QUEUE, build_router
from services.evaluation.context import EvaluationContext
from services.evaluation.domain.framework import Framework
from services.evaluation.handlers import register_shipped, shipped_frameworks
from services.evaluation.unit_of_work import EvaluationUnitOfWork, today_in_vietnam
from shared.consuming import Door
from shared.contracts import evaluation as evaluation_contract
from shared.contracts import frameworks as frameworks_contract
from shared.metrics import JOB_PROGRESS, JOBS, SCORING_BACKLOG, SCORING_FAILING, SCORING_LAG
from shared.runtime import ServiceSpec, build_service_app
from shared.topology import EVALUATION_FACTS

SERVICE_DIR = Path(__file__).parent


def uow_factory_for(
    pool: asyncpg.Pool,
    *,
    today: Callable[[], date] = today_in_vietnam,
    scoring_wanted: asyncio.Event | None = None,
) -> Callable[[], EvaluationUnitOfWork]:
    """A factory of units of work sharing one parsed-framework cache and the scoring worker's wake-up."""
    cache: dict[tuple[str, str], Framework] = {}
    return lambda: EvaluationUnitOfWork(pool, framework_cache=cache, today=today, scoring_wanted=scoring_wanted)


async def prepare(
    pool: asyncpg.Pool,
    *,
    today: Callable[[], date] = today_in_vietnam,
    scoring_wanted: asyncio.Event | None = None,
) -> Callable[[], EvaluationUnitOfWork]:
    """Validate and register the shipped frameworks; return the unit-of-work factory."""
    factory = uow_factory_for(pool, today=today, scoring_wanted=scoring_wanted)
    frameworks = shipped_frameworks()
    async with factory() as uow:
        await register_shipped(uow, frameworks)
        await uow.commit()
    return factory


async def read_gauges(conn: asyncpg.Connection) -> None:
    """Set the job gauges (rescore jobs by status, progress of the running rescore and month close)."""
    for status in ("queued", "running", "done", "failed"):
        JOBS.labels("rescore", status).set(0)
    for row in await conn.fetch("SELECT status, count(*) AS n FROM rescore_job GROUP BY status"):
        JOBS.labels("rescore", row["status"]).set(row["n"])
    running = await conn.fetchrow(
        "SELECT cells_done, cells_total FROM rescore_job WHERE status = 'running' ORDER BY created_at LIMIT 1"
    )
    JOB_PROGRESS.labels("rescore").set(_ratio(running["cells_done"], running["cells_total"]) if running else 1.0)
    open_closes = await conn.fetchval("SELECT count(*) FROM period_close WHERE finished_at IS NULL")
    JOBS.labels("period_close", "running").set(open_closes)
    JOB_PROGRESS.labels("period_close").set(0.0 if open_closes else 1.0)
    backlog = await conn.fetchrow(DIRTY_BACKLOG_SQL)
    SCORING_BACKLOG.set(backlog["cells"])
    SCORING_LAG.set(backlog["lag_seconds"])
    SCORING_FAILING.set(backlog["failing"])


DIRTY_BACKLOG_SQL = (
    "SELECT count(DISTINCT cell_id) AS cells, count(DISTINCT cell_id) FILTER (WHERE attempts > 0) AS failing,"
    " coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 AS lag_seconds FROM dirty_cell"
)
"""The scoring worker's backlog: cells noted dirty and not scored yet, those whose scoring failed (retried later),
and the age of the oldest note (s)."""


def _ratio(done: int | None, total: int | None) -> float:
    return min(1.0, (done or 0) / total) if total else 0.0


def build_spec(settings: Settings, *, today: Callable[[], date] = today_in_vietnam) -> ServiceSpec[EvaluationContext]:
    """The evaluation service's runtime description."""
    door = Door[EvaluationContext]()

    async def build_context(pool: asyncpg.Pool, broker: RabbitBroker) -> EvaluationContext:
        await content_keys.backfill(pool)  # right after the migrations, before any event is taken
        wanted = asyncio.Event()
        factory = await prepare(pool, today=today, scoring_wanted=wanted)
        door.app = EvaluationContext(settings=settings, pool=pool, uow_factory=factory, scoring_wanted=wanted)
        return door.app

    return ServiceSpec(
        name="evaluation",
        service_dir=SERVICE_DIR,
        router=build_router(door),
        consumer_queues=[EVALUATION_FACTS],
        rpc_queue=RPC_QUEUE.name,
        build_context=build_context,
        background=[scoring_worker, period_close_loop, subtree_refresh_loop, rescore_worker, recheck_loop],
        description="Meeting scores under criteria frameworks, cell periods and committee roll-ups.",
        gauges=[read_gauges],
        publishes=sorted({*evaluation_contract.TYPES, *frameworks_contract.TYPES}),
        health_counts={
            "scoring_backlog_cells": "SELECT count(DISTINCT cell_id) FROM dirty_cell",
            "scoring_failing_cells": "SELECT count(DISTINCT cell_id) FROM dirty_cell WHERE attempts > 0",
            "scoring_lag_seconds": "SELECT round(coalesce(extract(epoch FROM clock_timestamp() - min(created_at)),"
            " 0), 1)::float8 FROM dirty_cell",
        },
        # a backlog scored too late, or a cell whose scoring keeps failing, needs an operator as a parked row does
        health_limits={"scoring_lag_seconds": settings.scoring_lag_alert_seconds, "scoring_failing_cells": 0},
    )


def create_app(settings: Settings | None = None, *, today: Callable[[], date] = today_in_vietnam) -> AsgiFastStream:
    """The evaluation ASGI app (consumers, relay, /health, /asyncapi)."""
    settings = settings or Settings()
    return build_service_app(build_spec(settings, today=today), settings)
