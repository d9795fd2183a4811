"""A cell's provisional rating (a meeting's manual items not assessed yet) reads "(tạm tính)" wherever a page shows
it: the committee's table of its units, its weakest-cells list, the CSV's rating, the cell page's quarters and the
quarter ratings a half-year shows (no rating of its own) on the cell page, the committee page, the report's CSV and
the evidence page. A trial's committee page showed "Chi bộ thôn 1 63,3 Trung bình" in the table while the
weakest-cells list, the CSV and the cell page marked the same rating, and the half-year lines read "Quý IV/2026: Khá"
of a provisional quarter: evaluation's half-year reads now say which quarter is provisional (`quarter_provisional`).

Rendered from the pages' own helpers and templates, without a running system."""

import csv
import io
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.auth import Role
from services.gateway.http import reads
from services.gateway.web import data
from services.gateway.web.core import environment
from services.gateway.web.exports import evidence, report_csv, row_rating
from tests.web.test_committee_page import committee_page, rollup, weakest_section

CELL = {"id": "thon-1", "name": "Chi bộ thôn 1", "kind": "cell"}
LINE = {"cell_id": "thon-1", "name": "Chi bộ thôn 1", "score": 63.3, "rating": "average", "provisional": True}
QUARTERS = {"2026-Q3": "good", "2026-Q4": "fair"}
MARKS = {"2026-Q3": False, "2026-Q4": True}
"""The fourth quarter's rating provisional, the third's final, as evaluation's half-year reads say it."""
SHOWN = "Quý III/2026: Tốt; Quý IV/2026: Khá (tạm tính)"
HALF_LINE = {
    "cell_id": "thon-1",
    "name": "Chi bộ thôn 1",
    "score": 83.5,
    "rating": None,
    "regular_held": 5,
    "meetings_held": 7,
    "provisional": False,
    "quarter_ratings": QUARTERS,
    "quarter_provisional": MARKS,
}
"""Evaluation's ranking line of the cell for 2026-H2 (CellRankReply of a half-year)."""


def quarter_rows(page: str) -> dict[str, str]:
    """Each row of the cell page's quarters-and-year table (its half-years' too), by its heading."""
    table = page[page.index("<tbody>", page.index('id="quarters"')) :]
    table = table[: table.index("</tbody>")]
    rows = {}
    for row in table.split("<tr")[1:]:
        heading = row[row.index('scope="row">') + len('scope="row">') : row.index("</th>")]
        rows[heading] = row
    return rows


def viewer() -> SimpleNamespace:
    return SimpleNamespace(role=Role.COMMITTEE_OFFICER, account=SimpleNamespace(sub="can-bo"), csrf="t", principal=None)


def test_the_committee_table_marks_a_provisional_rating_as_its_weakest_cells_list_and_csv_do() -> None:
    units = [{"id": "thon-1", "name": "Chi bộ thôn 1", "kind": "cell", "parent_id": "xa-hoa-binh"}]
    found = rollup({"average": 1}, [LINE])
    children = data.subordinates(
        units, rollup=found, ranking={"items": [LINE], "total": 1}, sub_rollups={}, period="2026-11"
    )
    page = committee_page(found, children=children)
    table = page[page.index('id="children"') :]
    table = table[: table.index("</table>")]
    assert "Trung bình (tạm tính)" in table
    assert "Trung bình (tạm tính)" in weakest_section(page)
    assert row_rating({**LINE, "flags": ["provisional"]}) == "Trung bình (tạm tính)"


@pytest.fixture
def reads_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """November rated Trung bình and the fourth quarter Khá, both provisional; the third quarter Tốt, final."""
    figures = {"regular_held": 1, "thematic_held": 1, "attendance_rate": 0.9, "speaking_rate": 0.5}
    items = [
        {"period": "2026-11", "rating": "average", "score": 63.3, "flags": ["provisional"], **figures},
        {"period": "2026-Q3", "rating": "good", "score": 92.0, "flags": [], **figures},
        {"period": "2026-Q4", "rating": "fair", "score": 75.0, "flags": ["in_progress", "provisional"], **figures},
    ]
    half_year = {
        "period": "2026-H2",
        "rating": None,
        "score": 83.5,
        "flags": ["in_progress", "provisional"],
        "not_rated": False,
        "months_counted": 5,
        "months_gone": 5,
        "quarter_ratings": QUARTERS,
        "quarter_provisional": MARKS,
        **figures,
    }

    async def list_cell_ratings(*_: Any, **__: Any) -> dict[str, Any]:
        return {"items": items, "total": len(items), "limit": 200, "offset": 0}

    async def list_cell_meetings(*_: Any, **__: Any) -> dict[str, Any]:
        return {"items": [], "total": 0, "limit": 200, "offset": 0}

    async def cell_half_year(_: Any, __: Any, half: str) -> dict[str, Any] | None:
        return half_year if half == "2026-H2" else None

    monkeypatch.setattr(reads, "list_cell_ratings", list_cell_ratings)
    monkeypatch.setattr(reads, "list_cell_meetings", list_cell_meetings)
    monkeypatch.setattr(reads, "cell_half_year", cell_half_year)


async def test_the_cell_page_marks_a_provisional_month_quarter_and_half_year_quarter(reads_answer: None) -> None:
    found = await data.cell_year(SimpleNamespace(directory=None), SimpleNamespace(), CELL["id"], "2026")  # type: ignore[arg-type]
    page = (
        environment()
        .get_template("cell.html")
        .render(viewer=viewer(), unit=CELL, year="2026", years=["2026"], crumbs=[], scores_unavailable=False, **found)
    )
    strip = page[page.index('id="rating-strip"') :]
    assert '<span class="r">Trung bình (tạm tính)</span>' in strip[: strip.index("</ol>")]
    rows = quarter_rows(page)
    assert "Khá (tạm tính)" in rows["Quý IV/2026"]
    assert "Tốt (tạm tính)" not in rows["Quý III/2026"]
    assert f"{SHOWN}</span>" in rows["6 tháng cuối năm 2026"]


def test_the_committee_pages_half_year_line_marks_its_provisional_quarter() -> None:
    units = [{"id": "thon-1", "name": "Chi bộ thôn 1", "kind": "cell", "parent_id": "xa-hoa-binh"}]
    counts = {"good": 0, "fair": 0, "average": 0, "poor": 0}
    found = rollup({}, []) | {
        "period": "2026-H2",
        "cells": 1,
        "by_rating": None,
        "quarters": [
            {"period": "2026-Q3", "by_rating": counts | {"good": 1}, "not_rated": 0},
            {"period": "2026-Q4", "by_rating": counts | {"fair": 1}, "not_rated": 0},
        ],
    }
    children = data.subordinates(
        units, rollup=found, ranking={"items": [HALF_LINE], "total": 1}, sub_rollups={}, period="2026-H2"
    )
    page = committee_page(found, children=children)
    table = page[page.index('id="children"') :]
    table = table[: table.index("</table>")]
    assert f"<span data-quarter-ratings>{SHOWN}</span>" in table


def test_the_half_year_reports_csv_marks_its_provisional_quarter() -> None:
    row = {
        **{key: HALF_LINE[key] for key in ("cell_id", "name", "score", "rating", "quarter_ratings")},
        "period": "2026-H2",
        "parent_id": "xa-hoa-binh",
        "regular_held": 5,
        "thematic_held": 2,
        "attendance_rate": 0.9,
        "speaking_rate": 0.5,
        "flags": ["in_progress", "provisional"],
        "not_rated": False,
        "quarter_provisional": MARKS,
        "late_change": None,
        "rating_reason": None,
    }
    lines = list(csv.reader(io.StringIO(report_csv([row], period="2026-H2").decode("utf-8-sig")), delimiter=";"))
    assert lines[1][3] == SHOWN
    assert row_rating(row) == SHOWN


async def test_the_half_year_evidence_page_marks_its_provisional_quarter(reads_answer: None) -> None:
    member = SimpleNamespace(role=Role.MEMBER, unit_id="cb-khac")  # of another cell: no member list read here
    found = await evidence(SimpleNamespace(), member, CELL["id"], "2026-H2")  # type: ignore[arg-type]
    page = (
        environment()
        .get_template("evidence.html")
        .render(viewer=viewer(), unit=CELL, year="2026", period="2026-H2", crumbs=[], choices=[], **found)
    )
    ratings = page[page.index('id="half-year-ratings">') :]
    assert f"<span data-quarter-ratings>{SHOWN}</span>" in ratings[: ratings.index("</dd>")]
