"""JSON Schemas of the contract's event types, generated from the models (one function for every consumer:
the gateway's /v1/schemas, the OpenAPI document, the AsyncAPI payloads).

A schema describes one whole structured-mode event of its type: the envelope of `shared.envelope.CloudEvent`
with `type` fixed and `data` the type's model, in JSON Schema draft 2020-12 (what OpenAPI 3.1 embeds).
"""

from copy import deepcopy
from functools import cache
from typing import Any

from shared.contracts.meetings import INGEST_TYPES
from shared.contracts.registry import REGISTRY, model_for
from shared.envelope import CloudEvent

DIALECT = "https://json-schema.org/draft/2020-12/schema"


@cache
def _envelope_schema() -> dict[str, Any]:
    return CloudEvent.model_json_schema(mode="validation")


@cache
def _event_schema(event_type: str, ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
    model = model_for(event_type)
    data = model.model_json_schema(mode="validation", ref_template=ref_template)
    definitions = data.pop("$defs", {})
    envelope = deepcopy(_envelope_schema())
    envelope.pop("$defs", None)
    envelope["properties"]["type"] = {"const": event_type, "title": "Type", "type": "string"}
    envelope["properties"]["data"] = data
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": f"urn:chibo:schema:{event_type}",
        **envelope,
        "title": event_type,
        "description": (model.__doc__ or event_type).strip(),
    }
    if definitions:
        schema["$defs"] = definitions
    return schema


def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of one structured event of `event_type`; InvalidEvent (field `type`) when unknown."""
    return deepcopy(_event_schema(event_type))


def component_schemas(event_types: list[str], *, prefix: str, ref_prefix: str) -> dict[str, dict[str, Any]]:
    """The schemas of `event_types` as named components for OpenAPI 3.1 or AsyncAPI: `<prefix><type>` for each
    event and `<prefix><Model>` for the models they share, referring to each other as `<ref_prefix><name>`."""
    components: dict[str, dict[str, Any]] = {}
    for event_type in event_types:
        schema = deepcopy(_event_schema(event_type, ref_template=f"{ref_prefix}{prefix}{{model}}"))
        for name, definition in schema.pop("$defs", {}).items():
            components[f"{prefix}{name}"] = definition
        schema.pop("$schema", None)
        schema.pop("$id", None)  # a base URI of its own would move the references off the document
        components[f"{prefix}{event_type}"] = schema
    return components


def ingest_types() -> list[str]:
    """The types in (CONTRACT.md "Types in"), sorted."""
    return sorted(INGEST_TYPES)


def all_types() -> list[str]:
    """Every type of the contract, in and out, sorted."""
    return sorted(REGISTRY)
