"""Findings of a new user's trial (h292) on the schedule form: a meeting was scheduled with no agenda (CONTRACT.md's
`meeting.scheduled.v1` requires `agenda`, DOMAIN.md's members are told the meeting's content)."""

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.datastructures import FormData

from services.gateway.web.pages import secretary
from shared.periods import VIETNAM_TZ
from tests.web.scheduling import ScheduleStandIns, stand_in_for_scheduling


def posted(values: dict[str, str]) -> Any:
    """A request whose form holds `values`, as forms.form_of reads it."""

    async def form() -> FormData:
        return FormData(values)

    async def body() -> bytes:
        return b""

    return SimpleNamespace(form=form, body=body, headers={}, state=SimpleNamespace())


def schedule_form(**values: str) -> dict[str, str]:
    """A schedule form filled in for a meeting a month ahead, with `values` over it."""
    ahead = datetime.now(VIETNAM_TZ) + timedelta(days=30)
    filled = {
        "kind": "regular",
        "topic": "",
        "start_date": ahead.date().isoformat(),
        "start_time": "19:30",
        "location": "Nhà văn hóa thôn",
        "agenda": "Kiểm điểm nghị quyết tháng trước",
    }
    return filled | values


async def handled(seen: ScheduleStandIns, values: dict[str, str], *, held: bool) -> None:
    """The schedule form (or, `held`, the form to record a meeting already held) sent with `values`."""
    if held:
        await secretary.record_held("c", posted(values), SimpleNamespace(principal=None), seen.state)  # type: ignore[arg-type]
    else:
        await seen.schedule(posted(values))


@pytest.mark.parametrize("agenda", ["", "  \r\n\u200b\r\n  "])
@pytest.mark.parametrize("held", [False, True])
async def test_a_meeting_without_an_agenda_is_refused_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, agenda: str, held: bool
) -> None:
    seen = stand_in_for_scheduling(monkeypatch)
    values = schedule_form(agenda=agenda)
    if held:
        values["start_date"] = (datetime.now(VIETNAM_TZ) - timedelta(days=1)).date().isoformat()
    await handled(seen, values, held=held)
    assert seen.sent == []
    assert seen.shown.get("errors") == {"agenda": "Chương trình: không được để trống."}, seen.shown.get("errors")

