"""How a month of a cell moved to another committee after it closed reads (h351): the commune it left and the one it
joined each see their finished month change, said on the page, in the report's CSV and in the summary PDF."""

import io
from typing import Any

from pypdf import PdfReader

from services.gateway.web.exports import report_document
from services.gateway.web.i18n import late_change_note

MOVED = {
    "kind": "unit_moved",
    "meeting_id": None,
    "old_rating": "fair",
    "old_score": 76.4,
    "new_rating": "fair",
    "new_score": 76.4,
    "changed_at": "2026-12-05T03:00:00+00:00",
    "first_changed_at": "2026-12-05T03:00:00+00:00",
    "changes": 1,
    "moved_from_id": "xa-hoa-binh",
    "moved_from_name": "Đảng ủy xã Hòa Bình",
    "moved_to_id": "phuong-an-phu",
    "moved_to_name": "Đảng ủy phường An Phú",
}
"""Chi bộ thôn 3 moved on 5 December from the commune to the ward with `time` in the finished November."""
MOVED_NOTE = (
    "Chuyển sang Đảng ủy phường An Phú (trước thuộc Đảng ủy xã Hòa Bình), ghi nhận ngày 05/12/2026: kết quả tháng"
    " 11/2026 là 76,4 (Khá), nay tính cho Đảng ủy phường An Phú."
)


def test_a_cell_moved_late_says_where_to_from_where_when_and_the_month_it_took_along() -> None:
    assert late_change_note("2026-11", MOVED) == MOVED_NOTE


def test_a_move_to_a_committee_whose_name_is_not_known_names_it_by_id_or_says_another_committee() -> None:
    unnamed = MOVED | {"moved_to_name": None, "moved_from_name": None, "moved_from_id": ""}
    assert late_change_note("2026-11", unnamed).startswith(
        "Chuyển sang phuong-an-phu (trước thuộc một cấp ủy khác), ghi nhận ngày 05/12/2026"
    )


PLACED = MOVED | {"moved_from_id": None, "moved_from_name": None}
"""Đảng ủy xã Hòa Bình, a root (no parent), put under the ward's tree on 5 December: its cell had no committee above."""
PLACED_NOTE = (
    "Đưa vào Đảng ủy phường An Phú (trước đó không trực thuộc cấp ủy nào), ghi nhận ngày 05/12/2026: kết quả tháng"
    " 11/2026 là 76,4 (Khá), nay tính cho Đảng ủy phường An Phú."
)


def test_a_root_put_under_a_committee_says_it_was_under_none_before() -> None:
    """evaluation's `moved_from_id` None: the unit was a root, not under a committee whose name is unknown."""
    assert late_change_note("2026-11", PLACED) == PLACED_NOTE


def test_the_summary_pdf_lists_a_cell_moved_late_among_the_late_changes() -> None:
    rollup: dict[str, Any] = {
        "cells": 2000,
        "score": 70.1,
        "by_rating": {"good": 1500, "poor": 500},
        "not_met_yet": None,
        "late_changes": [{"cell_id": "thon-3", "name": "Chi bộ thôn 3", "late_change": MOVED}],
        "late_changes_total": 1,
    }
    content = report_document(
        {"name": "Đảng ủy xã Hòa Bình"}, "2026-11", {"rollup": rollup, "sub_units": [], "weakest": []}
    )
    text = " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())
    assert "Chi bộ thôn 3 — Chuyển sang Đảng ủy phường An Phú (trước thuộc Đảng ủy xã Hòa Bình)" in text


UNPLACED = MOVED | {"moved_to_id": None, "moved_to_name": None}
"""Chi bộ thôn 3 made a root (no parent) on 5 December with `time` in the finished November: the commune lost it and no
committee took it (evaluation's `moved_to_id` None)."""
UNPLACED_NOTE = (
    "Chuyển ra, không còn trực thuộc cấp ủy nào (trước thuộc Đảng ủy xã Hòa Bình), ghi nhận ngày 05/12/2026: kết quả"
    " tháng 11/2026 là 76,4 (Khá), nay không còn tính cho Đảng ủy xã Hòa Bình."
)


def test_a_cell_made_a_root_says_it_no_longer_belongs_to_any_committee() -> None:
    """h374: the commune that lost it read "Chuyển sang một cấp ủy khác", as if another committee had taken it."""
    assert late_change_note("2026-11", UNPLACED) == UNPLACED_NOTE


TWO_UNITS_MOVED: dict[str, Any] = MOVED | {
    "moved_to_id": "huyen-tan-son",
    "moved_to_name": "Huyện ủy Tân Sơn",
    "changed_at": "2026-12-06T03:00:00+00:00",
    "changes": 2,
    "moves": [
        {
            "unit_id": "thon-3",
            "unit_name": "Chi bộ thôn 3",
            "moved_from_id": "xa-hoa-binh",
            "moved_from_name": "Đảng ủy xã Hòa Bình",
            "moved_to_id": "phuong-an-phu",
            "moved_to_name": "Đảng ủy phường An Phú",
            "changed_at": "2026-12-05T03:00:00+00:00",
        },
        {
            "unit_id": "phuong-an-phu",
            "unit_name": "Đảng ủy phường An Phú",
            "moved_from_id": "huyen-thanh-son",
            "moved_from_name": "Huyện ủy Thanh Sơn",
            "moved_to_id": "huyen-tan-son",
            "moved_to_name": "Huyện ủy Tân Sơn",
            "changed_at": "2026-12-06T03:00:00+00:00",
        },
    ],
}
"""Chi bộ thôn 3 moved to the ward on 5 December, then the ward itself moved to another district on 6 December, both
with `time` in the finished November (evaluation's `moves`: two units moved)."""


TWO_UNITS_MOVED_NOTE = (
    "Chuyển sang Đảng ủy phường An Phú (trước thuộc Đảng ủy xã Hòa Bình), ghi nhận ngày 05/12/2026."
    " Đảng ủy phường An Phú chuyển sang Huyện ủy Tân Sơn (trước thuộc Huyện ủy Thanh Sơn), ghi nhận ngày"
    " 06/12/2026. Kết quả tháng 11/2026 là 76,4 (Khá), nay tính cho Đảng ủy phường An Phú và Huyện ủy Tân Sơn."
)


def test_a_cell_moved_and_then_its_new_committee_moved_says_each_move_in_its_own_sentence() -> None:
    """The netted note read as one move of the cell "to Huyện ủy Tân Sơn, formerly under Đảng ủy xã Hòa Bình" in one
    run-on sentence: each move is its own sentence, naming the unit that moved, then the month's result."""
    assert late_change_note("2026-11", TWO_UNITS_MOVED) == TWO_UNITS_MOVED_NOTE
    # the cell's own moves only (A to B to C) still read as one move, from where it was shown to where it is
    own = TWO_UNITS_MOVED | {"moves": [TWO_UNITS_MOVED["moves"][0], TWO_UNITS_MOVED["moves"][0]]}
    assert late_change_note("2026-11", own).startswith("Chuyển sang Huyện ủy Tân Sơn (trước thuộc Đảng ủy xã Hòa Bình)")


def test_a_committee_made_a_root_and_put_under_another_says_so_by_name() -> None:
    """The cell moved to the ward, the ward then made a root (no committee above) and put under another district:
    three sentences, the ward named in its two."""
    own, ward = (dict(move) for move in TWO_UNITS_MOVED["moves"])
    out = ward | {"moved_to_id": None, "moved_to_name": None}
    placed = ward | {"moved_from_id": None, "moved_from_name": None, "changed_at": "2026-12-07T03:00:00+00:00"}
    assert late_change_note("2026-11", TWO_UNITS_MOVED | {"moves": [own, out, placed]}) == (
        "Chuyển sang Đảng ủy phường An Phú (trước thuộc Đảng ủy xã Hòa Bình), ghi nhận ngày 05/12/2026."
        " Đảng ủy phường An Phú chuyển ra, không còn trực thuộc cấp ủy nào (trước thuộc Huyện ủy Thanh Sơn), ghi nhận"
        " ngày 06/12/2026. Đảng ủy phường An Phú được đưa vào Huyện ủy Tân Sơn (trước đó không trực thuộc cấp ủy"
        " nào), ghi nhận ngày 07/12/2026. Kết quả tháng 11/2026 là 76,4 (Khá), nay tính cho Đảng ủy phường An Phú và"
        " Huyện ủy Tân Sơn."
    )
