"""Findings of a new user's trial (h286): the minutes form sent with no chair and no recorder chosen (`chair_id=`,
`recorder_id=`) answered "Chủ trì: có ký tự không được phép dùng ở đây" (an id's pattern refusing the empty text)
instead of saying the field is empty. Every required field left empty (or only spaces or invisible characters) is
now said "không được để trống", whatever else it holds to: an id's pattern, a select's choices, a number's kind."""

import html
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from services.gateway.schemas import AttendanceCreate, DocumentsCreate, MeetingScheduleCreate, MinutesCreate
from services.gateway.web import forms
from services.gateway.web.forms import FormErrors
from shared.periods import VIETNAM_TZ
from tests.gateway.bodies import put
from tests.gateway.test_command_bodies import COMMANDS, SCHEDULE
from tests.support.system import RunningSystem
from tests.web.conftest import signed_in
from tests.web.test_held_outcomes import OWN, _minutes, _schedule

EMPTY = "không được để trống."
FORBIDDEN = "không được phép"
MINUTES = COMMANDS["minutes"][4]
ATTENDANCE = {"records": [{"member_id": "m1", "status": "present"}]}
DOCUMENTS = COMMANDS["documents"][4]

FIELDS: list[tuple[type[BaseModel], dict[str, Any], str, str]] = [
    (MinutesCreate, MINUTES, "chair_id", "Chủ trì"),
    (MinutesCreate, MINUTES, "recorder_id", "Thư ký"),
    (MinutesCreate, MINUTES, "speakers.0", ""),
    (MinutesCreate, MINUTES, "tasks.0.assignee_id", ""),
    (MinutesCreate, MINUTES, "tasks.0.task_id", ""),
    (MinutesCreate, MINUTES, "resolutions.0.votes_for", ""),
    (AttendanceCreate, ATTENDANCE, "records.0.member_id", ""),
    (AttendanceCreate, ATTENDANCE, "records.0.status", ""),
    (DocumentsCreate, DOCUMENTS, "items.0.kind", ""),
    (MeetingScheduleCreate, SCHEDULE, "kind", "Loại buổi sinh hoạt"),
]
"""Required id, select and number fields of the forms' API bodies, each by its path (and its label, where the test
names it): patterns (ids), choices (kinds, statuses), a kind of value (a count)."""


@pytest.mark.parametrize("blank", ["", "   ", "\u200b", "\u3000"])
@pytest.mark.parametrize(("model", "body", "path", "name"), FIELDS)
def test_every_required_id_or_select_left_empty_is_said_empty(
    model: type[BaseModel], body: dict[str, Any], path: str, name: str, blank: str
) -> None:
    with pytest.raises(FormErrors) as refused:
        forms.build(model, put(body, path, blank))
    said = refused.value.errors[path]
    assert said.endswith(f": {EMPTY}") and FORBIDDEN not in said, said
    if name:
        assert said == f"{name}: {EMPTY}"


def test_a_select_left_unchosen_is_said_empty_as_a_field_left_empty() -> None:
    assert forms.not_a_choice("kind", "") == f"Loại buổi sinh hoạt: {EMPTY}"
    assert forms.not_a_choice("kind", None) == f"Loại buổi sinh hoạt: {EMPTY}"
    assert forms.not_a_choice("kind", "weekly").startswith("Loại buổi sinh hoạt: “weekly” không nằm trong")


@pytest.mark.e2e
async def test_the_minutes_form_without_chair_or_recorder_says_both_are_empty(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=4)).replace(second=0, microsecond=0)
    async with signed_in(system, "secretary") as client:
        meeting_id, token = await _schedule(system, client, starts, province["secretary"])
        form = _minutes(token, starts, chair="", speakers=[OWN[0]]) | {"recorder_id": ""}
        answer = await client.post(f"/app/meetings/{meeting_id}/minutes", data=form)
    assert answer.status_code == 422, answer.text[-2000:]
    errors = html.unescape(answer.text.split('id="minutes-errors"', 1)[1].split("</div>", 1)[0])
    assert f"Chủ trì: {EMPTY}" in errors, errors
    assert f"Thư ký: {EMPTY}" in errors, errors
    assert FORBIDDEN not in errors, errors
