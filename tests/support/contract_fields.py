"""Every field of an incoming type's data, walked from the contract models (nested rows included), for tests that must
cover each field the contract has: labels, limits."""

import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class ContractField:
    """A field's path (`data.records.0.status`: a list's rows as row 0) and the plain types it may hold, each with the
    constraints of every Annotated layer around it (Optional[Annotated[Count, Field(...)]] nests them)."""

    path: str
    kinds: list[tuple[Any, list[Any]]]


def contract_fields(model: type[BaseModel], prefix: str = "data") -> list[ContractField]:
    """The fields of a model and of the models it holds (through Optional, list, dict and Annotated), in order."""
    found: list[ContractField] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}"
        kinds = plain_kinds(info.annotation, list(info.metadata))
        found.append(ContractField(path, kinds))
        rows = typing.get_origin(info.annotation) is list or "list[" in str(info.annotation)
        for kind, _ in kinds:
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                found += contract_fields(kind, f"{path}.0" if rows else path)
    return found


def plain_kinds(annotation: Any, metadata: list[Any]) -> list[tuple[Any, list[Any]]]:
    """The plain types an annotation may hold, each with its constraints."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        layers = [item for info in extra for item in getattr(info, "metadata", [info])]
        return plain_kinds(inner, metadata + layers)
    if origin is None:
        return [(annotation, metadata)]
    return [found for argument in typing.get_args(annotation) for found in plain_kinds(argument, metadata)]
