"""A committee's half-year (`2026-H1`: DOMAIN.md has committees report every quarter, half-year and year) off the
real evaluation service: its figures computed from the two quarters' stored rows as DOMAIN.md defines them, checked
against values worked out by hand from the cell's history (tests.evaluation.stream.cell_history: meetings in March
to June 2026, the May one combined; a second cell that never met). A half-year has no rating of its own (DOMAIN.md
rates months, quarters and years only): its quarters' ratings are given instead."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts import evaluation_rpc as evaluation
from shared.periods import is_period
from shared.rpc import RpcClient, RpcError
from tests.evaluation.stream import applied_ward
from tests.support.rpc import ask, evaluation_rpc

HALF = "2026-H1"


@pytest.fixture(scope="module")
async def rpc(amqp_url: str, database_url: str) -> AsyncIterator[RpcClient]:
    """An RpcClient on the test vhost, with the evaluation service serving in this process."""
    async with evaluation_rpc(amqp_url, database_url) as client:
        yield client


@pytest.fixture(scope="module")
async def ward(rpc: RpcClient, amqp_url: str, database_url: str) -> dict[str, Any]:
    """A committee with a cell that met March to June 2026 and a cell that never met, all applied; the met cell's
    month scores as evaluation stored them (the inputs of the hand computation)."""
    ward = await applied_ward(amqp_url, database_url)
    periods = await ask(rpc, evaluation.GetCellPeriods(cell_id=ward["cell_a"], year=2026))
    rows = {row["period"]: row for row in periods["periods"]}
    return {**ward, "rows": rows, "span": periods}


async def test_the_half_years_figures_are_those_worked_out_by_hand(rpc: RpcClient, ward: dict[str, Any]) -> None:
    rows = ward["rows"]
    assert ward["span"]["first_month"] == "2026-01"  # both cells exist from January: six months count
    months = [rows[f"2026-{month:02d}"]["score"] for month in (3, 4, 5, 6)]
    # DOMAIN.md "Periods": the mean of its six months' scores, January and February (no meeting) counting 0
    cell_a = sum(months) / 6
    rollup = await ask(rpc, evaluation.GetCommitteeRollup(committee_id=ward["committee"], period=HALF))
    assert rollup["period"] == HALF and rollup["cells"] == 2 and rollup["not_rated"] == 0
    assert rollup["score"] == pytest.approx((cell_a + 0.0) / 2)  # the second cell never met: 0 every month
    # met every month: neither (the first cell missed January and February); a thematic (combined) meeting: one of two
    assert (rollup["regularity"], rollup["thematic_coverage"], rollup["irregular"]) == (0.0, 0.5, 2)
    # pooled over the four held meetings: 5, 5, 4 and 5 present of 6 counted; 3 present speakers each
    assert rollup["attendance_rate"] == pytest.approx(19 / 24)
    assert rollup["speaking_rate"] == pytest.approx(12 / 19)
    # no half-year rating (DOMAIN.md rates months, quarters and years): its quarters' instead
    assert rollup["by_rating"] is None
    # its weakest: the cells rated Average or Poor in a quarter, most Poor quarters first (the cell that never met:
    # both), then the lowest score (queries.half_year_weakest)
    assert [cell["cell_id"] for cell in rollup["weakest"]] == [ward["cell_b"], ward["cell_a"]]
    quarters = {quarter["period"]: quarter["by_rating"] for quarter in rollup["quarters"]}
    assert quarters["2026-Q1"] == {"good": 0, "fair": 0, "average": 0, "poor": 2}  # no thematic meeting in Q1
    q2 = rows["2026-Q2"]["rating"]
    assert quarters["2026-Q2"] == {"good": 0, "fair": 0, "average": 0, "poor": 1} | {q2: 1 + (q2 == "poor")}
    assert rollup["trend"]["previous_period"] == "2025-H2" and rollup["trend"]["previous_score"] is None


async def test_a_cells_half_year_is_the_line_its_committee_counts(rpc: RpcClient, ward: dict[str, Any]) -> None:
    """GetCellHalfYear: the cell's own half-year, the figures its committee's half-year counts it with (the mean of
    its six months, pooled rates), no rating (its quarters'), `months_counted`; the roll-up says how many months its
    cells counted; a cell's half-year before it existed or not begun is not_found naming `period`."""
    rows = ward["rows"]
    line = await ask(rpc, evaluation.GetCellHalfYear(cell_id=ward["cell_a"], period=HALF))
    months = [rows[f"2026-{month:02d}"]["score"] for month in (3, 4, 5, 6)]
    assert line["score"] == pytest.approx(sum(months) / 6) and line["months_counted"] == 6 and line["rating"] is None
    assert line["quarter_ratings"] == {"2026-Q1": "poor", "2026-Q2": rows["2026-Q2"]["rating"]}
    assert (line["attendance_rate"], line["speaking_rate"]) == pytest.approx((19 / 24, 12 / 19))
    never = await ask(rpc, evaluation.GetCellHalfYear(cell_id=ward["cell_b"], period=HALF))
    assert never["score"] == 0.0 and never["regular_held"] == 0
    rollup = await ask(rpc, evaluation.GetCommitteeRollup(committee_id=ward["committee"], period=HALF))
    assert (rollup["fewest_months_counted"], rollup["most_months_counted"]) == (6, 6)
    for period in ("2025-H2", "2099-H1"):
        with pytest.raises(RpcError) as missing:
            await rpc.call(evaluation.GetCellHalfYear(cell_id=ward["cell_a"], period=period))
        assert (missing.value.code, missing.value.field) == ("not_found", "period")


async def test_the_half_years_report_lines_page_rank_and_count(rpc: RpcClient, ward: dict[str, Any]) -> None:
    committee, rows = ward["committee"], ward["rows"]
    first = await ask(rpc, evaluation.GetCommitteeReport(committee_id=committee, period=HALF, limit=1))
    assert first["next"] is not None
    line = first["items"][0]
    assert line["cell_id"] == ward["cell_a"] and line["rating"] is None
    assert line["score"] == pytest.approx(sum(rows[f"2026-{m:02d}"]["score"] for m in (3, 4, 5, 6)) / 6)
    assert (line["regular_held"], line["thematic_held"], line["meetings_held"]) == (4, 1, 4)
    assert (line["attendance_rate"], line["speaking_rate"]) == pytest.approx((19 / 24, 12 / 19))
    assert line["quarter_ratings"] == {"2026-Q1": "poor", "2026-Q2": rows["2026-Q2"]["rating"]}
    assert "months_without_regular_meeting" in line["flags"]
    cursor = first["next"]
    second = await ask(
        rpc,
        evaluation.GetCommitteeReport(
            committee_id=committee,
            period=HALF,
            limit=1,
            after_score=cursor["after_score"],
            after_cell=cursor["after_cell"],
        ),
    )
    assert [item["cell_id"] for item in second["items"]] == [ward["cell_b"]] and second["next"] is None
    other = second["items"][0]
    assert (other["score"], other["regular_held"], other["attendance_rate"]) == (0.0, 0, None)
    assert other["quarter_ratings"] == {"2026-Q1": "poor", "2026-Q2": "poor"}
    ranking = await ask(rpc, evaluation.GetCommitteeRanking(committee_id=committee, period=HALF, order="asc"))
    assert [item["cell_id"] for item in ranking["items"]] == [ward["cell_b"], ward["cell_a"]] and ranking["total"] == 2
    weakest = await ask(rpc, evaluation.GetWeakestCells(committee_id=committee, period=HALF))
    assert weakest["items"] == []  # weak means rated Average or Poor: a half-year is not rated
    units = await ask(rpc, evaluation.GetUnitRollups(unit_ids=[committee, ward["cell_b"]], period=HALF))
    assert [(item["committee_id"], item["score"]) for item in units["items"]] == [
        (committee, pytest.approx(line["score"] / 2)),
        (ward["cell_b"], 0.0),
    ]
    assert (await ask(rpc, evaluation.CountDirectCells(committee_id=committee, period=HALF)))["cells"] == 2


@pytest.mark.parametrize("spelling", ["2026-H3", "2026-H0", "2026-h1", "2026-S1", "2026H1", "2026-H"])
def test_a_badly_spelled_half_year_is_refused_naming_the_period(spelling: str) -> None:
    with pytest.raises(ValidationError) as caught:
        evaluation.GetCommitteeRollup(committee_id="x", period=spelling)
    assert caught.value.errors()[0]["loc"] == ("period",)


def test_a_half_year_is_no_period_of_the_contracts_events() -> None:
    """score.cell.updated.v1 names months, quarters and years only (CONTRACT.md): a half-year is a report's period."""
    assert not is_period(HALF) and is_period("2026-Q2")


def test_a_closed_quarter_without_a_row_counts_poor_at_0_over_the_months_the_cell_existed_in() -> None:
    """As a quarter's roll-up reads a cell without a stored period (Poor at 0), over its months within the cell's
    span only; a quarter running (not rated yet), not begun, or outside the span counts nothing."""
    from datetime import date

    from services.evaluation.queries import _quarter_of_row

    today = date(2026, 12, 5)
    from_may = _quarter_of_row(None, "2026-Q2", span=("2026-05", None), today=today)
    assert from_may is not None and (from_may.rating, from_may.score, from_may.months_counted) == ("poor", 0.0, 2)
    assert _quarter_of_row(None, "2026-Q1", span=("2026-05", None), today=today) is None
    assert _quarter_of_row(None, "2026-Q4", span=(None, None), today=today) is None  # running, not rated yet
    assert _quarter_of_row(None, "2027-Q1", span=(None, None), today=today) is None


def test_a_half_years_score_weighs_each_quarter_by_its_months() -> None:
    """DOMAIN.md "Periods": the mean of the months' scores, so a quarter of 3 months at 60 and one of 2 months at 90
    (a cell set up in May) make (180 + 180) / 5 = 72, not the quarters' mean 75."""
    from services.evaluation.domain.periods import QuarterFigures, half_year_line

    line = half_year_line(
        "c",
        "2026-H1",
        [
            QuarterFigures("2026-Q1", "fair", 60.0, 3, 3, regular_held=3, present=15, counted=18),
            QuarterFigures("2026-Q2", "good", 90.0, 2, 1, regular_held=1, thematic_held=1, present=5, counted=6),
        ],
    )
    assert line["score"] == 72.0 and line["attendance_rate"] == 20 / 24
    assert (line["met_every_month"], line["regular_held"], line["thematic_held"]) == (False, 4, 1)
    assert line["quarter_ratings"] == {"2026-Q1": "fair", "2026-Q2": "good"} and line["rating"] is None
