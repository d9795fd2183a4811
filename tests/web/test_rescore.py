"""Re-scoring after a framework change, in Chromium: a commune officer starts it for their committee, picking its
periods as the committee page's picker offers them (a half-year among them: a month input could not take one), the form
refuses bad months naming the field in Vietnamese, and the progress bar follows the job to 100 %, with the API's
figures; other committees and other people's jobs answer 404."""

import httpx
import pytest
from playwright.async_api import Browser

from shared.periods import period_months
from tests.support.system import RunningSystem
from tests.web.conftest import MONTHS, PERIOD, RUNNING, csrf_of, screenshot, sign_in, signed_in

pytestmark = pytest.mark.e2e
HALF_WORDS = {"1": "đầu", "2": "cuối"}
"""How a half-year's label names it: `6 tháng đầu năm 2026` (H1), `6 tháng cuối năm 2026` (H2)."""


def half_year(month: str) -> str:
    """The half-year holding a month `YYYY-MM`: `2026-H2` for 2026-11."""
    return f"{month[:4]}-H{1 if month[5:] <= '06' else 2}"


async def test_an_officer_rescores_their_committee_and_watches_the_progress_bar(
    browser: Browser, system: RunningSystem, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browser, system, "commune-officer")
    await page.wait_for_url("**/app/committees/demo-xa-hoa-binh")
    await page.get_by_role("link", name="Chấm lại điểm khi đổi bộ tiêu chí").click()
    await page.wait_for_url("**/app/committees/demo-xa-hoa-binh/rescore")
    # the pickers offer what the committee page's picker offers (a month input could not take a half-year)
    committee = await page.context.new_page()
    await committee.goto(f"{system.gateway_url}/app/committees/demo-xa-hoa-binh")
    offered = await committee.locator("#period option").evaluate_all("options => options.map(o => o.value)")
    await committee.close()
    assert await page.locator("#period_from option").evaluate_all("options => options.map(o => o.value)") == offered
    assert await page.locator("#period_to option").evaluate_all("options => options.map(o => o.value)") == [
        "",
        *offered,
    ]
    await page.get_by_label("Từ kỳ").select_option(MONTHS[-2])
    await page.get_by_label("Đến kỳ").select_option(MONTHS[1])
    await page.get_by_role("button", name="Bắt đầu chấm lại").click()
    assert "Đến kỳ: không được trước kỳ bắt đầu." in await page.locator("#rescore-errors").inner_text()
    # a last period still running is taken: the page says the job re-scores up to now
    hint = await page.locator("#period-to-hint").inner_text()
    assert "“Đến kỳ” có thể là một kỳ chưa tới" in hint and "chỉ tính đến thời điểm hiện tại" in hint, hint
    await screenshot(page, "rescore-form")
    # by id: the last month's error is part of its input's accessible name; a half-year, named in Vietnamese, to the
    # half-year in progress (its last month still ahead)
    first_half, last_half = half_year(MONTHS[1]), half_year(RUNNING)
    await page.locator("#period_from").select_option(label=f"6 tháng {HALF_WORDS[first_half[-1]]} năm {first_half[:4]}")
    await page.locator("#period_to").select_option(last_half)
    await page.get_by_role("button", name="Bắt đầu chấm lại").click()
    await page.wait_for_url("**/app/committees/demo-xa-hoa-binh/rescore/*")
    job_id = page.url.rsplit("/", 1)[1]

    # the script polls the JSON and fills the bar until the job is done (three cells)
    await page.wait_for_selector('#rescore[data-status="done"]', timeout=300_000)
    assert await page.locator("#rescore-progress").evaluate("bar => bar.value") == 100
    assert await page.locator("#rescore-status").inner_text() == "Hoàn thành"
    assert await page.locator("#rescore-error").is_hidden()
    job = (await api.get(f"/v1/rescore/{job_id}")).json()
    assert job["status"] == "done" and job["unit_id"] == "demo-xa-hoa-binh" and job["cells_total"] == 3
    # the months the half-years span, as the API reads them
    assert (job["period_from"], job["period_to"]) == (period_months(first_half)[0], period_months(last_half)[-1]), job
    assert await page.locator("#rescore-text").inner_text() == "3/3 chi bộ (100%)"
    assert await page.locator("#rescore-meetings").inner_text() == str(job["meetings_rescored"])
    assert await page.locator("#rescore-meetings-changed").inner_text() == str(job["meetings_changed"])
    # the count is of meetings whose score changed (not of "points changed", as the label read in the user trial)
    labels = await page.locator("#rescore dt").all_inner_texts()
    assert "Số buổi sinh hoạt có điểm thay đổi" in labels, labels
    assert await page.locator("#rescore-periods-changed").inner_text() == str(job["periods_changed"])
    assert await page.locator("#rescore-changed").inner_text() == str(job["changed"])
    assert job["changed"] == job["meetings_changed"] + job["periods_changed"]
    await screenshot(page, "rescore-progress")
    await page.context.close()


async def test_rescoring_outside_ones_committee_answers_404(system: RunningSystem, province: dict[str, str]) -> None:
    async with signed_in(system, "commune-officer") as commune:
        assert (await commune.get("/app/committees/demo-phuong-an-phu/rescore")).status_code == 404
        form = await commune.get("/app/committees/demo-xa-hoa-binh/rescore")
        started = await commune.post(
            "/app/committees/demo-xa-hoa-binh/rescore",
            data={"csrf": csrf_of(form.text), "period_from": MONTHS[-2], "period_to": PERIOD},
        )
        assert started.status_code == 303
        job_page = started.headers["location"]
        job_id = job_page.rsplit("/", 1)[1]
        assert (await commune.get(job_page)).status_code == 200
        progress = (await commune.get(job_page + "/progress.json")).json()
        assert progress["status"] in ("queued", "running", "done") and 0 <= progress["percent"] <= 100
        # the other ward's committee, even when its form is posted to directly
        other = await commune.post(
            "/app/committees/demo-phuong-an-phu/rescore",
            data={"csrf": csrf_of(form.text), "period_from": MONTHS[-2]},
        )
        assert other.status_code == 404
        assert (await commune.get(f"/app/committees/demo-tinh-uy/rescore/{job_id}")).status_code == 404
    async with signed_in(system, "officer") as province_officer:
        # the job belongs to the commune: not under the province's path
        assert (await province_officer.get(f"/app/committees/demo-tinh-uy/rescore/{job_id}")).status_code == 404
        assert (await province_officer.get("/app/committees/demo-tinh-uy/rescore/no-such-job")).status_code == 404
        assert (await province_officer.get(job_page)).status_code == 200
    for who in ("secretary", "member"):
        async with signed_in(system, who) as person:
            assert (await person.get("/app/committees/demo-xa-hoa-binh/rescore")).status_code == 404, who
            assert (await person.get(job_page + "/progress.json")).status_code == 404, who
