"""The secretary's schedule form handled without a running system: its cell, the same-time warning, the month's
regular-meeting warning, the command and the page replaced by stand-ins that record what would be sent and shown
(for the form-reading tests)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.web.pages import secretary
from shared.periods import VIETNAM_TZ


def a_day_ahead() -> str:
    """A day a fortnight after today (YYYY-MM-DD, Vietnam): a start the schedule form takes on any day it runs (a fixed
    day such as 2026-12-20 is refused as past once the calendar reaches it)."""
    return f"{datetime.now(VIETNAM_TZ) + timedelta(days=14):%Y-%m-%d}"


@dataclass
class ScheduleStandIns:
    """What the stand-ins saw: the page's context (`shown`), the commands sent (`sent`), and the gateway state whose
    directory knows cell `c`."""

    shown: dict[str, Any] = field(default_factory=dict)
    sent: list[Any] = field(default_factory=list)

    @property
    def state(self) -> Any:
        """A gateway state whose directory answers cell `c` alone, with a secret for the ids it generates."""

        async def get(unit_id: str) -> Any:  # cell `c` alone: no longer unit id begins the ids it is offered
            return {"id": "c", "name": "Chi bộ 1"} if unit_id == "c" else None

        return SimpleNamespace(directory=SimpleNamespace(get=get), secret="test-secret")

    async def schedule(self, request: Any) -> None:
        """secretary.schedule of cell `c` on `request`, by nobody in particular."""
        await secretary.schedule("c", request, SimpleNamespace(principal=None), self.state)  # type: ignore[arg-type]


def stand_in_for_scheduling(monkeypatch: pytest.MonkeyPatch) -> ScheduleStandIns:
    """Replace what secretary.schedule reaches beyond the form (cell, warning, command, page); what they saw."""
    from services.gateway.http import commands

    seen = ScheduleStandIns()

    async def schedulable_cell(*_: Any) -> Any:
        return {"id": "c", "name": "Chi bộ 1"}

    async def same_time_warning(*_: Any, **__: Any) -> dict[str, str]:
        return {}

    async def schedule_meeting(*arguments: Any) -> Any:
        seen.sent.append(arguments)
        return SimpleNamespace(outcome="accepted")

    def render(*_: Any, **context: Any) -> Any:
        seen.shown.update(context)
        return context

    monkeypatch.setattr(secretary, "schedulable_cell", schedulable_cell)
    monkeypatch.setattr(secretary, "same_time_warning", same_time_warning)
    monkeypatch.setattr(secretary, "another_regular_warning", same_time_warning)  # no other meeting in the month
    monkeypatch.setattr(commands, "schedule_meeting", schedule_meeting)
    monkeypatch.setattr(secretary, "render", render)
    return seen
