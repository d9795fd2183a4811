"""A secretary corrected a held meeting's date ("Sửa thời điểm đã diễn ra") after its minutes were saved on the old
day, and nothing said before or with the correction that the minutes' adoption is then refused
(`minutes_off_meeting_day`, tests/web/test_held_adoption_day.py) until they are saved again on the new day: the
correction form warns of it while saved minutes exist, and the correction's success says it when the new start falls
on another Vietnam day than the minutes' (not when it stays on their day)."""

import html
import re
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.web.pages.secretary import minutes_day, minutes_left_on_another_day
from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, signed_in
from tests.web.test_held_day_corrected import _api, _free_pair, _moment, _roster_and_minutes, _until
from tests.web.test_held_form import record_held, text

WARNING = re.compile(r'<p class="warning" role="note" id="minutes-day-warning">(.*?)</p>', re.S)
NOTICE = re.compile(r'<p class="notice" role="status" id="off-minutes-notice">(.*?)</p>', re.S)


def said(pattern: re.Pattern[str], page: str) -> str | None:
    """The text `pattern`'s first group matches on `page`, entities read and spaces collapsed; None when absent."""
    found = pattern.search(page)
    return " ".join(html.unescape(found.group(1)).split()) if found else None


def correction(page: str, to: datetime) -> dict[str, str]:
    """The record page's correction form sent with `to` as the new start, the page's shown values kept."""
    shown_start = re.search(r'name="was.starts_at" value="([^"]*)"', page)
    shown_place = re.search(r'name="was.location" value="([^"]*)"', page)
    assert shown_start and shown_place, text(page)
    return {
        "csrf": csrf_of(page),
        "was.starts_at": html.unescape(shown_start.group(1)),
        "was.location": html.unescape(shown_place.group(1)),
        "start_date": f"{to:%Y-%m-%d}",
        "start_time": f"{to:%H:%M}",
        "location": "Nhà văn hóa thôn 1",
        "reason": "",
    }


@pytest.mark.e2e
async def test_a_correction_off_the_minutes_day_is_warned_before_and_said_after(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with signed_in(system, "secretary") as client, _api(system, province["secretary"]) as api:
        held_at = await _free_pair(client, province["secretary"])
        meeting_id = await record_held(client, held_at)
        record = f"/app/meetings/{meeting_id}/record"

        async def stored() -> dict[str, Any]:
            return dict((await api.get(f"/v1/meetings/{meeting_id}")).json())

        page = (await client.get(record)).text
        assert 'id="reschedule-title"' in page and said(WARNING, page) is None, text(page)  # no minutes yet

        await _roster_and_minutes(client, api, meeting_id, held_at)
        page = (await client.get(record)).text
        warning = said(WARNING, page)
        assert warning == (
            f"Biên bản đã lưu ghi ngày {held_at:%d/%m/%Y}. Nếu đồng chí sửa thời điểm diễn ra sang ngày khác, đồng chí"
            " cần lưu lại biên bản với ngày mới trước khi ghi nhận việc thông qua biên bản."
        ), warning

        day_before = held_at - timedelta(days=1)
        corrected = await client.post(f"/app/meetings/{meeting_id}/reschedule", data=correction(page, day_before))
        assert corrected.status_code == 303, text(corrected.text)
        assert corrected.headers["location"].endswith("notice=rescheduled_off_minutes"), corrected.headers
        answer = (await client.get(corrected.headers["location"])).text
        assert said(NOTICE, answer) == (
            "Thời điểm diễn ra đã được sửa sang ngày khác với ngày ghi trong biên bản đã lưu: đồng chí vui lòng lưu lại"
            " biên bản với ngày mới của buổi sinh hoạt trước khi ghi nhận việc thông qua biên bản."
        ), text(answer)
        moved = await _until(stored, lambda m: _moment(m["starts_at"]) == day_before)
        assert _moment(moved["starts_at"]) == day_before, moved

        # corrected back onto the minutes' own day: nothing more to save, so the success says nothing of them
        page = (await client.get(record)).text
        assert said(WARNING, page) == warning, text(page)  # the minutes still dated their own day
        back = await client.post(f"/app/meetings/{meeting_id}/reschedule", data=correction(page, held_at))
        assert back.status_code == 303, text(back.text)
        assert back.headers["location"].endswith("notice=rescheduled"), back.headers
        answer = (await client.get(back.headers["location"])).text
        assert 'id="notice"' in answer and said(NOTICE, answer) is None, text(answer)
        restored = await _until(stored, lambda m: _moment(m["starts_at"]) == held_at)
        assert _moment(restored["starts_at"]) == held_at, restored


def _meeting(minutes_at: str | None, approved_at: str | None = None) -> SimpleNamespace:
    minutes = {"started_at": minutes_at} if minutes_at else None
    return SimpleNamespace(minutes=minutes, approved_at=approved_at)


def test_the_minutes_day_is_read_in_vietnam_time() -> None:
    """Minutes starting 00:30 in Vietnam are of that day, though it is the day before in UTC; a start on that day at
    any hour keeps them, another day (either side) does not."""
    early = "2026-12-04T17:30:00+00:00"  # 05/12 00:30 in Vietnam
    meeting = _meeting(early)
    assert minutes_day(meeting) == "2026-12-05"
    assert minutes_day({"minutes": {"started_at": early}}) == "2026-12-05"
    same_day = datetime(2026, 12, 5, 23, 50, tzinfo=VIETNAM_TZ)
    assert not minutes_left_on_another_day(meeting, same_day)
    assert not minutes_left_on_another_day(meeting, same_day.replace(hour=0, minute=0))
    assert minutes_left_on_another_day(meeting, datetime(2026, 12, 4, 23, 59, tzinfo=VIETNAM_TZ))
    assert minutes_left_on_another_day(meeting, datetime(2026, 12, 6, 0, 0, tzinfo=VIETNAM_TZ))


def test_no_saved_or_adopted_minutes_leave_nothing_to_save_again() -> None:
    """Without saved minutes nothing waits; adopted minutes are never corrected (the form is gone), so nothing said."""
    to = datetime(2026, 12, 4, 19, 30, tzinfo=VIETNAM_TZ)
    assert minutes_day(_meeting(None)) == "" and not minutes_left_on_another_day(_meeting(None), to)
    assert not minutes_left_on_another_day(_meeting("2026-12-05T12:30:00+00:00", "2026-12-05T14:00:00+00:00"), to)
    assert not minutes_left_on_another_day(_meeting("2026-12-05T12:30:00+00:00"), None)
