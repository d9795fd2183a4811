"""A web form sent twice (a double click, a browser's resend) records once: one meeting, one document, the same
minutes with the same tasks."""

import re
import uuid
from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import signed_in

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"


def hidden(html: str, name: str, *, after: str = "") -> str:
    """The value of the first hidden input `name` on the page (after the text `after`, such as a form's action)."""
    start = html.index(after) if after else 0
    found = re.search(rf'name="{name}" value="([^"]*)"', html[start:])
    return found.group(1) if found else ""


async def test_a_schedule_form_sent_twice_schedules_one_meeting(
    system: RunningSystem, province: dict[str, str]
) -> None:
    place = f"Nhà văn hóa thôn 1, phòng {uuid.uuid4().hex[:6]}"
    starts = datetime.now(VIETNAM_TZ) + timedelta(days=3)
    async with (
        signed_in(system, "secretary") as client,
        httpx.AsyncClient(
            base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
        ) as api,
    ):
        page = await client.get(f"/app/cells/{CELL}/meetings/new")
        form = {
            "csrf": hidden(page.text, "csrf"),
            "form_key": hidden(page.text, "form_key"),
            "meeting_id": hidden(page.text, "meeting_id"),
            "kind": "regular",
            "start_date": starts.strftime("%Y-%m-%d"),
            "start_time": "19:30",
            "location": place,
            "agenda": "Kiểm điểm nghị quyết tháng trước",
        }
        first = await client.post(f"/app/cells/{CELL}/meetings", data=form)
        again = await client.post(f"/app/cells/{CELL}/meetings", data=form)
        assert first.status_code == again.status_code == 303
        assert first.headers["location"] == again.headers["location"]
        meeting_id = first.headers["location"].split("/meetings/")[1].split("/")[0]

        async def placed() -> list[dict]:
            listed = (await api.get(f"/v1/cells/{CELL}/meetings?period={starts:%Y-%m}&limit=200")).json()["items"]
            return [item for item in listed if item["meeting_id"] == meeting_id] or []

        await eventually(placed, timeout=60, interval=0.5)
        listed = (await api.get(f"/v1/cells/{CELL}/meetings?period={starts:%Y-%m}&limit=200")).json()["items"]
        same_place = [item["meeting_id"] for item in listed if item.get("location") == place]
        assert same_place == [meeting_id]

        # the record page's forms are idempotent too: a document published once, the minutes' tasks kept
        record = await client.get(f"/app/meetings/{meeting_id}/record")
        action = f"/app/meetings/{meeting_id}/documents"
        documents = {
            "csrf": hidden(record.text, "csrf"),
            "form_key": hidden(record.text, "form_key", after=action),
            "title": "Dự thảo nghị quyết",
            "kind": "draft_resolution",
        }
        for _ in range(2):
            sent = await client.post(action, data=documents)
            assert sent.status_code == 303, sent.text[sent.text.find("documents-errors") :][:600]
        published = (await api.get(f"/v1/meetings/{meeting_id}/minutes")).json()["documents"]
        assert [item["title"] for item in published] == ["Dự thảo nghị quyết"]


def test_a_forms_key_gives_its_command_and_its_tasks_the_same_ids_when_sent_again() -> None:
    """What the web sends for a form is derived from its one-time key and what was asked: a resend is the same event
    (and the same tasks), a corrected form another one, and a form without a key (a page from before) a new one."""
    from starlette.requests import Request

    from services.gateway.auth import Principal, Role
    from services.gateway.http.commands import FORM_KEY, resubmission_event_id
    from services.gateway.web.forms import derived_id

    caller = Principal(sub="bi-thu", role=Role.SECRETARY, unit_id=CELL, person_id=None, local=True)
    keyed, plain = Request({"type": "http"}), Request({"type": "http"})
    setattr(keyed.state, FORM_KEY, "k" * 24)

    def event_id(request: Request, content: dict) -> str | None:
        return resubmission_event_id(request, caller, event_type="documents.published.v1", subject="m", content=content)

    first = event_id(keyed, {"title": "Dự thảo"})
    assert first is not None and first == event_id(keyed, {"title": "Dự thảo"})
    assert first != event_id(keyed, {"title": "Dự thảo nghị quyết"})
    assert event_id(plain, {"title": "Dự thảo"}) is None

    form = {"form_key": "k" * 24}
    assert derived_id(form, "m", 1, prefix="t-") == derived_id(form, "m", 1, prefix="t-")
    assert derived_id(form, "m", 1, prefix="t-") != derived_id(form, "m", 2, prefix="t-")
    assert derived_id({}, "m", 1, prefix="t-") != derived_id({}, "m", 1, prefix="t-")
