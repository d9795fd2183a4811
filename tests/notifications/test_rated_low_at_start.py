"""meeting_rated_low of a meeting whose minutes (and low score) came before its scheduled start: held only once the
start passes (Meeting.held_by), and no fact comes then, so the settled-rating check waits for the start (planned
there, or planned again there by a check that ran early) and alerts the superior committee once the start has
passed. Driven by the service's own schedule runner (run_due_jobs) on a clock the test moves, each run on a fresh
pool (a restart in between), in a database of its own (the runner fires every due job it finds)."""

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import asyncpg
import pytest

from services.notifications.background import run_due_jobs
from services.notifications.bootstrap import SERVICE_DIR
from services.notifications.config import Settings
from services.notifications.handlers.commands import Commands
from services.notifications.handlers.facts import on_meeting_scheduled_many
from services.notifications.unit_of_work import NotificationsUnitOfWork, uow_factory
from shared.contracts.registry import read_event
from shared.db import create_pool
from shared.envelope import CloudEvent
from shared.runtime import migrate
from tests.notifications.conftest import NOW, handle, scored
from tests.notifications.events import Province
from tests.notifications.fakes import Clock
from tests.support.env import fresh_database
from tests.support.ids import random_id

START = NOW + timedelta(hours=2)
"""The meeting's scheduled start, two hours after the minutes and the score come."""


@pytest.fixture(scope="module")
def own_database_url(database_url: str) -> Iterator[str]:
    """A database of its own: the runner fires every due job it finds, so none may come from other tests."""
    with fresh_database(database_url) as url:
        yield url


@pytest.fixture
async def own_settings(own_database_url: str, settings: Settings) -> AsyncIterator[Settings]:
    """The package's settings on this module's migrated database."""
    configured = settings.model_copy(update={"database_url": own_database_url})
    await migrate(configured, schema="notifications", service_dir=SERVICE_DIR)
    yield configured


@pytest.fixture
async def province(own_settings: Settings) -> Province:
    """A projected cell with its superior committee (handled at NOW)."""
    p = Province()
    await feed(own_settings, Clock(NOW), *p.setup())
    return p


async def feed(settings: Settings, clock: Clock, *events: CloudEvent) -> None:
    """Each event through its handler at the clock's time, on a pool of its own."""
    pool = await create_pool(settings.database_url, schema="notifications")
    try:
        await handle(pool, settings, clock, *events)
    finally:
        await pool.close()


async def run_schedule_at(settings: Settings, moment: datetime) -> int:
    """The service's schedule runner started afresh (a new pool: a restart) at `moment`, until nothing is due; the
    jobs it fired."""
    pool = await create_pool(settings.database_url, schema="notifications")
    try:
        return await run_due_jobs(uow_factory(pool, settings=settings, clock=lambda: moment), limit=10_000)
    finally:
        await pool.close()


async def rated_low(settings: Settings, meeting_id: str) -> list[str]:
    """The recipients of the meeting's meeting_rated_low alerts."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT recipient_id FROM notifications.notification WHERE rule = 'meeting_rated_low' AND subject_id = $1",
            meeting_id,
        )
    finally:
        await conn.close()
    return [row["recipient_id"] for row in rows]


async def rating_check(settings: Settings, meeting_id: str) -> tuple[datetime, bool]:
    """(when the meeting's settled-rating check is due, whether it fired)."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT due_at, done_at IS NOT NULL AS fired FROM notifications.schedule WHERE kind = 'score.meeting'"
            " AND subject_id = $1",
            meeting_id,
        )
    finally:
        await conn.close()
    assert row is not None
    return row["due_at"], row["fired"]


async def settles_then_start_passes(settings: Settings, p: Province, meeting_id: str, *, start: datetime) -> None:
    """The score settles (30 minutes) before the start: nothing; the start passes: the superior committee once,
    and no more however often the schedule runs."""
    await run_schedule_at(settings, NOW + timedelta(minutes=40))
    assert await rated_low(settings, meeting_id) == []
    await run_schedule_at(settings, start + timedelta(minutes=1))
    assert await rated_low(settings, meeting_id) == [p.committee]
    await run_schedule_at(settings, start + timedelta(hours=3))
    assert await rated_low(settings, meeting_id) == [p.committee]


async def test_minutes_and_score_before_the_start_alert_once_the_start_passes(
    own_settings: Settings, province: Province
) -> None:
    meeting_id, clock = random_id("mtg"), Clock(NOW)
    await feed(own_settings, clock, province.scheduled(meeting_id, START))
    await feed(own_settings, clock, province.minutes(meeting_id, START + timedelta(hours=2)))
    clock.value = NOW + timedelta(minutes=1)
    await feed(own_settings, clock, scored(province, meeting_id, "poor", 41.0, time=clock.value))
    await settles_then_start_passes(own_settings, province, meeting_id, start=START)


async def test_a_score_before_the_minutes_both_before_the_start_is_dropped_and_the_next_alerts_at_the_start(
    own_settings: Settings, province: Province
) -> None:
    """A score of the meeting while it had not begun (no minutes, its start ahead) is no verdict and is not kept
    (shared.plausible.meeting_begun); the one evaluation publishes once the minutes are in alerts once the start
    passes."""
    meeting_id, clock = random_id("mtg"), Clock(NOW)
    await feed(own_settings, clock, province.scheduled(meeting_id, START))
    await feed(own_settings, clock, scored(province, meeting_id, "poor", 41.0, time=NOW))
    clock.value = NOW + timedelta(minutes=1)
    await feed(own_settings, clock, province.minutes(meeting_id, START + timedelta(hours=2)))
    await run_schedule_at(own_settings, NOW + timedelta(minutes=40))
    assert await rated_low(own_settings, meeting_id) == []
    await feed(own_settings, clock, scored(province, meeting_id, "poor", 41.0, time=clock.value))
    await settles_then_start_passes(own_settings, province, meeting_id, start=START)


async def test_a_check_moved_before_the_start_runs_again_at_the_start(
    own_settings: Settings, province: Province
) -> None:
    """The committee shortens its settle time: the pending check moves to the score's arrival plus the new time
    (replan_subtree), before the start; it runs there, finds the meeting not started, plans itself again at the
    start and alerts then."""
    meeting_id, clock = random_id("mtg"), Clock(NOW)
    await feed(own_settings, clock, province.scheduled(meeting_id, START))
    await feed(own_settings, clock, province.minutes(meeting_id, START + timedelta(hours=2)))
    await feed(own_settings, clock, scored(province, meeting_id, "poor", 41.0, time=NOW))
    pool = await create_pool(own_settings.database_url, schema="notifications")
    try:
        commands = Commands(lambda: NotificationsUnitOfWork(pool, settings=own_settings, clock=clock))
        await commands.set_rule(province.committee, "meeting_rated_low", {"settle_minutes": 10})
    finally:
        await pool.close()
    assert await rating_check(own_settings, meeting_id) == (NOW + timedelta(minutes=10), False)
    await run_schedule_at(own_settings, NOW + timedelta(minutes=10))
    assert await rated_low(own_settings, meeting_id) == []
    assert await rating_check(own_settings, meeting_id) == (START, False)
    await run_schedule_at(own_settings, START)
    assert await rated_low(own_settings, meeting_id) == [province.committee]


@pytest.mark.parametrize("batch", [False, True], ids=["one_by_one", "batch"])
async def test_a_meeting_known_only_after_its_minutes_and_score_alerts(
    own_settings: Settings, province: Province, batch: bool
) -> None:
    """Minutes and a low score of a meeting not known yet: the check judges nothing (not known, so not held); the
    schedule that makes it known, its start past, plans the check again."""
    meeting_id, clock = random_id("mtg"), Clock(NOW)
    start = NOW - timedelta(hours=3)
    await feed(own_settings, clock, province.minutes(meeting_id, start + timedelta(hours=2)))
    await feed(own_settings, clock, scored(province, meeting_id, "poor", 41.0, time=NOW))
    await run_schedule_at(own_settings, NOW + timedelta(minutes=40))
    assert await rated_low(own_settings, meeting_id) == []

    clock.value = NOW + timedelta(hours=1)
    schedule = province.scheduled(meeting_id, start)
    if batch:
        pool = await create_pool(own_settings.database_url, schema="notifications")
        try:
            async with NotificationsUnitOfWork(pool, settings=own_settings, clock=clock) as uow:
                await on_meeting_scheduled_many([read_event(schedule), read_event(other_meeting(province))], uow)
                await uow.commit()
        finally:
            await pool.close()
    else:
        await feed(own_settings, clock, schedule)
    await run_schedule_at(own_settings, clock.value + timedelta(minutes=30))
    assert await rated_low(own_settings, meeting_id) == [province.committee]


def other_meeting(p: Province) -> CloudEvent:
    """Another meeting's schedule, so the batch goes the stretch's way."""
    return p.scheduled(random_id("mtg"), NOW + timedelta(days=3))
