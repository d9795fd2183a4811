"""A user trial (h368): as a commune's officer, POST `/app/committees/demo-xa-hoa-binh/rescore` with
`period_from=2026-01&period_to=2027-06` (in December 2026) queued a job "Từ tháng 1/2026 đến tháng 6/2027", where the
form's picker stops at the running month and every other page refuses a later period ("nằm ngoài khoảng kỳ có thể
xem"). A span whose last period has not begun is refused alike, naming the field ("Đến kỳ: …"), on the form and on
POST /v1/rescore (shared.plausible.span_range_problem, `not_begun` on `period_to`). Over the real broker, evaluation
faked."""

import re
from datetime import datetime

import httpx

from services.gateway.web import periods
from services.gateway.web.pages.rescore import span_errors
from shared.envelope import VIETNAM_TZ
from shared.periods import next_period
from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import signed_in
from tests.gateway.test_rescore_before_data import first_data

__all__ = ["first_data"]


def ahead(months: int) -> str:
    """The month `months` after the running one (`YYYY-MM`)."""
    month = periods.this_month()
    for _ in range(months):
        month = next_period(month)
    return month


def words(month: str) -> str:
    """`6/2027` for 2027-06."""
    return f"{int(month[5:])}/{month[:4]}"


async def test_the_form_and_the_api_refuse_a_last_period_not_begun_naming_den_ky(
    client: httpx.AsyncClient,
    world: World,
    headers: dict[str, dict[str, str]],
    amqp_url: str,
    database_url: str,
    first_data: None,
) -> None:
    later, current = ahead(6), periods.this_month()
    page = f"/app/committees/{world.ward_a}/rescore"
    queued = len(world.rescore_jobs)
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        form = await officer.get(page)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        sent = await officer.post(page, data={"csrf": csrf.group(1), "period_from": "2026-01", "period_to": later})
        next_year = await officer.post(
            page, data={"csrf": csrf.group(1), "period_from": "2026-01", "period_to": str(int(current[:4]) + 1)}
        )
        this_year = await officer.post(
            page, data={"csrf": csrf.group(1), "period_from": "2026-01", "period_to": current[:4]}
        )
    assert sent.status_code == 422, sent.text[-600:]
    said = (
        f"Đến kỳ: tháng {words(later)} nằm ngoài khoảng kỳ có thể xem vì chưa bắt đầu. Vui lòng chọn một tháng từ"
        f" tháng {words(current)} trở về trước."
    )
    assert said in sent.text, sent.text[-1500:]
    said_next = f"Đến kỳ: tháng 12/{int(current[:4]) + 1} nằm ngoài"
    assert next_year.status_code == 422 and said_next in next_year.text, next_year.text[-1500:]
    # the running year is offered, and taken up to the running month
    assert this_year.status_code == 303, this_year.text[-600:]
    job = world.rescore_jobs[this_year.headers["location"].rsplit("/", 1)[1]]
    assert (job["period_from"], job["period_to"]) == ("2026-01", current), job
    assert len(world.rescore_jobs) == queued + 1

    officer_headers = headers["ward_officer"]
    refused = await client.post(
        "/v1/rescore",
        json={"unit_id": world.ward_a, "period_from": "2026-01", "period_to": later},
        headers=officer_headers,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"].endswith("period_to") and "not begun" in refused.json()["message"], refused.text
    taken = await client.post(
        "/v1/rescore",
        json={"unit_id": world.ward_a, "period_from": "2026-01", "period_to": current},
        headers=officer_headers,
    )
    assert taken.status_code == 202, taken.text


def test_every_month_after_the_running_one_is_refused_on_period_to() -> None:
    at = datetime.now(VIETNAM_TZ)
    for months in (1, 6, 24):
        assert set(span_errors("2026-01", ahead(months), at)) == {"period_to"}, months
    assert span_errors("2026-01", periods.this_month(), at) == {}
