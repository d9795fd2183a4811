"""Trial 22 #6: `POST /v1/rescore` over 2000-01..2025-03 for a committee whose data begins in 2025-12 answered 202 and
queued a job re-scoring 0 meetings, where the committee's pages answer 404 "Không có dữ liệu" for those months; a span
ending before the unit's first month of data is now a 422 naming `period_to` (shared.plausible.span_range_problem,
`before_data`), in Vietnamese on the form. The form's "Từ tháng" took a quarter (`2026-Q1`, seven characters as a
month is) though it asks for a month: a quarter, a half-year or a year typed in is now read as its months, as the
API reads them, and anything else is refused in Vietnamese naming the forms taken. Over the real broker, evaluation
faked (World.first_months)."""

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.gateway.conftest import RPC_TIMEOUT
from tests.gateway.fakes import FakeServices, World
from tests.gateway.test_minutes_label_pages import signed_in

FIRST = "2025-12"


@pytest.fixture
def first_data(world: World) -> Iterator[None]:
    """Ward A has data from December 2025."""
    world.first_months[world.ward_a] = FIRST
    yield
    world.first_months.clear()


async def test_the_api_refuses_a_span_ending_before_the_committees_data_naming_period_to(
    client: httpx.AsyncClient, world: World, headers: dict[str, dict[str, str]], first_data: None
) -> None:
    officer = headers["ward_officer"]
    before = {"unit_id": world.ward_a, "period_from": "2000-01", "period_to": "2025-03"}
    refused = await client.post("/v1/rescore", json=before, headers=officer)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"].endswith("period_to") and FIRST in refused.json()["message"], refused.text
    within = await client.post("/v1/rescore", json=before | {"period_to": "2025-Q4"}, headers=officer)
    assert within.status_code == 202, within.text
    open_ended = await client.post(
        "/v1/rescore", json={"unit_id": world.ward_a, "period_from": "2000-01"}, headers=officer
    )
    assert open_ended.status_code == 202, open_ended.text


async def test_the_form_says_in_vietnamese_which_field_is_wrong(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, first_data: None
) -> None:
    page = f"/app/committees/{world.ward_a}/rescore"
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        form = await officer.get(page)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        before = await officer.post(
            page, data={"csrf": csrf.group(1), "period_from": "2000-01", "period_to": "2025-03"}
        )
        typo = await officer.post(page, data={"csrf": csrf.group(1), "period_from": "2026-H3", "period_to": ""})
        # a half-year (a trial's `2026-H2` was refused) or a quarter typed in (a browser without a month picker)
        # means its months, as the API reads them: from its first month, to its last
        half = await officer.post(page, data={"csrf": csrf.group(1), "period_from": "2025-H2", "period_to": "2026-H1"})
    assert before.status_code == 422, before.text[-600:]
    said = (
        "Đến kỳ: đơn vị chỉ có dữ liệu từ tháng 12/2025 nên không có gì để chấm lại đến tháng 3/2025. Vui lòng"
        " chọn một tháng từ tháng 12/2025 trở về sau."
    )
    assert said in before.text, before.text[-1500:]
    assert typo.status_code == 422, typo.text[-600:]
    said = (
        "Từ kỳ: vui lòng nhập tháng theo dạng năm-tháng (ví dụ 2026-09), hoặc một quý (2026-Q3), 6 tháng (2026-H2)"
        " hay cả năm (2026)."
    )
    assert said in typo.text, typo.text[-1500:]
    assert half.status_code == 303, half.text[-600:]
    job = world.rescore_jobs[half.headers["location"].rsplit("/", 1)[1]]
    assert (job["period_from"], job["period_to"]) == ("2025-07", "2026-06"), job


@pytest.fixture
def province_data(world: World) -> Iterator[None]:
    """The province has data from December 2025 (its root's subtree; no other root has any)."""
    world.first_months[world.root] = FIRST
    yield
    world.first_months.clear()


async def test_the_whole_provinces_rescore_is_refused_before_its_data_as_a_committees_is(
    client: httpx.AsyncClient,
    world: World,
    headers: dict[str, dict[str, str]],
    amqp_url: str,
    database_url: str,
    province_data: None,
) -> None:
    """An administrator's re-score without `unit_id` (every cell of the province) over 2000-01..2025-03 was queued,
    re-scoring nothing, where a committee's was refused: the province's first month of data (its roots') bounds it
    alike. The province officer's re-score of the province, by the API and the form, is its root committee's."""
    before = {"period_from": "2000-01", "period_to": "2025-03"}
    for who, body in (("admin", before), ("province_officer", before | {"unit_id": world.root})):
        refused = await client.post("/v1/rescore", json=body, headers=headers[who])
        assert refused.status_code == 422, (who, refused.text)
        said = refused.json()
        assert said["field"].endswith("period_to") and FIRST in said["message"], (who, refused.text)
        within = await client.post("/v1/rescore", json=body | {"period_to": "2025-12"}, headers=headers[who])
        assert within.status_code == 202, (who, within.text)
    open_ended = await client.post("/v1/rescore", json={"period_from": "2000-01"}, headers=headers["admin"])
    assert open_ended.status_code == 202, open_ended.text
    page = f"/app/committees/{world.root}/rescore"
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.root, None) as officer:
        form = await officer.get(page)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        sent = await officer.post(page, data={"csrf": csrf.group(1), **before})
    assert sent.status_code == 422, sent.text[-600:]
    assert "Đến kỳ: đơn vị chỉ có dữ liệu từ tháng 12/2025" in sent.text, sent.text[-1500:]


async def test_the_form_sent_while_evaluation_does_not_answer_says_so_after_one_timeout(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    """The form reads the committee's first month from evaluation, which queues the job too: while it is silent the
    form waited a timeout for the month, then the API's check a second one, and answered "Hệ thống đang bận" with no
    way back to the form. Now one timeout, and the form again saying nothing was sent (the months could not be
    checked), or, without a last month (the job asked for at once), that it may already have started."""
    page = f"/app/committees/{world.ward_a}/rescore"
    back = f'action="{page}"'
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        form = await officer.get(page)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        answers = []
        await fakes.evaluation.stop()
        try:
            for last in ("2026-03", ""):
                started = time.monotonic()
                key = re.search(r'name="form_key" value="([^"]+)"', form.text)
                assert key is not None
                sent = await officer.post(
                    page,
                    data={"csrf": csrf.group(1), "form_key": key.group(1), "period_from": "2026-01", "period_to": last},
                )
                answers.append((sent, time.monotonic() - started))
        finally:
            await fakes.evaluation.start()
    (checked, checked_took), (asked, asked_took) = answers
    assert checked.status_code == 503 and "biểu mẫu này chưa được gửi đi" in checked.text, checked.text[-1500:]
    assert back in checked.text and 'name="period_to" value="2026-03">' in checked.text
    assert checked_took < 1.5 * RPC_TIMEOUT, checked_took
    assert asked.status_code == 503 and "có thể nội dung đã được lưu" in asked.text, asked.text[-1500:]
    assert back in asked.text and asked_took < 1.5 * RPC_TIMEOUT, asked_took
