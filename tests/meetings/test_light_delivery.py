"""meetings.ingest's deliveries skip FastStream's per-message path (shared.context.light_delivery, issue 12) and keep
what it gave them: the event judged and re-published, the delivery acked, the chibo_received_* metrics counted."""

from datetime import timedelta

import httpx
import pytest

from tests.meetings import events as ev
from tests.meetings.feed import feed
from tests.support.delivery_paths import count_framework_paths, metric_total
from tests.support.ids import random_id
from tests.support.running import eventually

START = ev.BASE_TIME + timedelta(days=9)


@pytest.fixture
def framework_paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queues whose deliveries went through FastStream's own per-message path while the test ran."""
    return count_framework_paths(monkeypatch)


def _received(text: str) -> float:
    return metric_total(text, "chibo_received_messages_total", handler="meetings.ingest")


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
