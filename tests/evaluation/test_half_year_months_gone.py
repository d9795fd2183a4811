"""A running half-year's months gone by, per cell: a cell set up partway through it counts from the month it was set
up, that month whole (docs/architecture.md "When a cell exists"), so the committee's note said "5 tháng đã qua" for a
cell set up in April that had counted two of them (April and May, on 15 June). Evaluation gives each cell's
`months_gone` and the subtree's fewest and most (queries.months_gone); the gateway's note says them. Off the real
evaluation service (scoring in this process) and its database."""

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import pytest

from services.evaluation import queries
from services.evaluation.domain.periods import half_year_figures
from shared.rpc import RpcClient
from tests.evaluation.stream import at, cell_history, fact, publish
from tests.evaluation.waiting import applied_and_scored, tree_applied
from tests.support.ids import random_id
from tests.support.rpc import evaluation_rpc
from tests.support.running import eventually

HALF = "2026-H1"
RUNNING = date(2026, 6, 15)


@pytest.fixture(scope="module")
async def rpc(amqp_url: str, database_url: str) -> AsyncIterator[RpcClient]:
    """An RpcClient on the test vhost, with the evaluation service serving in this process."""
    async with evaluation_rpc(amqp_url, database_url) as client:
        yield client


@pytest.fixture(scope="module")
async def ward(rpc: RpcClient, amqp_url: str, database_url: str) -> dict[str, Any]:
    """A committee with a cell from January 2026 (cell_history) and a cell set up on 3 April 2026, applied and
    scored, its tree applied."""
    committee, january, april = random_id("ward"), random_id("cell"), random_id("cell")
    events = cell_history(committee_id=committee, cell_id=january, prefix=random_id("h"))
    unit = {"id": april, "name": "Chi bộ thôn Tân Lập", "kind": "cell", "parent_id": committee}
    events.append(fact("org.unit.upserted.v1", unit, time=at(4, 3, 9)))
    await publish(amqp_url, events)
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "evaluation"})
    try:
        ids = [event["id"] for event in events]
        await eventually(
            lambda: applied_and_scored(conn, event_ids=ids, cell_ids=[january, april]), timeout=60, interval=0.3
        )
        await tree_applied(conn)  # the lines are read off the tree as applied, which says no `recalculating`
    finally:
        await conn.close()
    return {"committee": committee, "january": january, "april": april}


async def test_each_cell_counts_its_months_gone_from_the_month_it_was_set_up(
    ward: dict[str, Any], database_url: str
) -> None:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "evaluation"})
    try:
        lines = {line["cell_id"]: line for line in await queries.half_year_lines(conn, ward["committee"], HALF)}
        running = await queries.half_year_lines(conn, ward["committee"], HALF, today=RUNNING)
        totals = await queries.half_year_totals(conn, ward["committee"], HALF, today=RUNNING)
        ended = await queries.half_year_totals(conn, ward["committee"], HALF, today=date(2026, 12, 5))
    finally:
        await conn.close()
    # ended: January to June, and April to June (April counts whole though the cell was set up on the 3rd)
    assert (lines[ward["january"]]["months_gone"], lines[ward["april"]]["months_gone"]) == (6, 3)
    assert (ended.fewest_months_gone, ended.most_months_gone) == (3, 6)
    # on 15 June: January to May, and April and May
    assert {line["cell_id"]: line["months_gone"] for line in running} == {ward["january"]: 5, ward["april"]: 2}
    assert (totals.fewest_months_gone, totals.most_months_gone) == (2, 5)
    figures = half_year_figures(running)  # the lines' figures and the one statement's agree
    assert (figures["fewest_months_gone"], figures["most_months_gone"]) == (2, 5)


def test_months_gone_reads_the_cells_span() -> None:
    assert queries.months_gone(HALF, span=("2026-04", None), today=RUNNING) == 2
    assert queries.months_gone(HALF, span=(None, None), today=RUNNING) == 5
    assert queries.months_gone(HALF, span=("2025-12", "2026-02"), today=RUNNING) == 2  # closed in February
    assert queries.months_gone(HALF, span=("2026-06", None), today=RUNNING) == 0  # set up this month
