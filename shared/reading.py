"""Strict, bounded reading of JSON (CONTRACT.md "Reading an event"): the one place every door goes through.

`loads` turns bytes into Python values without ever crashing on hostile input (bad UTF-8, NaN and
Infinity, numbers too large for a float, nesting deep enough to blow the parser's stack); `check_tree`
then walks a parsed value and refuses what no event may hold (nesting beyond 32 levels, U+0000, an
unpaired surrogate, a non-finite number, a key given twice in one object), naming the field, and returns
it with every text in NFC.
Both the AMQP consumer and the gateway's HTTP route (through meetings' `ingest_body`), replays and bulk
loads read events through `shared.envelope.parse_envelope`, which calls these.
"""

import json
import math
import re
import unicodedata
from typing import Any

MAX_EVENT_BYTES = 1 << 20
"""One event at most 1 MiB."""
MAX_DEPTH = 32
"""JSON nested at most 32 levels (the event object itself is level 1)."""
MAX_FIELD_TEXT = 200
"""A field path quoted in a reason is cut to this many characters (keys are client text too)."""
EXTENSION_VALUE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
"""The syntax of an extension attribute such as `correlationid`."""


class ReadError(ValueError):
    """Input that breaks a reading rule: `reason` for people, `field` the dotted path (or `body`).

    `problem` says what kind of body-level fault it is, for the HTTP status: `syntax` (not JSON at all),
    `too_large`, or None for a value that was read but breaks a rule.
    """

    def __init__(self, reason: str, *, field: str, problem: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.problem = problem


class _NonFinite:
    """Stands for a NaN, an Infinity or a number too large for a float until `check_tree` names its field."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Duplicated(dict[str, Any]):
    """An object that named a key twice (its last value kept), until `check_tree` names the key's path."""

    __slots__ = ("duplicate",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                self.duplicate = key
                break
            seen.add(key)


def json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The `object_pairs_hook` of every JSON read: a dict, marked when a key repeats (JSON leaves that undefined;
    an event must not mean two things, so `check_tree` refuses it naming the key)."""
    found = dict(pairs)
    return found if len(found) == len(pairs) else _Duplicated(pairs)


def _parse_float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def loads(raw: bytes | str, *, limit: int | None = MAX_EVENT_BYTES) -> Any:
    """Parse JSON text; ReadError(field="body") for empty, oversized, non-UTF-8, malformed or too deep input."""
    if limit is not None and len(raw) > limit:
        raise ReadError(f"body: larger than {limit} bytes", field="body", problem="too_large")
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReadError(
                f"body: not valid UTF-8 ({exc.reason} at byte {exc.start})", field="body", problem="syntax"
            ) from None
    if not raw.strip():
        raise ReadError("body: empty", field="body", problem="syntax")
    try:
        return json.loads(raw, parse_constant=_NonFinite, parse_float=_parse_float, object_pairs_hook=json_object)
    except RecursionError:
        raise ReadError(f"body: JSON nested deeper than {MAX_DEPTH} levels", field="body", problem="syntax") from None
    except ValueError as exc:
        raise ReadError(f"body: not valid JSON ({exc})", field="body", problem="syntax") from None


def field_name(path: tuple[str | int, ...], *, prefix: str = "") -> str:
    """A dotted field path (`data.records.3.member_id`), cut to a bounded length."""
    name = prefix + ".".join(
        bounded(part, limit=MAX_FIELD_TEXT) if isinstance(part, str) else str(part) for part in path
    )
    name = name or "body"
    return name if len(name) <= MAX_FIELD_TEXT else name[: MAX_FIELD_TEXT - 1] + "…"


def check_text(value: str, path: tuple[str | int, ...]) -> str:
    """The text in NFC; ReadError naming the field when it holds U+0000 or an unpaired surrogate."""
    if value.isascii():
        if "\x00" in value:
            raise ReadError(f"{field_name(path)}: contains U+0000", field=field_name(path))
        return value
    if "\x00" in value:
        raise ReadError(f"{field_name(path)}: contains U+0000", field=field_name(path))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ReadError(f"{field_name(path)}: contains an unpaired surrogate", field=field_name(path)) from None
    return value if unicodedata.is_normalized("NFC", value) else unicodedata.normalize("NFC", value)


def _deep_field(path: tuple[str | int, ...]) -> str:
    """The named part of a too-deep path: its keys up to the first list index (`data.agenda`)."""
    named: list[str | int] = []
    for part in path:
        if isinstance(part, int):
            break
        named.append(part)
    return field_name(tuple(named)) if named else "body"


def check_tree(value: Any, path: tuple[str | int, ...] = ()) -> Any:
    """The value with NFC text, or ReadError naming the field that breaks a reading rule."""
    if len(path) >= MAX_DEPTH and isinstance(value, dict | list):
        field = _deep_field(path)
        raise ReadError(f"{field}: JSON nested deeper than {MAX_DEPTH} levels", field=field)
    if isinstance(value, str):
        return check_text(value, path)
    if isinstance(value, dict):
        if type(value) is _Duplicated:
            field = field_name((*path, value.duplicate))
            raise ReadError(f"{field}: duplicate key", field=field)
        checked: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ReadError(f"{field_name(path)}: keys must be text", field=field_name(path))
            key = check_text(key, (*path, key))
            checked[key] = check_tree(item, (*path, key))
        return checked
    if isinstance(value, list):
        return [check_tree(item, (*path, index)) for index, item in enumerate(value)]
    if isinstance(value, _NonFinite) or (isinstance(value, float) and not math.isfinite(value)):
        raise ReadError(f"{field_name(path)}: not a finite number", field=field_name(path))
    return value


def bounded(value: Any, *, limit: int = 256) -> str:
    """Text copied from unjudged input (a peeked id, source or type) cut to `limit` characters."""
    if not isinstance(value, str):
        return ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    value = value.replace("\x00", "")
    return value if len(value) <= limit else value[: limit - 1] + "…"
