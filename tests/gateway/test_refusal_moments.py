"""The gateway's own refusal of a schedule within the hour of another meeting names that meeting's start at the
offset the caller wrote theirs in: meetings answers starts as stored (+00:00), and a trial's refusal read
19:30+07:00 sent beside 12:30+00:00 of the same evening, as if hours apart."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.gateway.fakes import World
from tests.gateway.test_commands import schedule_body
from tests.support.ids import random_id


@pytest.mark.parametrize("offset", [VIETNAM_TZ, UTC])
async def test_the_other_meetings_start_is_said_at_the_callers_offset(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, offset: object
) -> None:
    starts = (datetime.now(VIETNAM_TZ) + timedelta(days=30)).replace(hour=19, minute=30, second=0, microsecond=0)
    known = random_id("mtg")
    world.meetings[known] = world._meeting(known, world.cell_a1) | {
        "starts_at": starts.astimezone(UTC).isoformat(),  # as meetings answers it
        "status": "scheduled",
        "location": "Nhà văn hóa thôn 1",
    }
    try:
        sent = (starts + timedelta(minutes=30)).astimezone(offset)  # type: ignore[arg-type]
        body = schedule_body(meeting_id=random_id(world.cell_a1), starts_at=sent.isoformat())
        refused = await client.post(f"/v1/cells/{world.cell_a1}/meetings", json=body, headers=headers["secretary"])
        assert refused.status_code == 409, refused.text
        other = starts.astimezone(offset).isoformat()  # type: ignore[arg-type]
        assert refused.json()["message"].startswith(
            f"starts_at: meeting {known} of the cell starts at {other} (Nhà văn hóa thôn 1), less than 1:00:00 away;"
        ), refused.json()
    finally:
        del world.meetings[known]
