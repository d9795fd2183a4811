"""A cell moved to another committee changes its committees' closed quarters and years too, and they say so.

The carried leftover "cell moves rewrite closed months' roll-ups without a note": h351 noted each closed month, but
a quarter's or year's roll-up, report and PDF listed no late change (`move_late_changes` answered nothing for a
period of more than one month), so commune A's closed third quarter went from 2 cells to 1, and B's from 1 to 2,
unsaid. DOMAIN.md is silent on which committee a past period counts a moved cell under ("How to read it, exactly"
has no rule; "Committees see their subtree"); docs/architecture.md "A cell moved to another committee" decided the
cell's record follows it, so the figures change and each changed quarter and year now carries the move: kind
"unit_moved", the cell's figures of the period itself.

Hand-computed figures (DOMAIN.md): each cell's September meeting (tests.evaluation.test_cell_existence.held) has no
manual points, so it is provisional, its automatic points over the applicable automatic maximum: duration 5/5 (95
minutes), attendance 5/5 (3 of 3 present, no excused run), draft resolution 0/2, committee met 2/2 (no member with
the role committee_member), notified 1/1, documents early 0/2, speakers 5/5 (2 of 3 present spoke, above half),
minutes complete 0/1 (no content or conclusions), self-criticism 0/1, documents published 0/1, resolution adopted
2/2 (3 for of 3), minutes and tasks 0/2, final documents 0/1; results not applicable (no previous tasks): 20 of 30,
66.67, Average. The cells exist from September (set up on 1 September), so their third quarter is September alone:
score 66.67, and Poor, as a quarter without a held thematic meeting is (DOMAIN.md "Periods").
"""

from typing import Any

import asyncpg
import pytest

from shared.contracts import evaluation_rpc as evaluation
from shared.rpc import RpcClient
from tests.evaluation.stream import at
from tests.evaluation.test_cell_existence import held
from tests.evaluation.test_late_changes import CLOCK, rpc
from tests.evaluation.test_late_unit_changes import SENT_ON, send, unit
from tests.evaluation.test_late_unit_moves import BACKDATED
from tests.evaluation.waiting import current_reply
from tests.support.ids import random_id
from tests.support.rpc import ask

__all__ = ["rpc"]  # the evaluation service serving with CLOCK as its today

SEPTEMBER_SCORE = pytest.approx(100 * 20 / 30)  # 66.67 shown; the replies carry the exact score (h514)
YEAR_FIGURES = ("poor", pytest.approx(100 * 20 / 30 / 3))
"""The moved cell's year 2026 on 5 December (running): its score the mean of its counted months, September's 66.67
and the closed October and November without a meeting (0 each; December running, not counted yet): 22.22. Poor: the
year's rule scaled to the 4 months the cell existed in (September to December) allows at most 2 x 4 / 12, so 0, Poor
months (DOMAIN.md "Periods", scaled as a quarter's), and October and November are Poor."""


async def two_communes_that_met_in_september(amqp_url: str, db: asyncpg.Connection) -> dict[str, str]:
    """A province with communes A (cells `moving` and `staying`) and B (cell `there`), set up on 1 September 2026,
    each cell's September meeting held, their history loaded on 5 December (the third quarter closed, so rated by
    its closed rule: no thematic meeting, Poor)."""
    CLOCK.now = SENT_ON
    ids = {key: random_id(key) for key in ("province", "a", "b", "moving", "staying", "there")}
    tree = [
        unit(ids["province"], "Tỉnh ủy Phú Thọ", "committee", None, time=at(9, 1, 8)),
        unit(ids["a"], "Đảng ủy xã Hòa Bình", "committee", ids["province"], time=at(9, 1, 8)),
        unit(ids["b"], "Đảng ủy phường An Phú", "committee", ids["province"], time=at(9, 1, 8)),
        unit(ids["moving"], "Chi bộ thôn 3", "cell", ids["a"], time=at(9, 1, 8)),
        unit(ids["staying"], "Chi bộ thôn 1", "cell", ids["a"], time=at(9, 1, 8)),
        unit(ids["there"], "Chi bộ khu phố 1", "cell", ids["b"], time=at(9, 1, 8)),
    ]
    cells = [ids["moving"], ids["staying"], ids["there"]]
    await send(amqp_url, db, cells, tree)
    for cell in cells:
        await send(amqp_url, db, [cell], held(cell, random_id("mtg"), at(9, 5)))
    return ids


async def rollup(rpc: RpcClient, unit_id: str, period: str) -> dict[str, Any]:
    """The committee's roll-up once it reads the current tree (the move applied, not `recalculating`)."""
    return await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=unit_id, period=period))


async def test_a_cell_moved_after_a_quarter_closed_is_said_on_both_communes_quarter(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    ids = await two_communes_that_met_in_september(amqp_url, db)
    a_before, b_before = await rollup(rpc, ids["a"], "2026-Q3"), await rollup(rpc, ids["b"], "2026-Q3")
    assert (a_before["cells"], a_before["score"], a_before["by_rating"]["poor"]) == (2, SEPTEMBER_SCORE, 2)
    assert (b_before["cells"], b_before["score"], b_before["late_changes"]) == (1, SEPTEMBER_SCORE, [])

    await send(amqp_url, db, [ids["moving"]], [unit(ids["moving"], "Chi bộ thôn 3", "cell", ids["b"], time=BACKDATED)])

    # the cell's record follows it (docs/architecture.md "A cell moved to another committee"), hand-computed
    a_after, b_after = await rollup(rpc, ids["a"], "2026-Q3"), await rollup(rpc, ids["b"], "2026-Q3")
    assert (a_after["cells"], a_after["score"], a_after["by_rating"]["poor"]) == (1, SEPTEMBER_SCORE, 1)
    assert (b_after["cells"], b_after["score"], b_after["by_rating"]["poor"]) == (2, SEPTEMBER_SCORE, 2)
    for seen in (a_after, b_after):
        assert [item["cell_id"] for item in seen["late_changes"]] == [ids["moving"]]
        assert seen["late_changes_total"] == 1
        change = seen["late_changes"][0]["late_change"]
        assert seen["late_changes"][0]["name"] == "Chi bộ thôn 3"
        assert change["kind"] == "unit_moved"
        assert (change["moved_from_name"], change["moved_to_name"]) == ("Đảng ủy xã Hòa Bình", "Đảng ủy phường An Phú")
        # the quarter's own figures, not September's month: Poor (no thematic meeting) at 66.67
        assert (change["new_rating"], change["new_score"]) == ("poor", SEPTEMBER_SCORE)
        assert (change["old_rating"], change["old_score"]) == ("poor", SEPTEMBER_SCORE)
    # B's report line of the cell says it (the CSV's column), the cell that was there already none
    report = await current_reply(rpc, evaluation.GetCommitteeReport(committee_id=ids["b"], period="2026-Q3", limit=10))
    lines = {item["cell_id"]: item for item in report["items"]}
    assert lines[ids["moving"]]["late_change"]["kind"] == "unit_moved"
    assert lines[ids["there"]]["late_change"] is None
    # the province above both: its figures did not change, nothing said
    assert (await rollup(rpc, ids["province"], "2026-Q3"))["late_changes"] == []


async def test_the_year_and_half_year_a_moved_cell_took_along_say_it_and_the_province_above_both_does_not(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """The year 2026 and the second half-year of both communes changed with the cell's closed months (September,
    October, November): said (a half-year, with no rating of its own, without figures); the province above both has
    no note (no figure of it changed)."""
    ids = await two_communes_that_met_in_september(amqp_url, db)
    await send(amqp_url, db, [ids["moving"]], [unit(ids["moving"], "Chi bộ thôn 3", "cell", ids["b"], time=BACKDATED)])
    for committee in (ids["a"], ids["b"]):
        for period in ("2026", "2026-H2"):
            seen = await rollup(rpc, committee, period)
            assert [item["cell_id"] for item in seen["late_changes"]] == [ids["moving"]], (committee, period)
            assert seen["late_changes_total"] == 1
            assert seen["late_changes"][0]["late_change"]["kind"] == "unit_moved"
        half = (await rollup(rpc, committee, "2026-H2"))["late_changes"][0]["late_change"]
        assert (half["new_rating"], half["new_score"]) == (None, None)
    assert (await rollup(rpc, ids["a"], "2026-H2"))["cells"] == 1
    assert (await rollup(rpc, ids["b"], "2026-H2"))["cells"] == 2
    report = await current_reply(rpc, evaluation.GetCommitteeReport(committee_id=ids["b"], period="2026-H2", limit=10))
    lines = {item["cell_id"]: item for item in report["items"]}
    assert lines[ids["moving"]]["late_change"]["kind"] == "unit_moved"
    assert lines[ids["there"]]["late_change"] is None
    for period in ("2026", "2026-H2"):
        assert (await rollup(rpc, ids["province"], period))["late_changes"] == []


async def test_the_moved_cells_own_quarter_half_year_and_year_say_the_move_with_their_own_figures(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """The cell's own page read its moved months' notes only (h512 left its quarters, half-years and year unsaid):
    its third quarter, second half-year and year now carry the move as its committees' roll-ups do (kind
    "unit_moved", from A to B), the quarter with its own figures (Poor at 66.67, hand-computed above), the half-year
    without (no rating of its own); the staying cell's periods none."""
    ids = await two_communes_that_met_in_september(amqp_url, db)
    await send(amqp_url, db, [ids["moving"]], [unit(ids["moving"], "Chi bộ thôn 3", "cell", ids["b"], time=BACKDATED)])
    own = await ask(rpc, evaluation.GetCellPeriods(cell_id=ids["moving"], year=2026))
    by_period = {item["period"]: item for item in own["periods"]}
    for period in ("2026-09", "2026-Q3", "2026"):
        change = by_period[period]["late_change"]
        assert change is not None, period
        assert change["kind"] == "unit_moved"
        assert (change["moved_from_name"], change["moved_to_name"]) == ("Đảng ủy xã Hòa Bình", "Đảng ủy phường An Phú")
    quarter = by_period["2026-Q3"]["late_change"]
    assert (quarter["new_rating"], quarter["new_score"]) == ("poor", SEPTEMBER_SCORE)
    # the year's note gives the year's own figures, those of its row, not September's month
    year = by_period["2026"]
    assert (year["late_change"]["new_rating"], year["late_change"]["new_score"]) == (year["rating"], year["score"])
    assert (year["late_change"]["new_rating"], year["late_change"]["new_score"]) == YEAR_FIGURES
    half = await current_reply(rpc, evaluation.GetCellHalfYear(cell_id=ids["moving"], period="2026-H2"))
    assert half["late_change"]["kind"] == "unit_moved"
    assert (half["late_change"]["new_rating"], half["late_change"]["new_score"]) == (None, None)
    staying = await ask(rpc, evaluation.GetCellPeriods(cell_id=ids["staying"], year=2026))
    assert [item["period"] for item in staying["periods"] if item["late_change"]] == []
