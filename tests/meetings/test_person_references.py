"""A secretary's command naming something meetings does not know is refused at once; an integration's fact is held.

A new user's trial: a roster guest with an unknown `committee_id`, and a completion of a task not in the meeting's
minutes, sent through the gateway both came back 202 "held" (waiting up to a day for the reference, then rejected as
hold_expired) while the earlier roster stayed in force. Holding is right for integrations' facts (CONTRACT.md: order
is not guaranteed), but a person's command is judged against what meetings knows when it is sent: every reference it
can carry that would be held (a guest's committee, a task, the minutes an adoption adopts, the meeting itself; its
members and an upper_monitor's assignment were already so) is refused naming the field, as the same reference from an
integration is still held (domain.held_or_refused).
"""

from datetime import timedelta
from typing import Any

from shared.envelope import GATEWAY_SOURCE, now
from shared.periods import VIETNAM_TZ
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.meetings.test_assessor_person import commune, from_commune, outcome
from tests.support.ids import random_id

__all__ = ["commune"]  # the fixture, shared with test_assessor_person


async def as_secretary(tree: dict[str, Any], *events: dict[str, Any]) -> list[dict[str, Any]]:
    """The events as the cell's secretary's commands (the gateway's source, scoped to the cell), timed now."""
    sent = [{**event, "source": GATEWAY_SOURCE, "time": now().isoformat()} for event in events]
    reply = await tree["methods"]["ingest"](events=sent, route="http", account="secretary", scope=tree["ids"]["cell"])
    return list(reply["results"])


def refused(result: dict[str, Any]) -> tuple[str, str | None, str | None, dict[str, Any] | None]:
    """(outcome, field, reason, refusal's values set) of one result: the whole refusal a command's answer carries."""
    refusal = {key: value for key, value in (result.get("refusal") or {}).items() if value is not None}
    return result["outcome"], result["field"], result.get("reason"), refusal or None


def roster(tree: dict[str, Any], status: str, guests: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The meeting's full roster (its one member with `status`), with `guests` when given."""
    data: dict[str, Any] = {
        "meeting_id": tree["ids"]["mtg"],
        "records": [{"member_id": tree["ids"]["m1"], "status": status}],
    }
    if guests is not None:
        data["guests"] = guests
    return ev.raw_event("attendance.recorded.v1", data)


async def roster_statuses(tree: dict[str, Any], uow_factory: Any) -> dict[str, str]:
    """Member to status on the meeting's stored roster."""
    async with uow_factory() as uow:
        return dict(await uow.meetings.roster_statuses(tree["ids"]["mtg"]))


async def test_a_secretarys_guest_of_an_unknown_committee_is_refused_and_the_roster_in_force_stays(
    commune: dict[str, Any], uow_factory: Any
) -> None:
    ids = commune["ids"]
    [first] = await as_secretary(commune, roster(commune, "present"))
    assert outcome(first)[0] == "accepted", first
    unknown, elsewhere = random_id("committee"), random_id("xa2")
    province = await commune["methods"]["ingest"](
        events=[ev.unit(elsewhere, kind="committee", parent_id=ids["tinh"], name="Đảng ủy xã khác", time=now())],
        route="http",
        account="feed",
    )
    assert province["results"][0]["outcome"] == "accepted"
    guest = {"name": "Nguyễn Văn Khách"}
    results = await as_secretary(
        commune,
        roster(commune, "absent", [guest, {**guest, "committee_id": unknown}]),
        roster(commune, "absent", [{**guest, "committee_id": elsewhere}]),
    )
    field = "data.guests.1.committee_id"
    code = {"code": RefusalCode.GUEST_COMMITTEE_UNKNOWN.value}
    said = "is unknown; a guest's committee is one above the meeting's cell (or left out)"
    assert refused(results[0]) == ("rejected", field, f"{field}: unit {unknown} {said}", code)
    # a committee elsewhere in the tree is answered as an unknown one: the secretary learns nothing of it
    field = "data.guests.0.committee_id"
    assert refused(results[1]) == ("rejected", field, f"{field}: unit {elsewhere} {said}", code)
    assert await roster_statuses(commune, uow_factory) == {ids["m1"]: "present"}
    # the commune above the cell is a guest's committee as before
    [taken] = await as_secretary(commune, roster(commune, "absent", [{**guest, "committee_id": ids["xa"]}]))
    assert outcome(taken)[0] == "accepted", taken
    assert await roster_statuses(commune, uow_factory) == {ids["m1"]: "absent"}


async def test_an_integrations_guest_of_an_unknown_committee_is_still_held(commune: dict[str, Any]) -> None:
    unknown = random_id("committee")
    sent = roster(commune, "present", [{"name": "Nguyễn Văn Khách", "committee_id": unknown}])
    [held] = await from_commune(commune, {**sent, "time": now().isoformat()})
    assert outcome(held) == ("held", "data.guests.0.committee_id", None, f"unit:{unknown}")


def minutes_with_task(tree: dict[str, Any], task_id: str) -> dict[str, Any]:
    """The meeting's minutes (an integration's) assigning `task_id` to its member."""
    due = (now().astimezone(VIETNAM_TZ).date() + timedelta(days=30)).isoformat()
    task = {"task_id": task_id, "assignee_id": tree["ids"]["m1"], "description": "Sửa đường thôn", "due_on": due}
    return ev.minutes(
        tree["ids"]["mtg"], chair_id=tree["ids"]["m1"], started_at=now() - timedelta(hours=2), tasks=[task]
    )


def completion(tree: dict[str, Any], task_id: str) -> dict[str, Any]:
    """task.completed.v1 of `task_id` of the meeting, done today."""
    today = now().astimezone(VIETNAM_TZ).date().isoformat()
    data = {"task_id": task_id, "meeting_id": tree["ids"]["mtg"], "completed_on": today}
    return ev.raw_event("task.completed.v1", data, time=now())


async def test_a_secretarys_completion_of_a_task_not_in_the_minutes_is_refused(commune: dict[str, Any]) -> None:
    ids = commune["ids"]
    known, unknown = random_id("task"), random_id("task")
    [minutes] = await from_commune(commune, {**minutes_with_task(commune, known), "time": now().isoformat()})
    assert outcome(minutes)[0] == "accepted", minutes
    results = await as_secretary(commune, completion(commune, unknown), completion(commune, known))
    reason = (
        f"data.task_id: task {unknown} is not in the minutes of meeting {ids['mtg']}; a secretary marks done a task"
        " of the meeting's recorded minutes"
    )
    assert refused(results[0]) == ("rejected", "data.task_id", reason, {"code": "task_not_in_minutes"})
    assert outcome(results[1])[0] == "accepted", results[1]
    # the same completion from an integration waits for the task (its minutes may come later)
    [held] = await from_commune(commune, completion(commune, unknown))
    assert outcome(held) == ("held", "data.task_id", None, f"task:{ids['mtg']}:{unknown}")


def adoption(tree: dict[str, Any]) -> dict[str, Any]:
    """minutes.approved.v1 of the meeting, adopted now."""
    data = {"meeting_id": tree["ids"]["mtg"], "approved_at": now().isoformat()}
    return ev.raw_event("minutes.approved.v1", data, time=now())


async def test_a_secretarys_adoption_of_minutes_not_recorded_is_refused(commune: dict[str, Any]) -> None:
    ids = commune["ids"]
    [result] = await as_secretary(commune, adoption(commune))
    reason = (
        f"data.meeting_id: meeting {ids['mtg']} has no minutes yet; the minutes are submitted before the cell adopts"
        " them"
    )
    assert refused(result) == ("rejected", "data.meeting_id", reason, {"code": "minutes_not_submitted"})
    [held] = await from_commune(commune, adoption(commune))
    assert outcome(held) == ("held", "data.meeting_id", None, f"minutes:{ids['mtg']}")


async def test_a_secretarys_command_on_a_meeting_not_scheduled_is_refused(commune: dict[str, Any]) -> None:
    unknown = random_id("mtg")
    data = {"meeting_id": unknown, "reason": "Mưa bão"}
    [result] = await as_secretary(commune, ev.raw_event("meeting.cancelled.v1", data))
    reason = f"data.meeting_id: meeting {unknown} is not scheduled"
    assert refused(result) == ("rejected", "data.meeting_id", reason, {"code": "meeting_unknown"})
    [held] = await from_commune(commune, ev.raw_event("meeting.cancelled.v1", data, time=now()))
    assert outcome(held) == ("held", "data.meeting_id", None, f"meeting:{unknown}")
