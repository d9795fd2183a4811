"""An HTTP batch's deadline (answer_by, handlers.deadline_of) holds on every path its events are judged by. When a
batch's transaction fails as a whole (a defect or a failure of the moment, not one event's), its events are judged
again one per transaction; that path ignored the deadline, so a batch whose transaction failed near it went on storing
events one by one past the answer's due time (the gateway, its own time out, answered a bare 503 for events that were
stored). Now the events not reached by the deadline are answered not judged and stored nowhere, as on the batch's own
path; so is an event whose own transaction failed (POISON_ERRORS) when the deadline comes before its rejection is
stored. Real PostgreSQL."""

import asyncio
import time
from dataclasses import dataclass, field

import asyncpg

from services.meetings import handlers
from services.meetings.handlers.ingest import ingest_readings, read_raw
from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared.contracts.meetings_rpc import NOT_JUDGED
from tests.meetings import events as ev
from tests.support.ids import random_id

DUE_IN = 2.0
"""Seconds from the batch's start to its deadline: far more than judging its three events takes."""


@dataclass
class Script:
    """What the units of work of one batch do: the first (the batch's one transaction) fails to commit with
    `failure`; the one opened `late` commits, or fails, only once the deadline has passed, as a slow commit would."""

    deadline: float
    failure: Exception = field(default_factory=lambda: RuntimeError("the batch's transaction failed"))
    late: int = 1
    opened: list[str] = field(default_factory=list)


class ScriptedUnitOfWork(MeetingsUnitOfWork):
    """A unit of work on the test pool that plays its part of the Script by the order it was opened in."""

    def __init__(self, pool: asyncpg.Pool, script: Script) -> None:
        super().__init__(pool)
        self.script = script
        self.part = len(script.opened)
        script.opened.append("batch" if self.part == 0 else f"alone {self.part}")

    async def commit(self) -> None:
        """Fail the batch's transaction; commit (or fail) the `late` one only once the deadline has passed."""
        if self.part == self.script.late:  # the commit outlasts the deadline
            passed = asyncio.Event()
            asyncio.get_running_loop().call_later(self.script.deadline - time.monotonic(), passed.set)
            await passed.wait()
        if self.part == 0:
            raise self.script.failure
        await super().commit()


async def test_events_retried_alone_after_their_batch_failed_are_not_judged_past_the_deadline(
    meetings_pool: asyncpg.Pool,
) -> None:
    cell = random_id("cell")
    await handlers.ingest_batch([ev.unit(cell)], lambda: MeetingsUnitOfWork(meetings_pool), route="test")
    batch = [ev.member(random_id("mem"), cell) for _ in range(3)]
    script = Script(deadline=time.monotonic() + DUE_IN)

    results = await ingest_readings(
        [read_raw(raw) for raw in batch],
        lambda: ScriptedUnitOfWork(meetings_pool, script),
        route="http",
        deadline=script.deadline,
    )

    # before: ["accepted"] * 3, the last two stored one by one after the answer was due
    assert [result.outcome for result in results] == ["accepted", NOT_JUDGED, NOT_JUDGED]
    assert [result.id for result in results] == [raw["id"] for raw in batch]
    async with meetings_pool.acquire() as conn:
        stored = await conn.fetch("SELECT id FROM member WHERE id = ANY($1::text[])", [e["data"]["id"] for e in batch])
        inbox = await conn.fetchval(
            "SELECT count(*) FROM processed_message WHERE event_id = ANY($1::text[])", [e["id"] for e in batch]
        )
    assert [row["id"] for row in stored] == [batch[0]["data"]["id"]] and inbox == 1


async def test_an_event_whose_own_transaction_failed_is_not_rejected_past_the_deadline(
    meetings_pool: asyncpg.Pool,
) -> None:
    cell = random_id("cell")
    await handlers.ingest_batch([ev.unit(cell)], lambda: MeetingsUnitOfWork(meetings_pool), route="test")
    event = ev.member(random_id("mem"), cell)
    # a failure of the event's own (POISON_ERRORS), which rejects it alone, coming as the deadline passes
    script = Script(deadline=time.monotonic() + DUE_IN, failure=ValueError("a value the database cannot take"), late=0)

    [result] = await ingest_readings(
        [read_raw(event)], lambda: ScriptedUnitOfWork(meetings_pool, script), route="http", deadline=script.deadline
    )

    assert result.outcome == NOT_JUDGED  # before: rejected, its rejection stored after the answer was due
    async with meetings_pool.acquire() as conn:
        rejections = await conn.fetchval(
            "SELECT count(*) FROM rejection WHERE source = $1 AND event_id = $2", event["source"], event["id"]
        )
    assert rejections == 0
