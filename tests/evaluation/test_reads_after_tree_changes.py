"""A test that changes the org tree and then reads a committee's figures waits for the change, not for the fact.

h549: tests moved a cell (or set one up, or closed one) and read the committees' roll-ups, rankings and reports once
evaluation had handled the fact (waiting.applied_and_scored). On a loaded machine the service's refresh loop could
have taken the noted change and still hold the tree lock then: the read answered from the tree as last applied,
`recalculating`, and the test read the old tree's figures (test_late_unit_move_periods: A's quarter with 2 cells
where the move leaves 1). Here the loop's refresh is held open on purpose until the test lets it commit: the plain
read is the old tree's, and waiting.current (current_reply's loop, which the tests now read through) asks again
until it gives the new tree's.
"""

import asyncio
from typing import Any

import asyncpg
import pytest

from services.evaluation import queries
from shared.contracts import evaluation_rpc as evaluation
from shared.rpc import RpcClient
from tests.evaluation.stream import publish
from tests.evaluation.test_late_changes import rpc
from tests.evaluation.test_late_unit_changes import unit
from tests.evaluation.test_late_unit_moves import BACKDATED, two_communes_that_met_in_november
from tests.evaluation.waiting import applied_and_scored, current, current_reply
from tests.support.rpc import ask
from tests.support.running import eventually

__all__ = ["rpc"]  # the evaluation service serving with CLOCK as its today


class HeldRefresh:
    """queries.refresh_subtrees as the service's refresh loop calls it, but once `armed` a refresh that took noted
    changes keeps its transaction (and the tree lock) open until `release` is set, as a slow refresh on a loaded
    machine does; `taken` is set when one has taken them."""

    def __init__(self) -> None:
        self.real = queries.refresh_subtrees
        self.armed = False
        self.taken = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, conn: asyncpg.Connection) -> int:
        if not self.armed:
            return await self.real(conn)
        async with conn.transaction():
            moved = int(await conn.fetchval("SELECT refresh_subtree_cells()"))
            if moved:
                self.taken.set()
                await self.release.wait()
        return moved


async def test_a_read_while_the_refresh_holds_a_move_is_the_old_tree_and_the_tests_helper_waits_for_the_new(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldRefresh()
    monkeypatch.setattr(queries, "refresh_subtrees", held)
    ids = await two_communes_that_met_in_november(amqp_url, db)
    a_rollup = evaluation.GetCommitteeRollup(committee_id=ids["a"], period="2026-11")
    assert (await current_reply(rpc, a_rollup))["cells"] == 2

    held.armed = True
    move = unit(ids["moving"], "Chi bộ thôn 3", "cell", ids["b"], time=BACKDATED)
    # the fact handled, not the cell scored: scoring writes the cell's periods under the tree lock held here
    await publish(amqp_url, [move])
    await eventually(lambda: applied_and_scored(db, event_ids=[move["id"]], cell_ids=[]), timeout=60)
    seen: list[dict[str, Any]] = []

    async def read() -> dict[str, Any]:
        reply = await ask(rpc, a_rollup)
        seen.append(reply)
        held.release.set()  # the first read made while the refresh is held: let it commit now
        return reply

    try:
        await eventually(held.taken.is_set, timeout=60)
        fresh = await current(read)
    finally:
        held.release.set()
    # the fact was handled (what the tests waited on) but the refresh had not committed: the old tree, said so
    assert (seen[0]["cells"], seen[0]["recalculating"], seen[0]["pending_tree_changes"]) == (2, True, 1)
    # the helper asked again until the reply was of the new tree
    assert (fresh["cells"], fresh["recalculating"], fresh["pending_tree_changes"]) == (1, False, 0)
