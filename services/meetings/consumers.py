"""FastStream subscribers of the meetings service: ingestion on `meetings.ingest`, RPC on `meetings.rpc`."""

import asyncio
import functools
import uuid
from typing import Annotated, Any

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitRouter
from faststream.rabbit.annotations import RabbitMessage
from faststream.rabbit.message import RabbitMessage as IncomingMessage

from services.meetings import handlers
from services.meetings.context import MeetingsContext
from services.meetings.rpc import rpc_methods
from shared.acking import ChannelAcks
from shared.backlog import in_progress
from shared.config import broker_user_of
from shared.consuming import (
    Door,
    amqp_message_id,
    carries_death_history,
    consume_event,
    dead_letter_delivery,
    delivery_count,
    delivery_identity,
    delivery_is_batch,
    hand_back,
    origin_of,
    retry_delay,
)
from shared.context import ServiceContext, door_subscriber
from shared.contracts.ingest_answer import ingest_answer
from shared.logs import get_logger
from shared.metrics import EVENTS_CONSUMED, type_label
from shared.outages import HandBack, hold_through_outage
from shared.replies import direct_reply_to, send_reply
from shared.rpc import RpcRequest, answer
from shared.telemetry import current_trace_context
from shared.topology import INGEST_EXCHANGE, MEETINGS_FRAMEWORKS, MEETINGS_INGEST, RpcQueue

log = get_logger(__name__)
RPC_QUEUE = RpcQueue("meetings")
INGEST_PREFETCH = 256
"""Deliveries of meetings.ingest in flight at once, each its own task (aio-pika runs every delivery's callback as a
task). Single events wait in the group commit (MeetingsContext.singles, groups of up to 128, two side by side about
other cells), so while one group is judged the next gathers and starts; batch and neither-mode deliveries take one
of INGEST_OTHER_SLOTS, so the pool serves at most 2 + INGEST_OTHER_SLOTS ingest transactions at once and the RPC
queries still get connections.
Bigger groups make bigger relay batches downstream (single preset: after groups of ~235 events evaluation published
its scores in 300 messages, after groups of 64 in 1,150), but batch messages share the queue and a backlog of them
fills the prefetch too (about 0.5 MB per 1,000-event batch: 256 of them are ~135 MB of RSS)."""


def build_router(door: Door[MeetingsContext]) -> RabbitRouter:
    """The meetings subscribers of one app: ingestion through `door`, frameworks and RPC with FastStream's context."""
    router = RabbitRouter()

    door_subscriber(
        router,
        MEETINGS_INGEST,
        door,
        on_ingest,
        log=log,
        unsettled="ingest_delivery_unsettled",
        title="meetings.ingest",
        description="External facts (one CloudEvent, or a batch of up to 1,000) to validate, apply and re-publish.",
        channel=Channel(prefetch_count=INGEST_PREFETCH),
    )

    router.subscriber(
        MEETINGS_FRAMEWORKS.rabbit_queue(),
        MEETINGS_FRAMEWORKS.rabbit_exchange(),
        ack_policy=AckPolicy.MANUAL,
        title="meetings.frameworks",
        description="Frameworks evaluation adopts (internal framework.adopted.v1): their item codes and maxima.",
    )(on_framework)
    router.subscriber(RPC_QUEUE.rabbit_queue(), title="meetings.rpc", description="Requests from the gateway.")(on_rpc)
    return router


async def on_ingest(message: IncomingMessage, app: MeetingsContext) -> None:
    """Judge every event of the delivery (a single one in a group with the deliveries that arrive with it); ack
    once its transaction committed; held while the database cannot be reached (shared.outages), and handed back
    uncounted when the service stops meanwhile (shared.consuming.hand_back, with its origin: how it was published and
    by whom, so its copy is judged as it would have been); requeued with backoff, toward the delivery limit, when the
    infrastructure fails otherwise. A message naming a direct reply-to (shared.replies) is answered there, once
    acked, with what POST /v1/events answers for the same body (shared.contracts.ingest_answer)."""
    raw = message.raw_message
    kind = type_label(raw.routing_key)
    request = uuid.uuid4().hex  # this delivery's, on each try through an outage: its own stored events stay its own
    reply_to = direct_reply_to(raw)  # only a direct reply-to name is answered (shared.replies)
    outcomes: list[handlers.IngestResult] | None = [] if reply_to is not None else None
    acks = ChannelAcks.for_message(message)  # a group's deliveries end together: one ack frame for them
    acks.begin(message)
    if carries_death_history(raw):  # its clean copy is judged instead: its publisher's history is not the broker's
        login = amqp_login(app.settings.amqp_url)
        origin = origin_of(raw, own_user=login)
        ack = functools.partial(acks.ack, message)
        consumer = MEETINGS_INGEST.name
        if await hand_back(message, consumer=consumer, ack=ack, origin=origin, own_user=login, cancel=False):
            _consumed(kind, "handed_back").inc()
            return
    try:
        # the one hold of every path of a delivery (ingest_judged): none can be added beside it and miss it; a
        # delivery worked on too long shows in /health (shared.backlog)
        # each try of it one request: an event an earlier try stored and logged is logged once (request_lines)
        with in_progress(MEETINGS_INGEST.name) as settled, handlers.request_lines(request):
            settled.append(
                await hold_through_outage(
                    lambda: ingest_judged(message, app, outcomes=outcomes, request=request),
                    consumer=MEETINGS_INGEST.name,
                )
            )
    except HandBack:
        login = amqp_login(app.settings.amqp_url)
        await hand_back(
            message,
            consumer=MEETINGS_INGEST.name,
            ack=lambda: acks.ack(message),
            origin=origin_of(raw, own_user=login),
            own_user=login,
        )
        _consumed(kind, "handed_back").inc()
        return
    except Exception as exc:
        deliveries = delivery_count(raw)
        log.exception("ingest_delivery_failed", deliveries=deliveries, error=repr(exc), **delivery_identity(raw))
        if deliveries >= MEETINGS_INGEST.delivery_limit - 1:  # its last allowed delivery: dead-lettered, saying why
            await dead_letter_delivery(
                message,
                consumer=MEETINGS_INGEST.name,
                cause=repr(exc),
                death="delivery_limit",
                ack=lambda: acks.ack(message),
                reject=lambda: acks.reject(message, requeue=False),
            )
            _consumed(kind, "dead_lettered").inc()
            return
        await asyncio.sleep(retry_delay(deliveries))
        await acks.reject(message, requeue=True)
        _consumed(kind, "retried").inc()
        return
    await acks.ack(message)
    _consumed(kind, "handled").inc()
    if reply_to is not None and outcomes:  # committed and acked: the reply can no longer undo or hold the delivery
        await reply_outcomes(raw, outcomes, reply_to=reply_to)


async def reply_outcomes(raw: Any, outcomes: list[handlers.IngestResult], *, reply_to: str) -> None:
    """Answer a judged delivery on its direct reply-to with POST /v1/events' body for its results (the sender's
    wording: IngestResult.as_dict); never raises, a reply that cannot be built or sent is logged."""
    try:
        body = ingest_answer([result.as_dict(index) for index, result in enumerate(outcomes)])
    except Exception as exc:  # the delivery is settled: nothing about its reply may fail it
        log.warning("ingest_reply_failed", reply_to=reply_to, error=repr(exc), **delivery_identity(raw))
        return
    await send_reply(raw, body, reply_to=reply_to)


async def ingest_judged(
    message: IncomingMessage,
    app: MeetingsContext,
    *,
    outcomes: list[handlers.IngestResult] | None = None,
    request: str | None = None,
) -> int:
    """Judge the delivery's events once, raising what fails: a single event in the group commit (app.singles), a
    batch or a neither-mode body on its own (handlers.ingest_delivery, in one of app.other_slots, taken again for
    each try of a held delivery); how many events were judged, their results in `outcomes` when given (replacing
    those of an earlier try: the direct reply-to answer, on_ingest). `request`: the delivery's token, the same on
    each try (handlers.ingest_readings), so an event an earlier try stored is answered as stored, not duplicate.
    on_ingest holds it through an outage and settles the delivery."""
    raw = message.raw_message
    body = bytes(raw.body)
    headers = raw.headers or {}
    origin = origin_of(raw, own_user=amqp_login(app.settings.amqp_url))  # a copy handed back at a stop: its original
    system = is_system_publisher(origin.user_id, app.settings.system_publishers)
    batch = delivery_is_batch(raw, origin)  # as evaluation and notifications read a delivery (its body too)
    routed = published_key(origin.exchange, origin.routing_key)
    message_id = amqp_message_id(raw)
    event = (
        None
        if batch
        else handlers.single_event(
            headers,
            raw.content_type,
            body,
            system=system,
            routing_key=routed,
            message_id=message_id,
            sender=origin.user_id or None,
            request=request,
        )
    )
    if event is not None:
        result = await app.singles.submit((event, current_trace_context()))  # the delivery's span is active here
        if outcomes is not None:
            outcomes[:] = [result]
        return 1
    async with app.other_slots:
        results = await handlers.ingest_delivery(
            body,
            app.uow_factory,
            batch=batch,
            route="amqp",
            headers=headers,
            content_type=raw.content_type,
            system=system,
            routing_key=routed,
            message_id=message_id,
            account=origin.user_id or None,  # its publisher's broker user (RabbitMQ checks it), kept as its sender
            request=request,
        )
    if outcomes is not None:
        outcomes[:] = results
    return len(results)


def published_key(exchange: str | None, routing_key: str | None) -> str | None:
    """The routing key a publisher gave a delivery on chibo.ingest, which must be its event's type or `batch`
    (handlers.as_routed); None for one that reached the queue otherwise (an operator's replay of a dead letter goes
    straight to the queue under the queue's name, the key it was first published with long gone)."""
    return routing_key if exchange == INGEST_EXCHANGE else None


@functools.cache
def amqp_login(url: str) -> str:
    """The AMQP user an amqp:// URL logs in as, `guest` when it names none (this service's own login:
    shared.consuming.origin_of)."""
    return broker_user_of(url)


def is_system_publisher(user_id: str | None, publishers: list[str]) -> bool:
    """Whether a delivery on chibo.ingest is from one of this system's own producers (the demo seed), who may send
    under urn:chibo: sources: its `user_id`, which RabbitMQ checks against the publisher's login, is one of
    CHIBO_SYSTEM_PUBLISHERS. The text of an event's `source` is never trusted for it."""
    return bool(user_id) and user_id in publishers


@functools.cache
def _consumed(kind: str, outcome: str) -> Any:
    """The ingest queue's counter child for a type label and outcome, looked up once (labels() per delivery
    takes the metric's lock and builds a key; the labels are bounded, so is this cache)."""
    return EVENTS_CONSUMED.labels(MEETINGS_INGEST.name, kind, outcome)


async def on_framework(message: RabbitMessage, app: Annotated[MeetingsContext, ServiceContext("meetings")]) -> None:
    """Keep one adopted framework's item table exactly once (inbox) and settle the delivery explicitly."""
    await consume_event(
        message,
        consumer=MEETINGS_FRAMEWORKS.name,
        handlers=handlers.FRAMEWORK_HANDLERS,
        uow_factory=app.uow_factory,
        publishers=app.publishers,
    )


async def on_rpc(
    request: RpcRequest,
    message: RabbitMessage,
    app: Annotated[MeetingsContext, ServiceContext("meetings")],
) -> dict[str, Any]:
    """Answer one request of the meetings.rpc catalog, from the allowed callers only (CHIBO_RPC_CALLERS)."""
    caller = message.raw_message.user_id
    return await answer(request, rpc_methods(app), caller=caller, allowed_callers=app.settings.rpc_callers)
