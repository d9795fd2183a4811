"""A cell's whole member list as the web pages read it (data.members_by_id), against the real database.

A user trial: a cell's yearly evidence page took 0.95 s at 1,000 members, 5.7 s at 3,000 and 269 s at 20,305. The
pages read the list by ListMembers offset pages of 200, and each page had the meetings service read the whole cell
and order it by name (shared.collation.person_key) to hand back 200: N/200 pages of N rows each. The list is now
read by cursor in id order (ListMembersAfter: each page reads its own rows) and ordered once by the gateway. Guarded
by counting the rows the service reads for a cell of N and of 2N members, not by timing."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest

from services.gateway.auth import Principal, Role
from services.gateway.http import reads
from services.gateway.web import data
from services.meetings import handlers, queries
from services.meetings import rpc as meetings_rpc
from shared.contracts import meetings_rpc as rpc
from shared.envelope import now
from shared.periods import local_date
from shared.rpc import Request
from tests.meetings import events as ev
from tests.support.ids import random_id

PAGE = 100
"""members_by_id's page in these tests (data.MEMBERS_PAGE), small so a cell of a few hundred spans several pages."""


class CountingConnection:
    """A connection that counts the rows its queries hand back."""

    def __init__(self, conn: asyncpg.Connection, counts: dict[str, int]) -> None:
        self.conn, self.counts = conn, counts

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """conn.fetch, its rows counted."""
        rows = await self.conn.fetch(query, *args)
        self.counts["rows"] += len(rows)
        return rows


class InProcessMeetings:
    """The meetings service's member list methods answered in this process on a pool whose rows are counted: the
    `rpc` of a gateway state for data.members_by_id."""

    METHODS = {rpc.ListMembers: meetings_rpc.list_members, rpc.ListMembersAfter: meetings_rpc.list_members_after}

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool, self.counts = pool, {"rows": 0, "calls": 0}

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[CountingConnection]:
        """A pooled connection, its rows counted."""
        async with self.pool.acquire() as conn:
            yield CountingConnection(conn, self.counts)

    async def call(self, request: Request[Any]) -> Any:
        """The reply to a ListMembers or ListMembersAfter, as the RPC client gives it."""
        self.counts["calls"] += 1
        answer = await self.METHODS[type(request)](request, SimpleNamespace(pool=self))  # type: ignore[operator]
        return type(request).reply_model().model_validate(answer)


async def cell_of(uow_factory: Any, count: int) -> tuple[str, list[str], datetime]:
    """A cell of `count` members, one of them moved to another cell after the moment returned: (cell, the ids, the
    moment), so the list of today and the list at that moment differ by that member."""
    cell, other, ids = random_id("cell"), random_id("cell"), [random_id("mem") for _ in range(count)]
    before = now() - timedelta(days=60)
    results = await handlers.ingest_batch(
        [ev.unit(cell, time=before), ev.unit(other, time=before)], uow_factory, route="test"
    )
    for start in range(0, count, 500):
        batch = [ev.member(member, cell, time=before) for member in ids[start : start + 500]]
        results += await handlers.ingest_batch(batch, uow_factory, route="test")
    results += await handlers.ingest_batch(
        [ev.member(ids[0], other, time=before + timedelta(days=30))], uow_factory, route="test"
    )
    assert {result.outcome for result in results} == {"accepted"}
    return cell, ids, before + timedelta(days=10)


async def reference(pool: asyncpg.Pool, cell: str, at: datetime | None) -> list[str]:
    """The member ids ListMembers gives in one page, in its order (by name, then id)."""
    async with pool.acquire() as conn:
        if at is None:
            found = await queries.list_members(conn, cell_id=cell, today=local_date(now()), limit=10_000, offset=0)
        else:
            found = await queries.list_members_at(conn, cell_id=cell, at=at, limit=10_000, offset=0)
    return [item["id"] for item in found["items"]]


@pytest.mark.parametrize("at_start", [False, True], ids=["today", "at a meeting's start"])
async def test_a_cells_whole_member_list_reads_each_member_once(
    meetings_pool: asyncpg.Pool, uow_factory: Any, monkeypatch: pytest.MonkeyPatch, at_start: bool
) -> None:
    monkeypatch.setattr(data, "MEMBERS_PAGE", PAGE)
    read: dict[int, dict[str, int]] = {}
    for count in (250, 500):
        cell, ids, moment = await cell_of(uow_factory, count)
        at = moment if at_start else None
        meetings = InProcessMeetings(meetings_pool)
        member = Principal(sub="member", role=Role.MEMBER, unit_id=cell, person_id=ids[1], local=True)
        found = await data.members_by_id(SimpleNamespace(rpc=meetings), member, cell, at=at)  # type: ignore[arg-type]
        # the same members in the same order as the one-page list: the mover listed at the moment only
        assert list(found) == await reference(meetings_pool, cell, at)
        assert (ids[0] in found) is at_start and len(found) == count - (0 if at_start else 1)
        assert set(found[ids[1]]) == set(data.MEMBER_SHOWN)
        read[count] = meetings.counts
    for count, counts in read.items():
        # each member's row once (at a moment: their id, their snapshots, the mover's two, and their row), one reply
        # a page
        assert counts["rows"] <= (3 * count + 1 if at_start else count), (count, counts)
        assert counts["calls"] <= count // PAGE + 1, (count, counts)
    # the rows read a member do not grow with the cell (N/200 pages of N rows did: twice the cell, four times the rows)
    assert read[500]["rows"] / 500 <= read[250]["rows"] / 250 + 0.01, read


class ExplainingConnection:
    """A connection that runs each query under EXPLAIN (ANALYZE, FORMAT JSON) first and keeps its plan."""

    def __init__(self, conn: asyncpg.Connection, plans: list[dict[str, Any]]) -> None:
        self.conn, self.plans = conn, plans

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """conn.fetch, its plan kept."""
        explained = await self.conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", *args)
        self.plans.append(json.loads(explained)[0]["Plan"])
        return await self.conn.fetch(query, *args)


def scans_of(plan: dict[str, Any], table: str) -> list[dict[str, Any]]:
    """The nodes of `plan` that read `table`."""
    found = [plan] if plan.get("Relation Name") == table else []
    for child in plan.get("Plans", []):
        found += scans_of(child, table)
    return found


async def test_a_page_at_a_meetings_start_reads_its_members_histories_by_index(
    meetings_pool: asyncpg.Pool, uow_factory: Any
) -> None:
    # ListMembersAfter at a moment looks the cell's next members up in member_version by cell_id; with no index
    # leading with cell_id each page read every member's history in the province above its cursor (migration 0022).
    # Plans that read a whole range before ordering it are priced out, as the planner prices them out of a large
    # cell's page (EXPLAIN at 5,000 members: an index-only scan of the page's 1,000 entries), whatever the size of the
    # test tables.
    await cell_of(uow_factory, 300)  # a neighbouring cell, its members' ids among this one's
    cell, ids, moment = await cell_of(uow_factory, 300)
    plans: list[dict[str, Any]] = []
    async with meetings_pool.acquire() as conn:
        await conn.execute("VACUUM ANALYZE member_version")
        async with conn.transaction():
            await conn.execute("SET LOCAL enable_seqscan = off")
            await conn.execute("SET LOCAL enable_bitmapscan = off")
            found = await queries.list_members_at_after(
                ExplainingConnection(conn, plans),
                cell_id=cell,
                at=moment,
                after_id=sorted(ids)[99],
                limit=PAGE,
            )
    assert [item["id"] for item in found["items"]] == sorted(ids)[100:200]
    # each query reads the page's own members' entries only (a snapshot each, the mover's two), none of the 100
    # before it, the 100 after it or the other cells' members
    for plan in plans:
        scans = scans_of(plan, "member_version")
        read = sum(node["Actual Rows"] * node["Actual Loops"] + node.get("Rows Removed by Filter", 0) for node in scans)
        assert read <= PAGE + 2, [(node["Node Type"], node.get("Index Name"), read) for node in scans]


@pytest.mark.parametrize("at_start", [False, True], ids=["today", "at a meeting's start"])
async def test_the_apis_member_list_by_cursor_reads_each_page_by_its_own_rows(
    meetings_pool: asyncpg.Pool, uow_factory: Any, monkeypatch: pytest.MonkeyPatch, at_start: bool
) -> None:
    # GET /v1/cells/{c}/members paged by offset: each page had the meetings service read and order the whole cell, so
    # a client reading a large cell whole read N²/limit rows. By cursor (ListMembersAfter) a page reads its own.
    async def authorized(*args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(reads, "authorize_unit", authorized)
    cell, ids, moment = await cell_of(uow_factory, 250)
    meetings = InProcessMeetings(meetings_pool)
    officer = Principal(sub="officer", role=Role.COMMITTEE_OFFICER, unit_id=ev.TEST_ROOT, person_id="p", local=True)
    state = SimpleNamespace(rpc=meetings, directory=None, secret="test secret")
    listed: list[str] = []
    per_page: list[int] = []
    cursor: str | None = ""
    while cursor is not None:
        before = meetings.counts["rows"]
        found = await reads.list_cell_members(
            cell,
            officer,
            state,  # type: ignore[arg-type]
            limit=PAGE // 2,
            offset=0,
            at=moment if at_start else None,
            cursor=cursor,
        )
        per_page.append(meetings.counts["rows"] - before)
        listed += [item["id"] for item in found["items"]]
        cursor = found["next"]
    assert listed == sorted(set(await reference(meetings_pool, cell, moment if at_start else None))), listed
    # a page's rows do not grow with how far into the cell it is (offset pages read all 250 each)
    assert max(per_page) <= (3 * PAGE // 2 + 1 if at_start else PAGE // 2), per_page
