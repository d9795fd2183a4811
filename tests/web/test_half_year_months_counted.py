"""An ended half-year's note names the months it counted: a cell set up in March 2026 counts March to June, four
months, and the committee's page and PDF said "trung bình điểm của sáu tháng" all the same. Evaluation says how many
months its cells counted (`fewest_months_counted`, `most_months_counted`); the page and the PDF say it in Vietnamese.
A cell's own pages take the half-year too (the API's `/v1/cells/{id}/ratings?period=2026-H1`, the cell's year page),
with evaluation's figures as a committee's half-year counts the cell: no rating, its quarters'. Against the real
services."""

import html
import io
import uuid
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from deploy.seed_demo import publish
from services.gateway.web.i18n import format_number, half_year_no_rating
from shared.periods import VIETNAM_TZ, period_months
from tests.evaluation.stream import at, cell_history, fact
from tests.support.quiet import wait_quiet
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import officer_api_headers, scored_history, signed_in_officer

pytestmark = pytest.mark.e2e

HALF = "2026-H1"
FOUR = "Điểm là trung bình điểm của 4 tháng chi bộ đã có trong 6 tháng này"


def test_the_note_says_the_range_of_months_when_the_cells_counted_different_numbers() -> None:
    ended = date(2026, 12, 5)
    assert "sáu tháng" in half_year_no_rating(HALF, ended)
    # an ended half-year names its months, as a running one does
    said = "trung bình điểm của sáu tháng (6 tháng đầu năm 2026, từ tháng 1 đến tháng 6/2026). Tháng không sinh hoạt"
    assert said in half_year_no_rating(HALF, ended), half_year_no_rating(HALF, ended)
    second = "sáu tháng (6 tháng cuối năm 2025, từ tháng 7 đến tháng 12/2025)"
    assert second in half_year_no_rating("2025-H2", ended), half_year_no_rating("2025-H2", ended)
    full = {"fewest_months_counted": 6, "most_months_counted": 6}
    assert half_year_no_rating(HALF, ended, rollup=full) == half_year_no_rating(HALF, ended)
    four = half_year_no_rating(HALF, ended, rollup={"fewest_months_counted": 4, "most_months_counted": 4})
    assert FOUR in four and "sáu tháng" not in four
    mixed = half_year_no_rating(HALF, ended, rollup={"fewest_months_counted": 4, "most_months_counted": 6})
    assert "Mỗi chi bộ chỉ tính những tháng chi bộ đó đã có trong 6 tháng này" in mixed
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


def test_the_running_notes_months_are_each_cells_from_the_month_it_was_set_up() -> None:
    """On 5 December 2026, July to November have gone by; a cell set up in September has three of them (September
    counting whole), not five (docs/architecture.md "When a cell exists")."""
    running = date(2026, 12, 5)
    full = half_year_no_rating("2026-H2", running, rollup={"fewest_months_gone": 5, "most_months_gone": 5})
    assert full == half_year_no_rating("2026-H2", running)  # every cell there since July: the five months named
    one = half_year_no_rating("2026-H2", running, rollup={"fewest_months_gone": 3, "most_months_gone": 3})
    assert "trung bình điểm của 3 tháng đã qua mà chi bộ đã có, trong khoảng từ tháng 7/2026 đến tháng 11/2026." in one
    assert "5 tháng" not in one and "Chi bộ thành lập giữa kỳ chỉ tính từ tháng thành lập." in one, one
    mixed = half_year_no_rating("2026-H2", running, rollup={"fewest_months_gone": 3, "most_months_gone": 5})
    assert "các tháng đã qua là từ tháng 7/2026 đến tháng 11/2026." in mixed
    assert "Mỗi chi bộ chỉ tính những tháng chi bộ đó đã có (từ 3 đến 5 tháng)." in mixed
    assert "Chi bộ nào đã sinh hoạt thường kỳ trong tháng này thì được tính thêm tháng này." in mixed, mixed


def committee_with_a_new_cell(
    ids: tuple[str, str, str], names: tuple[str, str, str], *, year: int, set_up_at: datetime
) -> list[dict[str, Any]]:
    """The facts of a root committee and its residential cell there since 1 January of `year`, and a second cell set
    up at `set_up_at`; `ids` and `names` are (committee, old cell, new cell)."""
    january = datetime(year, 1, 1, 8, tzinfo=VIETNAM_TZ)
    (committee, old, new), (committee_name, old_name, new_name) = ids, names
    cell = {"kind": "cell", "parent_id": committee, "category": "residential"}
    return [
        fact(
            "org.unit.upserted.v1",
            {"id": committee, "name": committee_name, "kind": "committee", "parent_id": None},
            time=january,
        ),
        fact("org.unit.upserted.v1", {"id": old, "name": old_name, **cell}, time=january),
        fact("org.unit.upserted.v1", {"id": new, "name": new_name, **cell}, time=set_up_at),
    ]


async def test_the_running_half_years_note_counts_a_cell_set_up_partway_from_that_month(system: RunningSystem) -> None:
    """The half-year running now: a committee with a cell there since January and one set up last month (or this
    month, in the half-year's first), neither with a meeting; its page, its PDF, the new cell's page and evidence say
    each cell's months gone by from the month it was set up, the new cell's fewer."""
    today = datetime.now(VIETNAM_TZ).date()
    half = f"{today.year}-H{1 if today.month <= 6 else 2}"
    months, current = period_months(half), f"{today:%Y-%m}"
    gone = [month for month in months if month < current]
    set_up = gone[-1] if gone else current
    new_gone = sum(1 for month in gone if month >= set_up)
    suffix = uuid.uuid4().hex[:8]
    committee, old, new = f"phuong-giua-ky-{suffix}", f"kp-cu-{suffix}", f"kp-moi-{suffix}"
    names = ("Đảng ủy phường Giữa Kỳ", "Chi bộ khu phố Cũ", "Chi bộ khu phố Mới")
    set_up_at = datetime(int(set_up[:4]), int(set_up[5:]), 3, 9, tzinfo=VIETNAM_TZ)
    events = committee_with_a_new_cell((committee, old, new), names, year=today.year, set_up_at=set_up_at)
    amqp, database = system.env["CHIBO_AMQP_URL"], system.env["CHIBO_DATABASE_URL"]
    await publish(amqp, events)
    sub = f"can-bo-giua-ky-{suffix}"
    headers = await officer_api_headers(system, committee=committee, sub=sub)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:

        async def both_counted() -> bool:
            found = await api.get(f"/v1/committees/{committee}/rollup?period={half}")
            return found.status_code == 200 and found.json().get("cells") == 2

        await eventually(both_counted, timeout=300, interval=1)
        await wait_quiet(amqp, database, timeout=300)
        rollup = (await api.get(f"/v1/committees/{committee}/rollup?period={half}")).json()
        line = next(
            row
            for row in (await api.get(f"/v1/cells/{new}/ratings?period={half}")).json()["items"]
            if row["period"] == half
        )
    if gone:
        assert (rollup["fewest_months_gone"], rollup["most_months_gone"]) == (new_gone or len(gone), len(gone))
        assert line["months_gone"] == new_gone, line
    note = half_year_no_rating(half, today, rollup=rollup)
    own = half_year_no_rating(half, today, rollup={"fewest_months_gone": new_gone, "most_months_gone": new_gone})
    if gone and new_gone < len(gone):
        assert f"từ {new_gone} đến {len(gone)} tháng" in note, note
        assert f"của {new_gone} tháng đã qua mà chi bộ đã có" in own, own
    async with signed_in_officer(system, sub, committee) as client:
        page = await client.get(f"/app/committees/{committee}?period={half}")
        assert page.status_code == 200, page.text[-800:]
        said = page.text.split('id="half-year-rating-note">', 1)[1].split("</p>", 1)[0]
        assert said == html.escape(note, quote=False), said
        document = await client.get(f"/app/committees/{committee}/report.pdf?period={half}")
        text = " ".join(" ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(document.content)).pages).split())
        assert document.status_code == 200 and "tháng đã qua" in text, text
        if gone and new_gone < len(gone):
            assert f"từ {new_gone} đến {len(gone)} tháng" in text, text
        # the cell's own pages know its span: they name the months its score averages, from the month it was set up
        named = half_year_no_rating(half, today, rollup=rollup, span=(set_up, None))
        if gone:
            assert f"{new_gone} tháng đã qua" in named and f"từ tháng {int(gone[0][5:])}/" not in named, named
            assert f"trong khoảng tháng {int(set_up[5:])}/{set_up[:4]}" in named, named
        cell_page = await client.get(f"/app/cells/{new}?year={today.year}")
        assert cell_page.status_code == 200, cell_page.text[-800:]
        cell_note = cell_page.text.split(f'data-half-year-note="{half}">', 1)[1].split("</p>", 1)[0]
        assert html.escape(named, quote=False) in cell_note, cell_note
        evidence = await client.get(f"/app/cells/{new}/evidence", params={"period": half})
        assert evidence.status_code == 200, evidence.text[-800:]
        evidence_note = evidence.text.split(f'data-half-year-note="{half}">', 1)[1].split("</p>", 1)[0]
        assert evidence_note == html.escape(named, quote=False), evidence_note


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
