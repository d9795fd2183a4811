"""GET /v1/outbox/{service}/parked read by `?cursor=` while rows are parked between its pages, against the real
database through the gateway's endpoint and the services' own ops method (shared/ops/rpc.py): each row parked when
the reading began comes exactly once (services/gateway/http/paging.py)."""

from types import SimpleNamespace
from typing import Any

import asyncpg

from services.gateway.auth import Principal, Role
from services.gateway.http import recovery
from shared.contracts.meetings import MeetingCancelled
from shared.envelope import new_event
from shared.ops.rpc import add_outbox_methods
from shared.outbox import add_to_outbox
from shared.rpc import Request, RpcMethods
from tests.shared.conftest import SCHEMA
from tests.support.cursor_walk import each_once, walk_inserting
from tests.support.ids import random_id

OPERATOR = Principal(sub="operator", role=Role.OPERATOR, unit_id=None, person_id=None, local=True)


class InProcessOps:
    """The outbox ops methods of a service answered in this process on the test schema: a gateway state's `rpc`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.methods = RpcMethods("meetings")
        add_outbox_methods(self.methods, recovery.CATALOGS["meetings"], pool=pool, schema=SCHEMA)

    async def call(self, request: Request[Any]) -> Any:
        """The reply to one request, as the RPC client gives it."""
        found = self.methods.lookup(request.method)
        assert found is not None, request.method
        return type(request).reply_model().model_validate(await found[1](request))


async def park(pool: asyncpg.Pool, count: int) -> None:
    """`count` outbox rows, parked (no relay runs in this test)."""
    events = [
        new_event(
            type="meeting.cancelled.v1",
            source="urn:test:parked",
            event_id=ident,
            data=MeetingCancelled(meeting_id=ident, reason="Mưa bão"),
        )
        for ident in [random_id("mtg") for _ in range(count)]
    ]
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, events, schema=SCHEMA)
        await conn.execute(
            "UPDATE outbox SET parked_at = now(), parked_reason = 'test' WHERE event_id = ANY($1::text[])",
            [event.id for event in events],
        )


async def test_the_parked_rows_by_cursor_each_once_while_rows_are_parked(pool: asyncpg.Pool) -> None:
    await park(pool, 30)
    rows = await pool.fetch("SELECT id FROM outbox WHERE parked_at IS NOT NULL AND published_at IS NULL")
    before = [row["id"] for row in rows]
    state = SimpleNamespace(rpc=InProcessOps(pool), secret="test secret")

    async def page(cursor: str) -> dict[str, Any]:
        return dict(await recovery.list_parked_rows("meetings", OPERATOR, state, limit=7, cursor=cursor))  # type: ignore[arg-type]

    async def insert() -> None:
        await park(pool, 2)

    each_once(await walk_inserting(page, insert, key="id", pages=1000), before)
