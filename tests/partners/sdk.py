"""The official CloudEvents SDK for Python (`cloudevents` 2.x, `cloudevents.core`), used exactly as a partner would."""

from datetime import datetime
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import amqp as ce_amqp
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.bindings import rabbitmq as ce_rabbitmq
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent


def sdk_event(structured: dict[str, Any]) -> CloudEvent:
    """The SDK's event for a structured event dict (its `time` as the SDK wants it, a datetime)."""
    attrs = {key: value for key, value in structured.items() if key != "data"}
    attrs["time"] = datetime.fromisoformat(attrs["time"])
    return CloudEvent(attributes=attrs, data=structured.get("data"))


def http_binary(structured: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    """Headers and body of the SDK's HTTP binary mode."""
    message = ce_http.to_binary_event(sdk_event(structured))
    return dict(message.headers), message.body


def http_structured(structured: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    """Headers and body of the SDK's HTTP structured mode."""
    message = ce_http.to_structured_event(sdk_event(structured))
    return dict(message.headers), message.body


def rabbitmq_binary(structured: dict[str, Any]) -> ce_rabbitmq.RabbitMQMessage:
    """The SDK's RabbitMQ binary message (`ce-` headers, content type = datacontenttype)."""
    return ce_rabbitmq.to_binary_event(sdk_event(structured))


def rabbitmq_structured(structured: dict[str, Any]) -> ce_rabbitmq.RabbitMQMessage:
    """The SDK's RabbitMQ structured message."""
    return ce_rabbitmq.to_structured_event(sdk_event(structured))


def amqp_binary(structured: dict[str, Any]) -> tuple[dict[str, Any], str | None, bytes]:
    """The SDK's AMQP-binding binary message as RabbitMQ headers: `cloudEvents_` application properties."""
    message = ce_amqp.to_binary_event(sdk_event(structured))
    return dict(message.application_properties), message.properties.get("content-type"), message.application_data


def read_rabbitmq(headers: dict[str, Any], content_type: str | None, body: bytes) -> BaseCloudEvent:
    """Read one message off chibo.events with the SDK's automatic mode detection."""
    text_headers = {key: value if isinstance(value, str) else str(value) for key, value in headers.items()}
    message = ce_rabbitmq.RabbitMQMessage(headers=text_headers, content_type=content_type, body=body)
    return ce_rabbitmq.from_rabbitmq(message, JSONFormat())
