"""A new user's trial of the minutes PDF against the real services: an emoji in an absence reason was dropped ("Ốm,
nằm viện" with nothing after it; ReportLab has no fallback: now drawn by the fallback font, Symbola), the exempt
member was only counted, not named (DOMAIN.md: exempt members are listed), and a closed quarter's rating reason
said "mới có 1 tháng" as if the quarter were still running."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from services.gateway.web.i18n import label, rating_reason
from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import cell_members, extraordinary_meeting, feed, feed_event, signed_in
from tests.web.test_exports import pdf_text

CELL = "demo-cb-thon-1"
FEED = "urn:test:minutes-pdf-h379"
REASON = "Ốm, nằm viện \U0001f3e5\ufe0f nhé"


async def test_the_minutes_pdf_keeps_an_emoji_visible_and_names_the_exempt_member(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=3)).replace(second=0, microsecond=0)
    meeting_id = f"{CELL}-h379-{uuid.uuid4().hex[:8]}"
    members = await cell_members(system, province, CELL)
    ids = [member["id"] for member in members]
    ill, exempt = ids[-1], ids[-2]
    status = {ill: ("excused", REASON), exempt: ("exempt", None)}
    records = [
        {"member_id": m, "status": status.get(m, ("present", None))[0]}
        | ({"reason": status[m][1]} if m in status and status[m][1] else {})
        for m in ids
    ]
    minutes = sample_minutes(meeting_id, starts, ids, self_criticism_minutes=20)
    await held_meeting(system, province, meeting_id, starts, records, minutes, source=FEED, sub="api-feed-h379")
    text = await minutes_pdf_text(system, meeting_id)
    # drawn by the fallback font (Symbola) and read back from the PDF, its variation selector left out
    assert "(Ốm, nằm viện \U0001f3e5 nhé)" in text, text
    named = {member["id"]: member["full_name"] for member in members}
    assert f"- {named[exempt]}: {label('attendance', 'exempt')}" in text, text


def quarter_reason(period: str) -> str | None:
    """The rating reason of a quarter rated Khá although its score reaches Tốt, having 1 Good month of 2 needed."""
    reason = {"code": "month_ratings", "band": "good", "missed": "good", "condition": "count_at_least"}
    row = {"rating": "fair", "period": period, "rating_reason": reason | {"floor": "good", "count": 1, "needed": 2}}
    return rating_reason(row)


def test_a_closed_quarters_reason_says_it_had_only_so_many_months_a_running_one_so_far() -> None:
    closed = quarter_reason("2025-Q3")
    assert closed is not None and "nhưng chỉ có 1 tháng" in closed and "mới có" not in closed
    now = datetime.now(VIETNAM_TZ)
    running = quarter_reason(f"{now.year}-Q{(now.month - 1) // 3 + 1}")
    assert running is not None and "nhưng mới có 1 tháng" in running


async def held_meeting(
    system: RunningSystem,
    province: dict[str, str],
    meeting_id: str,
    starts: datetime,
    records: list[dict[str, Any]],
    minutes: dict[str, Any],
    *,
    source: str,
    sub: str,
) -> None:
    """An extraordinary meeting of thôn 1 begun at `starts` with its roster (`records`) and `minutes`, fed by an
    integration (`source`, as `sub`), once the API reads its minutes."""
    events = [
        feed_event(
            "meeting.scheduled.v1",
            extraordinary_meeting(meeting_id, CELL, starts, "Bàn việc thôn"),
            source=source,
            at=starts - timedelta(days=1),
        ),
        feed_event("attendance.recorded.v1", {"meeting_id": meeting_id, "records": records}, source=source, at=starts),
        feed_event("minutes.submitted.v1", minutes, source=source, at=starts + timedelta(minutes=96)),
    ]
    await feed(system, events, sub=sub)
    headers = {"Authorization": f"Bearer {province['secretary']}"}
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:

        async def recorded() -> bool:
            found = await api.get(f"/v1/meetings/{meeting_id}")
            return found.status_code == 200 and bool(found.json().get("minutes"))

        await eventually(recorded, timeout=60, interval=0.5)


def sample_minutes(meeting_id: str, starts: datetime, ids: list[str], **changes: Any) -> dict[str, Any]:
    """minutes.submitted.v1's data of a 95-minute meeting begun at `starts`, chaired by the first of the members
    `ids` (its one speaker) and recorded by the second, no resolution nor task; `changes` replace fields."""
    return {
        "meeting_id": meeting_id,
        "started_at": starts.isoformat(),
        "ended_at": (starts + timedelta(minutes=95)).isoformat(),
        "chair_id": ids[0],
        "recorder_id": ids[1],
        "speakers": [ids[0]],
        "content": "Bàn việc thôn.",
        "conclusions": "Chi bộ thống nhất.",
        "resolutions": [],
        "tasks": [],
    } | changes


async def minutes_pdf_text(system: RunningSystem, meeting_id: str) -> str:
    """The text of the meeting's minutes PDF as the demo secretary downloads it, its whitespace runs made one space;
    AssertionError unless it answers 200."""
    async with signed_in(system, "secretary") as secretary:
        response = await secretary.get(f"/app/meetings/{meeting_id}/minutes.pdf")
    assert response.status_code == 200
    return " ".join(pdf_text(response.content).split())
