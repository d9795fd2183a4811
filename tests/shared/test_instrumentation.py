"""The broker's own instrumentation writes what FastStream's telemetry and Prometheus middlewares wrote, cheaper."""

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from faststream.message import AckStatus, SourceType
from faststream.prometheus.middleware import PrometheusMiddleware
from prometheus_client import CollectorRegistry

from shared import telemetry
from shared.telemetry import BrokerInstrumentation, _QueueMetricsProvider, _type_of, current_trace_context

QUEUES = {"chibo.events": "probe.events"}
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _message(headers: dict[str, Any], *, routing_key: str = "member.upserted.v1", committed: Any = None) -> Any:
    raw = SimpleNamespace(exchange="chibo.events", routing_key=routing_key, type=routing_key, headers=headers)
    return SimpleNamespace(
        raw_message=raw,
        headers=headers,
        body=b'{"id": "e-1"}',
        committed=committed,
        source_type=SourceType.CONSUME,
        message_id="e-1",
        correlation_id="e-1",
        batch_headers=[],
    )


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample but the timings (whose values differ run to run), by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if "duration" not in sample.name and not sample.name.endswith("_created")
    }


async def _through(middleware: Any, msg: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
    scope = middleware(msg.raw_message, context=SimpleNamespace())
    async with scope:
        return await scope.consume_scope(handler, msg)


async def test_metrics_are_those_of_faststreams_middleware(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "tracing_recorded", lambda: False)
    ours_registry, theirs_registry = CollectorRegistry(), CollectorRegistry()
    ours = BrokerInstrumentation("probe", QUEUES, registry=ours_registry)
    provider = _QueueMetricsProvider(QUEUES)
    theirs = PrometheusMiddleware(
        settings_provider_factory=lambda _msg: provider,
        registry=theirs_registry,
        app_name="chibo-probe",
        metrics_prefix="chibo",
        custom_labels={"type": _type_of},
    )

    async def ok(msg: Any) -> str:
        return "done"

    async def fails(msg: Any) -> None:
        raise ValueError("broken")

    for middleware in (ours, theirs):
        for _ in range(3):
            assert await _through(middleware, _message({}), ok) == "done"
        await _through(middleware, _message({}, routing_key="unknown.type", committed=AckStatus.REJECTED), ok)
        with pytest.raises(ValueError):
            await _through(middleware, _message({}), fails)
    ours_samples = _samples(ours_registry)
    assert ours_samples == _samples(theirs_registry)
    received = ("chibo_received_messages_total", (("app_name", "chibo-probe"), ("broker", "rabbitmq")))
    key = (received[0], (*received[1], ("handler", "probe.events"), ("type", "member.upserted.v1")))
    assert ours_samples[key] == 4
    durations = [
        sample
        for metric in ours_registry.collect()
        for sample in metric.samples
        if sample.name == "chibo_received_processed_messages_duration_seconds_count"
    ]
    assert sum(sample.value for sample in durations) == 5


async def test_without_a_recording_tracer_the_delivery_carries_its_traceparent_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(telemetry, "tracing_recorded", lambda: False)
    ours = BrokerInstrumentation("probe", QUEUES, registry=CollectorRegistry())
    seen: list[dict[str, str] | None] = []

    async def handler(msg: Any) -> None:
        seen.append(current_trace_context())

    await _through(ours, _message({"traceparent": PARENT}), handler)
    await _through(ours, _message({}), handler)
    assert seen[0] is not None and seen[0]["traceparent"] == PARENT
    assert seen[1] is None
    assert current_trace_context() is None  # detached after the delivery
