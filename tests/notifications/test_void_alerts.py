"""An alert about a meeting that is cancelled after it was raised (an unexcused absence on its roster, its low
rating) cannot be recalled from the mail it went out in, but the inbox marks it void from the cancellation on, no
digest still to come carries it, and no mail is sent about it (real database)."""

from datetime import datetime, timedelta

import asyncpg

from services.notifications import queries
from services.notifications.config import Settings
from tests.notifications.conftest import handle as handle_at
from tests.notifications.conftest import run_due, scored
from tests.notifications.events import event
from tests.notifications.fakes import Clock
from tests.notifications.test_held_absences import NOW, handle, held_cell, roster


async def about(pool: asyncpg.Pool, meeting_id: str) -> list[asyncpg.Record]:
    """The absence and low-rating alerts about the meeting, with their deliveries counted."""
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT n.id, n.rule, n.recipient_id, n.void_at, n.digest_pending,"
            " (SELECT count(*) FROM delivery d WHERE d.notification_id = n.id) AS deliveries FROM notification n"
            " WHERE (n.rule = 'unexcused_absence' AND n.period = $1) OR (n.rule = 'meeting_rated_low'"
            " AND n.subject_id = $1) ORDER BY n.rule, n.recipient_id",
            meeting_id,
        )


async def other_mails(pool: asyncpg.Pool) -> int:
    """E-mail deliveries planned of every alert but the cancellation notices."""
    async with pool.acquire() as conn:
        found: int = await conn.fetchval(
            "SELECT count(*) FROM delivery d JOIN notification n ON n.id = d.notification_id"
            " WHERE d.channel = 'email' AND n.rule <> 'meeting_cancelled'"
        )
    return found


async def test_absence_and_low_rating_alerts_of_a_meeting_cancelled_later_are_marked_void_in_the_inbox(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p, meeting_id = await held_cell(pool, settings)
    await handle(pool, settings, roster(meeting_id, p), p.minutes(meeting_id, NOW - timedelta(hours=20)))
    # the low rating's alert is raised once the score has settled (its check, 30 minutes on), before the cancellation
    clock = Clock(NOW - timedelta(hours=1))
    await handle_at(pool, settings, clock, scored(p, meeting_id, "poor", 41.0, time=NOW - timedelta(hours=2)))
    clock.value = NOW - timedelta(minutes=30)
    assert await run_due(pool, settings, clock, meeting_id) == 1
    before = await about(pool, meeting_id)
    assert sorted({row["rule"] for row in before}) == ["meeting_rated_low", "unexcused_absence"]
    assert all(row["void_at"] is None for row in before)
    mails = await other_mails(pool)

    await handle(pool, settings, event("meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": "Họp nhầm ngày"}))
    after = await about(pool, meeting_id)
    assert [row["id"] for row in after] == [row["id"] for row in before]  # kept, not deleted
    assert all(row["void_at"] == NOW and not row["digest_pending"] for row in after)
    assert [row["deliveries"] for row in after] == [row["deliveries"] for row in before]  # nothing sent about it
    assert await other_mails(pool) == mails  # the cancellation notice aside, no mail about it
    async with pool.acquire() as conn:
        for recipient in {p.secretary, p.committee}:
            page = await queries.inbox(conn, recipient_id=recipient, unread_only=False, limit=50, offset=0)
            mine = [item for item in page["items"] if item["rule"] in ("unexcused_absence", "meeting_rated_low")]
            assert mine and all(datetime.fromisoformat(item["void_at"]) == NOW for item in mine), page
