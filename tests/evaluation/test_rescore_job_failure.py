"""A rescoring job that fails says why in English, naming the field, never an exception's repr (trial 21: the API
showed "ValueError('year 10000 is out of range')" and the page a bare "Bị lỗi")."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from services.evaluation.bootstrap import prepare
from services.evaluation.handlers.rescoring import INTERNAL_FAILURE, run_rescore_job, start_rescore_job
from services.evaluation.queries import rescore_job
from tests.evaluation.private_db import private_pool

Factory = Callable[[], AbstractAsyncContextManager[Any]]


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[dict[str, Any]]:
    """A private evaluation database and its unit-of-work factory."""
    async with private_pool(database_url) as pool:
        yield {"pool": pool, "factory": await prepare(pool)}


async def test_a_job_queued_over_months_beyond_any_date_fails_naming_the_field(world: dict[str, Any]) -> None:
    """A job queued before the months were bounded (the RPC now refuses them) fails without running."""
    pool, factory = world["pool"], world["factory"]
    async with factory() as uow:
        await start_rescore_job(uow, job_id="job-9999", unit_id=None, period_from="2025-01", period_to="9999-12")
        await uow.commit()
    assert await run_rescore_job(uow_factory=factory, stale_after_seconds=600) == "job-9999"
    async with pool.acquire() as conn:
        job = await rescore_job(conn, "job-9999")
    assert job is not None and job["status"] == "failed"
    assert (job["error_field"], job["error_code"]) == ("period_to", "too_far_ahead")
    assert job["error"].startswith("period_to: 9999-12 begins more than 2 years ahead")
    assert "Error" not in job["error"]


class FailingOnce:
    """The real unit-of-work factory whose second unit of work fails to open (the first claims the job): a fault
    in the middle of a job, its exception's text something a person must not read."""

    def __init__(self, factory: Factory) -> None:
        self.factory, self.calls = factory, 0

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Any]:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("connection <asyncpg.Connection at 0x7f> was closed in the middle of an operation")
        async with self.factory() as uow:
            yield uow


async def test_a_job_stopped_by_an_internal_error_says_so_without_the_exception(world: dict[str, Any]) -> None:
    pool, factory = world["pool"], world["factory"]
    async with factory() as uow:
        await start_rescore_job(uow, job_id="job-boom", unit_id=None, period_from="2025-01", period_to=None)
        await uow.commit()
    assert await run_rescore_job(uow_factory=FailingOnce(factory), stale_after_seconds=600) == "job-boom"
    async with pool.acquire() as conn:
        job = await rescore_job(conn, "job-boom")
    assert job is not None and job["status"] == "failed"
    assert (job["error"], job["error_field"], job["error_code"]) == (INTERNAL_FAILURE, None, "internal")
