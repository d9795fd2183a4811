"""The summary PDF of a large committee whose directly subordinate units are cells (a commune of 700): no table of
one row per cell (it was 20 pages where the summary is to be ~2), but its figures, its weakest cells and the count of
cells said, every cell's figures left to the CSV; committees beside a few cells are tabled, the cells counted."""

import io
from typing import Any

from pypdf import PdfReader

from services.gateway.web.exports import PDF_LATE_CHANGES, PDF_WEAKEST, report_document
from shared.envelope import now
from shared.periods import month_of, previous_period

PERIOD = previous_period(month_of(now()))


def words(content: bytes) -> tuple[int, str]:
    """The PDF's page count and its text, every run of white space one space."""
    pages = PdfReader(io.BytesIO(content)).pages
    return len(pages), " ".join(" ".join(page.extract_text() or "" for page in pages).split())


def cell(index: int) -> dict[str, Any]:
    """Cell `index` as evaluation reports it: every tenth one Poor (`Chi bộ thôn Đồng Tâm 10`), the rest Good (`Chi
    bộ khu phố Tân Lập 11`)."""
    weak = index % 10 == 0
    return {
        "cell_id": f"thon-{index:03d}",
        "name": f"Chi bộ thôn Đồng Tâm {index}" if weak else f"Chi bộ khu phố Tân Lập {index}",
        "score": 40.0 if weak else 92.5,
        "rating": "poor" if weak else "good",
        "regular_held": 1,
        "thematic_held": 0,
        "attendance_rate": 0.9,
        "speaking_rate": 0.5,
    }


def sub_unit(unit_id: str, name: str, kind: str, cells: int, score: float) -> dict[str, Any]:
    """A directly subordinate committee with its roll-up, as exports.sub_units gives it."""
    by_rating = {"good": cells} if score >= 90 else {"poor": cells}
    return {
        "unit": {"id": unit_id, "name": name, "kind": kind, "parent_id": "xa"},
        "rollup": {"cells": cells, "score": score, "by_rating": by_rating},
    }


def summary(sub_units: list[dict[str, Any]], direct_cells: int, cells: list[dict[str, Any]]) -> tuple[int, str]:
    """report_document of a commune above FULL_LIST_CELLS with these committees and this many cells directly under
    it and these cells in its subtree."""
    weakest = [row for row in cells if row["rating"] == "poor"][:PDF_WEAKEST]
    rollup = {"cells": len(cells), "score": 87.25, "by_rating": {"good": 630, "poor": 70}}
    unit = {"id": "xa", "name": "Đảng ủy xã Hòa Bình"}
    data = {"rollup": rollup, "sub_units": sub_units, "direct_cells": direct_cells, "weakest": weakest}
    return words(report_document(unit, PERIOD, data))


def test_a_commune_of_700_cells_gets_a_short_summary_without_a_row_per_cell() -> None:
    """700 cells directly under the commune: a few pages, no by-unit table, no Good cell named, the 50 weakest."""
    cells = [cell(index) for index in range(700)]
    pages, text = summary([], 700, cells)
    assert pages <= 3, f"{pages} pages"
    assert "Theo đơn vị trực thuộc" not in text
    assert "Tân Lập" not in text  # Good: not weak, no row
    assert "Các chi bộ yếu nhất" in text and "Chi bộ thôn Đồng Tâm 490" in text  # the 50th Poor cell
    assert "Đảng bộ có 700 chi bộ trực thuộc" in text and "có đầy đủ trong tệp CSV của báo cáo" in text


def test_committees_beside_cells_are_tabled_and_the_cells_counted() -> None:
    """Three committees and 40 cells directly under the commune: the table has the committees, the cells are counted
    under it, none of them a row."""
    cells = [cell(index) for index in range(700)]
    units = [sub_unit(f"dv{index}", f"Đảng ủy cơ sở {index}", "committee", 220, 88.0) for index in range(3)]
    pages, text = summary(units, 40, cells)
    assert pages <= 3, f"{pages} pages"
    assert "Theo đơn vị trực thuộc" in text and all(f"Đảng ủy cơ sở {index}" in text for index in range(3))
    table = text[text.index("Theo đơn vị trực thuộc") : text.index("Các chi bộ yếu nhất")]
    assert "Chi bộ thôn" not in table and "Tân Lập" not in text, table  # no cell a row, weak or not
    assert "Bảng không liệt kê 40 chi bộ trực thuộc trực tiếp đảng bộ" in text


def test_a_provinces_counts_read_with_a_thousands_dot_as_its_notes_say_them() -> None:
    """The figures under the title and the by-unit table write a count as the notes beside them do (shared.numbers):
    a province's 4500 cells read `4500` in its figures and `4.500` in the note under them."""
    units = [sub_unit(f"dv{index}", f"Đảng ủy huyện {index}", "committee", 2_250, 92.0) for index in range(2)]
    running = month_of(now())  # not_met_yet: a roll-up of the running month as shown (rollups.rollup_shown)
    rollup = {"period": running, "cells": 4_500, "score": 91.5, "by_rating": {"good": 4_500}, "not_met_yet": 1_234}
    unit = {"id": "tinh", "name": "Tỉnh ủy"}
    data = {"rollup": rollup, "sub_units": units, "direct_cells": 0, "weakest": []}
    _, text = words(report_document(unit, running, data))
    assert "Đảng bộ có 4.500 chi bộ" in text  # the note, formatted before
    figures = text[: text.index("Đảng bộ có 4.500 chi bộ")]
    assert "4500" not in figures and "1234" not in figures, figures
    assert "3.266/4.500" in figures, figures  # the running month's regularity base (i18n.met_base)
    assert "4.500" in figures and "1.234" in figures, figures
    table = text[text.index("Theo đơn vị trực thuộc") :]
    assert "Đảng ủy huyện 0 2.250 92 2.250" in table, table


def late_change(index: int) -> dict[str, Any]:
    """A cell of the roll-up's `late_changes` whose closed month went up from 70 (Trung bình) to 85 (Khá)."""
    change = {"kind": "rescored", "changed_at": "2026-12-04T03:00:00Z", "old_score": 70.0, "old_rating": "average"}
    return {
        "cell_id": f"muon-{index:03d}",
        "name": f"Chi bộ ghi nhận muộn {index}",
        "late_change": change | {"new_score": 85.0, "new_rating": "fair"},
    }


def test_a_summary_lists_at_most_so_many_late_changes_and_counts_the_rest() -> None:
    """670 cells whose month changed after it closed (a 1,000-event batch): the summary PDF lists the first
    PDF_LATE_CHANGES of them, as the roll-up orders them, then says how many more there are and that the CSV has them
    all, where it listed every one on 27 pages."""
    changes = [late_change(index) for index in range(670)]
    rollup = {"cells": 4_500, "score": 91.5, "by_rating": {"good": 4_500}}
    rollup |= {"late_changes": changes, "late_changes_total": len(changes)}
    unit = {"id": "tinh", "name": "Tỉnh ủy"}
    data = {"rollup": rollup, "sub_units": [], "direct_cells": 0, "weakest": []}
    pages, text = words(report_document(unit, PERIOD, data))
    listed = text.count("Chi bộ ghi nhận muộn ")
    assert listed == PDF_LATE_CHANGES, listed
    assert f"Chi bộ ghi nhận muộn {PDF_LATE_CHANGES - 1} " in text and f"muộn {PDF_LATE_CHANGES} " not in text
    more = 670 - PDF_LATE_CHANGES
    assert f"và {more} chi bộ khác" in text and "danh sách đầy đủ có trong tệp CSV của báo cáo" in text, text[-400:]
    assert pages <= 4, f"{pages} pages"
