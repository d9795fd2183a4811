"""A secretary's documents and task completions cannot be dated where they cannot be true. A user trial recorded a
meeting as already held, then published its draft resolution dated two days before the meeting: it scored the
draft-resolution, early-documents and documents-published items ("59,5 giờ trước giờ sinh hoạt"), though nothing of
that meeting reached its members through chibo before it was recorded (README: its documents count as published
after the start). Documents dated next year were taken too, and a task marked done two months ahead counted as done
on time. An integration's facts are on the sender's clock and keep their own bounds (check_plausible_moments)."""

from datetime import datetime, timedelta
from typing import Any

import pytest

from services.meetings import handlers
from shared.envelope import GATEWAY_SOURCE, HELD_EXTENSION, now
from shared.periods import VIETNAM_TZ
from shared.plausible import CLOCK_SKEW
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.support.ids import random_id

FEED = "urn:test:feed"


def documents(meeting: str, published_at: datetime, *, source: str, sent: datetime) -> dict[str, Any]:
    """documents.published.v1 of a draft resolution dated `published_at`, sent at `sent` under `source`."""
    data = {
        "meeting_id": meeting,
        "published_at": published_at.isoformat(),
        "items": [{"title": "Dự thảo nghị quyết", "kind": "draft_resolution"}],
    }
    return ev.raw_event("documents.published.v1", data, source=source, time=sent)


async def held_meeting(uow_factory: Any, *, sent: datetime, task_due: str | None = None) -> tuple[str, str]:
    """A fresh cell with one member, and a regular meeting begun two days before `sent` that the secretary recorded
    as already held at `sent` (with its roster and minutes, one task due `task_due` when given): (meeting, member)."""
    cell, member, meeting = random_id("cell"), random_id("mem"), random_id("mtg")
    start = sent - timedelta(days=2)
    recorded = ev.scheduled(meeting, cell, starts_at=start, source=GATEWAY_SOURCE, time=sent) | {HELD_EXTENSION: True}
    tasks = (
        [{"task_id": "t1", "assignee_id": member, "description": "Vận động", "due_on": task_due}] if task_due else []
    )
    results = await handlers.ingest_batch(
        [
            ev.unit(cell, time=sent - timedelta(days=30)),
            ev.member(member, cell, time=sent - timedelta(days=30)),
            recorded,
            ev.attendance(meeting, {member: "present"}, source=GATEWAY_SOURCE, time=sent + timedelta(seconds=1)),
            ev.minutes(meeting, chair_id=member, started_at=start, tasks=tasks, source=GATEWAY_SOURCE, time=sent),
        ],
        uow_factory,
        route="http",
    )
    assert [(result.outcome, result.reason) for result in results] == [("accepted", None)] * 5
    return meeting, member


@pytest.mark.parametrize(
    ("published_before", "source", "outcome"),
    [
        (timedelta(days=2, hours=12), GATEWAY_SOURCE, ("rejected", "data.published_at")),  # before the start
        (timedelta(days=1), GATEWAY_SOURCE, ("rejected", "data.published_at")),  # after the start, before recording
        (timedelta(seconds=1), GATEWAY_SOURCE, ("rejected", "data.published_at")),
        (timedelta(0), GATEWAY_SOURCE, ("accepted", None)),  # from the recording on
        (-timedelta(minutes=10), GATEWAY_SOURCE, ("accepted", None)),
        (timedelta(days=2, hours=12), FEED, ("accepted", None)),  # the handbook app published it before: a fact
    ],
)
async def test_documents_of_a_meeting_recorded_as_held_are_not_dated_before_it_was_recorded(
    uow_factory: Any, published_before: timedelta, source: str, outcome: tuple[str, str | None]
) -> None:
    sent = now().replace(microsecond=0) - timedelta(minutes=30)
    meeting, _member = await held_meeting(uow_factory, sent=sent)
    at = sent - published_before
    [result] = await handlers.ingest_batch(
        [documents(meeting, at, source=source, sent=now())], uow_factory, route="http"
    )
    assert (result.outcome, result.field) == outcome, result.reason
    if outcome[0] == "rejected":
        assert result.refusal is not None and result.refusal.code == RefusalCode.PUBLISHED_BEFORE_RECORDED
        assert (result.reason or "").startswith(f"data.published_at: {at.isoformat()} is before the meeting was")


async def test_documents_of_a_meeting_scheduled_beforehand_keep_their_earlier_date(uow_factory: Any) -> None:
    """Only a meeting recorded as held is bound to its recording: a meeting scheduled ahead takes documents dated
    before it, as it always did (the draft handed out on paper, entered later)."""
    cell, meeting = random_id("cell"), random_id("mtg")
    sent = now().replace(microsecond=0)
    setup = [
        ev.unit(cell, time=sent - timedelta(days=30)),
        ev.scheduled(meeting, cell, starts_at=sent + timedelta(days=3), source=GATEWAY_SOURCE, time=sent),
    ]
    assert [r.outcome for r in await handlers.ingest_batch(setup, uow_factory, route="http")] == ["accepted"] * 2
    batch = [documents(meeting, sent - timedelta(days=1), source=GATEWAY_SOURCE, sent=sent + timedelta(seconds=5))]
    [result] = await handlers.ingest_batch(batch, uow_factory, route="http")
    assert result.outcome == "accepted", result.reason


@pytest.mark.parametrize(
    ("ahead", "source", "outcome"),
    [
        (timedelta(days=180), GATEWAY_SOURCE, ("rejected", "data.published_at")),
        (timedelta(minutes=16), GATEWAY_SOURCE, ("rejected", "data.published_at")),
        (timedelta(minutes=14), GATEWAY_SOURCE, ("accepted", None)),  # the usual 15 minutes of clock difference
        (timedelta(days=180), FEED, ("accepted", None)),  # an integration's publication planned ahead
    ],
)
async def test_a_secretarys_documents_are_not_dated_after_their_sending(
    uow_factory: Any, ahead: timedelta, source: str, outcome: tuple[str, str | None]
) -> None:
    sent = now().replace(microsecond=0)
    meeting, _member = await held_meeting(uow_factory, sent=sent - timedelta(hours=1))
    [result] = await handlers.ingest_batch(
        [documents(meeting, sent + ahead, source=source, sent=sent)], uow_factory, route="http"
    )
    assert (result.outcome, result.field) == outcome, result.reason
    if outcome[0] == "rejected":
        assert result.refusal is not None and result.refusal.code == RefusalCode.PUBLISHED_IN_THE_FUTURE


def completion(meeting: str, completed_on: str, *, source: str, sent: datetime) -> dict[str, Any]:
    """task.completed.v1 of the task t1 of `meeting`, sent at `sent` under `source`."""
    data = {"task_id": "t1", "meeting_id": meeting, "completed_on": completed_on}
    return ev.raw_event("task.completed.v1", data, source=source, time=sent)


@pytest.mark.parametrize(
    ("days_ahead", "source", "outcome"),
    [
        (57, GATEWAY_SOURCE, ("rejected", "data.completed_on")),
        (1, GATEWAY_SOURCE, ("rejected", "data.completed_on")),
        (0, GATEWAY_SOURCE, ("accepted", None)),
        (57, FEED, ("accepted", None)),  # CONTRACT.md bounds an integration's dates by the horizon only
    ],
)
async def test_a_secretarys_task_is_not_done_on_a_day_still_ahead_in_vietnam(
    uow_factory: Any, days_ahead: int, source: str, outcome: tuple[str, str | None]
) -> None:
    sent = now().replace(microsecond=0)
    today = (sent + CLOCK_SKEW).astimezone(VIETNAM_TZ).date()  # the rule's today, near midnight too
    due = (today + timedelta(days=90)).isoformat()
    meeting, _member = await held_meeting(uow_factory, sent=sent - timedelta(hours=1), task_due=due)
    day = (today + timedelta(days=days_ahead)).isoformat()
    [result] = await handlers.ingest_batch(
        [completion(meeting, day, source=source, sent=sent)], uow_factory, route="http"
    )
    assert (result.outcome, result.field) == outcome, result.reason
    if outcome[0] == "rejected":
        assert result.refusal is not None and result.refusal.code == RefusalCode.COMPLETED_IN_THE_FUTURE
        assert (result.reason or "").startswith(f"data.completed_on: {day} is after today ({today.isoformat()}")


@pytest.mark.parametrize(
    ("notified_after", "source", "held", "outcome"),
    [
        (timedelta(hours=12, minutes=30), GATEWAY_SOURCE, True, ("rejected", "data.notified_at")),  # the trial's
        (timedelta(0), GATEWAY_SOURCE, True, ("rejected", "data.notified_at")),  # the very start
        (timedelta(hours=1), GATEWAY_SOURCE, False, ("rejected", "data.notified_at")),  # a meeting still ahead
        (-timedelta(days=1), GATEWAY_SOURCE, True, ("accepted", None)),
        (-timedelta(days=1), GATEWAY_SOURCE, False, ("accepted", None)),
        (timedelta(hours=12), FEED, False, ("accepted", None)),  # an integration's fact, scored as not notified
    ],
)
async def test_a_secretarys_notice_is_before_the_meetings_start(
    uow_factory: Any, notified_after: timedelta, source: str, held: bool, outcome: tuple[str, str | None]
) -> None:
    """A trial's API schedule of a meeting held at 19:30 said its members were notified the next morning, and was
    taken where the held form refuses it (shared.plausible.notified_before_start, the rule of both)."""
    sent = now().replace(microsecond=0)
    cell, meeting = random_id("cell"), random_id("mtg")
    start = sent - timedelta(days=1) if held else sent + timedelta(days=3)
    notice = {"notified_at": (start + notified_after).isoformat()}
    schedule = ev.scheduled(meeting, cell, starts_at=start, source=source, time=sent, data=notice)
    if held:
        schedule[HELD_EXTENSION] = True
    results = await handlers.ingest_batch(
        [ev.unit(cell, time=sent - timedelta(days=30)), schedule], uow_factory, route="http"
    )
    assert [(result.outcome, result.field) for result in results] == [("accepted", None), outcome], results[1].reason
    if outcome[0] == "rejected":
        assert results[1].refusal is not None and results[1].refusal.code == RefusalCode.NOTIFIED_AFTER_START
