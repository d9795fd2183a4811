"""CONTRACT.md "Reading an event": an optional attribute or field given as JSON null is the same as absent, on every
field of every type in, nested rows included; a required field given null is still refused naming it.

The defect: `member.upserted.v1` with `role: null` or `exempt: null`, `org.unit.upserted.v1` with `active: null` or
`contact_emails: null` and `attendance.recorded.v1` with `guests: null` were rejected (`data.guests: Input should be a
valid list`): null-as-absent covered the envelope's attributes only, and a field whose default is not None refused it.
The walk below covers each field the contract models have, so a field added later is covered without a new test.
"""

import copy
import json
import types
import typing
from collections.abc import Iterator
from pathlib import Path as FilePath
from typing import Any

import pytest
from pydantic import BaseModel

from services.evaluation.domain.framework import Framework, FrameworkError, parse_framework
from services.gateway.schemas.commands import AttendanceCreate
from services.gateway.schemas.operations import AccountCreate
from shared.contracts.meetings import TYPES
from shared.contracts.registry import REGISTRY, read_event
from shared.envelope import InvalidEvent, parse_envelope
from tests.ops.contract_examples import EXAMPLES, event

Path = tuple[str | int, ...]


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models a field may hold, itself or as list rows (through Optional, unions and Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for argument in typing.get_args(annotation) for model in _models(argument)]


def _nested(annotation: Any, value: Any) -> type[BaseModel] | None:
    """The model that reads `value` (an object): of a union (a framework item's `rule`), the one with a field for
    each of its keys."""
    row = value
    if not isinstance(row, dict):
        return None
    return next((model for model in _models(annotation) if set(row) <= set(model.model_fields)), None)


def _admits_null(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if annotation is type(None):
        return True
    if origin is typing.Annotated:
        return _admits_null(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_admits_null(argument) for argument in typing.get_args(annotation))
    return False


def fields(
    model: type[BaseModel], data: Any, path: Path = (), seen: set[tuple[type, str]] | None = None
) -> Iterator[tuple[Path, bool, bool]]:
    """(path in `data`, optional, null is a value of its type) for each field of `model` and of the models it holds
    where the example has a row or an object to put it in (each model's field once, in the first row holding it)."""
    seen = set() if seen is None else seen
    for name, info in model.model_fields.items():
        here = (*path, name)
        if (model, name) not in seen:
            seen.add((model, name))
            yield here, not info.is_required(), _admits_null(info.annotation)
        value = data.get(name) if isinstance(data, dict) else None
        rows = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, row in rows:
            sub = _nested(info.annotation, row)
            if sub is not None:
                yield from fields(sub, row, here if index is None else (*here, index), seen)


def _set(data: Any, path: Path, value: Any) -> None:
    *parents, last = path
    for step in parents:
        data = data[step]
    if value is _ABSENT:
        data.pop(last, None)
    else:
        data[last] = value


_ABSENT = object()

CASES = [
    (event_type, path, optional, nullable)
    for event_type in sorted(set(TYPES) | (set(REGISTRY) & set(EXAMPLES)))
    for path, optional, nullable in fields(REGISTRY[event_type], EXAMPLES[event_type])
]


def _read(event_type: str, path: Path, value: Any) -> BaseModel:
    data = copy.deepcopy(EXAMPLES[event_type])
    _set(data, path, value)
    return read_event(parse_envelope(json.dumps(event(event_type, data)))).data


def _outcome(event_type: str, path: Path, value: Any) -> object:
    """What reading gives: the data, or the refusal (a thematic meeting's `topic` is refused absent and null alike)."""
    try:
        return _read(event_type, path, value)
    except InvalidEvent as exc:
        return ("refused", exc.field, str(exc))


def _name(path: Path) -> str:
    return ".".join(str(step) for step in path)


def test_the_walk_covers_every_type_in_and_the_fields_of_the_report() -> None:
    assert set(TYPES) <= {event_type for event_type, *_ in CASES}
    optional = {(event_type, _name(path)) for event_type, path, is_optional, _ in CASES if is_optional}
    assert {
        ("member.upserted.v1", "role"),
        ("member.upserted.v1", "exempt"),
        ("org.unit.upserted.v1", "active"),
        ("org.unit.upserted.v1", "contact_emails"),
        ("attendance.recorded.v1", "guests"),
        ("attendance.recorded.v1", "records.0.reason"),
        ("attendance.recorded.v1", "guests.0.person_id"),
        ("meeting.assessed.v1", "assessor.person_id"),
    } <= optional


@pytest.mark.parametrize(
    ("event_type", "path"),
    [(t, p) for t, p, optional, _ in CASES if optional],
    ids=[f"{t}:{_name(p)}" for t, p, optional, _ in CASES if optional],
)
def test_an_optional_field_given_null_reads_as_absent(event_type: str, path: Path) -> None:
    assert _outcome(event_type, path, None) == _outcome(event_type, path, _ABSENT)


@pytest.mark.parametrize(
    ("event_type", "path"),
    [(t, p) for t, p, optional, nullable in CASES if not optional and not nullable],
    ids=[f"{t}:{_name(p)}" for t, p, optional, nullable in CASES if not optional and not nullable],
)
def test_a_required_field_given_null_is_refused_naming_it(event_type: str, path: Path) -> None:
    with pytest.raises(InvalidEvent) as refused:
        _read(event_type, path, None)
    assert refused.value.field == f"data.{_name(path)}", str(refused.value)


def test_a_required_field_whose_value_may_be_null_keeps_it() -> None:
    unit = _read("org.unit.upserted.v1", ("parent_id",), None)
    assert unit.parent_id is None  # type: ignore[attr-defined]


def test_the_gateways_bodies_read_null_as_absent_too() -> None:
    attendance = AttendanceCreate.model_validate({"records": [], "guests": None})
    assert attendance.guests == []
    account = AccountCreate.model_validate(
        {"role": "integration", "unit_id": "cell-1", "province_wide": None, "sources": None}
    )
    assert account.province_wide is False and account.sources == []


FRAMEWORK_DOCUMENT = json.loads(
    (FilePath(__file__).resolve().parents[2] / "shared/contracts/framework_data/hd42-2025.v1.json").read_text("utf-8")
)
FRAMEWORK_CASES = [path for path, optional, _ in fields(Framework, FRAMEWORK_DOCUMENT) if optional]


def _framework(path: Path, value: Any) -> object:
    document = copy.deepcopy(FRAMEWORK_DOCUMENT)
    _set(document, path, value)
    try:
        return parse_framework(document)
    except FrameworkError as exc:
        return ("refused", exc.field, str(exc))


def test_the_framework_walk_reaches_nested_rules() -> None:
    names = {_name(path) for path in FRAMEWORK_CASES}
    assert {"gates", "scoring", "groups.0.items.0.applies_to"} <= names
    assert any(name.endswith(".rule.strict") for name in names) and any(".bands." in name for name in names)


@pytest.mark.parametrize("path", FRAMEWORK_CASES, ids=[_name(path) for path in FRAMEWORK_CASES])
def test_a_framework_documents_optional_field_given_null_reads_as_absent(path: Path) -> None:
    # an administrator's uploaded framework with `"gates": null` was refused: "Input should be a valid list"
    assert _framework(path, None) == _framework(path, _ABSENT)
