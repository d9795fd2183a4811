"""A form sent while meetings does not answer (a trial loaded the minutes form, `kill -9` meetings, then sent it)
answered "Hệ thống đang bận. Vui lòng thử lại sau ít phút." alone: what the secretary typed was lost. Nothing was
sent then, so the form now comes back as it was sent (503), with a note that nothing was saved and to send it again
in a few minutes, and its one-time key kept: sent again once meetings answers, it is the same command."""

import html
import re
import uuid
from datetime import datetime, timedelta

import asyncpg
import pytest

from services.meetings.repository.ingest import GATE_KEY
from shared.periods import VIETNAM_TZ
from tests.gateway.test_forms_again import as_data, submitted, text_of
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, free_start, signed_in
from tests.web.test_record_values import begun_meeting
from tests.web.test_resubmission import hidden

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"
NOTE = "Chưa có gì được lưu: tạm thời chưa kết nối được với dịch vụ cần thiết nên biểu mẫu này chưa được gửi đi."
PERHAPS_SAVED = (
    "Biểu mẫu đã được gửi đi nhưng hệ thống không phản hồi kịp, nên có thể nội dung đã được lưu. Nội dung đồng chí"
    " đã nhập vẫn được giữ ở dưới: gửi lại đúng nội dung này sẽ không bị lưu hai lần."
)


def sent_back(page: str) -> list[tuple[str, str]]:
    """The (name, value) of every input of the form a page shows again, in its order, as a browser sends them."""
    return submitted(page).pairs


async def test_the_minutes_form_sent_while_meetings_is_down_comes_back_with_what_was_typed(
    system: RunningSystem, province: dict[str, str]
) -> None:
    begun, _starts = await begun_meeting(system, province)
    async with signed_in(system, "secretary") as client:
        record = (await client.get(f"/app/meetings/{begun}/record")).text
        action = f"/app/meetings/{begun}/minutes"
        members = re.findall(r'name="member" value="([^"]+)"', record)
        key = hidden(record, "form_key", after=action)
        assert key
        content = f"Kiểm điểm việc thu đảng phí quý {uuid.uuid4().hex[:4]}\nBàn kế hoạch tháng tới"
        form = {
            "csrf": csrf_of(record),
            "form_key": key,
            "day": "2026-10-20",
            "started": "19:30",
            "ended": "21:00",
            "chair_id": members[0],
            "recorder_id": members[1],
            "speakers": [members[0], members[1]],
            "content": content,
            "conclusions": "Giao chi ủy đôn đốc",
        }
        system.stop("meetings")
        try:
            sent = await client.post(action, data=form)
        finally:
            system.start("meetings")
    assert sent.status_code == 503, sent.text[-2000:]
    assert NOTE in html.unescape(sent.text), sent.text[-2000:]
    assert f'action="{action}"' in sent.text
    shown = sent_back(sent.text)
    assert ("content", content) in shown and ("conclusions", "Giao chi ủy đôn đốc") in shown, shown
    assert ("day", "2026-10-20") in shown and ("ended", "21:00") in shown, shown
    assert [value for name, value in shown if name == "speakers"] == [members[0], members[1]], shown
    assert ("form_key", key) in shown, shown  # the same command when sent again
    kept = "Tạm thời chưa tải được danh sách đảng viên nên lựa chọn đã gửi được giữ nguyên."
    assert kept in text_of(sent.text), text_of(sent.text)[-2000:]  # the members chosen, no list to choose from


async def test_the_schedule_form_sent_while_meetings_is_down_comes_back_and_is_sent_again_once(
    system: RunningSystem, province: dict[str, str]
) -> None:
    day = (datetime.now(VIETNAM_TZ) + timedelta(days=4)).replace(second=0, microsecond=0)
    place = f"Nhà văn hóa thôn 1, phòng {uuid.uuid4().hex[:6]}"
    async with signed_in(system, "secretary") as client:
        # more than an hour from every other meeting of the cell (the shared demo system holds other tests' meetings,
        # some at hours set from the clock): within the hour of one, the form sent again asks whether it is the same
        hours = [(19, 40), (17, 15), (21, 50), (14, 25), (8, 35), (10, 55)]
        candidates = [day.replace(hour=h, minute=m) for h, m in hours]
        starts = await free_start(client, province["secretary"], CELL, candidates)
        page = (await client.get(f"/app/cells/{CELL}/meetings/new")).text
        form = {
            "csrf": csrf_of(page),
            "form_key": hidden(page, "form_key"),
            "meeting_id": hidden(page, "meeting_id"),
            "kind": "regular",
            "start_date": f"{starts:%Y-%m-%d}",
            "start_time": f"{starts:%H:%M}",
            "location": place,
            "agenda": "Kiểm điểm\nPhát triển đảng viên",
            "confirm_another_regular": "on",  # the month may already have the demo's regular meeting
        }
        assert form["form_key"] and form["meeting_id"]
        system.stop("meetings")
        try:
            sent = await client.post(f"/app/cells/{CELL}/meetings", data=form)
        finally:
            system.start("meetings")
        assert sent.status_code == 503, sent.text[-2000:]
        assert NOTE in html.unescape(sent.text), sent.text[-2000:]
        shown = sent_back(sent.text)
        assert ("location", place) in shown and ("agenda", form["agenda"]) in shown, shown
        assert ("kind", "regular") in shown and ("start_time", f"{starts:%H:%M}") in shown, shown
        assert ("form_key", form["form_key"]) in shown and ("meeting_id", form["meeting_id"]) in shown, shown
        resent: dict[str, list[str]] = {}
        for name, value in shown:
            resent.setdefault(name, []).append(value)
        again = await client.post(f"/app/cells/{CELL}/meetings", data=resent)
        assert again.status_code == 303, again.text[-2000:]
        assert again.headers["location"].startswith(f"/app/meetings/{form['meeting_id']}/record"), again.headers


async def scheduled_at(system: RunningSystem, place: str) -> dict[str, int]:
    """What meetings holds of the meetings scheduled at `place`: its rows, and the facts it publishes of them."""
    conn = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"])
    try:
        return {
            "meetings": await conn.fetchval("SELECT count(*) FROM meetings.meeting WHERE location = $1", place),
            "facts": await conn.fetchval(
                "SELECT count(*) FROM meetings.outbox WHERE payload -> 'data' ->> 'location' = $1", place
            ),
        }
    finally:
        await conn.close()


async def test_a_schedule_meetings_answered_too_late_comes_back_and_sent_again_is_one_meeting(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """meetings received the schedule but answered after the gateway's timeout (its every ingest held behind the
    gate lock the bulk load takes, as a slow database would): the page said only "Chưa rõ đã lưu hay chưa" and what
    was typed was lost. The form comes back, its choices to change and its key kept; sent again it is one meeting."""
    starts = datetime.now(VIETNAM_TZ) + timedelta(days=5)
    place = f"Hội trường thôn 1, phòng {uuid.uuid4().hex[:6]}"
    async with signed_in(system, "secretary") as client:
        page = (await client.get(f"/app/cells/{CELL}/meetings/new")).text
        form = {
            "csrf": csrf_of(page),
            "form_key": hidden(page, "form_key"),
            "meeting_id": hidden(page, "meeting_id"),
            "kind": "extraordinary",
            "start_date": f"{starts:%Y-%m-%d}",
            "start_time": "20:10",
            "location": place,
            "agenda": "Bàn việc làm đường liên thôn",
            "confirm_same_time": "on",
        }
        gate = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"])
        try:
            async with gate.transaction():
                await gate.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", GATE_KEY)
                sent = await client.post(f"/app/cells/{CELL}/meetings", data=form)
        finally:
            await gate.close()  # meetings, let go, stores what it received
        assert sent.status_code == 503, sent.text[-2000:]
        assert PERHAPS_SAVED in text_of(sent.text), text_of(sent.text)[-2000:]
        again = submitted(sent.text)
        shown = dict(again.pairs)
        assert shown["location"] == place and shown["form_key"] == form["form_key"], again.pairs
        assert again.kinds["kind"] == "select" and shown["kind"] == "extraordinary", again.kinds
        assert "regular" in again.options["kind"] and again.kinds["start_date"] == "date", again.options

        async def stored() -> dict[str, int] | None:
            held = await scheduled_at(system, place)
            return held if held["meetings"] and held["facts"] else None

        assert await eventually(stored) == {"meetings": 1, "facts": 1}
        resent = await client.post(f"/app/cells/{CELL}/meetings", data=as_data(again.pairs))
        assert resent.status_code == 303, resent.text[-2000:]
        assert resent.headers["location"].startswith(f"/app/meetings/{form['meeting_id']}/record"), resent.headers
    assert await scheduled_at(system, place) == {"meetings": 1, "facts": 1}
