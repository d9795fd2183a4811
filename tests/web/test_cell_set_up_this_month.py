"""A cell set up this month (org.unit.upserted.v1 through the events, under a committee) has no month ended since it
exists: its page said the half-year's score was "trung bình điểm của 5 tháng đã qua (từ tháng 7/2026 đến tháng
11/2026)" and listed Quý I–III, months and quarters from before the cell existed (a trial, December 2026).
Evaluation counts its months from the month it was set up, that month whole (queries.months_gone: 0 months gone by,
docs/architecture.md "When a cell exists"); the page says so plainly and lists only the quarters of its span. Against
the real services; the expectations are computed from the current month."""

import html
import uuid
from datetime import date, datetime

import httpx
import pytest

from deploy.seed_demo import publish
from services.gateway.web.i18n import half_year_no_rating
from shared.periods import VIETNAM_TZ, period_months
from tests.support.quiet import wait_quiet
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import officer_api_headers, signed_in_officer
from tests.web.test_half_year_months_counted import committee_with_a_new_cell

pytestmark = pytest.mark.e2e


def test_a_cell_with_no_month_gone_by_says_so_not_the_half_years_months() -> None:
    """On 5 December 2026 a cell set up in December has none of July to November: the note names its month."""
    running = date(2026, 12, 5)
    said = half_year_no_rating("2026-H2", running, rollup={"fewest_months_gone": 0, "most_months_gone": 0})
    assert "tháng đã qua" not in said and "tháng 7/2026" not in said, said
    assert "Chi bộ thành lập trong tháng 12/2026 và chưa có tháng nào kết thúc." in said, said
    assert "Vì vậy điểm là điểm của tháng 12/2026, chỉ tính khi chi bộ đã sinh hoạt thường kỳ trong tháng." in said
    assert half_year_no_rating("2026-H2", running, span=("2026-12", None)) == said  # the cell's span says the same
    september = half_year_no_rating("2026-H2", running, rollup={"fewest_months_gone": 3}, span=("2026-09", None))
    assert "trung bình điểm của 3 tháng đã qua mà chi bộ đã có, trong khoảng từ tháng 9/2026 đến tháng 11/2026" in (
        september
    ), september
    # a committee's roll-up leaves its cells' zero months out (None): the half-year's months, as before
    unknown = half_year_no_rating("2026-H2", running, rollup={"fewest_months_gone": None, "most_months_gone": None})
    assert unknown == half_year_no_rating("2026-H2", running)


async def test_a_cell_set_up_this_month_shows_only_its_own_months_and_quarters(system: RunningSystem) -> None:
    today = datetime.now(VIETNAM_TZ).date()
    current = f"{today:%Y-%m}"
    half = f"{today.year}-H{1 if today.month <= 6 else 2}"
    gone = [month for month in period_months(half) if month < current]
    quarter_now = (today.month - 1) // 3 + 1
    suffix = uuid.uuid4().hex[:8]
    committee, old, new = f"xa-thon-moi-{suffix}", f"thon-cu-{suffix}", f"thon-moi-{suffix}"
    names = ("Đảng ủy xã Thôn Mới", "Chi bộ thôn Cũ", "Chi bộ thôn Mới")
    set_up_at = datetime(today.year, today.month, 1, 9, tzinfo=VIETNAM_TZ)
    events = committee_with_a_new_cell((committee, old, new), names, year=today.year, set_up_at=set_up_at)
    amqp, database = system.env["CHIBO_AMQP_URL"], system.env["CHIBO_DATABASE_URL"]
    await publish(amqp, events)
    sub = f"can-bo-thon-moi-{suffix}"
    headers = await officer_api_headers(system, committee=committee, sub=sub)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:

        async def both_counted() -> bool:
            found = await api.get(f"/v1/committees/{committee}/rollup?period={half}")
            return found.status_code == 200 and found.json().get("cells") == 2

        await eventually(both_counted, timeout=300, interval=1)
        await wait_quiet(amqp, database, timeout=300)
        line = next(
            row
            for row in (await api.get(f"/v1/cells/{new}/ratings?period={half}")).json()["items"]
            if row["period"] == half
        )
    # the number is evaluation's over the cell's own months: none gone by, the running one not met yet
    assert line["months_gone"] == 0 and line["not_rated"] and line["score"] is None, line
    async with signed_in_officer(system, sub, committee) as client:
        page = await client.get(f"/app/cells/{new}?year={today.year}")
        assert page.status_code == 200, page.text[-800:]
        strip = page.text.split('id="rating-strip"', 1)[1].split("</ol>", 1)[0]
        assert f'data-period="{current}"' in strip and all(f'data-period="{m}"' not in strip for m in gone), strip
        table = page.text.split('id="quarters"', 1)[1].split("</table>", 1)[0]
        for quarter, name in enumerate(("Quý I/", "Quý II/", "Quý III/", "Quý IV/"), start=1):
            assert (f"{name}{today.year}</th>" in table) == (quarter >= quarter_now), (quarter, table)
        note = page.text.split(f'data-half-year-note="{half}">', 1)[1].split("</p>", 1)[0]
        own = half_year_no_rating(half, today, rollup={"fewest_months_gone": 0, "most_months_gone": 0})
        assert half_year_no_rating(half, today, span=(current, None)) == own
        assert html.escape(own, quote=False) in note, note
        assert "tháng đã qua" not in note or not gone, note
        if gone:
            assert "và chưa có tháng nào kết thúc." in note, note
