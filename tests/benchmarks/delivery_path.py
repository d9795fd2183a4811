"""In-process micro-benchmark of a consumer's per-delivery path (issue 12): CPU µs from a delivery's callback to its
ack.

    .venv/bin/python -m tests.benchmarks.delivery_path [--service evaluation] [--deliveries 20000] [--repeat 3]

The service's own subscriber (its ServiceSpec's router on a broker made as the runtime makes it, middlewares and all,
started against a throwaway vhost) is handed ready aio-pika deliveries of one small fact each, one after the other,
the way aio-pika calls it; its `consume_event` is replaced by one that only acks, so the figure is what the path
around our handler costs (FastStream's per-message path, or shared.context.light_delivery) and nothing of the
database. The subscriber's own consume callback is called directly: aiormq's frames are not part of it. Run it in two
trees (a worktree of main, then this) to compare the paths; the tree is the one `services` is imported from.
"""

import argparse
import asyncio
import importlib
import json
import statistics
import time
from typing import Any

import aio_pika
from aiormq.abc import DeliveredMessage
from pamqp import commands
from pamqp.header import ContentHeader

from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from shared.logs import configure_logging
from shared.runtime import create_broker
from shared.topology import EVENTS_EXCHANGE, declare_topology
from tests.support.env import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL, isolated_vhost

EVENT_TYPE = {"evaluation": "org.unit.upserted.v1", "notifications": "org.unit.upserted.v1"}
"""The fact each delivery carries (a type the queue is bound to)."""


class AckSink:
    """An aio-pika channel that takes acks and rejections and sends nothing."""

    acked = 0
    is_closed = False

    async def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        """Count an ack."""
        self.acked += 1

    async def basic_reject(self, delivery_tag: int, requeue: bool = True) -> None:
        """Take a rejection."""

    async def basic_nack(self, delivery_tag: int, multiple: bool = False, requeue: bool = True) -> None:
        """Take a negative ack."""


def delivery(channel: AckSink, tag: int, event_type: str) -> aio_pika.IncomingMessage:
    """One delivery of a small fact on chibo.events, as aio-pika hands it to a consumer's callback."""
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": f"bench-{tag}",
            "source": "urn:chibo:meetings",
            "type": event_type,
            "time": "2026-01-01T08:00:00+07:00",
            "data": {"id": f"cell-{tag}", "name": "Chi bộ", "kind": "cell", "parent_id": None},
        }
    ).encode()
    properties = commands.Basic.Properties(content_type=CLOUDEVENT_CONTENT_TYPE, message_id=f"msg-{tag}")
    raw = DeliveredMessage(
        delivery=commands.Basic.Deliver(
            consumer_tag="bench", delivery_tag=tag, routing_key=event_type, exchange=EVENTS_EXCHANGE
        ),
        header=ContentHeader(body_size=len(body), properties=properties),
        body=body,
        channel=channel,  # type: ignore[arg-type]
    )
    return aio_pika.IncomingMessage(raw, no_ack=False)


async def acked_only(message: Any, **_: Any) -> dict[str, int]:
    """consume_event's stand-in: the delivery acked, nothing applied."""
    await message.ack()
    return {"handled": 1}


async def measure(service: str, *, deliveries: int, repeat: int) -> dict[str, Any]:
    """µs of process CPU per delivery through the service's subscriber, each of `repeat` passes."""
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    consumers = importlib.import_module(f"services.{service}.consumers")
    config = importlib.import_module(f"services.{service}.config")
    setattr(consumers, "consume_event", acked_only)  # noqa: B010 (a module imported by name)
    if hasattr(bootstrap, "prepare"):  # evaluation registers its frameworks in the database first

        async def no_frameworks(*_: Any, **__: Any) -> Any:
            return lambda: None

        setattr(bootstrap, "prepare", no_frameworks)  # noqa: B010
    if hasattr(bootstrap, "content_keys"):  # evaluation fills missing content keys from the database at start

        async def no_backfill(*_: Any, **__: Any) -> dict[str, int]:
            return {}

        setattr(bootstrap.content_keys, "backfill", no_backfill)  # noqa: B010
    with isolated_vhost(DEFAULT_AMQP_URL) as amqp_url:
        settings = config.Settings(amqp_url=amqp_url, database_url=DEFAULT_DATABASE_URL, log_level="WARNING")
        spec = bootstrap.build_spec(settings)
        configure_logging(service=spec.name, level="WARNING", json=True)  # as the benchmark's services log
        await declare_topology(amqp_url, spec.consumer_queues)
        broker = create_broker(settings, service=spec.name, consumer_queues=spec.consumer_queues)
        broker.include_router(spec.router)
        broker.context.set_global(spec.name, await spec.build_context(None, broker))
        await broker.start()
        try:
            queue = spec.consumer_queues[0].name
            subscriber = next(
                s for s in broker.subscribers if getattr(getattr(s, "queue", None), "name", None) == queue
            )
            channel = AckSink()
            passes = []
            for attempt in range(repeat + 1):  # the first pass warms up (caches, first imports)
                raws = [delivery(channel, tag, EVENT_TYPE[service]) for tag in range(1, deliveries + 1)]
                start = time.process_time()
                for raw in raws:
                    await subscriber.consume(raw)
                spent = time.process_time() - start
                if attempt:
                    passes.append(spent / deliveries * 1e6)
            assert channel.acked == deliveries * (repeat + 1), channel.acked
        finally:
            await broker.stop()
    return {
        "service": service,
        "tree": consumers.__file__,
        "deliveries": deliveries,
        "us_per_delivery": [round(p, 1) for p in passes],
        "median_us": round(statistics.median(passes), 1),
    }


def main() -> None:
    """Parse the options, measure, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", choices=sorted(EVENT_TYPE), default="evaluation")
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.service, deliveries=args.deliveries, repeat=args.repeat))))


if __name__ == "__main__":
    main()
