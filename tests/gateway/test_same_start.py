"""A secretary's schedule within an hour of another meeting of the cell is answered 409 `meeting_at_same_time`,
naming `starts_at`, unless `confirm_same_time` says it is another meeting: a user trial scheduled the same meeting by
two submissions of the form, and every member got two notices."""

from datetime import datetime, timedelta

import httpx

from shared.envelope import SAME_TIME_EXTENSION
from shared.periods import VIETNAM_TZ
from tests.gateway.fakes import World
from tests.gateway.test_commands import last_event, schedule_body
from tests.support.ids import random_id


async def test_a_schedule_within_the_hour_of_another_meeting_needs_a_confirmation(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    url = f"/v1/cells/{world.cell_a1}/meetings"
    secretary = headers["secretary"]
    starts = (datetime.now(VIETNAM_TZ) + timedelta(days=30)).replace(hour=19, minute=0, second=0, microsecond=0)
    known = random_id("mtg")  # the cell's meeting already scheduled at `starts` (the fake stores no start it is sent)
    world.meetings[known] = world._meeting(known, world.cell_a1) | {
        "starts_at": starts.isoformat(),
        "status": "scheduled",
        "location": "Nhà văn hóa thôn 1",
    }
    try:

        def at(moment: datetime, **more: object) -> dict[str, object]:
            return schedule_body(meeting_id=random_id(world.cell_a1), starts_at=moment.isoformat(), **more)

        close = at(starts + timedelta(minutes=40))
        refused = await client.post(url, json=close, headers=secretary)
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert (body["code"], body["field"], body["reason_code"]) == ("conflict", "starts_at", "meeting_at_same_time")
        assert known in body["message"] and "confirm_same_time" in body["message"]
        earlier = await client.post(url, json=at(starts - timedelta(minutes=59)), headers=secretary)
        assert earlier.status_code == 409, earlier.text

        confirmed = await client.post(url, json=close | {"confirm_same_time": True}, headers=secretary)
        assert confirmed.status_code == 202, confirmed.text
        event = last_event(world, confirmed.json()["event_id"])
        assert "confirm_same_time" not in event["data"]  # the gateway's own question, no part of the event
        assert (
            event[SAME_TIME_EXTENSION] is True
        )  # said on the envelope: meetings judges it again under the cell's lock

        # an hour away is another meeting; a cancelled one at the same start is none
        assert (await client.post(url, json=at(starts + timedelta(hours=1)), headers=secretary)).status_code == 202
        world.meetings[known]["status"] = "cancelled"
        assert (await client.post(url, json=at(starts + timedelta(minutes=10)), headers=secretary)).status_code == 202
    finally:  # the world is the package's
        del world.meetings[known]


async def test_meetings_refusal_of_a_schedule_at_the_same_time_is_the_same_409(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """The gateway's early question saw no other meeting (the other was being scheduled at that moment, by another
    replica or a second sending): meetings, judging it under the cell's lock, refuses it, and the answer is the 409
    the early question gives, naming starts_at; an unconfirmed schedule carries no confirmation on its envelope."""
    url = f"/v1/cells/{world.cell_a1}/meetings"
    starts = (datetime.now(VIETNAM_TZ) + timedelta(days=40)).replace(hour=19, minute=0, second=0, microsecond=0)
    meeting = random_id(world.cell_a1)
    world.same_time.add(meeting)
    try:
        body = schedule_body(meeting_id=meeting, starts_at=starts.isoformat())
        refused = await client.post(url, json=body, headers=headers["secretary"])
        assert refused.status_code == 409, refused.text
        error = refused.json()
        assert (error["code"], error["field"], error["reason_code"]) == (
            "conflict",
            "starts_at",
            "meeting_at_same_time",
        )
        assert error["message"].startswith("starts_at:") and "confirm_same_time" in error["message"]
        confirmed = await client.post(url, json=body | {"confirm_same_time": True}, headers=headers["secretary"])
        assert confirmed.status_code == 202, confirmed.text
    finally:
        world.same_time.discard(meeting)
