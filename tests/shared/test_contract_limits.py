"""Every count an incoming event carries takes the contract's whole range (CONTRACT.md "Limits": counts, such as
votes, quotas and minutes, are integers from 0 to 100,000): no model may be narrower or wider.

The defect: `minutes.submitted.v1` refused `self_criticism_minutes: 100000` as "≤ 600".
"""

import json
from typing import Any

import annotated_types
import pytest

from shared.contracts.meetings import TYPES, MinutesSubmitted
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.support.contract_fields import contract_fields

BOUND = 100_000


NOT_COUNTS = {"data.birth_year"}
"""Integers that are no count: a year of birth has its own range."""


def bounds(metadata: list[Any]) -> tuple[Any, Any]:
    """The effective (ge, le) of a field's constraints: the tightest of every layer."""
    lows: list[Any] = [item.ge for item in metadata if isinstance(item, annotated_types.Ge)]
    highs: list[Any] = [item.le for item in metadata if isinstance(item, annotated_types.Le)]
    return (max(lows) if lows else None, min(highs) if highs else None)


COUNTS = [
    (event_type, field.path, metadata)
    for event_type, model in TYPES.items()
    for field in contract_fields(model)
    for kind, metadata in field.kinds
    if kind is int and field.path not in NOT_COUNTS
]


def test_the_contract_has_counts_to_check() -> None:
    paths = {path for _, path, _ in COUNTS}
    assert {"data.self_criticism_minutes", "data.resolutions.0.votes_for", "data.yearly_quota"} <= paths


@pytest.mark.parametrize(("event_type", "path", "metadata"), COUNTS, ids=[f"{t}:{p}" for t, p, _ in COUNTS])
def test_every_count_takes_zero_to_a_hundred_thousand(event_type: str, path: str, metadata: list[Any]) -> None:
    assert bounds(metadata) == (0, BOUND), f"{event_type} {path}"


def test_self_criticism_minutes_of_a_hundred_thousand_is_read_and_one_more_names_the_field() -> None:
    data = {
        "meeting_id": "m-1",
        "started_at": "2026-11-05T19:30:00+07:00",
        "ended_at": "2026-11-05T21:00:00+07:00",
        "chair_id": "p-1",
        "recorder_id": "p-2",
        "speakers": ["p-1"],
        "resolutions": [],
        "tasks": [],
        "self_criticism_minutes": BOUND,
    }
    envelope = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "urn:test",
        "type": "minutes.submitted.v1",
        "time": "2026-11-05T21:00:00+07:00",
        "data": data,
    }
    read = read_event(parse_envelope(json.dumps(envelope))).data
    assert isinstance(read, MinutesSubmitted) and read.self_criticism_minutes == BOUND
    data["self_criticism_minutes"] = BOUND + 1
    with pytest.raises(Exception) as refused:
        read_event(parse_envelope(json.dumps(envelope)))
    assert "self_criticism_minutes" in str(refused.value)
