"""A meeting cancelled after an alert about it was raised (its low rating, its reminder) retracts that alert as a
withdrawn score does: void in the inbox and its mail not yet sent cancelled, with a line in delivery_log, so no mail
about a meeting that will not be held goes out (chibo's review: meeting.cancelled.v1 voided the alert but its waiting
mail still went out). The cancellation notice itself (DOMAIN.md: "Meeting scheduled, moved or cancelled: every
expected member") is sent. Real database, real SMTP server."""

from datetime import datetime, timedelta
from email.message import EmailMessage

import asyncpg

from services.notifications.config import Settings
from services.notifications.handlers.jobs import run_job
from services.notifications.repository.outgoing import Job
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.envelope import CloudEvent
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_meeting_changes import send_mail
from tests.notifications.test_score_withdrawn import deliveries, voided
from tests.notifications.test_settled_rating import NOW, handle, held, run_due, scored
from tests.support.ids import random_id


async def statuses(pool: asyncpg.Pool, meeting_id: str, rule: str) -> set[tuple[str, str]]:
    """(channel, status) of the deliveries of the meeting's alerts of one rule."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT d.channel, d.status FROM delivery d JOIN notification n ON n.id = d.notification_id"
            " WHERE n.rule = $1 AND n.subject_id = $2",
            rule,
            meeting_id,
        )
    return {(row["channel"], row["status"]) for row in rows}


async def cancellations_logged(pool: asyncpg.Pool, meeting_id: str) -> list[str]:
    """The delivery_log errors of the meeting's cancelled deliveries."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT l.error FROM delivery_log l JOIN delivery d ON d.id = l.delivery_id JOIN notification n"
            " ON n.id = d.notification_id WHERE n.subject_id = $1 AND l.outcome = 'cancelled'",
            meeting_id,
        )
    return [row["error"] for row in rows]


def mailed(inbox: SmtpInbox, start: int, pool_ids: set[str], meeting_id: str) -> list[str]:
    """The rules of the mails about the meeting received since `start` (an index into the inbox)."""

    def about(mail: EmailMessage) -> bool:
        return str(mail["X-Chibo-Notification"]) in pool_ids or str(mail["X-Chibo-Subject"]) == meeting_id

    return sorted(str(mail["X-Chibo-Rule"]) for mail in inbox.messages[start:] if about(mail))


async def notification_ids(pool: asyncpg.Pool, meeting_id: str) -> set[str]:
    """The ids of every notification about the meeting."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT id::text FROM notification WHERE subject_id = $1", meeting_id)
    return {row["id"] for row in rows}


async def run_job_due(pool: asyncpg.Pool, settings: Settings, clock: Clock, kind: str, meeting_id: str) -> int:
    """The meeting's job of `kind` as the schedule runs it once due at the clock's time; the alerts it created."""
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        row = await uow.connection.fetchrow(
            "SELECT id, kind, subject_id, due_at, attempts, cursor FROM schedule WHERE kind = $1 AND subject_id = $2"
            " AND done_at IS NULL AND due_at <= $3 FOR UPDATE",
            kind,
            meeting_id,
            clock.value,
        )
        assert row is not None, kind
        created = (await run_job(Job(**dict(row)), uow)).created
        await uow.outgoing.finish_job(row["id"], now=clock.value)
        await uow.commit()
    return created


def cancellation(meeting_id: str, *, time: datetime) -> CloudEvent:
    """meeting.cancelled.v1 of the meeting at `time`."""
    return event("meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": "Họp nhầm ngày"}, time=time)


async def test_a_meeting_cancelled_after_its_reminder_cancels_the_reminder_mail_and_sends_the_cancellation_notice(
    pool: asyncpg.Pool, settings: Settings, smtp: tuple[SmtpInbox, int]
) -> None:
    inbox, start = smtp[0], len(smtp[0].messages)
    clock = Clock(NOW)
    p, meeting_id = Province(), random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), p.scheduled(meeting_id, NOW + timedelta(hours=2)))
    assert await run_job_due(pool, settings, clock, "meeting.reminder", meeting_id) > 0
    assert ("email", "pending") in await statuses(pool, meeting_id, "meeting_reminder")  # no sender ran yet

    cancelled = cancellation(meeting_id, time=NOW + timedelta(minutes=1))
    await handle(pool, settings, clock, cancelled)
    reminders = await statuses(pool, meeting_id, "meeting_reminder")
    assert ("email", "cancelled") in reminders and ("email", "pending") not in reminders
    logged = await cancellations_logged(pool, meeting_id)
    assert logged and set(logged) == {"retracted: its meeting was cancelled"}
    assert ("email", "pending") in await statuses(pool, meeting_id, "meeting_cancelled")
    await handle(pool, settings, clock, cancelled)  # redelivered: nothing more
    assert await cancellations_logged(pool, meeting_id) == logged
    assert await statuses(pool, meeting_id, "meeting_reminder") == reminders

    await send_mail(pool, settings)
    assert await statuses(pool, meeting_id, "meeting_reminder") == reminders  # never sent
    assert ("email", "delivered") in await statuses(pool, meeting_id, "meeting_cancelled")
    rules = mailed(inbox, start, await notification_ids(pool, meeting_id), meeting_id)
    assert "meeting_cancelled" in rules
    assert "meeting_reminder" not in rules


async def test_a_meeting_cancelled_after_its_low_rating_alert_cancels_the_alert_mail_still_waiting(
    pool: asyncpg.Pool, settings: Settings, smtp: tuple[SmtpInbox, int]
) -> None:
    inbox, start = smtp[0], len(smtp[0].messages)
    clock = Clock(NOW)
    p, meeting_id = await held(pool, settings, clock)
    await handle(pool, settings, clock, scored(p, meeting_id, "poor", 41.0, time=NOW))
    clock.value = NOW + timedelta(minutes=30)
    assert await run_due(pool, settings, clock, meeting_id) == 1
    assert await deliveries(pool, meeting_id) == {"email": "pending", "inbox": "delivered"}  # no sender ran yet

    cancelled = cancellation(meeting_id, time=NOW + timedelta(minutes=31))
    await handle(pool, settings, clock, cancelled)
    assert await voided(pool, meeting_id) == [True]
    assert await deliveries(pool, meeting_id) == {"email": "cancelled", "inbox": "delivered"}
    assert await cancellations_logged(pool, meeting_id) == ["retracted: its meeting was cancelled"]
    await handle(pool, settings, clock, cancelled)  # redelivered: nothing more
    assert await deliveries(pool, meeting_id) == {"email": "cancelled", "inbox": "delivered"}
    assert len(await cancellations_logged(pool, meeting_id)) == 1

    await send_mail(pool, settings)
    assert await deliveries(pool, meeting_id) == {"email": "cancelled", "inbox": "delivered"}  # never sent
    assert "meeting_rated_low" not in mailed(inbox, start, await notification_ids(pool, meeting_id), meeting_id)
