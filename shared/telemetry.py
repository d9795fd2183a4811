"""OpenTelemetry and broker instrumentation of every chibo process.

One HTTP request or one ingested event is one trace: FastStream's telemetry middleware opens a
consumer span from the message's `traceparent` header, the outbox stores the context of the
transaction that wrote a row (`trace_context`), the relay sends it on as the message's header,
and the gateway's RPC client injects its request span the same way. Spans are exported over
OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set; otherwise the API's
no-op tracer still carries the context through, so a configured process downstream joins the trace.
"""

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from faststream.opentelemetry.middleware import TelemetryMiddleware
from faststream.prometheus import MetricsSettingsProvider
from faststream.prometheus.middleware import PrometheusMiddleware
from faststream.rabbit.opentelemetry.provider import RabbitTelemetrySettingsProvider
from faststream.rabbit.prometheus.provider import RabbitMetricsSettingsProvider
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import REGISTRY

from shared.logs import get_logger
from shared.metrics import type_label

log = get_logger(__name__)
_PROPAGATOR = TraceContextTextMapPropagator()
_configured = False


def configure_tracing(service: str) -> bool:
    """Install an OTLP-exporting tracer provider once per process when an endpoint is configured."""
    global _configured
    if _configured:
        return True
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: f"chibo-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True
    log.info("tracing_configured", exporter="otlp")
    return True


def current_trace_context() -> dict[str, str] | None:
    """The W3C `traceparent` (and `tracestate`) of the active span, or None outside a sampled span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier or None


_TRACES_BY_CAUSE: ContextVar[Mapping[str, dict[str, str]] | None] = ContextVar("chibo_traces_by_cause", default=None)


@contextmanager
def traces_by_cause(traces: Mapping[str, dict[str, str]]) -> Iterator[None]:
    """Within the block, an outgoing event caused by one of these event ids (its `causationid`) carries that
    event's trace context (`traceparent`...) instead of the active span's: a group commit judges many deliveries,
    each in its own trace, in one transaction outside their spans."""
    token = _TRACES_BY_CAUSE.set(traces)
    try:
        yield
    finally:
        _TRACES_BY_CAUSE.reset(token)


def trace_context_for(causation_id: str | None) -> dict[str, str] | None:
    """The trace context an outgoing event carries: its cause's (traces_by_cause), else the active span's."""
    traces = _TRACES_BY_CAUSE.get()
    if traces and causation_id is not None and causation_id in traces:
        return traces[causation_id]
    return current_trace_context()


def inject_trace_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """Add the active span's context to outgoing AMQP headers (in place) and return them."""
    _PROPAGATOR.inject(headers)
    return headers


def current_trace_id() -> str | None:
    """The active span's trace id as 32 hex digits, for log lines; None outside a span."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


def _queue_of(raw: Any, queue_by_exchange: Mapping[str, str]) -> str:
    exchange = getattr(raw, "exchange", None) or ""
    if not exchange:
        return str(getattr(raw, "routing_key", "") or "default")  # the default exchange: the queue's own name
    return queue_by_exchange.get(exchange, exchange)


def _type_of(raw: Any) -> str:
    if raw is None:
        return "none"
    if not getattr(raw, "exchange", None):
        return "rpc"
    return type_label(getattr(raw, "type", None) or getattr(raw, "routing_key", None))


class _QueueMetricsProvider(RabbitMetricsSettingsProvider):
    """FastStream's Rabbit provider, naming the queue (bounded) instead of exchange + routing key."""

    def __init__(self, queue_by_exchange: Mapping[str, str]) -> None:
        super().__init__()
        self._queues = queue_by_exchange

    def get_consume_attrs_from_message(self, msg: Any) -> Any:
        attrs = super().get_consume_attrs_from_message(msg)
        attrs["destination_name"] = _queue_of(msg.raw_message, self._queues)
        return attrs

    def get_publish_destination_name_from_cmd(self, cmd: Any) -> str:
        return str(cmd.exchange.name or cmd.destination)


class _QueueTelemetryProvider(RabbitTelemetrySettingsProvider):
    """FastStream's Rabbit telemetry provider, naming spans by the queue the service reads."""

    def __init__(self, queue_by_exchange: Mapping[str, str]) -> None:
        super().__init__()
        self._queues = queue_by_exchange

    def get_consume_destination_name(self, msg: Any) -> str:
        return _queue_of(msg.raw_message, self._queues)

    def get_consume_attrs_from_message(self, msg: Any) -> dict[str, Any]:
        attrs = super().get_consume_attrs_from_message(msg)
        attrs["chibo.queue"] = _queue_of(msg.raw_message, self._queues)
        attrs["chibo.event_type"] = _type_of(msg.raw_message)
        return attrs


def broker_middlewares(service: str, queue_by_exchange: Mapping[str, str]) -> Sequence[Any]:
    """FastStream's telemetry and Prometheus middlewares for one service's broker (outermost first)."""
    queues = dict(queue_by_exchange)
    telemetry_provider = _QueueTelemetryProvider(queues)
    telemetry: TelemetryMiddleware[Any] = TelemetryMiddleware(settings_provider_factory=lambda _msg: telemetry_provider)
    metrics_provider: MetricsSettingsProvider[Any, Any] = _QueueMetricsProvider(queues)
    prometheus = PrometheusMiddleware(
        settings_provider_factory=lambda _msg: metrics_provider,
        registry=REGISTRY,
        app_name=f"chibo-{service}",
        metrics_prefix="chibo",
        custom_labels={"type": _type_of},
    )
    return (telemetry, prometheus)
