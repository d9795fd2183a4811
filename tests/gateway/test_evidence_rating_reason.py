"""The evidence page (a cell's evidence per period, for its committee's grading and half-year review) showed a
half-year's quarters' ratings with no word why they are below their scores' bands, where every other half-year view
(committee page, ranking, report, cell page: tests/gateway/test_half_year_reason_pages.py) says it from the quarters'
own reasons (`quarter_reasons`, i18n.rating_reason); its year's rating had none either, where the cell's page gives
the year's. Both now say it in the same words; a period whose band is its rating says nothing more. A year already
ended, its half-year the first: no clock dependence. Over the real broker, evaluation faked (tests.gateway.fakes)."""

import html
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from services.gateway.web.i18n import rating_reason
from shared.periods import VIETNAM_TZ
from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import signed_in

YEAR = str(datetime.now(VIETNAM_TZ).year - 1)
HALF = f"{YEAR}-H1"
BY_MONTHS = {
    "code": "month_ratings",
    "band": "good",
    "missed": "good",
    "condition": "all_at_least",
    "floor": "fair",
    "months": [f"{YEAR}-02"],
    "count": 1,
}
NO_THEMATIC = {"code": "no_thematic_meeting", "band": "average"}
SAID = (
    f"Quý I/{YEAR} xếp loại Khá dù điểm đạt mức Tốt: quý chỉ được xếp loại Tốt khi mọi tháng đều từ Khá trở lên, nhưng"
    f" tháng 2/{YEAR} chưa đạt (xếp loại theo từng tháng, không theo điểm trung bình); Quý II/{YEAR} xếp loại Kém dù"
    " điểm đạt mức Trung bình: chưa sinh hoạt chuyên đề trong quý (mỗi quý phải sinh hoạt chuyên đề ít nhất một lần)"
)
REASON = re.compile(r'<small class="reason" data-rating-reason>(.*?)</small>', re.S)


def half_line(cell_id: str, reasons: dict[str, Any]) -> dict[str, Any]:
    """A half-year line as evaluation gives it: no rating, its quarters' ratings and reasons."""
    return {
        "cell_id": cell_id,
        "period": HALF,
        "rating": None,
        "score": 88.5,
        "quarter_ratings": {f"{YEAR}-Q1": "fair", f"{YEAR}-Q2": "poor"},
        "quarter_provisional": {f"{YEAR}-Q1": False, f"{YEAR}-Q2": False},
        "quarter_reasons": reasons,
        "months_counted": 6,
        "months_gone": 6,
        "flags": [],
    }


def year_row(cell_id: str, reason: dict[str, Any] | None) -> dict[str, Any]:
    """The cell's year row as evaluation lists it, rated Khá at a Tốt score when `reason` says why."""
    return {"cell_id": cell_id, "period": YEAR, "rating": "fair", "score": 88.5, "rating_reason": reason, "flags": []}


def reason_in(page: str, element: str) -> str | None:
    """The rating reason said inside the element of id `element`, spaces collapsed; None when it says none."""
    found = re.search(f'<dd id="{element}">(.*?)</dd>', page, re.S)
    assert found is not None, page[-3000:]
    said = REASON.search(found.group(1))
    return " ".join(html.unescape(said.group(1)).split()) if said else None


@pytest.fixture
def older_cell(world: World) -> Iterator[None]:
    """Ward A's cell A1 has data from January of the year before last."""
    first = f"{int(YEAR) - 1}-01"
    world.first_months.update({world.ward_a: first, world.cell_a1: first})
    yield
    world.first_months.clear()
    world.half_years.clear()
    world.stored_periods.pop(world.cell_a1, None)


async def test_the_evidence_page_gives_a_half_years_and_a_years_rating_reason(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, older_cell: None
) -> None:
    cell = f"/app/cells/{world.cell_a1}/evidence"
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        world.half_years[(world.cell_a1, HALF)] = half_line(
            world.cell_a1, {f"{YEAR}-Q1": BY_MONTHS, f"{YEAR}-Q2": NO_THEMATIC}
        )
        world.stored_periods[world.cell_a1] = [year_row(world.cell_a1, BY_MONTHS)]
        reasoned = await officer.get(cell, params={"period": HALF})
        year = await officer.get(cell, params={"period": YEAR})
        world.half_years[(world.cell_a1, HALF)] = half_line(world.cell_a1, {f"{YEAR}-Q1": None, f"{YEAR}-Q2": None})
        world.stored_periods[world.cell_a1] = [year_row(world.cell_a1, None)]
        banded = await officer.get(cell, params={"period": HALF})
        banded_year = await officer.get(cell, params={"period": YEAR})
    for page in (reasoned, year, banded, banded_year):
        assert page.status_code == 200, page.text[-2000:]
    assert reason_in(reasoned.text, "half-year-ratings") == SAID
    assert reason_in(banded.text, "half-year-ratings") is None
    said = reason_in(year.text, "year-rating")
    assert said == rating_reason(year_row(world.cell_a1, BY_MONTHS)) and said is not None, year.text[-3000:]
    assert said.startswith("Khá dù điểm đạt mức Tốt: năm chỉ được xếp loại Tốt") and f"tháng 2/{YEAR}" in said, said
    assert reason_in(banded_year.text, "year-rating") is None
