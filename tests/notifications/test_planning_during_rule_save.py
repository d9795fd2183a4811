"""A meeting's jobs planned in the same instant as a change of its committee's alert settings: the handler reads the
settings while set_rule saves them, and set_rule's re-plan cannot see the jobs the handler has not committed yet.
Whichever reads first, the jobs must end with the setting saved (the handler waits for a save in progress, a save
waits for a plan in progress and then re-plans its jobs)."""

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg
import pytest

from services.notifications.config import Settings
from services.notifications.handlers import BATCH_HANDLERS, HANDLERS
from services.notifications.handlers.commands import Commands
from services.notifications.handlers.jobs import record_run, run_job
from services.notifications.repository import PgOutgoingRepository
from services.notifications.repository.outgoing import PLANNED_AT_SQL, Job
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_concurrent_rule_settings import (
    HeldUnitOfWork,
    Hook,
    under_a_province,
    waits_on_a_lock,
)
from tests.notifications.test_handlers import due_times, handle
from tests.support.ids import random_id
from tests.support.running import eventually


class PlanningOutgoing(PgOutgoingRepository):
    """The outgoing repository whose first schedule or schedule_many awaits `hook`: the handler has read the rule
    settings and computed its jobs, and is held before writing them."""

    def __init__(self, connection: asyncpg.Connection, *, hook: Hook, **kwargs: object) -> None:
        super().__init__(connection, **kwargs)  # type: ignore[arg-type]
        self._hook: Hook | None = hook

    async def _held(self) -> None:
        """Await the hook the first time only."""
        hook, self._hook = self._hook, None
        if hook is not None:
            await hook()

    async def schedule(self, *, kind: str, subject_id: str, due_at: datetime, rearm: bool) -> None:
        """Wait for the test, then plan the job."""
        await self._held()
        await super().schedule(kind=kind, subject_id=subject_id, due_at=due_at, rearm=rearm)

    async def schedule_many(self, jobs: Sequence[tuple[str, str, datetime]], *, rearm: bool) -> None:
        """Wait for the test, then plan the jobs."""
        await self._held()
        await super().schedule_many(jobs, rearm=rearm)


class PlanningUnitOfWork(NotificationsUnitOfWork):
    """A unit of work whose handler is held after reading the settings, before writing its jobs."""

    def __init__(self, *args: object, hook: Hook, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._hook = hook

    def start_repositories(self, connection: asyncpg.Connection) -> None:
        """The usual repositories, the outgoing one held at its first planned job."""
        super().start_repositories(connection)
        self.outgoing = PlanningOutgoing(connection, hook=self._hook, secrets=self._secrets, clock=self._clock)


@pytest.mark.parametrize("saved_on", ["committee", "above"])
@pytest.mark.parametrize("batch", [False, True], ids=["one event", "batch"])
async def test_a_meeting_planned_while_its_lead_time_is_saved_ends_with_the_saved_one(
    pool: asyncpg.Pool, settings: Settings, saved_on: str, batch: bool
) -> None:
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    starts = datetime(2026, 11, 13, 19, 30, tzinfo=VIETNAM_TZ)
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    above = await under_a_province(pool, settings, clock, p)

    planning_read = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        planning_read.set()
        await release.wait()

    async def plan() -> None:
        scheduled = read_event(p.scheduled(meeting_id, starts))
        async with PlanningUnitOfWork(pool, settings=settings, clock=clock, hook=hold) as uow:
            if batch:
                await BATCH_HANDLERS[scheduled.type]([scheduled], uow)
            else:
                await HANDLERS[scheduled.type](scheduled, uow)
            await uow.commit()

    # the handler has read the settings (the reminder 3 hours before, the default) and is about to plan
    planning = asyncio.create_task(plan())
    await asyncio.wait_for(planning_read.wait(), timeout=60)
    # the save runs meanwhile: to its end (its re-plan not seeing the meeting yet), or until it waits for the plan
    pids: list[int] = []
    commands = Commands(lambda: HeldUnitOfWork(pool, settings=settings, clock=clock, hook=None, pids=pids))
    unit = p.committee if saved_on == "committee" else above
    saving = asyncio.create_task(commands.set_rule(unit, "meeting_reminder", {"hours_before": 12}))
    await eventually(lambda: saving.done() or (pids and waits_on_a_lock(pool, pids[-1])))
    release.set()
    await asyncio.wait_for(asyncio.gather(planning, saving), timeout=60)

    assert (await due_times(pool, meeting_id))["meeting.reminder"] == (starts - timedelta(hours=12), False)


async def test_a_save_in_progress_holds_the_planning_until_it_commits(pool: asyncpg.Pool, settings: Settings) -> None:
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    starts = datetime(2026, 11, 13, 20, 30, tzinfo=VIETNAM_TZ)
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup())

    saved = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        saved.set()
        await release.wait()

    # the save has stored the new lead time and computed its re-plan (nothing of the meeting yet), not committed
    commands = Commands(lambda: HeldUnitOfWork(pool, settings=settings, clock=clock, hook=hold, pids=[]))
    saving = asyncio.create_task(commands.set_rule(p.committee, "meeting_reminder", {"hours_before": 12}))
    await asyncio.wait_for(saved.wait(), timeout=60)
    pids: list[int] = []
    planner = HeldUnitOfWork(pool, settings=settings, clock=clock, hook=None, pids=pids)

    async def plan() -> None:
        scheduled = read_event(p.scheduled(meeting_id, starts))
        async with planner as uow:
            await HANDLERS[scheduled.type](scheduled, uow)
            await uow.commit()

    # the planning reads the settings after the save commits, not the ones before it
    planning = asyncio.create_task(plan())
    await eventually(lambda: planning.done() or (pids and waits_on_a_lock(pool, pids[-1])))
    release.set()
    await asyncio.wait_for(asyncio.gather(saving, planning), timeout=60)

    assert (await due_times(pool, meeting_id))["meeting.reminder"] == (starts - timedelta(hours=12), False)


@pytest.mark.parametrize("saved_on", ["new committee", "old committee"])
async def test_a_cell_moved_to_another_committee_while_a_lead_time_is_saved_ends_with_the_new_committees(
    pool: asyncpg.Pool, settings: Settings, saved_on: str
) -> None:
    p, other = Province(), Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    starts = datetime(2026, 11, 13, 18, 30, tzinfo=VIETNAM_TZ)
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), *other.setup())
    await handle(pool, settings, clock, p.scheduled(meeting_id, starts))
    saving_on = Commands(lambda: NotificationsUnitOfWork(pool, settings=settings, clock=clock))
    if saved_on == "old committee":
        await saving_on.set_rule(other.committee, "meeting_reminder", {"hours_before": 6})

    held = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        held.set()
        await release.wait()

    cell: dict[str, object] = {"id": p.cell, "name": "Chi bộ khu phố Đông", "kind": "cell"}
    cell |= {"parent_id": other.committee, "contact_emails": []}
    moved = read_event(event("org.unit.upserted.v1", cell, time=p.origin + timedelta(days=2)))

    async def move() -> None:
        async with HeldUnitOfWork(pool, settings=settings, clock=clock, hook=hold, pids=[]) as uow:
            await HANDLERS[moved.type](moved, uow)
            await uow.commit()

    # the move has read the settings above the cell and computed the re-plan of its jobs, not committed yet
    moving = asyncio.create_task(move())
    await eventually(lambda: held.is_set() or moving.done())
    pids: list[int] = []
    commands = Commands(lambda: HeldUnitOfWork(pool, settings=settings, clock=clock, hook=None, pids=pids))
    unit, hours = (other.committee, 12) if saved_on == "new committee" else (p.committee, 1)
    saving = asyncio.create_task(commands.set_rule(unit, "meeting_reminder", {"hours_before": hours}))
    await eventually(lambda: saving.done() or (pids and waits_on_a_lock(pool, pids[-1])))
    release.set()
    await asyncio.wait_for(asyncio.gather(moving, saving), timeout=60)

    expected = 12 if saved_on == "new committee" else 6
    assert (await due_times(pool, meeting_id))["meeting.reminder"] == (starts - timedelta(hours=expected), False)


async def test_a_reminder_fired_while_its_lead_time_is_saved_neither_waits_for_the_save_nor_deadlocks(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    starts = datetime(2026, 11, 13, 17, 30, tzinfo=VIETNAM_TZ)
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    await handle(pool, settings, clock, p.scheduled(meeting_id, starts))
    clock.value = starts - timedelta(hours=12)  # the documents check (24 hours before) is due, not the reminder

    saved = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        saved.set()
        await release.wait()

    # the save holds its lock and has computed the move of the reminder, not written yet
    commands = Commands(lambda: HeldUnitOfWork(pool, settings=settings, clock=clock, hook=hold, pids=[]))
    saving = asyncio.create_task(commands.set_rule(p.committee, "meeting_reminder", {"hours_before": 1}))
    await asyncio.wait_for(saved.wait(), timeout=60)
    pids: list[int] = []

    async def fire() -> int:
        async with HeldUnitOfWork(pool, settings=settings, clock=clock, hook=None, pids=pids) as uow:
            # claimed as claim_due_job does (earlier jobs of other tests in this database left aside)
            row = await uow.connection.fetchrow(
                f"SELECT id, kind, subject_id, due_at, attempts, cursor, {PLANNED_AT_SQL} AS planned_at FROM schedule"
                " WHERE kind = 'meeting.documents' AND subject_id = $1 AND done_at IS NULL AND due_at <= $2"
                " FOR UPDATE",
                meeting_id,
                uow.now(),
            )
            assert row is not None
            job = Job(**dict(row))
            run = await run_job(job, uow)
            await record_run(job, run, uow)
            await uow.commit()
        return run.created

    # the runner holds the documents check's row, which the save's re-plan will wait for: it must not wait for the save
    firing = asyncio.create_task(fire())
    await eventually(lambda: firing.done() or (pids and waits_on_a_lock(pool, pids[-1])))
    release.set()
    created, _ = await asyncio.wait_for(asyncio.gather(firing, saving), timeout=60)

    assert created > 0
    due = await due_times(pool, meeting_id)
    assert due["meeting.documents"] == (starts - timedelta(hours=24), True)
    assert due["meeting.reminder"] == (starts - timedelta(hours=1), False)
