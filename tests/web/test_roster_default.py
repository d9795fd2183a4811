"""The secretary's roster form preselected "Có mặt" for every member (a trial): a secretary who saved it without
checking recorded everyone present. Now it preselects only what is known (the roster already recorded, a check-in
device's report included, and the cell's exemption of a member), every other member's status is required, and a
form sent without some is refused naming each of those members, with every other mistake, at once."""

import html
import re
import uuid
from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import cell_members, csrf_of, extraordinary_meeting, feed, feed_event, signed_in
from tests.web.test_record_values import begun_meeting, selected, value

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"
DEVICE = "urn:test:may-diem-danh-thon-1"
"""A check-in device at the cell's meeting hall (an integration's source)."""
WORK = "Đi công tác"
UNCHOSEN = "chưa chọn tình trạng; vui lòng chọn một tình trạng"


def errors_of(page: str) -> str:
    """The text of the roster form's list of errors."""
    return html.unescape(page.split('id="attendance-errors"', 1)[1].split("</ul>", 1)[0])


async def test_a_roster_not_recorded_yet_preselects_no_status_but_a_members_exemption(
    system: RunningSystem, province: dict[str, str]
) -> None:
    members = await cell_members(system, province, CELL)
    begun, _starts = await begun_meeting(system, province)
    async with signed_in(system, "secretary") as client:
        page = (await client.get(f"/app/meetings/{begun}/record")).text
    assert "— Chọn tình trạng —" in page
    for member in members:
        expected = "exempt" if member.get("exempt") else ""
        assert selected(page, f"status-{member['id']}") == expected, member
    assert any(not member.get("exempt") for member in members)


async def test_a_check_in_devices_report_is_preselected_and_every_other_member_must_be_chosen(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """A device reported three members (two present, one excused with a reason): the form shows exactly that and
    no status for the rest; sent as shown, with one reported member changed to excused without a reason, it is
    refused naming every member without a status and the missing reason at once, and records nothing."""
    members = [m for m in await cell_members(system, province, CELL) if not m.get("exempt")]
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=2)).replace(second=0, microsecond=0)
    meeting_id = f"{CELL}-check-in-{uuid.uuid4().hex[:8]}"
    first, second, away = (member["id"] for member in members[:3])
    reported = [
        {"member_id": first, "status": "present"},
        {"member_id": second, "status": "present"},
        {"member_id": away, "status": "excused", "reason": WORK},
    ]
    scheduled = extraordinary_meeting(meeting_id, CELL, starts, "Bàn việc thôn")
    events = [
        feed_event("meeting.scheduled.v1", scheduled, source=DEVICE, at=starts - timedelta(days=1)),
        feed_event("attendance.recorded.v1", {"meeting_id": meeting_id, "records": reported}, source=DEVICE, at=starts),
    ]
    await feed(system, events, sub="api-feed-check-in")
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:

        async def recorded() -> bool:
            found = await api.get(
                f"/v1/meetings/{meeting_id}", headers={"Authorization": f"Bearer {province['secretary']}"}
            )
            return found.status_code == 200 and len((found.json().get("attendance") or {}).get("records") or []) == 3

        await eventually(recorded, timeout=60, interval=0.5)
    async with signed_in(system, "secretary") as client:
        page = (await client.get(f"/app/meetings/{meeting_id}/record")).text
        assert selected(page, f"status-{first}") == "present" and selected(page, f"status-{second}") == "present"
        assert selected(page, f"status-{away}") == "excused" and value(page, f"reason-{away}") == WORK
        others = [member for member in members if member["id"] not in (first, second, away)]
        assert others and all(selected(page, f"status-{member['id']}") == "" for member in others)

        # sent as shown (each select's selected option, none for the unchosen), the second changed to excused
        # without a reason
        ids = re.findall(r'name="member" value="([^"]+)"', page)
        form: dict[str, object] = {"csrf": csrf_of(page), "member": ids}
        for member_id in ids:
            form[f"status-{member_id}"] = selected(page, f"status-{member_id}") or ""
            form[f"reason-{member_id}"] = value(page, f"reason-{member_id}")
        form[f"status-{second}"] = "excused"
        sent = await client.post(f"/app/meetings/{meeting_id}/attendance", data=form)
        assert sent.status_code == 422, sent.text
        said = errors_of(sent.text)
        for member in others:
            assert f"Điểm danh đồng chí <bdi>{member['full_name']}</bdi>: {UNCHOSEN}" in said, (member, said)
        assert "Lý do vắng của" in said and "không được để trống" in said, said
        assert said.count(UNCHOSEN) == len(others), said
        # shown again as sent: the unchosen still unchosen and marked, the reported ones as they were
        again = sent.text
        assert selected(again, f"status-{others[0]['id']}") == "" and selected(again, f"status-{first}") == "present"
        row = re.search(rf'<select name="status-{re.escape(others[0]["id"])}"[^>]*>', again)
        assert row and 'aria-invalid="true"' in row.group(0), row

    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        kept = await api.get(f"/v1/meetings/{meeting_id}", headers={"Authorization": f"Bearer {province['secretary']}"})
    assert {r["member_id"]: r["status"] for r in kept.json()["attendance"]["records"]} == {
        first: "present",
        second: "present",
        away: "excused",
    }
