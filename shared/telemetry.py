"""OpenTelemetry and broker instrumentation of every chibo process.

One HTTP request or one ingested event is one trace: FastStream's telemetry middleware (run by BrokerInstrumentation
while spans are recorded) opens a consumer span from the message's `traceparent` header, the outbox stores the
context of the transaction that wrote a row (`trace_context`), the relay sends it on as the message's header,
and the gateway's RPC client injects its request span the same way. Spans are exported over
OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set; otherwise the API's
no-op tracer still carries the context through, so a configured process downstream joins the trace.
"""

import functools
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from faststream import BaseMiddleware
from faststream.exceptions import IgnoredException
from faststream.message import SourceType
from faststream.opentelemetry.middleware import TelemetryMiddleware
from faststream.prometheus import MetricsSettingsProvider
from faststream.prometheus.consts import PROCESSING_STATUS_BY_ACK_STATUS, PROCESSING_STATUS_BY_HANDLER_EXCEPTION_MAP
from faststream.prometheus.container import MetricsContainer
from faststream.prometheus.manager import MetricsManager
from faststream.prometheus.middleware import BasePrometheusMiddleware
from faststream.prometheus.types import ProcessingStatus
from faststream.rabbit.opentelemetry.provider import RabbitTelemetrySettingsProvider
from faststream.rabbit.prometheus.provider import RabbitMetricsSettingsProvider
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import REGISTRY, CollectorRegistry

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


def tracing_recorded() -> bool:
    """True when a tracer provider that records spans is installed (an SDK's, as configure_tracing or a test sets)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider | trace.NoOpTracerProvider)


_EMPTY_CONTEXT = Context()
_TRACEPARENT = "traceparent"


@dataclass(frozen=True, slots=True)
class _ConsumeMetrics:
    """The label children of one (handler, type) pair's consume metrics, looked up once."""

    received: Any
    size: Any
    in_process: Any
    duration: Any


class BrokerInstrumentation:
    """Traces and Prometheus metrics of every delivery, as FastStream's TelemetryMiddleware and PrometheusMiddleware
    write them (the same span names and attributes, the same `chibo_received_*` metrics and labels), for less.

    Those two cost about 20 % of meetings' busy samples per delivery in the single preset (issue 12): two middleware
    objects per delivery, a `labels()` lookup (lock, key) per metric and call, and spans the no-op tracer throws
    away. Here one object per delivery counts through label children cached per (handler, type); without a
    recording tracer provider the delivery's context is just the `traceparent` it carries (what the no-op tracer's
    span would hold), so the context still goes on downstream; with one (an SDK installed, OTLP configured or a
    test's), FastStream's own telemetry middleware runs as before. Publishing goes through FastStream's two."""

    def __init__(
        self, service: str, queue_by_exchange: Mapping[str, str], *, registry: CollectorRegistry = REGISTRY
    ) -> None:
        queues = dict(queue_by_exchange)
        self.queues = queues
        telemetry_provider = _QueueTelemetryProvider(queues)
        self.telemetry: TelemetryMiddleware[Any] = TelemetryMiddleware(
            settings_provider_factory=lambda _msg: telemetry_provider
        )
        self.metrics_provider: MetricsSettingsProvider[Any, Any] = _QueueMetricsProvider(queues)
        self.app_name = f"chibo-{service}"
        self.container = MetricsContainer(registry, metrics_prefix="chibo", custom_label_names=("type",))
        self.manager = MetricsManager(self.container, app_name=self.app_name)
        self.messaging_system = self.metrics_provider.messaging_system
        self._consume: dict[tuple[str, str], _ConsumeMetrics] = {}
        self._processed: dict[tuple[str, str, ProcessingStatus], Any] = {}

    def __call__(self, msg: Any, /, *, context: Any, traced: bool | None = None) -> "_DeliveryScope":
        """One delivery's scope; `traced`: whether a recording tracer provider is installed, when the caller has just
        asked (tracing_recorded, else asked here: OpenTelemetry looks in os.environ each time none is installed)."""
        return _DeliveryScope(msg, context=context, owner=self, traced=traced)

    def consume_metrics(self, handler: str, kind: str) -> _ConsumeMetrics:
        """The consume metrics' children for a queue and type label (both bounded)."""
        found = self._consume.get((handler, kind))
        if found is None:
            labels = {"app_name": self.app_name, "broker": self.messaging_system, "handler": handler, "type": kind}
            container = self.container
            found = self._consume[(handler, kind)] = _ConsumeMetrics(
                received=container.received_messages_total.labels(**labels),
                size=container.received_messages_size_bytes.labels(**labels),
                in_process=container.received_messages_in_process.labels(**labels),
                duration=container.received_processed_messages_duration_seconds.labels(**labels),
            )
        return found

    def processed(self, handler: str, kind: str, status: ProcessingStatus) -> Any:
        """The processed-messages counter child for a queue, type label and status."""
        found = self._processed.get((handler, kind, status))
        if found is None:
            found = self._processed[(handler, kind, status)] = self.container.received_processed_messages_total.labels(
                app_name=self.app_name, broker=self.messaging_system, handler=handler, status=status.value, type=kind
            )
        return found


class _DeliveryScope(BaseMiddleware[Any, Any]):
    """One delivery's (or one publication's) instrumentation: see BrokerInstrumentation."""

    __slots__ = ("_owner", "_traced")

    def __init__(self, msg: Any, /, *, context: Any, owner: BrokerInstrumentation, traced: bool | None = None) -> None:
        super().__init__(msg, context=context)
        self._owner = owner
        recorded = tracing_recorded() if traced is None else traced
        self._traced: Any = owner.telemetry(msg, context=context) if recorded else None

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        if self._traced is not None:
            return bool(await self._traced.after_processed(exc_type, exc_val, exc_tb))
        return False

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: Any) -> Any:
        measured = msg.source_type is not SourceType.RESPONSE  # as FastStream's Prometheus middleware
        if self._traced is not None:
            inner = functools.partial(self._measured, call_next) if measured else call_next
            return await self._traced.consume_scope(inner, msg)
        headers = msg.headers
        carried = _PROPAGATOR.extract(headers) if headers and _TRACEPARENT in headers else _EMPTY_CONTEXT
        token = otel_context.attach(carried)
        try:
            return await (self._measured(call_next, msg) if measured else call_next(msg))
        finally:
            otel_context.detach(token)

    async def _measured(self, call_next: Callable[[Any], Awaitable[Any]], msg: Any) -> Any:
        owner = self._owner
        raw = msg.raw_message
        handler, kind = _queue_of(raw, owner.queues), _type_of(raw)
        metrics = owner.consume_metrics(handler, kind)
        metrics.received.inc()
        metrics.size.observe(len(msg.body))
        metrics.in_process.inc()
        error: Exception | None = None
        start = time.perf_counter()
        try:
            return await call_next(msg)
        except Exception as exc:
            error = exc
            if not isinstance(exc, IgnoredException):
                owner.container.received_processed_messages_exceptions_total.labels(
                    app_name=owner.app_name,
                    broker=owner.messaging_system,
                    handler=handler,
                    exception_type=type(exc).__name__,
                    type=kind,
                ).inc()
            raise
        finally:
            metrics.duration.observe(time.perf_counter() - start)
            metrics.in_process.dec()
            status = ProcessingStatus.acked
            if msg.committed or error:
                status = (
                    PROCESSING_STATUS_BY_ACK_STATUS.get(msg.committed)
                    or PROCESSING_STATUS_BY_HANDLER_EXCEPTION_MAP.get(type(error))
                    or ProcessingStatus.error
                )
            owner.processed(handler, kind, status).inc()

    async def publish_scope(self, call_next: Callable[[Any], Awaitable[Any]], cmd: Any) -> Any:
        owner = self._owner
        metrics = BasePrometheusMiddleware(
            self.msg,
            settings_provider_factory=lambda _msg: owner.metrics_provider,
            metrics_manager=owner.manager,
            context=self.context,
            custom_labels={"type": _type_of(self.msg)},
        )
        traced = self._traced or owner.telemetry(self.msg, context=self.context)
        return await traced.publish_scope(functools.partial(metrics.publish_scope, call_next), cmd)


def broker_middlewares(service: str, queue_by_exchange: Mapping[str, str]) -> Sequence[Any]:
    """The broker's instrumentation middleware (traces and Prometheus metrics, see BrokerInstrumentation)."""
    return (BrokerInstrumentation(service, queue_by_exchange),)
