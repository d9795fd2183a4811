"""A trial recorded a regular meeting held at 08:00 on 30 November (a month that already had one) after the cell had
held its 5 December meeting: DOMAIN.md's `results` criterion reads the tasks of the previous held regular or combined
meeting, so 5 December's previous meeting became 30 November, which assigned no tasks, and its score fell 90,53 → 86,15
while the form's warning spoke of November only. The warning now says the later meeting's score can change too."""

from datetime import datetime
from typing import Any

import pytest

from services.gateway.http import commands
from services.gateway.web.pages import secretary
from shared.contracts.meetings_rpc import MeetingSummaryReply
from shared.periods import VIETNAM_TZ

CELL = "demo-cb-thon-1"
NOVEMBER = MeetingSummaryReply(
    meeting_id="m-11",
    cell_id=CELL,
    kind="regular",
    status="minutes_approved",
    starts_at=datetime(2026, 11, 4, 19, 30, tzinfo=VIETNAM_TZ),
    location="Nhà văn hóa thôn 1",
)
DECEMBER = MeetingSummaryReply(
    meeting_id="m-12",
    cell_id=CELL,
    kind="regular",
    status="minutes_submitted",
    starts_at=datetime(2026, 12, 5, 19, 30, tzinfo=VIETNAM_TZ),
    location="Hội trường thôn 1",
)
LATE = datetime(2026, 11, 30, 8, 0, tzinfo=VIETNAM_TZ)
SAID = (
    "Lưu ý: buổi sinh hoạt thường kỳ lúc 19:30 thứ Bảy, ngày 05/12/2026 (Hội trường thôn 1), đã tổ chức sau buổi"
    " này, sẽ lấy buổi này làm buổi sinh hoạt liền trước."
)


def listing(meetings: list[MeetingSummaryReply]) -> Any:
    """commands.live_meetings answering `meetings` of the asked month (as meetings lists them), without an RPC."""

    async def live(state: Any, cell_id: str, month: str, *, other_than: str) -> list[MeetingSummaryReply]:
        return [m for m in meetings if m.starts_at and f"{m.starts_at:%Y-%m}" == month and m.meeting_id != other_than]

    return live


async def warning(monkeypatch: pytest.MonkeyPatch, meetings: list[MeetingSummaryReply]) -> str:
    monkeypatch.setattr(commands, "live_meetings", listing(meetings))
    said = await secretary.another_regular_warning(
        None,  # type: ignore[arg-type]
        CELL,
        "regular",
        LATE,
        other_than="m-late",
        confirmed=False,
        held=True,
    )
    return " ".join(said["confirm_another_regular"].split())


async def test_the_held_form_says_the_later_meeting_whose_previous_meeting_it_becomes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said = await warning(monkeypatch, [NOVEMBER, DECEMBER])
    assert said.startswith("Tháng 11/2026, chi bộ đã có buổi sinh hoạt thường kỳ lúc"), said
    assert SAID in said, said
    assert "tiêu chí “Kết quả thực hiện nghị quyết kỳ trước” của buổi đó được chấm theo các nhiệm vụ" in said
    assert "nên điểm của buổi đó và kết quả của tháng có buổi đó cũng có thể thay đổi theo." in said


async def test_a_later_meeting_not_held_yet_is_not_named(monkeypatch: pytest.MonkeyPatch) -> None:
    ahead = DECEMBER.model_copy(update={"status": "scheduled"})
    said = await warning(monkeypatch, [NOVEMBER, ahead])
    assert "Lưu ý" not in said and "05/12/2026" not in said, said
