"""The upper-level monitor in Chromium: the cells they follow with the API's latest ratings, and confirming a
meeting's assessment from there (Vietnamese validation naming the item); their own inbox and how they get notices
on the same page; other people and other cells: 404."""

import re

import httpx
import pytest
from playwright.async_api import Browser

from services.gateway.web.data import month_shown
from services.gateway.web.i18n import format_number
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import MONTHS, PERIOD, api_token, csrf_of, screenshot, sign_in, signed_in

pytestmark = pytest.mark.e2e

FOLLOWED = ("demo-cb-thon-1", "demo-cb-thon-2", "demo-cb-truong-th")
MEETING = f"demo-cb-truong-th-{MONTHS[-3]}"
"""The school cell's meeting three months back (a month no other web test reads)."""


def period(row: dict) -> str:
    """A rating's period, for ordering months."""
    return str(row["period"])


async def test_a_monitor_sees_the_cells_they_follow_and_confirms_an_assessment(
    browser: Browser, system: RunningSystem, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browser, system, "monitor")
    await page.wait_for_url("**/app/committees/demo-xa-hoa-binh")
    await page.get_by_role("link", name="Chi bộ phụ trách").click()
    await page.wait_for_url("**/app/monitoring")
    cells = page.locator("section[data-cell]")
    assert {await cells.nth(i).get_attribute("data-cell") for i in range(await cells.count())} == set(FOLLOWED)
    for cell_id in FOLLOWED:
        ratings = (await api.get(f"/v1/cells/{cell_id}/ratings?limit=200")).json()["items"]
        latest = max((row for row in ratings if "Q" not in row["period"] and len(row["period"]) == 7), key=period)
        month = page.locator(f'section[data-cell="{cell_id}"] li[data-period="{latest["period"]}"]')
        assert await page.locator(f'section[data-cell="{cell_id}"] li[data-period*="Q"]').count() == 0
        expected = month_shown(latest)  # the running month before its meeting: no score yet, "chưa sinh hoạt"
        assert await month.locator("[data-score]").inner_text() == format_number(expected["score"])
        assert await month.locator("[data-not-met-yet]").count() == (1 if expected.get("not_met_yet") else 0)

    row = page.locator(f'tr[data-meeting="{MEETING}"]')
    assert await row.locator("[data-confirmed]").get_attribute("data-confirmed") == "false"
    await row.get_by_role("link", name="Xác nhận đánh giá").click()
    await page.wait_for_url(f"**/app/monitoring/meetings/{MEETING}")
    await screenshot(page, "monitor-confirm")
    procedure = page.get_by_label("Đúng trình tự, thủ tục", exact=False)
    await procedure.fill("nhiều")
    await page.get_by_role("button", name="Xác nhận đánh giá").click()
    errors = await page.locator("#confirm-errors").inner_text()
    assert "Đúng trình tự, thủ tục: vui lòng nhập số." in errors
    await page.get_by_label("Đúng trình tự, thủ tục", exact=False).fill("9")
    await page.get_by_role("button", name="Xác nhận đánh giá").click()
    assert "Đúng trình tự, thủ tục: từ 0 đến 5 điểm." in await page.locator("#confirm-errors").inner_text()
    await page.get_by_label("Đúng trình tự, thủ tục", exact=False).fill("4")
    await page.get_by_label("Nhận xét").fill("Cấp ủy viên phụ trách xác nhận")
    await page.get_by_role("button", name="Xác nhận đánh giá").click()
    await page.wait_for_url("**/app/monitoring?notice=confirmed*")

    async def confirmed() -> dict | None:
        meeting = (await api.get(f"/v1/meetings/{MEETING}")).json()
        score = (await api.get(f"/v1/meetings/{MEETING}/score")).json()
        monitor = [entry for entry in meeting["assessments"] if entry["role"] == "upper_monitor"]
        procedure = next(line for line in score["criteria"] if line["code"] == "conduct.procedure")
        return monitor[0] if monitor and procedure["points"] == 4 else None

    entry = await eventually(confirmed, timeout=120, interval=0.5)
    assert entry["person_id"] == "demo-xa-hoa-binh-uv1" and entry["points"]["conduct.procedure"] == 4

    async def shown() -> bool:
        await page.reload()
        flag = page.locator(f'tr[data-meeting="{MEETING}"] [data-confirmed]')
        return await flag.get_attribute("data-confirmed") == "true"

    await eventually(shown, timeout=60, interval=1)
    await screenshot(page, "monitor-cells")
    await page.context.close()


async def test_monitoring_pages_outside_ones_own_cells_answer_404_and_other_roles_403(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    async with signed_in(system, "monitor") as client:
        assert (await client.get("/app/monitoring")).status_code == 200
        # a cell of the other ward: not followed, not in the subtree
        outside = await client.get(f"/app/monitoring/meetings/demo-cb-kp-3-{PERIOD}")
        assert outside.status_code == 404 and "Không tìm thấy trang" in outside.text
        assert (await client.get("/app/monitoring/meetings/no-such-meeting")).status_code == 404
    for who in ("secretary", "member", "commune-officer"):  # no person followed as monitor: a 403 saying who may
        async with signed_in(system, who) as client:
            for path in ("/app/monitoring", f"/app/monitoring/meetings/{MEETING}"):
                refused = await client.get(path)
                assert refused.status_code == 403, (who, path)
                assert "dành cho cấp ủy viên được phân công phụ trách chi bộ" in refused.text, (who, path)


async def test_a_monitor_reads_their_own_notices_on_the_monitoring_page(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    """The notices sent to the monitor as a person (the followed cells' meetings scheduled) are the API's /v1/me/inbox
    for them, newest first, and no one else's: the page shows exactly those, under the Vietnamese heading."""
    token = await api_token(
        system, role="committee_officer", unit="demo-xa-hoa-binh", person="demo-xa-hoa-binh-uv1", sub="api-monitor"
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with signed_in(system, "monitor") as client:

        async def agree() -> str | None:
            items = (await api.get("/v1/me/inbox?limit=20", headers=headers)).json()["items"]
            html = (await client.get("/app/monitoring")).text
            shown = re.findall(r'data-notification="([^"]+)"', html)
            scheduled = any(item["rule"] == "meeting_scheduled" for item in items)
            return html if scheduled and shown == [item["notification_id"] for item in items] else None

        html = await eventually(agree, timeout=120, interval=0.5)
    assert "Hộp thư của tôi" in html
    assert "Thông báo lịch sinh hoạt: Chi bộ thôn 1" in html


@pytest.mark.usefixtures("province")  # the monitor's committee is the demo province's: its token needs the unit
async def test_a_monitor_chooses_how_they_get_notices_on_the_monitoring_page(system: RunningSystem) -> None:
    """The monitoring page's form stores the monitor's channels and digest choice (the API's /v1/me/preferences
    agrees); an unknown channel is refused in Vietnamese listing the choices, and nothing is stored; none ticked is
    the inbox alone, which is always on; others get a 403 page saying who may."""
    token = await api_token(
        system, role="committee_officer", unit="demo-xa-hoa-binh", person="demo-xa-hoa-binh-uv1", sub="api-monitor"
    )
    async with (
        signed_in(system, "monitor") as client,
        httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as api,
    ):
        csrf = csrf_of((await client.get("/app/monitoring")).text)
        saved = await client.post(
            "/app/monitoring/preferences", data={"csrf": csrf, "channels": ["email", "inbox"], "digest": "on"}
        )
        assert saved.status_code == 303 and saved.headers["location"].endswith(
            "/app/monitoring?notice=saved#prefs-title"
        )
        stored = (await api.get("/v1/me/preferences")).json()
        assert stored["channels"] == ["email", "inbox"] and stored["digest"] is True
        page = (await client.get("/app/monitoring?notice=saved")).text
        assert "Đã lưu." in page and 'name="digest" id="digest" checked' in page

        refused = await client.post("/app/monitoring/preferences", data={"csrf": csrf, "channels": ["pigeon"]})
        assert refused.status_code == 422
        # no SMS gateway here: the page shows SMS disabled, so the error lists e-mail alone (it listed SMS: h191)
        assert "Kênh nhận thông báo: “pigeon” không nằm trong các lựa chọn cho phép (Thư điện tử)." in refused.text
        assert (await api.get("/v1/me/preferences")).json()["channels"] == ["email", "inbox"]
        # none of the others ticked: the inbox alone, which is always on and shown so
        inbox_only = await client.post("/app/monitoring/preferences", data={"csrf": csrf, "digest": "on"})
        assert inbox_only.status_code == 303
        assert (await api.get("/v1/me/preferences")).json()["channels"] == ["inbox"]
        page = (await client.get("/app/monitoring")).text
        assert 'value="inbox" checked disabled' in page and 'name="channels" value="email" checked' not in page
    async with signed_in(system, "secretary") as client:
        csrf = csrf_of((await client.get("/app/me")).text)
        other = await client.post("/app/monitoring/preferences", data={"csrf": csrf, "channels": ["inbox"]})
        assert other.status_code == 403 and "phụ trách chi bộ" in other.text
