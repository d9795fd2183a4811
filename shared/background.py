"""The one way a service runs its periodic and durable jobs.

Every background job (meetings' hold sweep, evaluation's period close and rescoring worker,
notifications' schedule and delivery sender) is a *step* over a durable table: claim the due rows
with `FOR UPDATE SKIP LOCKED` (so several instances never take the same row), do the work and commit
in the step's own unit of work. `poll` runs such a step until the service shuts down:

- again at once while the step reports that more may be due (a full batch);
- otherwise after `poll_seconds`, or as soon as `wake` is set;
- after a failure (logged with its traceback) it backs off, doubling the wait up to `max_backoff`,
  and carries on: the rows stay due, so nothing is lost, and a database outage does not kill the job;
- a failure that says a dependency cannot be reached (shared.outages.is_dependency_unavailable: the database or
  the broker down) is no bug of the step: one `background_step_waiting_for_dependency` warning per outage says
  which dependency and why, not a traceback per retry, and `background_step_recovered` says when it is over;
- cancellation (shutdown) is honoured at once, also when it surfaced as a rollback's error or a library swallowed it
  (raise_if_cancelling after every step).
"""

import asyncio
from collections.abc import Awaitable, Callable

from shared.logs import get_logger
from shared.outages import is_dependency_unavailable, outage_of

log = get_logger(__name__)

Step = Callable[[], Awaitable[bool]]
"""One round of a job: True when it did a full batch and more may be due right away."""


def raise_if_cancelling() -> None:
    """Raise CancelledError when this task was asked to stop but the cancel did not surface as one: a cancel that hit
    a query mid-flight can surface as the rollback's error, and aio-pika/aiormq swallow it or turn it into a channel
    error when the broker closes the channel at that moment (a loop running on after its cancel never stops)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def poll(
    job: str,
    step: Step,
    *,
    poll_seconds: float,
    wake: asyncio.Event | None = None,
    max_backoff: float = 60.0,
) -> None:
    """Run `step` until cancelled: again at once while it has more, else after `poll_seconds` or on `wake`."""
    failures = 0
    waiting_since: float | None = None
    """When the current outage's first failure was (loop time), None while no dependency is missing."""
    while True:
        if wake is not None:
            wake.clear()
        try:
            more = await step()
            raise_if_cancelling()  # the step may have swallowed the cancel (aio-pika on a channel the broker closed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if (task := asyncio.current_task()) is not None and task.cancelling():
                # stopping: honour the cancel, but say what failed on the way out (a shutdown's own clean-up
                # failing, such as recording a round's outcomes, is otherwise lost without a trace)
                log.warning("background_step_failed_while_stopping", job=job, error=repr(exc))
                raise asyncio.CancelledError from exc
            failures += 1
            delay = min(poll_seconds * 2 ** (failures - 1), max(max_backoff, poll_seconds))
            if not is_dependency_unavailable(exc):
                log.exception("background_step_failed", job=job, failures=failures, retry_in=delay, error=repr(exc))
            elif waiting_since is None:  # once per outage: its retries say nothing new
                waiting_since = asyncio.get_running_loop().time()
                outage = outage_of(exc)
                log.warning(
                    "background_step_waiting_for_dependency",
                    job=job,
                    dependency=outage.dependency if outage is not None else "unknown",
                    error=repr(exc),
                    retry_in=delay,
                )
            await asyncio.sleep(delay)
            continue
        if failures:
            waited = {}
            if waiting_since is not None:
                waited["waited_seconds"] = round(asyncio.get_running_loop().time() - waiting_since, 1)
            log.info("background_step_recovered", job=job, failures=failures, **waited)
            failures = 0
            waiting_since = None
        if more:
            await asyncio.sleep(0)  # let the loop breathe between full batches
            continue
        await _idle(poll_seconds, wake)


async def _idle(seconds: float, wake: asyncio.Event | None) -> None:
    if wake is None:
        await asyncio.sleep(seconds)
        return
    # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns the wake-up and drops a cancel that arrives in
    # the same turn, so a worker being stopped went on to its next poll
    try:
        async with asyncio.timeout(seconds):
            await wake.wait()
    except TimeoutError:
        pass
