"""A minimal chibo feeder with the official CloudEvents SDK for Python (`pip install cloudevents httpx aio-pika`).

It sends a cell and its secretary over HTTP (POST /v1/events, binary content mode), then the cell's next meeting
over RabbitMQ (exchange chibo.ingest, binary mode with `ce-` headers, publisher confirms) under a source registered
to no account, and prints what chibo answered over HTTP, that RabbitMQ confirmed the meeting, and chibo's outcome
of the meeting, which it asks for with RabbitMQ's direct reply-to (`reply_to` = amq.rabbitmq.reply-to) and waits for
at most `--reply-wait` seconds. Run it against your test system:

    python docs/examples/feeder.py --gateway https://chibo.example.vn --token "$TOKEN" \
        --amqp amqp://partner:secret@broker.example.vn/ --committee <your committee id>
"""

import argparse
import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

import aio_pika
import httpx
from cloudevents.core.bindings import http, rabbitmq
from cloudevents.core.v1.event import CloudEvent

SOURCE = "urn:example:member-database"  # names your system; (source, id) identifies an event for ever
# A source registered to your integration account is that account's alone: an event under it from the AMQP route is
# rejected (source_of_another_account). The AMQP route sends under a source registered to no account.
AMQP_SOURCE = "urn:example:e-office"
VIETNAM = timezone(timedelta(hours=7))


def event(event_type: str, data: dict, source: str = SOURCE) -> CloudEvent:
    """One event: a fresh id (keep it if you must resend: a resend is then a harmless duplicate)."""
    return CloudEvent(
        attributes={
            "id": str(uuid.uuid4()),
            "source": source,
            "type": event_type,
            "time": datetime.now(VIETNAM).replace(microsecond=0),
            "datacontenttype": "application/json",
        },
        data=data,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--amqp", required=True)
    parser.add_argument("--committee", required=True, help="the committee (đảng ủy) the new cell belongs to")
    parser.add_argument("--reply-wait", type=float, default=30, help="seconds to wait for chibo's AMQP answer")
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:6]
    cell, secretary = f"cell-{suffix}", f"member-{suffix}"

    async with httpx.AsyncClient(base_url=args.gateway, timeout=30) as client:
        for sent in (
            event(
                "org.unit.upserted.v1",
                {
                    "id": cell,
                    "name": "Chi bộ khu phố 7",
                    "kind": "cell",
                    "parent_id": args.committee,
                    "category": "residential",
                },
            ),
            event(
                "member.upserted.v1",
                {
                    "id": secretary,
                    "full_name": "Nguyễn Thị Hoa",
                    "cell_id": cell,
                    "status": "official",
                    "role": "secretary",
                },
            ),
        ):
            message = http.to_binary_event(sent)  # ce-* headers, the data as the JSON body
            response = await client.post(
                "/v1/events",
                content=message.body,
                headers={**message.headers, "Authorization": f"Bearer {args.token}"},
            )
            response.raise_for_status()
            print(f"http {sent.get_type()} {sent.get_id()}: {outcome_of(response.json())}")

    starts = (datetime.now(VIETNAM) + timedelta(days=7)).replace(hour=19, minute=30, second=0, microsecond=0)
    meeting = event(
        "meeting.scheduled.v1",
        {
            "meeting_id": f"meeting-{suffix}",
            "cell_id": cell,
            "kind": "regular",
            "starts_at": starts.isoformat(),
            "location": "Nhà văn hóa khu phố 7",
            "agenda": ["Sinh hoạt chi bộ thường kỳ"],
        },
        source=AMQP_SOURCE,
    )
    message = rabbitmq.to_binary_event(meeting)  # ce-* headers, content type application/json
    connection = await aio_pika.connect(args.amqp)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        # chibo's answer comes by direct reply-to: consume the pseudo-queue (no acks) on the channel that publishes
        answer: asyncio.Future[aio_pika.abc.AbstractIncomingMessage] = asyncio.get_running_loop().create_future()

        async def on_reply(reply: aio_pika.abc.AbstractIncomingMessage) -> None:
            if reply.correlation_id == meeting.get_id() and not answer.done():
                answer.set_result(reply)

        replies = await channel.get_queue("amq.rabbitmq.reply-to", ensure=False)
        await replies.consume(on_reply, no_ack=True)
        exchange = await channel.get_exchange("chibo.ingest")
        await exchange.publish(
            aio_pika.Message(
                message.body,
                headers=message.headers,
                content_type=message.content_type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                # your broker login: RabbitMQ checks it, and a rejection then names you as its sender
                user_id=unquote(urlsplit(args.amqp).username or "guest"),
                message_id=meeting.get_id(),  # the reply's correlation_id
                reply_to="amq.rabbitmq.reply-to",  # optional: ask chibo for the outcome
            ),
            routing_key=meeting.get_type(),  # the routing key is the event's type
            mandatory=True,
        )
        print(f"amqp {meeting.get_type()} {meeting.get_id()}: published", flush=True)
        try:
            reply = await asyncio.wait_for(answer, timeout=args.reply_wait)
        except TimeoutError:
            said = f"no answer within {args.reply_wait:g} s; resend the same event (a duplicate changes nothing)"
        else:
            said = outcome_of(json.loads(reply.body))
    print(f"amqp {meeting.get_type()} {meeting.get_id()}: {said}")


def outcome_of(body: dict) -> str:
    """One event's outcome as chibo answered it (the body POST /v1/events answers), in a few words."""
    if "results" not in body:  # the message was not an event at all: the answer is an error
        return f"rejected {body.get('code')}: {body.get('message')}"
    result = body["results"][0]
    return f"{result['outcome']} {result.get('reason') or ''}".strip()


if __name__ == "__main__":
    asyncio.run(main())
