"""Delivery attempts: send leased deliveries, back off exponentially, give up and report, retry on request."""

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from services.notifications.channels import DeliveryError, Sender
from services.notifications.repository.outgoing import ClaimedDelivery
from services.notifications.unit_of_work import SOURCE, NotificationsUnitOfWork
from shared.contracts.notifications import Channel, NotificationDelivered, NotificationFailed
from shared.envelope import new_event
from shared.logs import get_logger
from shared.metrics import NOTIFICATION_DELIVERIES

log = get_logger(__name__)
SHUTDOWN_SEND_SECONDS = 2.0
"""How long sends under way may still take when the service stops (within its graceful timeout)."""


def backoff(attempt: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """Wait before the next attempt: base, 2×base, 4×base … capped."""
    return timedelta(seconds=min(base_seconds * (2 ** max(attempt - 1, 0)), max_seconds))


async def claim_deliveries(uow: NotificationsUnitOfWork) -> list[ClaimedDelivery]:
    """Lease the due deliveries for one attempt each."""
    s = uow.settings
    return await uow.outgoing.claim_deliveries(
        now=uow.now(), limit=s.delivery_batch_size, lease=timedelta(seconds=s.delivery_lease_seconds)
    )


async def record_attempt(delivery: ClaimedDelivery, *, error: str | None, uow: NotificationsUnitOfWork) -> str | None:
    """Store one attempt's outcome and emit delivered/failed events; the new status."""
    now: datetime = uow.now()
    s = uow.settings
    attempt = delivery.attempts + 1
    if error is None:
        status, next_at = "delivered", None
    elif attempt >= s.delivery_max_attempts:
        status, next_at = "failed", None
    else:
        status = "pending"
        next_at = now + backoff(
            attempt, base_seconds=s.delivery_backoff_seconds, max_seconds=s.delivery_backoff_max_seconds
        )
    recorded = await uow.outgoing.record_outcome(
        delivery.id, status=status, error=error, next_attempt_at=next_at, now=now
    )
    if recorded is None:
        return None
    NOTIFICATION_DELIVERIES.labels(delivery.rule, delivery.channel, "retrying" if status == "pending" else status).inc()
    fields = dict(
        notification_id=delivery.notification_id,
        rule=delivery.rule,
        recipient=delivery.recipient_id,
        channel=Channel(delivery.channel),
        subject_id=delivery.subject_id,
    )
    if status == "delivered":
        uow.emit(
            new_event(
                type="notification.delivered.v1",
                source=SOURCE,
                subject=delivery.notification_id,
                time=now,
                data=NotificationDelivered(**fields),
            )
        )
        log.info("delivery_sent", delivery_id=delivery.id, channel=delivery.channel, attempt=attempt)
    elif status == "failed":
        uow.emit(
            new_event(
                type="notification.failed.v1",
                source=SOURCE,
                subject=delivery.notification_id,
                time=now,
                data=NotificationFailed(**fields, error=error),
            )
        )
        log.warning("delivery_failed", delivery_id=delivery.id, channel=delivery.channel, attempt=attempt, error=error)
    else:
        log.info(
            "delivery_retry_planned",
            delivery_id=delivery.id,
            channel=delivery.channel,
            attempt=attempt,
            next_attempt_at=next_at.isoformat() if next_at else None,
            error=error,
        )
    return status


async def attempt(delivery: ClaimedDelivery, senders: Mapping[str, Sender]) -> str | None:
    """Send once; None on success, else the reason."""
    sender = senders.get(delivery.channel)
    if sender is None:
        return f"no sender for channel {delivery.channel}"
    try:
        await sender.send(delivery)
    except DeliveryError as exc:
        return str(exc)
    return None


async def deliver_due(uow_factory: Callable[[], NotificationsUnitOfWork], senders: Mapping[str, Sender]) -> int:
    """One round: lease due deliveries, send them concurrently, record each outcome; return how many."""
    async with uow_factory() as uow:
        claimed = await claim_deliveries(uow)
        await uow.commit()
    if not claimed:
        return 0
    sends = [asyncio.create_task(attempt(delivery, senders)) for delivery in claimed]
    try:
        await asyncio.wait(sends)  # a cancel here (shutdown) leaves the sends running: see below
    except asyncio.CancelledError:
        await _finish_at_shutdown(claimed, sends, uow_factory)
        raise
    for delivery, send in zip(claimed, sends, strict=True):
        async with uow_factory() as uow:
            await record_attempt(delivery, error=send.result(), uow=uow)
            await uow.commit()
    return len(claimed)


async def _finish_at_shutdown(
    claimed: list[ClaimedDelivery],
    sends: list["asyncio.Task[str | None]"],
    uow_factory: Callable[[], NotificationsUnitOfWork],
) -> None:
    """Stopping mid-round: let the sends under way end (briefly), record those that ended and hand the others back.

    Cancelling a send after the mail server took the mail, without recording it, sent it again once the lease ran
    out (a duplicate); a claimed delivery never tried waited out the whole lease (120 s) after the restart.
    """
    _, unfinished = await asyncio.wait(sends, timeout=SHUTDOWN_SEND_SECONDS)
    for send in unfinished:
        send.cancel()
    ended: list[tuple[ClaimedDelivery, str | None]] = []
    handed_back: list[int] = []
    for delivery, send in zip(claimed, sends, strict=True):
        if send.done() and not send.cancelled() and send.exception() is None:
            ended.append((delivery, send.result()))
        else:
            handed_back.append(delivery.id)
    async with uow_factory() as uow:
        for delivery, error in ended:
            await record_attempt(delivery, error=error, uow=uow)
        if handed_back:
            await uow.outgoing.release_deliveries(handed_back)
        await uow.commit()
    log.info("deliveries_stopped", recorded=len(ended), handed_back=len(handed_back))
