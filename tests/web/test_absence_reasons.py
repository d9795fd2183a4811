"""Who reads the reason of an absence: a plain member only on their own roster line, on every page, download and API
read they can reach; the cell's secretary and the officers above read them all (services/gateway/handlers)."""

import html
import uuid
from datetime import datetime, timedelta

import httpx

from services.gateway.web.i18n import label
from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import PEOPLE, cell_members, extraordinary_meeting, feed, feed_event, signed_in
from tests.web.test_exports import pdf_text

MEMBER = PEOPLE["member"][2]
CELL = "demo-cb-thon-1"


HEALTH = "Ốm, có giấy của trạm y tế"
FEED = "urn:test:absence-reasons"


async def _held_with_a_health_reason(system: RunningSystem, province: dict[str, str]) -> str:
    """A meeting of the member's cell held earlier today, its minutes in, another member excused for health."""
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=2)).replace(second=0, microsecond=0)
    meeting_id = f"{CELL}-health-{uuid.uuid4().hex[:8]}"
    members = [m["id"] for m in await cell_members(system, province, CELL)]
    ill = next(member for member in members if member != MEMBER and member != members[0])
    records = [
        {"member_id": m, "status": "present"} if m != ill else {"member_id": m, "status": "excused", "reason": HEALTH}
        for m in members
    ]
    minutes = {
        "meeting_id": meeting_id,
        "started_at": starts.isoformat(),
        "ended_at": (starts + timedelta(minutes=95)).isoformat(),
        "chair_id": members[0],
        "recorder_id": MEMBER,
        "speakers": [members[0]],
        "self_criticism_minutes": 20,
        "content": "Bàn việc thôn.",
        "conclusions": "Chi bộ thống nhất.",
        "resolutions": [],
        "tasks": [],
    }
    scheduled = extraordinary_meeting(meeting_id, CELL, starts, "Bàn việc thôn")
    events = [
        feed_event("meeting.scheduled.v1", scheduled, source=FEED, at=starts - timedelta(days=1)),
        feed_event("attendance.recorded.v1", {"meeting_id": meeting_id, "records": records}, source=FEED, at=starts),
        feed_event("minutes.submitted.v1", minutes, source=FEED, at=starts + timedelta(minutes=96)),
    ]
    await feed(system, events, sub="api-feed-health")
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:

        async def recorded() -> bool:
            found = await api.get(
                f"/v1/meetings/{meeting_id}", headers={"Authorization": f"Bearer {province['secretary']}"}
            )
            return found.status_code == 200 and bool(found.json().get("minutes"))

        await eventually(recorded, timeout=60, interval=0.5)
    return meeting_id


async def test_a_member_reads_no_others_reason_anywhere(system: RunningSystem, province: dict[str, str]) -> None:
    """The fresh-user trial: a member read every member's reasons, health included, on the meeting's page, the
    cell's page, the minutes PDF and the API; the secretary still reads them all."""
    meeting_id, reason, status = await _held_with_a_health_reason(system, province), HEALTH, "excused"
    async with signed_in(system, "member") as member:
        page = await member.get(f"/app/meetings/{meeting_id}")
        cell = await member.get(f"/app/cells/{CELL}")
        minutes = await member.get(f"/app/meetings/{meeting_id}/minutes.pdf")
    assert page.status_code == cell.status_code == minutes.status_code == 200
    shown = html.unescape(page.text)
    assert reason not in shown and f"<td>{label('attendance', status)}</td>" in shown  # the status stays
    assert reason not in html.unescape(cell.text)
    assert reason not in " ".join(pdf_text(minutes.content).split())
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['member']}"}
    ) as own:
        for path in (f"/v1/meetings/{meeting_id}", f"/v1/meetings/{meeting_id}/attendance"):
            response = await own.get(path)
            assert response.status_code == 200 and reason not in response.text, path
            records = response.json()["attendance"]["records"]
            assert all(record.get("reason") is None for record in records if record["member_id"] != MEMBER)
    async with signed_in(system, "secretary") as secretary:
        page = await secretary.get(f"/app/meetings/{meeting_id}")
        minutes = await secretary.get(f"/app/meetings/{meeting_id}/minutes.pdf")
    assert reason in html.unescape(page.text)
    assert reason in " ".join(pdf_text(minutes.content).split())


async def test_a_member_reads_the_cell_members_names(system: RunningSystem, province: dict[str, str]) -> None:
    """The fresh-user trial: a member read ids for names ('demo-cb-thon-1-dv01 Có mặt', 'Chủ trì: đồng chí
    demo-cb-thon-1-dv01') on the meeting page and the minutes PDF, where an officer read names; a member of the cell
    sits in its meetings and reads its members' names, though not the roster's other fields."""
    meeting_id = await _held_with_a_health_reason(system, province)
    members = {item["id"]: item for item in await cell_members(system, province, CELL)}
    chair = str(next(iter(members)))
    async with signed_in(system, "member") as member:
        page = await member.get(f"/app/meetings/{meeting_id}")
        minutes = await member.get(f"/app/meetings/{meeting_id}/minutes.pdf")
    assert page.status_code == minutes.status_code == 200
    shown = html.unescape(page.text)
    for member_id, item in members.items():
        assert f"<td><bdi>{item['full_name']}</bdi></td>" in shown and f"<td>{member_id}</td>" not in shown, member_id
        assert not item.get("email") or item["email"] not in shown
    text = " ".join(pdf_text(minutes.content).split())
    assert members[chair]["full_name"] in text and members[MEMBER]["full_name"] in text
    assert chair not in text and str(MEMBER) not in text
