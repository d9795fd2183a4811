"""When a meeting's records are late (DOMAIN.md: final documents "within 2 days" after the meeting, the alert "not in
2 days after the meeting", `closing.final_documents` "within 48 h of the end"): counted from the end its minutes give,
from its start while it has no minutes — the same reading for the secretary's alert, the superior committee's later
one and the committee page's list (real database).

A user trial saw a meeting that started 30/11 08:00 and ended 12:00 (its minutes say), with no final documents,
alerted to the secretary and listed as late at 08:24 on 2 Dec, 44 h after its end: the days counted from its start."""

from datetime import datetime, timedelta

import asyncpg
import pytest

from services.notifications.config import Settings
from services.notifications.domain import rules
from services.notifications.handlers.commands import Commands
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import due_times, fire, handle
from tests.support.ids import random_id

STARTS = datetime(2026, 11, 30, 8, 0, tzinfo=VIETNAM_TZ)
ENDS = datetime(2026, 11, 30, 12, 0, tzinfo=VIETNAM_TZ)
PERIOD = "2026-11"


async def late_alerts(pool: asyncpg.Pool, meeting_id: str) -> list[tuple[str, str]]:
    """(rule, recipient) of the late-records alerts raised about the meeting."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT rule, recipient_id FROM notification WHERE subject_id = $1 AND rule LIKE 'minutes_late%'"
            " ORDER BY rule, recipient_id",
            meeting_id,
        )
    return [(row["rule"], row["recipient_id"]) for row in rows]


async def mark_fired(pool: asyncpg.Pool, kind: str, meeting_id: str, at: datetime) -> None:
    """Record a job as fired, as the schedule runner does once it ran it."""
    async with pool.acquire() as conn:
        await conn.execute("UPDATE schedule SET done_at = $3 WHERE kind = $1 AND subject_id = $2", kind, meeting_id, at)


async def listed(commands: Commands, committee: str) -> list[tuple[str, datetime]]:
    """(meeting, due) of the committee page's list of meetings with late records, in its order."""
    page = await commands.late_minutes(committee, PERIOD, limit=50)
    return [(item["meeting_id"], datetime.fromisoformat(item["due_at"])) for item in page["items"]]


async def test_a_meeting_with_minutes_is_late_two_days_after_its_end_for_the_alert_and_the_list(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(STARTS - timedelta(days=1))
    held, unrecorded = random_id("mtg"), random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    await handle(pool, settings, clock, p.scheduled(held, STARTS), p.scheduled(unrecorded, STARTS + timedelta(hours=2)))
    clock.value = ENDS + timedelta(hours=1)
    await handle(pool, settings, clock, p.minutes(held, ENDS, started_at=STARTS.isoformat()))  # no final documents

    due = await due_times(pool, held)
    assert due["meeting.minutes"] == (ENDS + timedelta(days=2), False)
    assert due["meeting.minutes_superior"] == (ENDS + timedelta(days=5), False)
    assert (await due_times(pool, unrecorded))["meeting.minutes"] == (STARTS + timedelta(days=2, hours=2), False)

    commands = Commands(lambda: NotificationsUnitOfWork(pool, settings=settings, clock=clock))
    clock.value = datetime(2026, 12, 2, 8, 24, tzinfo=VIETNAM_TZ)  # the trial's moment: 44 h after the end
    assert await fire(pool, settings, clock, "meeting.minutes", held) == 0
    assert await late_alerts(pool, held) == []
    assert await listed(commands, p.committee) == []

    clock.value = ENDS + timedelta(days=2) - timedelta(seconds=1)
    assert await fire(pool, settings, clock, "meeting.minutes", held) == 0
    # the meeting without minutes is late 2 days after its start (its end unknown): listed before the one that ended
    assert await listed(commands, p.committee) == [(unrecorded, STARTS + timedelta(days=2, hours=2))]

    clock.value = ENDS + timedelta(days=2)
    assert await fire(pool, settings, clock, "meeting.minutes", held) > 0
    assert await late_alerts(pool, held) == [("minutes_late", p.secretary)]
    assert await listed(commands, p.committee) == [
        (unrecorded, STARTS + timedelta(days=2, hours=2)),
        (held, ENDS + timedelta(days=2)),
    ]

    clock.value = ENDS + timedelta(days=5) - timedelta(seconds=1)
    await fire(pool, settings, clock, "meeting.minutes_superior", held)
    assert await late_alerts(pool, held) == [("minutes_late", p.secretary)]
    clock.value = ENDS + timedelta(days=5)
    await fire(pool, settings, clock, "meeting.minutes_superior", held)
    assert await late_alerts(pool, held) == [("minutes_late", p.secretary), ("minutes_late_superior", p.committee)]


async def test_a_meeting_without_minutes_is_late_from_its_start_until_minutes_give_its_end(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(STARTS - timedelta(days=1))
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    await handle(pool, settings, clock, p.scheduled(meeting_id, STARTS))
    commands = Commands(lambda: NotificationsUnitOfWork(pool, settings=settings, clock=clock))

    # no minutes: the end is unknown, the days count from the start
    due = await due_times(pool, meeting_id)
    assert due["meeting.minutes"] == (STARTS + timedelta(days=2), False)
    clock.value = STARTS + timedelta(days=2) - timedelta(seconds=1)
    assert await fire(pool, settings, clock, "meeting.minutes", meeting_id) == 0
    assert await listed(commands, p.committee) == []
    clock.value = STARTS + timedelta(days=2)
    assert await fire(pool, settings, clock, "meeting.minutes", meeting_id) > 0
    await mark_fired(pool, "meeting.minutes", meeting_id, clock.value)
    assert await late_alerts(pool, meeting_id) == [("minutes_late", p.secretary)]
    assert await listed(commands, p.committee) == [(meeting_id, STARTS + timedelta(days=2))]

    # the minutes arrive late, saying it ended at 12:00: the superior committee hears 5 days after that end, not
    # after the start; the secretary's alert raised meanwhile stays
    clock.value = STARTS + timedelta(days=3)
    await handle(pool, settings, clock, p.minutes(meeting_id, ENDS, started_at=STARTS.isoformat()))
    due = await due_times(pool, meeting_id)
    assert due["meeting.minutes"] == (STARTS + timedelta(days=2), True)
    assert due["meeting.minutes_superior"] == (ENDS + timedelta(days=5), False)
    assert await listed(commands, p.committee) == [(meeting_id, ENDS + timedelta(days=2))]

    clock.value = STARTS + timedelta(days=5, hours=1)
    await fire(pool, settings, clock, "meeting.minutes_superior", meeting_id)
    assert await late_alerts(pool, meeting_id) == [("minutes_late", p.secretary)]
    clock.value = ENDS + timedelta(days=5)
    await fire(pool, settings, clock, "meeting.minutes_superior", meeting_id)
    assert await late_alerts(pool, meeting_id) == [
        ("minutes_late", p.secretary),
        ("minutes_late_superior", p.committee),
    ]


@pytest.mark.parametrize("ended", [ENDS, None, STARTS - timedelta(days=6)])
async def test_the_lists_sql_reads_the_deadline_as_the_rule_does(pool: asyncpg.Pool, ended: datetime | None) -> None:
    expression = rules.RECORDS_DUE_AT_SQL.format(starts_at="$1::timestamptz", ended_at="$2::timestamptz", days="$3")
    async with pool.acquire() as conn:
        for days in (2.0, 5.0, 0.5):
            in_sql = await conn.fetchval(f"SELECT {expression}", STARTS, ended, days)
            assert in_sql == rules.records_due_at(starts_at=STARTS, ended_at=ended, days=days)
