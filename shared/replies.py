"""Direct reply-to answers of chibo.ingest (docs/integrations.md "Outcomes over AMQP"): a message whose `reply_to`
names a RabbitMQ direct reply-to pseudo-queue gets one reply with its outcome, at most once.

Only `amq.rabbitmq.reply-to.…` names are answered: any other `reply_to` is ignored (and logged), so a publisher
cannot make meetings publish into a queue of its choosing. The reply goes to the default exchange on the delivery's
own channel, not mandatory and without waiting past REPLY_TIMEOUT_SECONDS: RabbitMQ drops a reply whose requester is
gone (or whose name it cannot decode) without a channel error, and answers a mandatory one with basic.return even
when it was delivered (3.10), so a lost reply cannot be told from a delivered one here; only a publish that failed
is logged as such. A reply never fails, requeues or holds its delivery: it is sent after the delivery was acked."""

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import aiormq
from aio_pika.abc import AbstractIncomingMessage

from shared.consuming import delivery_identity
from shared.logs import get_logger
from shared.rpc import DIRECT_REPLY_TO

log = get_logger(__name__)

DIRECT_REPLY_TO_PREFIX = DIRECT_REPLY_TO + "."
"""What RabbitMQ makes of `amq.rabbitmq.reply-to` for the publisher consuming it: the only reply_to answered."""
REPLY_TIMEOUT_SECONDS = 5.0
"""How long a reply's publish may take before it is given up (logged): a broker that cannot take it soon holds no
delivery slot for it."""
REPLY_CONTENT_TYPE = "application/json"


def direct_reply_to(raw: AbstractIncomingMessage) -> str | None:
    """The delivery's `reply_to` when it names a direct reply-to pseudo-queue; None without one, and for any other
    name (logged `ingest_reply_to_ignored`: nothing is published there)."""
    reply_to = raw.reply_to
    if not reply_to:
        return None
    if reply_to.startswith(DIRECT_REPLY_TO_PREFIX) and len(reply_to) > len(DIRECT_REPLY_TO_PREFIX):
        return reply_to
    log.warning("ingest_reply_to_ignored", reply_to=reply_to[:256], **delivery_identity(raw))
    return None


def reply_correlation_id(raw: AbstractIncomingMessage) -> str | None:
    """The correlation id a reply carries: the message's `correlation_id` when it gives one, else its `message_id`
    (None when it has neither: the requester then matches by its one request in flight)."""
    return raw.correlation_id or raw.message_id or None


async def send_reply(raw: AbstractIncomingMessage, body: Mapping[str, Any], *, reply_to: str) -> bool:
    """Publish `body` (JSON) to `reply_to` through the default exchange, correlated with the delivery
    (reply_correlation_id); whether the broker took it (logged `ingest_reply_published`: taken, not known delivered).
    Never raises: a failed or slow publish is logged `ingest_reply_failed` and given up."""
    properties = aiormq.spec.Basic.Properties(
        content_type=REPLY_CONTENT_TYPE,
        correlation_id=reply_correlation_id(raw),
        delivery_mode=1,  # a reply outlives its requester's channel in no case: nothing to keep on disk
    )
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    try:
        confirmation = await asyncio.wait_for(
            raw.channel.basic_publish(payload, exchange="", routing_key=reply_to, properties=properties),
            timeout=REPLY_TIMEOUT_SECONDS,
        )
        if isinstance(confirmation, aiormq.spec.Basic.Nack):
            raise RuntimeError("the broker refused the reply")
    except Exception as exc:  # the event is judged and acked whatever happens to its reply
        log.warning("ingest_reply_failed", reply_to=reply_to, error=repr(exc), **delivery_identity(raw))
        return False
    # published, not known delivered: the broker drops a reply whose requester's channel is gone without a word
    log.info("ingest_reply_published", reply_to=reply_to, **delivery_identity(raw))
    return True
