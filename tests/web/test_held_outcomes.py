"""A secretary's form naming someone outside the cell is not reported as recorded, nor held: the minutes or roster
naming a member no record places in the cell on the meeting's date comes back (422) refused on the field (D1: a
trial's held roster replaced the meeting's whole roster once the member's record arrived), while a valid one still
says it was recorded; a member of another cell is said exactly as an id nobody has (the secretary's part of the tree
is their cell: the answer must not tell which ids exist elsewhere); a rejection replayed and accepted answers 409 to
a second replay and stores nothing. Against the real services, seeded with the demo province."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, api_token, csrf_of, feed, feed_event, history_meeting, signed_in, web_account

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"
OWN = [f"{CELL}-dv{index:02d}" for index in (1, 2, 3)]
STRANGER = "demo-cb-thon-2-dv03"  # a member of Chi bộ thôn 2, never of thôn 1
NOBODY = "demo-khong-co-ai"  # an id nobody has
BEFORE_THE_RECORDS = DEMO.setup.replace(hour=19, minute=30) - timedelta(days=55)
"""Before the moved member's snapshots (55 days before the demo's tree is loaded): nothing says where they were then,
which an integration's record would wait for (a later snapshot may yet put them in thôn 1); a secretary's form is
refused at once."""
RECORDED = "Đã ghi nhận"
NOT_OURS = "không phải là đảng viên của chi bộ vào ngày sinh hoạt"
"""How the form refuses a member no record places in the cell on the meeting's date (forms.send)."""
FEED = "urn:test:held-outcomes-moves"


async def _moved_member(system: RunningSystem) -> str:
    """A member in thôn 2 a month before the demo's tree was loaded, who came to thôn 1 two weeks after it and left the
    roll two days later (fed province-wide, so no cell's current members change): inside the secretary's cell once,
    so meetings judges them by date and says why. The stay is short and early: a roster of thôn 1 must list every
    member of the cell at the meeting's start, and other tests record rosters of thôn 1's later months from its
    current members."""
    member = f"demo-chuyen-{uuid.uuid4().hex[:8]}"
    left = DEMO.setup + timedelta(days=16)
    facts: list[tuple[datetime, str, dict[str, Any]]] = [
        (DEMO.setup - timedelta(days=30), "member.upserted.v1", {"cell_id": "demo-cb-thon-2"}),
        (DEMO.setup + timedelta(days=14), "member.upserted.v1", {"cell_id": CELL}),
        (left, "member.removed.v1", {"reason": "transferred", "effective_on": left.date().isoformat()}),
    ]
    snapshot = {"full_name": "Đinh Văn Chuyển", "status": "official"}
    events = [
        feed_event(
            event_type,
            {"id": member, **(snapshot if event_type == "member.upserted.v1" else {}), **data},
            source=FEED,
            at=at,
        )
        for at, event_type, data in facts
    ]
    await feed(system, events, sub="api-feed-moves")
    return member


async def _schedule(
    system: RunningSystem, client: httpx.AsyncClient, starts: datetime, secretary: str
) -> tuple[str, str]:
    """A past meeting of thôn 1, fed by an integration (a secretary schedules only meetings still ahead, and these
    meetings are history); its id and the record page's CSRF token."""
    meeting_id = await history_meeting(system, secretary, CELL, starts, agenda="Thử ghi biên bản")
    return meeting_id, csrf_of((await client.get(f"/app/meetings/{meeting_id}/record")).text)


def _minutes(token: str, starts: datetime, *, chair: str, speakers: list[str]) -> dict[str, object]:
    return {
        "csrf": token,
        "day": starts.strftime("%Y-%m-%d"),
        "started": starts.strftime("%H:%M"),
        "ended": (starts + timedelta(minutes=95)).strftime("%H:%M"),
        "chair_id": chair,
        "recorder_id": OWN[1],
        "speakers": speakers,
        "content": "Nội dung sinh hoạt",
        "conclusions": "Kết luận",
    }


async def test_a_minutes_or_roster_naming_someone_outside_the_cell_is_refused_not_held(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = BEFORE_THE_RECORDS
    moved = await _moved_member(system)
    async with signed_in(system, "secretary") as client:
        meeting_id, token = await _schedule(system, client, starts, province["secretary"])
        record = f"/app/meetings/{meeting_id}"

        # a member of another cell, never of thôn 1, is said exactly as an id nobody has
        answers: dict[str, str] = {}
        for named in (STRANGER, NOBODY):
            answer = await client.post(f"{record}/minutes", data=_minutes(token, starts, chair=named, speakers=OWN))
            assert answer.status_code == 422 and RECORDED not in answer.text
            answers[named] = answer.text.split('id="minutes-errors"', 1)[1].split("</div>", 1)[0]
        assert f"Chủ trì: đồng chí {STRANGER} {NOT_OURS}" in answers[STRANGER]
        assert answers[STRANGER].replace(STRANGER, "<id>") == answers[NOBODY].replace(NOBODY, "<id>")

        unsure = await client.post(f"{record}/minutes", data=_minutes(token, starts, chair=moved, speakers=OWN))
        assert unsure.status_code == 422, unsure.text
        assert RECORDED not in unsure.text and "notice=" not in str(unsure.url)
        errors = unsure.text.split('id="minutes-errors"', 1)[1].split("</div>", 1)[0]
        assert f"Chủ trì: đồng chí {moved} {NOT_OURS}" in errors
        assert "nội dung này chưa được ghi nhận" in errors and "24 giờ" not in errors  # refused, nothing waits

        speaker = await client.post(
            f"{record}/minutes", data=_minutes(token, starts, chair=OWN[0], speakers=[OWN[0], moved])
        )
        assert speaker.status_code == 422 and RECORDED not in speaker.text
        assert f"đồng chí {moved} {NOT_OURS}" in speaker.text

        roster = {"csrf": token, "member": [OWN[0], moved], f"status-{OWN[0]}": "present", f"status-{moved}": "present"}
        attendance = await client.post(f"{record}/attendance", data=roster)
        assert attendance.status_code == 422 and RECORDED not in attendance.text
        said = attendance.text.split('id="attendance-errors"', 1)[1].split("</div>", 1)[0]
        # no longer in the cell's roster, the member is named by their id (never by a posted name)
        assert f"Điểm danh đồng chí <bdi>{moved}</bdi>: đồng chí {moved} {NOT_OURS}" in said
        assert "24 giờ" not in said

        # a meeting of today, so the demo's older periods keep their scores
        starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=3)).replace(second=0, microsecond=0)
        meeting_id, token = await _schedule(system, client, starts, province["secretary"])
        record = f"/app/meetings/{meeting_id}"
        # on a date meetings knows the moved member had left the cell, the minutes are refused outright, and said so
        refused = await client.post(f"{record}/minutes", data=_minutes(token, starts, chair=moved, speakers=OWN))
        assert refused.status_code == 422 and RECORDED not in refused.text
        assert f"Chủ trì: đồng chí {moved} {NOT_OURS}" in refused.text
        valid = await client.post(f"{record}/minutes", data=_minutes(token, starts, chair=OWN[0], speakers=OWN))
        assert valid.status_code == 303 and valid.headers["location"].endswith("notice=minutes")
        page = await client.get(valid.headers["location"])
        assert "Đã ghi nhận. Trang sẽ cập nhật sau giây lát." in page.text


async def test_a_replayed_rejection_is_not_replayed_again(system: RunningSystem, province: dict[str, str]) -> None:
    operator = await api_token(system, role="operator", unit=None, sub="api-operator-held")
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=5)).replace(second=0, microsecond=0)
    async with signed_in(system, "secretary") as client:
        meeting_id, _token = await _schedule(system, client, starts, province["secretary"])
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": f"evt-{uuid.uuid4().hex[:16]}",
        "source": "urn:test:held-outcomes",
        "type": "documents.published.v1",
        "time": datetime.now(VIETNAM_TZ).isoformat(timespec="seconds"),
        "datacontenttype": "application/json",
        "data": {"meeting_id": meeting_id, "published_at": starts.isoformat(), "items": [{"title": "Nội dung"}]},
    }
    headers = {"Authorization": f"Bearer {operator}"}
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:
        integration = await api_token(
            system, role="integration", unit=CELL, sub="api-feed-held", sources=["urn:test:held-outcomes"]
        )
        sent = await api.post(
            "/v1/events",
            content=httpx.Request("POST", "/", json=event).content,
            headers={"Authorization": f"Bearer {integration}", "Content-Type": "application/cloudevents+json"},
        )
        assert sent.status_code < 300 and "rejected" in sent.text, sent.text
        listed = (await api.get("/v1/rejections?status=open&type=documents.published.v1&limit=200")).json()
        [rejection] = [item for item in listed["items"] if item["event_id"] == event["id"]]
        replay = f"/v1/rejections/{rejection['rejection_id']}/replay"
        fixed = {**event, "data": {**event["data"], "items": [{"title": "Nội dung", "kind": "content"}]}}
        accepted = await api.post(replay, json={"event": fixed})
        assert accepted.status_code == 200 and accepted.json()["outcome"] == "accepted", accepted.text
        before = (await api.get("/v1/rejections?type=documents.published.v1&limit=200")).json()

        for body in ({}, {"event": fixed}):
            again = await api.post(replay, json=body)
            assert again.status_code == 409, again.text
            message = again.json()["message"]
            assert f"rejection {rejection['rejection_id']} is already replayed: accepted at " in message
            assert again.json()["reason_code"] == "already_replayed"
        after = (await api.get("/v1/rejections?type=documents.published.v1&limit=200")).json()
        assert after == before  # no new open rejection, the replayed one unchanged
        mine = [item for item in after["items"] if item["event_id"] == event["id"]]
        assert [item["status"] for item in mine] == ["replayed"]

        # the operator page's replay form: the same refusal, in Vietnamese, and nothing stored either
        await web_account(system, "operator-held", "operator", None, None)
        async with signed_in(system, "operator-held") as client:
            token = csrf_of((await client.get("/app/operations")).text)
            form = {"csrf": token, "rejection_id": rejection["rejection_id"], "event_id": event["id"]}
            page = await client.post("/app/operations/rejections/replay", data=form)
            assert page.status_code == 409, page.text
            said = page.text.split('id="page-errors"', 1)[1].split("</div>", 1)[0]
            assert "<p>Lưu ý:</p>" in said and "Vui lòng sửa" not in said  # nothing to correct: told, not asked
            assert f"Sự kiện bị từ chối {event['id']} đã được xét lại và chấp nhận lúc " in said
            assert "nên không xét lại lần nữa; không có gì thay đổi." in said
        assert (await api.get("/v1/rejections?type=documents.published.v1&limit=200")).json() == before
