"""The service's background loops, started by the runtime (`ServiceSpec.background`)."""

import asyncio

from services.evaluation.context import EvaluationContext
from services.evaluation.handlers.closing import close_periods
from services.evaluation.handlers.rescoring import run_rescore_job
from shared.logs import get_logger

log = get_logger(__name__)


async def period_close_loop(app: EvaluationContext) -> None:
    """A loop that closes due months every poll (and right at the start, to catch up after downtime)."""
    factory, batch_size = app.uow_factory, app.settings.period_close_batch
    poll_seconds = app.settings.period_close_poll_seconds
    while True:
        try:
            done = await close_periods(uow_factory=factory, batch_size=batch_size)
            if done["batches"]:
                log.info("period_close_progress", **done)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The close is durable: the next round resumes at the committed cursor.
            log.exception("period_close_failed", error=repr(exc))
        await asyncio.sleep(poll_seconds)


async def rescore_worker(app: EvaluationContext) -> None:
    """A loop running queued rescoring jobs one by one, woken by the RPC or every poll."""
    factory, wake = app.uow_factory, app.rescore_wanted
    poll_seconds, stale_after_seconds = app.settings.rescore_poll_seconds, app.settings.rescore_stale_seconds
    while True:
        wake.clear()
        try:
            while await run_rescore_job(uow_factory=factory, stale_after_seconds=stale_after_seconds):
                pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A job left running is claimed again once its heartbeat is stale.
            log.exception("rescore_worker_failed", error=repr(exc))
        try:
            await asyncio.wait_for(wake.wait(), timeout=poll_seconds)
        except TimeoutError:
            pass
