"""A trial scheduled a third regular meeting in a month that already had one, silently; DOMAIN.md rates a month by
its held regular (or combined) meeting's result, the latest if several, so a later, weaker meeting would replace the
month's result. The schedule form now says so, naming the month's meeting, keeps what was typed, and schedules the
meeting only once the secretary confirms it."""

import html
import re
from datetime import datetime, timedelta

import httpx
import pytest

from services.gateway.web.i18n import format_moment
from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, csrf_of, free_start, signed_in
from tests.web.test_held_form import free_evening

pytestmark = pytest.mark.e2e

TOPIC = "Bàn về công tác chuẩn bị Tết"
PLACE = "Hội trường thôn 1"
CELL = "demo-cb-thon-1"


async def free_morning(client: httpx.AsyncClient, token: str, ahead: datetime) -> datetime:
    """A time on the demo's meeting day before its 19:30 meeting (so in its month: not "the same meeting entered
    twice"), more than an hour from every meeting of the cell: other tests of the shared demo system schedule on that
    day, some at a time taken from the clock (twelve hours ahead: 07:43 once fell within the hour of one at 08:05)."""
    hours = [(6, 17), (7, 43), (9, 11), (10, 37), (12, 3), (13, 29), (14, 56), (16, 22), (17, 48)]
    # not begun: the meeting day is today when the run began less than a day before it, and a morning hour of it may
    # have passed (CI failed so at 06:52: "Giờ: 06:17 hôm nay đã qua")
    soon = datetime.now(VIETNAM_TZ) + timedelta(minutes=30)
    return await free_start(client, token, CELL, [ahead.replace(hour=h, minute=m) for h, m in hours], after=soon)


async def test_a_second_regular_meeting_in_a_month_is_scheduled_only_once_confirmed(
    system: RunningSystem, province: dict[str, str]
) -> None:
    ahead = DEMO.meeting_ahead
    ahead = ahead.astimezone(VIETNAM_TZ) if ahead.tzinfo else ahead
    async with signed_in(system, "secretary") as client:
        starts = await free_morning(client, province["secretary"], ahead)
        page = (await client.get("/app/cells/demo-cb-thon-1/meetings/new")).text
        meeting_id = re.search(r'name="meeting_id" value="([^"]+)"', page)
        form_key = re.search(r'name="form_key" value="([^"]+)"', page)
        assert meeting_id and form_key
        form = {
            "csrf": csrf_of(page),
            "form_key": form_key[1],
            "meeting_id": meeting_id[1],
            "kind": "regular",
            "topic": TOPIC,
            "start_date": f"{starts:%Y-%m-%d}",
            "start_time": f"{starts:%H:%M}",
            "location": PLACE,
            "agenda": "Kiểm điểm công tác tháng",
        }
        warned = await client.post("/app/cells/demo-cb-thon-1/meetings", data=form)
        assert warned.status_code == 422, warned.text[:2000]
        text = html.unescape(warned.text)
        month = f"{starts.month:02d}/{starts.year}"
        assert f"Tháng {month}, chi bộ đã có buổi sinh hoạt thường kỳ" in text, text
        assert format_moment(ahead) in text, text  # the month's meeting, named by its start
        assert "lấy kết quả của buổi sinh hoạt thường kỳ (hoặc kết hợp) đã tổ chức sau cùng trong tháng" in text
        assert 'name="confirm_another_regular"' in text
        assert f'value="{TOPIC}"' in text and f'value="{PLACE}"' in text  # what was typed is kept
        listed = (await client.get(f"/app/meetings/{meeting_id[1]}/record")).status_code
        assert listed == 404  # nothing scheduled yet
        confirmed = await client.post(
            "/app/cells/demo-cb-thon-1/meetings",
            data={**form, "csrf": csrf_of(warned.text), "confirm_another_regular": "on"},
        )
        assert confirmed.status_code == 303, confirmed.text[:2000]
        assert confirmed.headers["location"].endswith(f"/meetings/{meeting_id[1]}/record?notice=scheduled")


async def test_a_thematic_meeting_is_not_warned_of(system: RunningSystem, province: dict[str, str]) -> None:
    ahead = DEMO.meeting_ahead
    ahead = ahead.astimezone(VIETNAM_TZ) if ahead.tzinfo else ahead
    async with signed_in(system, "secretary") as client:
        starts = await free_morning(client, province["secretary"], ahead)
        page = (await client.get("/app/cells/demo-cb-thon-1/meetings/new")).text
        meeting_id = re.search(r'name="meeting_id" value="([^"]+)"', page)
        form_key = re.search(r'name="form_key" value="([^"]+)"', page)
        assert meeting_id and form_key
        sent = await client.post(
            "/app/cells/demo-cb-thon-1/meetings",
            data={
                "csrf": csrf_of(page),
                "form_key": form_key[1],
                "meeting_id": meeting_id[1],
                "kind": "thematic",
                "topic": TOPIC,
                "start_date": f"{starts:%Y-%m-%d}",
                "start_time": f"{starts:%H:%M}",
                "location": PLACE,
                "agenda": "Học tập chuyên đề",
            },
        )
        assert sent.status_code == 303, html.unescape(sent.text)[:2000]


async def test_a_second_regular_meeting_already_held_is_recorded_only_once_confirmed(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """The form of a meeting already held (in the last 7 days, so in a month with the demo's regular meeting)."""
    async with signed_in(system, "secretary") as client:
        held_at = await free_evening(client, province["secretary"])
        page = (await client.get("/app/cells/demo-cb-thon-1/meetings/held")).text
        meeting_id = re.search(r'name="meeting_id" value="([^"]+)"', page)
        assert meeting_id
        form = {
            "csrf": csrf_of(page),
            "meeting_id": meeting_id[1],
            "kind": "regular",
            "start_date": f"{held_at:%Y-%m-%d}",
            "start_time": f"{held_at:%H:%M}",
            "location": PLACE,
            "agenda": "Kiểm điểm công tác tháng",
        }
        warned = await client.post("/app/cells/demo-cb-thon-1/meetings/held", data=form)
        assert warned.status_code == 422, warned.text[:2000]
        text = html.unescape(warned.text)
        assert f"Tháng {held_at.month:02d}/{held_at.year}, chi bộ đã có buổi sinh hoạt thường kỳ lúc" in text, text
        assert "nếu buổi này là buổi sau cùng, kết quả của buổi này sẽ thay cho kết quả của tháng" in text
        assert "Vẫn ghi lại: kết quả của tháng" in text and f'value="{PLACE}"' in text
        confirmed = await client.post(
            "/app/cells/demo-cb-thon-1/meetings/held",
            data={**form, "csrf": csrf_of(warned.text), "confirm_another_regular": "on"},
        )
        assert confirmed.status_code == 303, html.unescape(confirmed.text)[:2000]
        assert confirmed.headers["location"] == f"/app/meetings/{meeting_id[1]}/record?notice=held"
