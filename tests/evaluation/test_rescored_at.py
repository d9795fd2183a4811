"""A meeting's score says when a re-scoring job scored it again (`rescored_at`): committees could not tell which
meetings were re-scored, nor when. Only the meetings whose cell and month a finished job covered say it."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.contracts import evaluation_rpc as evaluation
from shared.rpc import RpcClient
from tests.evaluation.stream import applied_ward
from tests.support.rpc import ask, evaluation_rpc
from tests.support.running import eventually


@pytest.fixture(scope="module")
async def rpc(amqp_url: str, database_url: str) -> AsyncIterator[RpcClient]:
    """An RpcClient on the test vhost, with the evaluation service serving in this process."""
    async with evaluation_rpc(amqp_url, database_url) as client:
        yield client


async def test_a_score_says_when_a_rescore_job_scored_it_again_and_only_for_the_months_and_cells_it_covered(
    rpc: RpcClient, amqp_url: str, database_url: str
) -> None:
    ward = await applied_ward(amqp_url, database_url)
    march, april = f"{ward['prefix']}-mt3", f"{ward['prefix']}-mt4"
    before = await ask(rpc, evaluation.GetMeetingScore(meeting_id=april))
    assert before["rescored_at"] is None  # scored as its facts came, never re-scored yet
    other = await applied_ward(amqp_url, database_url)  # another committee's cell: outside the job's subtree

    started = await ask(rpc, evaluation.Rescore(unit_id=ward["committee"], period_from="2026-04", period_to="2026-04"))

    async def finished() -> dict[str, Any] | None:
        status = await ask(rpc, evaluation.GetRescoreStatus(job_id=started["job_id"]))
        return status if status["status"] in ("done", "failed") else None

    status = await eventually(finished, timeout=30, interval=0.2)
    assert status["status"] == "done", status
    after = await ask(rpc, evaluation.GetMeetingScore(meeting_id=april))
    assert after["rescored_at"] == status["finished_at"]
    assert (await ask(rpc, evaluation.GetMeetingScore(meeting_id=march)))["rescored_at"] is None  # month not covered
    elsewhere = await ask(rpc, evaluation.GetMeetingScore(meeting_id=f"{other['prefix']}-mt4"))
    assert elsewhere["rescored_at"] is None  # cell not covered
