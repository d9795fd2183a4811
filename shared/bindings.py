"""The CloudEvents content modes of both routes in (CONTRACT.md "Routes in"): which mode a message is in, and
binary mode translated into the structured event dict that the one shared validation then judges.

Structured mode carries the whole event in the body (`application/cloudevents+json`, or a batch as
`application/cloudevents-batch+json`). Binary mode carries the attributes as headers (`ce-` prefixed by the HTTP
and RabbitMQ bindings, `cloudEvents:` / `cloudEvents_` by the AMQP binding) and `data` as the body, whose content
type is `datacontenttype`. Nothing here validates an attribute: a translated event is judged exactly like a
structured one, so both modes are deduplicated, held and rejected alike.
"""

import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from pydantic_core import to_json

from shared.envelope import (
    ATTRIBUTE_HEADER_PREFIXES,
    BATCH_CONTENT_TYPE,
    BATCH_ROUTING_KEY,
    CLOUDEVENT_CONTENT_TYPE,
    VIETNAM_TZ,
    InvalidEvent,
    is_envelope_like,
)
from shared.reading import (
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    ReadError,
    Unreadable,
    json_object,
    loads_numbers,
    read_value,
)

HTTP_PREFIXES = ("ce-",)
"""Header prefixes of binary mode on HTTP (the HTTP binding)."""
AMQP_PREFIXES = ("ce-", "cloudEvents:", "cloudEvents_")
"""Header prefixes of binary mode on chibo.ingest: the RabbitMQ binding's, then the AMQP binding's two."""
AMQP_TIMESTAMP_PREFIXES = ("cloudevents:", "cloudevents_")
"""The AMQP binding may send `time` as a native timestamp (milliseconds since the epoch)."""
REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type", "time")
"""The attributes every event in needs (CloudEvents' four plus the contract's `time`)."""


class Mode(StrEnum):
    """The content mode a message arrived in."""

    STRUCTURED = "structured"
    BATCH = "batch"
    BINARY = "binary"


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message told apart by mode: the raw body for structured and batch, the translated event for binary."""

    mode: Mode
    body: bytes
    event: dict[str, Any] | None = None
    size: int = 0
    """Binary mode: the bytes of the event in structured mode (its attributes' compact JSON around the body), which
    the per-event limit (MAX_EVENT_BYTES) bounds as it bounds a structured body; over it, `data` is not read and holds
    only the body's first KEPT_BODY bytes as text."""
    checked: bool = False
    """Binary mode: the translated event holds nothing shared.reading.check_tree would refuse or change (every
    attribute plain ASCII text, the body read clean: plain_attributes, read_json_data), so the envelope is judged
    with parse_envelope(event, checked=True) and no walk of its data (issue 12: the walk and json.loads's Python
    hooks were a fifth of a binary-mode delivery's CPU in meetings)."""

    @property
    def too_large(self) -> bool:
        """Whether the binary-mode event is over the per-event limit (its data then unread)."""
        return self.size > MAX_EVENT_BYTES


KEPT_BODY = 8192
"""Bytes of an oversized binary-mode body kept as its `data` text: enough for the stored prefix of its rejection."""


class UnreadableHeaders(InvalidEvent):
    """A binary-mode attribute header that cannot be read (given twice, malformed percent-encoding, an AMQP
    timestamp no calendar has), refused naming it like any other attribute, with what the other headers say: the
    rejection keeps the identity (source, id, type) whenever those are readable themselves.

    `readable`: the attributes read; `event`: the message as the structured event it stands for, each unreadable
    attribute as sent (its header text, or its values when given twice), set by read_message."""

    def __init__(self, first: InvalidEvent, *, readable: dict[str, Any], as_sent: dict[str, Any]) -> None:
        super().__init__(first.reason, field=first.field, problem=first.problem)
        self.readable = readable
        self.as_sent = as_sent
        self.event: dict[str, Any] = {**readable, **as_sent}
        self.size = 0


def media_type(content_type: str | None) -> str:
    """The media type of a content type, lower case and without its parameters ('' when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json_media(content_type: str | None) -> bool:
    """Whether a body of this content type is JSON (`application/json`, `*/*+json`, or no content type)."""
    media = media_type(content_type)
    return media in ("", "application/json", "text/json") or media.endswith("+json")


def binary_attributes(
    headers: Mapping[str, Any] | Iterable[tuple[str, Any]], *, prefixes: tuple[str, ...], percent_encoded: bool
) -> dict[str, Any]:
    """The CloudEvents attributes among the headers: prefix (any case) stripped, name lower case, value text.

    HTTP header values are percent-encoded by the HTTP binding (`percent_encoded`); AMQP values may be typed
    (bytes, a timestamp), so they are turned into the text the structured form would carry.
    """
    items = headers.items() if isinstance(headers, Mapping) else headers
    lowered = tuple(prefix.lower() for prefix in prefixes)
    attributes: dict[str, Any] = {}
    as_sent: dict[str, Any] = {}
    errors: list[InvalidEvent] = []
    for name, value in items:
        key = str(name).lower()
        if not key.startswith(lowered):  # most headers of a delivery are no attribute: one test in C, no loop
            continue
        prefix = next(p for p in lowered if key.startswith(p))
        if len(key) == len(prefix):
            continue
        attribute = key[len(prefix) :]
        if attribute == "datacontenttype":  # never dropped silently, even when it says the same
            errors.append(InvalidEvent(datacontenttype_header(str(name)), field=attribute, problem="header"))
            as_sent[attribute] = _sent_text(value)
            continue
        if attribute in attributes or attribute in as_sent:
            # two values for one attribute (ce-id twice, or ce_id beside cloudEvents:id): which one is meant is unknown
            errors.append(
                InvalidEvent(
                    f"{attribute}: given more than once in the headers ({prefix}{attribute}); send each attribute once",
                    field=attribute,
                    problem="header",
                )
            )
            earlier = attributes.pop(attribute) if attribute in attributes else as_sent[attribute]
            as_sent[attribute] = [*(earlier if isinstance(earlier, list) else [earlier]), _sent_text(value)]
            continue
        try:
            if attribute == "time" and prefix in AMQP_TIMESTAMP_PREFIXES and _is_integer(value):
                value = _amqp_timestamp(value, name=str(name))
            attributes[attribute] = _header_text(value, attribute=attribute, percent_encoded=percent_encoded)
        except InvalidEvent as exc:
            errors.append(exc)
            as_sent[attribute] = _sent_text(value)
    if errors:
        # every header read first: the rejection names the first fault and keeps what the others say
        raise UnreadableHeaders(errors[0], readable=attributes, as_sent=as_sent)
    return attributes


def datacontenttype_header(header: str) -> str:
    """Why a binary-mode `header` (`ce-datacontenttype`, `cloudEvents:datacontenttype`, ...) is refused on both routes:
    the HTTP and AMQP bindings carry datacontenttype in the message's content type, and two places for one attribute
    would disagree (a trial's `text/plain` header beside `application/json` was dropped silently)."""
    return (
        f"datacontenttype: in binary mode it travels in the message's content type (HTTP Content-Type, the AMQP"
        f" content_type property), never as the header {header}; drop the header"
    )


def identity_attributes(
    headers: Mapping[str, Any] | Iterable[tuple[str, Any]], body: bytes, *, body_limit: int = MAX_EVENT_BYTES
) -> dict[str, Any]:
    """The CloudEvents attributes naming a delivery (`id`, `type`, `source`, `correlationid`, ...) for its log lines
    and dead-letter listing, read leniently and never raising: the attribute headers of AMQP_PREFIXES (any case, the
    first value of an attribute given twice, values as sent) when they give an `id` (binary mode); else an envelope
    body's (a JSON object of at most `body_limit` bytes that is_envelope_like), the headers' values over its own
    (an extension header such as `ce-note` beside a structured body hides nothing of it); else the headers' alone.
    Never the `id` of a body that is no envelope (a binary message's `data`: a member's id is no event's)."""
    lowered = tuple(prefix.lower() for prefix in AMQP_PREFIXES)
    attributes: dict[str, Any] = {}
    with contextlib.suppress(Exception):  # a header table that cannot be walked: what was read is all there is
        for name, value in headers.items() if isinstance(headers, Mapping) else headers:
            key = str(name).lower()
            prefix = next((p for p in lowered if key.startswith(p)), None)
            if prefix is not None and len(key) > len(prefix):
                attributes.setdefault(key[len(prefix) :], value)
    if "id" in attributes or len(body) > body_limit or body.lstrip()[:1] != b"{":
        return attributes
    with contextlib.suppress(ValueError, RecursionError):  # not JSON, not UTF-8, too deep: no envelope to read
        parsed = json.loads(body)
        if is_envelope_like(parsed):
            return {**parsed, **attributes}
    return attributes


def _sent_text(value: Any) -> Any:
    """A header's value as it was sent, for the stored rejection of a header that cannot be read."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str | int) else str(value)


def _amqp_timestamp(value: int, *, name: str) -> datetime:
    """The AMQP binding's timestamp (ms since the epoch) as a time; InvalidEvent naming `time` when no time is
    that far from 1970 (a number of 17 digits was a ValueError that dead-lettered its message)."""
    try:
        return datetime.fromtimestamp(value / 1000, VIETNAM_TZ)
    except (ValueError, OverflowError, OSError):
        raise InvalidEvent(
            f"time: the AMQP timestamp {value} ms in {name} is no time a calendar has", field="time", problem="header"
        ) from None


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
"""A `%` the HTTP binding's percent-encoding cannot have written: not followed by two hex digits."""


def _header_text(value: Any, *, attribute: str, percent_encoded: bool) -> Any:
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            # as a structured body that is not UTF-8 is refused, not read with replacement characters put in
            raise InvalidEvent(
                f"{attribute}: the header's value is not UTF-8 ({exc.reason} at byte {exc.start})",
                field=attribute,
                problem="header",
            ) from None
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return stamp.isoformat().replace("+00:00", "Z")
    if isinstance(value, str) and percent_encoded:
        try:
            if BAD_PERCENT.search(value):
                raise ValueError("a % not followed by two hex digits")
            return unquote(value, errors="strict")
        except (ValueError, UnicodeDecodeError) as exc:
            reason = f"the bytes are not UTF-8: {exc.reason}" if isinstance(exc, UnicodeDecodeError) else str(exc)
            raise InvalidEvent(
                f"{attribute}: the header's percent-encoding is malformed ({reason}); the HTTP binding writes a"
                " value's non-ASCII bytes as %XX of its UTF-8",
                field=attribute,
                problem="header",
            ) from None
    return value


def structured_from_binary(attributes: Mapping[str, Any], content_type: str | None, body: bytes) -> dict[str, Any]:
    """The structured form of a binary-mode event: its attributes, `datacontenttype` and `data` from the body.

    A JSON content type (or none) has its body read as JSON as strictly as a structured body (UTF-8 only, no byte
    order mark, nesting bounded), and one that does not read stays Unreadable, which the shared reading refuses as
    `data: not valid JSON (why)`; a body of another content type is kept as text, so the validation rejects it
    naming `data` or `datacontenttype`. The caller bounds the size first (binary_size).
    """
    return _structured_from_binary(attributes, content_type, body)[0]


def _structured_from_binary(
    attributes: Mapping[str, Any], content_type: str | None, body: bytes
) -> tuple[dict[str, Any], bool]:
    """structured_from_binary's event, and whether it is certainly clean (Incoming.checked): its attributes and
    content type plain (plain_attributes) and its body JSON read clean (read_json_data)."""
    event: dict[str, Any] = dict(attributes)
    if content_type:
        event["datacontenttype"] = content_type
    clean = False
    if body:
        if is_json_media(content_type):
            event["data"], clean = read_json_data(body)
        else:
            event["data"] = body.decode("utf-8", errors="replace")
    return event, clean and plain_attributes(event, but="data")


def _json_data(body: bytes, text: str) -> Any:
    """A binary-mode body read as JSON, or Unreadable saying why (check_tree then names `data`)."""
    try:
        decoded = body.decode("utf-8")  # json.loads of bytes would also take UTF-16, UTF-32 and encoded surrogates
    except UnicodeDecodeError:
        return Unreadable(text, "not UTF-8 text")
    try:
        return loads_numbers(decoded, object_pairs_hook=json_object)  # an integer too long: check_tree names it
    except json.JSONDecodeError as exc:
        return Unreadable(text, f"{exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        return Unreadable(
            text, f"nested deeper than {MAX_DEPTH} levels", reason=f"JSON nested deeper than {MAX_DEPTH} levels"
        )
    except ValueError:  # nothing json.loads raises once loads_numbers read long integers: never Python's words
        return Unreadable(text, "not readable as JSON")


DATA_LEVELS = MAX_DEPTH - 1
"""The nesting a binary-mode body may have: it is the event's `data`, one level below the event (check_tree counts
from the event)."""


def read_json_data(body: bytes) -> tuple[Any, bool]:
    """A binary-mode JSON body's value and whether it is certainly clean (shared.reading.read_value, nested within
    DATA_LEVELS: check_tree would neither refuse nor change it, so it needs no walk); a body that does not read is
    Unreadable saying why (_json_data), and not clean."""
    try:
        return read_value(body.decode("utf-8"), limit=None, levels=DATA_LEVELS)
    except (UnicodeDecodeError, ReadError):  # its reason in _json_data's words, which check_tree names under `data`
        return _json_data(body, body.decode("utf-8", errors="replace")), False


def plain_attributes(event: Mapping[str, Any], *, but: str) -> bool:
    """Whether every key and value of `event` (the one named `but` left out) is ASCII text without U+0000, which
    check_tree returns as it is and never refuses: a header's value of another type (a number, a table) or with
    other characters is walked as before."""
    for key, value in event.items():
        if key == but:
            continue
        if type(value) is not str or not value.isascii() or "\x00" in value or not key.isascii() or "\x00" in key:
            return False
    return True


def binary_size(attributes: Mapping[str, Any], content_type: str | None, body: bytes) -> int:
    """The bytes of a binary-mode event in structured mode: its attributes' compact JSON around the body (what the
    per-event limit bounds in either mode)."""
    envelope = {**attributes, **({"datacontenttype": content_type} if content_type else {}), "data": None}
    return len(to_json(envelope, fallback=str)) - len(b"null") + len(body)


def oversized_event(attributes: Mapping[str, Any], content_type: str | None, body: bytes) -> dict[str, Any]:
    """The structured form of a binary-mode event over the per-event limit: its attributes, with only the first
    KEPT_BODY bytes of its body as the text of `data` (never parsed)."""
    event: dict[str, Any] = dict(attributes)
    if content_type:
        event["datacontenttype"] = content_type
    event["data"] = body[:KEPT_BODY].decode("utf-8", errors="replace")
    return event


def neither_mode(*, route: str, content_type: str | None, found: Mapping[str, Any] | None = None) -> InvalidEvent:
    """The rejection of a message in neither content mode: with a content type that no mode reads (CONTRACT.md:
    `application/cloudevents+json`, a batch's, or a binary event's `application/json`), naming `datacontenttype` and
    the content types that are read; without one, naming the missing attributes and where they were sought."""
    prefixes = HTTP_PREFIXES if route == "http" else AMQP_PREFIXES
    media = media_type(content_type)
    if media:
        headers = ", ".join(f"{prefixes[0]}{name}" for name in REQUIRED_ATTRIBUTES)
        others = f"; prefixed {', '.join(prefixes[:-1])} or {prefixes[-1]}" if len(prefixes) > 1 else ""
        reason = (
            f"datacontenttype: the content type {media!r} is no CloudEvents content type: send the whole event as "
            f"{CLOUDEVENT_CONTENT_TYPE} (a batch as {BATCH_CONTENT_TYPE}), or its data as application/json with its "
            f"attributes in the headers {headers}, ... (binary mode{others})"
        )
        return InvalidEvent(reason, field="datacontenttype")
    missing = [name for name in REQUIRED_ATTRIBUTES if name not in (found or {})]
    headers = ", ".join(f"{prefix}{name}" for prefix in prefixes for name in missing)
    reason = (
        f"not a CloudEvent: {', '.join(missing)} missing; looked for in the headers {headers} (binary mode) and "
        f"in the body of a {CLOUDEVENT_CONTENT_TYPE} or {BATCH_CONTENT_TYPE} message (structured mode), "
        f"but the content type is absent and no such header was sent"
    )
    return InvalidEvent(reason, field=missing[0] if missing else "body")


def misprefixed(
    headers: Iterable[tuple[str, Any]], *, route: str, readable: dict[str, Any]
) -> UnreadableHeaders | None:
    """The refusal of a message whose attribute headers come under a prefix its route's binding does not use
    (ATTRIBUTE_HEADER_PREFIXES but not HTTP_PREFIXES/AMQP_PREFIXES, e.g. `ce_type` or `cloudevents-id`; CONTRACT.md
    "Routes in"): such an attribute was silently dropped, and the event refused as missing its `specversion`. It
    names the first such header (the required attributes' first), `problem` header, keeps the identity the accepted
    headers give (`readable`) and the event as the sender meant it (the misprefixed values among its attributes);
    None when there is none."""
    prefixes = tuple(prefix.lower() for prefix in (HTTP_PREFIXES if route == "http" else AMQP_PREFIXES))
    found: list[tuple[int, str, str, str, Any]] = []
    for position, (name, value) in enumerate(headers):
        key = str(name).lower()
        if not key.startswith(ATTRIBUTE_HEADER_PREFIXES) or key.startswith(prefixes):  # one test in C per header
            continue
        prefix = next(p for p in ATTRIBUTE_HEADER_PREFIXES if key.startswith(p))
        if len(key) == len(prefix):
            continue
        attribute = key[len(prefix) :]
        rank = REQUIRED_ATTRIBUTES.index(attribute) if attribute in REQUIRED_ATTRIBUTES else len(REQUIRED_ATTRIBUTES)
        found.append((rank * 10_000 + position, str(name), str(name)[: len(prefix)], attribute, value))
    if not found:
        return None
    _, header, prefix, attribute, _ = min(found)
    accepted = HTTP_PREFIXES if route == "http" else AMQP_PREFIXES
    reason = (
        f"{header}: the header prefix {prefix!r} is not one CloudEvents attributes are read under on {route.upper()}"
        f" (only {', '.join(accepted)}); send this attribute as {accepted[0]}{attribute}"
    )
    as_sent: dict[str, Any] = {}
    for *_, other, value in found:
        if other not in readable and other != "datacontenttype":
            as_sent.setdefault(other, _sent_text(value))
    return UnreadableHeaders(InvalidEvent(reason, field=header, problem="header"), readable=readable, as_sent=as_sent)


def _looks_structured(body: bytes) -> bool:
    """A JSON object or array body without a CloudEvents content type: read as structured (lenient legacy)."""
    stripped = body.lstrip()
    return stripped.startswith((b"{", b"["))


def _binary_event(
    attributes: Mapping[str, Any], content_type: str | None, body: bytes
) -> tuple[dict[str, Any], int, bool]:
    """A binary-mode message as the structured event it stands for, that event's size in bytes, and whether it is
    certainly clean (Incoming.checked): over MAX_EVENT_BYTES bounded as a structured body is (its data not even
    read: oversized_event)."""
    size = binary_size(attributes, content_type, body)
    if size > MAX_EVENT_BYTES:
        return oversized_event(attributes, content_type, body), size, False
    event, clean = _structured_from_binary(attributes, content_type, body)
    return event, size, clean


def read_message(
    headers: Mapping[str, Any] | Iterable[tuple[str, Any]],
    content_type: str | None,
    body: bytes,
    *,
    route: str,
    routing_key: str | None = None,
) -> Incoming:
    """Tell a message's mode apart (`route` is "http" or "amqp"); InvalidEvent when it is in neither mode.

    A CloudEvents content type is structured mode (or a batch); else any attribute header is binary mode; else an
    `application/json` body, or a JSON-looking one without a content type, is still read as structured, as always.
    Outside structured mode a header under a prefix the route's binding does not use is refused naming it
    (UnreadableHeaders from misprefixed), and a content type no mode reads naming `datacontenttype` (neither_mode).
    """
    media = media_type(content_type)
    if media == BATCH_CONTENT_TYPE or (route == "amqp" and routing_key == BATCH_ROUTING_KEY):
        return Incoming(Mode.BATCH, body)
    if media == CLOUDEVENT_CONTENT_TYPE:
        return Incoming(Mode.STRUCTURED, body)
    http = route == "http"
    items = list(headers.items() if isinstance(headers, Mapping) else headers)
    try:
        attributes = binary_attributes(items, prefixes=HTTP_PREFIXES if http else AMQP_PREFIXES, percent_encoded=http)
        refused = misprefixed(items, route=route, readable=attributes)
        if refused is not None:
            raise refused
    except UnreadableHeaders as exc:
        exc.event, exc.size, _ = _binary_event(exc.event, content_type, body)
        raise
    if attributes:
        event, size, clean = _binary_event(attributes, content_type, body)
        return Incoming(Mode.BINARY, body, event, size, checked=clean)
    if media == "application/json" or (media == "" and _looks_structured(body)):
        return Incoming(Mode.STRUCTURED, body)
    raise neither_mode(route=route, content_type=content_type)
