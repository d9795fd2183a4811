"""Re-scoring after a framework change, in Chromium: a commune officer starts it for their committee, the form
refuses bad months naming the field in Vietnamese, and the progress bar follows the job to 100 %, with the API's
figures; other committees and other people's jobs answer 404."""

import httpx
import pytest
from playwright.async_api import Browser

from tests.support.system import RunningSystem
from tests.web.conftest import MONTHS, PERIOD, csrf_of, screenshot, sign_in, signed_in

pytestmark = pytest.mark.e2e


async def test_an_officer_rescores_their_committee_and_watches_the_progress_bar(
    browser: Browser, system: RunningSystem, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browser, system, "commune-officer")
    await page.wait_for_url("**/app/committees/demo-xa-hoa-binh")
    await page.get_by_role("link", name="Chấm lại điểm khi đổi bộ tiêu chí").click()
    await page.wait_for_url("**/app/committees/demo-xa-hoa-binh/rescore")
    await page.get_by_label("Từ tháng").fill("")
    await page.get_by_role("button", name="Bắt đầu chấm lại").click()
    assert "Từ tháng: không được để trống." in await page.locator("#rescore-errors").inner_text()
    await page.get_by_label("Từ tháng").fill("2026-06")
    await page.get_by_label("Đến tháng").fill("2026-02")
    await page.get_by_role("button", name="Bắt đầu chấm lại").click()
    assert "Đến tháng: không được trước tháng bắt đầu." in await page.locator("#rescore-errors").inner_text()
    # the user trial: a first month not begun read "hệ thống không chấp nhận giá trị này"; it says why now
    await page.get_by_label("Từ tháng").fill("2030-01")
    await page.get_by_label("Đến tháng").fill("")
    await page.get_by_role("button", name="Bắt đầu chấm lại").click()
    said = await page.locator("#rescore-errors").inner_text()
    assert "Từ tháng: tháng 1/2030 chưa bắt đầu nên chưa có gì để chấm lại." in said, said
    assert "không chấp nhận" not in said
    # trial 21: a last month of 9999-12 went to a progress page reading only "Bị lỗi"; the form says why now
    await page.get_by_label("Từ tháng").fill("2026-01")
    await page.get_by_label("Đến tháng").fill("9999-12")
    await page.get_by_role("button", name="Bắt đầu chấm lại").click()
    said = await page.locator("#rescore-errors").inner_text()
    assert "Đến tháng: tháng 12/9999 cách hiện tại hơn hai năm." in said, said
    # a last month still ahead is taken: the page says the job re-scores up to now
    assert "chỉ tính đến thời điểm hiện tại" in await page.locator("#period-to-hint").inner_text()
    await screenshot(page, "rescore-form")
    # by id: the last month's error ("… từ tháng 12/2028 trở về trước") is part of its input's accessible name
    await page.locator("#period_from").fill(MONTHS[1])
    await page.locator("#period_to").fill(PERIOD)
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
    assert job["period_from"] == MONTHS[1] and job["period_to"] == PERIOD
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
