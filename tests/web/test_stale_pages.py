"""A new user's trial against the real services: the same meeting's record page open in two sessions, moved to
one day in the first and to another from the stale second page, both answered "Đã ghi nhận" and members got two
change mails. A move sent from a page showing what has since changed is refused, saying the current start and
place, and nothing is sent. The reschedule form also comes filled with the meeting's date, so changing only the
place moves nothing else."""

import html
import re
from datetime import datetime, timedelta

import httpx
import pytest

from shared.envelope import now
from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, history_meeting, signed_in

pytestmark = pytest.mark.e2e


def form_of_button(page: str, action: str) -> tuple[str, dict[str, list[str]]]:
    """The body of the form `page` sends to `action` and what its button adds: a form of its own (`action`), or the
    record page's one form (every part's inputs) with the `form_key` of the part's button (`formaction`)."""
    block = re.search(rf'<form[^>]*action="[^"]*{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    if block:
        return block.group(1), {}
    whole = re.search(r'<form[^>]*id="record-form"[^>]*>(.*?)</form>', page, re.S)
    assert whole, action
    button = re.search(rf'formaction="[^"]*{re.escape(action)}" name="form_key" value="([^"]*)"', whole.group(1))
    assert button, action
    return whole.group(1), {"form_key": [button.group(1)]}


def inputs(page: str, action: str) -> dict[str, str | list[str]]:
    """The inputs of the form posting to `action` on `page` as a browser sends them untouched: the values the page
    filled in, ticked boxes only (a name given more than once as the list of its values)."""
    body, pairs = form_of_button(page, action)
    for attributes in re.findall(r"<input([^>]*)>", body):
        name = re.search(r'name="([^"]*)"', attributes)
        value = re.search(r'value="([^"]*)"', attributes)
        if not name or ('type="checkbox"' in attributes and "checked" not in attributes):
            continue
        said = html.unescape(value.group(1)) if value else ("on" if 'type="checkbox"' in attributes else "")
        pairs.setdefault(name.group(1), []).append(said)
    return {name: values[0] if len(values) == 1 else values for name, values in pairs.items()}


def day_and_hour(moment: datetime) -> dict[str, str]:
    """The reschedule form's date and hour inputs typed for `moment`."""
    return {"start_date": f"{moment:%d/%m/%Y}", "start_time": f"{moment:%H:%M}"}


async def meeting_ahead(system: RunningSystem, province: dict[str, str]) -> tuple[str, datetime]:
    """A meeting of thôn 1 twelve hours ahead (its id and start), nothing recorded of it: fed by an integration the
    day before its start (history_meeting), which must be past."""
    starts = (now().astimezone(VIETNAM_TZ) + timedelta(hours=12)).replace(second=0, microsecond=0)
    meeting_id = f"demo-cb-thon-1-stale-{now():%Y%m%d%H%M%S%f}"
    await history_meeting(system, province["secretary"], "demo-cb-thon-1", starts, agenda="Họp", meeting_id=meeting_id)
    return meeting_id, starts


async def test_a_move_from_a_page_opened_before_another_move_is_refused_with_the_current_start(
    system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str]
) -> None:
    meeting_id, starts = await meeting_ahead(system, province)
    record = f"/app/meetings/{meeting_id}/record"
    first_day, second_day = starts + timedelta(days=1), starts + timedelta(days=2)
    async with signed_in(system, "secretary") as first, signed_in(system, "secretary") as second:
        fresh = (await first.get(record)).text
        stale = (await second.get(record)).text
        moved = inputs(fresh, "/reschedule") | {"csrf": csrf_of(fresh), **day_and_hour(first_day)}
        sent = await first.post(f"/app/meetings/{meeting_id}/reschedule", data=moved)
        assert sent.status_code in (302, 303), html.unescape(sent.text)[-2000:]

        async def first_move_kept() -> bool:
            found = (await api.get(f"/v1/meetings/{meeting_id}")).json()["starts_at"]
            return datetime.fromisoformat(found) == first_day

        await eventually(first_move_kept, timeout=120, interval=0.5)
        # the first page's form sent again (a double click) asks what is stored: no stale page, taken as before
        resent = await first.post(f"/app/meetings/{meeting_id}/reschedule", data=moved)
        assert resent.status_code in (302, 303), html.unescape(resent.text)[-2000:]
        again = inputs(stale, "/reschedule") | {"csrf": csrf_of(stale), **day_and_hour(second_day)}
        refused = await second.post(f"/app/meetings/{meeting_id}/reschedule", data=again)
        page = html.unescape(refused.text)
        assert refused.status_code == 422, page[-2000:]
        said = "Buổi sinh hoạt đã được thay đổi sau khi đồng chí mở trang này: hiện bắt đầu lúc "
        said += f"{first_day:%H:%M} "
        assert re.search(rf"{said}[^<]*ngày {first_day:%d/%m/%Y} tại [^<]+, vui lòng xem lại\.", page), page[-3000:]
        # the form keeps the start typed (nothing typed is lost), the stored one named beside it; its page's values
        # are now the meeting's, so sending it again is the secretary's choice
        assert "Chưa có gì được lưu: biểu mẫu bên dưới giữ nguyên nội dung đồng chí đã nhập" in page, page[-3000:]
        assert inputs(page, "/reschedule")["start_date"] == f"{second_day:%d/%m/%Y}"
        assert "Ngày: hiện đang lưu là “" in page, page[-3000:]
        assert inputs(page, "/reschedule")["was.starts_at"] == first_day.isoformat()
    found = (await api.get(f"/v1/meetings/{meeting_id}")).json()["starts_at"]
    assert datetime.fromisoformat(found) == first_day


async def test_the_reschedule_form_comes_with_the_meetings_date_so_only_the_place_can_be_changed(
    system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str]
) -> None:
    meeting_id, starts = await meeting_ahead(system, province)
    async with signed_in(system, "secretary") as client:
        page = (await client.get(f"/app/meetings/{meeting_id}/record")).text
        shown = inputs(page, "/reschedule")
        assert (shown["start_date"], shown["start_time"]) == (f"{starts:%Y-%m-%d}", f"{starts:%H:%M}")
        sent = await client.post(
            f"/app/meetings/{meeting_id}/reschedule", data=shown | {"csrf": csrf_of(page), "location": "Hội trường"}
        )
        assert sent.status_code in (302, 303), html.unescape(sent.text)[-2000:]

    async def moved_place() -> bool:
        found = (await api.get(f"/v1/meetings/{meeting_id}")).json()
        return bool(found["location"] == "Hội trường" and datetime.fromisoformat(found["starts_at"]) == starts)

    await eventually(moved_place, timeout=120, interval=0.5)


async def test_a_roster_or_minutes_sent_from_a_page_opened_before_they_were_recorded_again_are_refused(
    system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str]
) -> None:
    """Two sessions on a meeting begun two hours ago: the first records everybody present and the minutes; the
    second, still showing neither, would overwrite both: each is refused keeping what was sent and, for the
    minutes, naming each input whose value sent differs from the stored one with both values."""
    starts = (now().astimezone(VIETNAM_TZ) - timedelta(hours=2)).replace(second=0, microsecond=0)
    meeting_id = await history_meeting(system, province["secretary"], "demo-cb-thon-1", starts, agenda="Họp")
    record, path = f"/app/meetings/{meeting_id}/record", f"/app/meetings/{meeting_id}"
    async with signed_in(system, "secretary") as first, signed_in(system, "secretary") as second:
        fresh = (await first.get(record)).text
        stale = (await second.get(record)).text
        members = re.findall(r'name="member" value="([^"]+)"', fresh)

        def roster(page: str, absent: str | None) -> dict[str, object]:
            shown = inputs(page, "/attendance")
            form: dict[str, object] = {
                "csrf": csrf_of(page),
                "member": members,
                "was.attendance": shown.get("was.attendance", ""),
            }
            form |= {f"status-{member}": "present" for member in members}
            return form | ({f"status-{absent}": "excused", f"reason-{absent}": "Đi làm ăn xa"} if absent else {})

        def minutes(page: str, content: str) -> dict[str, object]:
            return {
                "csrf": csrf_of(page),
                "was.minutes": inputs(page, "/minutes").get("was.minutes", ""),
                "day": f"{starts:%Y-%m-%d}",
                "started": f"{starts:%H:%M}",
                "ended": f"{starts + timedelta(minutes=95):%H:%M}",
                "chair_id": members[0],
                "recorder_id": members[1],
                "speakers": members[:2],
                "content": content,
                "conclusions": "Kết luận",
            }

        saved = await first.post(f"{path}/attendance", data=roster(fresh, None))
        assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
        saved = await first.post(f"{path}/minutes", data=minutes(fresh, "Nội dung đã ghi"))
        assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
        for action, again in (("attendance", roster(fresh, None)), ("minutes", minutes(fresh, "Nội dung đã ghi"))):
            # the first page's forms sent again (a double click) say what is stored: taken, not refused as stale
            resent = await first.post(f"{path}/{action}", data=again)
            assert resent.status_code == 303, html.unescape(resent.text)[-2000:]
        refused = await second.post(f"{path}/attendance", data=roster(stale, members[2]))
        page = html.unescape(refused.text)
        assert refused.status_code == 422, page[-2000:]
        assert "Điểm danh đã được ghi nhận lại sau khi đồng chí mở trang này" in page, page[-3000:]
        refused = await second.post(f"{path}/minutes", data=minutes(stale, "Nội dung của trang cũ"))
        page = html.unescape(refused.text)
        assert refused.status_code == 422, page[-2000:]
        assert "Biên bản đã được thay đổi sau khi đồng chí mở trang này" in page, page[-3000:]
        # the form keeps what was sent; each input sent otherwise is named with both values, none of it lost
        assert re.search(r'<textarea id="m-content"[^>]*>Nội dung của trang cũ</textarea>', page), page[-3000:]
        said = "Nội dung: hiện đang lưu là “Nội dung đã ghi”; đồng chí đã gửi “Nội dung của trang cũ”."
        assert page.count(said) == 1, page[-3000:]
        assert "Kết luận: hiện đang lưu" not in page  # what it sent as stored is not named
    secretary = {"Authorization": f"Bearer {province['secretary']}"}
    found = (await api.get(f"/v1/meetings/{meeting_id}", headers=secretary)).json()
    assert {item["status"] for item in found["attendance"]["records"]} == {"present"}
    assert found["minutes"]["content"] == "Nội dung đã ghi"


async def test_a_stale_minutes_form_names_only_the_inputs_changed_elsewhere_not_its_own_changes(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """A trial's two tabs on saved minutes: the first changed the conclusions and saved; the second changed only the
    content and was refused naming the content as changed by someone else. The refusal names the inputs stored
    otherwise than its page showed them (the conclusions), never one only this page changed (the content)."""
    starts = (now().astimezone(VIETNAM_TZ) - timedelta(hours=2)).replace(second=0, microsecond=0)
    meeting_id = await history_meeting(system, province["secretary"], "demo-cb-thon-1", starts, agenda="Họp")
    record, path = f"/app/meetings/{meeting_id}/record", f"/app/meetings/{meeting_id}"
    async with signed_in(system, "secretary") as first, signed_in(system, "secretary") as second:
        page = (await first.get(record)).text
        members = re.findall(r'name="member" value="([^"]+)"', page)
        roster = {"csrf": csrf_of(page), "member": members} | {f"status-{member}": "present" for member in members}
        saved = await first.post(f"{path}/attendance", data=roster)
        assert saved.status_code == 303, html.unescape(saved.text)[-2000:]

        def minutes(page: str, **changed: str) -> dict[str, object]:
            form: dict[str, object] = {
                "csrf": csrf_of(page),
                "was.minutes": inputs(page, "/minutes").get("was.minutes", ""),
                "day": f"{starts:%Y-%m-%d}",
                "started": f"{starts:%H:%M}",
                "ended": f"{starts + timedelta(minutes=95):%H:%M}",
                "chair_id": members[0],
                "recorder_id": members[1],
                "speakers": members[:2],
                "content": "Nội dung ban đầu",
                "conclusions": "Kết luận ban đầu",
            }
            shown = {name: value for name, value in inputs(page, "/minutes").items() if name.startswith("was.")}
            return form | shown | changed  # with every value the page itself fills in

        saved = await first.post(f"{path}/minutes", data=minutes((await first.get(record)).text))
        assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
        fresh = (await first.get(record)).text
        stale = (await second.get(record)).text
        assert "Nội dung ban đầu</textarea>" in html.unescape(stale), stale[-3000:]
        saved = await first.post(f"{path}/minutes", data=minutes(fresh, conclusions="Kết luận của tab thứ nhất"))
        assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
        refused = await second.post(f"{path}/minutes", data=minutes(stale, content="Nội dung của tab thứ hai"))
        told = html.unescape(refused.text)
        assert refused.status_code == 422, told[-2000:]
        assert "Biên bản đã được thay đổi sau khi đồng chí mở trang này" in told, told[-3000:]
        said = "Kết luận: hiện đang lưu là “Kết luận của tab thứ nhất”; đồng chí đã gửi “Kết luận ban đầu”."
        assert told.count(said) == 1, told[-3000:]
        assert "Nội dung: hiện đang lưu" not in told, told[-3000:]  # only this tab changed the content
