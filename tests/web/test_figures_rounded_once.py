"""Every figure a person reads is rounded once, from its exact value (shared.numbers.format_number: halves up).

A trial: a thematic meeting of Chi bộ thôn 1 where 6 of 11 present members spoke (54.545…%). The meeting's page said
54,5%; the commune's overview, ranking, CSV and PDF said 54,6%: evaluation answered the rate as 0.5455 and the pages
rounded that figure again. Scores alike: 47 of 61 points (77.049…) came as 77.05 and read 77,1 instead of 77,0.
Evaluation now answers its figures unrounded; the API keeps its documented precision (shares to 4 places, scores to
the cent); pages, CSV, PDF and charts round the exact value once."""

import importlib
import json
import math
from fractions import Fraction
from typing import Any

from services.evaluation.domain.periods import HalfYearTotals, half_year_figures_of
from services.evaluation.queries import SubtreeSums, period_data
from services.gateway.schemas.reads import CellPeriodRead, CellRankRead, CommitteeRollupRead, MeetingScoreRead
from services.gateway.web import data
from services.gateway.web.i18n import format_number, format_share

exports = importlib.import_module("services.gateway.web.exports")
"""The exports module (the package's attribute `exports` is the pages' module of the same name)."""

MONTH = "2026-11"


def once(value: Fraction, digits: int = 1) -> str:
    """The exact value rounded once, halves up, in the Vietnamese form (decimal comma, no trailing zero)."""
    scaled = math.floor(value * 10**digits + Fraction(1, 2))
    whole, part = divmod(abs(scaled), 10**digits)
    text = f"{whole:,}".replace(",", ".") + (f",{part:0{digits}d}".rstrip("0") if part else "")
    return ("-" if scaled < 0 else "") + text


def cell_row(*, present: int, speakers: int, counted: int, score: float = 79.16666666666667) -> dict[str, Any]:
    """A cell's stored month (evaluation's cell_period row)."""
    return {
        "cell_id": "thon-1",
        "period": MONTH,
        "rating": "fair",
        "score": score,
        "regular_held": 1,
        "thematic_held": 1,
        "meetings_held": 2,
        "present": present,
        "counted": counted,
        "speakers_present": speakers,
        "flags": [],
        "rating_reason": None,
    }


def subtree(*, present: int, speakers: int, counted: int, score_sum: float, cells: int) -> SubtreeSums:
    """A commune's stored sums of the month (SubtreeSums' rows): every cell stored and held its regular meeting."""
    rows: list[Any] = [
        {"period": "", "cells": cells, "rows": 0},
        {
            "period": MONTH,
            "cells": 0,
            "rows": cells,
            "good": 0,
            "fair": cells,
            "average": 0,
            "poor": 0,
            "regular": cells,
            "thematic": 1,
            "thematic_met": 1,
            "present": present,
            "counted": counted,
            "speakers_present": speakers,
            "score": score_sum,
        },
    ]
    return SubtreeSums(rows)


def report_line_of(row: dict[str, Any]) -> dict[str, str]:
    """The CSV line of a report row (exports.report_line) by its header's columns."""
    return dict(zip(exports.report_header(), exports.report_line(row, exports.report_period(MONTH)), strict=True))


def test_six_speakers_of_eleven_present_read_54_5_on_every_page_csv_and_pdf() -> None:
    exact = "54,5%"
    # the cell's page and its year table (GetCellPeriods: period_data)
    row = period_data(cell_row(present=11, speakers=6, counted=11))
    assert format_share(row["speaking_rate"]) == exact
    # the ranking (its template's `share` filter) and the report's CSV and PDF rows (exports.report_line)
    line = report_line_of(row | {"name": "Chi bộ thôn 1"})
    assert (line["Tỷ lệ dự sinh hoạt (%)"], line["Tỷ lệ phát biểu (%)"]) == ("100", "54,5"), line
    # the commune's overview and the report PDF's figures (the roll-up: SubtreeSums.figures)
    rollup = subtree(present=11, speakers=6, counted=11, score_sum=79.16666666666667, cells=1).figures(MONTH)
    assert format_share(rollup["speaking_rate"]) == exact
    assert dict(exports.report_figures(rollup, period=MONTH))["Tỷ lệ phát biểu"] == exact
    # a half-year's figures (half_year_figures_of) alike
    totals = HalfYearTotals(1, 1, 1, 11, 11, 6, 6, 6, (79.16666666666667,))
    assert format_share(half_year_figures_of(totals)["speaking_rate"]) == exact


def test_the_api_keeps_its_precision_while_the_pages_read_the_exact_figures() -> None:
    row = period_data(cell_row(present=11, speakers=6, counted=11, score=100 * 47 / 61))
    assert CellPeriodRead.model_validate(row).model_dump(mode="json")["speaking_rate"] == 0.5455
    assert CellRankRead.model_validate(row).model_dump(mode="json")["score"] == 77.05
    rollup = subtree(present=11, speakers=6, counted=11, score_sum=100 * 47 / 61, cells=1).figures(MONTH)
    api = CommitteeRollupRead.model_validate(
        rollup | {"committee_id": "xa", "period": MONTH, "trend": {"score_delta": 100 * 47 / 61 - 70}}
    ).model_dump(mode="json")
    assert (api["speaking_rate"], api["score"], api["trend"]["score_delta"]) == (0.5455, 77.05, 7.05)
    # 47 of 61 points: 77.049…, rounded once 77,0 (its 77.05 rounded again read 77,1)
    assert format_number(row["score"]) == format_number(rollup["score"]) == "77"
    score = {"meeting_id": "m", "cell_id": "thon-1", "score": 100 * 47 / 61, "rating": "fair", "provisional": False}
    score |= {"framework": {"id": "f", "version": "1", "name": None}, "criteria": [], "begun": True}
    assert MeetingScoreRead.model_validate(score).model_dump(mode="json")["score"] == 77.05


def test_a_mean_score_reads_as_its_exact_value_rounded_once() -> None:
    """Three cells summing 243.14: the mean 81.0466… read 81,1 off its 81.05."""
    rollup = subtree(present=30, speakers=10, counted=33, score_sum=243.14, cells=3).figures(MONTH)
    assert format_number(rollup["score"]) == "81"
    assert report_line_of(period_data(cell_row(present=1, speakers=1, counted=1, score=243.14 / 3)))["Điểm"] == "81"


def test_the_trend_chart_draws_and_says_each_figure_rounded_once() -> None:
    month = {"period": MONTH, "score": 100 * 47 / 61, "attendance_rate": 6 / 11, "regularity": 1 / 16}
    option = json.loads(data.trend_chart([month]))
    score, attendance, regularity = (series["data"][0] for series in option["series"])
    assert (score, attendance, regularity) == (77.0, 54.5, 6.3)  # 6.25 drawn 6.2 by round()
    description = option["aria"]["label"]["description"]
    assert "bình quân 77," in description and "(%) 54,5," in description and "(%) 6,3." in description, description


def test_page_and_csv_agree_with_the_exact_share_rounded_once_for_many_fractions() -> None:
    """Every share p/w up to 400 members (and a province's 2,000-member pools near a half), as evaluation answers it
    for a cell's month, reads on the page (format_share) and in the CSV (report_line) as the exact fraction rounded
    once, halves up."""
    fractions = [(part, whole) for whole in range(1, 401) for part in range(whole + 1)]
    fractions += [(part, 2000) for part in range(0, 2001, 7)] + [(7, 2000), (29, 200), (1, 16), (1, 400)]
    header, columns = exports.report_header(), exports.report_period(MONTH)
    for part, whole in fractions:
        if whole == 0:
            continue
        row = period_data(cell_row(present=whole, speakers=part, counted=whole))
        expected = once(Fraction(100 * part, whole))
        assert format_share(row["speaking_rate"]) == expected + "%", (part, whole)
        line = dict(zip(header, exports.report_line(row | {"name": "Chi bộ"}, columns), strict=True))
        assert line["Tỷ lệ dự sinh hoạt (%)"] == "100" and line["Tỷ lệ phát biểu (%)"] == expected, (part, whole, line)
