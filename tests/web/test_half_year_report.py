"""A committee's half-year report (`2026-H1`, "6 tháng đầu năm 2026": DOMAIN.md has committees report every quarter,
half-year and year) with the real services: a cell's meetings of March to June 2026 fed in through meetings' ingest
(tests.evaluation.stream.cell_history, the May one combined) beside a cell that never met; the API's roll-up, the
committee's page and the report's CSV and PDF give the half-year's figures as worked out by hand here from DOMAIN.md's
definitions, and, as no half-year rating is defined (DOMAIN.md rates months, quarters and years), the quarters'
ratings and a note saying so. A badly spelled half-year is refused naming the field."""

import csv
import html
import io
import uuid
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from services.gateway.web.i18n import format_number, format_share, half_year_no_rating, rating_label
from shared.envelope import VIETNAM_TZ
from tests.evaluation.stream import at, cell_history, fact
from tests.support.system import RunningSystem
from tests.web.conftest import scored_history, signed_in_officer

pytestmark = pytest.mark.e2e

HALF = "2026-H1"
BAD_SPELLINGS = ["2026-H3", "2026-h1", "2026-S1", "2026H1", "2026-H0"]


def pdf_text(content: bytes) -> str:
    """The extracted text of every page."""
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


async def test_the_half_year_report_gives_its_figures_worked_out_by_hand(system: RunningSystem) -> None:
    suffix = uuid.uuid4().hex[:8]
    committee, cell_a, cell_b = f"phuong-nua-nam-{suffix}", f"kp-nua-nam-{suffix}", f"thon-nua-nam-{suffix}"
    events = cell_history(committee_id=committee, cell_id=cell_a, prefix=f"nn{suffix}")
    unit = {"id": cell_b, "name": "Chi bộ thôn Đông", "kind": "cell", "parent_id": committee}
    events.append(fact("org.unit.upserted.v1", unit, time=at(1, 1, 9)))
    sub = f"can-bo-nua-nam-{suffix}"
    headers = await scored_history(system, events, committee=committee, cell=cell_a, sub=sub)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:
        listed = (await api.get(f"/v1/cells/{cell_a}/ratings?period=2026&limit=200")).json()["items"]
        rows = {row["period"]: row for row in listed}
        months = [rows[f"2026-{month:02d}"]["score"] for month in (3, 4, 5, 6)]
        # DOMAIN.md "Periods": the mean of the six months' scores, January and February (no meeting) counting 0
        cell_score = sum(months) / 6
        score = round((cell_score + 0.0) / 2, 2)  # the other cell never met: 0 every month
        q2 = rows["2026-Q2"]["rating"]
        # each quarter's rating as its own row reads, "(tạm tính)" while provisional (i18n.rating_label): the half-year
        # lines show it so, off evaluation's quarter_provisional
        marks = {quarter: "provisional" in rows[quarter]["flags"] for quarter in ("2026-Q1", "2026-Q2")}
        shown = f"Quý I/2026: {rating_label(rows['2026-Q1'])}; Quý II/2026: {rating_label(rows['2026-Q2'])}"
        rollup = (await api.get(f"/v1/committees/{committee}/rollup?period={HALF}")).json()
        assert rollup["period"] == HALF and rollup["cells"] == 2 and rollup["score"] == score, rollup
        # neither cell met every month; one of two held a thematic (combined) meeting; pooled over the four meetings:
        # 5, 5, 4 and 5 present of 6 counted, 3 present speakers each
        assert (rollup["regularity"], rollup["thematic_coverage"]) == (0.0, 0.5)
        assert (rollup["attendance_rate"], rollup["speaking_rate"]) == (round(19 / 24, 4), round(12 / 19, 4))
        assert rollup["by_rating"] is None and rollup["in_progress"] is False
        quarters = {quarter["period"]: quarter["by_rating"] for quarter in rollup["quarters"]}
        assert quarters["2026-Q1"]["poor"] == 2 and sum(quarters["2026-Q2"].values()) == 2
        ranking = (await api.get(f"/v1/committees/{committee}/ranking?period={HALF}")).json()
        assert [item["cell_id"] for item in ranking["items"]] == [cell_a, cell_b]
        assert ranking["items"][0]["quarter_ratings"] == {"2026-Q1": "poor", "2026-Q2": q2}
        assert ranking["items"][0]["quarter_provisional"] == marks
        assert ranking["items"][1]["quarter_provisional"] == {"2026-Q1": False, "2026-Q2": False}  # never met
        for spelling in BAD_SPELLINGS:
            refused = await api.get(f"/v1/committees/{committee}/rollup", params={"period": spelling})
            assert refused.status_code == 422 and refused.json()["field"] == "query.period", refused.text
            assert "a half-year (2026-H2)" in refused.json()["message"], refused.text  # the forms it takes, plainly
    async with signed_in_officer(system, sub, committee) as client:
        page = await client.get(f"/app/committees/{committee}?period={HALF}")
        assert page.status_code == 200, page.text[-800:]
        assert "6 tháng đầu năm 2026" in page.text and '<option value="2026-H1" selected>' in page.text
        assert 'id="half-year-rating-note"' in page.text and "Không có quy định xếp loại cho 6 tháng" in page.text
        assert "Điểm là trung bình điểm của sáu tháng" in page.text  # ended: every month of it counted
        # the half-year running now (a trial's 2026-H2 in December said "sáu tháng" too): the months gone by so far
        today = datetime.now(VIETNAM_TZ).date()
        running_half = f"{today.year}-H{1 if today.month <= 6 else 2}"
        running_page = await client.get(f"/app/committees/{committee}?period={running_half}")
        assert running_page.status_code == 200, running_page.text[-800:]
        assert 'id="half-year-rating-note"' in running_page.text
        assert "trung bình điểm của sáu tháng" not in running_page.text
        assert html.escape(half_year_no_rating(running_half, today), quote=False) in running_page.text
        gone = (today.month - 1) % 6
        assert (f"trung bình điểm của {gone} tháng đã qua" if gone else "đang ở tháng đầu tiên") in running_page.text
        running_pdf = await client.get(f"/app/committees/{committee}/report.pdf?period={running_half}")
        assert running_pdf.status_code == 200, running_pdf.text[:500]
        running_text = " ".join(pdf_text(running_pdf.content).split())
        assert "sáu tháng" not in running_text and "tháng đã qua" in running_text or not gone, running_text
        assert f'data-figure="score">{format_number(score)}<' in page.text
        assert 'data-quarter="2026-Q1"' in page.text and 'data-quarter="2026-Q2"' in page.text
        assert f"<span data-quarter-ratings>{shown}</span>" in page.text
        table = await client.get(f"/app/committees/{committee}/report.csv?period={HALF}")
        assert table.status_code == 200, table.text[:500]
        header, *lines = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig")), delimiter=";"))
        assert header[:6] == ["Mã chi bộ", "Chi bộ", "Điểm", "Xếp loại", "Kỳ", "Trạng thái kỳ"]
        by_cell: dict[str, list[str]] = {line[0]: line for line in lines}
        assert by_cell[cell_a][2:10] == [
            format_number(round(cell_score, 2)),
            shown,
            "6 tháng đầu năm 2026",
            "đã kết thúc",
            "4",
            "1",
            format_number(19 / 24 * 100),
            format_number(12 / 19 * 100),
        ]
        assert by_cell[cell_b][2:8] == [
            "0",
            "Quý I/2026: Kém; Quý II/2026: Kém",
            "6 tháng đầu năm 2026",
            "đã kết thúc",
            "0",
            "0",
        ]
        document = await client.get(f"/app/committees/{committee}/report.pdf?period={HALF}")
        assert document.status_code == 200, document.text[:500]
        text = " ".join(pdf_text(document.content).split())
        for said in (
            "6 tháng đầu năm 2026",
            "Không có quy định xếp loại cho 6 tháng",
            "Điểm là trung bình điểm của sáu tháng",
            "Xếp loại quý I/2026",
            format_number(score),
            format_share(19 / 24),  # the attendance rate as the page says it (79,2%)
            "Quý I/2026: Kém",
        ):
            assert said in text, (said, text)
        for spelling in BAD_SPELLINGS:
            refused_page = await client.get(f"/app/committees/{committee}", params={"period": spelling})
            assert refused_page.status_code == 422 and "6 tháng đầu" in refused_page.text, refused_page.text[-600:]
        refused_csv = await client.get(f"/app/committees/{committee}/report.csv", params={"period": "2026-H3"})
        assert refused_csv.status_code == 422


def test_the_half_years_are_offered_among_the_periods() -> None:
    """The period chooser offers the half-years begun, after the quarters and before the years."""
    from services.gateway.web.periods import choices, this_month

    offered = choices(first_month="2025-12")
    year = this_month()[:4]
    halves = [period for period in offered if "-H" in period]
    assert f"{year}-H1" in halves and "2025-H2" in halves and "2025-H1" not in halves
    assert offered.index(halves[0]) > max(i for i, p in enumerate(offered) if "-Q" in p)
    assert offered.index(halves[-1]) < offered.index(year)
    if this_month() < f"{year}-07":
        assert f"{year}-H2" not in halves


def test_the_half_years_read_in_vietnamese() -> None:
    from services.gateway.web.i18n import format_period

    assert (format_period("2026-H1"), format_period("2026-H2")) == ("6 tháng đầu năm 2026", "6 tháng cuối năm 2026")


def test_a_half_year_line_reads_its_quarters_ratings() -> None:
    from services.gateway.web.exports import row_rating

    row: dict[str, Any] = {"cell_id": "c", "rating": None, "quarter_ratings": {"2026-Q2": None, "2026-Q1": "fair"}}
    assert row_rating(row) == "Quý I/2026: Khá; Quý II/2026: chưa xếp loại"


@pytest.mark.parametrize(
    ("today", "said", "not_said"),
    [
        # a trial's 2026-H2 in December: scored over July to November (and December for a cell that has met)
        (
            date(2026, 12, 5),
            "6 tháng này chưa kết thúc. Điểm là trung bình điểm của 5 tháng đã qua (từ tháng 7/2026 đến tháng "
            "11/2026). Chi bộ nào đã sinh hoạt thường kỳ trong tháng này thì được tính thêm tháng này. Tháng không "
            "sinh hoạt tính 0 điểm.",
            "sáu tháng",
        ),
        (date(2026, 8, 20), "trung bình điểm của 1 tháng đã qua (tháng 7/2026). Chi bộ nào", "sáu tháng"),
        (date(2026, 7, 1), "đang ở tháng đầu tiên, nên điểm là điểm của tháng này.", "tháng đã qua"),
        # ended: its months named as a running one's are
        (
            date(2027, 1, 1),
            "Điểm là trung bình điểm của sáu tháng (6 tháng cuối năm 2026, từ tháng 7 đến tháng 12/2026). Tháng "
            "không sinh hoạt tính 0 điểm.",
            "đã qua",
        ),
    ],
)
def test_the_half_year_note_says_over_which_months_its_score_is_the_mean(today: date, said: str, not_said: str) -> None:
    """DOMAIN.md "Periods": a period's score is the mean of its months' scores; evaluation counts a running period's
    months gone by, the running month only once a cell has met, so a running half-year is not six months."""
    note = half_year_no_rating("2026-H2", today)
    assert note.startswith("Không có quy định xếp loại cho 6 tháng") and said in note and not_said not in note, note
