"""How a closed month changed by a meeting recorded late reads on the pages and in the report's CSV (h231): the trial's
officer saw November's score and rating move after the month closed, unsaid."""

import csv
import io
from typing import Any

from pypdf import PdfReader

from services.gateway.web.exports import report_csv, report_document
from services.gateway.web.i18n import late_change_badge, late_change_note


def late(old: float, new: float, *, old_rating: str = "fair", new_rating: str = "good", changes: int = 1) -> dict:
    return {
        "meeting_id": "cb-11b",
        "old_rating": old_rating,
        "old_score": old,
        "new_rating": new_rating,
        "new_score": new,
        "changed_at": "2026-12-04T02:00:00+00:00",
        "first_changed_at": "2026-12-04T02:00:00+00:00",
        "changes": changes,
    }


def test_a_late_change_says_the_month_the_day_and_the_figures_before_and_after() -> None:
    assert late_change_note("2026-11", late(85, 92)) == (
        "Ghi nhận muộn: kết quả tháng 11/2026 thay đổi ngày 04/12/2026, từ 85 (Khá) lên 92 (Tốt)."
    )
    down = late(92.5, 85.26, old_rating="good", new_rating="fair", changes=2)
    assert late_change_note("2026-11", down) == (
        "Ghi nhận muộn: kết quả tháng 11/2026 thay đổi ngày 04/12/2026, từ 92,5 (Tốt) xuống 85,3 (Khá)."
        " (2 lần ghi nhận muộn)"
    )
    assert late_change_note("2026-11", late(92, 92, old_rating="good", new_rating="fair")).endswith(
        "từ 92 (Tốt) thành 92 (Khá)."
    )
    assert "trở lại 85 (Khá)" in late_change_note("2026-11", late(85, 85, new_rating="fair", changes=2))
    assert late_change_note("2026-11", None) == ""


def row(cell_id: str, late_change: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "cell_id": cell_id,
        "name": f"Chi bộ {cell_id}",
        "period": "2026-11",
        "rating": "good",
        "score": 92.0,
        "regular_held": 2,
        "thematic_held": 0,
        "attendance_rate": 1.0,
        "speaking_rate": 0.5,
        "flags": [],
        "late_change": late_change,
    }


def test_the_report_csv_says_which_months_changed_after_they_closed() -> None:
    content = report_csv([row("k1", late(85, 92)), row("k2", None)], period="2026-11")
    header, *rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert header[-2:] == ["Ghi nhận muộn", "Lý do xếp loại"]
    assert rows[0][-2] == "Ghi nhận muộn: kết quả tháng 11/2026 thay đổi ngày 04/12/2026, từ 85 (Khá) lên 92 (Tốt)."
    assert rows[1][-1] == ""
    assert all(len(line) == len(header) for line in rows)


def test_the_report_pdf_lists_the_months_changed_after_they_closed_under_its_table() -> None:
    rollup: dict[str, Any] = {"cells": 2, "score": 92.0, "by_rating": {"good": 2}, "not_met_yet": None}
    rows = [row("k1", late(85, 92)), row("k2", None)]
    content = report_document({"name": "Đảng ủy phường 9"}, "2026-11", {"rollup": rollup, "rows": rows})
    text = " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())
    assert "Kết quả thay đổi sau khi tháng đã kết thúc" in text
    assert (
        "Chi bộ k1 — Ghi nhận muộn: kết quả tháng 11/2026 thay đổi ngày 04/12/2026, từ 85 (Khá) lên 92 (Tốt)." in text
    )
    assert "Chi bộ k2 —" not in text


def test_the_summary_pdf_of_a_large_committee_lists_its_late_changes_as_its_page_does() -> None:
    """A committee above FULL_LIST_CELLS cells gets the summary PDF (units and weakest cells, no line per cell): it
    lists the roll-up's late changes (GetCommitteeRollup.late_changes, as the committee's page does) in the report's
    words, and how many more there are beyond those shown."""
    rollup: dict[str, Any] = {
        "cells": 2000,
        "score": 80.0,
        "by_rating": {"good": 1500, "fair": 500},
        "not_met_yet": None,
        "late_changes": [{"cell_id": "k1", "name": "Chi bộ k1", "late_change": late(85, 92)}],
        "late_changes_total": 3,
    }
    data = {"rollup": rollup, "sub_units": [], "weakest": []}
    content = report_document({"name": "Tỉnh ủy"}, "2026-11", data)
    text = " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())
    assert "Kết quả thay đổi sau khi tháng đã kết thúc" in text
    assert (
        "Chi bộ k1 — Ghi nhận muộn: kết quả tháng 11/2026 thay đổi ngày 04/12/2026, từ 85 (Khá) lên 92 (Tốt)." in text
    )
    assert "và 2 chi bộ khác" in text
    quiet = report_document({"name": "Tỉnh ủy"}, "2026-11", data | {"rollup": rollup | {"late_changes": []}})
    quiet_text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(quiet)).pages)
    assert "Kết quả thay đổi sau khi tháng đã kết thúc" not in " ".join(quiet_text.split())


ADDED = {
    "kind": "unit_added",
    "meeting_id": None,
    "old_rating": None,
    "old_score": None,
    "new_rating": "poor",
    "new_score": 0.0,
    "changed_at": "2026-12-05T03:00:00+00:00",
    "first_changed_at": "2026-12-05T03:00:00+00:00",
    "changes": 1,
}
"""A cell set up on 5 December whose `time` is 1 November (trial 33): counted in the finished November from then on."""
ADDED_NOTE = "Được bổ sung ngày 05/12/2026, tính từ tháng 11/2026; kết quả tháng 11/2026 là 0 (Kém)."
"""What the pages, the report and the PDF say of ADDED in November 2026."""


def test_a_cell_set_up_late_says_the_day_it_was_added_and_the_month_it_counts_from() -> None:
    assert late_change_note("2026-11", ADDED) == ADDED_NOTE


def test_the_summary_pdf_lists_a_cell_set_up_late_among_the_late_changes() -> None:
    rollup: dict[str, Any] = {
        "cells": 2000,
        "score": 57.3,
        "by_rating": {"good": 1500, "poor": 500},
        "not_met_yet": None,
        "late_changes": [{"cell_id": "k4", "name": "Chi bộ thôn 4", "late_change": ADDED}],
        "late_changes_total": 1,
    }
    content = report_document(
        {"name": "Đảng ủy xã Hòa Bình"}, "2026-11", {"rollup": rollup, "sub_units": [], "weakest": []}
    )
    text = " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())
    assert "Chi bộ thôn 4 — Được bổ sung ngày 05/12/2026, tính từ tháng 11/2026" in text


def test_a_cell_closed_late_says_the_month_no_longer_counts_it_and_where_it_stood() -> None:
    closed = ADDED | {
        "kind": "unit_closed",
        "old_rating": "poor",
        "old_score": 0.0,
        "new_rating": None,
        "new_score": None,
    }
    assert late_change_note("2026-11", closed) == (
        "Ngừng hoạt động, ghi nhận ngày 05/12/2026: không còn tính trong tháng 11/2026, trước đó là 0 (Kém)."
    )
    bare = closed | {"old_rating": None, "old_score": None}
    assert late_change_note("2026-11", bare) == (
        "Ngừng hoạt động, ghi nhận ngày 05/12/2026: không còn tính trong tháng 11/2026."
    )


def test_a_month_an_existing_cell_first_counts_in_by_a_meeting_recorded_late_reads_as_a_result_not_a_cell_added() -> (
    None
):
    """h346: a late meeting that moved an existing cell's start earlier (kind "result", no figures before) was worded
    "Được bổ sung" (added), as a cell set up late; the cell existed, its month's result was recorded late."""
    first = late(0, 85) | {"old_rating": None, "old_score": None, "new_rating": "fair", "kind": "result"}
    assert late_change_note("2026-10", first) == (
        "Ghi nhận muộn: buổi sinh hoạt tháng 10/2026 được ghi nhận ngày 04/12/2026; kết quả tháng 10/2026 là 85 (Khá)."
    )
    added = first | {"kind": "unit_added"}
    assert late_change_note("2026-10", added).startswith("Được bổ sung ngày 04/12/2026, tính từ tháng 10/2026;")


WITHDRAWN = {
    "kind": "withdrawn",
    "meeting_id": "cb-11a",
    "meeting_starts_at": "2026-11-05T01:00:00+00:00",
    "meeting_cancelled": True,
    "old_rating": "good",
    "old_score": 92.0,
    "new_rating": "poor",
    "new_score": 0.0,
    "changed_at": "2026-12-04T02:00:00+00:00",
    "first_changed_at": "2026-12-04T02:00:00+00:00",
    "changes": 1,
}
"""November's only held meeting (5 November) cancelled on 4 December: the month went Tốt→Kém (a new user's trial)."""
RESCORED = {
    "kind": "rescored",
    "meeting_id": "cb-10a",
    "framework_id": "hd42-2026",
    "framework_version": "2",
    "framework_name": "Hướng dẫn 42-HD/BTCTW",
    "old_rating": "good",
    "old_score": 92.0,
    "new_rating": "fair",
    "new_score": 92.0,
    "changed_at": "2026-12-05T03:00:00+00:00",
    "first_changed_at": "2026-12-05T03:00:00+00:00",
    "changes": 1,
}
"""October re-scored by an operator on 5 December under a newly adopted framework: Tốt→Khá."""


def test_a_withdrawn_meeting_says_which_meeting_was_cancelled_or_not_held_and_when() -> None:
    assert late_change_note("2026-11", WITHDRAWN) == (
        "Ghi nhận muộn: buổi sinh hoạt ngày 05/11/2026 đã hủy, ghi nhận ngày 04/12/2026; kết quả tháng 11/2026 từ 92"
        " (Tốt) xuống 0 (Kém)."
    )
    assert late_change_note("2026-11", WITHDRAWN | {"meeting_cancelled": False}) == (
        "Ghi nhận muộn: buổi sinh hoạt ngày 05/11/2026 không diễn ra, ghi nhận ngày 04/12/2026; kết quả tháng 11/2026"
        " từ 92 (Tốt) xuống 0 (Kém)."
    )


def test_a_rescore_says_the_framework_and_the_day_not_a_late_record() -> None:
    assert late_change_note("2026-10", RESCORED) == (
        "Chấm lại theo bộ tiêu chí Hướng dẫn 42-HD/BTCTW, phiên bản 2 ngày 05/12/2026: kết quả tháng 10/2026 từ 92"
        " (Tốt) thành 92 (Khá)."
    )


def test_the_report_csv_says_a_withdrawal_a_rescore_and_why_a_month_is_below_its_band() -> None:
    rescored = row("k1", RESCORED) | {
        "period": "2026-10",
        "rating": "fair",
        "rating_reason": {"code": "meeting_rating", "band": "good"},
    }
    withdrawn = row("k2", WITHDRAWN) | {"rating": "poor", "score": 0.0}
    content = report_csv([rescored, withdrawn], period="2026-11")
    header, *rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][-2].startswith("Chấm lại theo bộ tiêu chí Hướng dẫn 42-HD/BTCTW, phiên bản 2 ngày 05/12/2026")
    assert rows[0][-1] == (
        "Khá dù điểm đạt mức Tốt: tháng lấy xếp loại của buổi sinh hoạt, bị hạ loại vì có tiêu chí bắt buộc chưa đạt"
        " điểm tối đa"
    )
    assert rows[1][-2].startswith("Ghi nhận muộn: buổi sinh hoạt ngày 05/11/2026 đã hủy")
    assert rows[1][-1] == ""


def test_the_report_pdf_lists_a_withdrawal_and_a_rescore_under_its_table() -> None:
    rollup: dict[str, Any] = {"cells": 2, "score": 46.0, "by_rating": {"fair": 1, "poor": 1}, "not_met_yet": None}
    rows = [row("k1", RESCORED), row("k2", WITHDRAWN)]
    content = report_document({"name": "Đảng ủy phường 9"}, "2026-11", {"rollup": rollup, "rows": rows})
    text = " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())
    assert "Chi bộ k1 — Chấm lại theo bộ tiêu chí" in text
    assert "Chi bộ k2 — Ghi nhận muộn: buổi sinh hoạt ngày 05/11/2026 đã hủy" in text


def test_a_rescored_month_is_badged_as_rescored_not_as_recorded_late() -> None:
    assert late_change_badge(RESCORED) == "chấm lại"
    assert late_change_badge(WITHDRAWN) == "ghi nhận muộn"


def test_a_late_change_says_up_down_or_to_by_the_figures_the_page_shows() -> None:
    """The note's direction reads the scores as the page shows them (one decimal, halves up): a band crossed with
    the shown score unchanged reads `thành` (`từ 80 (Khá) lên 80 (Tốt)` said a rise nobody could see), a month back
    at its shown score after a change in between reads `trở lại`, and a change of 77,0 to 77,1 reads `lên`."""
    assert late_change_note("2026-11", late(79.96, 80.01)).endswith("từ 80 (Khá) thành 80 (Tốt).")
    assert late_change_note("2026-11", late(77.049, 77.051, new_rating="fair")).endswith("từ 77 (Khá) lên 77,1 (Khá).")
    back = late(85.01, 84.98, new_rating="fair", changes=2)
    assert late_change_note("2026-11", back).startswith(
        "Ghi nhận muộn: kết quả tháng 11/2026 thay đổi sau khi tháng đã kết thúc, đến ngày 04/12/2026 trở lại 85 (Khá)."
    )
    withdrawn = {**late(79.96, 80.01), "kind": "withdrawn", "meeting_cancelled": True, "meeting_starts_at": None}
    assert late_change_note("2026-11", withdrawn).endswith("kết quả tháng 11/2026 từ 80 (Khá) thành 80 (Tốt).")
    rescored = {**late(80.01, 79.96, old_rating="good", new_rating="fair"), "kind": "rescored", "framework_id": "hd42"}
    assert late_change_note("2026-11", rescored).endswith("kết quả tháng 11/2026 từ 80 (Tốt) thành 80 (Khá).")
