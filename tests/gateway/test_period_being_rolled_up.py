"""A period inside a committee's data whose roll-up evaluation has not made yet (its facts arriving as the page is
asked) is "no data yet" with 200, never the 404 saying the period lies outside the span it then names: CI's run of
tests/web/test_half_year_late_minutes.py answered "Không có dữ liệu của 6 tháng đầu năm 2026 …: đơn vị này có dữ
liệu từ tháng 1/2026 đến tháng 12/2026" (the first month was read after the roll-up answered nothing). Over the
fakes (World.rolling_up); a period ending before the first month keeps its 404."""

from services.gateway.bootstrap import GatewayState
from services.gateway.web.periods import ends_before
from shared.envelope import now
from shared.periods import month_of, previous_period
from tests.gateway.fakes import World
from tests.support.ids import random_id
from tests.support.web import signed_in_web


async def test_a_period_in_the_span_not_rolled_up_yet_is_no_data_yet_not_outside_the_span(
    app_and_state: tuple[object, GatewayState], world: World, amqp_url: str, database_url: str
) -> None:
    committee, cell = random_id("xa-dang-tinh"), random_id("thon-dang-tinh")
    world.add_unit(committee, "Đảng ủy xã Đang Tính", "committee", None)
    world.add_unit(cell, "Chi bộ thôn Đang Tính", "cell", committee)
    period = previous_period(month_of(now()))  # the month last ended
    first = previous_period(previous_period(period))  # data from two months before it
    world.first_months[committee] = first
    world.rolling_up.add((committee, period))
    app, _ = app_and_state
    base = f"/app/committees/{committee}"
    async with signed_in_web(app, "xa-dang", "committee_officer", committee, database_url, amqp_url) as web:
        page = await web.get(f"{base}?period={period}")
        assert page.status_code == 200, page.text[-800:]
        assert 'data-state="no_data"' in page.text and "Chưa có dữ liệu" in page.text, page.text[-800:]
        assert "vui lòng chọn một kỳ trong khoảng đó" not in page.text
        for path in ("/report.csv", "/report.pdf"):
            asked = await web.get(f"{base}{path}?period={period}")
            assert asked.status_code == 200, (path, asked.text[-800:])
        before = previous_period(first)  # a month before the data: the 404 naming the span, as before
        outside = await web.get(f"{base}?period={before}")
        assert outside.status_code == 404, outside.text[-800:]
        assert "vui lòng chọn một kỳ trong khoảng đó" in outside.text, outside.text[-800:]


def test_ends_before_reads_the_periods_last_month() -> None:
    """periods.ends_before: a half-year, quarter, year or month before the first month, never one reaching into it."""
    assert not ends_before("2026-H1", "2026-01") and not ends_before("2026-H1", "2026-06")
    assert ends_before("2026-H1", "2026-07") and ends_before("2025", "2026-01") and not ends_before("2026", "2026-12")
    assert ends_before("2026-Q1", "2026-04") and not ends_before("2026-Q2", "2026-04")
    assert not ends_before("2026-03", None) and ends_before("2026-03", "2026-04")
    assert not ends_before("2026-04", "2026-04")
