"""Notifications and their deliveries are pruned daily once older than CHIBO_NOTIFICATION_RETENTION_DAYS, in
batches, unless something still needs them: an unread notice (its inbox lists it), a meeting still ahead (its
notices may be raised again until it starts); a newer one stays and still stops its alert raised again."""

from dataclasses import replace
from datetime import datetime, timedelta

import asyncpg
import pytest
from pydantic import ValidationError

from services.notifications.config import Settings
from services.notifications.handlers.jobs import DAILY_MAIL_PRUNE, DAILY_NOTIFICATION_PRUNE, run_job
from services.notifications.repository.outgoing import Job
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.metrics import ROWS_PRUNED
from shared.periods import VIETNAM_TZ
from tests.notifications.fakes import Clock
from tests.notifications.test_shared_address import deliver_all, members, notice, probation, raise_now
from tests.support.ids import random_id


async def run_daily(pool: asyncpg.Pool, settings: Settings, clock: Clock, kind: str) -> int:
    """One day's job of `kind` as the schedule runs it, batch after batch (each its own transaction with the job's
    cursor); how many batches it took."""
    job = Job(id=0, kind=kind, subject_id=clock.value.date().isoformat(), due_at=clock.value, attempts=0)
    for batches in range(1, 100_000):
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            ran = await run_job(job, uow)
            await uow.commit()
        if ran.resume_after is None:
            return batches
        job = replace(job, cursor=ran.resume_after)
    raise AssertionError("the prune never finished")


async def kept(pool: asyncpg.Pool, subject_ids: list[str]) -> dict[str, tuple[int, int]]:
    """subject -> (notifications, deliveries) still stored."""
    rows = await pool.fetch(
        "SELECT n.subject_id, count(DISTINCT n.id) AS notifications, count(d.id) AS deliveries FROM notification n"
        " LEFT JOIN delivery d ON d.notification_id = n.id WHERE n.subject_id = ANY($1::text[]) GROUP BY 1",
        subject_ids,
    )
    return {row["subject_id"]: (row["notifications"], row["deliveries"]) for row in rows}


@pytest.mark.parametrize("batch", [5000, 1])
async def test_old_read_notifications_go_with_their_deliveries_and_those_still_needed_stay(
    pool: asyncpg.Pool, settings: Settings, batch: int
) -> None:
    settings = settings.model_copy(update={"prune_batch_size": batch})
    now = datetime.now(VIETNAM_TZ)
    old = now - timedelta(days=settings.notification_retention_days + 30)
    read_old, unread_old, ahead, read_recent = (random_id(kind) for kind in ("dv", "dv", "mtg", "dv"))
    await pool.execute(
        "INSERT INTO meeting (meeting_id, scheduled_starts_at, rescheduled_starts_at) VALUES ($1, $2, $3)",
        ahead,
        old + timedelta(days=7),
        now + timedelta(days=300),  # moved far ahead: its notices may be raised again until then
    )
    clock = Clock(old)
    recipients = {subject: members(2, f"{random_id('hop-thu')}@example.vn") for subject in (read_old, unread_old)}
    assert await raise_now(pool, settings, clock, probation(recipients[read_old], read_old)) == 2
    assert await raise_now(pool, settings, clock, probation(recipients[unread_old], unread_old)) == 2
    assert await raise_now(pool, settings, clock, notice(members(1, f"{random_id('a')}@example.vn"), ahead)) == 1
    clock.value = now - timedelta(days=settings.notification_retention_days - 30)
    recent = members(1, f"{random_id('b')}@example.vn")
    assert await raise_now(pool, settings, clock, probation(recent, read_recent)) == 1
    await deliver_all(pool, settings, Clock(now))
    everyone = [read_old, unread_old, ahead, read_recent]
    await pool.execute(
        "UPDATE notification SET read_at = $2 WHERE subject_id = ANY($1::text[])",
        [read_old, ahead, read_recent],
        now,
    )
    before = await kept(pool, everyone)  # each notice's inbox delivery, and one e-mail a shared mailbox
    assert before == {read_old: (2, 3), unread_old: (2, 3), ahead: (1, 2), read_recent: (1, 2)}
    counted = ROWS_PRUNED.labels("notifications", "notification")._value.get()

    clock.value = now
    await run_daily(pool, settings, clock, DAILY_MAIL_PRUNE)  # the addresses' holds go first (400 days)
    batches = await run_daily(pool, settings, clock, DAILY_NOTIFICATION_PRUNE)

    assert await kept(pool, everyone) == {subject: before[subject] for subject in (unread_old, ahead, read_recent)}
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM delivery_log l JOIN delivery d ON d.id = l.delivery_id"
            " JOIN notification n ON n.id = d.notification_id WHERE n.subject_id = $1",
            read_old,
        )
        == 0
    )
    assert ROWS_PRUNED.labels("notifications", "notification")._value.get() >= counted + 2
    if batch == 1:
        assert batches > 4  # one notification a transaction, the cursor moving on
    # the recent alert raised again (a redelivered fact) is still stopped by its notification's key
    assert await raise_now(pool, settings, clock, probation(recent, read_recent)) == 0


def test_a_notification_retention_below_the_address_holds_is_refused(settings: Settings) -> None:
    """Below CHIBO_MAIL_ADDRESS_RETENTION_DAYS a notification's key, which stops an alert raised again notifying its
    recipient twice, would go before the windows it must cover."""
    days = settings.mail_address_retention_days
    refusal = f"CHIBO_NOTIFICATION_RETENTION_DAYS is {days - 1}: it must be at least {days} days"
    with pytest.raises(ValidationError, match=refusal):
        Settings(**(settings.model_dump() | {"notification_retention_days": days - 1}))
    at_the_floor = Settings(**(settings.model_dump() | {"notification_retention_days": days}))
    assert at_the_floor.notification_retention_days == days
