"""notifications.events' deliveries skip FastStream's per-message path (shared.context.light_delivery, issue 12) and
keep every guarantee it had: an event applied once (a copy of it is a duplicate), acked only after its commit, a bad one
dead-lettered with its identity, the log lines' fields (service, event id, type, correlation id), the metrics."""

import json
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import now
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.events import event
from tests.support.delivery_paths import (
    capture_service_logs,
    count_framework_paths,
    dead_letter,
    messages_left,
    metric_total,
    publish_event,
)
from tests.support.ids import random_id
from tests.support.logs import structured_logs
from tests.support.running import eventually, running_app

QUEUE = NOTIFICATIONS_EVENTS.name


@pytest.fixture
def framework_paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queues whose deliveries went through FastStream's own per-message path while the test ran."""
    return count_framework_paths(monkeypatch)


def fact(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """One event as meetings publishes it, with a correlation id of its own."""
    return json.loads(event(event_type, data, time=now() - timedelta(days=400)).to_json()) | {
        "correlationid": random_id("corr")
    }


def _lines(caplog: pytest.LogCaptureFixture, event_id: str) -> list[dict[str, Any]]:
    return [line for line in structured_logs(caplog) if line.get("event_id") == event_id]


async def _metrics(base: str) -> str:
    async with httpx.AsyncClient() as client:
        return (await client.get(base + "/metrics")).text


async def test_a_fact_and_its_copy_are_applied_once_acked_logged_and_counted_past_faststreams_path(
    settings: Settings,
    amqp_url: str,
    db: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
    framework_paths: list[str],
) -> None:
    app = build_app(settings)
    capture_service_logs(caplog)
    cell = random_id("cell")
    unit = fact(
        "org.unit.upserted.v1",
        {"id": cell, "name": "Chi bộ thôn Đông", "kind": "cell", "parent_id": None, "category": "residential"},
    )
    async with running_app(app) as base:
        before = await _metrics(base)
        await publish_event(amqp_url, unit, message_id=random_id("msg"))
        await publish_event(amqp_url, unit, message_id=random_id("msg"))  # the same event again: a redelivery

        def settled() -> bool:
            return {line["event"] for line in _lines(caplog, unit["id"])} >= {"event_handled", "event_duplicate"}

        await eventually(settled, timeout=60)
        after = await _metrics(base)
    assert await messages_left(amqp_url, QUEUE) == 0  # both acked: nothing came back when the service stopped
    applied = await db.fetchval("SELECT count(*) FROM notifications.unit WHERE id = $1 AND kind = 'cell'", cell)
    inbox = await db.fetchval(
        "SELECT count(*) FROM notifications.processed_message WHERE consumer = $1 AND event_id = $2", QUEUE, unit["id"]
    )
    assert (applied, inbox) == (1, 1)
    outcomes = [line["event"] for line in _lines(caplog, unit["id"]) if line["event"].startswith("event_")]
    assert sorted(outcomes) == ["event_duplicate", "event_handled"]
    for line in _lines(caplog, unit["id"]):
        assert line["service"] == "notifications"
        assert (line["event_type"], line["correlation_id"]) == ("org.unit.upserted.v1", unit["correlationid"])
    for outcome in ("handled", "duplicate"):
        counted = metric_total(after, "chibo_events_consumed_total", queue=QUEUE, outcome=outcome)
        assert counted - metric_total(before, "chibo_events_consumed_total", queue=QUEUE, outcome=outcome) >= 1
    received = metric_total(after, "chibo_received_messages_total", handler=QUEUE)
    assert received - metric_total(before, "chibo_received_messages_total", handler=QUEUE) >= 2
    assert QUEUE not in framework_paths


async def test_a_bad_fact_is_dead_lettered_with_its_identity_past_faststreams_path(
    settings: Settings, amqp_url: str, caplog: pytest.LogCaptureFixture, framework_paths: list[str]
) -> None:
    app = build_app(settings)
    capture_service_logs(caplog)
    bad = fact("org.unit.upserted.v1", {"id": random_id("cell"), "kind": "làng"})
    message_id = random_id("msg")
    async with running_app(app):
        await publish_event(amqp_url, bad, message_id=message_id)
        letter = await eventually(lambda: dead_letter(amqp_url, NOTIFICATIONS_EVENTS.dead_letter_queue, message_id))
        await eventually(lambda: any(line["event"] == "event_dead_lettered" for line in _lines(caplog, bad["id"])))
    assert (letter["event_id"], letter["type"]) == (bad["id"], "org.unit.upserted.v1")
    assert await messages_left(amqp_url, QUEUE) == 0  # acked once its dead letter was confirmed
    dead = next(line for line in _lines(caplog, bad["id"]) if line["event"] == "event_dead_lettered")
    assert (dead["service"], dead["consumer"], dead["message_id"]) == ("notifications", QUEUE, message_id)
    invalid = next(line for line in _lines(caplog, bad["id"]) if line["event"] == "event_invalid")
    assert (invalid["event_type"], invalid["correlation_id"]) == ("org.unit.upserted.v1", bad["correlationid"])
    assert QUEUE not in framework_paths
