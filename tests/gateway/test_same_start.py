"""A secretary's schedule within an hour of another meeting of the cell is answered 409 `meeting_at_same_time`,
naming `starts_at`, unless `confirm_same_time` says it is another meeting: a user trial scheduled the same meeting by
two submissions of the form, and every member got two notices."""

import httpx

from tests.gateway.fakes import World
from tests.gateway.test_commands import last_event, schedule_body
from tests.support.ids import random_id

KNOWN_START = "2026-11-03T19:00:00+07:00"
"""The start of the world's meeting of cell a1 (and of every meeting the fake stores)."""


async def test_a_schedule_within_the_hour_of_another_meeting_needs_a_confirmation(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    url = f"/v1/cells/{world.cell_a1}/meetings"
    secretary = headers["secretary"]
    close = schedule_body(meeting_id=random_id("mtg"), starts_at="2026-11-03T19:40:00+07:00")
    refused = await client.post(url, json=close, headers=secretary)
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert (body["code"], body["field"], body["reason_code"]) == ("conflict", "starts_at", "meeting_at_same_time")
    assert world.meeting_a1 in body["message"] and "confirm_same_time" in body["message"]

    confirmed = await client.post(url, json=close | {"confirm_same_time": True}, headers=secretary)
    assert confirmed.status_code == 202, confirmed.text
    event = last_event(world, confirmed.json()["event_id"])
    assert "confirm_same_time" not in event["data"]  # the gateway's own question, no part of the event

    # two hours away is another meeting; a cancelled one at the same start is none
    later = schedule_body(meeting_id=random_id("mtg"), starts_at="2026-11-03T21:00:00+07:00")
    assert (await client.post(url, json=later, headers=secretary)).status_code == 202
    ours = {key: meeting["status"] for key, meeting in world.meetings.items() if meeting["cell_id"] == world.cell_a1}
    try:
        for key in ours:
            world.meetings[key]["status"] = "cancelled"
        again = schedule_body(meeting_id=random_id("mtg"), starts_at="2026-11-03T19:10:00+07:00")
        assert (await client.post(url, json=again, headers=secretary)).status_code == 202
    finally:  # the world is the package's
        for key, status in ours.items():
            world.meetings[key]["status"] = status
