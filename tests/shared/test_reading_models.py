"""shared.contracts.reading_models: a consumer's model of the fields it reads keeps each field's contract type, limits
and field validators, for every reading model of every consumer (notifications, evaluation)."""

from datetime import datetime, timedelta
from typing import Any, get_args

import pytest
from pydantic import BaseModel, ValidationError

from services.evaluation.reading import READING_MODELS as EVALUATION
from services.notifications.reading import READING_MODELS as NOTIFICATIONS
from shared.contracts import meetings
from shared.contracts.reading_models import reading_model
from shared.contracts.registry import REGISTRY

CASES = [
    (name, kind, model)
    for name, models in (("notifications", NOTIFICATIONS), ("evaluation", EVALUATION))
    for kind, model in sorted(models.items())
]


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The model a list field holds, None for other fields."""
    args = get_args(annotation)
    return args[0] if args and isinstance(args[0], type) and issubclass(args[0], BaseModel) else None


def _same_fields(read: type[BaseModel], full: type[BaseModel], where: str) -> None:
    """Each field of `read` has `full`'s type and limits (a list of a reading model of the contract's items: theirs)."""
    assert list(read.model_fields) == [name for name in full.model_fields if name in read.model_fields], where
    for name, field in read.model_fields.items():
        contract = full.model_fields[name]
        assert field.metadata == contract.metadata, (where, name)
        item = _item_model(field.annotation)
        if item is None or item is _item_model(contract.annotation):
            assert field.annotation == contract.annotation, (where, name)
            continue
        contract_item = _item_model(contract.annotation)
        assert contract_item is not None, (where, name)
        _same_fields(item, contract_item, f"{where}.{name}")


@pytest.mark.parametrize(("consumer", "event_type", "read"), CASES, ids=[f"{c}-{k}" for c, k, _ in CASES])
def test_each_read_field_has_the_contract_type_limits_and_validators(
    consumer: str, event_type: str, read: type[BaseModel]
) -> None:
    full = REGISTRY[event_type]
    _same_fields(read, full, f"{consumer} {event_type}")
    kept = set(read.model_fields)
    carried = set(read.__pydantic_decorators__.field_validators)
    for name, decorator in full.__pydantic_decorators__.field_validators.items():
        assert (name in carried) == (set(decorator.info.fields) <= kept), (consumer, event_type, name)


def test_a_reading_model_keeps_the_contract_validators_of_its_fields() -> None:
    """Before, a reading model lost them: a consumer reading the roster or the minutes' times took what the contract
    refuses (a member listed twice, minutes ending before they start)."""
    times = reading_model(meetings.MinutesSubmitted, "ended_at", "started_at")
    start = datetime.fromisoformat("2026-03-05T19:00:00+07:00")
    with pytest.raises(ValidationError, match="must end after it starts"):
        times.model_validate({"started_at": start.isoformat(), "ended_at": (start - timedelta(hours=1)).isoformat()})
    assert list(times.model_fields) == ["started_at", "ended_at"]  # the contract's order: the validator sees the start
    roster = reading_model(meetings.AttendanceRecorded, "records")
    twice = [{"member_id": "d1", "status": "absent"}, {"member_id": "d1", "status": "present"}]
    with pytest.raises(ValidationError, match="listed twice"):
        roster.model_validate({"records": twice})


def test_a_reading_model_names_only_fields_of_the_contract_model() -> None:
    assert set(reading_model(meetings.DocumentItem, "kind").model_fields) == {"kind"}
    with pytest.raises(ValueError, match="no field"):
        reading_model(meetings.DocumentItem, "kind", "size")
