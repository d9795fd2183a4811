"""A minimal chibo listener with the official CloudEvents SDK for Python (`pip install cloudevents aio-pika`).

It binds a queue of its own to the topic exchange chibo.events and prints every event it receives, one line each
(`<type> <id> <source>`), whichever form the message has: one structured event (application/cloudevents+json) or
a batch of events of one type (application/cloudevents-batch+json, a JSON array), which chibo sends for bulk work.

    python docs/examples/listener.py --amqp AMQP_URL [--routing-key score.#] [--count N]

A login the broker refuses (a wrong password, or one without a listener's permissions: declaring, binding and
consuming a server-named queue `amq.gen-…` on chibo.events) ends it with one line on stderr and exit code 2.
"""

import argparse
import asyncio
import json
import sys

import aio_pika
import aiormq
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import rabbitmq
from cloudevents.core.formats.json import JSONFormat

BATCH = "application/cloudevents-batch+json"


def events_of(message: aio_pika.abc.AbstractIncomingMessage) -> list[BaseCloudEvent]:
    """The events one message carries: each item of a batch, or the one event."""
    media = (message.content_type or "").split(";", 1)[0].strip().lower()
    if media == BATCH:
        return [JSONFormat().read(None, json.dumps(item).encode()) for item in json.loads(message.body)]
    headers = {key: value if isinstance(value, str) else str(value) for key, value in (message.headers or {}).items()}
    wire = rabbitmq.RabbitMQMessage(headers=headers, content_type=message.content_type, body=message.body)
    return [rabbitmq.from_rabbitmq(wire, JSONFormat())]


def refusal(error: Exception) -> str:
    """The one line that tells why the broker refused this login: the broker's own words and what to use instead."""
    frame = error.args[0] if error.args else None
    said = (getattr(frame, "reply_text", None) or str(error) or type(error).__name__).rstrip(".")
    if isinstance(error, aio_pika.exceptions.ProbableAuthenticationError):
        what = "the broker refused this login (wrong user or password?)"
    else:
        what = "this login may not declare, bind or consume a queue of its own on chibo.events (a permission problem)"
    return (
        f"listener: {what}: {said}; use a login with a listener's permissions"
        " (on the demo of `make up`: CHIBO_AMQP_URL_LISTEN of var/broker-credentials.env)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amqp", required=True)
    parser.add_argument("--routing-key", default="#", help="which types to hear, e.g. score.# (default: all)")
    parser.add_argument("--count", type=int, default=0, help="stop after this many events (default: never)")
    args = parser.parse_args()

    connection = await aio_pika.connect(args.amqp)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)  # a queue of your own, gone when you disconnect
        await queue.bind("chibo.events", routing_key=args.routing_key)
        print(f"listening on chibo.events for {args.routing_key}", flush=True)
        seen = 0
        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process():  # acknowledged once every event of it is handled
                    for event in events_of(message):
                        print(f"{event.get_type()} {event.get_id()} {event.get_source()}", flush=True)
                        seen += 1
                if args.count and seen >= args.count:
                    break


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except (aio_pika.exceptions.ProbableAuthenticationError, aiormq.exceptions.ChannelAccessRefused) as error:
        print(refusal(error), file=sys.stderr)
        sys.exit(2)
