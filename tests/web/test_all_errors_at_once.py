"""A form reports every independent mistake on its first sending: the checks that ran one after another made the
secretary send it again to learn of the next one."""

import html
import re

import pytest

from services.gateway.web import forms
from tests.support.system import RunningSystem
from tests.web.conftest import cell_members, csrf_of, signed_in
from tests.web.test_record_values import AHEAD, HELD


def test_a_date_and_an_hour_both_wrong_are_both_reported() -> None:
    """The fresh-user trial's reschedule with `2026-13-45` and `25:99` reported only the date."""
    errors: dict[str, str] = {}
    assert forms.meeting_start({"start_date": "2026-13-45", "start_time": "25:99"}, errors) is None
    assert "tháng 13 không có thật" in errors["starts_at"] and "giờ 25 không hợp lệ" in errors["starts_at"], errors
    errors = {}
    assert forms.meeting_start({"start_date": "", "start_time": "25:99"}, errors) is None
    assert "không được để trống" in errors["starts_at"] and "giờ 25 không hợp lệ" in errors["starts_at"], errors
    errors = {}  # what is no date or hour at all is quoted back as typed
    assert forms.meeting_start({"start_date": "2026-12-4x", "start_time": "2x:99"}, errors) is None
    assert "“2026-12-4x”" in errors["starts_at"] and "“2x:99”" in errors["starts_at"], errors


@pytest.mark.e2e
async def test_a_roster_of_a_meeting_ahead_reports_its_missing_reason_and_the_meeting_at_once(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """The fresh-user trial: a roster for a meeting not begun, "Vắng có lý do" without a reason, reported only the
    missing reason; once it was given, "Buổi sinh hoạt chưa diễn ra…" came. The page shows no roster form before the
    meeting begins (a later trial); one sent anyway (a page opened before the meeting was moved later) says both."""
    members = [member["id"] for member in await cell_members(system, province, "demo-cb-thon-1")]
    async with signed_in(system, "secretary") as client:
        record = (await client.get(f"/app/meetings/{AHEAD}/record")).text
        assert 'id="roster-form"' not in record and 'id="attendance-later"' in record
        form: dict[str, object] = {"csrf": csrf_of(record), "member": members}
        form |= {f"status-{member}": "present" for member in members}
        form |= {f"status-{members[1]}": "excused", f"reason-{members[1]}": ""}
        sent = await client.post(f"/app/meetings/{AHEAD}/attendance", data=form)
    assert sent.status_code == 422, sent.text
    errors = html.unescape(sent.text.split('id="attendance-errors"', 1)[1].split("</ul>", 1)[0])
    assert "không được để trống" in errors and "Buổi sinh hoạt chưa diễn ra" in errors, errors


def errors_of(page: str, section: str) -> str:
    """The text of a record page section's list of errors."""
    return html.unescape(page.split(f'id="{section}-errors"', 1)[1].split("</ul>", 1)[0])


@pytest.mark.e2e
async def test_minutes_of_a_meeting_ahead_report_their_missing_end_and_the_meeting_at_once(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """Minutes of a meeting not begun without their end time reported only the end; once it was given, "Buổi sinh
    hoạt chưa diễn ra…" came (the attendance form's fresh-user trial D6, on the minutes form). The page shows no
    minutes form before the meeting begins; minutes sent anyway (a page opened before a move) say both."""
    members = [member["id"] for member in await cell_members(system, province, "demo-cb-thon-1")]
    async with signed_in(system, "secretary") as client:
        record = (await client.get(f"/app/meetings/{AHEAD}/record")).text
        assert '/minutes"' not in record and 'id="minutes-later"' in record
        form = {
            "csrf": csrf_of(record),
            "day": "2026-10-20",
            "started": "19:30",
            "ended": "",
            "chair_id": members[0],
            "recorder_id": members[1],
            "content": "Kiểm điểm nghị quyết tháng trước",
        }
        sent = await client.post(f"/app/meetings/{AHEAD}/minutes", data=form)
    assert sent.status_code == 422, sent.text
    errors = errors_of(sent.text, "minutes")
    assert "Giờ kết thúc: không được để trống" in errors and "Buổi sinh hoạt chưa diễn ra" in errors, errors


@pytest.mark.e2e
async def test_an_assessment_of_a_meeting_ahead_is_refused_as_not_begun(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """An assessment of a meeting not begun: its record page shows no point boxes (a meeting ahead is not scored, so
    it has no items to assess yet: shared.plausible.meeting_begun), and points posted anyway, one not a number, are
    answered "Buổi sinh hoạt chưa diễn ra…", nothing sent."""
    async with signed_in(system, "secretary") as client:
        shown = (await client.get(f"/app/meetings/{HELD}/record")).text  # the items a cell assesses
        codes = re.findall(r'name="point-([a-z_.]+)"', shown)
        assert codes
        record = (await client.get(f"/app/meetings/{AHEAD}/record")).text
        assert 'name="point-' not in record
        form: dict[str, object] = {"csrf": csrf_of(record), "comment": "Đã rà soát"}
        for code in codes:
            form[f"point-{code}"] = "1"
        form[f"point-{codes[-1]}"] = "nhiều"
        sent = await client.post(f"/app/meetings/{AHEAD}/assessment", data=form)
    assert sent.status_code == 422, sent.text
    errors = errors_of(sent.text, "assessment")
    assert "Buổi sinh hoạt chưa diễn ra" in errors and "Điểm" not in errors, errors


@pytest.mark.e2e
async def test_a_reschedule_with_a_wrong_day_reports_its_reason_too_long_at_once(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """A trial (h267): a form's free text over 10,000 characters was said only once its checked fields were right
    (the monitor's comment after its points; the reschedule's reason after its day)."""
    async with signed_in(system, "secretary") as client:
        record = (await client.get(f"/app/meetings/{AHEAD}/record")).text
        move = {
            "csrf": csrf_of(record),
            "start_date": "31/02/2027",
            "start_time": "08:15",
            "location": "Hội trường mới",
            "reason": "Trùng lịch " * 1000,
        }
        sent = await client.post(f"/app/meetings/{AHEAD}/reschedule", data=move)
    assert sent.status_code == 422, sent.text
    errors = errors_of(sent.text, "reschedule")
    assert "31" in errors and "Lý do: tối đa 10.000 ký tự" in errors, errors
