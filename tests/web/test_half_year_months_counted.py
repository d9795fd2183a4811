"""An ended half-year's note names the months it counted: a cell set up in March 2026 counts March to June, four
months, and the committee's page and PDF said "trung bình điểm của sáu tháng" all the same. Evaluation says how many
months its cells counted (`fewest_months_counted`, `most_months_counted`); the page and the PDF say it in Vietnamese.
A cell's own pages take the half-year too (the API's `/v1/cells/{id}/ratings?period=2026-H1`, the cell's year page),
with evaluation's figures as a committee's half-year counts the cell: no rating, its quarters'. Against the real
services."""

import io
import uuid
from datetime import date

import httpx
import pytest
from pypdf import PdfReader

from services.gateway.web.i18n import format_number, half_year_no_rating
from tests.evaluation.stream import at, cell_history
from tests.support.system import RunningSystem
from tests.web.conftest import scored_history, signed_in_officer

pytestmark = pytest.mark.e2e

HALF = "2026-H1"
FOUR = "điểm là trung bình điểm của 4 tháng chi bộ đã có trong 6 tháng này"


def test_the_note_says_the_range_of_months_when_the_cells_counted_different_numbers() -> None:
    ended = date(2026, 12, 5)
    assert "sáu tháng" in half_year_no_rating(HALF, ended)
    full = {"fewest_months_counted": 6, "most_months_counted": 6}
    assert half_year_no_rating(HALF, ended, rollup=full) == half_year_no_rating(HALF, ended)
    four = half_year_no_rating(HALF, ended, rollup={"fewest_months_counted": 4, "most_months_counted": 4})
    assert FOUR in four and "sáu tháng" not in four
    mixed = half_year_no_rating(HALF, ended, rollup={"fewest_months_counted": 4, "most_months_counted": 6})
    assert "điểm của mỗi chi bộ là trung bình điểm của các tháng chi bộ đó đã có" in mixed
    assert "từ 4 đến 6 tháng" in mixed and "sáu tháng" not in mixed


async def test_a_cell_set_up_in_march_has_its_half_year_counted_over_four_months(system: RunningSystem) -> None:
    committee, cell, sub, headers = await march_cell(system)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:
        rollup = (await api.get(f"/v1/committees/{committee}/rollup?period={HALF}")).json()
        assert (rollup["fewest_months_counted"], rollup["most_months_counted"]) == (4, 4), rollup
    async with signed_in_officer(system, sub, committee) as client:
        page = await client.get(f"/app/committees/{committee}?period={HALF}")
        assert page.status_code == 200, page.text[-800:]
        note = page.text.split('id="half-year-rating-note">', 1)[1].split("</p>", 1)[0]
        assert FOUR in note and "sáu tháng" not in note, note
        document = await client.get(f"/app/committees/{committee}/report.pdf?period={HALF}")
        assert document.status_code == 200, document.text[:500]
        text = " ".join(" ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(document.content)).pages).split())
        assert FOUR in text and "sáu tháng" not in text, text


async def test_a_cells_pages_take_a_half_year_with_the_committees_figures(system: RunningSystem) -> None:
    committee, cell, sub, headers = await march_cell(system)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:
        found = await api.get(f"/v1/cells/{cell}/ratings", params={"period": HALF})
        assert found.status_code == 200, found.text
        rows = {row["period"]: row for row in found.json()["items"]}
        assert set(rows) == {"2026-03", "2026-04", "2026-05", "2026-06", "2026-Q1", "2026-Q2", HALF}, rows
        line = rows[HALF]
        # DOMAIN.md "Periods": the mean of the months counted (March to June: the cell's), pooled rates, no rating
        months = [rows[f"2026-{month:02d}"]["score"] for month in (3, 4, 5, 6)]
        assert line["score"] == round(sum(months) / 4, 2) and line["months_counted"] == 4, line
        assert line["rating"] is None and line["regular_held"] == 4, line
        assert line["quarter_ratings"] == {"2026-Q1": rows["2026-Q1"]["rating"], "2026-Q2": rows["2026-Q2"]["rating"]}
        assert (line["attendance_rate"], line["speaking_rate"]) == (round(19 / 24, 4), round(12 / 19, 4)), line
        listed = await api.get(f"/v1/cells/{cell}/meetings", params={"period": HALF, "limit": 2})
        assert listed.status_code == 200 and listed.json()["total"] == 5, listed.text  # March to June, one cancelled
        ranking = (await api.get(f"/v1/committees/{committee}/ranking?period={HALF}")).json()["items"]
        assert [(item["cell_id"], item["score"]) for item in ranking] == [(cell, line["score"])]  # the same figures
        for spelling in ["2026-H3", "2026-h1", "2026H1"]:
            for path in ("ratings", "meetings"):
                refused = await api.get(f"/v1/cells/{cell}/{path}", params={"period": spelling})
                assert refused.status_code == 422 and refused.json()["field"] == "query.period", refused.text
    async with signed_in_officer(system, sub, committee) as client:
        page = await client.get(f"/app/cells/{cell}?year=2026")
        assert page.status_code == 200, page.text[-800:]
        row = page.text.split('data-half-year="2026-H1"', 1)[1].split("</tr>", 1)[0]
        assert "data-quarter-ratings" in row and "Quý I/2026" in row and format_number(line["score"]) in row, row
        note = page.text.split('data-half-year-note="2026-H1">', 1)[1].split("</p>", 1)[0]
        assert FOUR in note, note
        assert 'data-half-year="2026-H2"' in page.text  # July to December ended too


async def march_cell(system: RunningSystem) -> tuple[str, str, str, dict[str, str]]:
    """A committee and its one cell set up in March 2026 (tests.evaluation.stream.cell_history, its snapshots moved
    to March), scored and settled: (committee, cell, an officer's account name, the officer's API headers)."""
    suffix = uuid.uuid4().hex[:8]
    committee, cell = f"phuong-bon-thang-{suffix}", f"kp-bon-thang-{suffix}"
    events = cell_history(committee_id=committee, cell_id=cell, prefix=f"bt{suffix}")
    for event in events:  # the cell and its members first known in March: its span begins there
        if event["data"].get("id") == cell or event["data"].get("cell_id") == cell and "full_name" in event["data"]:
            event["time"] = at(3, 1, 8).isoformat()
    sub = f"can-bo-bon-thang-{suffix}"
    headers = await scored_history(system, events, committee=committee, cell=cell, sub=sub)
    return committee, cell, sub, headers
