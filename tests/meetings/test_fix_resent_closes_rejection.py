"""Trial 43: a partner's fix resent under the rejected event's id (docs/integrations.md) was accepted, but the
rejection of that id stayed `open` (counted in chibo_rejections_open and on the operator page), and an operator's
replay of it judged the old body again and answered `rejected`. Accepting an event closes the open rejection of its
(source, id) in the same transaction (replayed, outcome `accepted`), so a replay answers that it was applied: alone,
in a batch (one statement for the batch's closings), rejected and fixed in one batch, and fixed but held first.
Over the real database and the RPC ingest the gateway calls."""

from typing import Any

import pytest

from shared.contracts.meetings_rpc import IngestReply
from shared.refusals import RefusalCode
from shared.rpc import RpcError
from tests.meetings import events as ev
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id


async def outcomes(methods: dict[str, Any], raws: list[dict[str, Any]]) -> list[str]:
    reply = IngestReply.model_validate(await methods["ingest"](events=raws, route="http", account="feed"))
    return [result.outcome for result in reply.results]


@pytest.mark.parametrize("resent", ["alone", "in_a_batch", "in_the_same_batch", "held_then_applied"])
async def test_an_accepted_fix_closes_the_rejection_of_its_id(meetings_pool, resent: str) -> None:  # type: ignore[no-untyped-def]
    methods = rpc_methods(meetings_pool)
    cell, member = random_id("cb"), random_id("dv")
    held_cell = random_id("cb") if resent == "held_then_applied" else cell
    assert await outcomes(methods, [ev.unit(cell)]) == ["accepted"]
    broken = ev.member(member, cell, status="nonsense")
    fixed = ev.member(member, held_cell, id=broken["id"])
    if resent == "in_the_same_batch":
        assert await outcomes(methods, [broken, ev.member(random_id("dv"), cell), fixed]) == [
            "rejected",
            "accepted",
            "accepted",
        ]
    else:
        assert await outcomes(methods, [broken]) == ["rejected"]
        async with meetings_pool.acquire() as conn:
            assert (
                await conn.fetchval(
                    "SELECT status FROM rejection WHERE source = $1 AND event_id = $2", broken["source"], broken["id"]
                )
                == "open"
            )
        if resent == "alone":
            assert await outcomes(methods, [fixed]) == ["accepted"]
        elif resent == "in_a_batch":
            assert await outcomes(methods, [ev.member(random_id("dv"), cell), fixed]) == ["accepted", "accepted"]
        else:  # its cell unknown yet: held, then applied when the cell arrives
            assert await outcomes(methods, [fixed]) == ["held"]
            assert await outcomes(methods, [ev.unit(held_cell)]) == ["accepted"]
    async with meetings_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT rejection_id, status, replay_outcome FROM rejection WHERE source = $1 AND event_id = $2",
            broken["source"],
            broken["id"],
        )
        assert await conn.fetchval("SELECT count(*) FROM member WHERE id = $1", member) == 1
    assert [(row["status"], row["replay_outcome"]) for row in rows] == [("replayed", "accepted")]
    with pytest.raises(RpcError) as replayed:
        await methods["replay_rejection"](rejection_id=rows[0]["rejection_id"])
    refusal = replayed.value.refusal
    assert replayed.value.code == "conflict" and refusal is not None
    assert refusal.code is RefusalCode.ALREADY_REPLAYED and refusal.outcome == "accepted"
    assert refusal.accepted_at is not None
