"""Issue 12, set-based batches: a transaction's events enter the inbox in one statement and share no savepoints,
yet duplicates, rejections and copies of one event inside a batch come out as when each came alone.

Against the real database (the inbox and the rollback of a group are what is checked)."""

import copy
from collections.abc import Callable

import asyncpg

from services.meetings import handlers
from services.meetings.handlers.ingest import INBOX
from services.meetings.unit_of_work import MeetingsUnitOfWork
from tests.meetings import events as ev
from tests.support.ids import random_id

UowFactory = Callable[[], MeetingsUnitOfWork]


async def test_copies_and_a_bad_twin_in_one_batch_are_judged_as_if_sent_one_by_one(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory
) -> None:
    committee, cell = random_id("cmt"), random_id("cell")
    known = ev.member(random_id("mem"), cell)
    await handlers.ingest_batch(
        [ev.unit(committee, kind="committee"), ev.unit(cell, parent_id=committee), known], uow_factory, route="test"
    )
    member = ev.member(random_id("mem"), cell)
    bad_twin = copy.deepcopy(member)
    del bad_twin["data"]["cell_id"]  # same source and id, unreadable data: rejected, the inbox forgets the id
    in_committee = ev.member(random_id("mem"), committee)  # read fine, rejected by its applier (not a cell)
    other = ev.member(random_id("mem"), cell)
    batch = [bad_twin, member, copy.deepcopy(member), known, in_committee, other]

    results = await handlers.ingest_batch(batch, uow_factory, route="test")

    assert [result.outcome for result in results] == [
        "rejected",
        "accepted",
        "duplicate",
        "duplicate",
        "rejected",
        "accepted",
    ]
    assert results[0].field == "data.cell_id" and results[4].field == "data.cell_id"
    ids = [raw["data"]["id"] for raw in (member, in_committee, other)]
    async with meetings_pool.acquire() as conn:
        stored = await conn.fetch("SELECT id FROM member WHERE id = ANY($1::text[]) ORDER BY id", ids)
        inbox = await conn.fetch(
            "SELECT event_id FROM processed_message WHERE consumer = $1 AND event_id = ANY($2::text[])",
            INBOX,
            [raw["id"] for raw in batch],
        )
    assert sorted(row["id"] for row in stored) == sorted([member["data"]["id"], other["data"]["id"]])
    # the accepted ones are in the inbox, the rejected one is not (a corrected copy may come in)
    assert sorted(row["event_id"] for row in inbox) == sorted([member["id"], known["id"], other["id"]])
    again = await handlers.ingest_batch([member, other, in_committee], uow_factory, route="test")
    assert [result.outcome for result in again] == ["duplicate", "duplicate", "rejected"]
