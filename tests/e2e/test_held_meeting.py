"""A secretary records a meeting already held through the real gateway, meetings, evaluation and notifications, the
mail going to the SMTP sink: `already_held: true` is taken for a start in the last 7 days (a plain schedule at the
same start is still refused, older or not yet begun ones are refused naming `data.starts_at`), no invitation goes
out for it while one does for a meeting still ahead, its roster is recorded as for any meeting, and its score's
`preparation.notified` is met only when the secretary gave a `notified_at` before the start."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.e2e.test_walking_skeleton import Province, mails_to
from tests.support.ids import random_id
from tests.support.running import eventually
from tests.support.system import RunningSystem, issue_token

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def province(system: RunningSystem) -> Province:
    """A fresh province fed in by a province-wide integration account."""
    province = Province()
    token = issue_token(system, role="integration", unit=None, sub=random_id("integration"), province_wide=True)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        response = await client.post(
            "/v1/events",
            json=province.events(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/cloudevents-batch+json"},
        )
    assert [r["outcome"] for r in response.json()["results"]] == ["accepted"] * 6, response.text
    return province


@pytest.fixture
async def secretary(system: RunningSystem, province: Province) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the token of the cell's secretary (its first member)."""
    token = issue_token(
        system, role="secretary", unit=province.cell, person=province.members[0], sub=random_id("secretary")
    )
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


def body(starts: datetime, **more: Any) -> dict[str, Any]:
    """A regular meeting's schedule command starting at `starts`."""
    return {
        "kind": "regular",
        "starts_at": starts.isoformat(timespec="seconds"),
        "location": "Nhà văn hóa khu phố",
        "agenda": ["Kiểm điểm nghị quyết tháng trước"],
        **more,
    }


async def notified_line(client: httpx.AsyncClient, meeting_id: str) -> dict[str, Any] | None:
    """The `preparation.notified` line of the meeting's score, once it is scored."""
    answer = await client.get(f"/v1/meetings/{meeting_id}/score")
    if answer.status_code != 200:
        return None
    [line] = [line for line in answer.json()["criteria"] if line["code"] == "preparation.notified"]
    return dict(line)


async def test_a_meeting_already_held_is_recorded_bounded_unannounced_and_scored_as_not_notified(
    system: RunningSystem, province: Province, secretary: httpx.AsyncClient
) -> None:
    cell = f"/v1/cells/{province.cell}/meetings"
    now = datetime.now(VIETNAM_TZ)
    held_at = now - timedelta(hours=20)  # under the 2 days after which its missing minutes would be mailed about

    plain = await secretary.post(cell, json=body(held_at))
    assert plain.status_code == 422, plain.text
    assert (plain.json()["field"], plain.json()["reason_code"]) == ("starts_at", "scheduled_in_the_past")
    for starts, code in (
        (now - timedelta(days=8), "held_too_long_ago"),
        (now + timedelta(hours=2), "held_start_ahead"),
    ):
        refused = await secretary.post(cell, json=body(starts, already_held=True))
        assert refused.status_code == 422, refused.text
        assert (refused.json()["field"], refused.json()["reason_code"]) == ("starts_at", code)
        if code == "held_too_long_ago":
            assert "within 7 days of its start" in refused.json()["message"], refused.json()

    recorded = await secretary.post(cell, json=body(held_at, already_held=True))
    assert recorded.status_code == 202 and recorded.json()["outcome"] == "accepted", recorded.text
    held_id = recorded.json()["subject"]
    told = held_at - timedelta(days=2)  # the cell told its members by other means, and the secretary says when
    evidenced = await secretary.post(
        cell, json=body(now - timedelta(hours=22), already_held=True, notified_at=told.isoformat(timespec="seconds"))
    )
    assert evidenced.status_code == 202, evidenced.text
    roster = [{"member_id": member, "status": "present"} for member in province.members]
    attendance = await secretary.put(f"/v1/meetings/{held_id}/attendance", json={"records": roster})
    assert attendance.status_code == 202 and attendance.json()["outcome"] == "accepted", attendance.text

    not_told = await eventually(lambda: notified_line(secretary, held_id), timeout=60)
    assert (not_told["points"], not_told["max"]) == (0, 1), not_told
    was_told = await eventually(lambda: notified_line(secretary, evidenced.json()["subject"]), timeout=60)
    assert was_told["points"] == was_told["max"] == 1, was_told

    # a meeting still ahead, scheduled after them, is announced: once its mails are in, none came for the others
    ahead = await secretary.post(cell, json=body(now + timedelta(days=5)))
    assert ahead.status_code == 202, ahead.text
    for address in [f"{member}@example.vn" for member in province.members]:
        mails = await eventually(lambda a=address: mails_to(system.mail_dir, a), timeout=60)
        assert [mail["X-Chibo-Rule"] for mail in mails] == ["meeting_scheduled"], address
