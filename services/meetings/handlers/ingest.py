"""The ingest use case: judge one raw event (parse, type, validate, dedupe, apply) and settle holds.

The same path serves AMQP deliveries, the gateway's HTTP route, the secretary's commands and replays.
"""

import asyncio
import hashlib
import json
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from typing import Any, Literal, TypeVar

import asyncpg
import structlog
from pydantic import BaseModel
from pydantic_core import from_json, to_json

from services.meetings import domain
from services.meetings.domain import LockSet, event_key
from services.meetings.handlers import trace
from services.meetings.handlers.apply import APPLIERS, ROSTER_REJUDGED_ROUTE, SENDER, Applied, rejudged_scope
from services.meetings.handlers.locks import locks_for
from services.meetings.handlers.prefetch import prefetch
from services.meetings.handlers.scope import OutsideScope, ScopedView, check_write_scope
from services.meetings.repository.ingest import INBOX, REPLAY_ROUTE
from services.meetings.unit_of_work import RETRYABLE_ERRORS, SCHEMA, MeetingsUnit
from shared.bindings import (
    AMQP_PREFIXES,
    HTTP_PREFIXES,
    Incoming,
    Mode,
    UnreadableHeaders,
    binary_attributes,
    read_message,
)
from shared.contracts.ingest import IngestRejected, IngestWarned, IngestWarning
from shared.contracts.instants import with_times_in
from shared.contracts.meetings import INGEST_TYPES, MemberAttendanceUpdated
from shared.contracts.meetings_rpc import ANSWERED_ON_FORM, NOT_JUDGED, RejectionFilter
from shared.contracts.registry import ignored_fields, model_for, read_event
from shared.envelope import (
    BATCH_ROUTING_KEY,
    CLOUDEVENT_CONTENT_TYPE,
    NOT_AN_OBJECT,
    RESERVED_SOURCE_PREFIX,
    VIETNAM_TZ,
    CloudEvent,
    Event,
    InvalidEvent,
    is_identifier,
    is_reserved_source,
    new_event,
    new_id,
    now,
    parse_envelope,
    peek_identity,
    read_batch,
)
from shared.logs import follow_request_by, get_logger, message_context, request_correlation_id
from shared.metrics import INGEST_EVENTS, INGEST_WARNINGS, REJECTIONS_DISMISSED, type_label
from shared.outbox import relay_hold
from shared.periods import said_at
from shared.reading import (
    EXTENSION_VALUE,
    MAX_EVENT_BYTES,
    ReadError,
    body_over_limit,
    event_over_limit,
    loads,
    names_an_event,
    not_replayable_reason,
    replayable_fields,
)
from shared.reading import body_not_kept as shared_body_not_kept
from shared.refusals import Refusal, RefusalCode

log = get_logger(__name__)
_stdlib_log = logging.getLogger(__name__)
"""The stdlib logger under `log`, asked whether debug lines are wanted before one is built."""

SOURCE = "urn:chibo:meetings"
EVENTS_PER_TRANSACTION = 250
"""At most this many events of a batch share one transaction: one commit (and outbox write) instead of one per
event, while their locks are held for a bounded time (a command about the same cells waits for at most one)."""
KEYS_PER_TRANSACTION = 600
"""At most this many lock keys per transaction: advisory locks live in PostgreSQL's shared lock table
(max_locks_per_transaction x max_connections entries for the whole server)."""
RELEASE_SWEEP_AFTER = timedelta(seconds=30)
"""A released held event still unsettled after this long was left by a process that stopped: the sweep settles it."""
RETRIES = 30
"""Attempts of a transaction that lost a deadlock or a serialization race before the failure propagates."""

NOT_JUDGED_REASON = (
    "not judged: the batch's other events took the time this call had (the answer is due before the gateway's"
    " CHIBO_INGEST_TIMEOUT), so this event was not stored; send it again (the events answered accepted or duplicate"
    " are answered duplicate then)"
)

T = TypeVar("T")


class DeadlinePassed(Exception):
    """A call's deadline came before a transaction of its events committed: the transaction is rolled back and its
    events, and those not yet begun, are answered NOT_JUDGED."""


def deadline_of(answer_by: datetime | None) -> float | None:
    """The time.monotonic() moment by which an answer due at `answer_by` (UTC, the caller's clock) must be given;
    None when the caller set no deadline."""
    if answer_by is None:
        return None
    return time.monotonic() + (answer_by - now()).total_seconds()


def not_judged(reading: "Reading") -> "IngestResult":
    """The result of an event left unjudged by its call's deadline (NOT_JUDGED): stored nowhere."""
    return IngestResult(reading.event_id, reading.source, reading.type, NOT_JUDGED, NOT_JUDGED_REASON)


@dataclass(frozen=True)
class IngestResult:
    """The outcome of one raw event."""

    id: str
    source: str
    type: str
    outcome: str
    reason: str | None = None
    field: str | None = None
    problem: str | None = None
    """For a body that is not an event at all (`syntax`, `shape`, `too_large`), so HTTP can answer 400/422/413."""
    waiting_for: str | None = None
    """What a held event waits for: `unit:<id>`, `member:<id>`, `meeting:<id>`, `minutes:<m>` or `task:<m>:<t>`."""
    refusal: Refusal | None = None
    """The machine-readable reason of a rejection or a hold, when its rule gives one (shared.refusals)."""
    ignored_fields: tuple[str, ...] = ()
    """Keys of the event's data that no field of its type reads: taken without them, and said so."""
    warnings: tuple[IngestWarning, ...] = ()
    """What an accepted event lacks though valid (Applied.warnings: a roster leaving out members of the cell)."""
    reported: bool = False
    """An accepted event an earlier try of its request stored, logged `event_accepted` and counted: answered as stored
    again, but neither logged nor counted again (first_accepted_line; never in the answer)."""
    detail: str | None = None
    """The real reason when `reason` hides it from the sender (an id outside a scoped account's subtree answered as
    unknown: handlers/scope.py), as the stored hold or rejection keeps it; never in the sender's answer."""

    def for_operator(self) -> "IngestResult":
        """The result as an operator reads it (a replay, a held event judged again): the real reason in `reason`."""
        return replace(self, reason=self.detail, detail=None) if self.detail else self

    def as_dict(self, index: int) -> dict[str, Any]:
        """The RPC answer's form of the result (`detail` left out: see for_operator)."""
        result: dict[str, Any] = {
            "index": index,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "outcome": self.outcome,
        }
        if self.reason is not None:
            result["reason"] = self.reason
        if self.field is not None:
            result["field"] = self.field
        if self.problem is not None:
            result["problem"] = self.problem
        if self.waiting_for is not None:
            result["waiting_for"] = self.waiting_for
        if self.refusal is not None:
            result["refusal"] = self.refusal.model_dump(mode="json", exclude_none=True)
        if self.ignored_fields:
            result["ignored_fields"] = list(self.ignored_fields)
        if self.warnings:
            result["warnings"] = [warning.model_dump(mode="json") for warning in self.warnings]
        return result


def raw_text(raw: Any) -> str:
    """The raw event as text PostgreSQL can store with its rejection (U+0000 and unpaired surrogates replaced)."""
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", errors="replace")
    elif isinstance(raw, str):
        text = raw
    else:
        text = json.dumps(raw, ensure_ascii=False, default=str)
    return text.replace("\x00", "\ufffd").encode("utf-8", errors="replace").decode("utf-8")


@dataclass(frozen=True)
class Reading:
    """One raw event read in memory (no database): the typed event, or why it cannot be one."""

    raw: Any
    source: str
    event_id: str
    type: str
    event: Event[Any] | None = None
    error: InvalidEvent | None = None
    data_json: bytes = b""
    """The typed data as meetings passes it on (compact, in the model's field order): its size bounds the
    re-published event's, and its digest is the event's content (see digest)."""
    ignored: tuple[str, ...] = ()
    """Keys of its data no field of its type reads (shared.contracts.registry.ignored_fields), named in its answer."""
    oversized: bool = False
    """Its `error` is a size limit's (over MAX_EVENT_BYTES): judged before anything the event says, its source
    included (judge)."""
    message_id: str | None = None
    """The AMQP `message_id` of the message it came in (a batch's is no event's id), kept with its hold and
    rejection so an operator finds that message; None over HTTP, in a replay, or when the message had none."""
    sender: str | None = None
    """The broker user that published the AMQP message it came in: its `user_id` property, which RabbitMQ refuses
    unless it is the publisher's own login (shared.consuming.origin_of: a copy this service handed back, its
    original's). Kept as its hold's and rejection's sender when no account is given (judge); None over HTTP (the API
    account is passed as `account`), in a replay, or when the message carried no `user_id`."""
    correlation_id: str | None = None
    """The correlation id of the request it came in (POST /v1/events: the gateway's, with_request_correlation) when
    the event names none of its own; its rejection carries it when no event could be read. None on AMQP."""
    named_correlation: Any = None
    """The `correlationid` the text of an event whose envelope did not read names (read_raw of a body's bytes), for
    body_correlation_id; an event read names its envelope's, an object refused the one it holds."""
    in_batch: bool = False
    """It came as an item of a batch body (an AMQP batch message, a POST /v1/events batch: ingest_delivery), which
    its inbox row keeps with its route (inbox_route)."""
    request_mark: str | None = None
    """Which request carries it and where: `<request token>:<its index in the request>` (marked), kept on the inbox
    row its transaction stores (meetings migration 0039). A retry of that same request (its failed transaction judged
    again one event per transaction, a delivery tried again through an outage) finds its own row and answers the
    event as stored, not `duplicate`; a copy sent by another request, or at another place of the same body, has
    another mark and stays `duplicate`. None: not yet marked (ingest_readings marks it)."""

    @cached_property
    def locks(self) -> LockSet:
        """What judging it locks up front (a rejection locks its identity when it is stored)."""
        return locks_for(self.event) if self.event is not None else LockSet()

    @cached_property
    def digest(self) -> bytes:
        """What the event says (its type and typed data), as the inbox keeps it: the same (source, id) with another
        digest is another event, not a duplicate. It hashes the data as meetings passes it on (in the model's field
        order, so a copy whose keys or spaces are written otherwise is the same) with every time the schema types as
        one written in UTC (shared.contracts.instants), so the same instant at another offset is the same content;
        the envelope's other attributes are not part of it."""
        if self.event is None:
            return b""
        return content_digest(self.type, self.event.data, self.data_json)

    @cached_property
    def earlier_digests(self) -> frozenset[bytes]:
        """The digests an inbox row written before times were compared as instants may hold for this same content:
        the data as sent, and with its times in UTC (`Z`) or Vietnam's +07:00, the offsets CONTRACT.md's senders write
        (such a row hashed the offsets as written). Asked only of an identity the inbox already holds."""
        if self.event is None:
            return frozenset()
        forms = {self.digest, _content_digest(self.type, self.data_json)}
        data = self.event.data
        in_vietnam = with_times_in(data, VIETNAM_TZ) if isinstance(data, BaseModel) else data
        if in_vietnam is not data:
            forms.add(_content_digest(self.type, in_vietnam.model_dump_json().encode()))
        return frozenset(forms)

    def same_content(self, earlier: bytes | None) -> bool:
        """Whether an inbox row's digest (None: recorded without one) is this event's content."""
        return earlier is None or earlier == self.digest or earlier in self.earlier_digests

    @cached_property
    def footprint(self) -> frozenset[str]:
        """Its keys and its identity: events of a batch sharing any of them keep their order."""
        identity = {event_key(self.source, self.event_id)} if self.event_id else set()
        return self.locks.keys | identity


_READING_FIELDS = tuple(reading_field.name for reading_field in fields(Reading))


def _copied(reading: Reading, **changes: Any) -> Reading:
    """`replace(reading, **changes)` built without dataclasses.replace's per-field checks and frozen __init__ (issue
    12: ~2 % of meetings' batch ingest, once per event of a batch); its cached properties are computed anew."""
    fresh = object.__new__(Reading)
    values = reading.__dict__
    fresh.__dict__.update({name: values[name] for name in _READING_FIELDS})
    fresh.__dict__.update(changes)
    return fresh


def with_message_id(reading: Reading, message_id: str | None, *, sender: str | None = None) -> Reading:
    """`replace(reading, message_id=message_id, sender=sender)` (the AMQP delivery's `message_id` and broker-checked
    `user_id`; a `sender` None keeps the reading's), built by _copied."""
    if sender is None:
        return _copied(reading, message_id=message_id)
    return _copied(reading, message_id=message_id, sender=sender)


def marked(readings: Sequence[Reading], request: str | None) -> list[Reading]:
    """The readings of one request, each unmarked one given its Reading.request_mark `<request>:<index>` (a fresh
    token when `request` is None), built by _copied; marked ones are kept as they are (a retry keeps its marks)."""
    token = request or uuid.uuid4().hex
    return [
        reading if reading.request_mark is not None else _copied(reading, request_mark=f"{token}:{index}")
        for index, reading in enumerate(readings)
    ]


def request_token(mark: str) -> str:
    """The request token of a Reading.request_mark `<request>:<index>` (the request's own, which may hold a colon)."""
    return mark.rpartition(":")[0]


_ACCEPTED_LINES: dict[str, set[str]] = {}
"""Per request token held by request_lines: the marks (Reading.request_mark) whose `event_accepted` line this
process wrote (first_accepted_line). A request's token is this process's own (on_ingest's uuid, marked's), so a retry
of the request is judged here too, and what was written is known exactly."""
_LINE_HOLDERS: Counter[str] = Counter()
"""How many request_lines hold each token of _ACCEPTED_LINES: the last one out forgets it."""


@contextmanager
def request_lines(*tokens: str) -> Iterator[None]:
    """While held, note which events of the requests `tokens` (request_token's) had their `event_accepted` line
    written (first_accepted_line), so each try of a request (a delivery held through an outage, a group commit's
    events judged again alone, a failed transaction's events judged again one per transaction) writes it once. Holds
    of one token nest (ingest_readings inside on_ingest's); the last one released forgets the token."""
    held = set(tokens)
    for token in held:
        _LINE_HOLDERS[token] += 1
        _ACCEPTED_LINES.setdefault(token, set())
    try:
        yield
    finally:
        for token in held:
            _LINE_HOLDERS[token] -= 1
            if _LINE_HOLDERS[token] <= 0:
                del _LINE_HOLDERS[token]
                _ACCEPTED_LINES.pop(token, None)


def first_accepted_line(reading: Reading) -> bool:
    """Whether the accepted event of `reading` is still to get its `event_accepted` line, noting (when its request's
    token is held by request_lines) that it gets it now: False when an earlier try of its request wrote it already
    (the commit that stored it returned, then the request failed later and is judged again, answering it as stored:
    stored_by_its_request). True for an unmarked reading or a token not held (nothing to tell a retry)."""
    mark = reading.request_mark
    written = None if mark is None else _ACCEPTED_LINES.get(request_token(mark))
    if mark is None or written is None:
        return True
    if mark in written:
        return False
    written.add(mark)
    return True


def in_a_batch(reading: Reading) -> Reading:
    """`replace(reading, in_batch=True)`, built by _copied (once per event of a batch)."""
    return _copied(reading, in_batch=True)


BATCH_SUFFIX = "-batch"
"""What a route's name ends with when its event came in a batch body (`amqp-batch`, `http-batch`: batch_route)."""


def batch_route(route: str) -> str:
    """The name of `route` (`amqp`, `http`) for an event, or a whole body, that came as (an item of) a batch body:
    `amqp-batch`, `http-batch`; a name already ending so is returned as it is."""
    return route if route.endswith(BATCH_SUFFIX) else f"{route}{BATCH_SUFFIX}"


def inbox_route(route: str, reading: Reading) -> str:
    """The one name of the route a read event came by, as its inbox row keeps it (its duplicates' `first_route`)
    and every per-event line, its hold and its rejection name it (docs/operations.md): the route it was judged on
    (`http`, `amqp`, `bulk`, `replay`), batch_route's when it came as an item of a batch body (`amqp-batch`,
    `http-batch`). Idempotent: a route already named so stays as it is."""
    return batch_route(route) if reading.in_batch else route


def metric_route(route: str) -> str:
    """The `route` label of chibo_ingest_events_total and chibo_ingest_warnings_total for a route's name: the way it
    came (`amqp`, `http`, ...), a batch's item counted with its route's single events as the metrics always were
    (docs/operations.md, "Metrics")."""
    return route.removesuffix(BATCH_SUFFIX)


def content_digest(event_type: str, data: Any, data_json: bytes) -> bytes:
    """The inbox's digest (32 bytes) of an event of `event_type` whose typed data `data` meetings passes on as
    `data_json` (compact, in the model's field order), every time the schema types in it taken in UTC (Reading.digest:
    the ingest path's and the bulk loader's rows must agree, or a copy would be judged another event by the other)."""
    in_utc = with_times_in(data, UTC) if isinstance(data, BaseModel) else data
    if in_utc is data:  # no field of its type is a time: the data as passed on is already the content
        return _content_digest(event_type, data_json)
    return _content_digest(event_type, in_utc.model_dump_json().encode())


def _content_digest(event_type: str, data_json: bytes) -> bytes:
    """The inbox's digest of an event's type and its data's JSON."""
    return hashlib.sha256(event_type.encode() + b"\n" + data_json).digest()


@dataclass(frozen=True, slots=True)
class TooLarge:
    """An item of a batch larger than one event may be (MAX_EVENT_BYTES, measured as its compact JSON): it is
    rejected alone naming `body`, with its identity when it has one, and stored as a bounded prefix."""

    value: Any
    size: int


ENVELOPE_ALLOWANCE = 4096
"""Bytes meetings' own envelope may add to an event's data when it passes it on (every attribute is bounded: ids,
source, type, subject, extensions) and what an applier adds to the data (notified_at)."""
STORED_PREFIX = 2048
"""Characters of an oversized event kept with its rejection: enough to recognise it, not the megabyte itself."""


PEEK_LIMIT = 8 * MAX_EVENT_BYTES
"""An oversized event up to this size (the gateway's body limit) is read once more for the identity its rejection
names; a larger one (only AMQP carries it) is named by nothing, not parsed."""


def too_large(size: int) -> str:
    """Why an event of `size` bytes is refused (the reason names `body`, as the HTTP route's 413 does)."""
    return event_over_limit(size)


def bounded_text(text: str, *, size: int) -> str:
    """An oversized event's text as stored with its rejection: a prefix and its size."""
    return text if len(text) <= STORED_PREFIX else f"{text[:STORED_PREFIX]}… ({size} bytes in all)"


@dataclass(frozen=True, slots=True)
class NotAnObject:
    """An item of a batch that is not a JSON object (an array, a text, a number, true, false or null): it is
    rejected alone, and never read as the text of an event (a text item is a JSON string, not a body)."""

    value: Any


def read_raw(raw: Any, *, checked: bool = False, at: datetime | None = None) -> Reading:
    """Parse, type-check and validate one raw event in memory (`checked`: a parsed item of a batch whose whole text
    `read_batch` found clean, so its values need no walk of their own; `at`: the clock's time its moments are judged
    against, now() when not given; a batch reads the clock once for all its events). The text is parsed once: only an
    envelope that does not read is peeked at again for the identity its rejection names (a second parse of every
    single event's body was 2.7 % of meetings' busy samples in the single preset)."""
    if isinstance(raw, NotAnObject):
        text = json.dumps(raw.value, ensure_ascii=False, default=str)  # stored as the item's JSON, to replay
        return Reading(text, "", "", "", error=InvalidEvent(NOT_AN_OBJECT, field="body", problem="shape"))
    if isinstance(raw, TooLarge):
        source, event_id, event_type = peek_identity(raw.value)
        text = bounded_text(to_json(raw.value).decode(), size=raw.size)
        error = InvalidEvent(too_large(raw.size), field="body")
        return Reading(text, source, event_id, event_type, error=error, oversized=True)
    try:
        envelope = parse_envelope(raw, checked=checked)
    except InvalidEvent as exc:
        if exc.problem == "too_large" and isinstance(raw, bytes | str):
            # named by its identity when it reads at all, stored as a prefix and its size, never the whole
            size = len(raw)
            value = _loads_or_none(raw, limit=PEEK_LIMIT) if size <= PEEK_LIMIT else None
            text = bounded_text(raw_text(raw[: STORED_PREFIX * 4]), size=size)
            error = InvalidEvent(too_large(size), field="body", problem="too_large")
            return Reading(text, *peek_identity(value), error=error, oversized=True, named_correlation=_named_in(value))
        value = raw if isinstance(raw, dict) else _loads_or_none(raw)
        source, event_id, event_type = peek_identity(value)
        return Reading(raw, source, event_id, event_type, error=exc, named_correlation=_named_in(value))
    source, event_id, event_type = envelope.source, envelope.id, envelope.type
    try:
        if envelope.type not in INGEST_TYPES:
            raise InvalidEvent(f"type: {envelope.type!r} is not an event this system accepts", field="type")
        event = read_event(envelope)
        domain.check_plausible_moments(event, now=at or now())
        data_json = event.data.model_dump_json().encode() if isinstance(event.data, BaseModel) else b""
        if len(data_json) + ENVELOPE_ALLOWANCE > MAX_EVENT_BYTES:
            # what meetings accepts it passes on, and no reader downstream takes an event over the limit
            most = MAX_EVENT_BYTES - ENVELOPE_ALLOWANCE
            raise InvalidEvent(
                f"data: {len(data_json)} bytes as meetings publishes it, above the {most} bytes that leave room for"
                f" its envelope within the {MAX_EVENT_BYTES}-byte event limit",
                field="data",
            )
    except InvalidEvent as exc:
        return Reading(raw, source, event_id, event_type, error=exc, named_correlation=envelope.correlationid)
    ignored = tuple(ignored_fields(model_for(event_type), envelope.data))
    return Reading(raw, source, event_id, event_type, event=event, data_json=data_json, ignored=ignored)


def _named_in(value: Any) -> Any:
    """The `correlationid` a parsed event names (None when it is no object)."""
    return value.get("correlationid") if isinstance(value, dict) else None


def body_correlation_id(readings: Sequence[Reading]) -> str | None:
    """The one correlation id (CONTRACT.md `correlationid`) every event of a body names, refused ones too, else None
    (a body naming none, several, or one not of the extension syntax): a request over HTTP is followed by it
    (docs/operations.md), read off the readings so that the body is parsed once, here, not by the gateway too."""
    named = {_as_named(named_correlation(reading)) for reading in readings}
    if len(named) != 1:
        return None
    value = named.pop()
    return value if isinstance(value, str) and EXTENSION_VALUE.match(value) else None


def named_correlation(reading: Reading) -> Any:
    """The `correlationid` a reading's event names as it came, read or refused (None: it names none): its envelope's,
    else the one its text holds (any JSON value: a refused event's may be of no syntax)."""
    if reading.event is not None:
        return reading.event.envelope.correlationid
    return reading.raw.get("correlationid") if isinstance(reading.raw, dict) else reading.named_correlation


def event_correlation_id(reading: Reading) -> str | None:
    """The correlation id a reading's event is followed by in every service (docs/operations.md, "Following an
    event"): a read event's as shared.envelope.Event.correlation_id gives it (its own `correlationid`, over HTTP the
    request's it took, with_request_correlation, else its own id), as meetings publishes its facts with it; a refused
    one's by the same rule from what it names: its own `correlationid` when of the extension syntax, else the
    request's it came in, else its id when an identifier (None: no such id; reject then names its rejection)."""
    if reading.event is not None:
        return reading.event.correlation_id
    named = named_correlation(reading)
    if isinstance(named, str) and EXTENSION_VALUE.match(named):
        return named
    if reading.correlation_id:
        return reading.correlation_id
    return reading.event_id if is_identifier(reading.event_id) else None


_NOT_TEXT = object()
"""What a refused event names as `correlationid` when it is not text (a list, an object, a number): no id."""


def _as_named(value: Any) -> object:
    """A named `correlationid` as body_correlation_id compares it: text or None as given, anything else (unhashable,
    such as a list or a header sent twice) one mark for all."""
    return value if value is None or isinstance(value, str) else _NOT_TEXT


def binary_reading(incoming: Incoming | UnreadableHeaders) -> Reading:
    """A binary-mode message read as read_raw reads a structured one: over the per-event limit it is refused naming
    `body` (`problem` too_large, a prefix and its size stored) before anything else, as a structured body is; a header
    that cannot be read is refused naming its attribute. Either keeps the identity its readable headers give."""
    if isinstance(incoming, UnreadableHeaders):
        event, size, identity, error = (
            incoming.event,
            incoming.size,
            peek_identity(incoming.readable, attributes=True),
            incoming,
        )
    else:
        assert incoming.event is not None
        event, size, identity, error = (
            incoming.event,
            incoming.size,
            peek_identity(incoming.event, attributes=True),
            None,
        )
    if size > MAX_EVENT_BYTES:
        text = bounded_text(raw_text(event), size=size)
        over = InvalidEvent(too_large(size), field="body", problem="too_large")
        return Reading(text, *identity, error=over, oversized=True)
    if error is not None:
        return Reading(event, *identity, error=error)
    return read_raw(event, checked=isinstance(incoming, Incoming) and incoming.checked)


Sources = frozenset[str] | None
"""The sources a sender may use: a scoped integration account's registered ones; None for a sender that may use any
source registered to no scoped account (a province-wide account, the AMQP route, the gateway's own commands)."""

FOREIGN_SOURCE = "source: not a source registered to this account"
"""Why a scoped account's event under a source it did not register is refused (another system's events)."""
REGISTERED_SOURCE = "source: registered to a scoped integration account; only it may use it"
"""Why an event under a scoped account's registered source from any other sender is refused."""
RESERVED_SOURCE = (
    f"source: {RESERVED_SOURCE_PREFIX} names this system's own producers (the gateway's commands, meetings, the demo"
    " seed); no integration may send under it"
)
"""Why an event from an ingest route's sender (an integration account over HTTP, a feed over AMQP) under a
urn:chibo: source is refused: facts under urn:chibo:gateway would be taken for a secretary's own commands."""


def as_feed(reading: Reading) -> Reading:
    """The reading as judged from a feed (any sender on an ingest route but this system's own producers): under a
    reserved source (is_reserved_source, in any case) it is refused naming `source` before anything else but a size
    limit (judge), with the code SOURCE_RESERVED, and the inbox row of the system's own event with that (source, id)
    stays (judge)."""
    if reading.oversized or not is_reserved_source(reading.source):
        return reading
    refused = InvalidEvent(RESERVED_SOURCE, field="source", refusal=Refusal(code=RefusalCode.SOURCE_RESERVED))
    return replace(reading, event=None, error=refused, ignored=())


def with_request_correlation(reading: Reading, correlation_id: str | None) -> Reading:
    """The reading as it came in a request with `correlation_id` (an RPC's: the gateway's id of the HTTP request): an
    event naming no `correlationid` of its own takes it, so every line and re-published fact of it carries it as an
    AMQP event's own does; an event naming one keeps its own. A value not of the extension syntax changes nothing."""
    if not correlation_id or not EXTENSION_VALUE.match(correlation_id):
        return reading
    event = reading.event
    if event is not None and event.envelope.correlationid is None:
        event = replace(event, envelope=event.envelope.model_copy(update={"correlationid": correlation_id}))
    return replace(reading, event=event, correlation_id=correlation_id)


def as_sent_by(readings: Sequence[Reading], *, system: bool) -> list[Reading]:
    """The readings of one delivery as its sender may send them: as they are from this system's own producers
    (`system`), as_feed from anyone else."""
    return list(readings) if system else [as_feed(reading) for reading in readings]


def as_routed(reading: Reading, routing_key: str | None, *, batch: bool) -> Reading:
    """The reading as its AMQP delivery's `routing_key` allows it (None: the HTTP route or a replay, no key).

    CONTRACT.md "Routes in": on chibo.ingest a message is published with routing key = the event's `type`, and a
    batch with routing key `batch` (BATCH_ROUTING_KEY). A trial's member.upserted.v1 under meeting.cancelled.v1 was
    applied silently, so a binding by type would have routed it to a listener of cancellations; an event under any
    other key (each event of a batch under any key but `batch`) is refused naming `type` and the key given, stored
    and published as every rejection is, and can be replayed once sent right. A reading already refused keeps its
    own reason (a reserved source, an unreadable envelope)."""
    if routing_key is None or reading.event is None:
        return reading
    expected = BATCH_ROUTING_KEY if batch else reading.type
    if routing_key == expected:
        return reading
    what = "an event of a batch" if batch else "an event"
    reason = (
        f"type: {reading.type} arrived under routing key {routing_key!r}; on chibo.ingest {what} is published with"
        f" routing key {expected!r}"
    )
    return replace(reading, event=None, error=InvalidEvent(reason, field="type"), ignored=())


async def check_source(source: str, uow: MeetingsUnit, *, sources: Sources, scope: str | None) -> InvalidEvent | None:
    """Why the sender may not use `source` (FOREIGN_SOURCE or REGISTERED_SOURCE, naming `source`, with its code),
    None when it may; a scoped sender is judged by its own list, any other by the registry (one read per source and
    transaction): a source registered to a unit is used only within that unit's scope (a replay of its own
    rejection keeps it)."""
    if sources is not None:
        if source in sources:
            return None
        return InvalidEvent(FOREIGN_SOURCE, field="source", refusal=Refusal(code=RefusalCode.SOURCE_NOT_REGISTERED))
    owner = await uow.ingest.source_owner(source)
    if owner is None or owner == scope:
        return None
    return InvalidEvent(REGISTERED_SOURCE, field="source", refusal=Refusal(code=RefusalCode.SOURCE_OF_ANOTHER_ACCOUNT))


async def ingest_event(
    raw: Any,
    uow: MeetingsUnit,
    *,
    route: str,
    received_at: datetime | None = None,
    scope: str | None = None,
    sources: Sources = None,
) -> IngestResult:
    """Judge one raw event inside the unit of work (the caller commits) and return its outcome.

    `scope`: the unit whose subtree the sender may write (an integration account's), None for anywhere; `sources`:
    the sources that sender may use (see Sources)."""
    return await judge(read_raw(raw), uow, route=route, received_at=received_at, scope=scope, sources=sources)


async def judge(
    reading: Reading,
    uow: MeetingsUnit,
    *,
    route: str,
    received_at: datetime | None = None,
    scope: str | None = None,
    sources: Sources = None,
    recorded: bool = False,
    savepoint: bool = True,
    histories: "PendingHistories | None" = None,
    account: str | None = None,
) -> IngestResult:
    """Judge one read event: lock what it touches (nothing new when its batch holds it), dedupe, apply/hold/reject.

    Its size is judged first (`reading.oversized`: CONTRACT.md's one event at most 1 MiB), whatever its source: a
    trial's 2 MB event under a source the account had not registered was answered 200 with a `source` rejection, the
    same under a registered one 413. Then its source (check_source): a sender's event under a source it may not use
    is rejected naming `source`, and never forgets the inbox row of the event that source's owner sent; only an
    identical copy of an event already taken in is answered as any copy is (`duplicate`, or `held` while it waits):
    CONTRACT.md "Idempotency", the same (source, id) again "by either route" changes nothing and is acknowledged as a
    duplicate, and a copy takes no id (a trial's event accepted over HTTP, sent again over AMQP, opened a rejection).

    `recorded`: its batch has just put it in the inbox as new (no inbox round trip here); `savepoint`: False when
    its transaction is retried event by event on any failure (see settle); `histories`: where its transaction
    gathers the attendance histories to publish once at its end (None: published with the event); `account`: the
    account that sent it (the gateway's authenticated subject), kept with its hold and rejection, as is the rule its
    source was judged by (a `sources` list or the registry), which judges its release and replay alike; None: the
    broker user that published its AMQP message (Reading.sender), if any."""
    account = sent_by(reading, account)
    route = inbox_route(route, reading)  # one name on its inbox row, its lines, its hold and its rejection
    received_at = received_at or now()
    refuse = partial(  # every refusal below is stored, logged and answered alike but for its error
        _reject_reading,
        reading,
        uow=uow,
        route=route,
        received_at=received_at,
        scope=scope,
        account=account,
        sources_listed=sources is not None,
    )
    await uow.ingest.lock(reading.locks)
    if reading.oversized and reading.error is not None:
        # the inbox row of (source, id) is forgotten only when the sender may use that source (as below)
        foreign = is_reserved_source(reading.source) or (
            bool(reading.source) and await check_source(reading.source, uow, sources=sources, scope=scope) is not None
        )
        return await refuse(reading.error, keep_processed=foreign)
    if reading.event is None and reading.error is not None and reading.error.field == "source":
        # a source past CONTRACT.md's bounds (over 256 characters, no URI-reference) is named as such: no account
        # can have registered it, and "not registered to this account" would hide the breach; a reserved source from
        # a feed (as_feed) likewise. The inbox row of (source, id) is never such a sender's to forget.
        return await refuse(reading.error, keep_processed=True)
    not_its_source: InvalidEvent | None = None  # why the sender may not use the source of an event it may still copy
    if reading.source:
        refused = await check_source(reading.source, uow, sources=sources, scope=scope)
        if refused is not None and (reading.event is None or recorded):
            # only the inbox row its batch just made is this event's to forget
            return await refuse(refused, keep_processed=not recorded)
        not_its_source = refused  # judged at the inbox below: an identical copy of the stored event is a duplicate
    if reading.event is None:
        error = reading.error or InvalidEvent("body: not an event", field="body")
        return await refuse(error)
    source, event_id, event_type = reading.source, reading.event_id, reading.type
    if not recorded:
        # found there before by its batch's inbox statement (record_new) and untouched since: no statement of its own
        read = uow.ingest.processed_before(consumer=INBOX, source=source, event_id=event_id)
        before = (
            {(source, event_id): read.digest}
            if read is not None
            else await uow.ingest.record_inbox(
                consumer=INBOX,
                entries=[(source, event_id, reading.digest, inbox_route(route, reading), reading.request_mark)],
            )
        )
        if (source, event_id) in before:
            earlier = before[(source, event_id)]
            if reading.same_content(earlier):
                still_held = uow.ingest.held_copy(source=source, event_id=event_id)
                if still_held is not None:  # CONTRACT.md: held until its referent arrives, however often resent
                    identity = reading_identity(reading)
                    trace.line(log.info, "event_still_held", **identity, **came_by(reading, route, account))
                    return _naming_ignored(held_again(still_held, reading), reading, route=route)
                if stored_by_its_request(reading, uow):
                    # this very request stored it, in a transaction its retry could not count on (a sub-transaction
                    # of a failed group, a commit whose answer was lost): taken in now, not before (its
                    # event_accepted line is written once this transaction committed, unless the earlier try's
                    # commit returned and wrote it: first_accepted_line)
                    return _naming_ignored(IngestResult(event_id, source, event_type, "accepted"), reading, route=route)
                trace.line(
                    log.info,
                    "event_duplicate",
                    **reading_identity(reading),
                    **came_by(reading, route, account),
                    **trace.first_taken_in(
                        uow.ingest.first_received(source=source, event_id=event_id),
                        uow.ingest.first_route(source=source, event_id=event_id),
                    ),
                )
                return _naming_ignored(IngestResult(event_id, source, event_type, "duplicate"), reading, route=route)
            # the inbox row is the other event's: kept, or a third copy of either would come in as new; a sender
            # that may not use the source is told that, not that the id is taken
            reused = not_its_source or InvalidEvent(REUSED_ID, field="id", refusal=Refusal(code=RefusalCode.ID_REUSED))
            return await refuse(reused, keep_processed=True)
    if not_its_source is not None:
        # new to the inbox: the row just recorded is this refused copy's own to forget (its batch's too)
        return await refuse(not_its_source)
    settled = await settle(
        reading.event,
        uow,
        route=route,
        received_at=received_at,
        retrying=False,
        scope=scope,
        savepoint=savepoint,
        histories=histories,
        account=account,
        message_id=reading.message_id,
        data_json=reading.data_json,
        sources_listed=sources is not None,
    )
    return _naming_ignored(settled, reading, route=route)


def stored_by_its_request(reading: Reading, uow: MeetingsUnit) -> bool:
    """Whether the inbox row the last record_inbox of `uow` found for the reading's (source, id) was stored by the
    very request and place the reading came in (Reading.request_mark; IngestRepository.stored_by): a retry of that
    request meeting its own event, which it answers as stored, not `duplicate`."""
    mark = reading.request_mark
    return mark is not None and uow.ingest.stored_by(source=reading.source, event_id=reading.event_id) == mark


def sent_by(reading: Reading, account: str | None) -> str | None:
    """Who sent a read event, as its hold and rejection store it and its log lines name it (`sender`): the account
    given (the API account over HTTP; a replay's or release's recorded one), else the broker user whose `user_id`
    its AMQP message carried (Reading.sender); None when neither is known ("not given")."""
    return account if account is not None else reading.sender


def came_by(reading: Reading, route: str, account: str | None) -> dict[str, Any]:
    """The fields saying how a read event came on its outcome lines (docs/operations.md): `route` (inbox_route's
    name: `amqp-batch` for an item of an AMQP batch), `sender` (the account, sent_by) and `message_id` (its AMQP
    message's own id, None over HTTP)."""
    return {"route": inbox_route(route, reading), "sender": account, "message_id": reading.message_id}


def held_again(held: Mapping[str, Any], reading: Reading) -> IngestResult:
    """The answer to a copy of a held event (IngestRepository.held_copy's row): `held`, with what it waits for and
    the reason, field and refusal its hold was answered with, as when it was first held (the sender's reason, the
    real one kept in `detail` for an operator)."""
    refusal = held.get("refusal")
    answer = held.get("answer") or held["reason"]
    return IngestResult(
        reading.event_id,
        reading.source,
        reading.type,
        "held",
        answer,
        held.get("field"),
        waiting_for=held["waiting_for"],
        refusal=Refusal.model_validate_json(refusal) if isinstance(refusal, str) else refusal,
        detail=held["reason"] if held["reason"] != answer else None,
    )


def _naming_ignored(result: IngestResult, reading: Reading, *, route: str) -> IngestResult:
    """The outcome naming the keys of the event's data its type does not read (`ignored_fields`) unless it was
    rejected: a partner's misspelt optional field is dropped, but not without a word (logged too)."""
    if not reading.ignored or result.outcome == "rejected":
        return result
    log.info(
        "event_fields_ignored",
        **reading_identity(reading),
        fields=list(reading.ignored),
        route=inbox_route(route, reading),
    )
    return replace(result, ignored_fields=reading.ignored)


def reading_identity(reading: Reading) -> dict[str, Any]:
    """The fields naming a read event on a log line (docs/operations.md): `event_id`, `event_type`, `event_source`
    and `correlation_id` (event_correlation_id: the one every service follows it by; an AMQP event naming none was
    logged `null` on its `event_accepted` and `event_duplicate` lines while evaluation and notifications named its
    id)."""
    return {
        "event_id": reading.event_id,
        "event_type": reading.type,
        "event_source": reading.source,
        "correlation_id": event_correlation_id(reading),
    }


REUSED_ID = "id: already used by a different event from this source"
"""Why an event is refused whose (source, id) the inbox holds with other content (CONTRACT.md: the pair identifies
an event): answering `duplicate` would lose it silently."""


async def _reject_reading(
    reading: Reading,
    error: InvalidEvent,
    uow: MeetingsUnit,
    *,
    route: str,
    received_at: datetime,
    scope: str | None,
    keep_processed: bool = False,
    account: str | None = None,
    sources_listed: bool,
) -> IngestResult:
    """Store and publish the rejection of a read event for `error` (its reason, field, problem and code) and answer
    it; `keep_processed`: its (source, id) inbox row is not its own to forget; `sources_listed`: see reject."""
    await reject(
        uow,
        source=reading.source,
        event_id=reading.event_id,
        event_type=reading.type,
        reason=error.reason,
        field=error.field,
        raw=raw_text(reading.raw),
        route=inbox_route(route, reading),
        received_at=received_at,
        correlation_id=event_correlation_id(reading),
        scope=scope,
        refusal=error.refusal,
        keep_processed=keep_processed,
        account=sent_by(reading, account),
        message_id=reading.message_id,
        sources_listed=sources_listed,
    )
    return IngestResult(
        reading.event_id,
        reading.source,
        reading.type,
        "rejected",
        error.reason,
        error.field,
        error.problem,
        refusal=error.refusal,
    )


async def with_retries(work: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run a transaction, again when it lost a deadlock or serialization race (never a dead letter for that)."""
    for attempt in range(1, RETRIES + 1):
        try:
            return await work()
        except RETRYABLE_ERRORS as exc:
            if attempt == RETRIES:
                raise
            log.warning("ingest_transaction_retried", what=what, attempt=attempt, error=repr(exc))
            await asyncio.sleep(min(0.05 * 2**attempt, 2.0) * random.uniform(0.5, 1.5))  # noqa: S311 (jitter)
    raise AssertionError("unreachable")


def plan_transactions(readings: Sequence[Reading]) -> list[list[int]]:
    """Indices of the readings, grouped into transactions: the events touching a common key (in effect one cell's,
    its members' and its meetings') stay together in batch order; groups are packed up to EVENTS_PER_TRANSACTION
    events and KEYS_PER_TRANSACTION keys, and a larger group is cut, in order, into consecutive transactions."""
    parent = list(range(len(readings)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    footprints = [reading.footprint for reading in readings]
    for index, footprint in enumerate(footprints):
        for key in footprint:
            first = owner.setdefault(key, index)
            a, b = root(index), root(first)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for index in range(len(readings)):
        groups.setdefault(root(index), []).append(index)
    plans: list[list[int]] = []
    current: list[int] = []
    current_keys: set[str] = set()
    for members in groups.values():  # in order of each group's first event
        keys = set().union(*(footprints[i] for i in members))
        if len(current) + len(members) <= EVENTS_PER_TRANSACTION and len(current_keys | keys) <= KEYS_PER_TRANSACTION:
            current += members
            current_keys |= keys
            continue
        if current:
            plans.append(sorted(current))
        current, current_keys = [], set()
        for index in members:  # a group too big for one transaction: consecutive ones, in order
            fits = (
                len(current) < EVENTS_PER_TRANSACTION and len(current_keys | footprints[index]) <= KEYS_PER_TRANSACTION
            )
            if current and not fits:
                plans.append(current)
                current, current_keys = [], set()
            current.append(index)
            current_keys |= footprints[index]
    if current:
        plans.append(sorted(current))
    return plans


async def ingest_batch(
    raws: Sequence[Any],
    uow_factory: Callable[[], MeetingsUnit],
    *,
    route: str,
    scope: str | None = None,
    sources: Sources = None,
    checked: bool = False,
    account: str | None = None,
) -> list[IngestResult]:
    """Judge many raw events, a group of cells per transaction, each taking its locks at once; return the outcomes
    in the order of `raws`.

    The events are read in memory first; plan_transactions keeps the events about one cell (sharing a key) in
    order in one transaction, so transactions about other cells, here or in another process, run beside it.
    Rejections and holds are outcomes, not failures, so they share the transaction. A lost deadlock is retried;
    an unexpected failure (a database error, a bug) rolls the transaction back and judges its events again one
    per transaction, so the events before the failing one are kept exactly as if each had come alone, and the
    failure propagates for the caller to retry or dead-letter. `checked`: the raws are the items of a batch body
    `read_batch` found clean as a whole (see read_raw); `account`: the account that sent them (see judge).
    """
    return await ingest_readings(
        [read_raw(raw, checked=checked) for raw in raws],
        uow_factory,
        route=route,
        scope=scope,
        sources=sources,
        account=account,
    )


async def ingest_readings(
    readings: Sequence[Reading],
    uow_factory: Callable[[], MeetingsUnit],
    *,
    route: str,
    scope: str | None = None,
    sources: Sources = None,
    account: str | None = None,
    deadline: float | None = None,
    request: str | None = None,
) -> list[IngestResult]:
    """ingest_batch of events already read (read_raw); the outcomes in the order of `readings`. `deadline`: the
    time.monotonic() moment the caller's answer is due (deadline_of); the events whose transaction has not committed
    by then are rolled back and answered NOT_JUDGED, so the caller hears what was stored instead of nothing.
    `request`: the token of the request they came in, the same on each try of it (None: this call is the request),
    by which the unmarked readings are marked (marked): an event a failed transaction of the request committed after
    all is answered as stored when judged again, not `duplicate`."""
    readings = marked(readings, request)
    results: list[IngestResult | None] = [None] * len(readings)
    plans = plan_transactions(readings)
    tokens = {request_token(reading.request_mark) for reading in readings if reading.request_mark is not None}
    # several transactions: the relay keeps their events back until the last commits, so they go out in one fetch
    # and evaluation never scores a cell between two of them; other transactions' events go out meanwhile
    # (shared.outbox.RelayHold); each accepted event one event_accepted line, however often judged (request_lines)
    with relay_hold(SCHEMA).holding() if len(plans) > 1 else nullcontext(), request_lines(*tokens):
        await _judge_planned(
            readings,
            plans,
            results,
            uow_factory,
            route=route,
            scope=scope,
            sources=sources,
            account=account,
            deadline=deadline,
        )
    return [result for result in results if result is not None]


async def _judge_planned(
    readings: Sequence[Reading],
    plans: list[list[int]],
    results: list[IngestResult | None],
    uow_factory: Callable[[], MeetingsUnit],
    *,
    route: str,
    scope: str | None,
    sources: Sources,
    account: str | None,
    deadline: float | None = None,
) -> None:
    """Judge each planned transaction in turn, writing the outcomes into `results` at the readings' indices; past
    `deadline` (see ingest_readings) the rest are NOT_JUDGED, on the path that judges a failed transaction's events
    one per transaction as on the batch's own."""
    for position, plan in enumerate(plans):
        chunk = [readings[index] for index in plan]
        chunk_results: list[IngestResult] = []
        try:
            try:
                chunk_results = await with_retries(
                    lambda chunk=chunk: _judge_in_one_transaction(
                        chunk,
                        uow_factory,
                        route=route,
                        scope=scope,
                        sources=sources,
                        account=account,
                        deadline=deadline,
                    ),  # type: ignore[misc]
                    what="ingest_chunk",
                )
            except DeadlinePassed:
                raise
            except Exception as exc:
                if len(chunk) == 1:
                    chunk_results.append(
                        await _failed_alone(
                            chunk[0],
                            exc,
                            uow_factory,
                            route=route,
                            scope=scope,
                            account=account,
                            sources_listed=sources is not None,
                            deadline=deadline,
                        )
                    )
                else:
                    log.warning("ingest_chunk_failed", events=len(chunk), error=repr(exc))
                    for reading in chunk:  # each appended once committed: a DeadlinePassed leaves the rest unjudged
                        chunk_results.append(
                            await _judge_alone(
                                reading,
                                uow_factory,
                                route=route,
                                scope=scope,
                                sources=sources,
                                account=account,
                                deadline=deadline,
                            )
                        )
        except DeadlinePassed:
            _count_judged(plan, chunk_results, results, route=route)
            left = plan[len(chunk_results) :] + [index for later in plans[position + 1 :] for index in later]
            for index in left:
                results[index] = not_judged(readings[index])
            judged = len(readings) - len(left)
            log.warning("ingest_deadline_reached", events=len(readings), judged=judged, not_judged=len(left))
            INGEST_EVENTS.labels(route, "batch" if len(readings) > 1 else "event", NOT_JUDGED).inc(len(left))
            return
        except BaseException:
            # the events of the chunk committed alone before the failure are counted now, as their lines were
            # written: a retry of the request answering them as stored counts them no more (IngestResult.reported)
            _count_judged(plan, chunk_results, results, route=route)
            raise
        _count_judged(plan, chunk_results, results, route=route)


def _count_judged(
    plan: Sequence[int], chunk_results: Sequence[IngestResult], results: list[IngestResult | None], *, route: str
) -> None:
    """Write the outcomes of a planned transaction's first events into `results` at their indices (`plan`'s) and
    count them, one metric update per type and outcome, not per event (those an earlier try of their request counted,
    IngestResult.reported, not again)."""
    for index, result in zip(plan, chunk_results, strict=False):
        results[index] = result
    counted = Counter((type_label(result.type), result.outcome) for result in chunk_results if not result.reported)
    for (label, outcome), count in counted.items():
        INGEST_EVENTS.labels(route, label, outcome).inc(count)


POISON_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    ArithmeticError,
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    RecursionError,
)
"""Failures one event causes whenever it is judged, however often (a value the database or the code cannot take: a
defect, since reading should have refused it): the event is rejected on its own, kept for an operator to replay
once fixed, and the events beside it go on. Any other failure (the database or broker away, a timeout) is the
moment's, not the event's: it propagates, and the delivery is tried again."""


async def _judge_alone(
    reading: Reading,
    uow_factory: Callable[[], MeetingsUnit],
    *,
    route: str,
    scope: str | None,
    sources: Sources,
    account: str | None = None,
    deadline: float | None = None,
) -> IngestResult:
    """One event of a failed chunk judged in a transaction of its own; a poison failure rejects it alone.
    DeadlinePassed when `deadline` (monotonic, see ingest_readings) comes before its transaction commits."""
    try:
        (result,) = await with_retries(
            lambda: _judge_in_one_transaction(
                [reading], uow_factory, route=route, scope=scope, sources=sources, account=account, deadline=deadline
            ),
            what="ingest_event",
        )
    except DeadlinePassed:
        raise
    except Exception as exc:
        return await _failed_alone(
            reading,
            exc,
            uow_factory,
            route=route,
            scope=scope,
            account=account,
            sources_listed=sources is not None,
            deadline=deadline,
        )
    return result


async def _failed_alone(
    reading: Reading,
    exc: Exception,
    uow_factory: Callable[[], MeetingsUnit],
    *,
    route: str,
    scope: str | None,
    account: str | None = None,
    sources_listed: bool,
    deadline: float | None = None,
) -> IngestResult:
    """An event whose own transaction failed: rejected, stored and published, when the failure is its own
    (POISON_ERRORS), so that it holds up no other event (a trial's member admitted on 9999-12-31 failed its batch's
    HTTP call with 500 and dead-lettered an AMQP batch with the valid events after it); else `exc` is raised.
    DeadlinePassed, nothing stored, when `deadline` (monotonic, see ingest_readings) comes before that commits."""
    if not isinstance(exc, POISON_ERRORS):
        raise exc
    log.error(
        "ingest_event_failed",
        **reading_identity(reading),
        error=repr(exc),
        exc_info=exc,
    )
    error = InvalidEvent(
        f"{reading.type or 'event'}: could not be applied ({type(exc).__name__}: {str(exc)[:300]}); stored for an"
        " operator to replay once the cause is fixed"
    )
    with trace.tracing() as rejected:
        async with uow_factory() as uow:
            if deadline is not None:
                await wait_at_most(uow, deadline)
            with timeouts_as_deadline(deadline):
                result = await _reject_reading(
                    reading,
                    error,
                    uow,
                    route=route,
                    received_at=now(),
                    scope=scope,
                    account=account,
                    sources_listed=sources_listed,
                )
                await commit_by(uow, deadline, "rejected too late to commit")
        trace.report(rejected)  # its event_rejected line, once committed
    return result


async def lock_readings(readings: Sequence[Reading], uow: MeetingsUnit) -> None:
    """Take every lock the events need at once (uow.ingest.lock), so none is judged before all its keys are held."""
    locks = LockSet()
    for reading in readings:
        locks |= reading.locks
    await uow.ingest.lock(locks)


async def _judge_in_one_transaction(
    chunk: Sequence[Reading],
    uow_factory: Callable[[], MeetingsUnit],
    *,
    route: str,
    scope: str | None,
    sources: Sources = None,
    account: str | None = None,
    deadline: float | None = None,
) -> list[IngestResult]:
    with trace.tracing() as released:
        async with uow_factory() as uow:
            if deadline is not None:  # no statement, lock wait included, outlasts the call (DeadlinePassed)
                await wait_at_most(uow, deadline)
            # several events: a failure rolls the whole transaction back and ingest_batch judges them one per
            # transaction (with savepoints), so no savepoint per event here
            with timeouts_as_deadline(deadline):
                results = await _judge_together(
                    chunk,
                    uow,
                    savepoint=len(chunk) == 1,
                    route=route,
                    scope=scope,
                    sources=sources,
                    account=account,
                    deadline=deadline,
                )
                await commit_by(uow, deadline, "judged too late to commit")
            outcomes = Counter(result.outcome for result in results)
            # a chunk is one body's (or single messages'): its first event's route name is every one's
            log.info("ingest_transaction_judged", route=inbox_route(route, chunk[0]), events=len(chunk), **outcomes)
            for position, (reading, result) in enumerate(zip(chunk, results, strict=True)):
                if result.outcome != "accepted":  # once committed: held, duplicate and rejected ones have own lines
                    continue
                if first_accepted_line(reading):
                    fields = came_by(reading, route, sent_by(reading, account))
                    log.info("event_accepted", **reading_identity(reading), **fields)
                else:  # an earlier try of its request stored, logged and counted it: answered as stored, no more
                    results[position] = replace(result, reported=True)
            trace.report(released)  # the held events they released, once committed
            deferred = uow.ingest.deferred
    if deadline is None or time.monotonic() < deadline:  # else the sweep settles them (RELEASE_SWEEP_AFTER)
        await settle_released_safely(deferred, uow_factory)
    return results


DEADLINE_ERRORS = (asyncpg.exceptions.LockNotAvailableError, asyncpg.exceptions.QueryCanceledError)
"""What PostgreSQL raises when wait_at_most's lock_timeout or statement_timeout ends a statement."""


@contextmanager
def timeouts_as_deadline(deadline: float | None) -> Iterator[None]:
    """Inside a transaction bounded by wait_at_most: PostgreSQL's lock or statement timeout (DEADLINE_ERRORS) raised
    as DeadlinePassed; with no `deadline` (monotonic) they are raised as they are."""
    try:
        yield
    except DEADLINE_ERRORS as exc:
        if deadline is None:
            raise
        raise DeadlinePassed(repr(exc)) from exc


async def commit_by(uow: MeetingsUnit, deadline: float | None, late: str) -> None:
    """Commit `uow`'s transaction unless `deadline` (monotonic; None: no bound) has passed: DeadlinePassed(`late`),
    the transaction rolled back on the way out."""
    if deadline is not None and time.monotonic() >= deadline:
        raise DeadlinePassed(late)
    await uow.commit()


async def wait_at_most(uow: MeetingsUnit, deadline: float) -> None:
    """Bound every lock wait and statement of `uow`'s transaction by the time left until `deadline` (monotonic);
    DeadlinePassed when none is left."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlinePassed("no time left to begin")
    await uow.ingest.wait_at_most(left)


async def judge_in_groups(
    readings: Sequence[Reading], uow: MeetingsUnit, *, route: str, received_at: datetime
) -> list[IngestResult]:
    """Judge the readings in order inside the caller's transaction (the caller commits), EVENTS_PER_TRANSACTION at
    a time as a batch's transaction judges them: each group's locks, inbox rows and reads in one statement each, no
    savepoint per event (a failure propagates and the caller's transaction rolls back), and the attendance histories
    the group changed announced once at its end (PendingHistories): announced per event, each announcement read the
    histories and so sent every queued write first, about fourteen statements per roster. The outcomes in the order
    of `readings`."""
    results: list[IngestResult] = []
    for start in range(0, len(readings), EVENTS_PER_TRANSACTION):
        group = readings[start : start + EVENTS_PER_TRANSACTION]
        results += await _judge_together(group, uow, savepoint=False, route=route, received_at=received_at)
    return results


async def _judge_together(
    readings: Sequence[Reading],
    uow: MeetingsUnit,
    *,
    savepoint: bool,
    route: str,
    received_at: datetime | None = None,
    scope: str | None = None,
    sources: Sources = None,
    account: str | None = None,
    deadline: float | None = None,
) -> list[IngestResult]:
    """Judge `readings` in order in `uow`'s transaction as one group (the caller commits): their locks and inbox rows
    in one statement each, what several need read at once (prefetch), each judged as judge judges it, and the
    attendance histories they changed announced once at the end (PendingHistories). The outcomes in order;
    DeadlinePassed when `deadline` (monotonic) comes before the last is judged."""
    await lock_readings(readings, uow)
    recorded = await record_new(readings, uow, route=route)
    if len(readings) > 1:  # one event reads what it needs as it goes: no statement would be saved
        await prefetch([reading.event for reading in readings if reading.event is not None], uow)
    histories = PendingHistories()
    results = []
    for index, reading in enumerate(readings):
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlinePassed(f"{index} of {len(readings)} judged")
        result = await judge(
            reading,
            uow,
            route=route,
            received_at=received_at,
            scope=scope,
            sources=sources,
            recorded=index in recorded,
            savepoint=savepoint,
            histories=histories,
            account=account,
        )
        results.append(result)
    await publish_pending_histories(histories, uow)
    return results


async def record_new(chunk: Sequence[Reading], uow: MeetingsUnit, *, route: str) -> set[int]:
    """Put the chunk's events in the inbox in one statement, each with the route it came by (inbox_route of
    `route`); return the indices of those recorded as new.

    Only an event whose identity comes first in the chunk is counted: a copy after it (or after a rejected
    reading of that identity, which forgets the inbox row) is judged against the inbox one by one. An event processed
    before is judged from this statement's read (IngestRepository.processed_before: a resent batch costs no statement
    per event) unless the transaction wrote its inbox row or hold first (a held event released and rejected in this
    transaction may let it in again): then it is checked again on its own."""
    first: dict[tuple[str, str], int] = {}
    seen: set[tuple[str, str]] = set()
    for index, reading in enumerate(chunk):
        identity = (reading.source, reading.event_id)
        if reading.event is not None and identity not in seen:
            first[identity] = index
        seen.add(identity)
    entries = [
        (source, event_id, chunk[index].digest, inbox_route(route, chunk[index]), chunk[index].request_mark)
        for (source, event_id), index in first.items()
    ]
    before = await uow.ingest.record_inbox(consumer=INBOX, entries=entries)
    return {index for identity, index in first.items() if identity not in before}


async def dry_run(
    raws: Sequence[Any],
    uow_factory: Callable[[], MeetingsUnit],
    *,
    route: str,
    scope: str | None = None,
    sources: Sources = None,
    checked: bool = False,
    account: str | None = None,
) -> list[IngestResult]:
    """Judge the events exactly as ingest_batch would (each seeing the ones before it), in one transaction that is
    then rolled back: no state, inbox, hold, rejection or outbox row stays, so nothing is published either."""
    readings = [read_raw(raw, checked=checked) for raw in raws]
    return await dry_run_readings(readings, uow_factory, route=route, scope=scope, sources=sources, account=account)


async def dry_run_readings(
    readings: Sequence[Reading],
    uow_factory: Callable[[], MeetingsUnit],
    *,
    route: str,
    scope: str | None = None,
    sources: Sources = None,
    account: str | None = None,
) -> list[IngestResult]:
    """dry_run of events already read (read_raw)."""

    async def judge_all() -> list[IngestResult]:
        async with uow_factory() as uow:
            await lock_readings(readings, uow)
            results = [
                await judge(reading, uow, route=route, scope=scope, sources=sources, account=account)
                for reading in readings
            ]
            await uow.rollback()
        return results

    with structlog.contextvars.bound_contextvars(dry_run=True):
        results = await with_retries(judge_all, what="dry_run")
        log.info("ingest_dry_run", events=len(readings), outcomes=[result.outcome for result in results])
    return results


async def ingest_delivery(
    body: bytes,
    uow_factory: Callable[[], MeetingsUnit],
    *,
    batch: bool,
    route: str = "amqp",
    headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    content_type: str | None = CLOUDEVENT_CONTENT_TYPE,
    dry_run: bool = False,
    scope: str | None = None,
    sources: Sources = None,
    system: bool = False,
    routing_key: str | None = None,
    message_id: str | None = None,
    account: str | None = None,
    deadline: float | None = None,
    request: str | None = None,
) -> list[IngestResult]:
    """Judge a body's events (one, or a batch) a chunk per transaction, so a redelivered batch finds the done ones
    duplicate; a batch body that cannot be read is one stored and published rejection (field `body`).

    The AMQP consumer and the HTTP route (`ingest_body`) both come here: one reading of the bytes for both. A
    message in binary content mode (attributes in headers, shared.bindings) is translated into the structured
    event it stands for; one in neither mode is a stored and published rejection naming what is missing.
    A dry run answers the same outcomes and keeps nothing. Only this system's own producers (`system`: an AMQP
    publisher of CHIBO_SYSTEM_PUBLISHERS) may send under a urn:chibo: source; from anyone else it is refused (as_feed).
    `routing_key`: an AMQP delivery's, which must be its event's type or `batch` (as_routed); None over HTTP.
    `message_id`: an AMQP delivery's `message_id` property, kept with each of its events' holds and rejections
    (Reading.message_id); None over HTTP. `account`: the sending account (see judge): the API account over HTTP, the
    broker user whose RabbitMQ-checked `user_id` an AMQP message carried (None: it carried none), kept with its
    events' holds and rejections and a whole body's rejection alike. `deadline`: the time.monotonic() moment the
    HTTP caller's answer is due (ingest_readings; not for a dry run, which keeps nothing); None on AMQP. `request`:
    the token of the delivery, the same on each try of it (ingest_readings; None: this call is the request).
    """

    async def judge_readings(readings: Sequence[Reading]) -> list[IngestResult]:
        own = body_correlation_id(readings)
        if own is not None:  # over HTTP: the request is followed by its events' own id from here on
            follow_request_by(own)
        readings = [as_routed(reading, routing_key, batch=batch) for reading in as_sent_by(readings, system=system)]
        correlation_id = request_correlation_id()  # over HTTP: the gateway's, sent with the RPC, or its events' own
        if correlation_id:
            readings = [with_request_correlation(reading, correlation_id) for reading in readings]
        if message_id:
            readings = [with_message_id(reading, message_id) for reading in readings]
        if batch:
            readings = [in_a_batch(reading) for reading in readings]
        if dry_run:
            return await dry_run_readings(
                readings, uow_factory, route=route, scope=scope, sources=sources, account=account
            )
        return await ingest_readings(
            readings,
            uow_factory,
            route=route,
            scope=scope,
            sources=sources,
            account=account,
            deadline=deadline,
            request=request,
        )

    if not batch:
        try:
            incoming = read_message(headers or {}, content_type, body, route=route)
        except UnreadableHeaders as exc:  # judged as the event its other headers name (its source first)
            return await judge_readings([binary_reading(exc)])
        except InvalidEvent as exc:
            refused = exc
            if len(body) > MAX_EVENT_BYTES:  # a size limit before what the body is (judge): over it, no event at all
                refused = InvalidEvent(too_large(len(body)), field="body", problem="too_large")
            if not dry_run:
                await _reject_body(
                    uow_factory,
                    body,
                    reason=refused.reason,
                    field=refused.field,
                    route=route,
                    event_type="",
                    scope=scope,
                    message_id=message_id,
                    account=account,
                    sources_listed=sources is not None,
                )
            # neither mode
            problem = refused.problem or "neither_mode"
            return [IngestResult("", "", "", "rejected", refused.reason, refused.field, problem)]
        if incoming.mode is Mode.BINARY:
            return await judge_readings([binary_reading(incoming)])
    if batch:
        try:
            readings = read_batch_body(body)
        except InvalidEvent as exc:
            if not dry_run:
                await _reject_body(
                    uow_factory,
                    body,
                    reason=exc.reason,
                    field=exc.field,
                    route=batch_route(route),  # a batch body refused whole came by the batch route, as its items do
                    event_type="batch",
                    scope=scope,
                    message_id=message_id,
                    account=account,
                    sources_listed=sources is not None,
                )
            return [IngestResult("", "", "batch", "rejected", exc.reason, exc.field, exc.problem)]
        return await judge_readings(readings)
    return await judge_readings([read_raw(body)])


def read_batch_body(body: bytes | str) -> list[Reading]:
    """A batch body's events, each read by read_raw (an item over the per-event limit or no object rejected alone);
    InvalidEvent naming `body` when it is no batch (read_batch: not JSON, not UTF-8, no array, empty, over the event
    count). The first reading of a batch (ingest_delivery) and its replay (replay_rejection) both read it here."""
    read = read_batch(body)
    # its text found clean once: no walk per item; an item that is no object is rejected alone
    items = [
        TooLarge(item, read.sizes[index])
        if index in read.sizes
        else item
        if isinstance(item, dict)
        else NotAnObject(item)
        for index, item in enumerate(read.items)
    ]
    at = now()
    return [read_raw(item, checked=read.checked, at=at) for item in items]


async def _reject_body(
    uow_factory: Callable[[], MeetingsUnit],
    body: bytes,
    *,
    reason: str,
    field: str | None,
    route: str,
    event_type: str,
    scope: str | None = None,
    message_id: str | None = None,
    account: str | None = None,
    sources_listed: bool,
) -> None:
    """Store and publish the rejection of a whole body that holds no event to judge; one over 1 MiB is kept as a
    prefix and its size, any other whole (a batch over the event count too: its replay reads it again as a batch,
    read_body); `message_id`: the AMQP message it came in; `account`: who sent it (see ingest_delivery)."""
    text = body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    raw = bounded_text(text, size=len(body)) if len(body) > MAX_EVENT_BYTES else text
    await _store_body_rejection(
        uow_factory,
        raw,
        reason=reason,
        field=field,
        route=route,
        event_type=event_type,
        scope=scope,
        message_id=message_id,
        account=account,
        sources_listed=sources_listed,
    )


async def _store_body_rejection(
    uow_factory: Callable[[], MeetingsUnit],
    raw: str,
    *,
    reason: str,
    field: str | None,
    route: str,
    event_type: str,
    scope: str | None,
    message_id: str | None = None,
    account: str | None = None,
    sources_listed: bool,
) -> None:
    """Store and publish, in one transaction, the rejection of a whole body (no source or id) kept as `raw`, with the
    AMQP `message_id` it came in (None over HTTP) and who sent it (`account`, see ingest_delivery); `sources_listed`:
    the rule its events would have been judged by (its sender's sources list, False: the registry), see reject."""
    with trace.tracing() as rejected:
        async with uow_factory() as uow:
            await reject(
                uow,
                source="",
                event_id="",
                event_type=event_type,
                reason=reason,
                field=field,
                raw=raw,
                route=route,
                received_at=now(),
                correlation_id=request_correlation_id(),  # over HTTP the gateway's; an AMQP body's line its message
                scope=scope,
                account=account,
                message_id=message_id,
                sources_listed=sources_listed,
            )
            await uow.commit()
        trace.report(rejected)  # its event_rejected line, once committed


def cut_body_reason(limit: int) -> str:
    """Why a body over the gateway's limit is refused: the very words of the gateway's 413."""
    return body_over_limit(limit)


def cut_text(prefix: bytes, *, limit: int, declared: int | None) -> str:
    """A cut body as stored with its rejection: its first characters (STORED_PREFIX at most, none when nothing of it
    was read) and its size, which shared.reading.KEPT_PREFIX recognises, so that a replay never judges the prefix as
    the body."""
    text = raw_text(prefix[: STORED_PREFIX * 4])[:STORED_PREFIX]
    size = f"{declared} bytes in all" if declared is not None else f"more than {limit} bytes in all"
    return f"{text}… ({size})"


async def reject_cut_body(
    prefix: bytes,
    uow_factory: Callable[[], MeetingsUnit],
    *,
    limit: int,
    declared: int | None,
    batch: bool,
    route: str,
    scope: str | None = None,
    sources: Sources = None,
    headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    dry_run: bool = False,
    account: str | None = None,
) -> list[IngestResult]:
    """Store and publish the rejection of a body the gateway refused as over its limit (IngestBody.over_limit),
    naming `body`, with what it read of it: no event of it is judged, as none was read whole. A dry run keeps
    nothing and answers the same. `account`: the API account that sent it (the gateway authenticates the caller
    before it reads the body), kept as the rejection's sender like any other refused body's (ingest_delivery).

    A body in binary content mode (`headers`: its `ce-` attributes) still says which event it is in its headers,
    read whole: its rejection carries that identity (source, id, type), as an oversized structured event's read
    whole does (read_raw), and is judged as that event's (its source first, check_source). A structured body cut
    at the limit did not read, so nothing of it names it."""
    reason = cut_body_reason(limit)
    event_type = "batch" if batch else ""
    identity = ("", "", "") if batch else cut_body_identity(headers, route=route)
    if any(identity):
        error = InvalidEvent(reason, field="body", problem="too_large")
        text = cut_text(prefix, limit=limit, declared=declared)
        reading = as_feed(Reading(text, *identity, error=error))  # only POST /v1/events cuts: an integration's
        reading = with_request_correlation(reading, request_correlation_id())
        if dry_run:
            return await dry_run_readings(
                [reading], uow_factory, route=route, scope=scope, sources=sources, account=account
            )
        return await ingest_readings([reading], uow_factory, route=route, scope=scope, sources=sources, account=account)
    if not dry_run:
        raw = cut_text(prefix, limit=limit, declared=declared)
        await _store_body_rejection(
            uow_factory,
            raw,
            reason=reason,
            field="body",
            route=batch_route(route) if batch else route,
            event_type=event_type,
            scope=scope,
            account=account,
            sources_listed=sources is not None,
        )
    return [IngestResult("", "", event_type, "rejected", reason, "body", "too_large")]


def cut_body_identity(
    headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None, *, route: str
) -> tuple[str, str, str]:
    """The bounded (source, id, type) a binary-mode message's attribute headers give (read_message's reading of
    them); empty when there are none, and an attribute that cannot be read (sent twice, a bad encoding) gives none."""
    if not headers:
        return ("", "", "")
    http = route != "amqp"
    try:
        attributes = binary_attributes(headers, prefixes=HTTP_PREFIXES if http else AMQP_PREFIXES, percent_encoded=http)
    except UnreadableHeaders as exc:  # the identity the readable ones give
        attributes = exc.readable
    return peek_identity(attributes, attributes=True)


def _loads_or_none(raw: Any, *, limit: int = MAX_EVENT_BYTES) -> Any:
    """The value of JSON text, or None for anything else (a value that is not text, or text that does not read)."""
    if not isinstance(raw, bytes | str):
        return None
    try:
        return loads(raw, limit=limit)
    except (ReadError, TypeError):
        return None


async def settle_held(
    event: Event[Any],
    uow: MeetingsUnit,
    row: Mapping[str, Any],
    *,
    savepoint: bool = True,
    histories: "PendingHistories | None" = None,
) -> IngestResult:
    """settle a held event again (`retrying`): its route, time received, scope, sending account and AMQP message id
    from its held_event `row`. Its source is judged first, by the rule its arrival was (the row's sources_listed),
    as a replay's is (sender_sources): judged by a list, a source its sender no longer holds, or one registered to
    another account while it waited, refuses it (refuse_held_source); judged by the registry (a scoped call without
    a list), only one registered to another unit since does."""
    sources = await sender_sources(
        str(row["source"]), row["scope"], row["account"], uow, listed=bool(row["sources_listed"])
    )
    refused = await check_source(str(row["source"]), uow, sources=sources, scope=row["scope"])
    if refused is not None:
        return await refuse_held_source(event, uow, row, refused, sources_listed=sources is not None)
    return await settle(
        event,
        uow,
        route=row["route"],
        received_at=row["held_at"],
        retrying=True,
        scope=row["scope"],
        savepoint=savepoint,
        histories=histories,
        account=row["account"],
        message_id=row.get("message_id"),
        sources_listed=sources is not None,
    )


HELD_SOURCE_REFUSED = "judged again on its release from the hold on {waiting_for}, which it was held on since {held_at}"
"""What an operator reads after a held event's source refusal (refuse_held_source): it was not refused on arrival."""


async def refuse_held_source(
    event: Event[Any], uow: MeetingsUnit, row: Mapping[str, Any], refused: InvalidEvent, *, sources_listed: bool
) -> IngestResult:
    """Stop holding an event whose sender may no longer use its source (settle_held): stored and published as a
    rejection naming `source` with check_source's code (source_not_registered for a scoped account), as its sender's
    (the held row's account), so an operator sees it and may replay it once that account holds the source again;
    its inbox row is forgotten, so the source's owner may send its own event under that id; `sources_listed`: the
    rule its source was judged by (see reject)."""
    await uow.ingest.release(source=event.source, event_id=event.id)
    detail = f"{refused.reason} ({HELD_SOURCE_REFUSED.format(waiting_for=row['waiting_for'], held_at=row['held_at'])})"
    await reject(
        uow,
        source=event.source,
        event_id=event.id,
        event_type=event.type,
        reason=detail,
        field=refused.field,
        raw=event.envelope.to_json().decode(),
        route=row["route"],
        received_at=row["held_at"],
        correlation_id=event.correlation_id,
        scope=row["scope"],
        refusal=refused.refusal,
        answer=refused.reason,
        account=row["account"],
        message_id=row.get("message_id"),
        sources_listed=sources_listed,
    )
    log.warning(
        "held_event_source_refused",
        event_id=event.id,
        event_type=event.type,
        event_source=event.source,
        correlation_id=event.correlation_id,
        account=row["account"],
        waiting_for=row["waiting_for"],
        code=refused.refusal.code if refused.refusal else None,
    )
    identity = (event.id, event.source, event.type)
    return IngestResult(*identity, "rejected", refused.reason, refused.field, refusal=refused.refusal, detail=detail)


async def settle(
    event: Event[Any],
    uow: MeetingsUnit,
    *,
    route: str,
    received_at: datetime,
    retrying: bool,
    scope: str | None = None,
    savepoint: bool = True,
    histories: "PendingHistories | None" = None,
    account: str | None = None,
    message_id: str | None = None,
    data_json: bytes = b"",
    sources_listed: bool,
) -> IngestResult:
    """Apply, hold or reject one validated event; applying it releases the events that waited for it.

    Appliers raise Held or InvalidEvent before writing anything (apply.py), so the savepoint is a guard only;
    `savepoint=False` (a round trip less each way) when any failure rolls the transaction back anyway;
    `histories` and `account`: see judge; `message_id`: the AMQP message it came in (Reading.message_id), kept with
    its hold or rejection; `data_json`: its data as Reading.data_json wrote it (b"": not at hand), re-published
    without dumping the model again; `sources_listed`: its source was judged by its sender's list (False: by the
    registry), kept with its hold or rejection so that its release or replay is judged by the same rule."""
    with message_context(
        event_id=event.id, event_type=event.type, correlation_id=event.correlation_id, source=event.source
    ):
        return await _settle(
            event,
            uow,
            route=route,
            received_at=received_at,
            retrying=retrying,
            scope=scope,
            savepoint=savepoint,
            histories=histories,
            account=account,
            message_id=message_id,
            data_json=data_json,
            sources_listed=sources_listed,
        )


async def _settle(
    event: Event[Any],
    uow: MeetingsUnit,
    *,
    route: str,
    received_at: datetime,
    retrying: bool,
    scope: str | None,
    savepoint: bool,
    histories: "PendingHistories | None",
    account: str | None,
    message_id: str | None,
    data_json: bytes,
    sources_listed: bool,
) -> IngestResult:
    identity = (event.id, event.source, event.type)
    view: ScopedView | None = None
    try:
        async with uow.savepoint() if savepoint else nullcontext():  # a late rejection undoes partial writes
            view = await check_write_scope(event, uow, scope)
            applying = SENDER.set(account)  # kept with the roster or start fact it leaves, for a later fact's rejection
            try:
                applied = await APPLIERS[event.type](event, view.unit_of_work(uow) if view else uow)
            finally:
                SENDER.reset(applying)
    except domain.Held as held:
        detail = held.detail or (view.detail(held.waiting_for) if view else None)
        if detail:
            log.warning("event_outside_scope", event_id=event.id, scope=scope, field=held.field, reason=detail)
        await uow.ingest.hold(
            source=event.source,
            event_id=event.id,
            event_type=event.type,
            raw=event.envelope.model_dump(mode="json", exclude_none=True),
            waiting_for=held.waiting_for,
            reason=detail or held.reason,
            field=held.field,
            route=route,
            scope=scope,
            refusal=held.refusal,
            answer=held.reason,
            account=account,
            message_id=message_id,
            sources_listed=sources_listed,
        )
        trace.line(  # once its transaction committed (trace.report), as event_accepted is
            log.info,
            "event_held",
            **trace.identity(event),
            waiting_for=held.waiting_for,
            route=route,
            sender=account,
            message_id=message_id,
        )
        return IngestResult(
            *identity,
            "held",
            held.reason,
            held.field,
            waiting_for=held.waiting_for,
            refusal=held.refusal,
            detail=detail if detail != held.reason else None,
        )
    except InvalidEvent as exc:
        if retrying:
            await uow.ingest.release(source=event.source, event_id=event.id)
        if isinstance(exc, OutsideScope):
            log.warning("event_outside_scope", event_id=event.id, scope=scope, field=exc.field, reason=exc.detail)
        await reject(
            uow,
            source=event.source,
            event_id=event.id,
            event_type=event.type,
            reason=exc.detail if isinstance(exc, OutsideScope) else exc.reason,
            field=exc.field,
            raw=event.envelope.to_json().decode(),
            route=route,
            received_at=received_at,
            correlation_id=event.correlation_id,
            scope=scope,
            refusal=exc.refusal,
            answer=exc.reason,
            account=account,
            message_id=message_id,
            sources_listed=sources_listed,
        )
        detail = exc.detail if isinstance(exc, OutsideScope) and exc.detail != exc.reason else None
        return IngestResult(*identity, "rejected", exc.reason, exc.field, refusal=exc.refusal, detail=detail)
    if retrying:
        # a replay that held it (an operator's, or a roster re-judged by a member's move) now tells it was applied
        await uow.ingest.release_applied(source=event.source, event_id=event.id, at=now())
    else:  # a fix resent under a rejected event's id closes that rejection (no statement for an event never rejected)
        await uow.ingest.close_superseded(source=event.source, event_id=event.id, at=now())
    await publish_applied(event, applied, uow, histories=histories, data_json=data_json)
    for warning in applied.warnings:
        warn(event, warning, uow, route=route, received_at=received_at)
    if _stdlib_log.isEnabledFor(logging.DEBUG):  # per event only when asked: ingest_transaction_judged counts them
        log.debug("event_applied", event_id=event.id, event_type=event.type, changed=applied.changed)
    await release_waiting(applied.provides, uow, histories=histories, savepoint=savepoint)
    return IngestResult(*identity, "accepted", warnings=applied.warnings)


def warn(event: Event[Any], warning: IngestWarning, uow: MeetingsUnit, *, route: str, received_at: datetime) -> None:
    """Say what an accepted `event` lacks (`warning`, Applied.warnings) beyond its answer: published as
    ingest.warned.v1 (the AMQP route answers only a direct reply-to; its outcome appears on chibo.events), logged
    `event_warned` and counted in chibo_ingest_warnings_total by route, type and code (not in a dry run, whose outbox
    rolls back)."""
    uow.emit(
        new_event(
            type="ingest.warned.v1",
            source=SOURCE,
            subject=event.id,
            data=IngestWarned(
                source=event.source,
                event_id=event.id,
                type=event.type,
                code=warning.code,
                field=warning.field,
                reason=warning.reason,
                member_ids=warning.member_ids,
                missing=warning.missing,
                received_at=received_at,
            ),
            correlation_id=event.correlation_id or event.id,
        )
    )
    log.warning(
        "event_warned",
        event_id=event.id,
        event_type=event.type,
        event_source=event.source,
        route=route,
        code=warning.code,
        field=warning.field,
        member_ids=warning.member_ids,
        missing=warning.missing,
    )
    if not structlog.contextvars.get_contextvars().get("dry_run"):  # a dry run keeps nothing, counts nothing
        INGEST_WARNINGS.labels(metric_route(route), type_label(event.type), warning.code).inc()


async def release_waiting(
    keys: list[str], uow: MeetingsUnit, *, histories: "PendingHistories | None" = None, savepoint: bool = True
) -> None:
    """Settle the held events waiting for the given keys (the caller holds those keys' entities exclusively, so
    every hold made before is seen and none can be made meanwhile). `savepoint`: as the releasing event's (see
    settle): in a transaction of many events any failure rolls it all back, so a released one needs none either
    (each savepoint sent the transaction's queued writes first: 5 % of meetings' busy samples at scale 0.02).

    A held event whose own keys are free is judged again right here, and releases its own waiters in turn; one
    whose keys another transaction holds is marked released instead, to be judged after this commit
    (settle_released): waiting for those keys here could deadlock with their holder."""
    if not keys:
        return
    waiting = [(row, read_event(parse_envelope(row["raw"]))) for row in await uow.ingest.waiting_for(keys)]
    most = _RELEASED_INLINE_MOST.get()
    later = most is not None and len(waiting) > most  # an operator's replay answers before they are judged
    if len(waiting) > 1 and not later:
        # every waiter's keys free (the usual case: a unit releasing its members): all of them held in one statement
        # and what they read loaded in a few, as a batch's events are (_judge_in_one_transaction), not a try-lock and
        # several reads per waiter (held members released one by one were a third of a province-year's statements);
        # else each is tried alone, as below, the keys granted so far staying held (as a waiter's own do)
        together = LockSet()
        for _, event in waiting:
            together |= locks_for(event)
        if await uow.ingest.try_lock(together):
            await prefetch([event for _, event in waiting], uow)
    if later:
        await uow.ingest.defer_releases([(row["source"], row["event_id"]) for row, _ in waiting])
        log.info("held_events_release_deferred", events=len(waiting), keys=keys[:10])
        return
    for row, event in waiting:
        if await uow.ingest.try_lock(locks_for(event)):
            result = await settle_held(event, uow, row, savepoint=savepoint, histories=histories)
            trace.note_held(trace.RELEASE_ROUTE, event, row, result.outcome)
        else:
            await uow.ingest.defer_release(source=row["source"], event_id=row["event_id"])
            log.info(
                "held_event_release_deferred",
                event_id=row["event_id"],
                event_type=event.type,
                event_source=row["source"],
                correlation_id=event.correlation_id,
            )


_RELEASED_INLINE_MOST: ContextVar[int | None] = ContextVar("chibo_released_inline_most", default=None)
"""Within releasing_later(most): an event releasing more held events than `most` marks them all released (judged
after its commit, settle_released) instead of judging them in its own transaction."""


@contextmanager
def releasing_later(most: int) -> Iterator[None]:
    """Within it, an applied event releasing more than `most` held events leaves them to settle_released after its
    commit, so a transaction waited on (an operator's replay, answered within the RPC timeout) stays short: the
    trial's replay releasing ~1,000 held members answered 503 after 25 s though it went on to succeed."""
    token = _RELEASED_INLINE_MOST.set(most)
    try:
        yield
    finally:
        _RELEASED_INLINE_MOST.reset(token)


async def settle_released(released: Sequence[tuple[str, str]], uow_factory: Callable[[], MeetingsUnit]) -> int:
    """Judge again, one transaction each under its own locks, the held events marked released (and those their
    application releases in turn); return how many were settled."""
    queue = list(released)
    settled = 0
    while queue:
        source, event_id = queue.pop(0)
        more = await with_retries(
            lambda source=source, event_id=event_id: _settle_one_released(  # type: ignore[misc]
                source, event_id, uow_factory
            ),
            what="settle_released",
        )
        if more is not None:
            settled += 1
            queue += more
    return settled


async def settle_released_safely(released: Sequence[tuple[str, str]], uow_factory: Callable[[], MeetingsUnit]) -> None:
    """settle_released after a commit: a failure is logged and left to the sweep, never undoing what was committed."""
    if not released:
        return
    try:
        await settle_released(released, uow_factory)
    except Exception as exc:
        log.exception("held_event_release_failed", events=len(released), error=repr(exc))


async def _settle_one_released(
    source: str, event_id: str, uow_factory: Callable[[], MeetingsUnit]
) -> list[tuple[str, str]] | None:
    async with uow_factory() as uow:
        row = await uow.ingest.get_held(source=source, event_id=event_id, lock_row=False)
        if row is None or row["released_at"] is None:
            return None  # settled meanwhile by another transaction
        event = read_event(parse_envelope(row["raw"]))
        await uow.ingest.lock(locks_for(event))
        row = await uow.ingest.get_held(source=source, event_id=event_id, lock_row=True)
        if row is None or row["released_at"] is None:
            return None
        with trace.tracing() as released:
            result = await settle_held(event, uow, row)
            trace.note_held(trace.RELEASE_ROUTE, event, row, result.outcome)
            await uow.commit()
            trace.report(released)
        return uow.ingest.deferred


async def sweep_released(uow_factory: Callable[[], MeetingsUnit], *, limit: int = 500) -> int:
    """Settle the held events released long ago but left unsettled (their process stopped); return how many."""
    async with uow_factory() as uow:
        stale = await uow.ingest.released(older_than=now() - RELEASE_SWEEP_AFTER, limit=limit)
    return await settle_released(stale, uow_factory)


@dataclass
class PendingHistories:
    """The members whose attendance histories a transaction's events changed, each with the last event that changed
    it and that event's meetings (Applied.attendance_changed_for): their member.attendance.updated.v1 is decided
    once, at the end of the transaction, on the histories as they are then (a batch of a year's meetings announces a
    member's figures once, not monthly; one per meeting when that last event changed several rosters)."""

    causes: dict[str, tuple[tuple[str, ...], Event[Any]]] = field(default_factory=dict)


async def publish_pending_histories(histories: PendingHistories, uow: MeetingsUnit) -> None:
    """Publish the gathered attendance histories whose figures moved (see publish_attendance_histories)."""
    if histories.causes:
        await _publish_histories(histories.causes, uow)
        histories.causes.clear()


async def publish_applied(
    event: Event[Any],
    applied: Applied,
    uow: MeetingsUnit,
    *,
    histories: PendingHistories | None = None,
    data_json: bytes = b"",
) -> None:
    """Re-publish a fact that changed the state, and the attendance histories it changed (now, or gathered into
    `histories` for its transaction to publish once at its end); a change not announced (Applied.announced: a schedule
    or move of a cancelled meeting) is stored only. `data_json`: the event's data as Reading.data_json wrote it
    (model_dump_json of the validated model, so parsed it is the model_dump this would make, at a fraction of its
    cost: a roster's dump was ~2 % of meetings' ingest CPU), b"" when not at hand."""
    if applied.changed and applied.announced:
        data = applied.data or (from_json(data_json) if data_json else event.data.model_dump(mode="json"))
        envelope = event.envelope
        uow.emit(  # every attribute read from the validated event, its data dumped from its validated model
            CloudEvent.of_checked(
                id=new_id(),
                source=SOURCE,
                type=envelope.type,
                time=envelope.time,
                time_ns=envelope.time_ns,  # every digit it came with
                subject=applied.subject,
                data=data,
                correlationid=event.correlation_id,
                causationid=envelope.id,
                originsource=envelope.source,  # extension attributes naming the original event
                originid=envelope.id,
            )
        )
    if applied.attendance_changed_for and histories is not None:
        for member_id, meeting_ids in applied.attendance_changed_for.items():
            histories.causes.pop(member_id, None)  # kept in the order of their last change
            histories.causes[member_id] = (meeting_ids, event)
    elif applied.attendance_changed_for:
        await publish_attendance_histories(applied.attendance_changed_for, event=event, uow=uow)


async def publish_attendance_histories(
    meetings_of: Mapping[str, Sequence[str]], *, event: Event[Any], uow: MeetingsUnit
) -> None:
    """member.attendance.updated.v1 for each member of `meetings_of` (member id -> the meetings whose rosters changed
    the member's history, one announcement each) whose figures moved since they were last announced (a member never
    announced counts as announced at zeros): an unchanged history, or the first history of a member never absent, is
    news to nobody."""
    await _publish_histories({member_id: (tuple(meetings), event) for member_id, meetings in meetings_of.items()}, uow)


async def _publish_histories(causes: Mapping[str, tuple[tuple[str, ...], Event[Any]]], uow: MeetingsUnit) -> None:
    """One statement works out which members' figures moved, with their names, and remembers them as announced;
    a member.attendance.updated.v1 for each of a member's meetings (numbered in turn, the last meeting last), in the
    order of `causes`."""
    news = await uow.meetings.attendance_news(
        list(causes), announcements={member_id: len(meetings) for member_id, (meetings, _) in causes.items()}
    )
    for member_id, (meeting_ids, event) in causes.items():
        member = news.get(member_id)
        if member is None:
            continue  # not a current member, or figures as last announced
        for offset, meeting_id in enumerate(meeting_ids, start=1 - len(meeting_ids)):
            _emit_history(
                uow, member_id, member, meeting_id=meeting_id, sequence=member["sequence"] + offset, event=event
            )


def _emit_history(
    uow: MeetingsUnit,
    member_id: str,
    member: Mapping[str, Any],
    *,
    meeting_id: str,
    sequence: int,
    event: Event[Any],
) -> None:
    """Queue one member.attendance.updated.v1: the member's figures and name as `member` (attendance_news) gives them,
    about `meeting_id`, numbered `sequence`, in the time of `event`, which caused it."""
    data = MemberAttendanceUpdated(
        member_id=member_id,
        cell_id=member["cell_id"],
        meeting_id=meeting_id,
        full_name=member["full_name"],
        consecutive_absences=member["consecutive_absences"],
        consecutive_excused_absences=member["consecutive_excused_absences"],
        unexcused_months_last_year=member["unexcused_months_last_year"],
        probation_ends_on=member["probation_ends_on"],
        sequence=sequence,
    )
    uow.emit(
        new_event(
            type="member.attendance.updated.v1",
            source=SOURCE,
            data=data,
            subject=member_id,
            time=event.time_text if event.time_ns else event.time,
            correlation_id=event.correlation_id,
            causation_id=event.id,
        )
    )


async def reject(
    uow: MeetingsUnit,
    *,
    source: str,
    event_id: str,
    event_type: str,
    reason: str,
    field: str | None,
    raw: str,
    route: str,
    received_at: datetime,
    correlation_id: str | None,
    scope: str | None = None,
    refusal: Refusal | None = None,
    keep_processed: bool = False,
    answer: str | None = None,
    account: str | None = None,
    message_id: str | None = None,
    sources_listed: bool,
) -> str:
    """Store a rejection (with why by code, for readers; not published: ingest.rejected.v1 keeps CONTRACT.md's
    fields), publish ingest.rejected.v1, and let a corrected copy with the same id in again (unless
    `keep_processed`: the inbox row is another event's). An event refused again (the same source and id, by any
    route: a copy resent, a person's form sent twice, a replay, a hold run out again) keeps its one rejection and is
    not published again (CONTRACT.md: the pair identifies the event); its sender is answered all the same.

    `answer`: the reason the sender was told when the stored `reason` says more (an id outside a scoped account's
    subtree, handlers/scope.py); ingest.rejected.v1 goes to anyone bound to chibo.events, so it says only that.
    `account`: the account that sent it, by whom a person's refused command is recorded as answered on its form
    (ANSWERED_ON_FORM); never published. `message_id`: the AMQP message the event came in (its `message_id` property,
    not the event's id), for an operator to find it in the broker; never published. `sources_listed`: its source was
    judged by its sender's sources list (False: by the registry), the rule its replay is judged by (replay_sources)."""
    if event_id:  # two copies of one bad event rejected at once refresh one open rejection
        await uow.ingest.lock(LockSet(exclusive=frozenset({event_key(source, event_id)})))
    stored = await uow.ingest.reject(
        source=source,
        event_id=event_id,
        event_type=event_type,
        reason=reason,
        field=field,
        raw=raw,
        route=route,
        received_at=received_at,
        scope=scope,
        refusal=refusal,
        account=account,
        message_id=message_id,
        sources_listed=sources_listed,
    )
    rejection_id = stored.rejection_id
    if event_id and not keep_processed:
        await uow.ingest.forget_processed(consumer=INBOX, source=source, event_id=event_id)
    # never an unjudged value: a correlation id travels in a short AMQP property
    published_correlation = correlation_id or (event_id if is_identifier(event_id) else rejection_id)
    if stored.first:
        uow.emit(
            new_event(
                type="ingest.rejected.v1",
                source=SOURCE,
                subject=event_id if is_identifier(event_id) else rejection_id,
                data=IngestRejected(
                    source=source,
                    event_id=event_id,
                    type=event_type,
                    reason=answer or reason,
                    field=field,
                    received_at=received_at,
                ),
                correlation_id=published_correlation,
            )
        )
    # a whole body rejected has no event id: its line names none (nor an empty one), only its message when it came in
    # one (message_id) and its rejection
    identity = {"event_id": event_id} if event_id else {}
    trace.line(  # once its transaction committed (trace.report), as event_accepted is
        log.warning,
        "event_rejected",
        **identity,
        rejection_id=rejection_id,
        correlation_id=published_correlation,  # as ingest.rejected.v1 carries it, in any context (a batch's item)
        event_source=source,
        event_type=event_type,
        reason=reason,
        field=field,
        route=route,  # as its event_accepted line would name it: `bulk` for a line of a history load
        sender=account,  # the account that sent it (the broker user, the API account), as the rejection stores it
        message_id=message_id,
        again=not stored.first,  # refused before: its one rejection refreshed, nothing published again
    )
    return rejection_id


async def expire_holds(uow: MeetingsUnit, *, timeout: timedelta, limit: int = 500) -> int:
    """Reject the held events that waited longer than `timeout`; return how many.

    Each one is taken only when its keys are free (never waiting while holding rows): a transaction applying
    its referent at this moment keeps it, and the next sweep sees what is left."""
    rows = await uow.ingest.expired(older_than=now() - timeout, limit=limit)
    expired = 0
    for row in rows:
        locks = LockSet(exclusive=frozenset({event_key(row["source"], row["event_id"])}))
        try:
            locks |= locks_for(read_event(parse_envelope(row["raw"])))
        except InvalidEvent:
            pass  # a held event that no longer reads: only its identity to lock
        if not await uow.ingest.try_lock(locks):
            continue
        await uow.ingest.release(source=row["source"], event_id=row["event_id"])
        envelope = json.loads(row["raw"])
        waited = f" (still unresolved after {int(timeout.total_seconds())} s)"
        await reject(
            uow,
            source=row["source"],
            event_id=row["event_id"],
            event_type=row["type"],
            reason=row["reason"] + waited,
            answer=(row["answer"] or row["reason"]) + waited,  # the sender's wording: ingest.rejected.v1 is public
            field=row["field"],
            raw=row["raw"],
            route=row["route"],
            received_at=row["held_at"],
            correlation_id=envelope.get("correlationid"),
            scope=row["scope"],
            refusal=expired_refusal(row["refusal"]),
            account=row["account"],
            message_id=row.get("message_id"),
            sources_listed=bool(row["sources_listed"]),
        )
        expired += 1
    return expired


def expired_refusal(held: Refusal | str | None) -> Refusal:
    """The refusal of a hold whose time ran out (HOLD_EXPIRED), naming the member its hold named, if any: a reader
    (the gateway's web form sent again) says why it was not recorded and what it waited for."""
    if isinstance(held, str):
        held = Refusal.model_validate_json(held)
    return Refusal(code=RefusalCode.HOLD_EXPIRED, member_id=held.member_id if held is not None else None)


class RejectionNotFound(LookupError):
    """No stored rejection has that id."""


class AttemptNotFound(LookupError):
    """The stored rejection has no refused attempt of that number."""


ATTEMPT_COLUMNS = (
    "route",
    "type",
    "reason",
    "field",
    "refusal",
    "raw",
    "scope",
    "message_id",
    "received_at",
    "sender",
    "sources_listed",
)
"""What a refused attempt of a rejection's event (rejection_attempt) says of its own copy; the rest (its status,
who dismissed it) is the rejection's."""


async def as_attempt(rejection_id: str, stored: Mapping[str, Any], attempt: int | None, uow: MeetingsUnit) -> Any:
    """The stored rejection as its refused attempt number `attempt` read (its copy, route, scope, reason), so a replay
    judges that copy; the rejection as stored (its latest attempt received from a sender) when `attempt` is None.
    AttemptNotFound when it has no such attempt."""
    if attempt is None:
        return stored
    row = await uow.ingest.get_attempt(rejection_id, attempt)
    if row is None:
        raise AttemptNotFound(f"rejection {rejection_id} has no attempt {attempt}")
    return {**dict(stored), **{column: row[column] for column in ATTEMPT_COLUMNS}}


class RejectionUnreplayable(Exception):
    """The rejected body was not kept as it was sent (body_kept): only a prefix of one over the size limit, or the text
    of one not valid UTF-8 with U+FFFD for the bytes that did not decode. Judging what was kept again would answer
    another reason than the first and store a new, unreadable rejection; the message says the first reason, and a
    corrected event may still replay it."""

    def __init__(self, rejection_id: str, stored: Mapping[str, Any] | None = None) -> None:
        how = body_not_kept(stored) if stored is not None else "cut"
        kept = (
            "its text was kept with U+FFFD in place of the bytes that are not UTF-8"
            if how == "not_utf8"
            else f"only its first {STORED_PREFIX} characters were kept"
        )
        first = f" (it was refused: {stored['reason']})" if stored is not None else " (it was over the size limit)"
        super().__init__(
            f"rejection {rejection_id}: the body was not kept as sent{first} and {kept}, so it cannot be judged"
            " again as it was; send it again, or replay it with a corrected event"
        )
        self.refusal = Refusal(code=RefusalCode.BODY_NOT_KEPT)


class RejectionReadsNoJson(RejectionUnreplayable):
    """The rejected body was kept whole but reads as no JSON (not JSON, not UTF-8 in binary mode, or nested too deep:
    shared.reading.body_reads_no_json; the operations page hides "Xét lại" by not_replayable_as_sent, which says
    it), so judged again as it was it could only be refused again, by then for another reason (`data: Input should
    be a valid dictionary`); the message says the first reason, and a corrected event may still replay it."""

    def __init__(self, rejection_id: str, stored: Mapping[str, Any]) -> None:
        Exception.__init__(
            self,
            f"rejection {rejection_id}: the body sent cannot be read as JSON (it was refused: {stored['reason']}), so"
            " judged again as it was it would only be refused again; send it again, or replay it with a corrected"
            " event",
        )
        self.refusal = Refusal(code=RefusalCode.BODY_READS_NO_JSON)


class RejectionRefusedAgainAsSent(RejectionUnreplayable):
    """The rejected body was kept whole, but replayed as it was it is certain to be refused again for the same reason
    (its content type refused or absent, an attribute header refused, its batch envelope invalid or over the count,
    no JSON object: shared.reading.refused_again_as_sent; the operations page hides "Xét lại" by
    not_replayable_as_sent, which says it); the message says the first reason, and a corrected event may still replay
    it. A header refused is the kind whose message is not kept as sent: meetings keeps no headers, only the event as
    its sender meant it, which a replay would read as a structured event and let through (a trial's stray `ce_type`
    was replayed as held)."""

    def __init__(self, rejection_id: str, stored: Mapping[str, Any]) -> None:
        Exception.__init__(
            self,
            f"rejection {rejection_id}: the body as sent is certain to be refused again for the same reason (it was"
            f" refused: {stored['reason']}), so it is not judged again as it was; send it again, or replay it with a"
            " corrected event",
        )
        self.refusal = Refusal(code=RefusalCode.REFUSED_AGAIN_AS_SENT)


def not_replayable_as_sent(stored: Mapping[str, Any]) -> RefusalCode | None:
    """Why a stored rejection (or attempt: its `raw` and `reason`) cannot be judged again as it was sent, the first
    that applies: BODY_NOT_KEPT (body_not_kept), BODY_READS_NO_JSON (shared.reading.body_reads_no_json),
    REFUSED_AGAIN_AS_SENT (shared.reading.refused_again_as_sent); None when it can. The one rule
    (shared.reading.not_replayable_reason) of the replay (replayable_as_it_was), of the reply's
    `not_replayable_reason` (queries.REJECTION_COLUMNS), which the operations page offers "Xét lại" by, and of the
    command line's `rejections list`."""
    code = not_replayable_reason(
        stored["raw"], stored["reason"], stored.get("refusal"), names_event=names_event(stored)
    )
    return None if code is None else RefusalCode(code)


NOT_REPLAYABLE: Mapping[RefusalCode, type[RejectionUnreplayable]] = {
    RefusalCode.BODY_NOT_KEPT: RejectionUnreplayable,
    RefusalCode.BODY_READS_NO_JSON: RejectionReadsNoJson,
    RefusalCode.REFUSED_AGAIN_AS_SENT: RejectionRefusedAgainAsSent,
}
"""The refusal of a replay as it was for each code not_replayable_as_sent gives."""


def replayable_as_it_was(rejection_id: str, stored: Mapping[str, Any]) -> None:
    """Refuse to judge a stored rejection (or attempt) again as it was when its body cannot pass
    (not_replayable_as_sent): RejectionUnreplayable when it was not kept as sent, RejectionReadsNoJson when it reads
    as no JSON, RejectionRefusedAgainAsSent when it would be refused again for its first reason; one check for the
    RPC's every caller (API, operations page, command line)."""
    code = not_replayable_as_sent(stored)
    if code is not None:
        raise NOT_REPLAYABLE[code](rejection_id, stored)


def replayable_as_sent_fields(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored rejection's (or attempt's) `raw` and `reason` as its reply says them (RejectionReply's, its
    attempts'): `body_not_kept` and `not_replayable_reason` (not_replayable_as_sent); `raw` may be only its text from
    the last shared.reading.KEPT_MARK on (shared.reading.KEPT_TAIL_SQL), which decides the same: the fields of
    shared.reading.replayable_fields, the command line's too."""
    return replayable_fields(stored["raw"], stored["reason"], stored.get("refusal"), names_event=names_event(stored))


def names_event(stored: Mapping[str, Any]) -> bool:
    """Whether a stored rejection's (or attempt's) body named an event or is a batch (shared.reading.names_an_event):
    a single body that named none (names_no_event) is refused again as sent, whatever its reason said; True when
    `stored` gives no identity to judge by (only its `raw` and `reason`)."""
    if "source" not in stored and "event_id" not in stored:
        return True
    return names_an_event(stored.get("source"), stored.get("event_id"), stored.get("type"))


def body_not_kept(stored: Mapping[str, Any]) -> str | None:
    """Why a stored rejection's body is not the body as it was sent (shared.reading.body_not_kept of its `raw` and
    `reason`): `cut`, `not_utf8`; None when it was kept whole. Readers are told it by replayable_as_sent_fields."""
    return shared_body_not_kept(stored["raw"], stored["reason"])


def names_no_event(stored: Mapping[str, Any]) -> bool:
    """Whether a stored rejection is of a whole body that named no event (no source, no id): a batch that is no
    batch, or a body that is no event; its replay reads the body as its first reading did (read_body)."""
    return not stored["source"] and not stored["event_id"]


def read_body(stored: Mapping[str, Any]) -> list[Reading]:
    """A stored body's events as the first reading read them: a batch's (`type` batch) by read_batch_body, raising
    InvalidEvent as it does (an empty batch, one over the event count), a body that named no event as its text
    (a JSON text is no event, not the body it spells), any other as one event (read_raw)."""
    raw = stored["raw"]
    if names_no_event(stored):
        return read_batch_body(raw) if stored["type"] == "batch" else [read_raw(raw)]
    return [read_raw(_loads_or_none(raw) or raw)]


DISMISSED = "dismissed"
"""The status of a rejection an operator closed without replaying it (dismiss_rejection)."""


class RejectionResolved(Exception):
    """The rejection is no longer open (its event was replayed and accepted, held or found a duplicate, or an
    operator dismissed it): a replay would reopen it. The message and the refusal say which (`outcome`; None for a
    replay from before it was kept, and for a dismissal) and end by what was asked (`action`, replay or dismiss: a
    second dismissal said "nothing to replay")."""

    def __init__(
        self,
        rejection_id: str,
        status: str,
        at: datetime | None,
        outcome: str | None = None,
        *,
        action: Literal["replay", "dismiss"] = "replay",
    ) -> None:
        when = f" at {said_at(at)}" if at else ""
        said = f": {outcome}{when}" if outcome else when
        super().__init__(f"rejection {rejection_id} is already {status}{said}; nothing to {action}")
        self.status = status
        self.at = at
        self.outcome = outcome
        self.refusal = (
            Refusal(code=RefusalCode.ALREADY_DISMISSED, replayed_at=at)
            if status == DISMISSED
            else Refusal(
                code=RefusalCode.ALREADY_REPLAYED,
                replayed_at=at,
                outcome=outcome,
                accepted_at=at if outcome == "accepted" else None,
            )
        )
        """What the RPC answer carries, so a reader needs not parse the moment out of the sentence."""


def check_correction_identity(stored: Any, event: Any) -> None:
    """A correction fixes the data of the event its source sent: it keeps the rejected event's `source`, `id` and
    `type` (issue 11, fault 2: a replay wrote any fact); InvalidEvent naming `event.<attribute>` otherwise."""
    if not isinstance(event, dict):
        raise InvalidEvent("event: a correction is a CloudEvent object", field="event")
    for attribute, column in (("source", "source"), ("id", "event_id"), ("type", "type")):
        if not stored[column] or event.get(attribute) != stored[column]:
            raise InvalidEvent(
                f"event.{attribute}: a correction keeps the rejected event's {attribute} "
                f"({stored[column] or 'unknown: the source must send the event again'!s})",
                field=f"event.{attribute}",
            )


SUBJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "org.unit.upserted.v1": ("id",),
    "member.upserted.v1": ("id",),
    "member.removed.v1": ("id",),
    "monitor.assigned.v1": ("person_id", "cell_id"),
    "meeting.scheduled.v1": ("meeting_id", "cell_id"),
    "task.completed.v1": ("task_id", "meeting_id"),
}
"""The data fields naming what an event of each type is about (its aggregate: a unit, a member, a monitor's cell, a
meeting, which never moves to another cell, DOMAIN.md); every other type in is about one meeting (`meeting_id`)."""


def subject_fields(event_type: str) -> tuple[str, ...]:
    """The data fields naming what an event of `event_type` is about (SUBJECT_FIELDS; `meeting_id` otherwise)."""
    return SUBJECT_FIELDS.get(event_type, ("meeting_id",))


def check_correction_subject(stored: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    """A correction is about what the rejected event was about: its CloudEvents `subject` (absent stays absent) and
    its data's subject fields (subject_fields: `meeting_id`, a member's `id`, ...) as the kept body says them, so an
    operator's replay cannot retarget another meeting, member or unit (trial 15). A value the kept body does not give
    readably (a body that is no JSON object or was not kept whole, a field missing, not an id, or a subject over its
    limit: the fault itself) binds nothing, and the correction supplies it. InvalidEvent naming
    `event.subject` or `event.data.<field>` otherwise."""
    kept = None if body_not_kept(stored) else _loads_or_none(stored["raw"])
    if not isinstance(kept, dict):
        return
    subject = kept.get("subject")
    if subject is None or (isinstance(subject, str) and 0 < len(subject) <= 256):
        if event.get("subject") != subject:
            raise InvalidEvent(
                "event.subject: a correction keeps the rejected event's subject"
                f" ({subject if subject is not None else 'none'}): it is about the same thing",
                field="event.subject",
            )
    data, corrected = kept.get("data"), event.get("data")
    if not isinstance(data, dict):
        return
    for name in subject_fields(str(stored["type"])):
        value = data.get(name)
        if is_identifier(value) and (not isinstance(corrected, dict) or corrected.get(name) != value):
            raise InvalidEvent(
                f"event.data.{name}: a correction keeps the rejected event's {name} ({value}): it is about the same"
                " thing; an event about another one is its source's to send",
                field=f"event.data.{name}",
            )


def replayable(stored: Mapping[str, Any]) -> bool:
    """Whether a stored rejection may be replayed: an open one, or a person's command closed as answered on its form
    (ANSWERED_ON_FORM: not the operators' to act on, but an operator may still judge it again)."""
    return stored["status"] == "open" or (
        stored["status"] == DISMISSED and stored["dismissal_reason"] == ANSWERED_ON_FORM
    )


def resolved(
    rejection_id: str, stored: Mapping[str, Any], *, action: Literal["replay", "dismiss"] = "replay"
) -> RejectionResolved:
    """Why a stored rejection no longer open is not replayed nor dismissed again (`action`, what was asked):
    replayed (when, how judged) or dismissed (when)."""
    if stored["status"] == DISMISSED:
        return RejectionResolved(rejection_id, DISMISSED, stored["dismissed_at"], action=action)
    return RejectionResolved(
        rejection_id, stored["status"], stored["replayed_at"], stored["replay_outcome"], action=action
    )


async def dismiss_rejection(rejection_id: str, uow: MeetingsUnit, *, reason: str, by: str) -> None:
    """Close an open rejection without replaying it (garbage, an event dropped for good), keeping who, when and why:
    it no longer counts as open. RejectionNotFound, or RejectionResolved when it is no longer open (replayed or
    dismissed already; judged under its row's lock, so a replay at the same moment wins or loses whole)."""
    stored = await uow.ingest.get_rejection(rejection_id, lock_row=True)
    if stored is None:
        raise RejectionNotFound(rejection_id)
    if stored["status"] != "open":
        raise resolved(rejection_id, stored, action="dismiss")
    await uow.ingest.dismiss(rejection_id, at=now(), by=by, reason=reason)


def dismissed_said(rejection_ids: Sequence[str], *, by: str, reason: str, named_by: Literal["id", "filter"]) -> None:
    """Log and count rejections an operator closed, one `rejection_dismissed` line each, as a single dismissal and a
    filtered one both say them (chibo_rejections_dismissed_total, `named_by` how they were named); called once their
    transaction committed, so a batch rolled back (and run again) is not counted twice."""
    for rejection_id in rejection_ids:
        log.info("rejection_dismissed", rejection_id=rejection_id, by=by, reason=reason, named_by=named_by)
    REJECTIONS_DISMISSED.labels(named_by).inc(len(rejection_ids))


async def dismiss_matching_rejections(
    selected: RejectionFilter, uow: MeetingsUnit, *, limit: int, reason: str, by: str
) -> list[str]:
    """Close up to `limit` open rejections `selected` chooses, in `uow`'s transaction, as dismiss_rejection closes one
    (same who, when and why); the ids closed (none once every one is closed: idempotent), for the caller to say
    (dismissed_said) once the transaction committed."""
    return await uow.ingest.dismiss_matching(selected, limit=limit, at=now(), by=by, reason=reason)


def listed_sender(stored: Mapping[str, Any]) -> bool:
    """Whether a stored rejection's sender was a scoped integration account judged by its registered sources
    (check_source with a list), as its first judgement tells: only such a sender is refused FOREIGN_SOURCE
    (source_not_registered). Any other rejection's sender either had no list (a secretary's or chair's command the
    gateway sent under its own source, a province-wide account, AMQP: judged by the registry) or used a source of
    its own list, registered to its scope's unit, which the registry lets through alike; a trial's gateway command
    replayed as a scoped account's was refused source_not_registered. False without a scope."""
    if stored["scope"] is None:
        return False
    code = stored_code(stored)
    if code:
        return bool(code == RefusalCode.SOURCE_NOT_REGISTERED)
    return stored["field"] == "source" and str(stored["reason"]).startswith(FOREIGN_SOURCE)  # kept before codes


async def sender_sources(
    source: str, scope: str | None, sender: str | None, uow: MeetingsUnit, *, listed: bool
) -> Sources:
    """The sources an event under `source` that `sender` (an account's subject; None: unnamed) sent with write scope
    `scope` is judged by when judged again (a replay, a held event's release), by the rule its arrival was (`listed`:
    its call carried the sender's sources list): a scoped integration account's listed one, under a source not this
    system's, by the ones that account holds in its unit now (security.md); any other, an unnamed sender's, or one
    that came without a list (a scoped call judged by the registry): None, judged by the registry (check_source)."""
    if listed and scope is not None and sender and not is_reserved_source(source):
        return await uow.ingest.sources_of_account(sender, scope)
    return None


async def replay_sources(stored: Mapping[str, Any], scope: str | None, uow: MeetingsUnit) -> Sources:
    """The sources a replay of a stored rejection (or of one of its attempts) is judged by, as its first submission
    was: its `sender`'s now (sender_sources), so an operator's replay cannot lend it another account's source of the
    same unit, nor one registered to another since (security.md); a source_not_registered rejection of an unnamed
    sender (stored before senders were kept) is judged by none; one that came without a sources list (its
    sources_listed false) by the registry, as it first was."""
    if not stored["sources_listed"]:
        return None
    sender = stored.get("sender")
    sources = await sender_sources(
        str(stored["source"] or ""), scope, str(sender) if sender else None, uow, listed=True
    )
    if sources is None and listed_sender(stored):
        return frozenset()
    return sources


def refused_as_feed(stored: Mapping[str, Any]) -> bool:
    """Whether a stored rejection refused a feed's event under a reserved source (SOURCE_RESERVED): its replay is
    judged as from that feed, so an operator's replay cannot let it in as this system's own."""
    return stored_code(stored) == RefusalCode.SOURCE_RESERVED


def stored_code(stored: Mapping[str, Any]) -> str | None:
    """The refusal code a stored rejection was first refused with (None without one)."""
    refusal = stored["refusal"]
    if isinstance(refusal, str):
        refusal = json.loads(refusal)
    if isinstance(refusal, Refusal):
        return str(refusal.code)
    return refusal.get("code") if isinstance(refusal, Mapping) else None


async def _refused_again(
    rejection_id: str, stored: Mapping[str, Any], error: InvalidEvent, uow: MeetingsUnit
) -> IngestResult:
    """A replayed body that names no event refused again (its first reason, read the same way): kept as the open
    rejection's last replay's, under its row's lock, never a new rejection naming nothing; RejectionResolved when a
    replay at the same moment closed it."""
    locked = await uow.ingest.get_rejection(rejection_id, lock_row=True)
    if locked is None:
        raise RejectionNotFound(rejection_id)
    if not replayable(locked):
        raise resolved(rejection_id, locked)
    await uow.ingest.note_replay_refused(rejection_id, reason=error.reason, field=error.field, refusal=error.refusal)
    log.warning("rejection_replay_refused", rejection_id=rejection_id, reason=error.reason, field=error.field)
    event_type = str(stored["type"] or "")
    return IngestResult("", "", event_type, "rejected", error.reason, error.field, error.problem, refusal=error.refusal)


SENDER_UNKNOWN = (
    "its sender is not recorded (it was refused before meetings kept senders): replay it naming `sender`, the account"
    " that sent it, which must hold this source now"
)
"""What an operator is told when a replay of a scoped account's source_not_registered rejection that records no
sender (stored before meetings 0034) is refused again: only the account that sent it may be lent its sources."""
NAMED_NOT_HOLDING = (
    "the account named as its sender, {sender}, does not hold this source now: name the account that sent it (which"
    " accounts hold a source is not said here: a replay is judged as its sender's, never as any holder's)"
)
"""What an operator is told when the account they named as a rejection's sender (named_sender) does not hold the
event's source now: the replay is refused again and nothing is recorded. The holders stay unsaid: naming whichever
account holds the source would lend it to another account's event (security.md)."""


def named_sender(stored: Mapping[str, Any], scope: str | None, sender: str | None, by: str) -> str | None:
    """The account an operator names as a replayed rejection's sender (`sender`) when the rejection (or its attempt)
    records none, None when none is named or it names the one recorded; InvalidEvent naming `sender` when it records
    another (its message names the one recorded: a replay is judged as the account that sent it, security.md) or
    was not a scoped integration account's under a source of its own (judged by no account's sources, as one that
    came without a sources list), naming `replayed_by` when `by` is empty."""
    if sender is None or sender == stored.get("sender"):
        return None
    if stored.get("sender"):
        raise InvalidEvent(
            f"sender: this rejection records the account that sent it, {stored['sender']}; it is replayed as that one"
            " (replay it without `sender`)",
            field="sender",
        )
    if not domain.sender_nameable(
        sender=None, scoped=scope is not None, source=stored["source"], sources_listed=bool(stored["sources_listed"])
    ):
        raise InvalidEvent(
            "sender: only a scoped integration account's event is judged as its sender's", field="sender"
        )
    if not by:
        raise InvalidEvent("replayed_by: who names the sender is required with `sender`", field="replayed_by")
    return sender


async def replay_rejection(
    rejection_id: str,
    uow: MeetingsUnit,
    *,
    event: Any | None = None,
    attempt: int | None = None,
    sender: str | None = None,
    by: str = "",
) -> IngestResult:
    """Judge a rejected event again (or a corrected one); close the rejection unless it is rejected again. `attempt`:
    the number of the refused attempt whose copy is judged (its body, route and scope); None, the rejection's own,
    the latest attempt received from a sender. AttemptNotFound when it has no such attempt. `sender`: the account an
    operator `by` names as the sender of a rejection that records none (named_sender): judged as that account, and
    recorded as its sender unless refused again. RejectionNotFound; RejectionResolved when it is no longer open;
    as it was, RejectionUnreplayable when it cannot pass (replayable_as_it_was: not kept, no JSON, refused again as
    sent); InvalidEvent for a correction or `sender` refused."""
    stored = await uow.ingest.get_rejection(rejection_id, lock_row=False)
    if stored is None:
        raise RejectionNotFound(rejection_id)
    stored = await as_attempt(rejection_id, stored, attempt, uow)
    if not replayable(stored):  # the answer before any correction is read; judged again under the lock below
        raise resolved(rejection_id, stored)
    if event is not None:
        check_correction_identity(stored, event)
        check_correction_subject(stored, event)
        reading = read_raw(event)
    else:
        replayable_as_it_was(rejection_id, stored)
        try:
            readings = read_body(stored)  # the first reading's, a batch's as a batch
        except InvalidEvent as exc:  # a body that is still no batch: refused again for its own reason
            return await _refused_again(rejection_id, stored, exc, uow)
        if len(readings) != 1:  # a batch that reads now (a rule since relaxed): its events are its sender's to send
            raise RejectionUnreplayable(rejection_id, stored)
        [reading] = readings
        if names_no_event(stored) and reading.error is not None and not (reading.source or reading.event_id):
            return await _refused_again(rejection_id, stored, reading.error, uow)
    identity = {event_key(stored["source"], stored["event_id"])} if stored["event_id"] else set()
    # the event's keys first, then its rejection row: the order every ingest transaction follows
    await uow.ingest.lock(reading.locks | LockSet(exclusive=frozenset(identity)))
    stored = await uow.ingest.get_rejection(rejection_id, lock_row=True)
    if stored is None:
        raise RejectionNotFound(rejection_id)
    stored = await as_attempt(rejection_id, stored, attempt, uow)
    if not replayable(stored):
        # judged under the row's lock: a second replay (or two at once) would store a new open rejection of an event
        # already accepted, or count it twice; the resolved rejection stays as it is
        raise resolved(rejection_id, stored)
    # the replay is judged within the scope the event first came with, and by the sources rule its sender had:
    # an operator cannot widen either (a source refusal replayed was let through)
    scope = stored["scope"]
    if stored["route"] == ROSTER_REJUDGED_ROUTE and scope is None:  # stored before it kept its scope
        scope = await rejudged_scope(uow, str(stored["source"]))
    named = named_sender(stored, scope, sender, by)
    if named is not None:
        stored = {**stored, "sender": named}
    sources = await replay_sources(stored, scope, uow)
    if refused_as_feed(stored):  # a feed's event under a reserved source stays a feed's
        reading = as_feed(reading)
    # a person's command answered on its form stays that person's: its replay held, then run out, names them again
    # and a replay held keeps its sender, so its release is judged as that account's too (settle_held)
    account = stored["dismissed_by"] if stored["status"] == DISMISSED else stored.get("sender")
    result = await judge(reading, uow, route=REPLAY_ROUTE, scope=scope, sources=sources, account=account)
    if named is not None:
        log.warning("rejection_sender_named", rejection_id=rejection_id, sender=named, by=by, outcome=result.outcome)
        if result.outcome != "rejected":
            await uow.ingest.name_sender(rejection_id, sender=named, by=by, at=now())
        elif result.field == "source":  # the account named does not hold the source: say so, not who does
            result = replace(
                result, detail=f"{result.detail or result.reason}; {NAMED_NOT_HOLDING.format(sender=named)}"
            )
    elif result.field == "source" and sources == frozenset() and not stored.get("sender"):  # rejected: no sender
        result = replace(result, detail=f"{result.detail or result.reason}; {SENDER_UNKNOWN}")
    traced = reading_identity(reading)
    named = named_correlation(reading)
    if not (isinstance(named, str) and EXTENSION_VALUE.match(named)):  # followed by the operator's request's, if any
        traced["correlation_id"] = request_correlation_id() or traced["correlation_id"]
    trace.note(
        REPLAY_ROUTE,
        traced,
        result.outcome,
        sender=account,
        message_id=reading.message_id,
    )
    if result.outcome != "rejected":
        await uow.ingest.mark_replayed(rejection_id, at=now(), outcome=result.outcome)
    return result
