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
from shared.envelope import (
    DAY_PATTERN,
    EXTENSION_NAME_PATTERN,
    ID_PATTERN,
    MEDIA_TYPE_PATTERN,
    TIME_PATTERN,
    URI_REFERENCE_PATTERN,
    CloudEvent,
)
from shared.reading import EXTENSION_VALUE, MAX_DEPTH, MAX_EVENT_BYTES, MAX_NUMBER_DIGITS

DIALECT = "https://json-schema.org/draft/2020-12/schema"

STORABLE_TEXT = r"^(?:[^\u0000\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$"
"""The JSON Schema `pattern` of every text and key an event may hold (shared.reading.unstorable_character): no U+0000
and no unpaired surrogate; a pair stands for one character in a reader of UTF-16 code units (ECMA-262 without `u`)."""
_ASCII_PATTERNS = frozenset(
    {ID_PATTERN, EXTENSION_VALUE.pattern, EXTENSION_NAME_PATTERN, TIME_PATTERN, DAY_PATTERN, URI_REFERENCE_PATTERN}
)
"""Patterns of texts that hold only ASCII characters other than U+0000: STORABLE_TEXT adds nothing to them."""
JSON_VALUE = "AnyJsonValue"
"""The definition of any JSON value an event may hold where its model reads none (a field a newer sender adds)."""

NOT_EXPRESSED = (
    "Chibo reads an event by CONTRACT.md's rules; this schema expresses every rule of one event that JSON Schema"
    " can, and these it cannot, which chibo still refuses: (1) an integer field (counts, years, points) must be"
    " written as a JSON integer: 3.0 or 3e0 is refused (`not a number (3.0)`), though JSON Schema counts it as the"
    f" integer 3; an integer has at most {MAX_NUMBER_DIGITS} digits; (2) one event is at most {MAX_EVENT_BYTES}"
    f" bytes, nested at most {MAX_DEPTH} levels, and no object names a key twice; (3) a text that must say something"
    " must hold a visible character: one of only spaces or invisible characters (U+200B, U+2060, soft hyphen, any"
    " Unicode Default_Ignorable_Code_Point) is refused; these are a member's or monitor's `full_name`, a unit's"
    " `name`, a guest's `name`, a document's `title`, a meeting's `location` and `topic`, a cancellation's `reason`,"
    " each `agenda` item, a resolution's `text` and a task's `description`; a name's or title's length is counted"
    " once its outer spaces are dropped;"
    " (4) a second 60 is only a leap second, at 23:59 UTC on the last day of a month; a meeting's start is from"
    " 2000-01-01T00:00:00+07:00 as an instant; (5) rules across fields or events (an end after its start, a member"
    " of the meeting's cell, assessment points of the framework in force, a start not too far ahead of the clock)."
    " A dry run (`POST /v1/events?dry_run=true`) judges all of them. Text is stored in Unicode NFC. The other way"
    " round, chibo reads a text of `data` without its outer spaces and line breaks, which this schema counts against"
    " its pattern and length: send them trimmed; and chibo accepts a leap second (`2016-12-31T23:59:60Z`), which a"
    " validator checking the `date-time` format strictly refuses (Python jsonschema's FormatChecker with"
    " rfc3339-validator installed): this schema is stricter there than chibo."
)
"""What every published schema says it leaves to chibo (docs/integrations.md lists the same)."""


_LINE_END_READERS = frozenset({EXTENSION_VALUE.pattern, EXTENSION_NAME_PATTERN, MEDIA_TYPE_PATTERN})
"""Patterns chibo matches with Python's `re` (whose `$` also matches before a last line break) rather than pydantic's,
whose `$` is the end of the text alone."""
TEXT_END = "(?!\\n)"
"""What follows a pattern's closing `$` where chibo's reader takes `$` as the end of the text: Python's `re` (which
jsonschema uses) also matches `$` before a last line break, which ECMA-262 does not and chibo refuses."""


def _whole_text(pattern: str) -> str:
    """`pattern` matching only where it ends at the text's end in Python's `re` as in ECMA-262 (TEXT_END)."""
    if pattern in _LINE_END_READERS or not pattern.endswith("$") or pattern.endswith("\\$"):
        return pattern
    return pattern + TEXT_END


def _storable(node: dict[str, Any]) -> None:
    """Give a text schema STORABLE_TEXT: as its pattern, or beside a pattern of its own that admits U+0000."""
    if "const" in node or "enum" in node:
        return
    pattern = node.get("pattern")
    if pattern is None:
        node["pattern"] = STORABLE_TEXT
    else:
        if pattern not in _ASCII_PATTERNS and STORABLE_TEXT not in str(node.get("allOf", "")):
            node["allOf"] = [*node.get("allOf", []), {"pattern": STORABLE_TEXT}]
        node["pattern"] = _whole_text(pattern)


def _tighten(node: Any, any_value: dict[str, Any]) -> None:
    """Make a generated schema refuse what the reader refuses beyond the model's own constraints: every text and key
    storable (STORABLE_TEXT), and every key a model does not read holding only what an event may (`any_value`)."""
    if isinstance(node, list):
        for item in node:
            _tighten(item, any_value)
        return
    if not isinstance(node, dict):
        return
    for key in ("properties", "$defs", "patternProperties"):
        for child in node.get(key, {}).values():
            _tighten(child, any_value)
    for key in ("items", "additionalProperties", "propertyNames", "not", "anyOf", "allOf", "oneOf", "prefixItems"):
        if key in node:
            _tighten(node[key], any_value)
    required = set(node.get("required", ()))
    for name, child in node.get("properties", {}).items():
        if name not in required and isinstance(child, dict) and not _admits_null(child):
            node["properties"][name] = _or_null(child)
    kinds = node.get("type")
    if kinds == "string":
        _storable(node)
    elif kinds == "object":
        node.setdefault("propertyNames", {"type": "string", "pattern": STORABLE_TEXT})
        if node.get("additionalProperties", True) is True:
            node["additionalProperties"] = deepcopy(any_value)


def _admits_null(node: dict[str, Any]) -> bool:
    """Whether a property's schema admits JSON null itself (`type` null, or a null among its `anyOf`)."""
    kinds = node.get("type")
    if kinds == "null" or (isinstance(kinds, list) and "null" in kinds):
        return True
    return any(isinstance(item, dict) and item.get("type") == "null" for item in node.get("anyOf", ()))


def _or_null(node: dict[str, Any]) -> dict[str, Any]:
    """An optional property's schema that also admits null, the same as absent (CONTRACT.md: "An optional attribute
    or field given as JSON null is the same as absent"), its annotations kept on the outside."""
    outer: dict[str, Any] = {key: node[key] for key in ("title", "description", "default") if key in node}
    inner = {key: value for key, value in node.items() if key not in outer}
    return {**outer, "anyOf": [inner, {"type": "null"}]}


def _any_json_value(ref: str) -> dict[str, Any]:
    """Any JSON value an event may hold (JSON_VALUE), referring to itself as `ref`."""
    return {
        "description": "Any JSON value an event may hold: texts and keys without U+0000 or an unpaired surrogate.",
        "anyOf": [
            {"type": ["null", "boolean", "number"]},
            {"type": "string", "pattern": STORABLE_TEXT},
            {"type": "array", "items": {"$ref": ref}},
            {"type": "object", "propertyNames": {"pattern": STORABLE_TEXT}, "additionalProperties": {"$ref": ref}},
        ],
    }


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
    any_value = {"$ref": ref_template.format(model=JSON_VALUE)}
    _tighten(envelope, any_value)
    _tighten(definitions, any_value)
    # an extension attribute (shared.envelope.CloudEvent._bounded_extensions): a name of 1-20 of a-z0-9, a value of
    # true or false, an integer of magnitude below 2**31, or EXTENSION_VALUE text; null is absent
    envelope["propertyNames"] = {"type": "string", "pattern": EXTENSION_NAME_PATTERN}
    envelope["additionalProperties"] = {
        "anyOf": [
            {"type": ["null", "boolean"]},
            {"type": "integer", "minimum": -(2**31) + 1, "maximum": 2**31 - 1},
            {"type": "string", "pattern": EXTENSION_VALUE.pattern},
        ]
    }
    definitions[JSON_VALUE] = _any_json_value(any_value["$ref"])
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": f"urn:chibo:schema:{event_type}",
        **envelope,
        "title": event_type,
        "description": f"{(model.__doc__ or event_type).strip()}\n\n{NOT_EXPRESSED}",
    }
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
