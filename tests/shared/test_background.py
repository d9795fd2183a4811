"""shared.background.poll: the one loop every service's periodic and durable jobs run in."""

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from shared.background import poll
from tests.support.logs import route_logs_to_stdlib, structured_logs
from tests.support.running import eventually


@asynccontextmanager
async def running(job: Callable[[], Coroutine[Any, Any, None]]) -> AsyncIterator[asyncio.Task[None]]:
    """Run a job as a task; cancel it (as the runtime does at shutdown) on the way out."""
    task = asyncio.create_task(job())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_full_batch_runs_again_at_once_and_an_empty_one_waits_for_the_poll_or_a_wake() -> None:
    due = [5]  # rows due; the step claims at most 2 per round
    rounds: list[int] = []
    wake = asyncio.Event()

    async def step() -> bool:
        taken = min(due[0], 2)
        due[0] -= taken
        rounds.append(taken)
        return taken == 2

    async with running(lambda: poll("test.batches", step, poll_seconds=3600, wake=wake)):
        await eventually(lambda: rounds == [2, 2, 1])  # no poll wait between full batches
        due[0] = 1
        wake.set()  # instead of the hour-long poll
        await eventually(lambda: rounds == [2, 2, 1, 1])


async def test_a_failing_step_is_logged_backs_off_and_the_job_carries_on(caplog: pytest.LogCaptureFixture) -> None:
    route_logs_to_stdlib(caplog)
    calls: list[float] = []

    async def step() -> bool:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) <= 3:
            raise RuntimeError("a bug of the step")
        return False

    async with running(lambda: poll("test.flaky", step, poll_seconds=0.05, max_backoff=0.2)) as task:
        await eventually(lambda: len(calls) >= 5, timeout=60)
        assert not task.done()
    failed = [line for line in structured_logs(caplog) if line["event"] == "background_step_failed"]
    assert [line["failures"] for line in failed] == [1, 2, 3]
    assert [line["retry_in"] for line in failed] == [0.05, 0.1, 0.2]  # doubling, capped at max_backoff
    assert all(line["exc_info"] is True and line["job"] == "test.flaky" for line in failed)
    assert any(line["event"] == "background_step_recovered" for line in structured_logs(caplog))


async def test_a_step_waiting_for_the_database_says_so_once_per_outage_not_per_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    route_logs_to_stdlib(caplog)
    outcomes: list[BaseException | None] = [
        *[asyncpg.exceptions.CannotConnectNowError("the database system is starting up")] * 4,
        None,
        *[asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")] * 3,
    ]
    calls: list[int] = []

    async def step() -> bool:
        calls.append(1)
        outcome = outcomes[len(calls) - 1] if len(calls) <= len(outcomes) else None
        if outcome is not None:
            raise outcome
        return False

    async with running(lambda: poll("test.outage", step, poll_seconds=0.01, max_backoff=0.02)):
        await eventually(lambda: len(calls) > len(outcomes) + 1, timeout=60)
    lines = [line for line in structured_logs(caplog) if line.get("job") == "test.outage"]
    waiting = [line for line in lines if line["event"] == "background_step_waiting_for_dependency"]
    assert (
        [(line["dependency"], line["error"][:21]) for line in waiting]
        == [
            ("database", "CannotConnectNowError"),  # the first outage, once for its 4 failures
            ("database", "ConnectionDoesNotExist"[:21]),  # the second, once for its 3
        ]
    )
    assert all(line["level"] == "warning" and "retry_in" in line for line in waiting)
    assert not [line for line in lines if line["event"] == "background_step_failed"]  # no traceback per retry
    recovered = [line for line in lines if line["event"] == "background_step_recovered"]
    assert [line["failures"] for line in recovered] == [4, 3] and all("waited_seconds" in line for line in recovered)


async def test_shutdown_stops_the_job_even_mid_step() -> None:
    started = asyncio.Event()

    async def step() -> bool:
        started.set()
        await asyncio.Event().wait()  # a step that would never end by itself
        return False

    async with running(lambda: poll("test.stuck", step, poll_seconds=0.01)) as task:
        await started.wait()
    assert task.cancelled()


async def test_a_step_failing_in_its_own_clean_up_at_shutdown_stops_the_job_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A step whose clean-up after the cancel fails (the delivery sender recording a round's outcomes on its way
    out): the job still ends cancelled, and the failure is logged, not lost (a round sent but never recorded went
    out again after its lease without a trace of why)."""
    route_logs_to_stdlib(caplog)
    started = asyncio.Event()

    async def step() -> bool:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise ConnectionError("recording the round failed") from None
        return False

    async with running(lambda: poll("test.clean-up", step, poll_seconds=0.01)) as task:
        await started.wait()
    assert task.cancelled()
    stopping = [line for line in structured_logs(caplog) if line["event"] == "background_step_failed_while_stopping"]
    assert [(line["job"], line["error"]) for line in stopping] == [
        ("test.clean-up", "ConnectionError('recording the round failed')")
    ]


async def test_a_stop_that_comes_with_a_wake_up_stops_the_job() -> None:
    """A cancel in the same turn as the wake-up the idle job waits for: on Python 3.11 `asyncio.wait_for` returned the
    wake-up and dropped the cancel, so a stopped worker went on to another step (and a test waiting for it hung)."""
    wake = asyncio.Event()
    steps: list[int] = []

    async def step() -> bool:
        steps.append(1)
        return False

    task = asyncio.create_task(poll("test.stop_with_wake", step, poll_seconds=3600, wake=wake))
    await eventually(lambda: steps == [1])  # idle now, waiting for the wake-up
    wake.set()
    task.cancel()  # the same turn: the wake-up is ready when the cancel lands
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)
    assert steps == [1]
