"""Conditions the service tests wait on: facts applied (inbox) and their cells scored (no dirty note left), and
the org tree's noted changes applied (a read off the tree not `recalculating`)."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg
import httpx

from services.evaluation import queries
from shared.contracts.evaluation_rpc import TreeRefreshReply
from shared.rpc import Request, RpcClient
from tests.support.rpc import ask
from tests.support.running import eventually

TreeReplyT = TypeVar("TreeReplyT", bound=TreeRefreshReply)

TREE_SECONDS = 60.0
"""How long a test waits for noted org-tree changes to be applied: a loaded 2-core machine's refresh loop (every 2 s,
its refresh in one transaction) is late by seconds, not a minute."""


async def applied_and_scored(db: asyncpg.Connection, *, event_ids: Sequence[str], cell_ids: Sequence[str]) -> bool:
    """Every fact is in evaluation's inbox and no dirty-cell note of the cells waits: their scores are committed.

    A fact's note commits with it, so once the fact is in the inbox, no note left means it was scored."""
    done = await db.fetchval(
        "SELECT count(DISTINCT event_id) FROM evaluation.processed_message WHERE consumer = 'evaluation.facts'"
        " AND event_id = ANY($1::text[])",
        list(event_ids),
    )
    if done != len(set(event_ids)):
        return False
    waiting = await db.fetchval(
        "SELECT count(*) FROM evaluation.dirty_cell WHERE cell_id = ANY($1::text[])", list(cell_ids)
    )
    return waiting == 0


async def current(read: Callable[[], Awaitable[dict[str, Any]]], *, timeout: float = TREE_SECONDS) -> dict[str, Any]:
    """`read`'s reply (JSON-shaped: an RPC reply or an API body with `recalculating`) once it is of the current org
    tree: `read` is called again until its reply is not `recalculating`, for up to `timeout` seconds.

    Waiting for the facts (applied_and_scored) is not enough after a unit is set up, moved, re-dated or closed:
    while the refresh loop holds the tree lock a read answers from the tree as last applied, `recalculating`
    (queries.tree_refresh_state), and its figures are the old tree's. AssertionError when it stays so."""

    async def fresh() -> dict[str, Any] | None:
        reply = await read()
        return None if reply.get("recalculating") else reply

    found: dict[str, Any] = await eventually(fresh, timeout=timeout)
    return found


async def current_reply(
    rpc: RpcClient, request: Request[TreeReplyT], *, timeout: float = TREE_SECONDS
) -> dict[str, Any]:
    """The reply to `request` (a read off the org tree: a roll-up, ranking, report, weakest cells, half-year line)
    as JSON-shaped data once it is not `recalculating` (current): what a test reads after it changed the tree."""
    return await current(lambda: ask(rpc, request), timeout=timeout)


async def tree_applied(conn: asyncpg.Connection, *, timeout: float = TREE_SECONDS) -> None:
    """Wait until no noted org-tree change waits (queries.tree_changes_pending, which applies a small change itself
    when no refresh holds the tree lock, is 0), for a test that reads the tree through something that does not say
    `recalculating` (a page, a direct query); `conn` reads the evaluation schema. AssertionError after `timeout`."""

    async def none_pending() -> bool:
        return await queries.tree_changes_pending(conn) == 0

    await eventually(none_pending, timeout=timeout)


async def current_body(
    client: httpx.AsyncClient, url: str, *, timeout: float = TREE_SECONDS, **options: Any
) -> dict[str, Any]:
    """The JSON body of the gateway's 200 answer to GET `url` (`options` to httpx's get), a committee read off the org
    tree (roll-up, ranking, weakest cells), once it is not `recalculating`: current reads it again meanwhile.
    AssertionError, naming the answer, when the gateway answers anything but 200."""

    async def read() -> dict[str, Any]:
        response = await client.get(url, **options)
        assert response.status_code == 200, (url, response.status_code, response.text[:800])
        body: dict[str, Any] = response.json()
        return body

    return await current(read, timeout=timeout)
