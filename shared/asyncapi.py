"""Each service's AsyncAPI 3.0 document, generated from the topology and the contract models.

A channel is one routing key on one exchange (`chibo.ingest` or `chibo.events`, the key being the
event type, or `batch`) or a service's RPC queue; every message names its event type and carries
the JSON Schema of the whole structured CloudEvent of that type (shared.contracts.schemas, the
generator behind /v1/schemas too). The page at /asyncapi renders it with AsyncAPI's standalone
React component served by the service itself (installed by deploy/bootstrap.sh; no CDN).
"""

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.contracts.registry import INTERNAL_TYPES
from shared.contracts.schemas import component_schemas, ingest_types
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE, MAX_BATCH_SIZE
from shared.rpc import RpcReply, RpcRequest
from shared.topology import INGEST_EXCHANGE, ConsumerQueue

ASSETS = Path(__file__).parent / "asyncapi_ui" / "node_modules" / "@asyncapi" / "react-component"
ASSET_FILES = {
    "index.js": (ASSETS / "browser" / "standalone" / "index.js", "application/javascript"),
    "default.min.css": (ASSETS / "styles" / "default.min.css", "text/css"),
}
SCHEMA_REF = "#/components/schemas/"


def _key(*parts: str) -> str:
    """A channel, operation or message id (AsyncAPI allows only letters, digits, `_` and `-`)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", "_".join(parts))


def subscribed_types(queue: ConsumerQueue) -> list[str]:
    """The event types a consumer queue receives: its routing keys, or every type in for `#` on chibo.ingest."""
    if queue.exchange == INGEST_EXCHANGE and "#" in queue.routing_keys:
        return ingest_types()
    return sorted(key for key in queue.routing_keys if "*" not in key and "#" not in key)


def _internal(event_type: str) -> str:
    """A note for the services' own types, which are not part of the public contract."""
    if event_type not in INTERNAL_TYPES:
        return ""
    return " Internal: exchanged between chibo's services, not part of the public contract (CONTRACT.md)."


INGEST_REPLY_NOTE = (
    " Optionally answered: a message whose AMQP `reply_to` is RabbitMQ's direct reply-to (`amq.rabbitmq.reply-to`) gets"
    " one reply there, at most once, after its events were judged and committed: the JSON body POST /v1/events answers"
    " for the same event or batch, `correlation_id` the message's `correlation_id`, else its `message_id`. Any other"
    " `reply_to` is ignored. A reply lost (no answer in time) means: resend, it is idempotent (docs/integrations.md,"
    ' "Outcomes over AMQP").'
)


def _ingest_reply(exchange: str) -> str:
    """The note on chibo.ingest's direct reply-to answer for a channel of `exchange` (none for chibo.events)."""
    return INGEST_REPLY_NOTE if exchange == INGEST_EXCHANGE else ""


def _exchange_binding(exchange: str) -> dict[str, Any]:
    binding: dict[str, Any] = {
        "is": "routingKey",
        "exchange": {"name": exchange, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"},
        "bindingVersion": "0.3.0",
    }
    return {"amqp": binding}  # the binding form of `is: routingKey` names no queue: the description does


def _message(event_type: str) -> dict[str, Any]:
    return {
        "name": event_type,
        "title": event_type,
        "contentType": CLOUDEVENT_CONTENT_TYPE,
        "payload": {"$ref": f"{SCHEMA_REF}{event_type}"},
        "bindings": {"amqp": {"messageType": event_type, "bindingVersion": "0.3.0"}},
    }


def service_document(
    *,
    service: str,
    description: str,
    consumer_queues: Sequence[ConsumerQueue],
    rpc_queue: str | None,
    publishes: Sequence[str],
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of one service: what it receives, what it publishes, its RPC queue."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    types: set[str] = set(publishes)
    for queue in consumer_queues:
        received = subscribed_types(queue)
        types.update(received)
        for event_type in received:
            key = _key(queue.exchange, event_type)
            channels[key] = {
                "address": event_type,
                "title": f"{queue.exchange} · {event_type}",
                "description": f"`{event_type}` on `{queue.exchange}`, read by `{queue.name}`."
                + _internal(event_type)
                + _ingest_reply(queue.exchange),
                "messages": {_key(event_type): {"$ref": f"#/components/messages/{_key(event_type)}"}},
                "bindings": _exchange_binding(queue.exchange),
            }
            operations[_key("receive", queue.name, event_type)] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{key}"},
                "title": f"{queue.name} receives {event_type}",
            }
        key = _key(queue.exchange, "batch")
        channels[key] = {
            "address": "batch" if queue.exchange == INGEST_EXCHANGE else None,
            "title": f"{queue.exchange} · batch",
            "description": (
                f"A batch ({BATCH_CONTENT_TYPE}): a JSON array of up to {MAX_BATCH_SIZE} events"
                + (" of any types in, routing key `batch`." if queue.exchange == INGEST_EXCHANGE else " of one type.")
                + _ingest_reply(queue.exchange)
            ),
            "messages": {_key("batch", queue.name): {"$ref": f"#/components/messages/{_key('batch', queue.name)}"}},
            "bindings": _exchange_binding(queue.exchange),
        }
        operations[_key("receive", queue.name, "batch")] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "title": f"{queue.name} receives batches",
        }
    for event_type in sorted(publishes):
        key = _key("chibo.events", event_type)
        channels[key] = {
            "address": event_type,
            "title": f"chibo.events · {event_type}",
            "description": f"`{event_type}`, published by {service} through its outbox on `chibo.events`."
            + _internal(event_type),
            "messages": {_key(event_type): {"$ref": f"#/components/messages/{_key(event_type)}"}},
            "bindings": _exchange_binding("chibo.events"),
        }
        operations[_key("send", event_type)] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "title": f"{service} publishes {event_type}",
        }
    messages = {_key(event_type): _message(event_type) for event_type in sorted(types)}
    schemas = component_schemas(sorted(types), prefix="", ref_prefix=SCHEMA_REF)
    for queue in consumer_queues:
        received = subscribed_types(queue)
        messages[_key("batch", queue.name)] = {
            "name": "batch",
            "title": f"batch for {queue.name}",
            "contentType": BATCH_CONTENT_TYPE,
            "payload": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BATCH_SIZE,
                "items": {"oneOf": [{"$ref": f"{SCHEMA_REF}{event_type}"} for event_type in received]},
            },
        }
    if rpc_queue:
        channels[_key(rpc_queue)] = {
            "address": rpc_queue,
            "title": rpc_queue,
            "description": f"Requests to {service} (direct reply-to; 30 s message TTL). The methods are in "
            "docs/architecture.md's RPC catalog.",
            "messages": {"rpcRequest": {"$ref": "#/components/messages/rpcRequest"}},
            "bindings": {"amqp": {"is": "queue", "queue": {"name": rpc_queue, "durable": True}}},
        }
        channels["rpcReply"] = {
            "address": None,
            "title": "amq.rabbitmq.reply-to",
            "description": "The caller's direct reply-to pseudo-queue.",
            "messages": {"rpcReply": {"$ref": "#/components/messages/rpcReply"}},
        }
        operations[_key("receive", rpc_queue)] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{_key(rpc_queue)}"},
            "title": f"{service} answers RPC requests",
            "reply": {
                "address": {"location": "$message.header#/reply_to"},
                "channel": {"$ref": "#/channels/rpcReply"},
            },
        }
        messages["rpcRequest"] = {
            "name": "rpcRequest",
            "contentType": "application/json",
            "payload": {"$ref": f"{SCHEMA_REF}RpcRequest"},
        }
        messages["rpcReply"] = {
            "name": "rpcReply",
            "contentType": "application/json",
            "payload": {"$ref": f"{SCHEMA_REF}RpcReply"},
        }
        schemas.update(component_schemas_of_models(RpcRequest, RpcReply))
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"chibo {service}", "version": "1.0.0", "description": description},
        "defaultContentType": CLOUDEVENT_CONTENT_TYPE,
        "servers": {
            "rabbitmq": {"host": "rabbitmq:5672", "protocol": "amqp", "protocolVersion": "0.9.1"},
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def component_schemas_of_models(*models: Any) -> dict[str, Any]:
    """Plain pydantic models as components (their nested models alongside), referring by SCHEMA_REF."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=SCHEMA_REF + "{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def render_page(title: str, document: dict[str, Any], *, assets_path: str) -> bytes:
    """The HTML page rendering `document` with the locally served AsyncAPI React component."""
    config = {"show": {"sidebar": True}, "sidebar": {"showOperations": "byDefault"}}
    spec = json.dumps(document, ensure_ascii=False).replace("</", "<\\/")
    missing = not all(path.is_file() for path, _ in ASSET_FILES.values())
    note = (
        "<p>AsyncAPI UI assets are not installed (run deploy/bootstrap.sh); the document is at "
        '<a href="/asyncapi.json">/asyncapi.json</a>.</p>'
        if missing
        else ""
    )
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · AsyncAPI</title>
<link rel="stylesheet" href="{assets_path}/default.min.css"></head>
<body>{note}<div id="asyncapi"></div>
<script src="{assets_path}/index.js"></script>
<script>AsyncApiStandalone.render({{schema: {spec}, config: {json.dumps(config)}}},
document.getElementById("asyncapi"));</script>
</body></html>"""
    return html.encode()
