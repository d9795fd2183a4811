"""The secretary's forms in Chromium: schedule, roster, minutes, and the provisional score; Vietnamese
validation naming the field; a member changes their notification preferences (also through the API)."""

import html
import re
from datetime import datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser

from services.gateway.web.i18n import format_number
from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, csrf_of, history_meeting, sign_in, signed_in
from tests.web.test_record_values import begun_meeting

pytestmark = pytest.mark.e2e

AHEAD_DAY = f"{DEMO.meeting_ahead:%Y-%m-%d}"
"""The day of the demo cells' meeting still ahead (a valid day for a form refused for another reason)."""


async def test_a_secretary_schedules_records_and_sees_the_provisional_score(
    browser: Browser,
    system: RunningSystem,
    province: dict[str, str],
) -> None:
    # begun ten minutes ago (a start already past beyond the 15 minutes of clock difference is refused, as a move
    # there is), so its minutes can be recorded now: in the first minutes after local midnight no minute of today
    # has ended yet, so wait for one (the form counts whole minutes)
    now = await eventually(_a_minute_of_today_has_ended, timeout=180, interval=1)
    starts = max(now - timedelta(minutes=10), now.replace(hour=0, minute=0, second=0, microsecond=0))
    # the shared demo system holds other tests' meetings of thôn 1 at hours set from the clock (CI failed so: one
    # within the hour of this start, the form asked whether it was the same meeting, unticked, and nothing was
    # scheduled); this start cannot move, so another meeting is always there and the secretary confirms
    await history_meeting(
        system, province["secretary"], "demo-cb-thon-1", starts - timedelta(minutes=40), agenda="Họp đột xuất"
    )
    page = await sign_in(browser, system, "secretary")
    await page.wait_for_url("**/app/cells/demo-cb-thon-1")
    await page.get_by_role("link", name="Lên lịch sinh hoạt").click()
    await page.get_by_label("Ngày", exact=True).fill(starts.strftime("%Y-%m-%d"))
    await page.get_by_label("Giờ", exact=True).fill(starts.strftime("%H:%M"))
    await page.get_by_label("Chương trình").fill("Kiểm điểm nghị quyết tháng trước\nTriển khai nhiệm vụ tháng tới")
    await page.get_by_role("button", name="Lên lịch và thông báo cho đảng viên").click()
    # the place was left empty: the form comes back naming it
    said = await page.locator("#schedule-errors").inner_text()
    assert "Địa điểm: không được để trống." in said
    # the other meeting within the hour is said with the place, not once the place is corrected
    assert "cách buổi này chưa đến một giờ: có thể đây là cùng một buổi sinh hoạt được nhập hai lần" in said, said
    await page.get_by_label("Địa điểm").fill("Nhà văn hóa thôn 1")
    await page.get_by_label("Vẫn lên lịch: đây là một buổi sinh hoạt khác").check()
    confirm = page.locator("#confirm_another_regular")  # the month already has the demo's regular meeting
    if await confirm.count():
        await confirm.check()
    await page.get_by_role("button", name="Lên lịch và thông báo cho đảng viên").click()
    await page.wait_for_url("**/record?notice=scheduled")
    meeting_id = page.url.split("/meetings/")[1].split("/")[0]

    roster = page.locator("#roster-form tbody tr")
    assert await roster.count() == 14
    await roster.nth(3).locator("select").select_option("excused")
    await page.get_by_role("button", name="Lưu điểm danh").click()
    errors = await page.locator("#attendance-errors").inner_text()
    assert "Lý do vắng của" in errors and "không được để trống" in errors
    # no status is preselected but the exempt member's: every other member left unchosen is named too
    assert errors.count("chưa chọn tình trạng") == 12, errors
    await page.locator("#roster-form tbody tr").nth(3).locator("select").select_option("excused")
    await page.locator("#roster-form tbody tr").nth(3).locator("input[name^=reason]").fill("Đi công tác")
    rows = page.locator("#roster-form tbody tr")
    for index in range(await rows.count()):  # the secretary checks each member present
        if not await rows.nth(index).locator("select").input_value():
            await rows.nth(index).locator("select").select_option("present")
    await page.get_by_role("button", name="Lưu điểm danh").click()
    await page.wait_for_url("**notice=attendance")

    # 100 minutes, or less when it is not yet 01:41 local time: the end may not be after the minutes are sent
    ends = min(starts + timedelta(minutes=100), now - timedelta(minutes=1))
    await page.get_by_label("Giờ kết thúc").fill(ends.strftime("%H:%M"))
    rows = page.locator("#roster-form tbody tr")
    present = []
    for index in range(await rows.count()):
        row = rows.nth(index)
        if await row.locator("select").input_value() == "present":
            present.append(await row.locator('input[name="member"]').get_attribute("value"))
    for member_id in present[:8]:  # not the excused nor the exempt member: an absent speaker is refused
        await page.locator(f'input[name="speakers"][value="{member_id}"]').check()
    lasted = (ends.replace(second=0, microsecond=0) - starts.replace(second=0, microsecond=0)).seconds // 60
    await page.get_by_label("Số phút tự phê bình và phê bình").fill(str(min(20, lasted)))  # no more than it lasted
    await page.get_by_label("Nội dung", exact=True).fill("Đánh giá kết quả tháng; triển khai nhiệm vụ tháng tới.")
    await page.get_by_label("Kết luận", exact=True).fill("Chi bộ thống nhất các chỉ tiêu tháng tới.")
    await page.get_by_label("Nghị quyết 1").fill("Nghị quyết chi bộ tháng này")
    await page.locator("#votes_for-1").fill("12")  # 12 present: one excused, one exempt (votes above are refused)
    await page.locator("#votes_against-1").fill("0")
    await page.locator("#abstentions-1").fill("0")
    await page.get_by_label("Nhiệm vụ 1").fill("Vận động hội viên tham gia vệ sinh môi trường")
    await page.locator("#due-1").fill((starts + timedelta(days=20)).strftime("%Y-%m-%d"))
    # nobody is preselected as recorder or assignee (the lists start empty): the secretary chooses them
    await page.locator("#recorder_id").select_option(present[1])
    await page.locator("#assignee-1").select_option(present[2])
    await page.get_by_role("button", name="Lưu biên bản").click()
    await page.wait_for_url("**notice=minutes")

    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    ) as api:

        async def scored() -> dict | None:
            response = await api.get(f"/v1/meetings/{meeting_id}/score")
            body = response.json() if response.status_code == 200 else None
            return body if body and body["criteria"] and _has_minutes(body) else None

        score = await eventually(scored, timeout=180, interval=0.5)
    assert score["provisional"] is True
    await page.reload()
    assert await page.locator("#provisional").is_visible()
    assert await page.locator("#record-score").inner_text() == format_number(score["score"])
    await page.context.close()


async def _a_minute_of_today_has_ended() -> datetime | None:
    """Now in Vietnam once two minutes of the local day have begun (one whole minute ended), else None."""
    now = datetime.now(VIETNAM_TZ)
    return now if now - now.replace(hour=0, minute=0, second=0, microsecond=0) >= timedelta(minutes=2) else None


def _has_minutes(score: dict) -> bool:
    return any(line["code"] == "duration" and (line["points"] or 0) > 0 for line in score["criteria"])


async def test_a_form_without_its_token_is_refused(system: RunningSystem, province: dict[str, str]) -> None:
    async with signed_in(system, "secretary") as client:
        page = await client.get("/app/cells/demo-cb-thon-1/meetings/new")
        assert page.status_code == 200
        forged = await client.post(
            "/app/cells/demo-cb-thon-1/meetings", data={"csrf": "forged", "kind": "regular", "location": "x"}
        )
        assert forged.status_code == 403
        wrong_cell = await client.post(
            "/app/cells/demo-cb-thon-2/meetings",
            data={
                "csrf": csrf_of(page.text),
                "kind": "regular",
                "start_date": AHEAD_DAY,
                "start_time": "19:30",
                "location": "x",
                "agenda": "a",
            },
        )
        assert wrong_cell.status_code == 404


async def test_form_messages_name_the_field_the_row_the_member_and_the_choices(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with signed_in(system, "secretary") as client:
        new = await client.get("/app/cells/demo-cb-thon-1/meetings/new")
        token = csrf_of(new.text)
        # the topic's hint names both kinds that need it (CONTRACT.md: thematic and combined)
        assert "bắt buộc đối với sinh hoạt chuyên đề và sinh hoạt thường kỳ kết hợp chuyên đề" in new.text
        # every field empty: 422 naming each field to fill (a choice is chosen, not typed)
        empty = await client.post(
            "/app/cells/demo-cb-thon-1/meetings", data={"csrf": token, "kind": "", "start_time": ""}
        )
        assert empty.status_code == 422
        for message in (
            "Loại buổi sinh hoạt: không được để trống.",
            "Ngày: không được để trống.",
            "Địa điểm: không được để trống.",
        ):
            assert message in empty.text, message
        # a thematic meeting without its topic, the date and the place: all three named at the first submit
        thematic = await client.post(
            "/app/cells/demo-cb-thon-1/meetings", data={"csrf": token, "kind": "thematic", "start_time": "19:30"}
        )
        assert thematic.status_code == 422
        for message in (
            "Chủ đề: chưa nhập chủ đề; buổi sinh hoạt chuyên đề phải có chủ đề.",
            "Ngày: không được để trống.",
            "Địa điểm: không được để trống.",
        ):
            assert message in thematic.text, message
        combined = await client.post(
            "/app/cells/demo-cb-thon-1/meetings",
            data={"csrf": token, "kind": "combined", "start_time": "19:30", "location": "Nhà văn hóa"},
        )
        assert combined.status_code == 422
        assert "Chủ đề: chưa nhập chủ đề; buổi sinh hoạt thường kỳ kết hợp chuyên đề phải có chủ đề." in combined.text
        assert 'name="topic" value="" aria-invalid="true"' in combined.text
        form = {"csrf": token, "start_time": "19:30", "location": "Nhà văn hóa", "agenda": "Kiểm điểm"}
        bogus = await client.post(
            "/app/cells/demo-cb-thon-1/meetings",
            data={**form, "kind": "hop-mat", "start_date": AHEAD_DAY},
        )
        assert bogus.status_code == 422
        assert "Loại buổi sinh hoạt: “hop-mat” không nằm trong các lựa chọn cho phép (Sinh hoạt thường kỳ" in bogus.text
        far = await client.post(
            "/app/cells/demo-cb-thon-1/meetings",
            data={**form, "kind": "regular", "start_date": f"{datetime.now(VIETNAM_TZ).year + 3}-01-04"},
        )
        assert far.status_code == 422
        assert "Ngày: buổi sinh hoạt phải diễn ra từ năm 2000 đến chậm nhất là 2 năm" in far.text
        # a past day is said as past whatever its year (a trial's 1999 read the window's message), with the way to
        # record a meeting already held
        ancient = await client.post(
            "/app/cells/demo-cb-thon-1/meetings", data={**form, "kind": "regular", "start_date": "1999-01-01"}
        )
        assert ancient.status_code == 422
        assert "Ngày: ngày 01/01/1999 đã qua; buổi sinh hoạt lên lịch ở đây phải từ hôm nay (" in ancient.text
        assert "Ghi lại buổi sinh hoạt đã diễn ra" in ancient.text and "từ năm 2000" not in ancient.text

        begun, _starts = await begun_meeting(system, province)  # its roster form shows once it has begun
        record = f"/app/meetings/{begun}"
        shown = (await client.get(f"{record}/record")).text
        token = csrf_of(shown)
        documents = await client.post(f"{record}/documents", data={"csrf": token, "title": "", "kind": "bien-ban"})
        assert documents.status_code == 422
        assert "Tên tài liệu: không được để trống." in documents.text
        assert "Loại tài liệu: “bien-ban” không nằm trong các lựa chọn cho phép (Nội dung sinh hoạt" in (documents.text)
        member = "demo-cb-thon-1-dv03"
        # the row's label names the member as the cell's roster does, whatever name a client posts along
        own = html.unescape(shown.split(f'name="status-{member}" aria-label="', 1)[1].split('"', 1)[0])
        assert own.startswith("Điểm danh đồng chí ") and member not in own, own
        roster = {"csrf": token, "member": member, f"status-{member}": "co-mat", f"name-{member}": "Kẻ Mạo Danh"}
        attendance = await client.post(f"{record}/attendance", data=roster)
        assert attendance.status_code == 422
        said = html.unescape(re.sub(r"</?bdi>", "", attendance.text))  # the member's name is isolated in <bdi>
        assert f"{own}: “co-mat” không nằm trong các lựa chọn cho phép (Có mặt" in said
        assert "Kẻ Mạo Danh" not in said

    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    ) as api:
        body = {"kind": "regular", "starts_at": "1999-01-01T19:30:00+07:00", "location": "x", "agenda": []}
        refused = await api.post("/v1/cells/demo-cb-thon-1/meetings", json=body)
        # refused while reading the body (shared.plausible's meeting window), naming the body's own field
        assert refused.status_code == 422 and refused.json()["field"] == "starts_at", refused.json()
        assert "before 2000-01-01" in refused.json()["message"], refused.json()
        # a new meeting at an hour already past is refused by meetings as a move there is, naming the start
        past = (datetime.now(VIETNAM_TZ) - timedelta(hours=2)).isoformat(timespec="seconds")
        late = await api.post("/v1/cells/demo-cb-thon-1/meetings", json={**body, "starts_at": past, "agenda": ["a"]})
        assert late.status_code == 422, late.text
        assert (late.json()["field"], late.json()["reason_code"]) == ("starts_at", "scheduled_in_the_past")


async def test_a_member_changes_preferences_and_the_api_agrees(
    browser: Browser,
    system: RunningSystem,
    province: dict[str, str],
) -> None:
    page = await sign_in(browser, system, "member")
    await page.wait_for_url("**/app/me")
    await page.get_by_label("Thư điện tử").uncheck()
    # no SMS gateway is configured here: the channel is shown, disabled, with why (it was offered and did nothing)
    sms = page.get_by_label("Tin nhắn (cổng SMS)")
    assert await sms.is_disabled() and not await sms.is_checked()
    assert "tỉnh chưa cấu hình cổng SMS, nên chưa thể gửi thông báo bằng tin nhắn" in await page.content()
    inbox = page.get_by_label("Hộp thư trong ứng dụng")
    assert await inbox.is_checked() and await inbox.is_disabled()  # always on: every notice is kept there
    assert "không thể tắt kênh này" in await page.content()
    await page.get_by_label("Nhận một bản tổng hợp mỗi ngày thay cho từng thông báo").check()
    await page.get_by_role("button", name="Lưu", exact=True).click()
    await page.wait_for_url("**/app/me?notice=saved")
    token = province["member"]
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        preferences = (await api.get("/v1/me/preferences")).json()
        assert preferences["channels"] == ["inbox"] and preferences["digest"] is True
        changed = await api.put("/v1/me/preferences", json={"channels": ["email", "inbox"], "digest": False})
        assert changed.status_code == 200 and changed.json()["channels"] == ["email", "inbox"]
        refused = await api.put("/v1/me/preferences", json={"channels": ["pigeon"]})
        assert refused.status_code == 422 and refused.json()["field"] == "channels.0"
        # the tester's case: the SMS channel without a gateway was accepted and delivered nothing
        no_gateway = await api.put("/v1/me/preferences", json={"channels": ["webhook"], "digest": False})
        assert no_gateway.status_code == 422 and no_gateway.json()["field"] == "channels"
        assert "no SMS gateway is configured" in no_gateway.json()["message"]
        shown = (await api.get("/v1/me/preferences")).json()
        assert shown["available_channels"] == ["email", "inbox"] and shown["channels"] == ["email", "inbox"]
        assert "webhook_url" not in shown and "webhook_secret_set" not in shown  # the PUT takes neither back
        # the tester's case: the inbox unticked through the API is still reported (it cannot be off)
        email_only = await api.put("/v1/me/preferences", json={"channels": ["email"], "digest": False})
        assert email_only.json()["channels"] == ["email", "inbox"]
        assert (await api.get("/v1/me/preferences")).json()["channels"] == ["email", "inbox"]
    await page.reload()
    assert await page.get_by_label("Thư điện tử").is_checked()
    assert not await page.get_by_label("Nhận một bản tổng hợp mỗi ngày thay cho từng thông báo").is_checked()
    await page.context.close()
