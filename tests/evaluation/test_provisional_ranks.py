"""Evaluation says which ranking lines are provisional (a meeting's manual items not assessed yet: DOMAIN.md
"Quality evaluation"), on the ranking and the roll-up's weakest cells as the report's rows say it by their flags, so
a committee's page can mark "Kém (tạm tính)" as its CSV does (a trial read "Chi bộ thôn 1 — 38,3 Kém" unmarked).
Against the running service, the real broker and PostgreSQL."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.contracts import evaluation_rpc as evaluation
from shared.rpc import RpcClient
from tests.evaluation.stream import at
from tests.evaluation.test_cell_existence import Clock, held
from tests.evaluation.test_late_changes import TODAY, send, units
from tests.evaluation.test_rating_reason_reads import weak
from tests.support.ids import random_id
from tests.support.rpc import ask, evaluation_rpc


@pytest.fixture(scope="module")
async def rpc(amqp_url: str, database_url: str) -> AsyncIterator[RpcClient]:
    """The evaluation service serving in this process on 4 December 2026, and a client."""
    async with evaluation_rpc(amqp_url, database_url, today=Clock(TODAY)) as client:
        yield client


async def test_ranking_and_weakest_lines_say_a_provisional_month(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    committee_id, cell = random_id("ward"), random_id("cell")
    await send(amqp_url, db, cell, units(committee_id, cell, time=at(7, 1, 8)))
    await send(amqp_url, db, cell, weak(held(cell, random_id("mtg"), at(9, 5))))

    report = await ask(rpc, evaluation.GetCommitteeReport(committee_id=committee_id, period="2026-09", limit=10))
    assert [("provisional" in item["flags"], item["rating"]) for item in report["items"]] == [(True, "poor")]
    ranking = await ask(rpc, evaluation.GetCommitteeRanking(committee_id=committee_id, period="2026-09"))
    assert [(item["cell_id"], item["provisional"]) for item in ranking["items"]] == [(cell, True)]
    rollup = await ask(rpc, evaluation.GetCommitteeRollup(committee_id=committee_id, period="2026-09"))
    assert [(item["cell_id"], item["provisional"]) for item in rollup["weakest"]] == [(cell, True)]
    # a month without a meeting is no provisional score: Kém as it stands
    october = await ask(rpc, evaluation.GetCommitteeRanking(committee_id=committee_id, period="2026-10"))
    assert [(item["cell_id"], item["provisional"]) for item in october["items"]] == [(cell, False)]
