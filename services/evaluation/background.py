"""The evaluation service's background jobs, each a step run by shared.background.poll."""

import asyncio
import functools

from services.evaluation import queries
from services.evaluation.context import EvaluationContext
from services.evaluation.handlers.closing import close_periods
from services.evaluation.handlers.coalesced import Hold, PeriodRefreshes, release_rechecks, score_dirty_meetings
from services.evaluation.handlers.rescoring import run_rescore_job
from shared.background import poll
from shared.logs import get_logger

log = get_logger(__name__)


async def period_close_loop(app: EvaluationContext) -> None:
    """Close due months (durable `period_close` rows, batches claimed SKIP LOCKED), at start and every poll."""
    settings = app.settings

    async def step() -> bool:
        done = await close_periods(uow_factory=app.uow_factory, batch_size=settings.period_close_batch)
        if done["batches"]:
            log.info("period_close_progress", **done)
        # the roll-up read model (migration 0005): appended deltas folded, so a read after a quiet spell finds them
        # done (reads fold what they need); tree changes are applied by subtree_refresh_loop
        async with app.pool.acquire() as conn:
            folded = await queries.fold_rollup_deltas(conn)
        if folded:
            log.info("rollup_deltas_folded", pairs=folded)
        return False  # close_periods runs every due batch; a failed round resumes at the committed cursor

    await poll("evaluation.period_close", step, poll_seconds=settings.period_close_poll_seconds)


async def subtree_refresh_loop(app: EvaluationContext) -> None:
    """Apply noted org-tree changes (`subtree_change`) to the roll-ups' subtrees every `subtree_refresh_poll_seconds`
    (one cheap look when there are none), in its own transaction: a bulk-loaded province's 35,000 re-dated cells take
    13-17 s under load, which reads do not wait for (queries.tree_changes_pending: the tree as last applied meanwhile,
    `recalculating`)."""
    unanalyzed = 0  # pairs moved by the refreshes since subtree_cell was last analyzed here

    async def step() -> bool:
        nonlocal unanalyzed
        async with app.pool.acquire() as conn:
            moved = await queries.refresh_subtrees(conn)
            if moved:
                log.info("subtree_changes_applied", pairs=moved)
            # refresh_subtrees analyzes after one large refresh; a load applied over several rounds is analyzed once
            # the rounds add up to as much, so the first reads after it are planned on statistics as well
            unanalyzed = 0 if moved >= queries.ANALYZE_AFTER_MOVES else unanalyzed + moved
            if unanalyzed >= queries.ANALYZE_AFTER_MOVES:
                await conn.execute("ANALYZE subtree_cell")
                unanalyzed = 0
        return False

    await poll("evaluation.subtree_refresh", step, poll_seconds=app.settings.subtree_refresh_poll_seconds)


async def rescore_worker(app: EvaluationContext) -> None:
    """Run queued rescoring jobs one by one, woken by the `rescore` method or every poll."""
    settings = app.settings

    async def step() -> bool:
        # a job left running by a stopped worker is claimed again once its heartbeat is stale
        ran = await run_rescore_job(uow_factory=app.uow_factory, stale_after_seconds=settings.rescore_stale_seconds)
        return ran is not None

    await poll("evaluation.rescore", step, poll_seconds=settings.rescore_poll_seconds, wake=app.rescore_wanted)


async def recheck_loop(app: EvaluationContext) -> None:
    """Note for scoring the meetings whose recheck moment has come (a final documents' 48 hours over), every poll:
    such moments are hours apart, so the scoring rounds do not look for them each time."""
    settings = app.settings

    async def step() -> bool:
        return (
            await release_rechecks(uow_factory=app.uow_factory, limit=settings.scoring_batch) >= settings.scoring_batch
        )

    await poll("evaluation.recheck", step, poll_seconds=settings.recheck_poll_seconds)


async def scoring_worker(app: EvaluationContext) -> None:
    """Score the cells facts noted dirty (`dirty_cell`, claimed SKIP LOCKED), woken by each such commit in this
    process, else every poll (other replicas' notes); again at once while a round claimed a full batch. A round
    first waits for the fact consumer to settle (services/evaluation/activity.py), within a bound.

    `scoring_workers` rounds may run side by side (as replicas' do: disjoint claims, each cell under its lock), so
    a fact committed while a round scores is scored by the next worker instead of waiting for that round to end,
    and a cell whose scoring is slow or blocked holds up no other; under load or while bulk batches flow, one worker
    only (each delivery a round waits for is one fewer republication). A round commits its meetings' scores first;
    its periods are refreshed in a transaction of their own beside the worker's next round (`PeriodRefreshes`)."""
    settings = app.settings

    declined = False  # a worker declined (and cleared) the wake-up the workers share since the first one looked
    activity = app.facts_activity
    hold = Hold(
        flowing=lambda: activity.batches_flowing(quiet=settings.period_hold_quiet_seconds),
        seconds=settings.period_hold_seconds,
    )

    async def step(*, worker: int) -> bool:
        nonlocal declined
        first = worker == 0
        # the batches stopped: the periods held while they flowed (cells whose meetings did not come) are refreshed
        # by this round, their Poor published once (issue 12); at start, those a process gone left held
        released = await hold.release(app.uow_factory) if first else 0
        if released:
            log.info("cell_periods_released", notes=released)
        if not first and (activity.bulk or activity.busy_share() >= settings.scoring_busy_share):
            # under load or bulk work, one worker coalesces: fewer rounds, fewer republications. This worker took the
            # wake-up from the first one, busy scoring: it looks again once its round ends (issue 12: it slept until
            # the next commit or the 1 s poll, and the notes committed during its round with it)
            declined = True
            return False
        if first:
            declined = False
        # let the deliveries in flight (and those right behind them) fold into this round, within a bound
        await app.facts_activity.wait_settled(
            settle=settings.scoring_settle_seconds,
            max_wait=settings.scoring_max_wait_seconds,
            bulk_wait=settings.scoring_bulk_wait_seconds,
            busy_share=settings.scoring_busy_share,
        )
        # cut short while facts still flow: the cells noted since the previous round wait for the next one
        scored = await score_dirty_meetings(
            uow_factory=app.uow_factory, limit=settings.scoring_batch, noted_before=activity.noted_before
        )
        # the meetings' scores are out; their periods are refreshed beside this worker's next round
        refreshes[worker].start(scored)
        return scored.more or (first and declined)

    workers = range(max(1, settings.scoring_workers))
    refreshes = [PeriodRefreshes(app.uow_factory, hold=hold) for _ in workers]
    try:
        await asyncio.gather(
            *(
                poll(
                    "evaluation.scoring",
                    functools.partial(step, worker=worker),
                    poll_seconds=settings.scoring_poll_seconds,
                    wake=app.scoring_wanted,
                )
                for worker in workers
            )
        )
    finally:
        for refresh in refreshes:
            await refresh.close()
