"""A cell's running quarter and year not rated yet (set up this month, not met yet) on its page and its evidence page:
"Chưa xếp loại", not an empty rating nor a missing year (the ratings API lists them `not_rated`).

The ratings and meetings are given as the gateway's read functions return them, then read through the pages' own
helpers and templates, without a running system."""

from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.auth import Role
from services.gateway.http import reads
from services.gateway.web import data
from services.gateway.web.core import environment
from services.gateway.web.exports import evidence
from shared.rpc import RpcError

CELL = {"id": "thon-moi", "name": "Chi bộ thôn Mới", "kind": "cell"}
YEAR = "2026"


def ratings() -> list[dict[str, Any]]:
    """December in progress, Poor until the cell meets, and its quarter and year not rated yet."""
    not_rated = {
        "rating": None,
        "score": None,
        "regular_held": None,
        "thematic_held": None,
        "attendance_rate": None,
        "speaking_rate": None,
        "not_rated": True,
    }
    return [
        {
            "period": "2026-12",
            "rating": "poor",
            "score": 0.0,
            "regular_held": 0,
            "thematic_held": 0,
            "flags": ["in_progress"],
        },
        {"period": "2026-Q4", **not_rated, "flags": ["in_progress"]},
        {"period": "2026", **not_rated, "flags": ["in_progress"]},
    ]


@pytest.fixture
def reads_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ratings API answers ratings(); the cell has no meeting, and evaluation no half-year line for it."""

    async def list_cell_ratings(*_: Any, **__: Any) -> dict[str, Any]:
        return {"items": ratings(), "total": 3, "limit": 200, "offset": 0}

    async def list_cell_meetings(*_: Any, **__: Any) -> dict[str, Any]:
        return {"items": [], "total": 0, "limit": 200, "offset": 0}

    async def cell_half_year(*_: Any, **__: Any) -> dict[str, Any]:
        raise RpcError("not_found", "period: no half-year", field="period")

    monkeypatch.setattr(reads, "list_cell_ratings", list_cell_ratings)
    monkeypatch.setattr(reads, "list_cell_meetings", list_cell_meetings)
    monkeypatch.setattr(reads, "cell_half_year", cell_half_year)


def viewer() -> SimpleNamespace:
    return SimpleNamespace(role=Role.COMMITTEE_OFFICER, account=SimpleNamespace(sub="can-bo"), csrf="t", principal=None)


def quarter_rows(page: str) -> dict[str, str]:
    """Each row of the quarters-and-year table, by its heading."""
    table = page[page.index("<tbody>", page.index("Các quý và cả năm")) :]
    table = table[: table.index("</tbody>")]
    rows = {}
    for row in table.split("<tr>")[1:]:
        heading = row[row.index('scope="row">') + len('scope="row">') : row.index("</th>")]
        rows[heading] = row
    return rows


async def test_the_cell_page_says_chua_xep_loai_for_its_running_quarter_and_year(reads_answer: None) -> None:
    found = await data.cell_year(SimpleNamespace(directory=None), SimpleNamespace(), CELL["id"], YEAR)  # type: ignore[arg-type]
    assert found["year_row"] is not None and found["year_row"]["not_rated"] is True
    page = (
        environment()
        .get_template("cell.html")
        .render(viewer=viewer(), unit=CELL, year=YEAR, years=[YEAR], crumbs=[], scores_unavailable=False, **found)
    )
    rows = quarter_rows(page)
    for heading in ("Quý IV/2026", "Năm 2026"):
        assert "data-not-rated>Chưa xếp loại</span>" in rows[heading], heading
    # quarters the cell did not exist in stay without a rating, not "not rated yet"
    assert "Chưa xếp loại" not in rows["Quý I/2026"]


async def test_the_evidence_page_says_chua_xep_loai_for_a_year_not_rated_yet(reads_answer: None) -> None:
    member = SimpleNamespace(role=Role.MEMBER, unit_id="cb-khac")  # of another cell: no member list read here
    found = await evidence(SimpleNamespace(), member, CELL["id"], YEAR)  # type: ignore[arg-type]
    assert found["quarters_rated"] == 0
    page = environment().get_template("evidence.html").render(viewer=viewer(), unit=CELL, year=YEAR, crumbs=[], **found)
    year_rating = page[page.index('id="year-rating">') : page.index("</dd>", page.index('id="year-rating">'))]
    assert "Chưa xếp loại" in year_rating and "—" not in year_rating
