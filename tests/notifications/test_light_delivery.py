"""notifications.events' deliveries skip FastStream's per-message path (shared.context.light_delivery, issue 12) and
keep every guarantee it had: an event applied once (a copy of it is a duplicate), acked only after its commit, a bad one
dead-lettered with its identity, the log lines' fields (service, event id, type, correlation id), the metrics."""

import json
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import now
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.events import event
from tests.support.delivery_paths import (
    applied_once_past_the_framework,
    capture_service_logs,
    count_framework_paths,
    dead_lettered_past_the_framework,
)
from tests.support.ids import random_id

FACTS = NOTIFICATIONS_EVENTS


@pytest.fixture
def framework_paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queues whose deliveries went through FastStream's own per-message path while the test ran."""
    return count_framework_paths(monkeypatch)


def fact(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """One event as meetings publishes it, with a correlation id of its own."""
    return json.loads(event(event_type, data, time=now() - timedelta(days=400)).to_json()) | {
        "correlationid": random_id("corr")
    }


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
    await applied_once_past_the_framework(app, amqp_url, db, caplog, framework_paths, queue=FACTS, unit=unit)


async def test_a_bad_fact_is_dead_lettered_with_its_identity_past_faststreams_path(
    settings: Settings, amqp_url: str, caplog: pytest.LogCaptureFixture, framework_paths: list[str]
) -> None:
    app = build_app(settings)
    capture_service_logs(caplog)
    bad = fact("org.unit.upserted.v1", {"id": random_id("cell"), "kind": "làng"})
    await dead_lettered_past_the_framework(
        app, amqp_url, caplog, framework_paths, queue=FACTS, bad=bad, correlation_id=bad["correlationid"]
    )
