"""A meeting's read lists the other systems' facts held on what its secretary records.

A new user's trial: the electronic member handbook sent the cell's adoption of the minutes before the attendance was
recorded; meetings held it on `roster:<meeting>` (handlers/apply.py), but the secretary's pages, which read the meeting
with GetMeeting, could not tell: only the operator's list of held events showed it. GetMeeting now answers `waiting`:
each held adoption or task completion, what it waits for (attendance, minutes, a task of the minutes), who sent it,
when it came and when its hold runs out (CHIBO_HOLD_TIMEOUT_SECONDS after, CONTRACT.md: then rejected).
"""

from datetime import timedelta
from typing import Any

from services.meetings import rpc as meetings_rpc
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from shared.contracts import meetings_rpc as contract
from shared.envelope import now
from tests.meetings import events as ev
from tests.meetings.test_adoption_needs_roster import adoption, minutes, roster
from tests.meetings.test_assessor_person import commune, from_commune, outcome

__all__ = ["commune"]  # the fixture, shared with test_assessor_person

HOLD = timedelta(hours=6)


async def read(tree: dict[str, Any]) -> contract.MeetingReply:
    """The meeting as the gateway reads it (meetings.rpc GetMeeting), from a service holding events for HOLD."""
    app = meetings_context(Settings(hold_timeout_seconds=HOLD.total_seconds()), tree["pool"])
    found = await meetings_rpc.get_meeting(contract.GetMeeting(meeting_id=tree["ids"]["mtg"]), app)
    return contract.MeetingReply.model_validate(found)


def waiting(meeting: contract.MeetingReply) -> list[tuple[str, str, str, str | None]]:
    """(type, source, waiting for, task) of each waiting fact, in order."""
    return [(fact.type, fact.source, fact.waiting_for, fact.task_id) for fact in meeting.waiting]


async def test_an_adoption_held_for_the_attendance_is_in_the_meetings_read_until_the_roster_applies_it(
    commune: dict[str, Any],
) -> None:
    ids = commune["ids"]
    early = adoption(commune)
    [held] = await from_commune(commune, early)
    assert outcome(held) == ("held", "data.meeting_id", None, f"minutes:{ids['mtg']}")
    assert waiting(await read(commune)) == [("minutes.approved.v1", early["source"], "minutes", None)]

    [sent] = await from_commune(commune, minutes(commune))
    assert outcome(sent)[0] == "accepted", sent
    completion = ev.raw_event(
        "task.completed.v1",
        {"meeting_id": ids["mtg"], "task_id": "t-report", "completed_on": now().date().isoformat()},
        time=now(),
    )
    [task] = await from_commune(commune, completion)
    assert outcome(task) == ("held", "data.task_id", None, f"task:{ids['mtg']}:t-report")
    meeting = await read(commune)
    # the adoption, judged again as the minutes came, now waits for the attendance; it keeps when it came
    assert waiting(meeting) == [
        ("minutes.approved.v1", early["source"], "attendance", None),
        ("task.completed.v1", completion["source"], "task", "t-report"),
    ]
    first = meeting.waiting[0]
    assert first.event_id == early["id"] and first.expires_at == first.held_at + HOLD
    assert now() - timedelta(minutes=5) < first.held_at <= now()

    [recorded] = await from_commune(commune, roster(commune))
    assert outcome(recorded)[0] == "accepted", recorded
    meeting = await read(commune)
    assert meeting.approved_at is not None
    assert waiting(meeting) == [("task.completed.v1", completion["source"], "task", "t-report")]
