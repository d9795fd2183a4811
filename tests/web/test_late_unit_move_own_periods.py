"""A cell moved to another committee reads the move on its own page's quarters, half-years and year, not only on its
months.

h512 said the move on its committees' quarter, half-year and year pages, CSV and PDF; the cell's own page marked its
moved months only, so its third quarter and year, whose figures now count under the ward, read as if nothing had
happened. Evaluation now gives the cell's own quarter, half-year and year the move note its committees' roll-ups give
(tests/evaluation/test_late_unit_move_periods.py: kind "unit_moved", the period's own figures, exact), and the page
says it in h512's words (i18n.late_change_note), each figure rounded once. The cell has no CSV or PDF of its periods
(its evidence CSV is per member); its evidence page, which shows its year or half-year, says it there too.

Hand-computed figures (tests/evaluation/test_late_unit_move_periods.py): Chi bộ thôn 3, set up on 1 September 2026,
held September's meeting at 20 of 30 points (66.67, Average); October and November without a meeting (0, Poor). Its
third quarter is September alone, Poor (no thematic meeting) at 66.67, shown 66,7; its year on 5 December the mean of
September to November, 22.22 (shown 22,2), Poor (the year's rule scaled to its 4 months allows no Poor month)."""

import re
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.auth import Role
from services.gateway.http import reads
from services.gateway.web import data
from services.gateway.web.core import environment
from services.gateway.web.exports import evidence
from tests.web.test_late_unit_move_note import MOVED
from tests.web.test_late_unit_move_period_note import HALF_NOTE
from tests.web.test_provisional_rating_marked import quarter_rows, viewer

CELL = {"id": "thon-3", "name": "Chi bộ thôn 3", "kind": "cell"}
QUARTER_SCORE = 100 * 20 / 30
YEAR_SCORE = 100 * 20 / 30 / 3
FIGURES = {"regular_held": 1, "thematic_held": 0, "attendance_rate": 1.0, "speaking_rate": 2 / 3}


def moved(rating: str | None, score: float | None) -> dict[str, Any]:
    """The cell's move note of a period, with that period's own figures (exact, as evaluation replies)."""
    return MOVED | {"old_rating": rating, "old_score": score, "new_rating": rating, "new_score": score}


QUARTER_NOTE = (
    "Chuyển sang Đảng ủy phường An Phú (trước thuộc Đảng ủy xã Hòa Bình), ghi nhận ngày 05/12/2026: kết quả quý"
    " III/2026 là 66,7 (Kém), nay tính cho Đảng ủy phường An Phú."
)
YEAR_NOTE = (
    "Chuyển sang Đảng ủy phường An Phú (trước thuộc Đảng ủy xã Hòa Bình), ghi nhận ngày 05/12/2026: kết quả năm 2026"
    " là 22,2 (Kém), nay tính cho Đảng ủy phường An Phú."
)
LONGEST = 25
"""Words a sentence of a half-year's note may have at most (tests/web/test_half_year_note_sentences.py)."""


@pytest.fixture
def reads_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The moved cell's ratings of 2026 as evaluation gives them now: September, its third quarter, its year and its
    second half-year each with the move."""
    items: list[dict[str, Any]] = [
        {"period": "2026-09", "rating": "average", "score": QUARTER_SCORE, "flags": [], **FIGURES}
        | {"late_change": moved("average", QUARTER_SCORE)},
        {"period": "2026-10", "rating": "poor", "score": 0.0, "flags": [], **FIGURES, "late_change": None},
        {"period": "2026-11", "rating": "poor", "score": 0.0, "flags": [], **FIGURES, "late_change": None},
        {"period": "2026-Q3", "rating": "poor", "score": QUARTER_SCORE, "flags": [], **FIGURES}
        | {"late_change": moved("poor", QUARTER_SCORE)},
        {"period": "2026-Q4", "rating": "poor", "score": 0.0, "flags": ["in_progress"], **FIGURES, "late_change": None},
        {"period": "2026", "rating": "poor", "score": YEAR_SCORE, "flags": ["in_progress"], **FIGURES}
        | {"late_change": moved("poor", YEAR_SCORE)},
    ]
    half_year = {
        "period": "2026-H2",
        "rating": None,
        "score": YEAR_SCORE,
        "flags": ["in_progress"],
        "not_rated": False,
        "months_counted": 3,
        "months_gone": 3,
        "quarter_ratings": {"2026-Q3": "poor", "2026-Q4": "poor"},
        "quarter_provisional": {"2026-Q3": False, "2026-Q4": False},
        "late_change": moved(None, None),
        **FIGURES,
    }

    async def list_cell_ratings(*_: Any, period: str | None = None, **__: Any) -> dict[str, Any]:
        found = [item for item in items if period is None or item["period"].startswith(period[:4])]
        return {"items": found, "total": len(found), "limit": 200, "offset": 0}

    async def list_cell_meetings(*_: Any, **__: Any) -> dict[str, Any]:
        return {"items": [], "total": 0, "limit": 200, "offset": 0}

    async def cell_half_year(_: Any, __: Any, half: str) -> dict[str, Any] | None:
        return half_year if half == "2026-H2" else None

    monkeypatch.setattr(reads, "list_cell_ratings", list_cell_ratings)
    monkeypatch.setattr(reads, "list_cell_meetings", list_cell_meetings)
    monkeypatch.setattr(reads, "cell_half_year", cell_half_year)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def notes(page: str) -> dict[str, str]:
    """The cell page's notes of its quarters, half-years and year a move recounted, by period."""
    if 'id="period-late-changes"' not in page:
        return {}
    listed = page[page.index('id="period-late-changes"') :]
    listed = listed[: listed.index("</ul>")]
    return {item.split('"', 1)[0]: text(item.split(">", 1)[1]) for item in listed.split('<li data-period="')[1:]}


async def test_the_cell_page_says_the_move_on_its_quarter_half_year_and_year_with_their_own_figures(
    reads_answer: None,
) -> None:
    found = await data.cell_year(SimpleNamespace(directory=None), SimpleNamespace(), CELL["id"], "2026")  # type: ignore[arg-type]
    page = (
        environment()
        .get_template("cell.html")
        .render(viewer=viewer(), unit=CELL, year="2026", years=["2026"], crumbs=[], scores_unavailable=False, **found)
    )
    assert notes(page) == {"2026-Q3": QUARTER_NOTE, "2026-H2": HALF_NOTE, "2026": YEAR_NOTE}
    rows = quarter_rows(page)
    for heading in ("Quý III/2026", "6 tháng cuối năm 2026", "Năm 2026"):
        assert "data-late-change" in rows[heading], heading
    assert "data-late-change" not in rows["Quý IV/2026"]
    # the month keeps its own note, in the strip's list, as before
    strip_notes = page[page.index('id="late-changes"') :]
    assert "kết quả tháng 9/2026 là 66,7 (Trung bình)" in text(strip_notes[: strip_notes.index("</ul>")])
    # the half-year's, under the half-year note in short sentences, in short sentences too (h515); the quarter's and
    # year's read as their committees' and the months' notes do (h512's pinned wording)
    sentences = [part for part in re.split(r"(?<=\.)\s+", notes(page)["2026-H2"]) if part]
    assert max(len(sentence.split()) for sentence in sentences) <= LONGEST, sentences


@pytest.mark.parametrize(("period", "said"), [("2026", YEAR_NOTE), ("2026-H2", HALF_NOTE)])
async def test_the_evidence_page_says_the_move_on_its_year_or_half_year(
    reads_answer: None, period: str, said: str
) -> None:
    member = SimpleNamespace(role=Role.MEMBER, unit_id="cb-khac")  # of another cell: no member list read here
    found = await evidence(SimpleNamespace(), member, CELL["id"], period)  # type: ignore[arg-type]
    page = (
        environment()
        .get_template("evidence.html")
        .render(viewer=viewer(), unit=CELL, year="2026", period=period, crumbs=[], choices=[], **found)
    )
    note = page[page.index(f'data-late-change="{period}">') :]
    assert text(note[len(f'data-late-change="{period}">') : note.index("</p>")]) == said
