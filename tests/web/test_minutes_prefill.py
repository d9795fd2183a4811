"""The record page of a meeting whose minutes are recorded shows the minutes form filled in with them, every field
(times, chair, recorder, speakers, self-criticism, content, conclusions, resolutions with votes, tasks with their
assignees, due dates and ids), so that sending it unchanged changes nothing: a user trial saved only the time and the
chair on an empty form and lost the speakers, resolutions and tasks of approved minutes. Once adopted, the minutes
are the adopted record: a secretary's change is refused on the form in Vietnamese (a later trial edited them after
adoption and the adoption stayed over a text nobody voted on); the record page then shows them read-only with no
form, and the same minutes sent again through the API are a no-op, not a refusal."""

from datetime import datetime
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from services.gateway.web import forms
from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, MONTHS, history_meeting, signed_in

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"
STARTS = DEMO.meeting_start(DEMO.months[-3]).replace(day=18)
"""An extraordinary meeting of a closed month of the demo's history (no month's regular meeting or running figures
change)."""


class FormFields(HTMLParser):
    """The fields a browser sends for the form whose action ends with `action`: (name, value) pairs, checked boxes
    only, a select's selected option (else its first), a textarea's text."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Collect the form's inputs, selects and textareas."""
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            # the record page's one form holds every part (each saved by its own button's formaction)
            self.inside = found.get("action", "").endswith(self.action) or found.get("id") == "record-form"
        if not self.inside:
            return
        if tag == "input" and found.get("name"):
            if found.get("type") == "checkbox" and "checked" not in found:
                return
            self.fields.append((found["name"], found.get("value", "")))
        elif tag == "select":
            self._select, self._options = found.get("name"), []
        elif tag == "option" and self._select is not None:
            self._options.append((found.get("value", ""), "selected" in found))
        elif tag == "textarea":
            self._textarea, self._text = found.get("name"), ""

    def handle_data(self, data: str) -> None:
        """A textarea's text."""
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        """Close a select or a textarea, or the form."""
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected] or [v for v, _ in self._options[:1]]
            if chosen:
                self.fields.append((self._select, chosen[0]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # a browser drops the newline right after <textarea> and sends the lines joined by CRLF
            self.fields.append((self._textarea, self._text.removeprefix("\n").replace("\n", "\r\n")))
            self._textarea = None


def form_fields(html: str, action: str) -> list[tuple[str, str]]:
    """The (name, value) pairs a browser would send for the page's form posting to `action`."""
    parser = FormFields(action)
    parser.feed(html)
    return parser.fields


async def _recorded_meeting(system: RunningSystem, api: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    """A meeting of thôn 1 with its roster, full minutes (four resolutions and four tasks: more than the form's three
    empty rows) and their adoption, through the API; its id and the meeting as the API reads it."""
    members = [item["id"] for item in (await api.get(f"/v1/cells/{CELL}/members?limit=200")).json()["items"]]
    # history, fed by an integration: a secretary schedules only meetings still ahead
    secretary = api.headers["Authorization"].removeprefix("Bearer ")
    meeting_id = await history_meeting(system, secretary, CELL, STARTS, agenda="Bàn việc làm đường liên thôn")
    records = [{"member_id": member, "status": "present"} for member in members]
    records[2] = {"member_id": members[2], "status": "excused", "reason": "Ốm"}
    roster = await api.put(f"/v1/meetings/{meeting_id}/attendance", json={"records": records})
    assert roster.status_code == 202, roster.text
    minutes = {
        "started_at": STARTS.replace(minute=35).isoformat(),
        "ended_at": STARTS.replace(hour=21, minute=17).isoformat(),
        "chair_id": members[0],
        "recorder_id": members[1],
        "speakers": [members[6], members[0], members[4], members[3]],  # not in the page's order
        "self_criticism_minutes": 20,
        "content": "Bàn việc đóng góp làm đường liên thôn.\nPhân công vận động các hộ.",
        "conclusions": "Chi bộ thống nhất mức đóng góp & lịch làm đường.",
        "resolutions": [  # 12 votes each: 13 members present (votes above those present are refused)
            {"text": f"Nghị quyết {index}: làm đường đoạn {index}", "votes_for": 12 - index, "votes_against": index - 1}
            | {"abstentions": 1}
            for index in range(1, 5)
        ],
        "tasks": [
            {
                "task_id": f"t-prefill-{index}",
                "assignee_id": members[index],
                "description": f"Vận động các hộ đoạn {index}",
                "due_on": f"{MONTHS[-2]}-{10 + index}",
            }
            for index in range(1, 5)
        ],
    }
    submitted = await api.put(f"/v1/meetings/{meeting_id}/minutes", json=minutes)
    assert submitted.status_code == 202, submitted.text
    meeting = (await api.get(f"/v1/meetings/{meeting_id}")).json()
    assert meeting["minutes"]["resolutions"], meeting
    return meeting_id, meeting


def _local(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(VIETNAM_TZ)


async def test_the_minutes_form_is_filled_in_with_the_stored_minutes_and_sent_unchanged_changes_nothing(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    ) as api:
        meeting_id, before = await _recorded_meeting(system, api)
        stored = before["minutes"]
        async with signed_in(system, "secretary") as client:
            page = await client.get(f"/app/meetings/{meeting_id}/record")
            assert page.status_code == 200
            fields = form_fields(page.text, f"/meetings/{meeting_id}/minutes")
            values = dict(fields)
            started, ended = _local(stored["started_at"]), _local(stored["ended_at"])
            assert values["day"] == started.strftime("%Y-%m-%d")
            assert values["started"] == started.strftime("%H:%M")
            assert values["ended"] == ended.strftime("%H:%M")
            assert values["chair_id"] == stored["chair_id"]
            assert values["recorder_id"] == stored["recorder_id"]
            assert sorted(value for name, value in fields if name == "speakers") == sorted(stored["speakers"])
            assert values["self_criticism_minutes"] == "20"
            # the input stops where the form's error says it does (forms.whole_number's bound)
            bound = f'name="self_criticism_minutes" type="number" min="0" max="{forms.SELF_CRITICISM_MOST}"'
            assert bound in page.text
            assert values["content"] == stored["content"].replace("\n", "\r\n")
            assert values["conclusions"] == stored["conclusions"]
            for row, resolution in enumerate(stored["resolutions"], start=1):
                assert values[f"resolution-{row}"] == resolution["text"]
                for key in ("votes_for", "votes_against", "abstentions"):
                    assert values[f"{key}-{row}"] == str(resolution[key]), (row, key)
            assert len(before["tasks"]) == 4
            for task in before["tasks"]:
                row = next(int(name.split("-")[-1]) for name, value in fields if value == task["task_id"])
                assert values[f"task-{row}"] == task["description"]
                assert values[f"assignee-{row}"] == task["assignee_id"]
                assert values[f"due-{row}"] == task["due_on"]
            # one empty row to add a resolution or a task beyond the stored ones
            assert values["resolution-5"] == "" and values["task-5"] == ""

            form: dict[str, list[str]] = {}
            for name, value in fields:
                form.setdefault(name, []).append(value)
            sent = await client.post(f"/app/meetings/{meeting_id}/minutes", data=form)
            assert sent.status_code == 303, sent.text
            assert sent.headers["location"].endswith("notice=minutes")
            after = (await api.get(f"/v1/meetings/{meeting_id}")).json()
            assert after["minutes"] == stored
            assert after["tasks"] == before["tasks"]

            # once the cell adopted them the minutes are the adopted record: the form says they can no longer change
            approved = await api.post(f"/v1/meetings/{meeting_id}/minutes/approval", json={"votes_for": 12})
            assert approved.status_code == 202, approved.text
            adopted = (await api.get(f"/v1/meetings/{meeting_id}")).json()
            assert adopted["approved_at"]
            form["content"] = ["Nội dung sửa sau khi đã thông qua"]
            refused = await client.post(f"/app/meetings/{meeting_id}/minutes", data=form)
            assert refused.status_code != 303
            assert "chi bộ đã thông qua biên bản này; biên bản đã thông qua là văn bản chính thức" in refused.text

            # the page shows the adopted minutes read-only, saying why, and no minutes form to fill in in vain
            page = await client.get(f"/app/meetings/{meeting_id}/record")
            assert page.status_code == 200
            # no minutes inputs nor button saving them (the page's one form holds its other parts)
            assert 'id="m-content"' not in page.text
            assert f'formaction="/app/meetings/{meeting_id}/minutes"' not in page.text
            assert f'action="/app/meetings/{meeting_id}/minutes"' not in page.text
            assert "Chi bộ đã thông qua biên bản này lúc" in page.text
            assert "không thể sửa được nữa" in page.text
            assert stored["conclusions"].replace("&", "&amp;") in page.text
            assert "Nghị quyết 4: làm đường đoạn 4" in page.text

        # through the API the adopted minutes sent again unchanged are a no-op success; a change stays refused
        resent = {key: stored[key] for key in stored if key != "meeting_id"}
        resent["tasks"] = [
            {key: task[key] for key in ("task_id", "assignee_id", "description", "due_on")}
            for task in reversed(before["tasks"])
        ]
        again = await api.put(f"/v1/meetings/{meeting_id}/minutes", json=resent)
        assert again.status_code == 202, again.text
        changed = await api.put(
            f"/v1/meetings/{meeting_id}/minutes", json=resent | {"conclusions": "Kết luận sửa sau khi thông qua"}
        )
        assert changed.status_code == 422, changed.text
        assert (changed.json()["field"], changed.json()["reason_code"]) == ("meeting_id", "minutes_adopted")
        final = (await api.get(f"/v1/meetings/{meeting_id}")).json()
    assert final["minutes"] == stored
    assert final["approved_at"] == adopted["approved_at"]
