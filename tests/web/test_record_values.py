"""A user trial of the record page against the real services (the demo province): a form refused for one mistake
showed the stored values again (attendance back on "Có mặt", 9,000 characters of minutes gone, a changed 9→7 back
to 9), so correcting the one mistake saved the rest wrong. Every form shows again exactly what was sent, with its
errors; the task-done form takes the day the task was done."""

import html
import re
from datetime import date, datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import MONTHS, RUNNING, csrf_of, history_meeting, signed_in

pytestmark = pytest.mark.e2e

HELD = f"demo-cb-thon-1-{MONTHS[-2]}"  # thôn 1's meeting two months back, held (its start has passed), scored
AHEAD = f"demo-cb-thon-1-{RUNNING}"  # thôn 1's meeting of this month, ahead: no minutes yet
CONTENT = "Chi bộ quán triệt nghị quyết, phân công đảng viên phụ trách hộ gia đình.\n" * 120
"""About 9,000 characters of minutes."""


async def begun_meeting(system: RunningSystem, province: dict[str, str]) -> tuple[str, datetime]:
    """A meeting of thôn 1 begun two hours ago, nothing recorded of it yet (its id and start): the record page shows
    the roster and minutes forms only once a meeting has begun (a meeting ahead shows when they can be entered)."""
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=2)).replace(second=0, microsecond=0)
    meeting_id = await history_meeting(system, province["secretary"], "demo-cb-thon-1", starts, agenda="Họp")
    return meeting_id, starts


def selected(page: str, name: str) -> str | None:
    """The option selected in the select named `name`."""
    block = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    assert block, name
    # attributes after `selected` (the roster's data-no-reason, h459) are still the chosen option
    chosen = re.search(r'<option value="([^"]*)" selected(?:\s[^>]*)?>', block.group(1))
    return chosen.group(1) if chosen else None


def value(page: str, name: str) -> str:
    """The value of the (first) input named `name`."""
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    assert found, name
    return html.unescape(found.group(1))


async def test_a_refused_attendance_is_shown_again_as_sent(system: RunningSystem, province: dict[str, str]) -> None:
    """On a meeting whose minutes are not adopted (an adopted meeting's roster is shown read-only, with no form)."""
    begun, _starts = await begun_meeting(system, province)
    async with signed_in(system, "secretary") as client:
        record = (await client.get(f"/app/meetings/{begun}/record")).text
        members = re.findall(r'name="member" value="([^"]+)"', record)
        first, second = members[1], members[2]
        form: dict[str, object] = {"csrf": csrf_of(record), "member": members}
        for member in members:
            form[f"status-{member}"] = "present"
        form |= {f"status-{first}": "excused", f"reason-{first}": ""}
        form |= {f"status-{second}": "excused", f"reason-{second}": "Đi làm ăn xa"}
        sent = await client.post(f"/app/meetings/{begun}/attendance", data=form)
        assert sent.status_code == 422, sent.text
        page = sent.text
        assert 'id="attendance-errors"' in page
        assert selected(page, f"status-{first}") == "excused"
        assert selected(page, f"status-{second}") == "excused"
        assert value(page, f"reason-{second}") == "Đi làm ăn xa"
        assert value(page, f"reason-{first}") == ""


async def test_refused_minutes_are_shown_again_as_sent(system: RunningSystem, province: dict[str, str]) -> None:
    """On a meeting whose minutes are not adopted (adopted minutes are shown read-only, with no form)."""
    begun, starts = await begun_meeting(system, province)
    async with signed_in(system, "secretary") as client:
        record = (await client.get(f"/app/meetings/{begun}/record")).text
        members = re.findall(r'name="member" value="([^"]+)"', record)
        form = {
            "csrf": csrf_of(record),
            "day": f"{starts:%Y-%m-%d}",
            "started": f"{starts:%H:%M}",
            "ended": "",  # the one mistake
            "chair_id": members[0],
            "recorder_id": members[1],
            "speakers": [members[2]],
            "content": CONTENT.replace("\n", "\r\n"),
            "conclusions": "Thống nhất cao",
            "resolution-1": "Làm đường bê tông",
            "votes_for-1": "15",
            "task-1": "Vận động hộ dân hiến đất",
            "assignee-1": members[3],
            "due-1": "2026-12-31",
        }
        sent = await client.post(f"/app/meetings/{begun}/minutes", data=form)
        assert sent.status_code == 422, sent.text
        page = sent.text
        assert "Giờ kết thúc: không được để trống." in page
        content = re.search(r'<textarea id="m-content" name="content" rows="4">(.*?)</textarea>', page, re.S)
        assert content and html.unescape(content.group(1)) == CONTENT
        assert "Thống nhất cao</textarea>" in page
        assert value(page, "resolution-1") == "Làm đường bê tông"
        assert value(page, "votes_for-1") == "15"
        assert value(page, "task-1") == "Vận động hộ dân hiến đất"
        assert selected(page, "assignee-1") == members[3]
        assert value(page, "due-1") == "2026-12-31"
        assert value(page, "ended") == ""
        assert re.search(rf'name="speakers" value="{members[2]}" checked', page)
        assert not re.search(rf'name="speakers" value="{members[1]}" checked', page)


async def test_refused_points_are_shown_again_as_sent(system: RunningSystem, province: dict[str, str]) -> None:
    """The cell committee's self-assessment on the record page, and the monitor's confirmation of it."""
    for who, path, section in (
        ("secretary", f"/app/meetings/{HELD}/record", "assessment"),
        ("monitor", f"/app/monitoring/meetings/{HELD}", "confirm"),
    ):
        async with signed_in(system, who) as client:
            shown = (await client.get(path)).text
            codes = re.findall(r'name="point-([a-z_.]+)"', shown)
            assert codes, who
            form: dict[str, object] = {"csrf": csrf_of(shown), "comment": "Đã rà soát"}
            for code in codes:
                form[f"point-{code}"] = "1"
            form[f"point-{codes[-1]}"] = "nhiều"  # the one mistake
            action = path if who == "monitor" else f"/app/meetings/{HELD}/assessment"
            sent = await client.post(action, data=form)
            assert sent.status_code == 422, sent.text
            page = sent.text
            assert f'id="{section}-errors"' in page, who
            assert [value(page, f"point-{code}") for code in codes] == [str(form[f"point-{code}"]) for code in codes]
            assert value(page, "comment") == "Đã rà soát"


async def test_an_assessment_is_judged_by_the_framework_never_by_a_posted_name_or_maximum(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """The forms posted hidden `name-<code>` and `max-<code>` that the page's check trusted: a client chose the label
    of an item's error and its maximum. Both now come from the framework the page itself shows, read again."""
    for who, path in (("secretary", f"/app/meetings/{HELD}/record"), ("monitor", f"/app/monitoring/meetings/{HELD}")):
        async with signed_in(system, who) as client:
            shown = (await client.get(path)).text
            assert 'name="max-' not in shown and 'name="name-' not in shown, who
            items = re.findall(r'<label for="point-([a-z_.]+)">([^<]+) <small>\(tối đa ([0-9,]+) điểm', shown)
            assert len(items) >= 2, who
            (code, name, top), (other, other_name, _top) = items[0], items[1]
            name, other_name = html.unescape(name), html.unescape(other_name)
            above = str(float(top.replace(",", ".")) + 1).replace(".", ",")
            action = path if who == "monitor" else f"/app/meetings/{HELD}/assessment"
            forged = {f"max-{code}": "1000", f"name-{code}": "Kẻ Mạo Danh", f"name-{other}": "Kẻ Mạo Danh"}
            over = await client.post(action, data={"csrf": csrf_of(shown), f"point-{code}": above} | forged)
            assert over.status_code == 422, (who, over.status_code)
            said = html.unescape(over.text)
            assert f"{name}: từ 0 đến {top} điểm." in said, who
            assert "Kẻ Mạo Danh" not in said, who
            wrong = {"csrf": csrf_of(shown), f"point-{code}": "1", f"point-{other}": "nhiều"} | forged
            word = await client.post(action, data=wrong)
            assert word.status_code == 422, (who, word.status_code)
            said = html.unescape(word.text)
            assert f"{other_name}: vui lòng nhập số." in said, who
            assert "Kẻ Mạo Danh" not in said, who
    # the API (POST /v1/meetings/{id}/assessments): meetings judges the points by the framework in force, so points
    # above an item's maximum, or of an item not assessed by hand, are refused and nothing is kept
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    ) as api:
        before = (await api.get(f"/v1/meetings/{HELD}")).json()["assessments"]
        for points in ({code: float(top.replace(",", ".")) + 1}, {"no.such_item": 1}):
            sent = await api.post(f"/v1/meetings/{HELD}/assessments", json={"role": "cell_committee", "points": points})
            assert sent.status_code == 422 and "points." in sent.json()["field"], (points, sent.status_code, sent.text)
        assert (await api.get(f"/v1/meetings/{HELD}")).json()["assessments"] == before


async def test_a_task_is_marked_done_on_the_day_given(
    system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str]
) -> None:
    """Refused days only (a day ahead, a day before the meeting): the demo's open tasks stay open for other tests."""
    found = None
    for month in reversed(MONTHS[-4:]):
        meeting = (await api.get(f"/v1/meetings/demo-cb-thon-1-{month}")).json()
        open_tasks = [task for task in meeting.get("tasks") or [] if not task.get("completed_on")]
        if open_tasks:
            found = meeting["meeting_id"], open_tasks[0]["task_id"], meeting["starts_at"][:10]
            break
    assert found, "no demo meeting of thôn 1 has an open task"
    meeting_id, task, held_on = found
    async with signed_in(system, "secretary") as client:
        record = (await client.get(f"/app/meetings/{meeting_id}/record")).text
        today = datetime.now(VIETNAM_TZ).date().isoformat()
        assert (
            f'id="done-{task}" name="completed_on-{task}" type="date" min="{held_on}" max="{today}" value="{today}"'
            in (record)
        )
        ahead = (datetime.now(VIETNAM_TZ).date() + timedelta(days=3)).isoformat()
        done = f"/app/meetings/{meeting_id}/tasks/{task}/done"
        sent = await client.post(done, data={"csrf": csrf_of(record), "completed_on": ahead, "task_id": task})
        assert sent.status_code == 422, sent.text
        assert "Ngày hoàn thành: ngày " in html.unescape(sent.text) and "chưa tới" in html.unescape(sent.text)
        assert f'name="completed_on-{task}" type="date" min="{held_on}" max="{today}" value="{ahead}"' in sent.text
        before = (date.fromisoformat(held_on) - timedelta(days=1)).isoformat()
        sent = await client.post(done, data={"csrf": csrf_of(record), "completed_on": before, "task_id": task})
        assert sent.status_code == 422, sent.text
        assert "sớm hơn buổi sinh hoạt giao nhiệm vụ này" in html.unescape(sent.text)


async def test_the_other_refused_forms_are_shown_again_as_sent(system: RunningSystem, province: dict[str, str]) -> None:
    """Documents and the adoption of a held meeting (adopted already: told why, no form), the reschedule form of one
    still ahead."""
    async with signed_in(system, "secretary") as client:
        record = (await client.get(f"/app/meetings/{HELD}/record")).text
        token = csrf_of(record)
        document = {"csrf": token, "title": "Nghị quyết tháng 10", "kind": "resolution", "url": "không-phải-link"}
        sent = await client.post(f"/app/meetings/{HELD}/documents", data=document)
        assert sent.status_code == 422, sent.text
        assert 'id="documents-errors"' in sent.text
        assert value(sent.text, "title") == "Nghị quyết tháng 10"
        assert value(sent.text, "url") == "không-phải-link"
        assert selected(sent.text, "kind") == "resolution"
        votes = {"csrf": token, "votes_for": "mười", "votes_against": "3"}
        sent = await client.post(f"/app/meetings/{HELD}/approval", data=votes)
        assert sent.status_code == 422, sent.text
        # the held meeting's minutes are adopted: a stale tab's refused adoption is told why beside the adoption
        # shown read-only, with no form to send again
        assert 'id="approval-errors"' in sent.text and 'id="adoption-recorded"' in sent.text
        assert 'name="votes_for"' not in sent.text

        ahead = AHEAD
        record = (await client.get(f"/app/meetings/{ahead}/record")).text
        move = {
            "csrf": csrf_of(record),
            "start_date": "31/02/2027",
            "start_time": "08:15",
            "location": "Hội trường mới",
            "reason": "Trùng lịch",
        }
        sent = await client.post(f"/app/meetings/{ahead}/reschedule", data=move)
        assert sent.status_code == 422, sent.text
        assert 'id="reschedule-errors"' in sent.text
        shown = [value(sent.text, name) for name in ("start_date", "start_time", "location", "reason")]
        assert shown == ["31/02/2027", "08:15", "Hội trường mới", "Trùng lịch"]
