"""Meetings reads the framework tables once per transaction (issue 12): a batch of assessments judged in one
transaction reads them once, and an adoption recorded in that transaction is seen by what follows it.

Real PostgreSQL (the package's meetings schema); reads are counted by wrapping the repository's one read.
"""

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest

from services.meetings import handlers
from services.meetings.repository import PgFrameworkRepository
from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared.contracts.frameworks import FrameworkAdopted, FrameworkItem, ItemTable
from tests.meetings import events as ev
from tests.support.ids import random_id


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per read of framework_items by any PgFrameworkRepository."""
    counted: list[int] = []
    original: Callable[[PgFrameworkRepository], Awaitable[list[ItemTable]]] = PgFrameworkRepository._read_tables

    async def counting(self: PgFrameworkRepository) -> list[ItemTable]:
        counted.append(1)
        return await original(self)

    monkeypatch.setattr(PgFrameworkRepository, "_read_tables", counting)
    return counted


def assessed(meeting_id: str, points: dict[str, float]) -> dict[str, Any]:
    """meeting.assessed.v1 by the cell committee."""
    return ev.raw_event(
        "meeting.assessed.v1", {"meeting_id": meeting_id, "assessor": {"role": "cell_committee"}, "points": points}
    )


async def test_a_batch_of_assessments_reads_the_framework_tables_once(
    meetings_pool: asyncpg.Pool, reads: list[int]
) -> None:
    cell = random_id("cell")
    meetings = [random_id("mtg") for _ in range(8)]
    setup = [ev.unit(cell)]
    setup += [ev.scheduled(m, cell, starts_at=ev.BASE_TIME + timedelta(days=3 + i)) for i, m in enumerate(meetings)]
    uow_factory = lambda: MeetingsUnitOfWork(meetings_pool)  # noqa: E731
    assert {r.outcome for r in await handlers.ingest_batch(setup, uow_factory, route="test")} == {"accepted"}
    batch = [assessed(meeting, {"conduct.praise_criticism": 2}) for meeting in meetings[:-1]]
    batch.append(assessed(meetings[-1], {"conduct.praise_criticism": 99}))  # above the item's maximum
    reads.clear()
    results = await handlers.ingest_batch(batch, uow_factory, route="test")
    assert [r.outcome for r in results] == ["accepted"] * 7 + ["rejected"]
    assert results[-1].field == "data.points.conduct.praise_criticism"
    assert len(reads) == 1
    async with meetings_pool.acquire() as conn:
        stored = await conn.fetchval("SELECT count(*) FROM assessment WHERE meeting_id = ANY($1::text[])", meetings)
    assert stored == 7


async def test_an_adoption_recorded_in_the_transaction_is_seen_by_its_next_read(
    meetings_pool: asyncpg.Pool, reads: list[int]
) -> None:
    framework_id = random_id("fw")
    adopted = FrameworkAdopted(
        framework_id=framework_id,
        version="v1",
        committee_id=random_id("committee"),
        effective_from=date(2026, 1, 1),
        sequence=1,
        items=[FrameworkItem(code="digital.handbook", max=3, manual=True)],
    )
    async with MeetingsUnitOfWork(meetings_pool) as uow:
        before = await uow.frameworks.tables()
        assert await uow.frameworks.tables() == before
        assert len(reads) == 1
        assert framework_id not in {table.framework_id for table in before}
        assert await uow.frameworks.record(adopted)
        after = await uow.frameworks.tables()
        assert len(reads) == 2
        [table] = [table for table in after if table.framework_id == framework_id]
        assert table.manual_maxima == {"digital.handbook": 3.0} and table.committee_id == adopted.committee_id
        await uow.rollback()
    async with MeetingsUnitOfWork(meetings_pool) as uow:  # a new transaction reads afresh (the adoption undone)
        assert framework_id not in {table.framework_id for table in await uow.frameworks.tables()}
    assert len(reads) == 3
