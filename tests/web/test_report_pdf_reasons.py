"""The report's PDF says why a cell's period is rated below its score's band, as the cell's and committee's pages and
the CSV do (h243): it listed a quarter's "Kém" at 92 points with no word why. Worded by i18n.rating_reason alone."""

import io
from typing import Any

from pypdf import PdfReader

from services.gateway.web.exports import report_document
from services.gateway.web.i18n import rating_reason

PERIOD = "2026-Q3"
NO_THEMATIC = {"code": "no_thematic_meeting", "band": "good"}
BY_MONTHS = {
    "code": "month_ratings",
    "band": "fair",
    "missed": "fair",
    "condition": "all_at_least",
    "floor": "average",
    "months": ["2026-08"],
    "count": 1,
}
SAID_NO_THEMATIC = (
    "Kém dù điểm đạt mức Tốt: chưa sinh hoạt chuyên đề trong quý (mỗi quý phải sinh hoạt chuyên đề ít nhất một lần)"
)
SAID_BY_MONTHS = (
    "Trung bình dù điểm đạt mức Khá: quý chỉ được xếp loại Khá khi mọi tháng đều từ Trung bình trở lên, nhưng"
    " tháng 8/2026 chưa đạt (xếp loại theo từng tháng, không theo điểm trung bình)"
)


def row(cell_id: str, rating: str, reason: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "cell_id": cell_id,
        "name": f"Chi bộ {cell_id}",
        "period": PERIOD,
        "rating": rating,
        "score": 92.0,
        "regular_held": 3,
        "thematic_held": 0,
        "attendance_rate": 1.0,
        "speaking_rate": 0.5,
        "flags": [],
        "late_change": None,
        "rating_reason": reason,
    }


def text_of(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())


def test_the_report_pdf_gives_each_cells_rating_reason_under_its_table() -> None:
    rows = [row("k1", "poor", NO_THEMATIC), row("k2", "average", BY_MONTHS), row("k3", "good", None)]
    rollup: dict[str, Any] = {"cells": 3, "score": 92.0, "by_rating": {"good": 1, "average": 1, "poor": 1}}
    text = text_of(report_document({"name": "Đảng ủy phường 9"}, PERIOD, {"rollup": rollup, "rows": rows}))
    assert rating_reason(rows[0]) == SAID_NO_THEMATIC and rating_reason(rows[1]) == SAID_BY_MONTHS
    assert "Lý do xếp loại" in text
    assert f"Chi bộ k1 — {SAID_NO_THEMATIC}" in text, text
    assert f"Chi bộ k2 — {SAID_BY_MONTHS}" in text, text
    assert "Chi bộ k3 —" not in text
    plain = text_of(report_document({"name": "Đảng ủy phường 9"}, PERIOD, {"rollup": rollup, "rows": rows[2:]}))
    assert "Lý do xếp loại" not in plain


def test_the_summary_pdf_gives_its_weakest_cells_rating_reasons() -> None:
    """A committee above FULL_LIST_CELLS cells: its weakest cells' reasons, as the committee's page gives them."""
    rollup: dict[str, Any] = {"cells": 2000, "score": 80.0, "by_rating": {"good": 1998, "poor": 1, "average": 1}}
    weakest = [row("k1", "poor", NO_THEMATIC), row("k2", "average", BY_MONTHS)]
    data = {"rollup": rollup, "sub_units": [], "weakest": weakest}
    text = text_of(report_document({"name": "Tỉnh ủy"}, PERIOD, data))
    assert "Lý do xếp loại" in text
    assert f"Chi bộ k1 — {SAID_NO_THEMATIC}" in text, text
    assert f"Chi bộ k2 — {SAID_BY_MONTHS}" in text, text
