"""A late-records check whose deadline lies past the history cutoff still alerts (real database).

Facts about meetings older than CHIBO_HISTORY_CUTOFF_DAYS (14) raise nothing (docs/architecture.md: "bulk imports of
history stay silent"), and the timed checks judged that age at the moment they ran. A committee may give its cells
more days for their records (DOMAIN.md "Alerts": "after more days *(local)*: the superior committee"; `days_after`
and `more_days` up to 120 each): with 7 + 10 days the superior committee's check, planned while the meeting was
recent, ran 17 days after the meeting and raised nothing, so a weak cell's missing minutes never reached its
superior committee. The age is now judged from the check's own deadline: what falls due more than the cutoff after
its deadline (a check caught up after a long stop) still stays silent."""

from datetime import datetime, timedelta

import asyncpg

from services.notifications.config import Settings
from services.notifications.handlers.commands import Commands
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import due_times, fire, handle
from tests.notifications.test_late_records_deadline import late_alerts
from tests.support.ids import random_id

STARTS = datetime(2026, 11, 4, 19, 30, tzinfo=VIETNAM_TZ)
ENDS = datetime(2026, 11, 4, 20, 30, tzinfo=VIETNAM_TZ)


async def test_a_superior_check_due_past_the_history_cutoff_alerts_and_one_caught_up_too_late_does_not(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(STARTS - timedelta(days=6))
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    commands = Commands(lambda: NotificationsUnitOfWork(pool, settings=settings, clock=clock))
    await commands.set_rule(p.committee, "minutes_late", {"days_after": 7})
    await commands.set_rule(p.committee, "minutes_late_superior", {"more_days": 10})
    await handle(pool, settings, clock, p.scheduled(meeting_id, STARTS))
    clock.value = ENDS + timedelta(minutes=5)
    await handle(pool, settings, clock, p.minutes(meeting_id, ENDS, started_at=STARTS.isoformat()))  # no documents

    due = await due_times(pool, meeting_id)
    assert due["meeting.minutes_superior"] == (ENDS + timedelta(days=17), False)
    assert ENDS + timedelta(days=17) > STARTS + timedelta(days=settings.history_cutoff_days)

    clock.value = ENDS + timedelta(days=7)
    assert await fire(pool, settings, clock, "meeting.minutes", meeting_id) > 0
    clock.value = ENDS + timedelta(days=17)
    assert await fire(pool, settings, clock, "meeting.minutes_superior", meeting_id) > 0
    assert await late_alerts(pool, meeting_id) == [
        ("minutes_late", p.secretary),
        ("minutes_late_superior", p.committee),
    ]


async def test_a_late_check_run_more_than_the_cutoff_after_its_deadline_stays_silent(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(STARTS - timedelta(days=6))
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    await handle(pool, settings, clock, p.scheduled(meeting_id, STARTS))
    clock.value = ENDS + timedelta(minutes=5)
    await handle(pool, settings, clock, p.minutes(meeting_id, ENDS, started_at=STARTS.isoformat()))

    cutoff = timedelta(days=settings.history_cutoff_days)
    clock.value = ENDS + timedelta(days=2) + cutoff + timedelta(hours=2)  # a stop of weeks, caught up too late
    assert await fire(pool, settings, clock, "meeting.minutes", meeting_id) == 0
    assert await late_alerts(pool, meeting_id) == []
    clock.value = ENDS + timedelta(days=5) + cutoff - timedelta(hours=2)  # within the cutoff of its own deadline
    assert await fire(pool, settings, clock, "meeting.minutes_superior", meeting_id) > 0
    assert await late_alerts(pool, meeting_id) == [
        ("minutes_late", p.secretary),
        ("minutes_late_superior", p.committee),
    ]
