"""A half-year has no rating of its own (DOMAIN.md "Periods" rates months, quarters and years): its line shows its
quarters' ratings, and gave no reason where every other period's line says why its rating is below its score's band
(a half-year line read "Quý I/2026: Khá; Quý II/2026: Kém" with no word that Quý I was Khá at a Tốt score, Quý II Kém
for want of a thematic meeting). Its reason is now its quarters' own (evaluation's `quarter_reasons`), each named,
worded by i18n.rating_reason as the quarters' own lines word them, in the same place on the committee's page, its
ranking page, the report's CSV and PDF, and the cell's page; over the real broker, evaluation faked."""

import csv
import html
import io
import re
from typing import Any

import httpx
from pypdf import PdfReader

from services.gateway.web.exports import report_document
from services.gateway.web.i18n import rating_reason
from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import signed_in

HALF = "2026-H1"
BY_MONTHS = {
    "code": "month_ratings",
    "band": "good",
    "missed": "good",
    "condition": "all_at_least",
    "floor": "fair",
    "months": ["2026-02"],
    "count": 1,
}
NO_THEMATIC = {"code": "no_thematic_meeting", "band": "average"}
SAID = (
    "Quý I/2026 xếp loại Khá dù điểm đạt mức Tốt: quý chỉ được xếp loại Tốt khi mọi tháng đều từ Khá trở lên, nhưng"
    " tháng 2/2026 chưa đạt (xếp loại theo từng tháng, không theo điểm trung bình); Quý II/2026 xếp loại Kém dù điểm"
    " đạt mức Trung bình: chưa sinh hoạt chuyên đề trong quý (mỗi quý phải sinh hoạt chuyên đề ít nhất một lần)"
)
"""What a half-year line whose two quarters have reasons says: each quarter's own reason, named, in order."""


def half_line(cell_id: str, reasons: dict[str, Any]) -> dict[str, Any]:
    """A half-year line as evaluation gives it: no rating, its quarters' ratings and reasons."""
    return {
        "cell_id": cell_id,
        "period": HALF,
        "rating": None,
        "score": 88.5,
        "quarter_ratings": {"2026-Q1": "fair", "2026-Q2": "poor"},
        "quarter_provisional": {"2026-Q1": False, "2026-Q2": False},
        "quarter_reasons": reasons,
    }


REASONED = {"2026-Q1": BY_MONTHS, "2026-Q2": NO_THEMATIC}
NONE_GIVEN = {"2026-Q1": None, "2026-Q2": None}


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub("<[^>]+>", " ", page)).split())


def test_a_half_years_reason_is_its_quarters_reasons() -> None:
    assert rating_reason(half_line("k1", REASONED)) == SAID
    # a quarter whose band is its rating gives nothing; one not rated gives nothing though a reason came with it
    only_second = rating_reason(half_line("k1", {"2026-Q1": None, "2026-Q2": NO_THEMATIC}))
    assert only_second == SAID.split("; ", 1)[1]
    unrated = half_line("k1", REASONED) | {"quarter_ratings": {"2026-Q1": "fair", "2026-Q2": None}}
    assert rating_reason(unrated) == SAID.split("; ", 1)[0]
    assert rating_reason(half_line("k1", NONE_GIVEN)) is None
    assert rating_reason(half_line("k1", REASONED) | {"quarter_reasons": None}) is None


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())


def test_the_report_pdf_gives_a_half_years_reason_under_its_table() -> None:
    rows = [
        half_line("k1", REASONED) | {"name": "Chi bộ k1", "regular_held": 5, "thematic_held": 1, "flags": []},
        half_line("k2", NONE_GIVEN) | {"name": "Chi bộ k2", "regular_held": 6, "thematic_held": 2, "flags": []},
    ]
    rollup: dict[str, Any] = {"cells": 2, "score": 88.5, "by_rating": None, "quarters": []}
    said = pdf_text(report_document({"name": "Đảng ủy phường 9"}, HALF, {"rollup": rollup, "rows": rows}))
    assert "Lý do xếp loại" in said
    assert f"Chi bộ k1 — {SAID}" in said, said
    assert "Chi bộ k2 —" not in said


async def test_the_committee_page_ranking_csv_and_cell_page_give_a_half_years_reason(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, headers: dict[str, dict[str, str]]
) -> None:
    world.half_year_ranks[(world.cell_a1, HALF)] = half_line(world.cell_a1, REASONED)
    world.half_year_ranks[(world.cell_a2, HALF)] = half_line(world.cell_a2, NONE_GIVEN)
    world.half_years[(world.cell_a1, HALF)] = half_line(world.cell_a1, REASONED) | {"flags": []}
    try:
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            page = await officer.get(f"/app/committees/{world.ward_a}?period={HALF}")
            ranking_page = await officer.get(f"/app/committees/{world.ward_a}/ranking?period={HALF}")
            report = await officer.get(f"/app/committees/{world.ward_a}/report.csv?period={HALF}")
            cell_page = await officer.get(f"/app/cells/{world.cell_a1}?year=2026")
        ranking = await client.get(
            f"/v1/committees/{world.ward_a}/ranking?period={HALF}", headers=headers["ward_officer"]
        )
    finally:
        world.half_year_ranks.clear()
        world.half_years.clear()
    assert page.status_code == 200, page.text
    row = re.search(f'<tr data-unit="{world.cell_a1}">(.*?)</tr>', page.text, re.S)
    assert row is not None and "data-rating-reason" in row.group(1), page.text
    assert SAID in text(row.group(1)), text(row.group(1))
    other = re.search(f'<tr data-unit="{world.cell_a2}">(.*?)</tr>', page.text, re.S)
    assert other is not None and "data-rating-reason" not in other.group(1)

    assert ranking_page.status_code == 200, ranking_page.text
    line = re.search(f'<tr data-cell="{world.cell_a1}"[^>]*>(.*?)</tr>', ranking_page.text, re.S)
    assert line is not None and "data-rating-reason" in line.group(1), ranking_page.text
    assert SAID in text(line.group(1)), text(line.group(1))
    other = re.search(f'<tr data-cell="{world.cell_a2}"[^>]*>(.*?)</tr>', ranking_page.text, re.S)
    assert other is not None and "data-rating-reason" not in other.group(1)

    assert report.status_code == 200, report.text
    header, *rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";"))
    assert header[-1] == "Lý do xếp loại"
    by_cell = {found[0]: found for found in rows}
    assert by_cell[world.cell_a1][-1] == SAID
    assert by_cell[world.cell_a2][-1] == ""

    assert cell_page.status_code == 200, cell_page.text
    half = re.search(f'<tr data-half-year="{HALF}">(.*?)</tr>', cell_page.text, re.S)
    assert half is not None and SAID in text(half.group(1)), cell_page.text

    # the API's ranking line carries the quarters' reasons the pages word
    assert ranking.status_code == 200, ranking.text
    items = {item["cell_id"]: item for item in ranking.json()["items"]}
    assert items[world.cell_a1]["quarter_reasons"]["2026-Q1"]["months"] == ["2026-02"]
    assert items[world.cell_a1]["quarter_reasons"]["2026-Q2"]["code"] == "no_thematic_meeting"
    assert rating_reason(items[world.cell_a1]) == SAID
    assert items[world.cell_a2]["quarter_reasons"] == NONE_GIVEN
