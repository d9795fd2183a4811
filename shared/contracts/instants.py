"""The times of event data as instants: the same moment written with another offset is the same fact.

CONTRACT.md: times are RFC 3339 with an offset (`Z` or `±hh:mm`), so `2026-11-03T12:30:00Z` and
`2026-11-03T19:30:00+07:00` say one instant. Which fields are times is the schema's knowledge: a field whose type
holds a datetime (a `Timestamp`, directly or inside a nested model, list or mapping), never a text that happens to
look like one (a `location` or `content` written as a date-time stays as written).
"""

import functools
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, FutureDatetime, NaiveDatetime, PastDatetime

M = TypeVar("M", bound=BaseModel)

_DATETIME_TYPES: tuple[Any, ...] = (AwareDatetime, NaiveDatetime, PastDatetime, FutureDatetime)


def _holds_instants(annotation: Any, seen: frozenset[type[BaseModel]]) -> bool:
    """Whether a value of this type may hold a datetime (through Optional, Annotated, lists, mappings, models)."""
    if annotation in _DATETIME_TYPES or (isinstance(annotation, type) and issubclass(annotation, datetime)):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation not in seen and bool(_instant_fields(annotation, seen | {annotation}))
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _holds_instants(typing.get_args(annotation)[0], seen)
    if origin is None and not isinstance(annotation, types.UnionType):
        return False
    return any(_holds_instants(argument, seen) for argument in typing.get_args(annotation))


@functools.cache
def _instant_fields(model: type[BaseModel], seen: frozenset[type[BaseModel]] = frozenset()) -> tuple[str, ...]:
    return tuple(name for name, info in model.model_fields.items() if _holds_instants(info.annotation, seen))


def instant_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `model` whose values hold times (a datetime, or a model, list or mapping holding one)."""
    return _instant_fields(model, frozenset({model}))


def _in_zone(value: Any, zone: tzinfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(zone) if value.tzinfo is not None else value
    if isinstance(value, BaseModel):
        return with_times_in(value, zone)
    if isinstance(value, list | tuple):
        return type(value)(_in_zone(item, zone) for item in value)
    if isinstance(value, Mapping):
        return {key: _in_zone(item, zone) for key, item in value.items()}
    return value


def with_times_in(data: M, zone: tzinfo = UTC) -> M:
    """`data` with every time the schema types as one written at `zone` (the same instants); `data` itself when its
    type holds no time."""
    fields = instant_fields(type(data))
    if not fields:
        return data
    return data.model_copy(update={name: _in_zone(getattr(data, name), zone) for name in fields})
