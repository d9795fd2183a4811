"""Scores that the clock changes: closing.final_documents waits for its 48 hours after the end before it calls the
documents late. Handlers with in-memory fakes and a set scoring clock (scores.clock)."""

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.evaluation.handlers import FACT_HANDLERS, register_shipped, score_touched, scores, shipped_frameworks
from services.evaluation.handlers.scores import rescore_cell
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from shared.reasons import ReasonCode
from tests.evaluation.fakes import FakeUnitOfWork
from tests.evaluation.stream import at, fact

START = at(11, 20)
END = START + timedelta(minutes=100)


class Clock:
    """The scoring moment, set by each test."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """scores.clock replaced by a settable one."""
    setting = Clock(START - timedelta(days=3))
    monkeypatch.setattr(scores, "clock", setting)
    yield setting


@pytest.fixture
async def uow() -> FakeUnitOfWork:
    """A fake unit of work with the shipped frameworks registered (their adoptions' events set aside)."""
    unit = FakeUnitOfWork()
    await register_shipped(unit, shipped_frameworks())
    unit.emitted.clear()
    return unit


async def apply(uow: FakeUnitOfWork, raw: dict[str, Any]) -> None:
    """Handle one fact as the consumer would."""
    event = read_event(parse_envelope(json.dumps(raw)))
    await FACT_HANDLERS[event.type](event, uow)
    await score_touched(uow)


def scheduled(starts_at: datetime = START) -> dict[str, Any]:
    data = {
        "meeting_id": "m1",
        "cell_id": "c1",
        "kind": "regular",
        "starts_at": starts_at.isoformat(),
        "location": "Nhà văn hóa",
        "agenda": ["Thường kỳ"],
    }
    return fact("meeting.scheduled.v1", data, time=START - timedelta(days=5))


def roster() -> dict[str, Any]:
    records = [{"member_id": f"d{n}", "status": "present"} for n in range(5)]
    return fact("attendance.recorded.v1", {"meeting_id": "m1", "records": records}, time=START - timedelta(days=2))


def minutes() -> dict[str, Any]:
    data = {
        "meeting_id": "m1",
        "started_at": START.isoformat(),
        "ended_at": END.isoformat(),
        "chair_id": "d0",
        "recorder_id": "d1",
        "speakers": ["d0", "d1", "d2"],
        "self_criticism_minutes": 20,
        "content": "Nội dung",
        "conclusions": "Kết luận",
        "resolutions": [{"text": "Nghị quyết", "votes_for": 5, "votes_against": 0, "abstentions": 0}],
        "tasks": [],
    }
    return fact("minutes.submitted.v1", data, time=END + timedelta(minutes=10))


def final_documents(published_at: datetime) -> dict[str, Any]:
    items = [{"title": "Biên bản", "kind": "minutes"}, {"title": "Nghị quyết", "kind": "resolution"}]
    data = {"meeting_id": "m1", "published_at": published_at.isoformat(), "items": items}
    return fact("documents.published.v1", data, time=published_at)


def line(uow: FakeUnitOfWork, code: str) -> dict[str, Any]:
    return next(item for item in uow.results.scores["m1"]["criteria"] if item["code"] == code)


def published(uow: FakeUnitOfWork, event_type: str) -> list[dict[str, Any]]:
    return [event.data for event in uow.emitted if event.type == event_type and event.subject == "m1"]


async def test_facts_ahead_of_a_start_already_past_are_scored_at_once_as_a_backfill(
    uow: FakeUnitOfWork, clock: Clock
) -> None:
    clock.moment = START + timedelta(days=30)
    await apply(uow, roster())  # before the schedule, as a backfill may send it
    await apply(uow, scheduled())
    assert line(uow, "attendance")["points"] == 5
    clock.moment = START - timedelta(days=1)
    await apply(uow, minutes())  # minutes recorded: held, scored whatever the clock says of its start
    assert "m1" in uow.results.scores


async def test_final_documents_are_due_not_late_while_their_48_hours_run(uow: FakeUnitOfWork, clock: Clock) -> None:
    clock.moment = END + timedelta(hours=11)
    for raw in (scheduled(), roster(), minutes()):
        await apply(uow, raw)
    pending = line(uow, "closing.final_documents")
    deadline = END + timedelta(hours=48)
    assert pending["points"] == 0
    assert [part["code"] for part in pending["parts"]] == [ReasonCode.FINAL_DOCUMENTS_PENDING]
    assert datetime.fromisoformat(pending["parts"][0]["deadline"]) == deadline
    assert pending["reason"] == (
        f"minutes, resolution not published yet: due within 48 h of the end, by {deadline.isoformat()}"
    )
    assert "within 48 h of the end" in pending["reason"] and "not published within" not in pending["reason"]
    assert ("m1", "c1", deadline) in uow.results.rechecks  # the window's end is when it may become late
    clock.moment = END + timedelta(hours=20)
    await apply(uow, final_documents(END + timedelta(hours=20)))
    assert line(uow, "closing.final_documents")["points"] == 1


async def test_final_documents_missing_when_the_48_hours_are_over_are_late(uow: FakeUnitOfWork, clock: Clock) -> None:
    clock.moment = END + timedelta(hours=11)
    for raw in (scheduled(), roster(), minutes()):
        await apply(uow, raw)
    clock.moment = END + timedelta(hours=48, seconds=1)
    await rescore_cell(uow, "c1", only={"m1"})  # what the recheck released at the deadline does
    late = line(uow, "closing.final_documents")
    assert late["points"] == 0 and [part["code"] for part in late["parts"]] == [ReasonCode.FINAL_DOCUMENTS_LATE]
    assert late["reason"] == "minutes, resolution not published within 48 h of the end"
    await apply(uow, final_documents(END + timedelta(hours=60)))  # too late: no point
    assert line(uow, "closing.final_documents")["points"] == 0


async def test_a_meeting_ahead_with_its_roster_sent_early_gets_no_score_until_its_start(
    uow: FakeUnitOfWork, clock: Clock
) -> None:
    """Trial 34: a meeting still ahead read a provisional 21.67 Kém. Not begun (no minutes, its start later:
    shared.plausible.meeting_begun), it is not scored, however early an integration sent its roster; its start scores
    it (the recheck noted for then)."""
    clock.moment = START - timedelta(days=3)
    await apply(uow, scheduled())
    await apply(uow, roster())
    assert "m1" not in uow.results.scores
    assert published(uow, "score.meeting.updated.v1") == []
    assert ("m1", "c1", START) in uow.results.rechecks
    clock.moment = START
    await rescore_cell(uow, "c1", only=["m1"])
    assert line(uow, "attendance")["points"] == 5
    assert len(published(uow, "score.meeting.updated.v1")) == 1


async def test_a_meeting_moved_ahead_after_its_start_passed_unrecorded_has_its_score_withdrawn(
    uow: FakeUnitOfWork, clock: Clock
) -> None:
    """Scored (provisional, Kém) once its start passed with nothing recorded, then moved to a start still ahead: it has
    not taken place, so it is no longer scored (DOMAIN.md: the start after any rescheduling), and its published score
    is withdrawn (CONTRACT.md score.meeting.withdrawn.v1: a meeting no longer scored) with the reason not_held."""
    clock.moment = START + timedelta(hours=2)
    await apply(uow, scheduled())
    assert "m1" in uow.results.scores
    later = START + timedelta(days=7)
    moved = fact("meeting.rescheduled.v1", {"meeting_id": "m1", "starts_at": later.isoformat()}, time=clock.moment)
    await apply(uow, moved)
    assert "m1" not in uow.results.scores
    assert published(uow, "score.meeting.withdrawn.v1") == [{"meeting_id": "m1", "cell_id": "c1", "reason": "not_held"}]
