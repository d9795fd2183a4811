"""Two alert settings saved at the same time under one committee (set_rule from the API, the ops CLI, or the
committee above, which the gateway's page does not serialize): each re-plans the subtree's pending jobs, and both
changes must reach them, whichever re-plan read the settings first."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import asyncpg
import pytest

from services.notifications.config import Settings
from services.notifications.handlers.commands import Commands
from services.notifications.repository import PgOutgoingRepository
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import due_times, handle
from tests.support.ids import random_id
from tests.support.running import eventually

Hook = Callable[[], Awaitable[None]]


class HeldOutgoing(PgOutgoingRepository):
    """The outgoing repository whose replan_pending first awaits `hook`: the re-plan has read the settings and
    computed its moves, and is held before writing them."""

    def __init__(self, connection: asyncpg.Connection, *, hook: Hook, **kwargs: object) -> None:
        super().__init__(connection, **kwargs)  # type: ignore[arg-type]
        self._hook = hook

    async def replan_pending(self, jobs: Sequence[tuple[str, str, datetime]]) -> None:
        """Wait for the test, then move the jobs."""
        await self._hook()
        await super().replan_pending(jobs)


class HeldUnitOfWork(NotificationsUnitOfWork):
    """A unit of work that tells the test its backend pid and, with `hook`, holds its re-plan before writing."""

    def __init__(self, *args: object, hook: Hook | None, pids: list[int], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._hook = hook
        self._pids = pids

    def start_repositories(self, connection: asyncpg.Connection) -> None:
        """The usual repositories; the outgoing one held at its re-plan when the test gave a hook."""
        super().start_repositories(connection)
        self._pids.append(connection.get_server_pid())
        if self._hook is not None:
            self.outgoing = HeldOutgoing(connection, hook=self._hook, secrets=self._secrets, clock=self._clock)


async def waits_on_a_lock(pool: asyncpg.Pool, pid: int) -> bool:
    """Whether the backend `pid` is waiting for a lock (a row, or an advisory one) another transaction holds."""
    async with pool.acquire() as conn:
        return bool(await conn.fetchval("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid))


async def under_a_province(pool: asyncpg.Pool, settings: Settings, clock: Clock, *committees: Province) -> str:
    """A province committee above the given ones (their cells inherit its settings); its id."""
    above = random_id("province")
    top: dict[str, object] = {
        "id": above,
        "name": "Tỉnh ủy Hòa Bình",
        "kind": "committee",
        "parent_id": None,
        "contact_emails": [],
    }
    events = [event("org.unit.upserted.v1", top, time=committees[0].origin)]
    for p in committees:
        moved: dict[str, object] = {"id": p.committee, "name": "Đảng ủy phường Hòa Bình", "kind": "committee"}
        moved |= {"parent_id": above, "contact_emails": [p.email(p.committee)]}
        events.append(event("org.unit.upserted.v1", moved, time=p.origin + timedelta(days=1)))
    await handle(pool, settings, clock, *events)
    return above


@pytest.mark.parametrize("first_on", ["committee", "above"])
async def test_two_rules_saved_at_once_under_one_committee_both_reach_the_pending_reminders(
    pool: asyncpg.Pool, settings: Settings, first_on: str
) -> None:
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    starts = datetime(2026, 11, 13, 19, 30, tzinfo=VIETNAM_TZ)
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    above = await under_a_province(pool, settings, clock, p)
    await handle(pool, settings, clock, p.scheduled(meeting_id, starts))

    first_read = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        first_read.set()
        await release.wait()

    first_pids: list[int] = []
    second_pids: list[int] = []
    first = Commands(lambda: HeldUnitOfWork(pool, settings=settings, clock=clock, hook=hold, pids=first_pids))
    second = Commands(lambda: HeldUnitOfWork(pool, settings=settings, clock=clock, hook=None, pids=second_pids))

    # the first save has stored its rule and computed its re-plan, not committed yet
    first_unit = p.committee if first_on == "committee" else above
    saving = asyncio.create_task(first.set_rule(first_unit, "meeting_reminder", {"hours_before": 12}))
    await asyncio.wait_for(first_read.wait(), timeout=60)
    # the second save of another rule runs meanwhile: to its end, or until it waits for the first one
    other = asyncio.create_task(second.set_rule(p.committee, "documents_missing", {"hours_before": 48}))
    await eventually(lambda: other.done() or (second_pids and waits_on_a_lock(pool, second_pids[-1])))
    release.set()
    await asyncio.wait_for(asyncio.gather(saving, other), timeout=60)

    due = await due_times(pool, meeting_id)
    assert due["meeting.reminder"] == (starts - timedelta(hours=12), False)
    assert due["meeting.documents"] == (starts - timedelta(hours=48), False)


async def test_a_rule_saved_for_the_committee_beside_does_not_wait_for_one_being_saved(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p, beside = Province(), Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    starts = datetime(2026, 11, 13, 19, 30, tzinfo=VIETNAM_TZ)
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), *beside.setup())
    await under_a_province(pool, settings, clock, p, beside)
    await handle(pool, settings, clock, beside.scheduled(meeting_id, starts))

    held = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        held.set()
        await release.wait()

    first = Commands(lambda: HeldUnitOfWork(pool, settings=settings, clock=clock, hook=hold, pids=[]))
    saving = asyncio.create_task(first.set_rule(p.committee, "meeting_reminder", {"hours_before": 12}))
    try:
        await asyncio.wait_for(held.wait(), timeout=60)
        # no cell in common: the committee beside saves and re-plans while the first save is still open
        other = Commands(lambda: NotificationsUnitOfWork(pool, settings=settings, clock=clock))
        await asyncio.wait_for(other.set_rule(beside.committee, "meeting_reminder", {"hours_before": 6}), timeout=60)
        assert (await due_times(pool, meeting_id))["meeting.reminder"] == (starts - timedelta(hours=6), False)
    finally:
        release.set()
        await saving
