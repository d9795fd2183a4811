"""A trial's schedule commands with a start of hour 24, an offset of +25:00 or 30 February were refused with the
validation library's "Input should be a valid datetime or date, …": "or date" of a date-time field, and no rule. The
API's reason (CONTRACT.md's rejection shape: the field, then why) says which part is out of range, in plain words."""

import httpx
import pytest

from tests.gateway.fakes import World
from tests.gateway.test_commands import schedule_body
from tests.support.ids import random_id


@pytest.mark.parametrize(
    ("field", "written", "said"),
    [
        ("starts_at", "2026-12-30T24:00:00+07:00", "hour 24 is out of range: an hour is 00 to 23"),
        ("starts_at", "2026-12-30T19:00:00+25:00", "offset +25:00 is out of range: an offset is at most ±23:59"),
        ("starts_at", "2026-02-30T19:00:00+07:00", "day 30 is not in 2026-02, which has 28 days"),
        ("notified_at", "2026-12-29T19:60:00+07:00", "minute 60 is out of range: a minute is 00 to 59"),
    ],
)
async def test_a_time_out_of_range_is_refused_naming_the_field_and_the_part(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, field: str, written: str, said: str
) -> None:
    body = schedule_body(meeting_id=random_id("mtg")) | {field: written}
    response = await client.post(f"/v1/cells/{world.cell_a1}/meetings", json=body, headers=headers["secretary"])
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["field"] == field and answer["message"].startswith(f"{field}: {said}"), answer
    assert "valid datetime" not in answer["message"] and "or date" not in answer["message"]
