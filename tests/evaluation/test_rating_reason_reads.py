"""Evaluation answers why a period's rating is below its score's band with every read of it: the cell's periods, the
ranking, the report, the weakest cells and the roll-up's weakest (RatingReasonReply), so a committee's pages,
rankings and CSV can say it for each cell as its cell page does (a trial read "Kém" in report rows with no word why).
Against the running service, the real broker and PostgreSQL."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from shared.contracts import evaluation_rpc as evaluation
from shared.rpc import RpcClient
from tests.evaluation.stream import at
from tests.evaluation.test_cell_existence import Clock, held
from tests.evaluation.test_late_changes import TODAY, send, units
from tests.support.ids import random_id
from tests.support.rpc import ask, evaluation_rpc


@pytest.fixture(scope="module")
async def rpc(amqp_url: str, database_url: str) -> AsyncIterator[RpcClient]:
    """The evaluation service serving in this process on 4 December 2026, and a client."""
    async with evaluation_rpc(amqp_url, database_url, today=Clock(TODAY)) as client:
        yield client


def thematic(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A held meeting (held) scheduled as a combined one: the quarter's thematic meeting too."""
    scheduled, *rest = events
    data = {**scheduled["data"], "kind": "combined", "topic": "Học tập và làm theo tư tưởng Hồ Chí Minh"}
    return [{**scheduled, "data": data}, *rest]


def weak(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A held meeting (held) of 60 minutes (30 short: 3 points) that every member missed without excuse, nobody
    speaking, nothing resolved: Poor on its own. (Nobody present gives no points on `conduct.speakers` since h353,
    where a share of nobody once gave 2: the longer meeting keeps its score, and its quarter lowered by its months.)"""
    scheduled, attendance, submitted = events
    start = datetime.fromisoformat(submitted["data"]["started_at"])
    minutes = {
        **submitted["data"],
        "ended_at": (start + timedelta(minutes=60)).isoformat(),
        "speakers": [],
        "resolutions": [],
    }
    records = [{**record, "status": "absent"} for record in attendance["data"]["records"]]
    return [
        scheduled,
        {**attendance, "data": {**attendance["data"], "records": records}},
        {**submitted, "data": minutes},
    ]


async def test_every_read_of_a_quarter_lowered_by_its_months_or_its_missing_thematic_meeting_says_why(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    committee_id, lowered, no_thematic = random_id("ward"), random_id("cell"), random_id("cell")
    await send(amqp_url, db, lowered, units(committee_id, lowered, time=at(7, 1, 8)))
    await send(amqp_url, db, no_thematic, units(committee_id, no_thematic, time=at(7, 1, 8))[1:])
    # July and August met well (August's a combined meeting), September's meeting was Poor: a Poor month in Q3
    await send(amqp_url, db, lowered, held(lowered, random_id("mtg"), at(7, 5)))
    await send(amqp_url, db, lowered, thematic(held(lowered, random_id("mtg"), at(8, 5))))
    await send(amqp_url, db, lowered, weak(held(lowered, random_id("mtg"), at(9, 5))))
    # every month met, none of them thematic: Poor for the quarter whatever its score
    for month in (7, 8, 9):
        await send(amqp_url, db, no_thematic, held(no_thematic, random_id("mtg"), at(month, 5)))

    periods = await ask(rpc, evaluation.GetCellPeriods(cell_id=lowered, year=2026))
    q3 = next(item for item in periods["periods"] if item["period"] == "2026-Q3")
    assert q3["rating"] == "poor" and q3["score"] >= 50, q3
    assert q3["rating_reason"] == {
        "code": "month_ratings",
        "band": q3["rating_reason"]["band"],
        "missed": "average",
        "condition": "max_poor",
        "floor": None,
        "months": ["2026-09"],
        "count": 1,
        "needed": 0,
        "quarters": [],
    }
    assert q3["rating_reason"]["band"] in ("average", "fair", "good")
    without = {"code": "no_thematic_meeting"}
    other = await ask(rpc, evaluation.GetCellPeriods(cell_id=no_thematic, year=2026))
    assert next(item for item in other["periods"] if item["period"] == "2026-Q3")["rating_reason"].items() >= (
        without.items()
    )
    assert all(item["rating_reason"] is None for item in other["periods"] if item["period"] != "2026-Q3")

    expected = {lowered: "month_ratings", no_thematic: "no_thematic_meeting"}
    report = await ask(
        rpc, evaluation.GetCommitteeReport(committee_id=committee_id, period="2026-Q3", after_cell=None, limit=10)
    )
    assert {item["cell_id"]: item["rating_reason"]["code"] for item in report["items"]} == expected
    ranking = await ask(rpc, evaluation.GetCommitteeRanking(committee_id=committee_id, period="2026-Q3"))
    assert {item["cell_id"]: item["rating_reason"]["code"] for item in ranking["items"]} == expected
    weakest = await ask(rpc, evaluation.GetWeakestCells(committee_id=committee_id, period="2026-Q3"))
    assert {item["cell_id"]: item["rating_reason"]["code"] for item in weakest["items"]} == expected
    rollup = await ask(rpc, evaluation.GetCommitteeRollup(committee_id=committee_id, period="2026-Q3"))
    assert {item["cell_id"]: item["rating_reason"]["code"] for item in rollup["weakest"]} == expected
    august = await ask(rpc, evaluation.GetCommitteeReport(committee_id=committee_id, period="2026-08", limit=10))
    assert [item["rating_reason"] for item in august["items"]] == [None, None]  # a month is its meeting's
