"""Trial 43: an event held (attendance for a meeting not yet scheduled, answered `held` with `waiting_for`) and sent
again under the same id was answered `duplicate` with no `waiting_for`, alone, in a batch or as a dry run. CONTRACT.md
answers each event `accepted`, `duplicate`, `held` or `rejected`, and a held event is held until its referent
arrives: a copy of it is still `held`, waiting for the same thing (as an Idempotency-Key command already answers).
Over the real database and the RPC ingest the gateway calls."""

from typing import Any

import pytest

from shared.contracts.meetings_rpc import IngestReply
from tests.meetings import events as ev
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id


async def answers(methods: dict[str, Any], raws: list[dict[str, Any]], **params: Any) -> list[dict[str, Any]]:
    reply = IngestReply.model_validate(await methods["ingest"](events=raws, route="http", account="feed", **params))
    return [
        {"outcome": r.outcome, "waiting_for": r.waiting_for, "field": r.field, "reason": r.reason}
        for r in reply.results
    ]


@pytest.mark.parametrize("resent", ["alone", "in_a_batch", "dry_run", "twice_in_one_batch"])
async def test_a_held_event_sent_again_is_still_held(meetings_pool, resent: str) -> None:  # type: ignore[no-untyped-def]
    methods = rpc_methods(meetings_pool)
    cell, member, meeting = random_id("cb"), random_id("dv"), random_id("mtg")
    for raw in (ev.unit(cell), ev.member(member, cell)):
        assert (await answers(methods, [raw]))[0]["outcome"] == "accepted"
    roster = ev.attendance(meeting, {member: "present"})
    [first] = await answers(methods, [roster]) if resent != "twice_in_one_batch" else [None]
    if first is not None:
        assert first["outcome"] == "held" and first["waiting_for"] == f"meeting:{meeting}"
    other = ev.member(random_id("dv"), cell)
    if resent == "alone":
        again = await answers(methods, [roster])
    elif resent == "in_a_batch":
        again = (await answers(methods, [other, roster]))[1:]
    elif resent == "dry_run":
        again = await answers(methods, [roster], dry_run=True)
    else:
        first, *again = await answers(methods, [roster, roster])
        assert first["outcome"] == "held"
    assert again == [first]
    assert again[0]["outcome"] == "held" and again[0]["waiting_for"] == f"meeting:{meeting}"
    # its referent arrives: applied once, and a copy afterwards is a duplicate
    assert (await answers(methods, [ev.scheduled(meeting, cell, starts_at=ev.BASE_TIME)]))[0]["outcome"] == "accepted"
    async with meetings_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM attendance WHERE meeting_id = $1", meeting) == 1
    assert [a["outcome"] for a in await answers(methods, [roster])] == ["duplicate"]
