"""The explicit registry from event type to data model, over every owning service's module."""

import functools
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from shared.contracts import evaluation, frameworks, ingest, meetings, notifications
from shared.contracts.base import EventData
from shared.envelope import CloudEvent, Event, InvalidEvent, describe_validation_error

REGISTRY: dict[str, type[EventData]] = {
    **meetings.TYPES_OUT,
    **ingest.TYPES,
    **evaluation.TYPES,
    **frameworks.TYPES,
    **notifications.TYPES,
}

OWNERS: dict[str, str] = {
    **dict.fromkeys(meetings.TYPES_OUT, "meetings"),
    **dict.fromkeys(ingest.TYPES, "meetings"),
    **dict.fromkeys(evaluation.TYPES, "evaluation"),
    **dict.fromkeys(frameworks.TYPES, "evaluation"),
    **dict.fromkeys(notifications.TYPES, "notifications"),
}
"""Event type -> the service that owns it, the only one that may publish it on chibo.events (deploy/broker_users.sh
gives each service's broker user these topics; consumers check the delivery's `user_id`: shared.consuming)."""

INTERNAL_TYPES = frozenset(frameworks.TYPES) | meetings.INTERNAL_TYPES
"""Types the services exchange among themselves on chibo.events, outside CONTRACT.md's public surface."""


def model_for(event_type: str) -> type[EventData]:
    """The data model of a type, or InvalidEvent naming `type` when it is unknown."""
    try:
        return REGISTRY[event_type]
    except KeyError:
        raise InvalidEvent(f"unknown event type {event_type!r}", field="type") from None


def read_event(envelope: CloudEvent, models: Mapping[str, type[EventData]] | None = None) -> Event[EventData]:
    """Validate an envelope's data against its type's model (`models`: a consumer's own reading model of a type, the
    fields it reads; EventData ignores the rest); errors name `data.<field>`."""
    model = (models.get(envelope.type) if models else None) or model_for(envelope.type)
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        raise describe_validation_error(exc, prefix="data.") from exc
    return Event(envelope=envelope, data=data)


IGNORED_MOST = 20
"""At most this many ignored fields are named for one event."""


@functools.cache
def _shape(model: type[BaseModel]) -> Mapping[str, tuple[type[BaseModel], ...]]:
    """The keys a model reads (field names and aliases) → the models nested under each (none for plain values)."""
    shape: dict[str, tuple[type[BaseModel], ...]] = {}
    for name, field in model.model_fields.items():
        nested = tuple(_models_in(field.annotation))
        shape[name] = nested
        if field.alias:
            shape[field.alias] = nested
    return shape


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def ignored_fields(model: type[BaseModel], data: Any, *, prefix: str = "data.") -> list[str]:
    """The paths (`data.committe_prepared`, `data.records.2.note`) of keys in an event's `data` that its model has no
    field for, nested objects and lists of them included, at most IGNORED_MOST: reading ignores them (a newer
    sender's extra detail is no error), so a partner's misspelt optional field would be dropped without a word."""
    found: list[str] = []
    _walk(model, data, prefix, found)
    return found[:IGNORED_MOST]


@functools.cache
def _flat_keys(model: type[BaseModel]) -> frozenset[str]:
    """The keys a model reads when none of its fields nests a model (a roster's row), else none: such a row holds
    no key its model ignores when its keys are among these (a subset test in C, no walk of its keys)."""
    shape = _shape(model)
    return frozenset() if any(shape.values()) else frozenset(shape)


def _walk(model: type[BaseModel], data: Any, prefix: str, found: list[str]) -> None:
    if not isinstance(data, dict) or len(found) >= IGNORED_MOST:
        return
    shape = _shape(model)
    for key, value in data.items():
        nested = shape.get(key)
        if nested is None:
            found.append(f"{prefix}{key}")
            continue
        for sub in nested:
            if isinstance(value, dict):
                _walk(sub, value, f"{prefix}{key}.", found)
            elif isinstance(value, list):
                flat = _flat_keys(sub)
                for index, item in enumerate(value):
                    if not (isinstance(item, dict) and flat.issuperset(item)):  # else nothing ignored in it
                        _walk(sub, item, f"{prefix}{key}.{index}.", found)
