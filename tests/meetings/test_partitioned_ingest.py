"""Issue 12: ingestion locks only what each event touches, so cells are applied side by side, and holds stay right.

Against the real database: a transaction about one cell does not wait for another cell's; one about the same
cell does; held events and their referents sent at the same moment from many tasks never miss each other.
"""

import asyncio
import contextlib
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg

from services.meetings import handlers
from services.meetings.domain import LockSet, meeting_key, member_key, unit_key
from services.meetings.handlers.ingest import plan_transactions, read_raw
from services.meetings.unit_of_work import MeetingsUnitOfWork
from tests.meetings import events as ev
from tests.meetings.fakes import FakeStore
from tests.support.ids import random_id
from tests.support.running import eventually

START = ev.BASE_TIME + timedelta(days=3)
UowFactory = Callable[[], MeetingsUnitOfWork]


def cell_feed(cell: str, parent: str, members: int = 3) -> list[dict[str, Any]]:
    """A cell's unit, members, one meeting with its roster and minutes."""
    people = [f"{cell}-m{i}" for i in range(members)]
    meeting = f"{cell}-mtg"
    return [
        ev.unit(cell, parent_id=parent),
        *(ev.member(person, cell) for person in people),
        ev.scheduled(meeting, cell, starts_at=START),
        ev.attendance(meeting, dict.fromkeys(people, "present")),
        ev.minutes(meeting, chair_id=people[0], started_at=START),
    ]


def test_a_batch_is_planned_as_one_group_per_cell_in_batch_order() -> None:
    committee = random_id("cmt")
    feeds = [cell_feed(random_id("cell"), committee) for _ in range(3)]
    interleaved = [event for events in zip(*feeds, strict=True) for event in events]
    readings = [read_raw(raw) for raw in interleaved]
    plans = plan_transactions(readings)
    assert sorted(index for plan in plans for index in plan) == list(range(len(readings)))
    # the three cells share only their parent committee, which no event writes: one group each... packed in one
    assert len(plans) == 1
    # a cell's events keep their order whatever the packing
    for feed in feeds:
        ids = [raw["id"] for raw in feed]
        order = [readings[index].event_id for plan in plans for index in plan if readings[index].event_id in ids]
        assert order == ids


def test_an_event_locks_its_own_entity_exclusively_and_its_referents_shared() -> None:
    committee, cell, person, meeting = random_id("cmt"), random_id("cell"), random_id("mem"), random_id("mtg")
    unit = read_raw(ev.unit(cell, parent_id=committee)).locks
    assert unit == LockSet(exclusive=frozenset({unit_key(cell)}), shared=frozenset({unit_key(committee)}))
    member = read_raw(ev.member(person, cell)).locks
    assert member == LockSet(exclusive=frozenset({member_key(person)}), shared=frozenset({unit_key(cell)}))
    roster = read_raw(ev.attendance(meeting, {person: "present"})).locks
    assert roster.exclusive == {meeting_key(meeting), member_key(person)}  # it publishes their histories
    minutes = read_raw(ev.minutes(meeting, chair_id=person, started_at=START)).locks
    assert minutes == LockSet(exclusive=frozenset({meeting_key(meeting)}), shared=frozenset({member_key(person)}))
    approval = ev.raw_event("minutes.approved.v1", {"meeting_id": meeting, "approved_at": START.isoformat()})
    assert read_raw(approval).locks == LockSet(exclusive=frozenset({meeting_key(meeting)}))


async def test_every_hold_seen_on_fakes_names_a_key_its_event_locked() -> None:
    store = FakeStore()
    committee = random_id("cmt")
    feed = [ev.unit(committee, kind="committee"), *cell_feed(random_id("cell"), committee)]
    random.Random(12).shuffle(feed)
    for raw in feed:
        async with store.uow() as uow:
            result = await handlers.ingest_event(raw, uow, route="test")
            await uow.commit()
        if result.outcome == "held":
            assert result.waiting_for is not None
            kind, _, rest = result.waiting_for.partition(":")
            key = {"unit": unit_key, "member": member_key}.get(kind, meeting_key)(rest.partition(":")[0])
            assert key in uow.locked, (raw["type"], result.waiting_for, uow.locked)
    assert not store.state.held


async def waiting_on_advisory_lock(pool: asyncpg.Pool) -> bool:
    """Whether some transaction of this database waits for an advisory lock another one holds."""
    waiting = await pool.fetchval(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
        " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
    )
    return bool(waiting)


async def _holding(pool: asyncpg.Pool, locks: LockSet, entered: asyncio.Event, release: asyncio.Event) -> None:
    async with MeetingsUnitOfWork(pool) as uow:
        await uow.ingest.lock(locks)
        entered.set()
        await release.wait()


async def test_another_cells_transaction_runs_while_one_cell_is_locked(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory
) -> None:
    busy, free = random_id("cell"), random_id("cell")
    entered, release = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(
        _holding(meetings_pool, LockSet(exclusive=frozenset({unit_key(busy)})), entered, release)
    )
    try:
        await asyncio.wait_for(entered.wait(), timeout=60)
        results = await asyncio.wait_for(handlers.ingest_batch([ev.unit(free)], uow_factory, route="test"), timeout=60)
        assert [result.outcome for result in results] == ["accepted"]
        blocked = asyncio.create_task(handlers.ingest_batch([ev.unit(busy)], uow_factory, route="test"))
        # the same cell waits for the transaction holding it: seen waiting on its lock, not assumed after a pause
        await eventually(lambda: waiting_on_advisory_lock(meetings_pool))
        assert not blocked.done()
        release.set()
        assert [result.outcome for result in await asyncio.wait_for(blocked, timeout=60)] == ["accepted"]
    finally:
        release.set()
        await holder


async def test_held_events_and_their_referents_sent_at_once_from_many_tasks_all_apply(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory
) -> None:
    committee = random_id("cmt")
    cells = [random_id("cell") for _ in range(8)]
    events: list[dict[str, Any]] = [ev.unit(committee, kind="committee")]
    for cell in cells:
        events += cell_feed(cell, committee, members=4)
    rng = random.Random(2026)
    for _ in range(3):  # three shuffled, duplicated passes, sent as small batches by four tasks at once
        shuffled = events + rng.sample(events, len(events) // 3)
        rng.shuffle(shuffled)
        batches = [shuffled[i : i + 5] for i in range(0, len(shuffled), 5)]
        lanes = [batches[i::4] for i in range(4)]

        async def send(lane: list[list[dict[str, Any]]]) -> None:
            for batch in lane:
                await handlers.ingest_batch(batch, uow_factory, route="test")

        await asyncio.wait_for(asyncio.gather(*(send(lane) for lane in lanes)), timeout=300)
    ids = [raw["id"] for raw in events]
    async with meetings_pool.acquire() as conn:
        held = await conn.fetch("SELECT event_id, waiting_for FROM held_event WHERE event_id = ANY($1::text[])", ids)
        rejected = await conn.fetchval("SELECT count(*) FROM rejection WHERE event_id = ANY($1::text[])", ids)
        rosters = await conn.fetchval(
            "SELECT count(*) FROM attendance WHERE meeting_id = ANY($1::text[])", [f"{cell}-mtg" for cell in cells]
        )
        minutes = await conn.fetchval(
            "SELECT count(*) FROM minutes WHERE meeting_id = ANY($1::text[])", [f"{cell}-mtg" for cell in cells]
        )
    assert [dict(row) for row in held] == [] and rejected == 0
    assert (rosters, minutes) == (4 * len(cells), len(cells))


async def test_a_released_event_whose_keys_are_busy_is_settled_after_commit_or_by_the_sweep(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory
) -> None:
    cell, person = random_id("cell"), random_id("mem")
    waiting = ev.member(person, cell)
    assert [r.outcome for r in await handlers.ingest_batch([waiting], uow_factory, route="test")] == ["held"]

    async def held_row() -> asyncpg.Record | None:
        async with meetings_pool.acquire() as conn:
            return await conn.fetchrow("SELECT released_at FROM held_event WHERE event_id = $1", waiting["id"])

    entered, release = asyncio.Event(), asyncio.Event()
    locks = LockSet(exclusive=frozenset({member_key(person)}))
    holder = asyncio.create_task(_holding(meetings_pool, locks, entered, release))
    await asyncio.wait_for(entered.wait(), timeout=60)
    arrival = asyncio.create_task(handlers.ingest_batch([ev.unit(cell)], uow_factory, route="test"))
    for _ in range(600):  # the cell commits; the member, whose key is busy, is only marked released
        row = await held_row()
        if row is not None and row["released_at"] is not None:
            break
        await asyncio.sleep(0.1)
    row = await held_row()
    assert row is not None and row["released_at"] is not None and not arrival.done()
    arrival.cancel()  # as if the process stopped before settling it
    with contextlib.suppress(asyncio.CancelledError):
        await arrival
    release.set()
    await holder
    async with meetings_pool.acquire() as conn:
        await conn.execute(
            "UPDATE held_event SET released_at = now() - interval '1 hour' WHERE event_id = $1", waiting["id"]
        )
        assert await conn.fetchval("SELECT count(*) FROM member WHERE id = $1", person) == 0
    assert await handlers.sweep_released(uow_factory) >= 1
    assert await held_row() is None
    async with meetings_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM member WHERE id = $1", person) == 1
