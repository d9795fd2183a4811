"""A committee's ranking lines carry the figures officers compare cells by (DOMAIN.md "Periods": thematic meetings
held, attendance rate, speaking rate), the same as the cell's own period says, for a month, a quarter and a half-year;
a cell without a stored period has none held and no rates. The ranking page showed only the score, rating and
meetings held. Against the running service, the real broker and PostgreSQL."""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from shared.contracts import evaluation_rpc as evaluation
from shared.rpc import RpcClient
from tests.evaluation.stream import at
from tests.evaluation.test_cell_existence import Clock, held
from tests.evaluation.test_late_changes import TODAY, send, units
from tests.evaluation.test_rating_reason_reads import thematic
from tests.support.ids import random_id
from tests.support.rpc import ask, evaluation_rpc

FIGURES = ("thematic_held", "attendance_rate", "speaking_rate")


@pytest.fixture(scope="module")
async def rpc(amqp_url: str, database_url: str) -> AsyncIterator[RpcClient]:
    """The evaluation service serving in this process on 4 December 2026, and a client."""
    async with evaluation_rpc(amqp_url, database_url, today=Clock(TODAY)) as client:
        yield client


def excused_one_speaker(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A held meeting (held) at which its third member was absent with excuse and only the first spoke."""
    scheduled, attendance, submitted = events
    records = [
        {**record, "status": "excused", "reason": "Ốm"} if record["member_id"].endswith("-m3") else record
        for record in attendance["data"]["records"]
    ]
    minutes = {**submitted["data"], "speakers": submitted["data"]["speakers"][:1]}
    return [
        scheduled,
        {**attendance, "data": {**attendance["data"], "records": records}},
        {**submitted, "data": minutes},
    ]


def figures(item: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(item.get(key) for key in FIGURES)


async def test_ranking_lines_carry_the_cells_thematic_meetings_and_rates(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    committee_id, cell, idle = random_id("ward"), random_id("cell"), random_id("cell")
    await send(amqp_url, db, cell, units(committee_id, cell, time=at(7, 1, 8)))
    await send(amqp_url, db, idle, units(committee_id, idle, time=at(7, 1, 8))[1:])
    # September: a regular meeting, all three present, two speaking; a combined one, the third excused, one speaking
    await send(amqp_url, db, cell, held(cell, random_id("mtg"), at(9, 5)))
    await send(amqp_url, db, cell, excused_one_speaker(thematic(held(cell, random_id("mtg"), at(9, 20)))))

    ranking = await ask(rpc, evaluation.GetCommitteeRanking(committee_id=committee_id, period="2026-09"))
    lines = {item["cell_id"]: item for item in ranking["items"]}
    # present 3 + 2 of 6 counted; speakers 2 + 1 of the 5 present
    assert figures(lines[cell]) == pytest.approx((1, 5 / 6, 0.6)), lines[cell]
    assert figures(lines[idle]) == (0, None, None), lines[idle]

    own = await ask(rpc, evaluation.GetCellPeriods(cell_id=cell, year=2026))
    periods = {row["period"]: row for row in own["periods"]}
    for period in ("2026-09", "2026-Q3", "2026"):
        ranked = await ask(rpc, evaluation.GetCommitteeRanking(committee_id=committee_id, period=period))
        line = next(item for item in ranked["items"] if item["cell_id"] == cell)
        assert figures(line) == figures(periods[period]), (period, line, periods[period])
    half = await ask(rpc, evaluation.GetCellHalfYear(cell_id=cell, period="2026-H2"))
    ranked = await ask(rpc, evaluation.GetCommitteeRanking(committee_id=committee_id, period="2026-H2"))
    line = next(item for item in ranked["items"] if item["cell_id"] == cell)
    assert figures(line) == pytest.approx((1, 5 / 6, 0.6)) == figures(half), (line, half)
    # the weakest cells of the roll-up are ranking lines too: the idle cell, Poor, with nothing held
    rollup = await ask(rpc, evaluation.GetCommitteeRollup(committee_id=committee_id, period="2026-09"))
    assert [figures(item) for item in rollup["weakest"] if item["cell_id"] == idle] == [(0, None, None)]
