"""The service's background tasks: the durable schedule's runner and the delivery sender.

Neither holds state in memory: the schedule and the deliveries are rows, claimed with
FOR UPDATE SKIP LOCKED (or a lease), so restarts and several processes are safe.
"""

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from datetime import timedelta

from services.notifications.channels import ClosableSender, Sender
from services.notifications.context import NotificationsContext
from services.notifications.handlers.deliveries import DeliveryRounds
from services.notifications.handlers.jobs import plan_daily_jobs, record_run, run_job
from services.notifications.holders import DeliveryHolder
from services.notifications.repository.outgoing import Job
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.background import poll, raise_if_cancelling
from shared.logs import get_logger

log = get_logger(__name__)

UowFactory = Callable[[], NotificationsUnitOfWork]


async def run_due_jobs(uow_factory: UowFactory, *, limit: int, replan: bool = False) -> int:
    """Plan missing daily jobs (and with `replan` move those not started to the hours configured: plan_daily_jobs),
    then fire up to `limit` due jobs (or batches of one), each in its own transaction."""
    async with uow_factory() as uow:
        await plan_daily_jobs(uow, replan=replan)
        await uow.commit()
    fired = 0
    while fired < limit:
        async with uow_factory() as uow:
            job = await uow.outgoing.claim_due_job(uow.now())
            if job is None:
                return fired
            try:
                run = await run_job(job, uow)
            except Exception as exc:
                log.exception("schedule_job_failed", kind=job.kind, subject_id=job.subject_id, error=repr(exc))
                failed: tuple[Job, str] | None = (job, repr(exc))
            else:
                await record_run(job, run, uow)
                await uow.commit()
                log.info(
                    "schedule_job_fired",
                    kind=job.kind,
                    subject_id=job.subject_id,
                    created=run.created,
                    resume_after=run.resume_after,
                    again_at=run.again_at.isoformat() if run.again_at else None,
                )
                failed = None
        if failed is not None:
            # the failed run rolled back; record it in a fresh transaction and retry later
            async with uow_factory() as uow:
                retry_at = uow.now() + timedelta(seconds=min(30 * 2 ** failed[0].attempts, 3600))
                await uow.outgoing.postpone_job(failed[0].id, error=failed[1], retry_at=retry_at)
                await uow.commit()
        fired += 1
    return fired


async def run_schedule(app: NotificationsContext) -> None:
    """Background job: fire due schedule rows (claimed FOR UPDATE SKIP LOCKED) until shutdown."""
    settings = app.settings
    batch = settings.schedule_batch_size

    replanned = False  # the daily jobs planned before are moved to this process's hours once, on its first pass

    async def step() -> bool:
        nonlocal replanned
        fired = await run_due_jobs(app.uow_factory, limit=batch, replan=not replanned)
        replanned = True
        return fired >= batch

    await poll("notifications.schedule", step, poll_seconds=settings.schedule_poll_seconds)


async def seal_plain_secrets(uow_factory: UowFactory) -> int:
    """Seal webhook secrets stored in plain text before they were sealed at rest; how many."""
    async with uow_factory() as uow:
        sealed = await uow.outgoing.seal_plain_secrets()
        await uow.commit()
    if sealed:
        log.info("webhook_secrets_sealed", count=sealed)
    return sealed


async def run_deliveries(app: NotificationsContext) -> None:
    """Background job: seal any plain-text webhook secrets, then send due deliveries (leased rows) until shutdown."""
    try:
        await seal_plain_secrets(app.uow_factory)
    except Exception as exc:
        raise_if_cancelling()
        # deliveries must not wait on this: the plain secrets are simply not used until a later start seals them
        log.error("webhook_secrets_seal_failed", error=repr(exc))

    settings = app.settings
    holder = DeliveryHolder(
        every_seconds=settings.delivery_holder_beat_seconds,
        stale_seconds=settings.delivery_holder_stale_seconds,
        http_port=settings.http_port,
    )
    try:
        await holder.register(app.uow_factory)  # before the first round: a restart takes its predecessor's leases
    except Exception as exc:
        raise_if_cancelling()
        log.error("delivery_holder_not_registered", error=repr(exc))  # keep_beating tries again
    beating = asyncio.create_task(holder.keep_beating(app.uow_factory), name="notifications-delivery-holder")
    rounds = DeliveryRounds(app.uow_factory, app.senders, holder=holder)

    async def step() -> bool:
        return await rounds.step() > 0

    try:
        # woken at once by this process's commits that queue deliveries; the poll finds other processes' rows,
        # retries whose backoff ran out and leases that expired
        await poll(
            "notifications.deliveries",
            step,
            poll_seconds=app.settings.delivery_poll_seconds,
            wake=app.deliveries_queued,
        )
    finally:
        try:
            await rounds.drain()  # the last round's outcomes, sent already: recorded before the sessions close
        except Exception as exc:
            log.error("deliveries_drain_failed", error=repr(exc))
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        try:
            await holder.leave(app.uow_factory)  # what it still leases is free at once
        except Exception as exc:
            log.error("delivery_holder_not_left", error=repr(exc))
        await close_senders(app.senders)


async def close_senders(senders: Mapping[str, Sender]) -> None:
    """Close the senders that keep connections open (the SMTP sessions), at shutdown."""
    for sender in senders.values():
        if isinstance(sender, ClosableSender):
            await sender.aclose()
