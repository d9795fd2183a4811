"""An officer on the overview of Quý IV/2026 (or Năm 2026) while it runs read "Tỷ lệ chi bộ sinh hoạt đều đặn 66,7%"
with nothing saying over which months: DOMAIN.md defines the regularity as the share of cells that met every month,
and evaluation counts a running quarter or year over its months ended so far (the running month only for a cell that
has met in it, a cell with no month counted yet left out). The running month names its base ("1/6 chi bộ đã sinh
hoạt thường kỳ (tháng đang diễn ra)", test_running_month_rates); a running quarter, half-year and year name theirs the
same way, on the page, in the API's roll-up (`regularity_months`) and in the PDF.

The roll-up is given as evaluation answers it, then read through the gateway's read helper, the pages' template and
the PDF at a clock inside the period, without a running system."""

import io
from datetime import datetime
from typing import Any

from pypdf import PdfReader

from services.gateway.schemas.reads import CommitteeRollupRead
from services.gateway.web import data
from services.gateway.web.exports import report_document
from shared.periods import VIETNAM_TZ
from tests.web.test_running_month import RUNNING, WARD, between, committee_page

QUARTER = "2026-Q4"


def rollup(period: str, **figures: Any) -> dict[str, Any]:
    """Evaluation's roll-up of a running period over six cells: four met every month counted, two missed one."""
    return {
        "committee_id": WARD["id"],
        "period": period,
        "cells": 6,
        "by_rating": {"good": 2, "fair": 2, "average": 0, "poor": 2},
        "regularity": 4 / 6,
        "attendance_rate": 0.85,
        "speaking_rate": 0.5,
        "thematic_coverage": 0.5,
        "score": 70.0,
        "met_score": None,
        "met_thematic_coverage": None,
        "irregular": 2,
        "not_rated": 0,
        "trend": {},
        "weakest": [],
        "in_progress": True,
    } | figures


def regularity_of(shown: dict[str, Any], period: str) -> str:
    """The regularity figure of the committee page, with its base, as one line of text."""
    return " ".join(between(committee_page(shown, [], period=period), 'data-figure="regularity">', "</dd>").split())


def pdf_text(shown: dict[str, Any], period: str) -> str:
    """The report PDF's text, whitespace folded."""
    document = report_document(WARD, period, {"rollup": shown, "rows": []})
    return " ".join("\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(document)).pages).split())


def test_a_running_quarter_names_the_months_its_regularity_counts() -> None:
    shown = data.rollup_shown(rollup(QUARTER), now=RUNNING)
    assert CommitteeRollupRead.model_validate(shown).regularity_months == ["2026-10", "2026-11"]
    said = "4/6 chi bộ đã sinh hoạt thường kỳ đủ các tháng đã qua của quý (tháng 10–11/2026; quý đang diễn ra)"
    assert said in regularity_of(shown, QUARTER)
    assert said in pdf_text(shown, QUARTER)


def test_a_running_year_names_its_months_and_the_cells_not_counted_yet() -> None:
    found = rollup("2026", cells=7, not_rated=1)  # a cell set up this month, not met yet: out of every figure
    shown = data.rollup_shown(found, now=RUNNING)
    assert shown["regularity_months"] == [f"2026-{month:02d}" for month in range(1, 12)]
    assert (
        "4/6 chi bộ đã sinh hoạt thường kỳ đủ các tháng đã qua của năm (tháng 1–11/2026; năm đang diễn ra); "
        "chưa tính 1 chi bộ chưa có tháng nào đã qua và chưa sinh hoạt thường kỳ tháng này"
    ) in regularity_of(shown, "2026")


def test_a_quarter_in_its_first_month_says_its_regularity_is_over_the_cells_met() -> None:
    october = datetime(2026, 10, 6, 9, 0, tzinfo=VIETNAM_TZ)
    found = rollup(QUARTER, regularity=1.0, irregular=0, not_rated=4)  # two met, four not yet: not rated
    shown = data.rollup_shown(found, now=october)
    assert shown["regularity_months"] == []
    assert (
        "tính trên 2 chi bộ đã sinh hoạt thường kỳ tháng 10/2026 (quý đang ở tháng đầu, chưa có tháng nào đã qua); "
        "chưa tính 4 chi bộ"
    ) in regularity_of(shown, QUARTER)


def test_an_ended_quarter_says_no_base() -> None:
    shown = data.rollup_shown(rollup("2026-Q3", in_progress=False), now=RUNNING)
    assert shown["regularity_months"] is None
    assert "data-met-base" not in committee_page(shown, [], period="2026-Q3")
