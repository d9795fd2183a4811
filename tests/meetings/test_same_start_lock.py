"""A secretary's schedule within an hour of another meeting of the cell not cancelled is refused
(`meeting_at_same_time`, naming `data.starts_at`) unless confirmed. The gateway used to ask meetings for the cell's
meetings and then send the schedule: two schedules sent at the same moment (two gateway replicas, a form sent twice)
both asked before either was stored, and both passed. Meetings now judges it itself, under the cell's advisory lock
that ingestion takes (handlers/locks.py), so one of two such schedules sees the other. On fakes, then over the real
PostgreSQL with two ingestions at the same moment, each reading while the other is provably in flight."""

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from services.meetings import handlers
from services.meetings.repository.meetings import PgMeetingRepository
from shared.envelope import GATEWAY_SOURCE, SAME_TIME_EXTENSION
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.meetings.test_rules import START, world
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id

AT = START + timedelta(days=2)
"""A start two days after the rules' world's own meeting (at START): no other meeting of its cell is near it."""


def secretarys(meeting: str, cell: str, minutes_after: int, **extensions: Any) -> dict[str, Any]:
    """A secretary's schedule (the gateway's command) of `meeting` at AT plus `minutes_after` minutes."""
    start = AT + timedelta(minutes=minutes_after)
    return ev.scheduled(meeting, cell, starts_at=start, source=GATEWAY_SOURCE, **extensions)


async def test_a_secretarys_schedule_within_the_hour_of_another_is_refused_unless_confirmed() -> None:
    store, ids = await world()
    cell = ids["cell"]
    known = random_id("mtg")
    assert (await handlers.ingest_batch([secretarys(known, cell, 0)], store.uow, route="test"))[0].outcome == "accepted"
    close, earlier = secretarys(random_id("mtg"), cell, 40), secretarys(random_id("mtg"), cell, -59)
    confirmed = secretarys(random_id("mtg"), cell, 30, **{SAME_TIME_EXTENSION: True})
    feed = ev.scheduled(random_id("mtg"), cell, starts_at=AT + timedelta(minutes=20))  # an integration's fact
    results = await handlers.ingest_batch([close, earlier, confirmed, feed], store.uow, route="test")
    for refused in results[:2]:
        assert (refused.outcome, refused.field) == ("rejected", "data.starts_at"), refused
        assert refused.refusal is not None and refused.refusal.code is RefusalCode.MEETING_AT_SAME_TIME
        assert refused.reason and known in refused.reason and "confirm_same_time" in refused.reason
    assert [result.outcome for result in results[2:]] == ["accepted", "accepted"]
    hour = secretarys(random_id("mtg"), cell, 60 + 60 + 60)  # AT + 3 h: an hour or more from every meeting
    cancel = ev.raw_event("meeting.cancelled.v1", {"meeting_id": known, "reason": "trùng"}, source=GATEWAY_SOURCE)
    after_cancel = secretarys(random_id("mtg"), cell, -50)  # only the cancelled meeting is within the hour
    results = await handlers.ingest_batch([hour, cancel, after_cancel], store.uow, route="test")
    assert [result.outcome for result in results] == ["accepted"] * 3, results
    assert close["data"]["meeting_id"] not in store.state.meetings


@pytest.fixture
def reads_meet(meetings_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Makes each read of the cell's other meetings (PgMeetingRepository.starting_near) wait, after reading, until the
    other schedule is in flight too: it has read as well, or it waits on an advisory lock (a lock the reader holds).
    Without the cell's lock both read before either writes, which is the race; with it, the second waits for the
    first to commit. Yields the meeting ids in the order they read."""
    read_by: list[str] = []
    original = PgMeetingRepository.starting_near

    async def lock_waiters() -> int:
        async with meetings_pool.acquire() as conn:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
                )
            )

    async def in_flight_together(self: PgMeetingRepository, *args: Any, other_than: str, **kw: Any) -> Any:
        found = await original(self, *args, other_than=other_than, **kw)
        read_by.append(other_than)
        deadline = time.monotonic() + 30
        while len(read_by) < 2 and await lock_waiters() == 0:
            assert time.monotonic() < deadline, "the other schedule neither read nor waited on a lock"
            await asyncio.sleep(0.02)
        return found

    monkeypatch.setattr(PgMeetingRepository, "starting_near", in_flight_together)
    yield read_by


async def test_two_secretaries_schedules_of_one_cell_at_the_same_moment_are_judged_one_after_the_other(
    meetings_pool: asyncpg.Pool, db: asyncpg.Connection, reads_meet: list[str]
) -> None:
    methods = rpc_methods(meetings_pool)
    commune, cell = random_id("demo-xa"), random_id("demo-cb")
    feed = [ev.unit(commune, kind="committee", name="Đảng ủy xã"), ev.unit(cell, parent_id=commune)]
    answer = await methods["ingest"](events=feed, route="http", account="feed")
    assert [r["outcome"] for r in answer["results"]] == ["accepted", "accepted"]
    schedules = [secretarys(random_id("mtg"), cell, 0), secretarys(random_id("mtg"), cell, 30)]
    answers = await asyncio.gather(
        *(methods["ingest"](events=[schedule], route="http", account="secretary") for schedule in schedules)
    )
    results = [answer["results"][0] for answer in answers]
    assert sorted(result["outcome"] for result in results) == ["accepted", "rejected"], results
    [refused] = [result for result in results if result["outcome"] == "rejected"]
    assert refused["field"] == "data.starts_at" and refused["refusal"]["code"] == "meeting_at_same_time"
    stored = await db.fetchval("SELECT count(*) FROM meetings.meeting WHERE cell_id = $1", cell)
    assert stored == 1
    assert len(reads_meet) == 2  # both were judged, the second after the first committed


async def test_confirmed_schedules_and_other_cells_do_not_wait_for_the_cell(
    meetings_pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """A confirmed schedule reads nothing and holds the cell shared only, as an integration's: both are stored."""
    methods = rpc_methods(meetings_pool)
    cell = random_id("demo-cb")
    await methods["ingest"](events=[ev.unit(cell)], route="http", account="feed")
    schedules = [
        secretarys(random_id("mtg"), cell, 0, **{SAME_TIME_EXTENSION: True}),
        secretarys(random_id("mtg"), cell, 10, **{SAME_TIME_EXTENSION: True}),
    ]
    answers = await asyncio.gather(
        *(methods["ingest"](events=[schedule], route="http", account="secretary") for schedule in schedules)
    )
    assert [answer["results"][0]["outcome"] for answer in answers] == ["accepted", "accepted"]
    assert await db.fetchval("SELECT count(*) FROM meetings.meeting WHERE cell_id = $1", cell) == 2
