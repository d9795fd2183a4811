"""A new user as `can-bo-tinh` on the overview of Tháng 12/2026 while it runs, one of six cells met:

- "Tỷ lệ chi bộ sinh hoạt đều đặn hằng tháng 100%" beside five cells "chưa sinh hoạt thường kỳ": the rate was over
  the cells that had met. DOMAIN.md defines the regularity as the share of the committee's cells that met every month
  (and the thematic coverage as the share of its cells with a thematic meeting): over every cell, 1/6, with its base
  named while the month runs, on the page, the API's roll-up and the PDF.
- "Chi bộ thôn 1 — 38,3 Kém" unmarked though the score is provisional (manual criteria not scored yet), where the CSV
  says "Kém (tạm tính)": every rating a page shows is marked the same way (i18n.rating_label).

The roll-up and ranking are given as the gateway's read functions return them, then read through the pages' own
helpers and templates at a clock inside the month, without a running system."""

import io
from types import SimpleNamespace
from typing import Any

import pytest
from pypdf import PdfReader

from services.gateway.http import reads
from services.gateway.web import data
from services.gateway.web.core import environment
from services.gateway.web.exports import report_document, row_rating
from shared.rpc import RpcError
from tests.web.test_cell_not_rated import CELL, YEAR, viewer
from tests.web.test_running_month import PERIOD, RUNNING, WARD, between, committee_page

MET = {
    "cell_id": "thon-1",
    "name": "Chi bộ thôn 1",
    "score": 38.33,
    "rating": "poor",
    "regular_held": 1,
    "meetings_held": 1,
    "provisional": True,
}
"""The one cell that met, its meeting's manual items not scored yet (evaluation's ranking line)."""


def ranking() -> list[dict[str, Any]]:
    """Six cells of the province's commune: thon-1 met, the five others have not (Kém at 0 until the month closes)."""
    waiting = [
        {"cell_id": f"thon-{n}", "name": f"Chi bộ thôn {n}", "score": 0.0, "rating": "poor", "regular_held": 0}
        for n in range(2, 7)
    ]
    return [*waiting, MET]


def rollup() -> dict[str, Any]:
    """Evaluation's roll-up of the month: regularity and thematic coverage over the six cells."""
    return {
        "committee_id": WARD["id"],
        "period": PERIOD,
        "cells": 6,
        "by_rating": {"good": 0, "fair": 0, "average": 0, "poor": 6},
        "regularity": 1 / 6,
        "attendance_rate": 0.8,
        "speaking_rate": 0.5,
        "thematic_coverage": 1 / 6,
        "score": round(38.33 / 6, 2),
        "met_score": 38.33,
        "met_thematic_coverage": 1.0,
        "irregular": 5,
        "trend": {},
        "weakest": [MET],
        "in_progress": True,
    }


def children(shown: dict[str, Any]) -> list[dict[str, Any]]:
    """The cells as the committee page lists them (each ranking line through month_shown)."""
    return [
        {
            "id": item["cell_id"],
            "name": item["name"],
            "kind": "cell",
            **data.month_shown(item, period=PERIOD, now=RUNNING),
        }
        for item in ranking()
    ]


def test_the_running_months_rates_count_every_cell_and_name_their_base() -> None:
    shown = data.rollup_shown(rollup(), now=RUNNING)
    # the API's roll-up (rollup_shown is what it answers): over the six cells, as DOMAIN.md defines them
    assert shown["regularity"] == pytest.approx(1 / 6)
    assert shown["thematic_coverage"] == pytest.approx(1 / 6)
    page = committee_page(shown, children(shown))
    regularity = between(page, 'data-figure="regularity">', "</dd>")
    assert "16,7%" in regularity and "100%" not in regularity
    assert "1/6 chi bộ đã sinh hoạt thường kỳ (tháng đang diễn ra)" in regularity
    assert "16,7%" in between(page, 'data-figure="thematic_coverage">', "</dd>")
    notice = " ".join(between(page, 'id="in-progress"', "</p>").split())
    assert "chỉ tính các chi bộ đã sinh hoạt thường kỳ" in notice  # the average score's base, said
    assert "tỷ lệ chi bộ sinh hoạt đều đặn" in notice and "tính trên tất cả" in notice
    document = report_document(WARD, PERIOD, {"rollup": shown, "rows": []})
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(document)).pages)
    flat = " ".join(text.split())
    assert "Tỷ lệ chi bộ sinh hoạt đều đặn hằng tháng 16,7%" in flat and "hằng tháng 100%" not in flat
    assert "1/6 chi bộ đã sinh hoạt thường kỳ (tháng đang diễn ra)" in flat


def test_a_provisional_rating_is_marked_tam_tinh_on_the_committee_page_as_in_the_csv() -> None:
    shown = data.rollup_shown(rollup(), now=RUNNING)
    page = committee_page(shown, children(shown))
    weakest = between(page, 'data-cell="thon-1"', "</li>")
    assert "Kém (tạm tính)" in weakest
    assert "Kém (tạm tính)" in between(page, 'data-unit="thon-1"', "</tr>")
    assert row_rating({"rating": "poor", "flags": ["provisional"]}) == "Kém (tạm tính)"
    # a final rating is not marked
    final = data.rollup_shown(rollup() | {"weakest": [MET | {"provisional": False}]}, now=RUNNING)
    assert "tạm tính" not in between(committee_page(final, []), 'data-cell="thon-1"', "</li>")


async def test_a_provisional_rating_is_marked_tam_tinh_on_the_cell_page(monkeypatch: pytest.MonkeyPatch) -> None:
    rates = {"attendance_rate": 0.8, "speaking_rate": 0.5}
    rows = [
        {
            "period": "2026-11",
            "rating": "poor",
            "score": 38.33,
            "regular_held": 1,
            "thematic_held": 0,
            "flags": ["provisional"],
            **rates,
        },
        {
            "period": "2026-10",
            "rating": "good",
            "score": 95.0,
            "regular_held": 1,
            "thematic_held": 1,
            "flags": [],
            **rates,
        },
        {
            "period": "2026-Q4",
            "rating": "average",
            "score": 52.0,
            "regular_held": 2,
            "thematic_held": 1,
            "flags": ["in_progress", "provisional"],
            **rates,
        },
    ]

    async def list_cell_ratings(*_: Any, **__: Any) -> dict[str, Any]:
        return {"items": rows, "total": len(rows), "limit": 200, "offset": 0}

    async def list_cell_meetings(*_: Any, **__: Any) -> dict[str, Any]:
        return {"items": [], "total": 0, "limit": 200, "offset": 0}

    async def cell_half_year(*_: Any, **__: Any) -> dict[str, Any]:
        raise RpcError("not_found", "period: no half-year", field="period")

    monkeypatch.setattr(reads, "list_cell_ratings", list_cell_ratings)
    monkeypatch.setattr(reads, "list_cell_meetings", list_cell_meetings)
    monkeypatch.setattr(reads, "cell_half_year", cell_half_year)
    found = await data.cell_year(SimpleNamespace(directory=None), SimpleNamespace(), CELL["id"], YEAR)  # type: ignore[arg-type]
    page = (
        environment()
        .get_template("cell.html")
        .render(viewer=viewer(), unit=CELL, year=YEAR, years=[YEAR], crumbs=[], scores_unavailable=False, **found)
    )
    assert "Kém (tạm tính)" in between(page, 'data-period="2026-11"', "</li>")
    assert "tạm tính" not in between(page, 'data-period="2026-10"', "</li>")
    assert "Trung bình (tạm tính)" in between(page, "Quý IV/2026", "</tr>")
