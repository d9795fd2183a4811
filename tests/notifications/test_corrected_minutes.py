"""Late-records alerts and minutes whose end is wrong (real database).

A user trial: minutes.submitted.v1 gave an end 6 days before the meeting's scheduled start, so notifications raised
`minutes_late` and `minutes_late_superior` at once; the secretary then sent corrected minutes (a later
minutes.submitted.v1 with the right end) and the escalation stayed open in the secretary's and the committee's inbox.
DOMAIN.md "Alerts": minutes "not in 2 days after the meeting" — an end before the meeting is not the meeting's time,
and an alert the corrected minutes show does not hold is withdrawn as a cancellation voids one."""

from datetime import datetime, timedelta

import asyncpg
import pytest

from services.notifications import queries
from services.notifications.config import Settings
from services.notifications.domain.settings import RuleOverride
from services.notifications.handlers import BATCH_HANDLERS
from services.notifications.handlers.replan import replan_subtree
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent
from shared.periods import VIETNAM_TZ
from tests.notifications.conftest import run_due
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import due_times, handle
from tests.support.ids import random_id
from tests.support.private_db import StatementLog

STARTS = datetime(2026, 12, 1, 8, 0, tzinfo=VIETNAM_TZ)
LATE = ("minutes_late", "minutes_late_superior")


async def late_alerts(pool: asyncpg.Pool, meeting_id: str) -> list[tuple[str, str, bool]]:
    """(rule, recipient, void) of the late-records alerts about the meeting, in order."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT rule, recipient_id, void_at IS NOT NULL AS void FROM notification WHERE subject_id = $1"
            " AND rule = ANY($2::text[]) ORDER BY rule, recipient_id, created_at",
            meeting_id,
            list(LATE),
        )
    return [(row["rule"], row["recipient_id"], row["void"]) for row in rows]


async def fire_late_checks(pool: asyncpg.Pool, settings: Settings, clock: Clock, meeting_id: str) -> int:
    """Run the meeting's late-records checks that are due at the clock's time, as the schedule does."""
    created = 0
    for kind in ("meeting.minutes", "meeting.minutes_superior"):
        created += await run_due(pool, settings, clock, meeting_id, kind) or 0
    return created


async def test_minutes_ending_before_the_meeting_count_the_deadline_from_its_start(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(STARTS - timedelta(days=2))
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), p.scheduled(meeting_id, STARTS))
    clock.value = STARTS + timedelta(hours=4)
    wrong_end = STARTS - timedelta(days=6)
    await handle(pool, settings, clock, p.minutes(meeting_id, wrong_end))  # no final documents yet

    due = await due_times(pool, meeting_id)
    assert due["meeting.minutes"] == (STARTS + timedelta(days=2), False)
    assert due["meeting.minutes_superior"] == (STARTS + timedelta(days=5), False)
    assert await fire_late_checks(pool, settings, clock, meeting_id) == 0
    assert await late_alerts(pool, meeting_id) == []
    clock.value = STARTS + timedelta(days=2)
    assert await fire_late_checks(pool, settings, clock, meeting_id) > 0
    assert await late_alerts(pool, meeting_id) == [("minutes_late", p.secretary, False)]


async def test_corrected_minutes_withdraw_the_late_alerts_they_show_do_not_hold_and_the_check_comes_again(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    planned = STARTS - timedelta(days=6)  # the meeting was planned for 25/11, held 01/12 without a move sent
    clock = Clock(planned - timedelta(days=2))
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), p.scheduled(meeting_id, planned))
    clock.value = planned + timedelta(days=5, hours=1)  # no minutes: late from the planned start, both alerted
    assert await fire_late_checks(pool, settings, clock, meeting_id) > 0
    assert await late_alerts(pool, meeting_id) == [
        ("minutes_late", p.secretary, False),
        ("minutes_late_superior", p.committee, False),
    ]

    # the minutes come on 02/12 with the meeting's real end, 01/12 11:00: nothing is late before 03/12 11:00
    ends = STARTS + timedelta(hours=3)
    clock.value = ends + timedelta(days=1)
    await handle(pool, settings, clock, p.minutes(meeting_id, ends))
    assert await late_alerts(pool, meeting_id) == [
        ("minutes_late", p.secretary, True),
        ("minutes_late_superior", p.committee, True),
    ]
    async with pool.acquire() as conn:
        for recipient in (p.secretary, p.committee):
            page = await queries.inbox(conn, recipient_id=recipient, unread_only=False, limit=50, offset=0)
            mine = [item for item in page["items"] if item["rule"] in LATE and item["subject_id"] == meeting_id]
            assert mine and all(datetime.fromisoformat(item["void_at"]) == clock.value for item in mine), page
        pending = await conn.fetchval(
            "SELECT count(*) FROM notification WHERE subject_id = $1 AND rule = ANY($2::text[]) AND digest_pending",
            meeting_id,
            list(LATE),
        )
    assert pending == 0  # no digest still to come carries them
    due = await due_times(pool, meeting_id)
    assert due["meeting.minutes"] == (ends + timedelta(days=2), False)
    assert due["meeting.minutes_superior"] == (ends + timedelta(days=5), False)

    # nothing is due before the corrected deadline; it passing with no documents alerts the secretary again
    assert await fire_late_checks(pool, settings, clock, meeting_id) == 0
    clock.value = ends + timedelta(days=2)
    assert await fire_late_checks(pool, settings, clock, meeting_id) > 0
    assert await late_alerts(pool, meeting_id) == [
        ("minutes_late", p.secretary, True),
        ("minutes_late", p.secretary, False),
        ("minutes_late_superior", p.committee, True),
    ]


async def test_minutes_that_leave_the_meeting_late_keep_its_alerts(pool: asyncpg.Pool, settings: Settings) -> None:
    p = Province()
    clock = Clock(STARTS - timedelta(days=2))
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), p.scheduled(meeting_id, STARTS))
    clock.value = STARTS + timedelta(days=3)
    assert await fire_late_checks(pool, settings, clock, meeting_id) > 0
    await handle(pool, settings, clock, p.minutes(meeting_id, STARTS + timedelta(hours=3)))
    assert await late_alerts(pool, meeting_id) == [("minutes_late", p.secretary, False)]


async def handle_batch(pool: asyncpg.Pool, settings: Settings, clock: Clock, *events: CloudEvent) -> list[str]:
    """Apply the events of one type as one batch, through its batch handler; the statements it sent."""
    sent: list[str] = []
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        log = StatementLog(sent)
        uow.connection.add_query_logger(log)
        await BATCH_HANDLERS[events[0].type]([read_event(item) for item in events], uow)
        uow.connection.remove_query_logger(log)
        await uow.commit()
    return sent


def withdrawals(sent: list[str]) -> list[str]:
    """The withdraw_alerts statements among those sent (each sets withdrawn alerts' periods aside as `|void:`)."""
    return [query for query in sent if "'|void:'" in query]


async def test_minutes_sent_within_a_day_of_the_meetings_look_for_no_late_alert_to_withdraw(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """The usual batch: minutes of meetings held hours ago, their deadlines ahead and nothing alerted; no late alert
    can stand a day before any setting's deadline, so the batch sends no withdraw_alerts statement (one each before)."""
    p = Province()
    clock = Clock(STARTS - timedelta(days=2))
    meetings = [random_id("mtg") for _ in range(3)]
    await handle(pool, settings, clock, *p.setup(), *(p.scheduled(meeting_id, STARTS) for meeting_id in meetings))
    clock.value = STARTS + timedelta(hours=5)
    sent = await handle_batch(
        pool, settings, clock, *(p.minutes(meeting_id, STARTS + timedelta(hours=2)) for meeting_id in meetings)
    )
    assert withdrawals(sent) == []
    assert any("INSERT INTO meeting AS m" in query for query in sent)  # the minutes were stored all the same
    due = await due_times(pool, meetings[0])
    assert due["meeting.minutes"] == (STARTS + timedelta(days=2, hours=2), False)
    clock.value = STARTS + timedelta(days=2, hours=2)
    assert await fire_late_checks(pool, settings, clock, meetings[0]) > 0  # and their deadlines alert once come


async def test_a_batch_withdraws_the_late_alert_of_its_corrected_meeting_beside_meetings_just_held(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    planned = STARTS - timedelta(days=6)  # planned for 25/11, held 01/12 without a move sent: late, alerted
    clock = Clock(planned - timedelta(days=2))
    late, fresh = random_id("mtg"), random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), p.scheduled(late, planned), p.scheduled(fresh, STARTS))
    clock.value = planned + timedelta(days=2, hours=1)
    assert await fire_late_checks(pool, settings, clock, late) > 0
    clock.value = STARTS + timedelta(hours=5)
    ends = STARTS + timedelta(hours=2)
    sent = await handle_batch(pool, settings, clock, p.minutes(fresh, ends), p.minutes(late, ends))
    assert len(withdrawals(sent)) == 1
    assert await late_alerts(pool, late) == [("minutes_late", p.secretary, True)]
    assert await late_alerts(pool, fresh) == []


async def test_late_alerts_raised_under_shorter_days_are_withdrawn_by_minutes_after_the_days_grew(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """An alert raised one day after the meeting (the cell set days_after to 1), then the days set to 5: minutes
    coming then with an end that puts both deadlines ahead withdraw it, as they did when every batch looked (the
    settings in force now are not those the alert was raised under)."""
    p = Province()
    clock = Clock(STARTS - timedelta(days=2))
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        await uow.projection.set_rule_override(
            RuleOverride(unit_id=p.cell, rule="minutes_late", params={"days_after": 1})
        )
        await uow.commit()
    await handle(pool, settings, clock, p.scheduled(meeting_id, STARTS))
    clock.value = STARTS + timedelta(days=1, hours=1)
    assert await fire_late_checks(pool, settings, clock, meeting_id) > 0
    assert await late_alerts(pool, meeting_id) == [("minutes_late", p.secretary, False)]
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        await uow.projection.set_rule_override(
            RuleOverride(unit_id=p.cell, rule="minutes_late", params={"days_after": 5})
        )
        await replan_subtree(p.cell, uow)
        await uow.commit()
    clock.value = STARTS + timedelta(days=1, hours=2)
    await handle_batch(pool, settings, clock, p.minutes(meeting_id, STARTS + timedelta(hours=2)))
    assert await late_alerts(pool, meeting_id) == [("minutes_late", p.secretary, True)]
    assert (await due_times(pool, meeting_id))["meeting.minutes"] == (STARTS + timedelta(days=5, hours=2), False)


@pytest.mark.parametrize("how", ["rescheduled", "snapshot", "snapshot_batch"])
async def test_a_move_of_the_meeting_withdraws_the_late_alerts_its_new_start_shows_do_not_hold(
    pool: asyncpg.Pool, settings: Settings, how: str
) -> None:
    p = Province()
    planned = STARTS - timedelta(days=6)
    clock = Clock(planned - timedelta(days=2))
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), p.scheduled(meeting_id, planned))
    clock.value = planned + timedelta(days=5, hours=1)
    assert await fire_late_checks(pool, settings, clock, meeting_id) > 0
    assert [void for _, _, void in await late_alerts(pool, meeting_id)] == [False, False]

    # the secretary moves it to 01/12 08:00, the day it was held: nothing is late before 03/12 08:00
    if how == "rescheduled":
        moved = event("meeting.rescheduled.v1", {"meeting_id": meeting_id, "starts_at": STARTS.isoformat()})
        await handle(pool, settings, clock, moved)
    elif how == "snapshot":
        await handle(pool, settings, clock, p.scheduled(meeting_id, STARTS))
    else:
        await handle_batch(pool, settings, clock, p.scheduled(meeting_id, STARTS))
    assert [void for _, _, void in await late_alerts(pool, meeting_id)] == [True, True]
    assert (await due_times(pool, meeting_id))["meeting.minutes"] == (STARTS + timedelta(days=2), False)
    clock.value = STARTS + timedelta(days=2)
    assert await fire_late_checks(pool, settings, clock, meeting_id) > 0
    assert [(rule, void) for rule, _, void in await late_alerts(pool, meeting_id)] == [
        ("minutes_late", True),
        ("minutes_late", False),
        ("minutes_late_superior", True),
    ]
