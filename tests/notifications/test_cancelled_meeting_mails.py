"""A meeting cancelled after an alert about it was raised (its low rating, its reminder) retracts that alert as a
withdrawn score does: void in the inbox and its mail not yet sent cancelled, with a line in delivery_log, so no mail
about a meeting that will not be held goes out (chibo's review: meeting.cancelled.v1 voided the alert but its waiting
mail still went out). The cancellation notice itself (DOMAIN.md: "Meeting scheduled, moved or cancelled: every
expected member") is sent. Real database, real SMTP server."""

from datetime import datetime, timedelta
from email.message import EmailMessage

import asyncpg

from services.notifications.config import Settings
from shared.envelope import CloudEvent
from tests.notifications.conftest import NOW, HeldMeeting, SmtpInbox, cancellations_logged, handle, run_due
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_meeting_changes import send_mail
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
    assert await run_due(pool, settings, clock, meeting_id, kind="meeting.reminder")  # due at once: alerts raised
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
    held: HeldMeeting, smtp: tuple[SmtpInbox, int]
) -> None:
    inbox, start = smtp[0], len(smtp[0].messages)
    await held.low_alert_waiting()

    cancelled = cancellation(held.meeting_id, time=NOW + timedelta(minutes=31))
    await held.handle(cancelled)
    assert await held.voided() == [True]
    assert await held.deliveries() == {"email": "cancelled", "inbox": "delivered"}
    assert await held.cancellations_logged() == ["retracted: its meeting was cancelled"]
    await held.handle(cancelled)  # redelivered: nothing more
    assert await held.deliveries() == {"email": "cancelled", "inbox": "delivered"}
    assert len(await held.cancellations_logged()) == 1

    await send_mail(held.pool, held.settings)
    assert await held.deliveries() == {"email": "cancelled", "inbox": "delivered"}  # never sent
    ids = await notification_ids(held.pool, held.meeting_id)
    assert "meeting_rated_low" not in mailed(inbox, start, ids, held.meeting_id)
