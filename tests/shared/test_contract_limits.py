"""Every count an incoming event carries takes the contract's whole range (CONTRACT.md "Limits": counts, such as
votes, quotas and minutes, are integers from 0 to 100,000): no model may be narrower or wider.

The defect: `minutes.submitted.v1` refused `self_criticism_minutes: 100000` as "≤ 600".
"""

import json
import typing
from typing import Any

import annotated_types
import pydantic
import pytest

from shared.contracts.meetings import TYPES, MinutesSubmitted
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope

BOUND = 100_000


NOT_COUNTS = {"data.birth_year"}
"""Integers that are no count: a year of birth has its own range."""


def int_fields(model: type[pydantic.BaseModel], path: str = "data") -> list[tuple[str, list[Any]]]:
    """(dotted path, constraint metadata) of every integer field of a model, nested models and lists of them
    included; the metadata of every Annotated layer (Optional[Annotated[Count, Field(...)]] nests them)."""
    found: list[tuple[str, list[Any]]] = []
    for name, info in model.model_fields.items():
        for kind, metadata in _kinds(info.annotation, list(info.metadata)):
            if kind is int:
                found.append((f"{path}.{name}", metadata))
            elif isinstance(kind, type) and issubclass(kind, pydantic.BaseModel):
                found += int_fields(kind, f"{path}.{name}[]")
    return found


def _kinds(annotation: Any, metadata: list[Any]) -> list[tuple[Any, list[Any]]]:
    """The plain types an annotation may hold (through Optional, list and Annotated), each with its constraints."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        layers = [item for info in extra for item in getattr(info, "metadata", [info])]
        return _kinds(inner, metadata + layers)
    if origin is None:
        return [(annotation, metadata)]
    return [found for arg in typing.get_args(annotation) for found in _kinds(arg, metadata)]


def bounds(metadata: list[Any]) -> tuple[Any, Any]:
    """The effective (ge, le) of a field's constraints: the tightest of every layer."""
    lows: list[Any] = [item.ge for item in metadata if isinstance(item, annotated_types.Ge)]
    highs: list[Any] = [item.le for item in metadata if isinstance(item, annotated_types.Le)]
    return (max(lows) if lows else None, min(highs) if highs else None)


COUNTS = [
    (event_type, path, metadata)
    for event_type, model in TYPES.items()
    for path, metadata in int_fields(model)
    if path not in NOT_COUNTS
]


def test_the_contract_has_counts_to_check() -> None:
    paths = {path for _, path, _ in COUNTS}
    assert {"data.self_criticism_minutes", "data.resolutions[].votes_for", "data.yearly_quota"} <= paths


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
