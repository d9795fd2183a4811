"""A record-page form whose meeting is locked answers the lock before its own fields, through the running system.

A user trial resent the minutes of a meeting whose minutes the cell had adopted (a stale form through Back, a post
without chair or recorder) and read "Vui lòng sửa: Chủ trì/Thư ký: không được để trống": fixing those fields could not
help, the minutes being locked once adopted. Every form of the record page whose target is locked (minutes, roster,
adoption, move and cancellation of a meeting whose minutes are adopted; every form of a cancelled meeting) now says
the lock ("Không thực hiện được: …") and nothing else, whatever else the form gets wrong.
"""

import html
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import signed_in
from tests.web.test_held_outcomes import CELL, OWN, _minutes, _schedule

pytestmark = pytest.mark.e2e

COULD_NOT = "Không thực hiện được:"
MINUTES_ADOPTED = "Chi bộ đã thông qua biên bản này: biên bản đã thông qua là văn bản chính thức, không thể sửa nữa."
ROSTER_ADOPTED = (
    "Chi bộ đã thông qua biên bản buổi sinh hoạt này: danh sách điểm danh là một phần của văn bản chính thức, không thể"
    " sửa được nữa."
)
HELD_NOT_CANCELLED = "Buổi sinh hoạt này đã diễn ra (đã có biên bản), nên không thể hủy."
HELD_NOT_MOVED = "Buổi sinh hoạt này đã diễn ra (đã có biên bản), nên không thể dời lịch."
CANCELLED = "Buổi sinh hoạt này đã bị hủy, nên không ghi nhận thêm nội dung nào cho buổi này."
ROSTER_CANCELLED = "Buổi sinh hoạt đã bị hủy, không ghi nhận điểm danh."


def errors_of(page: str, section: str) -> str:
    """The words of a section's error box, tags dropped and entities read."""
    box = page.split(f'id="{section}-errors"', 1)[1].split(">", 1)[1].split("</div>", 1)[0]
    return html.unescape(re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", box))).strip()


async def test_forms_of_a_meeting_whose_minutes_are_adopted_say_so_before_their_fields(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=5)).replace(second=0, microsecond=0)
    headers = {"Authorization": f"Bearer {province['secretary']}"}
    async with (
        signed_in(system, "secretary") as client,
        httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api,
    ):
        members = [item["id"] for item in (await api.get(f"/v1/cells/{CELL}/members?limit=200")).json()["items"]]
        meeting_id, token = await _schedule(system, client, starts, province["secretary"])
        record = f"/app/meetings/{meeting_id}"
        roster: dict[str, object] = {"csrf": token, "member": members}
        roster |= {f"status-{member}": "present" for member in members}
        assert (await client.post(f"{record}/attendance", data=roster)).status_code == 303
        minutes = _minutes(token, starts, chair=OWN[0], speakers=[OWN[0], OWN[2]])
        saved = await client.post(f"{record}/minutes", data=minutes)
        assert saved.status_code == 303, errors_of(saved.text, "minutes")
        adopted = await client.post(f"{record}/approval", data={"csrf": token, "votes_for": "9", "votes_against": "0"})
        assert adopted.status_code == 303, errors_of(adopted.text, "approval")
        stored = (await api.get(f"/v1/meetings/{meeting_id}")).json()

        # each form sent with a mistake of its own: the lock is all it says
        sent: dict[str, dict[str, Any]] = {
            "minutes": {**minutes, "chair_id": "", "recorder_id": "", "content": "Nội dung sửa sau khi thông qua"},
            "attendance": {**roster, f"status-{members[0]}": ""},
            "approval": {"csrf": token, "votes_for": "nhiều", "votes_against": "0"},
            "cancel": {"csrf": token, "cancel_reason": ""},
            "reschedule": {"csrf": token, "start_date": "", "start_time": "", "location": ""},
        }
        expected = {
            "minutes": MINUTES_ADOPTED,
            "attendance": ROSTER_ADOPTED,
            "approval": MINUTES_ADOPTED,
            "cancel": HELD_NOT_CANCELLED,
            "reschedule": HELD_NOT_MOVED,
        }
        said = {}
        for section, form in sent.items():
            answer = await client.post(f"{record}/{section}", data=form)
            said[section] = (answer.status_code, errors_of(answer.text, section) if answer.status_code == 422 else "")
        assert said == {section: (422, f"{COULD_NOT} {message}") for section, message in expected.items()}

        # the adopted minutes sent again as they are remain a no-op, not a refusal
        again = await client.post(f"{record}/minutes", data=minutes)
        assert again.status_code == 303, errors_of(again.text, "minutes")
        assert (await api.get(f"/v1/meetings/{meeting_id}")).json()["minutes"] == stored["minutes"]


async def test_forms_of_a_cancelled_meeting_say_so_before_their_fields(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=6)).replace(second=0, microsecond=0)
    headers = {"Authorization": f"Bearer {province['secretary']}"}
    async with (
        signed_in(system, "secretary") as client,
        httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api,
    ):
        members = [item["id"] for item in (await api.get(f"/v1/cells/{CELL}/members?limit=200")).json()["items"]]
        meeting_id, token = await _schedule(system, client, starts, province["secretary"])
        record = f"/app/meetings/{meeting_id}"
        cancelled = await api.post(f"/v1/meetings/{meeting_id}/cancel", json={"reason": "Thử khóa biểu mẫu"})
        assert cancelled.status_code == 202, cancelled.text

        async def is_cancelled() -> bool:
            return (await api.get(f"/v1/meetings/{meeting_id}")).json()["status"] == "cancelled"

        await eventually(is_cancelled, timeout=60, interval=0.3)
        roster: dict[str, object] = {"csrf": token, "member": members}
        roster |= {f"status-{member}": "present" for member in members} | {f"status-{members[0]}": ""}
        sent: dict[str, dict[str, Any]] = {
            "minutes": {**_minutes(token, starts, chair=OWN[0], speakers=[OWN[0]]), "chair_id": "", "recorder_id": ""},
            "attendance": roster,
            "approval": {"csrf": token, "votes_for": "nhiều", "votes_against": "0"},
            "reschedule": {"csrf": token, "start_date": "", "start_time": "", "location": ""},
            "documents": {"csrf": token, "title": "", "kind": "", "url": ""},
            "tasks/t-1/done": {"csrf": token, "completed_on": ""},
            "assessment": {"csrf": token},
            # the page's one form sent by Enter, a character no text is stored with typed in it
            "record": {"csrf": token, "content": "Nội dung\x00"},
        }
        expected = {section: CANCELLED for section in sent} | {"attendance": ROSTER_CANCELLED}
        said = {}
        for path, form in sent.items():
            section = path.split("/", 1)[0]
            answer = await client.post(f"{record}/{path}", data=form)
            said[path] = (answer.status_code, errors_of(answer.text, section) if answer.status_code == 422 else "")
        assert said == {path: (422, f"{COULD_NOT} {message}") for path, message in expected.items()}
