"""The inboxes and the failed deliveries read by `?cursor=` while rows are added between pages, against the real
database through the gateway's own endpoints (services/gateway/http/paging.py): each row present when the reading
began comes exactly once (offset pages, newest first, repeated a row for each one added)."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest

from services.gateway.auth import Principal, Role
from services.gateway.http import operations, reads
from services.notifications import rpc as notifications_rpc
from services.notifications.config import Settings
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts import notifications_rpc as rpc
from shared.envelope import now
from shared.rpc import Request
from tests.support.cursor_walk import each_once, walk_inserting
from tests.support.ids import random_id

LIMIT = 7
OPERATOR = Principal(sub="operator", role=Role.OPERATOR, unit_id=None, person_id=None, local=True)


class InProcessNotifications:
    """The notifications service's RPC methods answered in this process on the test pool: a gateway state's `rpc`."""

    METHODS: dict[type[Any], Callable[..., Awaitable[Any]]] = {
        rpc.GetInbox: notifications_rpc.inbox,
        rpc.ListFailedDeliveries: notifications_rpc.list_failed,
    }

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self.app = SimpleNamespace(uow_factory=partial(NotificationsUnitOfWork, pool, settings=settings))

    async def call(self, request: Request[Any]) -> Any:
        """The reply to one request, as the RPC client gives it."""
        answer = await self.METHODS[type(request)](request, self.app)
        return type(request).reply_model().model_validate(answer)


@pytest.fixture
def state(pool: asyncpg.Pool, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A gateway state whose rpc is notifications in this process; the subtree checks pass (tested on their own)."""

    async def allowed(*args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(reads, "_officers_committee", allowed)
    return SimpleNamespace(rpc=InProcessNotifications(pool, settings), secret="test secret")


async def notify(pool: asyncpg.Pool, recipient: str, count: int, *, failed: bool = False) -> None:
    """`count` inbox notifications of `recipient`, the newest now (each added one is the newest), each with a
    delivery, failed when `failed`."""
    async with pool.acquire() as conn:
        for i in range(count):
            ident = uuid.uuid4()
            await conn.execute(
                "INSERT INTO notification (id, rule, subject_id, recipient_id, recipient_kind, recipient_name,"
                " period, title, body, created_at) VALUES ($1, 'unexcused_absence', $2, $3, 'person', 'Ngô Thị Lan',"
                " '2026-11', 'Vắng họp', 'Vắng họp không lý do', $4)",
                ident,
                random_id("sub"),
                recipient,
                now() - timedelta(seconds=count - i),
            )
            await conn.execute(
                "INSERT INTO delivery (notification_id, channel, status) VALUES ($1, 'email', $2)",
                ident,
                "failed" if failed else "delivered",
            )


async def test_an_inbox_by_cursor_each_once_while_notifications_arrive(state: Any, pool: asyncpg.Pool) -> None:
    person, committee = random_id("person"), random_id("cmt")
    await notify(pool, person, 40)
    await notify(pool, committee, 40)
    officer = Principal(sub="o", role=Role.COMMITTEE_OFFICER, unit_id=committee, person_id=person, local=True)
    for read, recipient in (
        (partial(reads.get_my_inbox, officer, state), person),
        (partial(reads.get_committee_inbox, committee, officer, state), committee),
    ):
        before = [n["notification_id"] for n in (await read(limit=500))["items"]]
        assert len(before) == 40

        async def page(cursor: str, read: Any = read) -> dict[str, Any]:
            return dict(await read(limit=LIMIT, cursor=cursor))

        async def insert(recipient: str = recipient) -> None:
            await notify(pool, recipient, 3)

        each_once(await walk_inserting(page, insert, key="notification_id"), before)


async def test_the_failed_deliveries_by_cursor_each_once_while_deliveries_fail(state: Any, pool: asyncpg.Pool) -> None:
    await notify(pool, random_id("person"), 30, failed=True)
    before = [row["id"] for row in await pool.fetch("SELECT id FROM delivery WHERE status = 'failed'")]

    async def page(cursor: str) -> dict[str, Any]:
        return dict(await operations.list_failed_deliveries(OPERATOR, state, limit=LIMIT, cursor=cursor))

    async def insert() -> None:
        await notify(pool, random_id("person"), 2, failed=True)

    each_once(await walk_inserting(page, insert, key="delivery_id", pages=1000), before)
