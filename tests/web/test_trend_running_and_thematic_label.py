"""A trial's committee page of "Năm 2026" drew the 12-month trend's regularity at 0 % for the month still running (its
cells not met yet, early in the month), which read as a collapse, and its "Tỷ lệ chi bộ có sinh hoạt chuyên đề" read
100 % for the year beside a quarter rated Kém for want of a thematic meeting, the label not saying what it counts.

The running month draws no regularity point (a gap), said so in the chart's Vietnamese description and in a note under
it ("tháng đang diễn ra, chưa tính"); a closed month draws its figure, 0 % included. The thematic coverage's label says
what it counts in each kind of period (DOMAIN.md: one a quarter; a year's figure counts the cells with at least one),
on the page and in the report's PDF alike. The roll-ups are as rollup_shown reads them at a fixed clock."""

import io
import json
from types import SimpleNamespace
from typing import Any

from pypdf import PdfReader

from services.gateway.auth import Role
from services.gateway.web import data, periods
from services.gateway.web.core import environment
from services.gateway.web.exports import report_document
from services.gateway.web.i18n import thematic_coverage_label
from tests.web.test_running_month import WARD, between, cell_children, committee_page, report, rollup, shown_at

REGULARITY = "Tỷ lệ sinh hoạt đều đặn (%)"


def closed_month(period: str, regularity: float) -> dict[str, Any]:
    """A closed month of the commune's trend, as rollup_shown leaves it (`not_met_yet` None)."""
    return {"period": period, "score": 80.0, "attendance_rate": 0.9, "regularity": regularity, "not_met_yet": None}


def test_the_running_month_draws_no_regularity_point_and_says_it_is_not_counted_yet() -> None:
    running = shown_at(rollup(in_progress=True) | {"irregular": 5, "regularity": 0.0})
    assert running["regularity"] == 0.0 and running["not_met_yet"] == 5
    trend = [closed_month("2026-10", 1.0), closed_month("2026-11", 0.0), running]
    option = json.loads(data.trend_chart(trend))
    drawn = {series["name"].replace("\u00a0", " "): series["data"] for series in option["series"]}  # as read
    assert drawn[REGULARITY] == [100, 0, None]  # a closed month's 0 % stands; the running month is a gap
    description = option["aria"]["label"]["description"]
    assert "Tháng 12/2026: Điểm bình quân chưa có số liệu" in description
    assert "Tỷ lệ sinh hoạt đều đặn (%) chưa tính (tháng đang diễn ra)" in description
    assert "Tháng 11/2026: Điểm bình quân 80, Tỷ lệ dự sinh hoạt (%) 90, Tỷ lệ sinh hoạt đều đặn (%) 0" in description
    note = data.trend_note(trend)
    assert note.startswith("Tháng 12/2026: tháng đang diễn ra, chưa tính tỷ lệ sinh hoạt đều đặn")
    assert data.trend_note(trend[:2]) == ""


def test_the_committee_page_says_under_the_trend_that_the_running_month_is_not_counted() -> None:
    shown = shown_at(rollup(in_progress=True))
    trend = [closed_month("2026-11", 0.8), shown]
    page = (
        environment()
        .get_template("committee.html")
        .render(
            viewer=SimpleNamespace(
                role=Role.COMMITTEE_OFFICER, account=SimpleNamespace(sub="can-bo"), csrf="t", principal=None
            ),
            unit=WARD,
            period="2026",
            choices=periods.choices("2026"),
            crumbs=[],
            unrated=None,
            running=True,
            ratings_chart=data.ratings_chart(shown["by_rating"]),
            trend_chart=data.trend_chart(trend),
            trend_note=data.trend_note(trend),
            trend=trend,
            rollup=shown,
            children=cell_children(shown),
            inbox=[],
            late_minutes=[],
        )
    )
    note = between(page, 'id="trend-in-progress"', "</p>")
    assert "Tháng 12/2026: tháng đang diễn ra, chưa tính tỷ lệ sinh hoạt đều đặn" in note
    assert page.index('id="chart-trend"') < page.index('id="trend-in-progress"')


def test_the_thematic_coverage_label_says_what_it_counts_per_period() -> None:
    assert thematic_coverage_label("2026-12") == "Tỷ lệ chi bộ có sinh hoạt chuyên đề trong tháng"
    assert thematic_coverage_label("2026-Q2") == "Tỷ lệ chi bộ có sinh hoạt chuyên đề trong quý"
    assert thematic_coverage_label("2026-H1") == "Tỷ lệ chi bộ có ít nhất một buổi sinh hoạt chuyên đề trong 6 tháng"
    assert thematic_coverage_label("2026") == "Tỷ lệ chi bộ có ít nhất một buổi sinh hoạt chuyên đề trong năm"


def test_the_page_and_the_pdf_label_the_thematic_coverage_for_the_period() -> None:
    shown = shown_at(rollup(in_progress=False))
    page = committee_page(shown, cell_children(shown))
    figure = between(page, "<div><dt>Tỷ lệ chi bộ có", "</div>")
    assert "Tỷ lệ chi bộ có sinh hoạt chuyên đề trong tháng</dt>" in figure and "40%" in figure
    document = report_document(WARD, "2026-12", report(in_progress=False))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(document)).pages)
    assert "Tỷ lệ chi bộ có sinh hoạt chuyên đề trong tháng 40%" in text
