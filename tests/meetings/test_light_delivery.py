"""meetings.ingest's deliveries skip FastStream's per-message path (shared.context.light_delivery, issue 12) and keep
what it gave them: the event judged and re-published, the delivery acked, the chibo_received_* metrics counted."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from faststream.rabbit.subscriber.usecase import RabbitSubscriber

from shared import context, telemetry
from tests.meetings import events as ev
from tests.meetings.feed import feed
from tests.support.ids import random_id
from tests.support.running import eventually

START = ev.BASE_TIME + timedelta(days=9)


@pytest.fixture
def framework_paths(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The queues whose deliveries went through FastStream's own per-message path while the test ran."""
    seen: list[str] = []
    original = RabbitSubscriber.process_message

    async def counted(self: Any, msg: Any) -> Any:
        seen.append(str(getattr(getattr(self, "queue", None), "name", "")))
        return await original(self, msg)

    monkeypatch.setattr(RabbitSubscriber, "process_message", counted)
    # the light path is taken without a recording tracer provider, which another test in this process may install
    # no recording tracer, whatever an earlier test of the process installed (tests/ops/test_traces sets the SDK's
    # provider globally, once): the bypass's choice and the instrumentation's own spans alike
    monkeypatch.setattr(context, "tracing_recorded", lambda: False)
    monkeypatch.setattr(telemetry, "tracing_recorded", lambda: False)
    yield seen


def _received(text: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("chibo_received_messages_total{") and 'handler="meetings.ingest"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_a_single_event_skips_faststreams_path_and_is_judged_acked_and_counted(
    meetings_service: str, amqp_url: str, framework_paths: list[str]
) -> None:
    async with httpx.AsyncClient() as client:
        before = _received((await client.get(meetings_service + "/metrics")).text)
    cell, mtg = random_id("cell"), random_id("mtg")
    async with feed(amqp_url) as bus:
        await bus.publish(ev.unit(cell))
        schedule = ev.scheduled(mtg, cell, starts_at=START)
        await bus.publish(schedule)
        await eventually(lambda: bus.find("meeting.scheduled.v1", originid=schedule["id"]), timeout=60)
    async with httpx.AsyncClient() as client:
        metrics = await eventually(lambda: _metrics_after(client, meetings_service, before + 2), timeout=30)
        health = (await client.get(meetings_service + "/health")).json()
    assert _received(metrics) >= before + 2
    assert "meetings.ingest" not in framework_paths
    assert health["consumers"] == "ok"


async def _metrics_after(client: httpx.AsyncClient, base: str, at_least: float) -> str | None:
    text = (await client.get(base + "/metrics")).text
    return text if _received(text) >= at_least else None
