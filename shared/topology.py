"""The broker topology, declared in one place: exchanges, consumer queues, dead letters.

Every consumer queue is a durable quorum queue named `<service>.<consumer>` with an explicit
delivery limit and a dead-letter route to `<service>.<consumer>.dlq`, so a message that keeps
failing ends where an operator sees it instead of looping or vanishing.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage, AbstractRobustChannel
from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

from shared.contracts import frameworks as frameworks_contract
from shared.contracts import meetings as meetings_contract
from shared.logs import get_logger
from shared.probes import side_channel

log = get_logger(__name__)

INGEST_EXCHANGE = "chibo.ingest"
EVENTS_EXCHANGE = "chibo.events"
DEAD_LETTER_EXCHANGE = "chibo.dead-letter"
UNROUTED_EXCHANGE = "chibo.unrouted"
UNROUTED_QUEUE = "chibo.unrouted"
UNROUTED_ARGUMENTS: dict[str, Any] = {"x-max-length": 100_000, "x-overflow": "drop-head"}
"""Declaration arguments of chibo.unrouted and of each service's `<service>.unrouted` watch: bounded, oldest dropped."""
RPC_MESSAGE_TTL_MS = 30_000
DEAD_LETTER_DELIVERY_LIMIT = 2**31 - 1
"""The delivery limit of every `.dlq`: as good as none. Listing or replaying one dead letter takes the queue's messages
and gives the others back, and a quorum queue counts every return against its limit; RabbitMQ 4 sets a default of 20,
after which a dead letter would be dropped (a `.dlq` has no dead-letter route of its own). The 4.x way to turn it off,
-1, is read by RabbitMQ 3.x as a limit of 0 (the first return drops the message): a very large limit means the same
on both. See docs/architecture.md, "Dead letters"."""
DEAD_LETTER_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum", "x-delivery-limit": DEAD_LETTER_DELIVERY_LIMIT}
"""Declaration arguments of every `.dlq`."""


@dataclass(frozen=True)
class ConsumerQueue:
    """One consumer's queue: where it reads from and which routing keys it wants."""

    service: str
    consumer: str
    exchange: str
    routing_keys: Sequence[str]
    delivery_limit: int = 5

    @property
    def name(self) -> str:
        """`<service>.<consumer>`."""
        return f"{self.service}.{self.consumer}"

    @property
    def dead_letter_queue(self) -> str:
        """Where this queue's failed messages end."""
        return f"{self.name}.dlq"

    def arguments(self) -> dict[str, Any]:
        """Declaration arguments: quorum, delivery limit, dead-letter route."""
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": self.name,
        }

    def rabbit_queue(self) -> RabbitQueue:
        """The FastStream description of the queue, matching what declare_topology creates."""
        return RabbitQueue(
            self.name,
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={
                "x-delivery-limit": self.delivery_limit,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": self.name,
            },
            routing_key=self.routing_keys[0] if self.routing_keys else self.name,
        )

    def rabbit_exchange(self) -> RabbitExchange:
        """The FastStream description of the exchange the queue is bound to."""
        return RabbitExchange(self.exchange, type=ExchangeType.TOPIC, durable=True, arguments=_exchange_args())


@dataclass(frozen=True)
class RpcQueue:
    """A service's request/reply queue: requests expire if nobody answers within the TTL."""

    service: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """`<service>.rpc`."""
        return f"{self.service}.rpc"

    def rabbit_queue(self) -> RabbitQueue:
        """The FastStream description of the classic, durable RPC queue."""
        return RabbitQueue(self.name, durable=True, arguments={"x-message-ttl": RPC_MESSAGE_TTL_MS})


def _exchange_args() -> dict[str, Any]:
    return {"alternate-exchange": UNROUTED_EXCHANGE}


def events_exchange() -> RabbitExchange:
    """`chibo.events`, for publishers that go through FastStream."""
    return RabbitExchange(EVENTS_EXCHANGE, type=ExchangeType.TOPIC, durable=True, arguments=_exchange_args())


def ingest_exchange() -> RabbitExchange:
    """`chibo.ingest`, for publishers that go through FastStream."""
    return RabbitExchange(INGEST_EXCHANGE, type=ExchangeType.TOPIC, durable=True, arguments=_exchange_args())


async def declare_exchanges(channel: AbstractChannel) -> None:
    """Declare the shared exchanges, the unrouted catch-all and the dead-letter exchange."""
    unrouted = await channel.declare_exchange(UNROUTED_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
    unrouted_queue = await channel.declare_queue(UNROUTED_QUEUE, durable=True, arguments=UNROUTED_ARGUMENTS)
    await unrouted_queue.bind(unrouted)
    for name in (INGEST_EXCHANGE, EVENTS_EXCHANGE):
        await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True, arguments=_exchange_args())
    await channel.declare_exchange(DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)


def _binds(pattern: str, key: str) -> bool:
    """True when a topic binding `pattern` (`*` one word, `#` zero or more) matches routing key `key`."""

    def match(words: list[str], parts: list[str]) -> bool:
        if not words:
            return not parts
        if words[0] == "#":
            return any(match(words[1:], parts[index:]) for index in range(len(parts) + 1))
        return bool(parts) and words[0] in ("*", parts[0]) and match(words[1:], parts[1:])

    return match(pattern.split("."), key.split("."))


def unbound_types(queues: Sequence[ConsumerQueue] | None = None) -> list[str]:
    """The event types published on chibo.events that no consumer queue of ours binds (`queues`, CONSUMER_QUEUES by
    default), sorted: what chibo.unrouted (the alternate exchange) keeps by design, published for listeners outside
    chibo (ingest.rejected.v1, notification.delivered.v1, ...) when none is bound; bound types it receives are
    losses, which each service's unrouted watch counts."""
    from shared.contracts.registry import REGISTRY  # the registry reads every contract module: only when asked

    bindings = [
        key
        for spec in (CONSUMER_QUEUES if queues is None else queues)
        if spec.exchange == EVENTS_EXCHANGE
        for key in spec.routing_keys
    ]
    return sorted(event_type for event_type in REGISTRY if not any(_binds(key, event_type) for key in bindings))


def unrouted_watch(service: str) -> str:
    """`<service>.unrouted`: the exchange and queue that keep a copy of each message reaching chibo.unrouted whose
    routing key one of the service's consumer queues binds (declare_unrouted_watches)."""
    return f"{service}.unrouted"


def watched_keys(queues: Sequence[ConsumerQueue]) -> dict[str, list[str]]:
    """Service -> the routing keys its consumer queues bind, wildcards (`#`, `*`) left out: a message with one of these
    keys reaching chibo.unrouted is one the service should have received (its binding was gone). A wildcard cannot be
    watched so: chibo.unrouted takes the unroutable messages of both chibo.ingest and chibo.events and keeps only their
    routing key, not the exchange, so meetings.ingest's `#` would match every type published for no consumer of ours
    (notification.delivered.v1, ...), a loss on every health check, and `unrouted return` would send raw facts of
    chibo.ingest to chibo.events. Wildcard bindings are still bound again by restore_bindings like any other key."""
    keys: dict[str, set[str]] = {}
    for spec in queues:
        own = keys.setdefault(spec.service, set())
        own.update(key for key in spec.routing_keys if "#" not in key and "*" not in key)
    return {service: sorted(found) for service, found in keys.items()}


async def declare_unrouted_watches(channel: AbstractChannel, queues: Sequence[ConsumerQueue]) -> None:
    """For each service among `queues`, a topic exchange `<service>.unrouted` bound to chibo.unrouted (which fans out
    every unroutable message with its routing key) and a bounded queue of the same name bound to it by the service's
    watched_keys: its depth counts the events that service lost to chibo.unrouted, which keeps its own copies and its
    meaning (messages nobody is bound for; some types are published for no consumer of ours). Idempotent."""
    unrouted = await channel.get_exchange(UNROUTED_EXCHANGE)
    for service, keys in watched_keys(queues).items():
        name = unrouted_watch(service)
        exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
        await exchange.bind(unrouted)
        queue = await channel.declare_queue(name, durable=True, arguments=UNROUTED_ARGUMENTS)
        for key in keys:
            await queue.bind(exchange, routing_key=key)


async def has_dead_letter_arguments(connection: AbstractConnection, name: str) -> bool:
    """Declare the queue with DEAD_LETTER_ARGUMENTS: True when it is new or has them, False when RabbitMQ refuses
    (PRECONDITION_FAILED: declared before with other arguments, which cannot change in place)."""
    channel = await side_channel(connection)  # a refused declaration closes its channel: not `connection`'s own
    try:
        await channel.declare_queue(name, durable=True, arguments=DEAD_LETTER_ARGUMENTS)
        return True
    except aio_pika.exceptions.ChannelPreconditionFailed:
        return False
    finally:
        if not channel.is_closed:
            await channel.close()


def message_copy(
    message: AbstractIncomingMessage, *, headers: dict[str, Any], timestamp: Any = None, user_id: str | None = None
) -> aio_pika.Message:
    """A persistent copy of a received message to publish again: its body and properties, with `headers` (and the
    AMQP `timestamp` and `user_id`, the publisher's own login, when given)."""
    return aio_pika.Message(
        bytes(message.body),
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        timestamp=timestamp,
        type=message.type,
        app_id=message.app_id,
        user_id=user_id,
    )


async def _move_all(channel: AbstractChannel, source: str, target: str) -> int:
    """Every message of `source` published to `target` as it is (body, properties, every header), confirmed, then
    acknowledged: a crash in between leaves a copy in both, never none. How many."""
    queue = await channel.declare_queue(source, passive=True)
    moved = 0
    while (message := await queue.get(no_ack=False, fail=False)) is not None:
        await channel.default_exchange.publish(
            message_copy(message, headers=dict(message.headers or {}), timestamp=message.timestamp),
            routing_key=target,
            timeout=30,
        )
        await message.ack()
        moved += 1
    return moved


async def declare_dead_letter_queue(connection: AbstractConnection, name: str, *, routing_key: str) -> bool:
    """Declare a dead-letter queue with DEAD_LETTER_ARGUMENTS, bound to the dead-letter exchange by `routing_key`;
    True when it has them. One declared before them by an older deployment is declared again when it holds nothing
    (no message, no consumer): `<name>.upgrade` is bound beside it first, so whatever dies while the queue is replaced
    is caught there and moved in after (a crash leaves it to the next start); one holding dead letters is left as it
    is, and logged, until it has been replayed or purged (its listing checks: shared.ops.dead_letters.peek_is_safe)."""
    holding = f"{name}.upgrade"
    replaced = await has_dead_letter_arguments(connection, name)
    channel = await side_channel(connection, publisher_confirms=True)  # a missing `holding` closes it (probes)
    try:
        dlx = await channel.get_exchange(DEAD_LETTER_EXCHANGE)
        if not replaced:
            hold = await channel.declare_queue(holding, durable=True, arguments=DEAD_LETTER_ARGUMENTS)
            await hold.bind(dlx, routing_key=routing_key)
            found = (await channel.declare_queue(name, passive=True)).declaration_result
            if found.message_count or found.consumer_count:
                await hold.unbind(dlx, routing_key=routing_key)
                await channel.queue_delete(holding)  # copies only: each is in `name` too
                log.warning("dead_letter_queue_keeps_old_arguments", queue=name, messages=found.message_count)
                return False
            # quorum queues refuse `if_empty`: what dies from here on is in `holding` as well
            await channel.queue_delete(name)
            await channel.declare_queue(name, durable=True, arguments=DEAD_LETTER_ARGUMENTS)
            log.info("dead_letter_queue_redeclared", queue=name, delivery_limit=DEAD_LETTER_DELIVERY_LIMIT)
        dead = await channel.declare_queue(name, passive=True)
        await dead.bind(dlx, routing_key=routing_key)
        try:
            hold = await channel.declare_queue(holding, passive=True)
        except aio_pika.exceptions.ChannelClosed:  # none: the usual case
            return True
        await hold.unbind(dlx, routing_key=routing_key)
        moved = await _move_all(channel, holding, name)
        await channel.queue_delete(holding)
        log.info("dead_letter_queue_upgrade_drained", queue=name, moved=moved)
        return True
    finally:
        if not channel.is_closed:
            await channel.close()


async def declare_consumer_queues(connection: AbstractConnection, queues: Sequence[ConsumerQueue]) -> None:
    """Declare each consumer queue with its dead-letter queue (declare_dead_letter_queue) and bind all its routing
    keys; then each service's unrouted watch (declare_unrouted_watches)."""
    channel = await connection.channel()
    try:
        for spec in queues:
            exchange = await channel.get_exchange(spec.exchange)
            queue = await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments())
            for key in spec.routing_keys:
                await queue.bind(exchange, routing_key=key)
            await declare_dead_letter_queue(connection, spec.dead_letter_queue, routing_key=spec.name)
        await declare_unrouted_watches(channel, queues)
    finally:
        await channel.close()


async def restore_bindings(connection: AbstractConnection, queues: Sequence[ConsumerQueue]) -> None:
    """Declare the shared exchanges again and bind each consumer queue by all its routing keys, its `.dlq` to the
    dead-letter exchange and the service's unrouted watch (declare_unrouted_watches), as declare_topology does. Every
    step is idempotent: it changes nothing on an intact broker and puts back what a deleted exchange took with it
    (deleting an exchange deletes its bindings, and a re-declared exchange comes back without them). Raises the
    broker's error (a closed channel) when a queue is missing."""
    channel = await side_channel(connection)  # which closes this channel, not `connection` (shared.probes)
    try:
        await declare_exchanges(channel)
        dead_letter = await channel.get_exchange(DEAD_LETTER_EXCHANGE)
        for spec in queues:
            exchange = await channel.get_exchange(spec.exchange)
            queue = await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments())
            for key in spec.routing_keys:
                await queue.bind(exchange, routing_key=key)
            dead = await channel.declare_queue(spec.dead_letter_queue, passive=True)
            await dead.bind(dead_letter, routing_key=spec.name)
        await declare_unrouted_watches(channel, queues)
    finally:
        if not channel.is_closed:
            await channel.close()


async def declare_topology(amqp_url: str, queues: Sequence[ConsumerQueue] = ()) -> None:
    """Declare the exchanges and the given consumer queues on a short-lived connection."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await declare_exchanges(channel)
        await channel.close()
        await declare_consumer_queues(connection, queues)
    finally:
        await connection.close()


async def queue_depths(
    channel: AbstractRobustChannel | AbstractChannel, names: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Messages waiting and consumers attached for each named queue (passive declares)."""
    depths: dict[str, dict[str, int]] = {}
    for name in names:
        queue = await channel.declare_queue(name, passive=True)
        result = queue.declaration_result
        depths[name] = {"messages": result.message_count or 0, "consumers": result.consumer_count or 0}
    return depths


# Every consumer queue of the system, in one place. A service declares the ones it reads.
MEETINGS_INGEST = ConsumerQueue("meetings", "ingest", INGEST_EXCHANGE, ["#"])
"""All external facts: every routing key on chibo.ingest, including `batch`."""

MEETINGS_FRAMEWORKS = ConsumerQueue("meetings", "frameworks", EVENTS_EXCHANGE, list(frameworks_contract.TYPES))
"""The frameworks evaluation adopts (internal `framework.adopted.v1`): meetings judges assessments by their items."""

NOTIFICATIONS_IGNORES = frozenset({"minutes.approved.v1", "meeting.assessed.v1", "task.completed.v1"})
"""Facts no notification rule reads (services/notifications/handlers has no handler for them): not bound to its queue.
They were 45 % of the province-year's events, each delivered, read and acknowledged as ignored."""

EVALUATION_FACTS = ConsumerQueue(
    "evaluation", "facts", EVENTS_EXCHANGE, [*meetings_contract.TYPES, "attendance.withdrawn.v1"]
)
"""The validated facts meetings publishes, from which evaluation computes scores."""

NOTIFICATIONS_EVENTS = ConsumerQueue(
    "notifications",
    "events",
    EVENTS_EXCHANGE,
    [
        *(kind for kind in meetings_contract.TYPES_OUT if kind not in NOTIFICATIONS_IGNORES),
        "score.meeting.updated.v1",
        "score.meeting.withdrawn.v1",
        "score.cell.updated.v1",
    ],
)
"""Facts and scores that may trigger an alert."""

CONSUMER_QUEUES = [MEETINGS_INGEST, MEETINGS_FRAMEWORKS, EVALUATION_FACTS, NOTIFICATIONS_EVENTS]
SERVICES = ("meetings", "evaluation", "notifications", "gateway")
RPC_SERVICES = ("meetings", "evaluation", "notifications")
