"""Notifications reads each event's data with a model of the fields its handlers read (services.notifications.reading,
issue 12): the same values as the contract's model gives, each read field refused as strictly as before, what it
does not read left unread (each reading model's fields against the contract's: tests/shared/test_reading_models.py)."""

from typing import Any

import pytest

from services.notifications.reading import READING_MODELS
from shared.contracts.registry import read_event
from shared.envelope import InvalidEvent
from tests.notifications.events import event


def _criteria(count: int) -> list[dict[str, Any]]:
    return [
        {"code": f"c.x{i}", "points": 1.0, "max": 2.0, "applicable": True, "source": "auto", "reason": "Đủ"}
        for i in range(count)
    ]


def _score(**changes: Any) -> dict[str, Any]:
    data = {
        "meeting_id": "m1",
        "cell_id": "c1",
        "framework": {"id": "f", "version": "1"},
        "score": 55.0,
        "rating": "average",
        "provisional": False,
        "criteria": _criteria(3),
    }
    return data | changes


def test_a_meeting_score_is_read_without_its_criteria() -> None:
    envelope = event("score.meeting.updated.v1", _score(), source="urn:chibo:evaluation")
    contract: Any = read_event(envelope).data
    read: Any = read_event(envelope, READING_MODELS).data
    assert not hasattr(read, "criteria") and len(contract.criteria) == 3
    for name in ("meeting_id", "cell_id", "score", "rating", "provisional"):
        assert getattr(read, name) == getattr(contract, name)
    # what no alert reads is the owner's to validate (evaluation built it with the contract's model)
    odd = event("score.meeting.updated.v1", _score(criteria=[{"code": 1}]), source="urn:chibo:evaluation")
    odd_read: Any = read_event(odd, READING_MODELS).data
    assert odd_read.rating == "average"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"score": 101.0}, "data.score"),
        ({"rating": "great"}, "data.rating"),
        ({"provisional": "maybe"}, "data.provisional"),
        ({"meeting_id": "m 1"}, "data.meeting_id"),
    ],
)
def test_a_read_field_is_refused_as_strictly_as_the_contract_refuses_it(changes: dict[str, Any], field: str) -> None:
    envelope = event("score.meeting.updated.v1", _score(**changes), source="urn:chibo:evaluation")
    for models in (None, READING_MODELS):
        with pytest.raises(InvalidEvent) as refused:
            read_event(envelope, models)
        assert refused.value.field == field


def test_a_roster_naming_a_member_twice_is_refused_as_the_contract_refuses_it() -> None:
    twice = [{"member_id": "d1", "status": "absent"}, {"member_id": "d1", "status": "present"}]
    envelope = event("attendance.recorded.v1", {"meeting_id": "m1", "records": twice})
    with pytest.raises(InvalidEvent, match="listed twice"):
        read_event(envelope, READING_MODELS)
