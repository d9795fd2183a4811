"""Evaluation reads its hottest facts with a model of the fields it reads (services.evaluation.reading): the same
scores as the contract's models give, each read field refused as the contract refuses it (naming `data.<field>`, so
the consumer dead-letters the delivery with that cause, as before), what no score reads left unread."""

import json
from typing import Any

import pytest

from services.evaluation.handlers import FACT_HANDLERS, register_shipped, score_touched, shipped_frameworks
from services.evaluation.reading import READING_MODELS
from shared.contracts.base import EventData
from shared.contracts.registry import read_event
from shared.envelope import InvalidEvent, parse_envelope
from shared.minutes import minutes_content_key, roster_content_key
from tests.evaluation.fakes import FakeUnitOfWork
from tests.evaluation.stream import at, cell_history, fact


async def _scores(models: dict[str, type[EventData]] | None) -> list[tuple[str, Any]]:
    """What a cell's four months of facts publish, each fact read with `models` (None: the contract's)."""
    uow = FakeUnitOfWork()
    await register_shipped(uow, shipped_frameworks())
    uow.emitted.clear()
    for raw in cell_history(committee_id="ward", cell_id="cell-a", prefix="h"):
        event = read_event(parse_envelope(json.dumps(raw)), models)
        await FACT_HANDLERS[event.type](event, uow)
        await score_touched(uow)
    return [(event.type, event.data) for event in uow.emitted]


async def test_the_facts_read_in_part_publish_the_same_scores_as_read_in_full() -> None:
    full, read = await _scores(None), await _scores(READING_MODELS)
    assert [kind for kind, _ in full].count("score.meeting.updated.v1") >= 4
    assert read == full


def _minutes(**changes: Any) -> dict[str, Any]:
    data = {
        "meeting_id": "m1",
        "started_at": at(3, 5).isoformat(),
        "ended_at": at(3, 5, 21).isoformat(),
        "chair_id": "p1",
        "recorder_id": "p2",
        "speakers": ["p1"],
        "resolutions": [{"text": "Thông qua", "votes_for": 5, "votes_against": 0, "abstentions": 0}],
        "tasks": [{"task_id": "t1", "assignee_id": "p1", "description": "Việc", "due_on": "2026-04-01"}],
    }
    return fact("minutes.submitted.v1", data | changes, time=at(3, 5, 22))


def _roster(records: list[dict[str, Any]]) -> dict[str, Any]:
    return fact("attendance.recorded.v1", {"meeting_id": "m1", "records": records}, time=at(3, 5, 22))


def _member(**changes: Any) -> dict[str, Any]:
    data = {"id": "d1", "full_name": "Đảng viên", "cell_id": "c1", "status": "official"} | changes
    return fact("member.upserted.v1", data, time=at(3, 1))


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (_minutes(ended_at=at(3, 5, 18).isoformat()), "data.ended_at"),  # the contract's validator comes along
        (
            _minutes(tasks=[{"task_id": "t1", "assignee_id": "p1", "description": "Việc", "due_on": "2026-04-01"}] * 2),
            "data.tasks",
        ),
        (
            _minutes(resolutions=[{"text": "Thông qua", "votes_for": -1, "votes_against": 0, "abstentions": 0}]),
            "data.resolutions.0.votes_for",
        ),
        (_minutes(speakers=["p 1"]), "data.speakers.0"),
        (_roster([{"member_id": "d1", "status": "late"}]), "data.records.0.status"),
        (_roster([{"member_id": "d1", "status": "absent"}, {"member_id": "d1", "status": "present"}]), "data.records"),
        (_member(role="chair"), "data.role"),
        (_member(exempt="yes"), "data.exempt"),
        (
            fact(
                "documents.published.v1",
                {"meeting_id": "m1", "published_at": at(3, 1).isoformat(), "items": []},
                time=at(3, 1),
            ),
            "data.items",
        ),
    ],
)
def test_a_read_field_is_refused_as_the_contract_refuses_it(raw: dict[str, Any], field: str) -> None:
    envelope = parse_envelope(json.dumps(raw))
    refusals = []
    for models in (None, READING_MODELS):
        with pytest.raises(InvalidEvent) as refused:
            read_event(envelope, models)
        refusals.append((refused.value.field, refused.value.reason))
    assert refusals[0][0] == field
    assert refusals[1] == refusals[0]


def test_what_no_score_reads_is_left_unread() -> None:
    """The owner (meetings, which read it with the contract's model at its door) validated it."""
    envelope = parse_envelope(json.dumps(_member(email="không phải địa chỉ")))
    with pytest.raises(InvalidEvent):
        read_event(envelope)
    read: Any = read_event(envelope, READING_MODELS).data
    assert read.model_dump(mode="json")["cell_id"] == "c1"
    assert not hasattr(read, "email")


def test_the_minutes_and_roster_keys_evaluation_keeps_are_those_meetings_keeps() -> None:
    """Whether an adoption stands turns on the content keys of the minutes and roster (shared.minutes), which meetings
    computes from every field: read in part, evaluation's minutes key missed the chair and the texts (two minutes
    differing there were one text to it: it kept an adoption meetings voided) and a roster's key failed on the
    reasons it did not read (every roster dead-lettered in the end-to-end run)."""
    minutes = _minutes(
        chair_id="p2", resolutions=[{"text": "Khác", "votes_for": 5, "votes_against": 0, "abstentions": 0}]
    )
    roster = fact(
        "attendance.recorded.v1",
        {
            "meeting_id": "m1",
            "records": [
                {"member_id": "d1", "status": "absent", "reason": "Ốm"},
                {"member_id": "d2", "status": "present"},
            ],
            "guests": [{"name": "Nguyễn Văn Khách", "committee_id": "xa-1"}],
        },
        time=at(3, 5, 22),
    )
    for raw, key in ((minutes, minutes_content_key), (roster, roster_content_key)):
        envelope = parse_envelope(json.dumps(raw))
        full: Any = read_event(envelope).data
        read: Any = read_event(envelope, READING_MODELS).data
        assert key(read) == key(full), raw["type"]
    changed: Any = read_event(parse_envelope(json.dumps(minutes)), READING_MODELS).data
    first: Any = read_event(parse_envelope(json.dumps(_minutes())), READING_MODELS).data
    assert minutes_content_key(changed) != minutes_content_key(first)  # another chair and text: another text
