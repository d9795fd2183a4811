"""A cell's member list and removals announced ahead (real database).

A user trial: member.removed.v1 with `effective_on` 2026-12-31, sent on 2026-12-03, dropped the member from
`GET /v1/cells/{cell}/members` at once, while rosters before that day still counted them. DOMAIN.md judges members
"removals by `effective_on`": the list is the cell's as of today, so they stay listed until that day."""

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import asyncpg
import pytest

from services.meetings import handlers, queries
from services.meetings import rpc as meetings_rpc
from services.meetings.context import MeetingsContext
from shared.contracts import meetings_rpc as rpc
from shared.envelope import now
from shared.periods import VIETNAM_TZ, local_date
from shared.rpc import RpcError
from tests.meetings import events as ev
from tests.support.ids import random_id

SENT = datetime(2026, 12, 3, 9, 0, tzinfo=VIETNAM_TZ)


def removal(member_id: str, effective_on: date, *, time: datetime) -> dict[str, Any]:
    """member.removed.v1 of a transfer from `effective_on`, sent at `time`."""
    data = {"id": member_id, "reason": "transferred", "effective_on": effective_on.isoformat()}
    return ev.raw_event("member.removed.v1", data, time=time)


async def cell_of_three(uow_factory: Any, *, time: datetime) -> tuple[str, str, str, str]:
    """A cell with three members known before `time`: (cell, staying, leaving later, left)."""
    cell, staying, later, left = random_id("cell"), random_id("mem"), random_id("mem"), random_id("mem")
    before = time - timedelta(days=60)
    events = [ev.unit(cell, time=before), *(ev.member(m, cell, time=before) for m in (staying, later, left))]
    results = await handlers.ingest_batch(events, uow_factory, route="test")
    assert [result.outcome for result in results] == ["accepted"] * len(events)
    return cell, staying, later, left


async def removed_ahead_and_today(uow_factory: Any) -> tuple[str, str, str, str]:
    """cell_of_three sent on SENT (2026-12-03), the one leaving later removed from 2026-12-31, the one left from that
    day: (cell, staying, leaving later, left)."""
    cell, staying, later, left = await cell_of_three(uow_factory, time=SENT)
    results = await handlers.ingest_batch(
        [removal(later, date(2026, 12, 31), time=SENT), removal(left, date(2026, 12, 3), time=SENT)],
        uow_factory,
        route="test",
    )
    assert [result.outcome for result in results] == ["accepted", "accepted"]
    return cell, staying, later, left


async def listed(pool: asyncpg.Pool, cell: str, today: date) -> set[str]:
    """The ids the member list gives on `today`."""
    async with pool.acquire() as conn:
        page = await queries.list_members(conn, cell_id=cell, today=today, limit=50, offset=0)
    assert page["total"] == len(page["items"])
    return {item["id"] for item in page["items"]}


async def test_a_member_removed_from_a_day_ahead_is_listed_until_that_day(
    meetings_pool: asyncpg.Pool, uow_factory: Any
) -> None:
    cell, staying, later, left = await removed_ahead_and_today(uow_factory)
    assert await listed(meetings_pool, cell, date(2026, 12, 3)) == {staying, later}
    assert await listed(meetings_pool, cell, date(2026, 12, 30)) == {staying, later}
    assert await listed(meetings_pool, cell, date(2026, 12, 31)) == {staying}


async def test_the_rpc_lists_the_cell_as_of_today_in_vietnam(meetings_pool: asyncpg.Pool, uow_factory: Any) -> None:
    sent = now()
    cell, staying, later, left = await cell_of_three(uow_factory, time=sent)
    today = local_date(sent)
    results = await handlers.ingest_batch(
        [removal(later, today + timedelta(days=28), time=sent), removal(left, today, time=sent)],
        uow_factory,
        route="test",
    )
    assert [result.outcome for result in results] == ["accepted", "accepted"]
    app = cast(MeetingsContext, SimpleNamespace(pool=meetings_pool))
    page = await meetings_rpc.list_members(rpc.ListMembers(cell_id=cell), app)
    assert {item["id"] for item in page["items"]} == {staying, later} and page["total"] == 2


async def test_one_member_is_read_as_the_list_lists_them_and_only_in_their_cell(
    meetings_pool: asyncpg.Pool, uow_factory: Any
) -> None:
    # GetMember, the page header's name of a signed-in member: one row, by the same rule as the list
    cell, staying, later, left = await removed_ahead_and_today(uow_factory)
    for today in (date(2026, 12, 3), date(2026, 12, 30), date(2026, 12, 31)):
        async with meetings_pool.acquire() as conn:
            read = {
                member: await queries.get_member(conn, cell_id=cell, member_id=member, today=today)
                for member in (staying, later, left)
            }
        assert {member for member, row in read.items() if row is not None} == await listed(meetings_pool, cell, today)
    async with meetings_pool.acquire() as conn:
        row = await queries.get_member(conn, cell_id=cell, member_id=staying, today=date(2026, 12, 3))
        assert row is not None and row["id"] == staying and row["full_name"]
        assert await queries.get_member(conn, cell_id=random_id("cell"), member_id=staying, today=SENT.date()) is None

    app = cast(MeetingsContext, SimpleNamespace(pool=meetings_pool))
    assert (await meetings_rpc.get_member(rpc.GetMember(cell_id=cell, member_id=staying), app))["id"] == staying
    with pytest.raises(RpcError) as refused:
        await meetings_rpc.get_member(rpc.GetMember(cell_id=random_id("cell"), member_id=staying), app)
    assert (refused.value.code, refused.value.field) == ("not_found", "member_id")
