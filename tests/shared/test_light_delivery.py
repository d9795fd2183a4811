"""shared.context.light_delivery: a subscriber's deliveries go straight to its handler, past FastStream's
per-message path, keeping the broker's instrumentation (trace context, chibo_received_* metrics), the RabbitMessage
the handler settles, and a logged failure; with a recording tracer provider, FastStream's own path."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitQueue
from faststream.rabbit.message import RabbitMessage
from faststream.rabbit.subscriber.usecase import RabbitSubscriber
from prometheus_client import CollectorRegistry

from shared import context, telemetry
from shared.consuming import hand_over_message
from shared.context import light_delivery
from shared.logs import get_logger
from shared.telemetry import BrokerInstrumentation, current_trace_context
from tests.support.ids import random_id
from tests.support.logs import route_logs_to_stdlib, structured_logs
from tests.support.running import eventually

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
log = get_logger(__name__)


@dataclass
class Probe:
    """A started broker with one subscriber under light_delivery, and what reached it by which path."""

    broker: RabbitBroker
    queue: str
    registry: CollectorRegistry
    light: list[RabbitMessage] = field(default_factory=list)
    traces: list[dict[str, str] | None] = field(default_factory=list)
    framework: list[Any] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)

    def received(self) -> float:
        """chibo_received_messages_total of the probe's queue."""
        return sum(
            sample.value
            for metric in self.registry.collect()
            for sample in metric.samples
            if sample.name == "chibo_received_messages_total" and sample.labels["handler"] == self.queue
        )


def _probe(amqp_url: str, handler: Callable[[Probe, RabbitMessage], Any]) -> Probe:
    queue = random_id("light")
    registry = CollectorRegistry()
    broker = RabbitBroker(amqp_url, middlewares=(BrokerInstrumentation("probe", {}, registry=registry),))
    probe = Probe(broker, queue, registry)
    subscriber = broker.subscriber(
        RabbitQueue(queue, auto_delete=True), ack_policy=AckPolicy.MANUAL, decoder=hand_over_message
    )

    @subscriber
    async def on_delivery(message: Any) -> None:
        probe.framework.append(message)
        await message.ack()

    async def light(message: RabbitMessage) -> None:
        await handler(probe, message)

    light_delivery(subscriber, light, log=log, unsettled="probe_delivery_unsettled")
    return probe


@pytest.fixture
async def probes(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[Probe]]:
    """Probes made by a test, their brokers closed afterwards; FastStream's own path recorded by queue."""
    made: list[Probe] = []
    original = RabbitSubscriber.process_message

    async def counted(self: Any, msg: Any) -> Any:
        for probe in made:
            if self.queue.name == probe.queue:
                probe.processed.append(probe.queue)
        return await original(self, msg)

    monkeypatch.setattr(RabbitSubscriber, "process_message", counted)
    # no recording tracer, whatever an earlier test of the process installed (tests/ops/test_traces sets the SDK's
    # provider globally, once): the bypass's choice and the instrumentation's own spans alike
    monkeypatch.setattr(context, "tracing_recorded", lambda: False)
    monkeypatch.setattr(telemetry, "tracing_recorded", lambda: False)
    yield made
    for probe in made:
        await probe.broker.stop()


async def _send(amqp_url: str, queue: str, body: bytes, *, headers: dict[str, Any], message_id: str) -> None:
    """Publish `body` to `queue` with plain aio-pika (no instrumentation of ours or FastStream's)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        message = aio_pika.Message(body, headers=headers, message_id=message_id)
        await channel.default_exchange.publish(message, routing_key=queue)
    finally:
        await connection.close()


async def _settled(probe: Probe, message: RabbitMessage) -> None:
    probe.light.append(message)
    probe.traces.append(current_trace_context())
    await message.ack()


async def test_a_delivery_reaches_the_handler_past_faststreams_path_traced_and_counted(
    amqp_url: str, probes: list[Probe]
) -> None:
    probe = _probe(amqp_url, _settled)
    probes.append(probe)
    await probe.broker.start()
    # sent past the probe broker's own publishing instrumentation, which with a recording tracer provider installed by
    # an earlier test of the process (tests/ops/test_traces) would put its own span's traceparent in place of PARENT
    await _send(amqp_url, probe.queue, b"one", headers={"traceparent": PARENT}, message_id="m-1")
    await eventually(lambda: probe.light, timeout=30)
    message = probe.light[0]
    assert isinstance(message, RabbitMessage)
    assert (message.body, message.message_id, message.raw_message.message_id) == (b"one", "m-1", "m-1")
    assert message.committed is not None  # acked by the handler, as the full path's message would be
    trace = probe.traces[0]
    assert trace is not None and trace["traceparent"] == PARENT
    assert current_trace_context() is None
    assert probe.received() == 1
    assert probe.framework == [] and probe.processed == []


async def test_a_delivery_asks_once_whether_a_tracer_records(
    amqp_url: str, probes: list[Probe], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12 (h380, py-spy of the single preset holding the GIL): asking OpenTelemetry for its provider looks in
    os.environ each time none is installed, 2.8 % of meetings' samples when the delivery and its instrumentation
    both asked; the bypass asks once and tells the instrumentation."""
    asked: list[str] = []

    def counted(where: str) -> Callable[[], bool]:
        def recorded() -> bool:
            asked.append(where)
            return False

        return recorded

    monkeypatch.setattr(context, "tracing_recorded", counted("context"))
    monkeypatch.setattr(telemetry, "tracing_recorded", counted("telemetry"))
    probe = _probe(amqp_url, _settled)
    probes.append(probe)
    await probe.broker.start()
    await _send(amqp_url, probe.queue, b"four", headers={"traceparent": PARENT}, message_id="m-4")
    await eventually(lambda: probe.light, timeout=30)
    assert asked == ["context"]
    assert probe.traces[0] is not None and probe.traces[0]["traceparent"] == PARENT  # the carried trace, as before
    assert probe.received() == 1


async def test_what_escapes_the_handler_is_logged_with_the_deliverys_identity(
    amqp_url: str, probes: list[Probe], caplog: pytest.LogCaptureFixture
) -> None:
    route_logs_to_stdlib(caplog)

    async def fails(probe: Probe, message: RabbitMessage) -> None:
        await message.ack()
        probe.light.append(message)
        raise RuntimeError("ack lost")

    probe = _probe(amqp_url, fails)
    probes.append(probe)
    await probe.broker.start()
    await probe.broker.publish(b"two", queue=probe.queue, message_id="m-2")
    lines = await eventually(
        lambda: [line for line in structured_logs(caplog) if line["event"] == "probe_delivery_unsettled"], timeout=30
    )
    assert lines[0]["message_id"] == "m-2" and "ack lost" in lines[0]["error"]
    assert probe.received() == 1 and probe.processed == []


async def test_with_a_recording_tracer_every_delivery_takes_faststreams_path(
    amqp_url: str, probes: list[Probe], monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = _probe(amqp_url, _settled)
    probes.append(probe)
    monkeypatch.setattr(context, "tracing_recorded", lambda: True)
    await probe.broker.start()
    await probe.broker.publish(b"three", queue=probe.queue)
    await eventually(lambda: probe.framework, timeout=30)
    assert probe.light == [] and probe.processed == [probe.queue]


async def test_it_is_set_up_before_the_subscriber_starts(amqp_url: str, probes: list[Probe]) -> None:
    probe = _probe(amqp_url, _settled)
    probes.append(probe)
    await probe.broker.start()
    subscriber = next(iter(probe.broker.subscribers))
    with pytest.raises(RuntimeError):
        light_delivery(subscriber, probe.light.append, log=log, unsettled="probe_delivery_unsettled")  # type: ignore[arg-type]
