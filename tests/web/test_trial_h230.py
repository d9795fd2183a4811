"""A new user's trial on the demo province: the overview's period list left out the demo's first month (December
2025) and its quarter, and the year's trend ran over months before the cells existed (#5); the committee page's
`?period=2024` answered 200 "Chưa có dữ liệu" where the cell page's `?year=2024` was a 404 (#10); Q4/2025 read
"Kém" at 100 without a word why (a quarter without its thematic meeting, DOMAIN.md "Periods")."""

import html
import json
import re

import pytest

from services.gateway.web.i18n import format_period
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, MONTHS, signed_in

pytestmark = pytest.mark.e2e

COMMITTEE = "demo-tinh-uy"
CELL = "demo-cb-thon-1"
THEMATIC_RULE = (
    "Chi bộ chưa sinh hoạt chuyên đề trong quý bị xếp loại Kém dù điểm đạt mức nào (mỗi quý phải sinh hoạt chuyên đề"
    " ít nhất một lần)."
)
NO_THEMATIC = "chưa sinh hoạt chuyên đề trong quý (mỗi quý phải sinh hoạt chuyên đề ít nhất một lần)"
"""The thematic rule's reason after the rating and the band its score reached (`Kém dù điểm đạt mức Tốt: …`), or
`Kém vì …` without a band."""


def offered(page: str) -> list[str]:
    """The values of the page's period chooser."""
    chooser = page[page.index('<select id="period"') : page.index("</select>", page.index('<select id="period"'))]
    return re.findall(r'<option value="([^"]+)"', chooser)


def trend_months(page: str) -> list[str]:
    """The months the trend chart draws, as its axis names them (no-break spaces read as spaces)."""
    option = re.search(r'id="chart-trend" data-chart="([^"]+)"', page)
    assert option is not None, page[:500]
    return [month.replace("\u00a0", " ") for month in json.loads(html.unescape(option.group(1)))["xAxis"]["data"]]


def quarter_of(month: str) -> str:
    """`2025-Q4` of `2025-12`."""
    return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"


async def test_every_period_with_data_is_offered_and_the_trend_starts_with_the_data(
    system: RunningSystem, province: dict[str, str]
) -> None:
    first = MONTHS[0]
    async with signed_in(system, "officer") as client:
        page = await client.get(f"/app/committees/{COMMITTEE}")
        assert page.status_code == 200, page.text[:500]
        choices = offered(page.text)
        assert {first, quarter_of(first), first[:4]} <= set(choices), choices
        assert not any(choice < first for choice in choices if len(choice) == 7 and "Q" not in choice), choices
        year = await client.get(f"/app/committees/{COMMITTEE}?period={DEMO.first_year}")
        assert year.status_code == 200, year.text[:500]
        drawn = trend_months(year.text)
        assert drawn and drawn[0] == format_period(first), drawn
        months_of_year = [month for month in MONTHS if month[:4] == DEMO.first_year]
        assert drawn == [format_period(month) for month in months_of_year], drawn
        # the cell's strip of that year too: its months from the one it was set up in, each by its own number
        cell = await client.get(f"/app/cells/{CELL}?year={DEMO.first_year}")
        assert cell.status_code == 200, cell.text[:500]
        start = cell.text.index('id="rating-strip"')
        strip = cell.text[start : cell.text.index("</ol>", start)]
        assert re.findall(r'<li class="rating [a-z]+" data-period="([^"]+)"', strip) == months_of_year, strip
        assert f"Tháng {int(first[5:7])}</span>" in strip, strip


async def test_a_period_before_the_data_is_a_404_on_every_page_taking_one(
    system: RunningSystem, province: dict[str, str]
) -> None:
    before_year = str(int(DEMO.first_year) - 1)
    year, month = int(MONTHS[0][:4]), int(MONTHS[0][5:7]) - 1
    before_month = f"{year - 1}-12" if month == 0 else f"{year}-{month:02d}"
    span = f"từ {format_period(MONTHS[0], within=True)}"
    async with signed_in(system, "officer") as client:
        for period in (before_year, before_month, f"{before_year}-Q4"):
            for path in ("", "/report.csv", "/report.pdf"):
                answer = await client.get(f"/app/committees/{COMMITTEE}{path}?period={period}")
                assert answer.status_code == 404, (path, period, answer.status_code, answer.text[:300])
                assert "Không có dữ liệu của kỳ này" in answer.text and span in answer.text, answer.text[-1500:]
        cell = await client.get(f"/app/cells/{CELL}?year={before_year}")
        assert cell.status_code == 404 and "Không có dữ liệu của năm này" in cell.text
        evidence = await client.get(f"/app/cells/{CELL}/evidence?year={before_year}")
        assert evidence.status_code == 404
        # a period with data still answers, the first one too
        assert (await client.get(f"/app/committees/{COMMITTEE}?period={MONTHS[0]}")).status_code == 200
        assert (await client.get(f"/app/committees/{COMMITTEE}/report.csv?period={MONTHS[0]}")).status_code == 200


async def test_a_quarter_rated_poor_for_its_missing_thematic_meeting_says_so(
    system: RunningSystem, province: dict[str, str]
) -> None:
    first = MONTHS[0]
    # the seed holds each quarter's thematic meeting in its latest month of history: a first quarter of one month
    # (December's seed) has none and is Kém for it; one holding later months has it, and no reason is said
    lone = quarter_of(first) != quarter_of(MONTHS[1])
    quarter = quarter_of(first)
    async with signed_in(system, "officer") as client:
        page = await client.get(f"/app/cells/{CELL}?year={first[:4]}")
        assert page.status_code == 200, page.text[:500]
        overview = await client.get(f"/app/committees/{COMMITTEE}?period={quarter}")
        assert overview.status_code == 200, overview.text[:500]
    row = re.search(rf"<tr><th scope=\"row\">{re.escape(format_period(quarter))}</th>(.*?)</tr>", page.text)
    assert row is not None, page.text
    if lone:
        # the overview's weakest cells read Kém at their scores too: the rule said beside them
        assert THEMATIC_RULE in overview.text, overview.text
        assert "Kém" in row.group(1) and NO_THEMATIC in row.group(1), row.group(1)
    else:
        assert NO_THEMATIC not in row.group(1), row.group(1)


def test_the_reason_is_given_only_where_the_rule_lowered_the_rating() -> None:
    from services.gateway.web.i18n import rating_reason  # noqa: PLC0415  (added by the fix: the others still run)

    # the reason is evaluation's (its `rating_reason`, services/evaluation/domain/periods.py), never judged again here
    reason = {"code": "no_thematic_meeting", "band": "good"}
    closed = {"period": "2025-Q4", "rating": "poor", "score": 100.0, "flags": ["no_thematic_meeting"]}
    assert rating_reason(closed | {"rating_reason": reason}) == f"Kém dù điểm đạt mức Tốt: {NO_THEMATIC}"
    assert rating_reason(closed | {"rating_reason": {"code": "no_thematic_meeting"}}) == f"Kém vì {NO_THEMATIC}"
    assert rating_reason(closed) is None
    assert rating_reason(closed | {"rating_reason": reason, "rating": None}) is None
    assert rating_reason(None) is None
