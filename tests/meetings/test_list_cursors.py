"""Every /v1 list of meetings' read by `?cursor=` while rows are added between its pages, against the real database
through the gateway's own endpoints (services/gateway/http/paging.py): each row present when the reading began comes
exactly once. A user trial paged a cell's members by `offset` while 1,500 were added: 5,516 rows, 5,482 distinct."""

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest

from services.gateway.auth import Principal, Role
from services.gateway.http import operations, paging, reads, recovery
from services.gateway.web import data
from services.gateway.web.exports import sub_units
from services.meetings import handlers
from services.meetings import rpc as meetings_rpc
from shared.contracts import evaluation_rpc
from shared.contracts import meetings_rpc as rpc
from shared.envelope import now
from shared.rpc import Request, RpcError
from tests.meetings import events as ev
from tests.support.cursor_walk import each_once, walk_inserting
from tests.support.ids import random_id

LIMIT = 7
"""A page in these tests: small, so a list of a few dozen rows spans several pages."""

OFFICER = Principal(sub="officer", role=Role.COMMITTEE_OFFICER, unit_id=ev.TEST_ROOT, person_id="p", local=True)
OPERATOR = Principal(sub="operator", role=Role.OPERATOR, unit_id=None, person_id=None, local=True)


class InProcessMeetings:
    """The meetings service's RPC methods answered in this process on the test pool: a gateway state's `rpc`."""

    METHODS: dict[type[Any], Callable[..., Awaitable[Any]]] = {
        rpc.ListMembers: meetings_rpc.list_members,
        rpc.ListMembersAfter: meetings_rpc.list_members_after,
        rpc.ListMeetings: meetings_rpc.list_meetings,
        rpc.ListTasks: meetings_rpc.list_tasks,
        rpc.ListUnits: meetings_rpc.list_units,
        rpc.ListRejections: meetings_rpc.list_rejections,
        rpc.ListHeldEvents: meetings_rpc.list_held_events,
    }

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def call(self, request: Request[Any]) -> Any:
        """The reply to one request, as the RPC client gives it."""
        answer = await self.METHODS[type(request)](request, SimpleNamespace(pool=self.pool))
        return type(request).reply_model().model_validate(answer)


@pytest.fixture
def state(meetings_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A gateway state whose rpc is meetings in this process; the subtree checks pass (tested on their own)."""

    async def allowed(*args: Any, **kwargs: Any) -> None:
        return None

    for name in ("authorize_unit", "_cell", "_officers_committee"):
        monkeypatch.setattr(reads, name, allowed)
    return SimpleNamespace(rpc=InProcessMeetings(meetings_pool), directory=None, secret="test secret")


async def ingest(uow_factory: Any, events: list[dict[str, Any]], outcome: str = "accepted") -> None:
    """The events through meetings' batch ingest, each answered `outcome`."""
    results = await handlers.ingest_batch(events, uow_factory, route="test")
    assert {result.outcome for result in results} == {outcome}, results


async def a_cell(uow_factory: Any, members: int = 0) -> str:
    """A fresh cell with `members` members."""
    cell = random_id("cell")
    await ingest(uow_factory, [ev.unit(cell, time=now() - timedelta(days=60))])
    if members:
        await ingest(uow_factory, [ev.member(random_id("mem"), cell) for _ in range(members)])
    return cell


async def test_a_cells_members_by_cursor_each_once_while_members_are_added(state: Any, uow_factory: Any) -> None:
    cell = await a_cell(uow_factory, 40)
    before = [m["id"] for m in (await reads.list_cell_members(cell, OFFICER, state, limit=1000))["items"]]

    async def page(cursor: str) -> dict[str, Any]:
        return await reads.list_cell_members(cell, OFFICER, state, limit=LIMIT, cursor=cursor)

    async def insert() -> None:
        await ingest(uow_factory, [ev.member(random_id("mem"), cell) for _ in range(3)])

    each_once(await walk_inserting(page, insert, key="id"), before)


async def test_a_cells_meetings_by_cursor_each_once_while_meetings_are_added(state: Any, uow_factory: Any) -> None:
    cell = await a_cell(uow_factory)
    start = now() - timedelta(days=30)
    await ingest(
        uow_factory, [ev.scheduled(random_id("mtg"), cell, starts_at=start + timedelta(hours=i)) for i in range(40)]
    )
    earlier = [start - timedelta(hours=i + 1) for i in range(400)]  # each added meeting starts before all the others
    before = [m["meeting_id"] for m in (await reads.list_cell_meetings(cell, OFFICER, state, limit=1000))["items"]]

    async def page(cursor: str) -> dict[str, Any]:
        return await reads.list_cell_meetings(cell, OFFICER, state, limit=LIMIT, cursor=cursor)

    async def insert() -> None:
        await ingest(uow_factory, [ev.scheduled(random_id("mtg"), cell, starts_at=earlier.pop(0)) for _ in range(2)])

    each_once(await walk_inserting(page, insert, key="meeting_id"), before)


async def test_a_cells_tasks_by_cursor_each_once_while_tasks_are_added(
    state: Any, uow_factory: Any, meetings_pool: asyncpg.Pool
) -> None:
    cell = await a_cell(uow_factory)
    meeting = random_id("mtg")
    await ingest(uow_factory, [ev.scheduled(meeting, cell, starts_at=now() - timedelta(days=3))])
    days = iter(range(1000))

    async def add(count: int, first: date) -> None:
        async with meetings_pool.acquire() as conn:
            await conn.executemany(
                "INSERT INTO task (meeting_id, task_id, assignee_id, description, due_on)"
                " VALUES ($1, $2, 'a', 'd', $3)",
                [(meeting, random_id("task"), first - timedelta(days=next(days))) for _ in range(count)],
            )

    await add(40, date(2026, 6, 1))
    before = [t["task_id"] for t in (await reads.list_cell_tasks(cell, OFFICER, state, limit=1000))["items"]]

    async def page(cursor: str) -> dict[str, Any]:
        return await reads.list_cell_tasks(cell, OFFICER, state, limit=LIMIT, cursor=cursor)

    each_once(await walk_inserting(page, partial(add, 2, date(2026, 6, 1)), key="task_id"), before)


async def test_a_committees_units_by_cursor_each_once_while_units_are_added(state: Any, uow_factory: Any) -> None:
    committee = random_id("cmt")
    await ingest(uow_factory, [ev.unit(committee, kind="committee", parent_id=ev.TEST_ROOT)])
    await ingest(uow_factory, [ev.unit(random_id("cell"), parent_id=committee) for _ in range(40)])
    before = [u["id"] for u in (await reads.list_committee_units(committee, OFFICER, state, limit=1000))["items"]]

    async def page(cursor: str) -> dict[str, Any]:
        return await reads.list_committee_units(committee, OFFICER, state, limit=LIMIT, cursor=cursor)

    async def insert() -> None:
        await ingest(uow_factory, [ev.unit(random_id("cell"), parent_id=committee) for _ in range(3)])

    each_once(await walk_inserting(page, insert, key="id"), before)


def refused_member() -> dict[str, Any]:
    """A member.upserted.v1 meetings rejects (a status the contract does not know)."""
    return ev.member(random_id("mem"), random_id("cell"), status="bogus")


async def test_the_rejections_by_cursor_each_once_while_rejections_are_added(
    state: Any, uow_factory: Any, meetings_pool: asyncpg.Pool
) -> None:
    await ingest(uow_factory, [refused_member() for _ in range(30)], outcome="rejected")
    before = [r["rejection_id"] for r in await meetings_pool.fetch("SELECT rejection_id FROM rejection")]

    async def page(cursor: str) -> dict[str, Any]:
        return await operations.list_rejections(OPERATOR, state, limit=LIMIT, cursor=cursor)

    async def insert() -> None:
        await ingest(uow_factory, [refused_member() for _ in range(2)], outcome="rejected")

    each_once(await walk_inserting(page, insert, key="rejection_id", pages=1000, extra=frozenset({"counts"})), before)


async def test_the_held_events_by_cursor_each_once_while_events_are_held(
    state: Any, uow_factory: Any, meetings_pool: asyncpg.Pool
) -> None:
    def waiting() -> dict[str, Any]:
        return ev.member(random_id("mem"), random_id("cell"))  # its cell never comes: held

    await ingest(uow_factory, [waiting() for _ in range(30)], outcome="held")
    rows = await meetings_pool.fetch("SELECT source, event_id FROM held_event")
    before = [f"{row['source']} {row['event_id']}" for row in rows]

    async def page(cursor: str) -> dict[str, Any]:
        body = await recovery.list_held_events(OPERATOR, state, limit=LIMIT, cursor=cursor)
        return body | {"items": [item | {"key": f"{item['source']} {item['event_id']}"} for item in body["items"]]}

    async def insert() -> None:
        await ingest(uow_factory, [waiting() for _ in range(2)], outcome="held")

    each_once(await walk_inserting(page, insert, key="key", pages=1000), before)


async def test_a_signed_cursor_whose_key_the_list_cannot_read_is_refused_naming_cursor(
    state: Any, uow_factory: Any
) -> None:
    # a cursor signed with the gateway's secret but carrying a key of other columns (the secret leaked, or a list
    # changed its order): refused as a cursor, not a database error (500)
    cell = await a_cell(uow_factory)
    committee = ev.TEST_ROOT
    for call, key in (
        (partial(reads.list_cell_meetings, cell, OFFICER, state), ["x", "y"]),
        (partial(reads.list_cell_tasks, cell, OFFICER, state), ["2026-02-30", "m", "t"]),
        (partial(reads.list_committee_units, committee, OFFICER, state), ["a", "b"]),
        (partial(operations.list_rejections, OPERATOR, state), ["2026-11-03T12:30:00", "r"]),
        (partial(recovery.list_held_events, OPERATOR, state), ["not a moment", "s", "e"]),
    ):
        name = {
            reads.list_cell_meetings: f"cells/{cell}/meetings",
            reads.list_cell_tasks: f"cells/{cell}/tasks",
            reads.list_committee_units: f"committees/{committee}/units",
            operations.list_rejections: "rejections",
            recovery.list_held_events: "held-events",
        }[call.func]
        carried = {reads.list_cell_meetings: reads.MeetingsQuery(), reads.list_cell_tasks: reads.TasksQuery()}
        query = carried.get(call.func, paging.Carried())
        cursor = paging.encode_cursor(state.secret, list_name=name, after=key, query=query)
        with pytest.raises(RpcError) as refused:
            await call(limit=LIMIT, cursor=cursor)
        assert refused.value.code == "invalid" and refused.value.field == "after", refused.value


async def test_the_web_reads_a_cells_meetings_whole_each_once_while_meetings_are_scheduled(
    state: Any, uow_factory: Any
) -> None:
    # the cell page reads every meeting of the cell page by page (data.all_cell_meetings): by offset, a meeting
    # scheduled between two pages repeated another
    cell = await a_cell(uow_factory)
    start = now() - timedelta(days=300)
    await ingest(
        uow_factory, [ev.scheduled(random_id("mtg"), cell, starts_at=start + timedelta(hours=i)) for i in range(450)]
    )
    before = [m["meeting_id"] for m in await data.all_cell_meetings(state, OFFICER, cell)]
    assert len(before) == 450
    earlier = iter(start - timedelta(hours=i + 1) for i in range(100))
    served = state.rpc.call

    async def call_then_schedule(request: Request[Any]) -> Any:
        reply = await served(request)
        await ingest(uow_factory, [ev.scheduled(random_id("mtg"), cell, starts_at=next(earlier))])
        return reply

    state.rpc.call = call_then_schedule
    each_once([m["meeting_id"] for m in await data.all_cell_meetings(state, OFFICER, cell)], before)


class UnitsChangedBetweenPages:
    """A gateway state's rpc that answers ListUnits from meetings in this process and, after each of its pages,
    schedules `change` (units added or renamed meanwhile); evaluation's GetUnitRollups and CountDirectCells answered
    with no data, the units each was asked about kept in `asked` in order."""

    def __init__(self, served: InProcessMeetings, change: Callable[[], Awaitable[None]]) -> None:
        self.served = served
        self.change = change
        self.asked: list[str] = []
        self.pages = 0

    async def call(self, request: Request[Any]) -> Any:
        """The reply to one request, as the RPC client gives it."""
        if isinstance(request, evaluation_rpc.GetUnitRollups):
            self.asked += request.unit_ids
            return evaluation_rpc.UnitRollupsReply(items=[])
        if isinstance(request, evaluation_rpc.CountDirectCells):
            return evaluation_rpc.DirectCellsReply(cells=0)
        reply = await self.served.call(request)
        if isinstance(request, rpc.ListUnits):
            self.pages += 1
            await self.change()
        return reply


async def children_read_whole(state: Any, parent_id: str | None) -> list[str]:
    """The ids of every child of `parent_id` (the roots for None), in one ListUnits reply (no more than 1000)."""
    listed = await state.rpc.call(rpc.ListUnits(parent_id=parent_id, limit=1000))
    assert listed.next_after is None
    return [unit.id for unit in listed.items]


async def test_the_provinces_first_month_reads_every_root_once_while_roots_are_added_and_renamed(
    state: Any, uow_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # reads.province_first_month reads the roots page by page (reads.all_units_under) and asks evaluation for the
    # first month of each: a root added between two pages (its id before the page's last) shifted an offset page
    await ingest(uow_factory, [ev.unit(random_id("root"), kind="committee") for _ in range(20)])
    before = await children_read_whole(state, None)
    names = iter(range(1000))

    async def add_and_rename() -> None:
        renamed = before[min(len(before) - 1, 3 * next(names))]
        await ingest(
            uow_factory,
            [
                ev.unit(f"a-{random_id('root')}", kind="committee"),
                ev.unit(f"a-{random_id('root')}", kind="committee"),
                ev.unit(renamed, kind="committee", name=f"Đảng bộ đổi tên {next(names)}"),
            ],
        )

    rpc_changing = UnitsChangedBetweenPages(state.rpc, add_and_rename)
    monkeypatch.setattr(reads, "UNITS_PAGE", LIMIT)
    assert await reads.province_first_month(SimpleNamespace(rpc=rpc_changing)) is None  # type: ignore[arg-type]
    assert rpc_changing.pages >= 3
    each_once(rpc_changing.asked, before)


async def test_the_reports_sub_units_read_every_child_once_while_children_are_added_and_renamed(
    state: Any, uow_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # web.exports.sub_units reads the committee's children page by page (reads.all_units_under) and asks evaluation for
    # the figures of each sub-committee: each must be asked about once
    committee = random_id("committee")
    await ingest(uow_factory, [ev.unit(committee, kind="committee", parent_id=ev.TEST_ROOT)])
    await ingest(
        uow_factory,
        [ev.unit(random_id("sub"), kind="committee", parent_id=committee) for _ in range(20)]
        + [ev.unit(random_id("cell"), parent_id=committee) for _ in range(5)],
    )
    children = await children_read_whole(state, committee)
    listed = (await state.rpc.call(rpc.ListUnits(parent_id=committee, limit=1000))).items
    before = [unit.id for unit in listed if unit.kind == "committee"]
    assert len(children) == 25 and len(before) == 20
    names = iter(range(1000))

    async def add_and_rename() -> None:
        renamed = before[min(len(before) - 1, 3 * next(names))]
        await ingest(
            uow_factory,
            [
                ev.unit(f"a-{random_id('sub')}", kind="committee", parent_id=committee),
                ev.unit(f"a-{random_id('cell')}", parent_id=committee),
                ev.unit(renamed, kind="committee", parent_id=committee, name=f"Đảng bộ đổi tên {next(names)}"),
            ],
        )

    rpc_changing = UnitsChangedBetweenPages(state.rpc, add_and_rename)
    monkeypatch.setattr(reads, "UNITS_PAGE", LIMIT)
    shown, cells = await sub_units(SimpleNamespace(rpc=rpc_changing), committee, "2026-11")  # type: ignore[arg-type]
    assert (shown, cells) == ([], 0)  # evaluation has no figures here: only what was asked is looked at
    assert rpc_changing.pages >= 4
    each_once(rpc_changing.asked, before)


class MembersChangedBetweenPages:
    """A gateway state's rpc that answers ListMembersAfter from meetings in this process and, after each of its
    pages, runs `change` (members added or renamed meanwhile); the ids of every member each page carried kept in
    `read`, in order."""

    def __init__(self, served: InProcessMeetings, change: Callable[[], Awaitable[None]]) -> None:
        self.served = served
        self.change = change
        self.read: list[str] = []
        self.pages = 0

    async def call(self, request: Request[Any]) -> Any:
        """The reply to one request, as the RPC client gives it."""
        reply = await self.served.call(request)
        if isinstance(request, rpc.ListMembersAfter):
            self.pages += 1
            self.read += [item.id for item in reply.items]
            await self.change()
        return reply


async def test_the_webs_members_by_id_reads_every_member_once_while_members_are_added_and_renamed(
    state: Any, uow_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # data.members_by_id reads a cell's roster whole page by page (ListMembersAfter, keyset by id) and orders it by
    # name once: a member added between two pages (its id before or after the page's last) or renamed (moving in the
    # name order) must neither repeat one already read nor hide one that was there
    cell = await a_cell(uow_factory, 30)
    before = [m["id"] for m in (await reads.list_cell_members(cell, OFFICER, state, limit=1000))["items"]]
    assert len(before) == 30
    turns = iter(range(1000))

    async def add_and_rename() -> None:
        turn = next(turns)
        renamed = before[min(len(before) - 1, 3 * turn)]
        await ingest(
            uow_factory,
            [
                ev.member(f"a-{random_id('mem')}", cell),  # before every id read so far
                ev.member(f"z-{random_id('mem')}", cell),  # after every id
                ev.member(renamed, cell, data={"full_name": f"Ấn Đổi Tên {turn}"}),  # first in the name order now
            ],
        )

    rpc_changing = MembersChangedBetweenPages(state.rpc, add_and_rename)
    monkeypatch.setattr(data, "MEMBERS_PAGE", LIMIT)
    monkeypatch.setattr(data, "authorize_unit", _allowed_unit)
    members = await data.members_by_id(SimpleNamespace(rpc=rpc_changing, directory=None), OFFICER, cell)  # type: ignore[arg-type]
    assert rpc_changing.pages >= 4
    each_once(rpc_changing.read, before)
    assert set(before) <= set(members)


async def _allowed_unit(*args: Any, **kwargs: Any) -> None:
    """The subtree check passed (tested on its own)."""
    return None
