"""Events a service lost to chibo.unrouted, sent back: the copies its `<service>.unrouted` watch keeps
(shared.topology.declare_unrouted_watches) published again to chibo.events with their routing key and headers.

docs/operations.md, ChiboEventsUnrouted: once the service's bindings are back (every CHIBO_BINDINGS_CHECK_SECONDS),
`python -m shared.ops unrouted return --service S` does what a RabbitMQ shovel from the queue to chibo.events did.
Published as another broker user than the owner's (the admin beside `make up`'s per-process users), a copy of a fact
would carry that user as its publisher and be refused (docs/security.md, "Who may publish a fact"): there the command
asks the service over its RPC, which sends each copy straight to its own consumer queues as itself, naming the copy's
original publisher (`vouch`: shared.consuming.origin_of trusts that only from the service's own login).
"""

from collections import Counter
from typing import Any

import aio_pika
from aio_pika.abc import AbstractConnection

from shared.consuming import ORIGIN_HEADERS, Origin, origin_headers
from shared.ops.dead_letters import connection_login
from shared.probes import side_channel
from shared.topology import CONSUMER_QUEUES, EVENTS_EXCHANGE, message_copy, unrouted_watch, watched_keys

UNROUTED_SERVICES = tuple(sorted(watched_keys(CONSUMER_QUEUES)))
"""The services that keep an unrouted watch (those with a consumer queue bound by exact routing keys)."""


def queues_for(service: str, routing_key: str) -> list[str]:
    """The service's consumer queues bound to chibo.events by `routing_key` (an exact key: watched_keys)."""
    return [
        queue.name
        for queue in CONSUMER_QUEUES
        if queue.service == service and queue.exchange == EVENTS_EXCHANGE and routing_key in queue.routing_keys
    ]


class NoUnroutedWatch(Exception):
    """The service's `<service>.unrouted` queue does not exist on this broker (not declared yet: it never started)."""


async def return_unrouted(
    connection: AbstractConnection, service: str, *, dry_run: bool, vouch: bool = False
) -> dict[str, Any]:
    """Publish each message of `<service>.unrouted` back to chibo.events with its routing key, headers and
    properties, once: only the messages there when it starts (a copy that finds no binding again comes back to the
    watch and waits for the next run instead of looping), each acknowledged only after the broker confirmed its
    publication (a crash in between leaves it in both places, never in none: consumers are idempotent). `dry_run`
    takes them all and gives them all back untouched. With `vouch` (the service itself, over its RPC, `connection`
    its own login) each copy goes straight to the service's consumer queues bound by its key (queues_for), carrying
    chibo.events, the key and the copy's own broker-checked `user_id` as its origin (ORIGIN_HEADERS): it is judged as
    its original publisher's, so a forged one stays refused. {queue, moved, routing_keys (key -> count), left,
    dry_run}; NoUnroutedWatch when the queue does not exist."""
    name = unrouted_watch(service)
    login = connection_login(connection)
    channel = await side_channel(connection, publisher_confirms=True)  # off `connection` (shared.probes)
    try:
        try:
            queue = await channel.declare_queue(name, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            raise NoUnroutedWatch(f"no queue {name} on this broker (the {service} service never started?)") from None
        waiting = queue.declaration_result.message_count or 0
        exchange = await channel.get_exchange(EVENTS_EXCHANGE, ensure=True)
        keys: Counter[str] = Counter()
        moved = 0
        while sum(keys.values()) < waiting and (message := await queue.get(no_ack=False, fail=False)) is not None:
            key = message.routing_key or ""
            keys[key] += 1
            if dry_run:
                continue  # left unacknowledged: back in the queue when the channel closes
            # published as this login (`user_id`): the consumers apply it when that is the owner's broker user, as with
            # one broker user for every process; otherwise they dead-letter it naming it (docs/security.md)
            headers = {name: value for name, value in (message.headers or {}).items() if name not in ORIGIN_HEADERS}
            if vouch and login:
                headers.update(origin_headers(Origin(EVENTS_EXCHANGE, key, message.user_id)))
                copy = message_copy(message, headers=headers, timestamp=message.timestamp, user_id=login)
                for target in queues_for(service, key):  # each returns once the broker confirmed it
                    await channel.default_exchange.publish(copy, routing_key=target, timeout=30)
            else:
                copy = message_copy(message, headers=headers, timestamp=message.timestamp, user_id=login)
                await exchange.publish(copy, routing_key=key, timeout=30)  # returns once the broker confirmed it
            await message.ack()
            moved += 1
        return {
            "queue": name,
            "moved": moved,
            "routing_keys": dict(sorted(keys.items())),
            "left": waiting - moved,
            "dry_run": dry_run,
        }
    finally:
        if not channel.is_closed:
            await channel.close()
