"""A member written while the minutes of its cell's meeting with no roster are scored, on two real connections.

With no roster a resolution's votes are judged against the cell's members at the meeting's start; a member write
returns the cell's meetings with minutes and no roster to rescore. Under READ COMMITTED, a member write (M) and the
scoring of that cell's minutes (S) side by side each missed the other's uncommitted rows: M's read of the meetings
to rescore did not see S's minutes, S's read of the members did not see M's member, and the meeting kept the score
of the old membership for good. Both now take the cell's advisory lock (M in the statement writing the member, S
before reading), so whichever commits second reads what the first wrote. Each interleaving is forced step by step,
waiting on conditions (the other side finished, or waits for a lock), never on time.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

import asyncpg
import pytest

from services.evaluation.bootstrap import prepare
from services.evaluation.handlers import FACT_HANDLERS
from services.evaluation.handlers.coalesced import defer_touched, score_dirty
from services.evaluation.handlers.facts import FACT_BATCH_HANDLERS
from services.evaluation.handlers.scores import score_touched
from services.evaluation.unit_of_work import EvaluationUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, fact, ward_with_cell
from tests.evaluation.test_coalesced import deliver
from tests.evaluation.test_implausible_counts import voted_meeting
from tests.support.running import eventually

CELL, MEETING = "c-race", "mtg-race"
Factory = Callable[[], EvaluationUnitOfWork]


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, Factory]]:
    """A private database with the cell's three members and its meeting (no minutes yet) stored and scored."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=lambda: date(2026, 11, 20))
        scheduled, _ = voted_meeting(CELL, MEETING, 4)
        await deliver(factory, [*ward_with_cell(CELL, time=at(1, 1)), scheduled])
        await _drain(factory)
        yield pool, factory


def _minutes() -> dict[str, Any]:
    """The meeting's minutes: one resolution of 4 votes for, beyond the 3 members, within 4."""
    return voted_meeting(CELL, MEETING, 4)[1]


def _fourth_member() -> dict[str, Any]:
    data = {"id": f"{CELL}-m4", "full_name": "Trần Văn Bốn", "cell_id": CELL, "status": "official"}
    return fact("member.upserted.v1", data, time=at(2, 1))


def _fourth_member_removed() -> dict[str, Any]:
    data = {"id": f"{CELL}-m4", "effective_on": "2026-03-01", "reason": "transferred"}
    return fact("member.removed.v1", data, time=at(3, 1))


async def _apply(uow: EvaluationUnitOfWork, raw: dict[str, Any], *, batch: bool = False) -> None:
    event = read_event(parse_envelope(json.dumps(raw)))
    if batch:
        await FACT_BATCH_HANDLERS[event.type]([event], uow)
    else:
        await FACT_HANDLERS[event.type](event, uow)


async def _drain(factory: Factory) -> None:
    while await score_dirty(uow_factory=factory, limit=100):
        pass


async def _adopted_points(pool: asyncpg.Pool) -> float:
    criteria = await pool.fetchval("SELECT criteria::text FROM meeting_score WHERE meeting_id = $1", MEETING)
    return {line["code"]: line["points"] for line in json.loads(criteria)}["closing.resolution_adopted"]


async def _blocked_or_done(pool: asyncpg.Pool, task: "asyncio.Task[Any]") -> bool:
    """The task ended, or some transaction of this database waits for an advisory lock (the task's)."""
    return task.done() or bool(
        await pool.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    )


async def _hold_then_commit(pool: asyncpg.Pool, holder: EvaluationUnitOfWork, other: Awaitable[None]) -> None:
    """With `holder`'s transaction open, start `other`; once it ended or waits for a lock, commit `holder`, then
    let `other` finish."""
    task = asyncio.ensure_future(other)
    try:
        await eventually(lambda: _blocked_or_done(pool, task), timeout=20, interval=0.02)
        await holder.commit()
    finally:
        await asyncio.wait_for(task, timeout=20)


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
async def test_a_member_written_while_the_minutes_are_scored_rescores_them(
    world: tuple[asyncpg.Pool, Factory], batch: bool
) -> None:
    """S stores the minutes and scores them against the 3 members, and stays open; M writes a fourth member and
    commits (before: without seeing S's minutes, so nothing to rescore), then S commits. Once every note is
    scored, the 4 votes are within the 4 members: full points, as if the member had come first."""
    pool, factory = world

    async def write_member() -> None:
        async with factory() as uow:
            await _apply(uow, _fourth_member(), batch=batch)
            await defer_touched(uow)
            await uow.commit()

    async with factory() as scoring:
        await _apply(scoring, _minutes())
        await score_touched(scoring)  # read the cell's members: 3
        await _hold_then_commit(pool, scoring, write_member())
    await _drain(factory)
    assert await _adopted_points(pool) == 2


async def test_a_member_removed_while_the_minutes_are_scored_rescores_them(
    world: tuple[asyncpg.Pool, Factory],
) -> None:
    """The fourth member stored first; S stores the minutes and scores them against the 4 members (full points) and
    stays open; M removes the fourth member from before the meeting and commits, then S commits. Once every note is
    scored, the 4 votes are beyond the 3 members left: 0."""
    pool, factory = world
    await deliver(factory, [_fourth_member()])

    async def remove_member() -> None:
        async with factory() as uow:
            await _apply(uow, _fourth_member_removed())
            await defer_touched(uow)
            await uow.commit()

    async with factory() as scoring:
        await _apply(scoring, _minutes())
        await score_touched(scoring)  # read the cell's members: 4
        await _hold_then_commit(pool, scoring, remove_member())
    await _drain(factory)
    assert await _adopted_points(pool) == 0


async def test_minutes_scored_while_a_member_write_is_open_read_the_member(
    world: tuple[asyncpg.Pool, Factory],
) -> None:
    """M writes a fourth member and stays open, its read of the meetings to rescore made before the minutes commit;
    the minutes commit; a scoring round S scores them (before: against the 3 members committed, and commits), then
    M commits. Once every note is scored: full points."""
    pool, factory = world
    async with factory() as minutes:
        await _apply(minutes, _minutes())
        await defer_touched(minutes)
        async with factory() as member:
            await _apply(member, _fourth_member())
            await defer_touched(member)
            await minutes.commit()
            await _hold_then_commit(pool, member, _drain(factory))
    await _drain(factory)
    assert await _adopted_points(pool) == 2
