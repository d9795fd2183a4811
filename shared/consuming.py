"""How a service consumes events from chibo.events: inbox, one handler per type, explicit settling.

A message carries one event or a batch (`application/cloudevents-batch+json`, CONTRACT.md "Route out");
both are taken here. Subscribers run with AckPolicy.MANUAL and settle every message here:
- handled (or a duplicate by (source, id), or a type this consumer ignores): ack;
- unreadable (bad envelope or data from our own producers, a bug): to the dead letters, saying why: a copy is
  published to `<queue>.dlq` with the cause in `x-chibo-reason` (a `basic.reject` cannot add a header), confirmed,
  then the delivery is acked (when the copy cannot be published: rejected, and the broker dead-letters it without
  the cause, which stays in the log); inside a batch only that event goes there, alone, the rest is applied;
- a dependency that cannot be reached (shared.outages.is_dependency_unavailable: PostgreSQL down, refusing
  connections, a connection lost): the delivery is held, unsettled, and its transaction tried again with a bounded
  backoff until the dependency answers (shared.outages.hold_through_outage), so an outage spends none of its
  delivery limit; only after the service's hold_limit_seconds does it count as the handler error below; when the
  service stops meanwhile (shared.outages.stop_holding) the delivery is handed back (hand_back: a copy published to
  its queue carrying its failed deliveries so far in `x-chibo-deliveries`, confirmed, then the delivery acked), so
  the stop spends none of its delivery limit either;
- a handler error: reject with requeue after a short backoff, which counts toward the quorum
  queue's delivery limit; on its last allowed delivery a message still failing is dead-lettered as above, with the
  error as its cause and `delivery_limit` as its reason.
Every dead letter a consumer writes says how often the queue had delivered it before (`x-chibo-delivery-count`), the
count the operators' listing shows (shared.ops.dead_letters.death_of).

A batch's good events are applied in one transaction, together with those of the batch deliveries that arrived
while the consumer's previous batch transaction ran (shared.group_commit, one group commit per consumer and
process: one transaction at a time, or, for a consumer that names its events' `keys`, several side by side about
disjoint keys, deliveries sharing a key in their order): the inbox records them
all in one statement (a copy of an event earlier in the batch or in an earlier delivery is a duplicate), each run
of one type goes to that type's batch handler when the consumer has one (else its handler, event by event), then
`finish` runs once (evaluation notes every touched cell there) and it commits; each delivery is then settled on its
own events' outcomes. When that fails, each event is tried in its
own transaction, so one failing event does not hold back the others; the message is retried for the failing
ones (the inbox skips the rest), and on its last allowed delivery each event still failing is dead-lettered
alone.
"""

import asyncio
import functools
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import aiormq
import asyncpg
from aio_pika.abc import AbstractIncomingMessage
from faststream.message import StreamMessage
from faststream.rabbit import RabbitMessage

from shared.backlog import in_progress
from shared.bindings import Incoming, Mode, UnreadableHeaders, identity_attributes, read_message
from shared.config import ServiceSettings, broker_user_of
from shared.contracts.base import EventData
from shared.contracts.registry import OWNERS, read_event
from shared.envelope import (
    CLOUDEVENT_CONTENT_TYPE,
    CloudEvent,
    Event,
    InvalidEvent,
    is_batch,
    is_identifier,
    parse_envelope,
    peek_identity,
    read_batch,
)
from shared.group_commit import GroupCommit
from shared.logs import get_logger, message_context, run_context
from shared.metrics import EVENTS_CONSUMED, type_label
from shared.outages import HandBack, hold_through_outage, is_dependency_unavailable
from shared.reading import MAX_EVENT_BYTES, bounded, event_over_limit
from shared.telemetry import current_trace_context, traces_by_cause
from shared.topology import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE
from shared.unit_of_work import PgUnitOfWork

log = get_logger(__name__)

UowT = TypeVar("UowT", bound=PgUnitOfWork, contravariant=True)
DEFAULT_DELIVERY_LIMIT = 5
"""The delivery limit of the system's consumer queues (shared.topology.ConsumerQueue)."""
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)
"""Errors that trying the same transaction again a moment later usually clears."""
TRANSACTION_ATTEMPTS = 4
MAX_GROUP_EVENTS = 4000
"""At most this many events of batch deliveries waiting together share one transaction (a delivery is never cut)."""


BatchKeys = Callable[[Event[Any]], Collection[Hashable]]
"""What applying an event locks (a consumer's subjects, cells ...): batch deliveries whose events share no key are
applied in transactions side by side; those sharing one, one after the other in their order."""


@dataclass(eq=False, slots=True)
class _Delivery:
    """A batch delivery's good events waiting in its consumer's group commit of batch deliveries."""

    plan: "_Plan"
    items: list["_Item"]
    order: Callable[[Event[Any]], str] | None
    keys: frozenset[Hashable]
    trace: dict[str, str] | None


_groups: dict[tuple[str, int], GroupCommit["_Delivery", None]] = {}


def _group_of(consumer: str, *, keyed: bool, concurrency: int) -> GroupCommit["_Delivery", None]:
    """The group commit of `consumer`'s batch deliveries on the running loop (one per consumer and process): the
    deliveries that arrive while a transaction runs are applied together in the next one, up to MAX_GROUP_EVENTS
    events (a delivery is never cut); with `keyed` (the consumer names its events' keys), up to `concurrency`
    transactions at once about disjoint keys. Without keys one at a time: a batch takes many subjects' locks in its
    events' order, and two such transactions side by side could deadlock each other."""
    at = (consumer, id(asyncio.get_running_loop()))
    group = _groups.get(at)
    if group is None:
        group = _groups[at] = GroupCommit(
            _flush_deliveries,
            name=f"{consumer}.batches",
            max_items=MAX_GROUP_EVENTS,
            window=0,
            concurrency=concurrency if keyed else 1,
            keys=(lambda delivery: delivery.keys) if keyed else None,
            weight=lambda delivery: len(delivery.items),
            max_weight=MAX_GROUP_EVENTS,
        )
    return group


def pending_batches(consumer: str) -> int:
    """Batch deliveries of `consumer` waiting for a transaction on the running loop (not those being applied)."""
    group = _groups.get((consumer, id(asyncio.get_running_loop())))
    return group.pending if group is not None else 0


async def _flush_deliveries(deliveries: list[_Delivery]) -> list[None | Exception]:
    """Apply a group of batch deliveries in one transaction; each one's events carry their outcomes after it, and
    what they cause carries their delivery's trace."""
    traces = {
        item.envelope.id: delivery.trace
        for delivery in deliveries
        if delivery.trace
        for item in delivery.items
        if item.envelope is not None
    }
    first = deliveries[0]
    with traces_by_cause(traces):
        await _apply_group(first.plan, deliveries, order=first.order)
    return [None] * len(deliveries)


class Contradiction(InvalidEvent):
    """A fact contradicting what the consumer already holds about a property that never changes (a meeting's cell:
    meetings refuses such a move on its own input, "a meeting never changes cell"): nothing of its transaction is
    applied, and it is dead-lettered at once naming the field (another delivery would contradict the same)."""


def check_unchanged(field: str, *, subject: str, held: object, sent: object, rule: str) -> None:
    """Contradiction naming `field` when the consumer holds `held` for `subject` (None: nothing held yet) and the
    fact says `sent` instead; `rule` says why the property never changes (e.g. "a meeting never changes cell")."""
    if held is not None and held != sent:
        raise Contradiction(f"{field}: {subject} is {held!r} here, the event says {sent!r}; {rule}", field=field)


def check_same_cell(meeting_id: str, *, held: str | None, sent: str) -> None:
    """Contradiction naming `data.cell_id` (check_unchanged) when the consumer holds meeting `meeting_id` under cell
    `held` (None: not known yet) and a fact sends it under cell `sent` (DOMAIN.md "Meetings": a meeting belongs to its
    cell; meetings refuses such a move on its own input, so a fact saying so is not the system's)."""
    check_unchanged(
        "data.cell_id", subject=f"meeting {meeting_id}", held=held, sent=sent, rule="a meeting never changes cell"
    )


def check_same_kind(unit_id: str, *, held: str | None, sent: str) -> None:
    """Contradiction naming `data.kind` (check_unchanged) when the consumer holds unit `unit_id` of kind `held` (None:
    not known yet) and a snapshot sends kind `sent` (DOMAIN.md "Organization tree"; meetings refuses such a change
    on its own input: "a unit never changes kind")."""
    check_unchanged("data.kind", subject=f"unit {unit_id}", held=held, sent=sent, rule="a unit never changes kind")


class EventHandler(Protocol[UowT]):
    """A use case that applies one event inside a unit of work (it does not commit)."""

    def __call__(self, event: Event[Any], uow: UowT) -> Awaitable[None]: ...


class BatchHandler(Protocol[UowT]):
    """A use case that applies several events of one type, in their order, inside a unit of work (it does not
    commit); it must leave the same state and effects as the type's EventHandler applied to each in turn."""

    def __call__(self, events: Sequence[Event[Any]], uow: UowT) -> Awaitable[None]: ...


class Finish(Protocol[UowT]):
    """Work done once per delivery, after all its events are applied and before the commit."""

    def __call__(self, uow: UowT) -> Awaitable[object]: ...


IDENTITY_FIELDS = (("id", "event_id"), ("type", "event_type"), ("source", "event_source"))
IDENTITY_LIMIT = 200
"""Characters of an identity value a log line keeps (a hostile header must not flood the log)."""


def delivery_identity(raw: AbstractIncomingMessage) -> dict[str, str]:
    """`message_id`, `event_id`, `event_type`, `event_source` and `correlation_id` of a delivery for its failure and
    dead-letter log lines, as far as they can be read without judging the event: `message_id` is the AMQP property
    (the message's own id: a batch's or a copy's is no event's), `event_id` only a CloudEvents `id`, read as the
    dead-letter listing reads it (shared.bindings.identity_attributes: binary-mode headers, else an envelope body up
    to MAX_EVENT_BYTES); the type and correlation id fall back to the AMQP properties (`type`, `correlation_id`), and
    a batch's type is its routing key. Unreadable values are left out; never raises."""
    found: dict[str, str] = {}
    try:
        body = bytes(raw.body)
        attributes = identity_attributes(raw.headers or {}, body)
        if not attributes and body.lstrip()[:1] == b"[":
            attributes = {"type": routed_type(raw)}
        for attribute, field in IDENTITY_FIELDS:
            _keep(found, field, attributes.get(attribute))
        _keep(found, "correlation_id", attributes.get("correlationid"))
    except Exception:  # no body, or worse: what the properties say is all there is
        pass
    # getattr: a log line must never fail, not even on a message without the usual properties
    _keep(found, "message_id", amqp_message_id(raw))
    _keep(found, "event_type", getattr(raw, "type", None) or routed_type(raw))
    _keep(found, "correlation_id", getattr(raw, "correlation_id", None) or found.get("event_id"))
    return found


def routed_type(raw: object) -> str | None:
    """The routing key a delivery's events were published under, which on chibo.events and chibo.ingest is their
    type (a batch's: `batch`): its own, or for a copy published straight to its queue through the default exchange (a
    replayed dead letter, a delivery handed back) the original's, from ORIGIN_HEADERS; None when that copy names none.
    Never the queue's name, under which such a copy arrives (trial 43: a replayed letter logged `event_type`
    `notifications.events`)."""
    if getattr(raw, "exchange", None) == "":
        return _text((getattr(raw, "headers", None) or {}).get(ORIGIN_HEADERS[1]))
    return _text(getattr(raw, "routing_key", None))


def amqp_message_id(raw: object) -> str | None:
    """The AMQP `message_id` property of a delivery (the message's own id, which for a batch or a copy is no event's
    CloudEvents `id`) as text a log line or a row can keep: at most IDENTITY_LIMIT characters, U+0000 replaced; None
    when it has none."""
    value = getattr(raw, "message_id", None)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str) or not value:
        return None
    return value[:IDENTITY_LIMIT].replace("\x00", "\ufffd")


def _keep(found: dict[str, str], field: str, value: object) -> None:
    if field in found:
        return
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str) and value:
        found[field] = value[:IDENTITY_LIMIT]


def item_identity(item: object) -> dict[str, str]:
    """`event_id`, `event_type`, `event_source` and `correlation_id` of one event of a batch (its JSON object) for
    its log lines; unreadable values are left out."""
    found: dict[str, str] = {}
    if isinstance(item, dict):
        for attribute, field in IDENTITY_FIELDS:
            _keep(found, field, item.get(attribute))
        _keep(found, "correlation_id", item.get("correlationid") or found.get("event_id"))
    return found


DELIVERIES_HEADER = "x-chibo-deliveries"
"""The failed deliveries a message had before a consumer handed it back at a stop (hand_back): its copy starts a new
`x-delivery-count`, and delivery_count adds the two."""


def delivery_count(raw: AbstractIncomingMessage) -> int:
    """How often the broker delivered this message before and it failed: `x-delivery-count` of quorum queues, read
    only of a redelivery, plus DELIVERIES_HEADER of a copy this consumer's own login handed back at a stop
    (handed_back_by_us; 0 when absent). On a first delivery (`redelivered` false, which the broker alone sets) the
    header is its publisher's: RabbitMQ 3.10 delivers a publisher's `x-delivery-count` to a consumer as it was sent
    until the queue redelivers the message (RabbitMQ 4 writes it only then too), so `x-delivery-count: 4` on a fresh
    publish had the message dead-lettered on its first failure."""
    headers = raw.headers or {}
    redelivered = getattr(raw, "redelivered", True) is not False
    delivered = _count(headers.get("x-delivery-count")) if redelivered else 0
    handed_back = _count(headers.get(DELIVERIES_HEADER)) if handed_back_by_us(raw) else 0  # else its publisher's say
    return delivered + handed_back


def channel_login(raw: Any) -> str | None:
    """The broker user of the connection a delivery `raw` arrived on (None when it does not say): the login its
    consumer publishes copies as (hand_back)."""
    url = getattr(getattr(getattr(raw, "channel", None), "connection", None), "url", None)
    user = getattr(url, "user", None)
    return user if isinstance(user, str) and user else None


def handed_back_by_us(raw: Any) -> bool:
    """Whether a delivery is a copy published straight to its queue by the very login consuming it (hand_back stamps
    that login as `user_id`, which RabbitMQ refuses from anyone else): only then is its DELIVERIES_HEADER a count of
    deliveries spent. Any other user who may write the default exchange (the gateway's, another service's) could set
    it to have a good message dead-lettered on its first failure."""
    login = channel_login(raw)
    return own_copy(raw) and login is not None and getattr(raw, "user_id", None) == login


def own_copy(raw: Any) -> bool:
    """Whether a delivery is a copy one of chibo's services published straight to its queue (the default exchange,
    which only chibo's broker users may write, deploy/broker_users.sh: a replay, a hand-back): only then are its
    `x-chibo-…` headers (DELIVERIES_HEADER, KEPT_MARKS) chibo's own, not set by whoever published it."""
    return getattr(raw, "exchange", None) == ""


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str | bytes):
        return 0
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


@dataclass(frozen=True, slots=True)
class Origin:
    """How a delivery was first published: its exchange, routing key and (broker-checked) `user_id`."""

    exchange: str | None
    routing_key: str | None
    user_id: str | None


ORIGIN_HEADERS = ("x-chibo-origin-exchange", "x-chibo-origin-routing-key", "x-chibo-origin-user-id")
"""Where a copy handed back with an `origin` (hand_back) says its original was published, and by whom."""


def origin_of(raw: Any, *, own_user: str | None) -> Origin:
    """How the delivery `raw` was first published: its own exchange, routing key and user_id; for a copy this service
    published again itself straight to its queue (handed back at a stop, a dead letter replayed through its RPC: from
    the default exchange, its `user_id` this service's own login `own_user`, which the broker vouches for: no one else
    can publish it) the original's, from ORIGIN_HEADERS."""
    headers = getattr(raw, "headers", None) or {}
    if own_user and raw.exchange == "" and raw.user_id == own_user and ORIGIN_HEADERS[1] in headers:
        exchange, routing_key, user_id = (_text(headers.get(name)) for name in ORIGIN_HEADERS)
        return Origin(exchange, routing_key, user_id)
    return Origin(raw.exchange, raw.routing_key, raw.user_id)


def origin_headers(origin: Origin) -> dict[str, str]:
    """ORIGIN_HEADERS naming `origin`, for a copy published again under this service's own login (origin_of)."""
    values = (origin.exchange, origin.routing_key, origin.user_id)
    return {name: value for name, value in zip(ORIGIN_HEADERS, values, strict=True) if value is not None}


@dataclass(frozen=True, slots=True)
class Publishers:
    """Who may publish what a consumer of chibo.events applies: this process's own broker login (`own_user`, which
    vouches for copies it published again: origin_of) and, per owning service, the broker users whose deliveries of
    its event types are applied (ServiceSettings.event_publishers_of)."""

    own_user: str
    by_owner: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, settings: ServiceSettings) -> "Publishers":
        """The publishers a service's settings name: its CHIBO_AMQP_URL's login and event_publishers_of()."""
        return cls(broker_user_of(settings.amqp_url), settings.event_publishers_of())


class EventConsumer:
    """A service context's `publishers` (a base of the services' context dataclasses, each with its `settings`)."""

    settings: ServiceSettings

    @functools.cached_property
    def publishers(self) -> Publishers:
        """Who may publish each event type this service consumes from chibo.events (CHIBO_EVENT_PUBLISHERS, else the
        owners' broker users): publisher_refusal."""
        return Publishers.of(self.settings)


def publisher_refusal(event_type: str, user_id: str | None, publishers: Publishers) -> str | None:
    """Why an event of `event_type` published by broker user `user_id` (the delivery's RabbitMQ-checked `user_id`, or
    its original's: origin_of) is not applied, naming `user_id` and the type; None when `user_id` is one of the
    users of the type's owner (shared.contracts.registry.OWNERS) or no service owns the type. The event's `source`
    text is never trusted for it: anyone allowed on chibo.events can write `urn:chibo:meetings`."""
    owner = OWNERS.get(event_type)
    if owner is None:
        return None
    allowed = publishers.by_owner.get(owner, frozenset())
    if user_id is not None and user_id in allowed:
        return None
    who = f"broker user {user_id!r}" if user_id else "a message without user_id"
    return (
        f"user_id: {who} may not publish {event_type}, which only {owner} publishes"
        f" (as {', '.join(repr(user) for user in sorted(allowed)) or 'no user'}); not applied"
    )


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


DEATH_HISTORY = ("x-death", "x-first-death-", "x-last-death-")
"""The headers RabbitMQ writes when it dead-letters a message: its history of deaths."""


def carries_death_history(raw: Any) -> bool:
    """Whether a delivery reached its consumer queue carrying a history of deaths (DEATH_HISTORY headers). chibo never
    sends one there (a replay drops it, a hand-back every `x-` header), so its publisher wrote it; RabbitMQ 3.x would
    read it as the broker's own should it dead-letter the message (adding its death to the publisher's entry of the
    same queue and reason, keeping its exchange, routing keys and time), so the consumer takes a clean copy instead
    (consume_event, meetings' ingest: hand_back without cancelling)."""
    return any(str(name).startswith(DEATH_HISTORY) for name in getattr(raw, "headers", None) or {})


async def hand_back(
    message: RabbitMessage,
    *,
    consumer: str,
    failed: bool = False,
    ack: Callable[[], Awaitable[None]] | None = None,
    origin: Origin | None = None,
    own_user: str | None = None,
    cancel: bool = True,
) -> bool:
    """Hand a held delivery back to the broker at a stop without spending its delivery limit (shared.outages.HandBack):
    the delivery's consumer is cancelled (the service is stopping), a copy (body, properties, headers but the broker's
    `x-…` ones) published to the consumer's queue through the default exchange with its failed deliveries so far in
    DELIVERIES_HEADER (one more when `failed`: some of its events failed on their own), confirmed, then the delivery
    acked (`ack`, else message.ack); the copy waits in the queue for the next start. Letting the broker take it back
    when the channel closes counts a delivery (`x-delivery-count` of quorum queues). With `origin` and `own_user`
    (the service's AMQP login) the copy is published as `own_user` and carries the original's exchange, routing key
    and user_id for origin_of. False when the copy could not be published: the delivery is left unsettled, and the
    broker takes it back as before. `cancel=False` (a delivery carrying a forged history, carries_death_history)
    keeps the consumer: the clean copy comes back to it."""
    raw = message.raw_message
    headers = {name: value for name, value in (raw.headers or {}).items() if not name.startswith("x-")}
    if own_copy(raw):  # chibo's own marks (a replayed copy's); a publisher's x-chibo- headers are not copied as ours
        headers.update(
            {
                name: value
                for name, value in (raw.headers or {}).items()
                if name.startswith("x-chibo-") and name not in ORIGIN_HEADERS
            }
        )
    headers[DELIVERIES_HEADER] = delivery_count(raw) + (1 if failed else 0)
    vouched = origin is not None and bool(own_user)
    if origin is not None and vouched:
        headers.update(origin_headers(origin))
    properties = aiormq.spec.Basic.Properties(
        content_type=raw.content_type,
        content_encoding=raw.content_encoding,
        delivery_mode=2,
        priority=raw.priority,
        correlation_id=raw.correlation_id,
        reply_to=raw.reply_to,
        expiration=None,
        message_id=raw.message_id,
        timestamp=raw.timestamp,
        message_type=raw.type,
        user_id=own_user if vouched else channel_login(raw),  # the login publishing it: its count is ours
        app_id=raw.app_id,
        headers=headers,
    )
    try:
        if cancel and raw.consumer_tag:
            # the stop's cancel, first: a copy published while this consumer still took deliveries would come back
            # to it, and be taken back, counted, when its channel closes (RabbitMQ ignores a second cancel)
            await raw.channel.basic_cancel(raw.consumer_tag, timeout=10)
        confirmation = await raw.channel.basic_publish(
            bytes(raw.body), exchange="", routing_key=consumer, properties=properties, mandatory=True, timeout=10
        )
        if isinstance(confirmation, aiormq.spec.Basic.Nack):
            raise RuntimeError(f"the broker refused the handed-back copy of {consumer}")
        await (ack or message.ack)()
    except Exception as exc:
        log.warning("delivery_hand_back_failed", consumer=consumer, error=repr(exc), **delivery_identity(raw))
        return False
    log.info("delivery_handed_back", consumer=consumer, deliveries=headers[DELIVERIES_HEADER], **delivery_identity(raw))
    return True


def retry_delay(delivery_count: int) -> float:
    """Seconds to wait before handing a failed message back: 0.5, 1, 2, 4 … at most 10."""
    return min(0.5 * (2 ** max(delivery_count, 0)), 10.0)


async def consume_event(
    message: RabbitMessage,
    *,
    consumer: str,
    handlers: Mapping[str, EventHandler[Any]],
    uow_factory: Callable[[], PgUnitOfWork],
    finish: Finish[Any] | None = None,
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
    order: Callable[[Event[Any]], str] | None = None,
    batch_handlers: Mapping[str, BatchHandler[Any]] | None = None,
    keys: BatchKeys | None = None,
    concurrency: int = 1,
    models: Mapping[str, type[EventData]] | None = None,
    publishers: Publishers | None = None,
) -> dict[str, int]:
    """Apply a delivered event, or each event of a batch, exactly once and settle the delivery.

    `consumer` is the queue's name (its inbox name and its dead letters' routing key); `finish` runs once per
    transaction before the commit; `order` (optional) sorts a batch's events (stably) before they are applied, for
    a service whose handlers lock by a key and do not depend on the order within a batch: batches applied in one
    global key order cannot deadlock each other on those locks; `batch_handlers` (optional, by type) take each
    run of consecutive new events of their type at once instead of the type's handler one by one; `keys`
    (optional) names what applying an event locks, and lets batch deliveries about disjoint keys be applied in up
    to `concurrency` transactions at once (without it, one at a time: the consumer's first call fixes both);
    `models` (optional, by type) the consumer's reading models of the data, the fields it reads (read_event);
    `publishers` (every service passes its own: Publishers.of) who may publish each handled type: an event from any
    other broker user is dead-lettered naming `user_id` and its type (publisher_refusal), and what this consumer
    publishes again itself (a copy handed back at a stop, a dead letter) carries its origin (origin_of).
    Returns how many events ended in each outcome (also counted per type)."""
    raw = message.raw_message
    plan = _Plan(consumer, handlers, batch_handlers or {}, uow_factory, finish, models or {}, publishers)
    with in_progress(consumer) as settled:  # shared.backlog: a delivery worked on too long shows in /health
        if carries_death_history(raw) and await hand_back(
            message, consumer=consumer, cancel=False, **plan.republished(raw)
        ):  # its clean copy is applied instead, and dies, if it does, with the broker's history alone
            EVENTS_CONSUMED.labels(consumer, type_label(raw.routing_key), "handed_back").inc()
            settled.append(1)
            return {"handed_back": 1}
        if delivery_is_batch(raw):
            outcomes = await _consume_batch(
                message, plan, delivery_limit=delivery_limit, order=order, keys=keys, concurrency=concurrency
            )
        else:
            outcome = await _consume_one(message, plan, delivery_limit=delivery_limit)
            EVENTS_CONSUMED.labels(consumer, type_label(raw.routing_key), outcome).inc()
            outcomes = {outcome: 1}
        settled.append(sum(outcomes.values()))
    return outcomes


def delivery_is_batch(raw: AbstractIncomingMessage, origin: Origin | None = None) -> bool:
    """Whether a delivery is a batch as every consumer applies it (shared.envelope.is_batch of its content type,
    routing key, body and headers: a JSON array with a CloudEvents attribute header is one binary-mode event, as
    shared.bindings.read_message reads it, CONTRACT.md "Routes in"; without one, a batch); `origin` (origin_of) for
    a copy handed back at a stop, read under its original routing key. consume_event, meetings' ingest and what a
    consumer counts of its deliveries all ask this, so no route reads one delivery two ways."""
    routing_key = origin.routing_key if origin is not None else raw.routing_key
    return is_batch(raw.content_type, routing_key, bytes(raw.body), headers=raw.headers)


def published_key(raw: Any) -> str | None:
    """The routing key a delivery was published under on chibo.events, None for one that reached the queue otherwise
    (an operator's replay of a dead letter goes straight to the queue, under the queue's name)."""
    return raw.routing_key if getattr(raw, "exchange", None) == EVENTS_EXCHANGE else None


def misrouted_reason(event_type: str, routing_key: str | None) -> str | None:
    """Why an event of `event_type` is not taken under `routing_key` (None: not judged): CONTRACT.md "Route out", on
    chibo.events the routing key is the event's `type`, and a batch's (all of one type) that type. A trial's event
    published under another type's key reached that type's listeners; it is dead-lettered saying so, naming `type`
    and the key given."""
    if routing_key is None or routing_key == event_type:
        return None
    return (
        f"type: {event_type} arrived under routing key {routing_key!r}; on chibo.events an event, and each event of"
        " a batch, is published with routing key = its type"
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one consumer applies events: its inbox name, handlers, units of work and finishing step."""

    consumer: str
    handlers: Mapping[str, EventHandler[Any]]
    batch_handlers: Mapping[str, BatchHandler[Any]]
    uow_factory: Callable[[], PgUnitOfWork]
    finish: Finish[Any] | None
    models: Mapping[str, type[EventData]] = field(default_factory=dict)
    publishers: Publishers | None = None

    def origin(self, raw: Any) -> Origin:
        """How `raw` was first published, as far as this consumer can vouch (origin_of with its own login)."""
        return origin_of(raw, own_user=self.publishers.own_user if self.publishers else None)

    def refusal(self, event_type: str, raw: Any) -> str | None:
        """publisher_refusal of an event of `event_type` in delivery `raw` (None when nobody is checked)."""
        if self.publishers is None:
            return None
        return publisher_refusal(event_type, self.origin(raw).user_id, self.publishers)

    def republished(self, raw: Any) -> dict[str, Any]:
        """hand_back's `origin` and `own_user` for a copy of `raw` this consumer publishes again (none unchecked)."""
        if self.publishers is None:
            return {}
        return {"origin": self.origin(raw), "own_user": self.publishers.own_user}


def read_delivery(raw: AbstractIncomingMessage) -> CloudEvent:
    """The event of a one-event delivery on chibo.events in either content mode (CONTRACT.md "Routes in", "Route
    out": every subscriber accepts both), told apart and translated by the one reader the ingest routes use
    (shared.bindings.read_message: structured body, or `ce-` / `cloudEvents:` / `cloudEvents_` attribute headers with
    the body as `data`), then judged by parse_envelope. InvalidEvent naming the field: `body` for an event over the
    per-event limit (MAX_EVENT_BYTES, its size said), the header's attribute for one that cannot be read. Extension
    headers beside a structured envelope body leave it structured (_beside_envelope)."""
    body = bytes(raw.body)
    try:
        incoming = read_message(raw.headers or {}, raw.content_type, body, route="amqp")
    except InvalidEvent as exc:  # a header no binding writes (`ce_note`), or a content type of neither mode (text/
        # plain), beside a structured envelope body: still read as that envelope, as subscribers always read it
        if not _beside_envelope(exc.readable if isinstance(exc, UnreadableHeaders) else {}, body):
            raise
        incoming = Incoming(Mode.STRUCTURED, body)
    if incoming.mode is Mode.BINARY and not _beside_envelope(incoming.event or {}, body):
        assert incoming.event is not None
        if incoming.too_large:
            raise InvalidEvent(event_over_limit(incoming.size), field="body", problem="too_large")
        return parse_envelope(incoming.event, checked=incoming.checked)
    if len(body) > MAX_EVENT_BYTES:
        raise InvalidEvent(event_over_limit(len(body)), field="body", problem="too_large")
    return parse_envelope(body)


def _beside_envelope(attributes: Mapping[str, Any], body: bytes) -> bool:
    """Whether attribute headers without `specversion` (an extension such as `ce-note`) stand beside a structured
    envelope body (a JSON object with its own `specversion`), which subscribers of chibo.events always read as the
    event (shared.bindings.identity_attributes reads such a message alike); a binary event's data has none."""
    if "specversion" in attributes or b'"specversion"' not in body or body.lstrip()[:1] != b"{":
        return False
    try:
        value = json.loads(body)
    except ValueError:
        return False
    return isinstance(value, dict) and "specversion" in value


async def _consume_one(message: RabbitMessage, plan: _Plan, *, delivery_limit: int) -> str:
    consumer, handlers = plan.consumer, plan.handlers
    raw = message.raw_message
    try:
        envelope = read_delivery(raw)
    except InvalidEvent as exc:
        log.error("event_unreadable", consumer=consumer, reason=exc.reason, field=exc.field, **delivery_identity(raw))
        await _dead_letter_delivery(message, plan, consumer=consumer, cause=exc.reason)
        return "dead_lettered"
    with message_context(
        event_id=envelope.id,
        event_type=envelope.type,
        correlation_id=envelope.correlationid or envelope.id,
        source=envelope.source,
        message_id=amqp_message_id(raw),
    ):
        misrouted = misrouted_reason(envelope.type, published_key(raw))
        if misrouted is not None:
            log.error("event_misrouted", consumer=consumer, reason=misrouted, routing_key=raw.routing_key)
            await _dead_letter_delivery(message, plan, consumer=consumer, cause=misrouted)
            return "dead_lettered"
        handler = handlers.get(envelope.type)
        if handler is None:
            await message.ack()
            return "ignored"
        refused = plan.refusal(envelope.type, raw)
        if refused is not None:
            log.error("event_publisher_refused", consumer=consumer, reason=refused, user_id=plan.origin(raw).user_id)
            await _dead_letter_delivery(message, plan, consumer=consumer, cause=refused)
            return "dead_lettered"
        try:
            event = read_event(envelope, plan.models)
        except InvalidEvent as exc:
            log.error("event_invalid", consumer=consumer, reason=exc.reason, field=exc.field)
            await _dead_letter_delivery(message, plan, consumer=consumer, cause=exc.reason)
            return "dead_lettered"
        try:
            outcome = await _apply(plan, [(event, handler)])
        except HandBack:
            await hand_back(message, consumer=consumer, **plan.republished(raw))
            return "handed_back"
        except Contradiction as exc:
            log.error("event_contradicts_state", consumer=consumer, reason=exc.reason, field=exc.field)
            await _dead_letter_delivery(message, plan, consumer=consumer, cause=exc.reason)
            return "dead_lettered"
        except Exception as exc:
            deliveries = delivery_count(raw)
            log.exception("event_handler_failed", consumer=consumer, deliveries=deliveries, error=repr(exc))
            if deliveries >= delivery_limit - 1:  # its last allowed delivery: dead-lettered now, saying why
                await _dead_letter_delivery(message, plan, consumer=consumer, cause=repr(exc), death="delivery_limit")
                return "dead_lettered"
            await asyncio.sleep(retry_delay(deliveries))
            await message.reject(requeue=True)
            return "retried"
        await message.ack()
        if outcome[0] == "duplicate":
            log.info("event_duplicate", consumer=consumer)
        else:
            log.info("event_handled", consumer=consumer)
        return outcome[0]


async def _apply(plan: _Plan, events: list[tuple[Event[Any], EventHandler[Any]]]) -> list[str]:
    """Apply the events in one transaction (inbox first, all at once), run `finish`, commit; each one's outcome.

    A deadlock or serialization failure (another consumer's transaction) is tried again a few times; while the
    database cannot be reached the delivery is held and tried again (shared.outages.hold_through_outage)."""
    return await hold_through_outage(lambda: _apply_retrying(plan, events), consumer=plan.consumer)


async def _apply_retrying(plan: _Plan, events: list[tuple[Event[Any], EventHandler[Any]]]) -> list[str]:
    """_apply's transaction, tried again a few times after a deadlock or serialization failure."""
    for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
        try:
            return await _apply_once(plan, events)
        except TRANSIENT_DB_ERRORS as exc:
            if attempt == TRANSACTION_ATTEMPTS:
                raise
            log.warning("event_transaction_retried", consumer=plan.consumer, attempt=attempt, error=repr(exc))
            await asyncio.sleep(random.uniform(0.05, 0.2) * attempt)
    raise AssertionError("unreachable")


async def _apply_once(plan: _Plan, events: list[tuple[Event[Any], EventHandler[Any]]]) -> list[str]:
    identities = [(event.envelope.source, event.envelope.id) for event, _ in events]
    outcomes: list[str] = []
    new: list[tuple[Event[Any], EventHandler[Any]]] = []
    async with plan.uow_factory() as uow:
        # one statement records the whole batch in the inbox; a copy later in the same batch is a duplicate too
        before = await uow.record_processed(consumer=plan.consumer, identities=list(dict.fromkeys(identities)))
        seen: set[tuple[str, str]] = set()
        for identity, pair in zip(identities, events, strict=True):
            if identity in before or identity in seen:
                outcomes.append("duplicate")
                continue
            seen.add(identity)
            outcomes.append("handled")
            new.append(pair)
        await _handle(plan, new, uow)
        if plan.finish is not None and new:
            await plan.finish(uow)
        await uow.commit()
    return outcomes


async def _handle(plan: _Plan, events: list[tuple[Event[Any], EventHandler[Any]]], uow: PgUnitOfWork) -> None:
    """Apply new events in their order: a run of one type with a batch handler at once, others one by one."""
    start = 0
    while start < len(events):
        first, handler = events[start]
        many = plan.batch_handlers.get(first.type)
        if many is None:
            envelope = first.envelope
            with message_context(
                event_id=envelope.id,
                event_type=envelope.type,
                correlation_id=first.correlation_id,
                source=envelope.source,
            ):
                await handler(first, uow)
            start += 1
            continue
        end = start + 1
        while end < len(events) and events[end][0].type == first.type:
            end += 1
        run = [event for event, _ in events[start:end]]
        context = (
            run_context(
                first_event_id=first.envelope.id,
                events=len(run),
                event_type=first.type,
                correlation_id=first.correlation_id,
                source=first.envelope.source,
            )
            if len(run) > 1
            else message_context(
                event_id=first.envelope.id,
                event_type=first.type,
                correlation_id=first.correlation_id,
                source=first.envelope.source,
            )
        )
        with context:
            await many(run, uow)
        start = end


@dataclass
class _Item:
    """One event of a batch: its raw JSON value, what was read of it, and how it ended."""

    position: int
    raw: Any
    envelope: CloudEvent | None = None
    event: Event[Any] | None = None
    outcome: str = ""
    reason: str = ""

    @property
    def type(self) -> str:
        """The event's type as a metric label."""
        raw_type = self.envelope.type if self.envelope else self.raw.get("type") if isinstance(self.raw, dict) else None
        return type_label(raw_type)


async def _consume_batch(
    message: RabbitMessage,
    plan: _Plan,
    *,
    delivery_limit: int,
    order: Callable[[Event[Any]], str] | None,
    keys: BatchKeys | None,
    concurrency: int,
) -> dict[str, int]:
    consumer, handlers = plan.consumer, plan.handlers
    raw = message.raw_message
    try:
        batch = read_batch(bytes(raw.body))
    except InvalidEvent as exc:
        log.error(
            "event_batch_unreadable", consumer=consumer, reason=exc.reason, field=exc.field, **delivery_identity(raw)
        )
        await _dead_letter_delivery(message, plan, consumer=consumer, cause=exc.reason)
        EVENTS_CONSUMED.labels(consumer, "batch", "dead_lettered").inc()
        return {"dead_lettered": 1}
    items = [_Item(position, value) for position, value in enumerate(batch.items)]
    key = published_key(raw)
    for item in items:
        size = batch.sizes.get(item.position)
        _read(
            item,
            handlers,
            consumer=consumer,
            checked=batch.checked,
            routing_key=key,
            models=plan.models,
            size=size,
            refusal=lambda event_type: plan.refusal(event_type, raw),
        )
    good = [item for item in items if item.event is not None]
    if good:
        await _apply_batch(plan, good, order=order, keys=keys, concurrency=concurrency)
    failing = [item for item in good if item.outcome == "failed"]
    last_delivery = delivery_count(raw) >= delivery_limit - 1
    if any(item.outcome == "handed_back" for item in good):
        # the service stops during an outage: the whole delivery goes back uncounted (the inbox skips what was
        # applied), counted once only when some of its events failed on their own
        await hand_back(message, consumer=consumer, failed=bool(failing), **plan.republished(raw))
        for item in items:
            item.outcome = "handed_back"
    elif failing and not last_delivery:
        deliveries = delivery_count(raw)
        log.error(
            "event_batch_retried",
            consumer=consumer,
            failing=len(failing),
            deliveries=deliveries,
            failing_ids=[item.envelope.id for item in failing if item.envelope is not None],
            **delivery_identity(raw),
        )
        await asyncio.sleep(retry_delay(deliveries))
        await message.reject(requeue=True)
        for item in failing:
            item.outcome = "retried"
    else:
        dead = [item for item in items if item.outcome in ("dead_lettered", "failed")]
        try:
            for item in dead:
                await _dead_letter(raw, item, consumer=consumer, **plan.republished(raw))
        except Exception as exc:  # the dead letters could not be written: try the whole message again
            deliveries = delivery_count(raw)
            log.exception(
                "event_batch_dead_letter_failed",
                consumer=consumer,
                error=repr(exc),
                dead_ids=[item.envelope.id for item in dead if item.envelope is not None],
                **delivery_identity(raw),
            )
            await asyncio.sleep(retry_delay(deliveries))
            await message.reject(requeue=True)
            return {"retried": len(items)}
        await message.ack()
        for item in failing:
            item.outcome = "dead_lettered"
    counts = Counter((item.type, item.outcome) for item in items)
    for (kind, outcome), count in counts.items():
        EVENTS_CONSUMED.labels(consumer, kind, outcome).inc(count)
    summary = Counter(item.outcome for item in items)
    log.info(
        "event_batch_settled", consumer=consumer, events=len(items), message_id=amqp_message_id(raw), **dict(summary)
    )
    return dict(summary)


def _read(
    item: _Item,
    handlers: Mapping[str, EventHandler[Any]],
    *,
    consumer: str,
    checked: bool,
    routing_key: str | None = None,
    models: Mapping[str, type[EventData]] | None = None,
    size: int | None = None,
    refusal: Callable[[str], str | None] | None = None,
) -> None:
    """Read one event of a batch (`checked`: the batch's text was found clean as a whole, see read_batch); an
    unreadable one, or one not of the type its batch was published under (`routing_key`: see published_key), is
    marked for the dead letters, an unhandled type ignored; `models`: the consumer's reading models (read_event);
    `size`: its bytes when read_batch found it over the per-event limit, refused naming `body` before anything else
    (as a single event and the ingest routes refuse it), not by whichever of its fields breaks first; `refusal`:
    why the delivery's publisher may not send a handled type (publisher_refusal), marked for the dead letters."""
    try:
        if size is not None:
            raise InvalidEvent(event_over_limit(size), field="body", problem="too_large")
        if isinstance(item.raw, dict):
            item.envelope = parse_envelope(item.raw, checked=checked)
        else:
            item.envelope = parse_envelope(json.dumps(item.raw))
        misrouted = misrouted_reason(item.envelope.type, routing_key)
        if misrouted is not None:
            raise InvalidEvent(misrouted, field="type")
        if item.envelope.type not in handlers:
            item.outcome = "ignored"
            return
        refused = refusal(item.envelope.type) if refusal is not None else None
        if refused is not None:
            raise InvalidEvent(refused, field="user_id")
        item.event = read_event(item.envelope, models)
    except InvalidEvent as exc:
        _dead_letter_item(item, exc.reason, consumer=consumer, event="event_invalid", field=exc.field)
    except (TypeError, ValueError) as exc:  # an item json cannot even write back (e.g. a non-finite number)
        _dead_letter_item(item, bounded(repr(exc)), consumer=consumer, event="event_invalid")


def _dead_letter_item(item: _Item, reason: str, *, consumer: str, event: str, **context: object) -> None:
    """Mark one event of a batch for the dead letters with `reason`, logged as `event` with its position and identity
    (`context`: more fields for the log line, e.g. the field at fault)."""
    item.outcome, item.reason = "dead_lettered", reason
    log.error(event, consumer=consumer, position=item.position, reason=reason, **context, **item_identity(item.raw))


async def _apply_batch(
    plan: _Plan,
    good: list[_Item],
    *,
    order: Callable[[Event[Any]], str] | None,
    keys: BatchKeys | None,
    concurrency: int,
) -> None:
    """The good events, with those of the batch deliveries waiting beside them, in one transaction; when that
    fails, each in its own, noting which ones fail. Returns once this delivery's events have their outcomes."""
    footprint: frozenset[Hashable] = frozenset()
    if keys is not None:
        footprint = frozenset(key for item in good if item.event is not None for key in keys(item.event))
    delivery = _Delivery(plan, good, order, footprint, current_trace_context())
    await _group_of(plan.consumer, keyed=keys is not None, concurrency=concurrency).submit(delivery)


async def _apply_group(plan: _Plan, group: list[_Delivery], *, order: Callable[[Event[Any]], str] | None) -> None:
    """Apply the events of the deliveries (sorted by `order` when given, stably)."""
    good = [item for delivery in group for item in delivery.items]
    if order is not None:
        good.sort(key=lambda item: order(item.event) if item.event is not None else "")
    await _apply_items(plan, good)


async def _apply_items(plan: _Plan, good: list[_Item]) -> None:
    """All good events in one transaction; when that fails, each in its own, noting which ones fail."""
    consumer = plan.consumer
    pairs = [(item.event, plan.handlers[item.event.type]) for item in good if item.event is not None]
    try:
        outcomes = await _apply(plan, pairs)
        for item, outcome in zip(good, outcomes, strict=True):
            item.outcome = outcome
        return
    except HandBack as exc:
        for item in good:
            item.outcome, item.reason = "handed_back", bounded(repr(exc))
        return
    except Exception as exc:
        if is_dependency_unavailable(exc):  # held past its limit: one by one would hold each as long again
            for item in good:
                item.outcome, item.reason = "failed", bounded(repr(exc))
            log.error("event_batch_dependency_unavailable", consumer=consumer, events=len(good), error=repr(exc))
            return
        log.warning("event_batch_failed_applying_one_by_one", consumer=consumer, events=len(good), error=repr(exc))
    for item, pair in zip(good, pairs, strict=True):
        try:
            [item.outcome] = await _apply(plan, [pair])
        except HandBack as exc:
            item.outcome, item.reason = "handed_back", bounded(repr(exc))
        except Contradiction as exc:
            _dead_letter_item(item, exc.reason, consumer=consumer, event="event_contradicts_state", field=exc.field)
        except Exception as exc:
            item.outcome, item.reason = "failed", bounded(repr(exc))
            assert item.envelope is not None
            with message_context(
                event_id=item.envelope.id,
                event_type=item.envelope.type,
                correlation_id=item.envelope.correlationid or item.envelope.id,
                source=item.envelope.source,
            ):
                log.exception("event_handler_failed", consumer=consumer, position=item.position, error=repr(exc))


async def _dead_letter(
    raw: AbstractIncomingMessage,
    item: _Item,
    *,
    consumer: str,
    origin: Origin | None = None,
    own_user: str | None = None,
) -> None:
    """Publish one event of a batch alone to the consumer's dead-letter queue, saying why (confirmed); with `origin`
    and `own_user` (the consumer's login) as `own_user`, carrying who first published it (vouched: origin_of), so a
    replay through the service is judged by its original publisher (shared.ops.dead_letters.replay_dead_letters)."""
    body = json.dumps(item.raw, ensure_ascii=False, default=lambda value: getattr(value, "text", repr(value))).encode()
    # an event not read (over the limit, or broken) still names itself by the id and type it gives, when well-formed
    _, given_id, given_type = peek_identity(item.raw)
    event_id = item.envelope.id if item.envelope else given_id if is_identifier(given_id) else None
    event_type = item.envelope.type if item.envelope else given_type if is_identifier(given_type) else None
    properties = aiormq.spec.Basic.Properties(
        content_type=CLOUDEVENT_CONTENT_TYPE,
        delivery_mode=2,
        message_id=event_id,
        message_type=event_type,
        timestamp=datetime.now(UTC),  # when it died: the broker's x-death time is not there to say so
        headers={
            **death_headers(
                consumer,
                cause=item.reason,
                death="delivery_limit" if item.outcome == "failed" else "rejected",
                deliveries=delivery_count(raw),
            ),
            **batch_headers(raw, item.position),
            **(replay_marks(raw.headers) if own_copy(raw) else {}),
            **(origin_headers(origin) if origin is not None and own_user else {}),
        },
        user_id=own_user if origin is not None and own_user else None,
    )
    await _publish_dead_letter(raw, body, properties, consumer=consumer)
    log.warning(
        "event_dead_lettered", consumer=consumer, position=item.position, reason=item.reason, **item_identity(item.raw)
    )


REPLAYED_HEADER = "x-chibo-replayed"
"""How often an operator replayed a dead letter (shared.ops.dead_letters.replay_dead_letters): its dead letter keeps
it when it dies again, so the listing counts every death (death_of), not the last one alone."""
REPLAY_IDS_HEADER = "x-chibo-replay-ids"
"""The replays (their `replay_id`, space-separated, the latest last) that sent a dead letter back: its dead letter
keeps them when it dies again, so the same replay sent again (an unanswered form resent) sends it back no second
time (shared.ops.dead_letters.replay_dead_letters)."""
REPLAY_MARKS = (REPLAYED_HEADER, REPLAY_IDS_HEADER)
BATCH_POSITION_HEADER = "x-chibo-batch-position"
"""The place (from 0) of a dead letter's event in the batch message it came in (_dead_letter)."""
BATCH_MESSAGE_ID_HEADER = "x-chibo-batch-message-id"
"""The AMQP `message_id` of the batch message a dead letter's event came in: each event of a batch dies alone, as
its own message with its own id, and this links it back to what was sent (a trial's `t34-web-1`)."""
BATCH_CORRELATION_ID_HEADER = "x-chibo-batch-correlation-id"
"""The AMQP `correlation_id` of the batch message a dead letter's event came in, when it had one."""
BATCH_HEADERS = (BATCH_MESSAGE_ID_HEADER, BATCH_CORRELATION_ID_HEADER, BATCH_POSITION_HEADER)
"""What a dead letter of one event of a batch says of that batch: kept when it is replayed and dies again (as the
origin's exchange and routing key are: shared.ops.dead_letters.first_origin), so the listing still links it back."""
KEPT_MARKS = (*REPLAY_MARKS, *BATCH_HEADERS)
"""The `x-chibo-…` headers a dead letter written of a whole delivery keeps from it (dead_letter_delivery)."""


def batch_headers(raw: AbstractIncomingMessage, position: int) -> dict[str, Any]:
    """BATCH_HEADERS of the dead letter of the event at `position` (from 0) of the batch delivery `raw`: its place,
    and the batch message's AMQP message and correlation ids when it has them."""
    headers: dict[str, Any] = {BATCH_POSITION_HEADER: position}
    if raw.message_id:
        headers[BATCH_MESSAGE_ID_HEADER] = raw.message_id
    if raw.correlation_id:
        headers[BATCH_CORRELATION_ID_HEADER] = raw.correlation_id
    return headers


def replay_marks(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The operators' replay headers (REPLAY_MARKS) of a delivery's `headers`, which a dead letter written of it
    keeps (the broker's other `x-…` headers are its own): {} when it was never replayed."""
    return {name: value for name, value in (headers or {}).items() if name in REPLAY_MARKS}


def death_headers(consumer: str, *, cause: str, death: str, deliveries: int) -> dict[str, Any]:
    """The headers of a dead letter a consumer writes itself: what the broker writes when it dead-letters a message
    (`x-first-death-queue`, `x-first-death-reason`), so the operators' tools (shared.ops dead-letters) list and replay
    it like any other, with why (`x-chibo-reason`, the cause the log has) and how often the queue had delivered it
    before (`x-chibo-delivery-count`)."""
    return {
        "x-first-death-queue": consumer,
        "x-first-death-reason": death,
        "x-chibo-reason": bounded(cause, limit=500),
        "x-chibo-delivery-count": deliveries,
    }


async def _publish_dead_letter(
    raw: AbstractIncomingMessage, body: bytes, properties: aiormq.spec.Basic.Properties, *, consumer: str
) -> None:
    """Publish a dead letter to the consumer's `.dlq` (the dead-letter exchange, by the queue's name), confirmed."""
    confirmation = await raw.channel.basic_publish(
        body, exchange=DEAD_LETTER_EXCHANGE, routing_key=consumer, properties=properties, timeout=30
    )
    if isinstance(confirmation, aiormq.spec.Basic.Nack):
        raise RuntimeError(f"the broker refused a dead letter of {consumer}")


async def _dead_letter_delivery(
    message: RabbitMessage, plan: _Plan, *, consumer: str, cause: str, death: str = "rejected"
) -> None:
    """Dead-letter a whole delivery saying why (dead_letter_delivery), acked or rejected on its own, carrying who
    first published it when the consumer checks publishers (_Plan.republished)."""
    await dead_letter_delivery(
        message,
        consumer=consumer,
        cause=cause,
        death=death,
        ack=message.ack,
        reject=lambda: message.reject(requeue=False),
        **plan.republished(message.raw_message),
    )


async def dead_letter_delivery(
    message: RabbitMessage,
    *,
    consumer: str,
    cause: str,
    death: str,
    ack: Callable[[], Awaitable[None]],
    reject: Callable[[], Awaitable[None]],
    origin: Origin | None = None,
    own_user: str | None = None,
) -> None:
    """Dead-letter a whole delivery saying why: a copy (body, properties, headers but the broker's `x-…` ones, plus
    death_headers) published to the consumer's `.dlq`, confirmed, then the delivery settled by `ack`. When the copy
    cannot be published it is settled by `reject` (without requeue): the broker dead-letters it without the cause,
    which stays in the log. `ack` and `reject` settle it as its consumer does (e.g. through shared.acking). With
    `origin` and `own_user` (the consumer's login) it is published as `own_user` carrying who first published the
    delivery (origin_headers), which a replay through the service keeps (replay_dead_letters)."""
    raw = message.raw_message
    kept = KEPT_MARKS if own_copy(raw) else ()  # a publisher's batch or replay headers are not kept as chibo's
    headers = {name: value for name, value in (raw.headers or {}).items() if not name.startswith("x-") or name in kept}
    headers.update(death_headers(consumer, cause=cause, death=death, deliveries=delivery_count(raw)))
    vouched = origin is not None and bool(own_user)
    if origin is not None and vouched:
        headers.update(origin_headers(origin))
    properties = aiormq.spec.Basic.Properties(
        content_type=raw.content_type,
        content_encoding=raw.content_encoding,
        delivery_mode=2,
        message_id=raw.message_id,
        correlation_id=raw.correlation_id,
        message_type=raw.type,
        app_id=raw.app_id,
        timestamp=datetime.now(UTC),  # when it died
        user_id=own_user if vouched else None,
        headers=headers,
    )
    try:
        await _publish_dead_letter(raw, bytes(raw.body), properties, consumer=consumer)
    except Exception as exc:
        log.warning(
            "dead_letter_cause_not_written", consumer=consumer, cause=cause, error=repr(exc), **delivery_identity(raw)
        )
        await reject()
        return
    await ack()
    log.warning("event_dead_lettered", consumer=consumer, reason=cause, death=death, **delivery_identity(raw))


AppT = TypeVar("AppT")


@dataclass
class Door(Generic[AppT]):
    """Where one app's subscriber finds the app's context, set in the lifespan once the pool exists.

    The subscriber takes the delivery as its only parameter (`hand_over_message`) and finds the context here, so
    fast_depends injects nothing per delivery: resolving two Context fields (an anyio task group and its checkpoint
    per call) was 8.6 % of meetings' busy samples in the single preset. One door per app (its build_router), never
    shared between apps in one process."""

    app: AppT | None = None

    def context(self) -> AppT:
        """The app's context; AssertionError before the lifespan opened the door (the broker starts after it)."""
        assert self.app is not None, "the door opens in the lifespan, before the broker starts"
        return self.app


async def hand_over_message(message: StreamMessage[Any]) -> StreamMessage[Any]:
    """A FastStream decoder handing the message itself over as the body, undecoded: consume_event reads and judges it
    (a malformed body becomes a rejection, not a decoding error), and the subscriber needs no injected parameter."""
    return message
