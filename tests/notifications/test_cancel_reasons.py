"""A meeting cancelled twice, with two reasons: meetings keeps the latest cancellation by (event time, id), and so do
notifications, whichever arrives first: the projection and the cancellation notices in the inbox say that reason,
and the second cancellation sends no second notice; those whose mail already went out with the first reason get one
short follow-up with the new one (real database)."""

from datetime import datetime, timedelta

import asyncpg
import pytest

from services.notifications.config import Settings
from services.notifications.templates import format_when
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import handle
from tests.notifications.test_meeting_changes import expected_people, notices, snapshot, times_each
from tests.support.ids import random_id

FIRST = "Trùng lịch họp của Đảng ủy xã"
LATEST = "Mưa bão, đường vào thôn bị ngập"


def cancel(meeting_id: str, reason: str, *, time: datetime) -> object:
    """meeting.cancelled.v1 at `time`."""
    return event("meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": reason}, time=time)


@pytest.mark.parametrize("latest_first", [False, True], ids=["in-order", "latest-first"])
async def test_a_meeting_cancelled_twice_keeps_the_latest_reason_in_either_arrival_order(
    pool: asyncpg.Pool, settings: Settings, latest_first: bool
) -> None:
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
    await handle(pool, settings, clock, *p.setup())
    meeting_id = random_id("mtg")
    t = clock.value
    start = (t + timedelta(days=10)).replace(hour=19, minute=30, second=0)
    await handle(pool, settings, clock, snapshot(p, meeting_id, start, time=t))
    earlier = cancel(meeting_id, FIRST, time=t + timedelta(minutes=1))
    later = cancel(meeting_id, LATEST, time=t + timedelta(minutes=2))
    for item in (later, earlier) if latest_first else (earlier, later):
        await handle(pool, settings, clock, item)  # type: ignore[arg-type]

    async with pool.acquire() as conn:
        reason = await conn.fetchval("SELECT cancel_reason FROM meeting WHERE meeting_id = $1", meeting_id)
        rows = await conn.fetch(
            "SELECT recipient_id, title, body FROM notification WHERE subject_id = $1 AND rule = 'meeting_cancelled'",
            meeting_id,
        )
        mails = await conn.fetchval(
            "SELECT count(*) FROM delivery d JOIN notification n ON n.id = d.notification_id"
            " WHERE n.subject_id = $1 AND n.rule = 'meeting_cancelled' AND d.channel = 'email'",
            meeting_id,
        )
    assert reason == LATEST
    assert await notices(pool, meeting_id) == times_each(p, "meeting_scheduled", 1) + times_each(
        p, "meeting_cancelled", 1
    )
    assert sorted(row["recipient_id"] for row in rows) == sorted(expected_people(p))
    assert all(LATEST in row["body"] and FIRST not in row["body"] for row in rows), [row["body"] for row in rows]
    assert mails <= len(expected_people(p))  # one mail per person at most: the later reason sends none more


async def cancel_mails(pool: asyncpg.Pool, meeting_id: str, rule: str) -> list[asyncpg.Record]:
    """The e-mail deliveries of the meeting's notices of one rule, with their notice's recipient, title and body."""
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT d.id, d.status, d.addresses, n.recipient_id, n.title, n.body FROM delivery d"
            " JOIN notification n ON n.id = d.notification_id"
            " WHERE n.subject_id = $1 AND n.rule = $2 AND d.channel = 'email' ORDER BY n.recipient_id",
            meeting_id,
            rule,
        )


@pytest.mark.parametrize("first_mail", ["delivered", "leased", "pending"])
async def test_a_changed_reason_after_the_cancellation_was_mailed_sends_one_follow_up_and_never_again(
    pool: asyncpg.Pool, settings: Settings, first_mail: str
) -> None:
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
    await handle(pool, settings, clock, *p.setup())
    meeting_id = random_id("mtg")
    t = clock.value
    start = (t + timedelta(days=10)).replace(hour=19, minute=30, second=0)
    await handle(pool, settings, clock, snapshot(p, meeting_id, start, time=t))
    await handle(pool, settings, clock, cancel(meeting_id, FIRST, time=t + timedelta(minutes=1)))  # type: ignore[arg-type]
    first = await cancel_mails(pool, meeting_id, "meeting_cancelled")
    assert sorted(row["recipient_id"] for row in first) == sorted(expected_people(p))
    async with pool.acquire() as conn:  # as the sender leaves them: sent, or being sent (the old text read)
        if first_mail == "delivered":
            await conn.execute(
                "UPDATE delivery SET status = 'delivered', delivered_at = $2 WHERE id = ANY($1::bigint[])",
                [row["id"] for row in first],
                t,
            )
        elif first_mail == "leased":
            await conn.execute(
                "UPDATE delivery SET locked_until = $2 WHERE id = ANY($1::bigint[])",
                [row["id"] for row in first],
                t + timedelta(minutes=5),
            )

    later = cancel(meeting_id, LATEST, time=t + timedelta(minutes=2))
    await handle(pool, settings, clock, later)  # type: ignore[arg-type]
    # redelivered, an older reason arriving late, the same reason again: nothing more is mailed
    older = cancel(meeting_id, "Lý do cũ đến muộn", time=t + timedelta(seconds=90))
    again = cancel(meeting_id, LATEST, time=t + timedelta(minutes=3))
    for item in (later, older, again):
        await handle(pool, settings, clock, item)  # type: ignore[arg-type]

    follow_ups = await cancel_mails(pool, meeting_id, "meeting_cancel_updated")
    waiting = await cancel_mails(pool, meeting_id, "meeting_cancelled")
    assert all(LATEST in row["body"] and FIRST not in row["body"] for row in waiting)  # what a waiting mail sends
    if first_mail == "pending":
        assert follow_ups == []  # the mail still waiting goes out with the latest reason
        return
    assert sorted(row["recipient_id"] for row in follow_ups) == sorted(expected_people(p))
    assert {row["recipient_id"]: row["addresses"] for row in follow_ups} == {
        row["recipient_id"]: row["addresses"] for row in first
    }
    assert all(row["status"] == "pending" for row in follow_ups)  # the normal delivery path sends them
    assert {row["title"] for row in follow_ups} == {
        f"Cập nhật lý do hủy buổi sinh hoạt: Chi bộ khu phố Đông, {format_when(start)}"
    }
    body = follow_ups[0]["body"]
    assert f"Lý do: {LATEST}." in body and FIRST not in body and "Lý do cũ" not in body, body
