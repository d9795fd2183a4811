"""The trial's steps through the running system: another system's adoption waiting for the attendance is said.

A new user's trial: the electronic member handbook sent the cell's adoption of the minutes before the secretary had
recorded the attendance. meetings held it (it waits for the roster: DOMAIN.md "Meetings", minutes hold members
summoned, present and absent), but the secretary's meeting and record pages only said to record the attendance first,
and the /v1 meeting read said nothing: only the operator's page listed it. Now both pages say, in Vietnamese, who sent
which adoption when, that it waits for the attendance and is recorded once the attendance is, and what happens when
its hold runs out; the API's read lists it under `waiting`. A task completion waiting for its task is said too.
"""

import uuid
from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.gateway.test_held_meeting import said
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import api_token, feed_event, signed_in
from tests.web.test_held_outcomes import CELL, OWN, _minutes, _schedule
from tests.web.test_roster_locked import errors_of

pytestmark = pytest.mark.e2e

COMMUNE = "demo-xa-hoa-binh"
"""The committee above thôn 1: the handbook's integration account writes in its subtree."""


async def test_an_adoption_waiting_for_the_attendance_is_said_on_the_secretarys_pages_until_the_roster_applies_it(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=4)).replace(second=0, microsecond=0)
    source, sub = f"urn:test:so-tay-{uuid.uuid4().hex[:8]}", f"so-tay-dang-vien-{uuid.uuid4().hex[:6]}"
    handbook = await api_token(system, role="integration", unit=COMMUNE, sub=sub, sources=[source])
    headers = {"Authorization": f"Bearer {province['secretary']}"}
    async with (
        signed_in(system, "secretary") as client,
        httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api,
    ):
        members = [item["id"] for item in (await api.get(f"/v1/cells/{CELL}/members?limit=200")).json()["items"]]
        meeting_id, token = await _schedule(system, client, starts, province["secretary"])
        record = f"/app/meetings/{meeting_id}"
        saved = await client.post(f"{record}/minutes", data=_minutes(token, starts, chair=OWN[0], speakers=OWN))
        assert saved.status_code == 303, errors_of(saved.text, "minutes")

        today = datetime.now(VIETNAM_TZ).date().isoformat()
        adoption = {"meeting_id": meeting_id, "approved_at": datetime.now(VIETNAM_TZ).isoformat(timespec="seconds")}
        completion = {"meeting_id": meeting_id, "task_id": "t-chua-co", "completed_on": today}
        events = [
            feed_event("minutes.approved.v1", adoption, source=source),
            feed_event("task.completed.v1", completion, source=source),
        ]
        sent = await api.post(
            "/v1/events",
            content=httpx.Request("POST", "/", json=events).content,
            headers={"Authorization": f"Bearer {handbook}", "Content-Type": "application/cloudevents-batch+json"},
        )
        assert sent.status_code == 200, sent.text
        assert [result["outcome"] for result in sent.json()["results"]] == ["held", "held"], sent.text

        meeting = (await api.get(f"/v1/meetings/{meeting_id}")).json()
        fields = ("type", "source", "source_name", "waiting_for", "task_id")
        waiting = sorted(tuple(fact[name] for name in fields) for fact in meeting["waiting"])  # held at one moment
        assert waiting == [
            ("minutes.approved.v1", source, sub, "attendance", None),
            ("task.completed.v1", source, sub, "task", "t-chua-co"),
        ]
        [first] = [fact for fact in meeting["waiting"] if fact["waiting_for"] == "attendance"]
        held_at, expires_at = datetime.fromisoformat(first["held_at"]), datetime.fromisoformat(first["expires_at"])
        assert expires_at - held_at == timedelta(hours=24)  # the system's CHIBO_HOLD_TIMEOUT_SECONDS, its default
        adopted = f"Việc chi bộ thông qua biên bản do hệ thống {sub} gửi đến lúc"
        for address in (record, f"{record}/record"):
            text = said((await client.get(address)).text)
            assert adopted in text and "đang chờ kết quả điểm danh" in text, text[:3000]
            assert "việc thông qua sẽ được ghi nhận ngay khi có kết quả điểm danh" in text
            assert "việc thông qua này sẽ bị từ chối và không được ghi nhận" in text
            assert f"Việc hoàn thành nhiệm vụ “t-chua-co” do hệ thống {sub} gửi đến lúc" in text

        records = [{"member_id": member, "status": "present"} for member in members]
        assert (await api.put(f"/v1/meetings/{meeting_id}/attendance", json={"records": records})).status_code == 202

        async def adopted_by_the_handbook() -> bool:
            return (await api.get(f"/v1/meetings/{meeting_id}")).json()["approved_at"] is not None

        await eventually(adopted_by_the_handbook, timeout=60, interval=0.5)
        meeting = (await api.get(f"/v1/meetings/{meeting_id}")).json()
        assert [fact["type"] for fact in meeting["waiting"]] == ["task.completed.v1"]
        text = said((await client.get(record)).text)
        assert adopted not in text and "Việc hoàn thành nhiệm vụ “t-chua-co”" in text
