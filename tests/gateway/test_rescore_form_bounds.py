"""The re-score form's pickers offer the committee pages' periods (periods.choices from the committee's first month of
data): a month picker could not take a half-year (`2026-H2`), though the API and a value typed in took it; and every
period offered is one the server takes (shared.plausible.span_range_problems: the month picker's bounds, 1/1900 and
12/9999 refused once offered, are now the committee's data up to now). Over the real broker, evaluation faked."""

import re
from datetime import datetime

import httpx

from services.gateway.web import periods
from services.gateway.web.pages.rescore import span_errors
from shared.envelope import VIETNAM_TZ
from shared.periods import period_months
from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import signed_in
from tests.gateway.test_rescore_before_data import FIRST, first_data

__all__ = ["first_data"]


def options(page: str, name: str) -> list[tuple[str, str]]:
    """The (value, label) of each option of the page's `name` picker, in order."""
    found = re.search(f'<select id="{name}" name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert found is not None, page[-1500:]
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', found.group(1))


async def test_the_pickers_offer_the_committee_pages_periods_half_years_among_them(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, first_data: None
) -> None:
    page = f"/app/committees/{world.ward_a}/rescore"
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        form = await officer.get(page)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        refused = await officer.post(
            page, data={"csrf": csrf.group(1), "period_from": "2026-H2", "period_to": "1999-12"}
        )
    assert form.status_code == 200, form.text[-600:]
    offered = periods.choices(first_month=FIRST)
    year = periods.this_month()[:4]
    half = f"{year}-H2" if periods.this_month()[5:] > "06" else f"{year}-H1"
    assert half in offered and year in offered and f"{year}-Q1" in offered
    assert [value for value, _ in options(form.text, "period_from")] == offered
    assert [value for value, _ in options(form.text, "period_to")] == ["", *offered]  # empty: up to now
    labels = dict(options(form.text, "period_to"))
    assert labels[f"{year}-H1"] == f"6 tháng đầu năm {year}" and labels[year] == f"Năm {year}", labels
    assert labels[""] == "Đến thời điểm hiện tại"
    # each period offered is taken, from its first month or to its last (what the form sends the API)
    at = datetime.now(VIETNAM_TZ)
    for period in offered:
        assert span_errors(period_months(period)[0], None, at, first_month=FIRST) == {}, period
        assert span_errors(FIRST, period_months(period)[-1], at, first_month=FIRST) == {}, period
    # a refused form shows the half-year chosen as chosen, and the value sent beside its error
    assert refused.status_code == 422, refused.text[-600:]
    assert '<option value="2026-H2" selected>' in refused.text.split('id="period_from"', 1)[1].split("</select>")[0]
    assert '<option value="1999-12" selected>' in refused.text.split('id="period_to"', 1)[1].split("</select>")[0]
