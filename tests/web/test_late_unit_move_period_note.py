"""A quarter, half-year or year whose figures a cell move changed says it, on the page, in the CSV and in the PDF.

Evaluation now lists a cell moved in or out after a month of the period closed among a quarter's, half-year's or
year's `late_changes` (tests/evaluation/test_late_unit_move_periods.py): kind "unit_moved" with the cell's figures of
the period (none for a half-year, which has no rating of its own, or a period not rated yet). The note names the move
and its day and says the period's figures now count under the committee that took the cell; the heading over them
says cells moved and the figures were recalculated, not "results changed after the month closed"."""

import io
from typing import Any

from pypdf import PdfReader

from services.gateway.web import i18n
from services.gateway.web.exports import report_document, report_line, report_period
from services.gateway.web.i18n import late_change_note
from tests.web.test_late_unit_move_note import MOVED, UNPLACED

QUARTER_MOVED = MOVED | {"old_rating": "poor", "old_score": 66.67, "new_rating": "poor", "new_score": 66.67}
"""Chi bộ thôn 3 moved on 5 December to the ward, its third quarter Poor at 66.67 (September alone, no thematic
meeting: tests/evaluation/test_late_unit_move_periods.py)."""
QUARTER_NOTE = (
    "Chuyển sang Đảng ủy phường An Phú (trước thuộc Đảng ủy xã Hòa Bình), ghi nhận ngày 05/12/2026: kết quả quý"
    " III/2026 là 66,7 (Kém), nay tính cho Đảng ủy phường An Phú."
)
HALF_MOVED = MOVED | {"old_rating": None, "old_score": None, "new_rating": None, "new_score": None}
"""The same move on the second half-year's roll-up: a half-year has no rating of its own, so no figures."""
HALF_NOTE = (
    "Chuyển sang Đảng ủy phường An Phú (trước thuộc Đảng ủy xã Hòa Bình), ghi nhận ngày 05/12/2026. Số liệu 6 tháng"
    " cuối năm 2026 của chi bộ nay tính cho Đảng ủy phường An Phú."
)
TITLE = "Chi bộ chuyển sang cấp ủy khác: số liệu đã được tính lại"


def test_a_quarter_says_the_move_and_the_quarters_own_result() -> None:
    assert late_change_note("2026-Q3", QUARTER_MOVED) == QUARTER_NOTE


def test_a_period_without_figures_says_the_move_then_where_its_figures_count_now() -> None:
    """Before, a note without figures read "kết quả 6 tháng cuối năm 2026 là — (—)"."""
    assert late_change_note("2026-H2", HALF_MOVED) == HALF_NOTE
    unplaced = UNPLACED | {"new_rating": None, "new_score": None}
    assert late_change_note("2026", unplaced) == (
        "Chuyển ra, không còn trực thuộc cấp ủy nào (trước thuộc Đảng ủy xã Hòa Bình), ghi nhận ngày 05/12/2026."
        " Số liệu năm 2026 của chi bộ không còn tính cho Đảng ủy xã Hòa Bình."
    )


def test_the_heading_over_the_notes_says_what_a_longer_period_lists() -> None:
    title = i18n.late_changes_title  # looked up here: the function is h512's
    assert title("2026-11") == "Kết quả thay đổi sau khi tháng đã kết thúc"
    for period in ("2026-Q3", "2026-H2", "2026"):
        assert title(period) == TITLE


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())


def test_the_csv_line_and_both_pdfs_say_the_quarters_note_alike() -> None:
    row: dict[str, Any] = {
        "cell_id": "thon-3",
        "name": "Chi bộ thôn 3",
        "period": "2026-Q3",
        "score": 66.67,
        "rating": "poor",
        "regular_held": 1,
        "thematic_held": 0,
        "attendance_rate": 1.0,
        "speaking_rate": 0.6667,
        "late_change": QUARTER_MOVED,
    }
    assert report_line(row, report_period("2026-Q3"))[-2] == QUARTER_NOTE
    rollup: dict[str, Any] = {
        "cells": 2,
        "score": 66.67,
        "by_rating": {"poor": 2},
        "not_met_yet": None,
        "late_changes": [{"cell_id": "thon-3", "name": "Chi bộ thôn 3", "late_change": QUARTER_MOVED}],
        "late_changes_total": 1,
    }
    full = pdf_text(report_document({"name": "Đảng ủy phường An Phú"}, "2026-Q3", {"rollup": rollup, "rows": [row]}))
    summary = pdf_text(
        report_document(
            {"name": "Đảng ủy phường An Phú"},
            "2026-Q3",
            {"rollup": rollup | {"cells": 2000}, "sub_units": [], "weakest": []},
        )
    )
    for text in (full, summary):
        assert TITLE in text
        assert f"Chi bộ thôn 3 — {QUARTER_NOTE}" in text
