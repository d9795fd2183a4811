"""evaluation.facts' deliveries skip FastStream's per-message path (shared.context.light_delivery, issue 12) and keep
every guarantee it had: a fact applied once (a copy of it is a duplicate), acked only after its commit, a bad one
dead-lettered with its identity, the log lines' fields (service, event id, type, correlation id), the metrics."""

from typing import Any

import asyncpg
import pytest

from services.evaluation.bootstrap import create_app
from services.evaluation.config import Settings
from shared.topology import EVALUATION_FACTS
from tests.evaluation.stream import at, fact
from tests.support.delivery_paths import (
    applied_once_past_the_framework,
    capture_service_logs,
    count_framework_paths,
    dead_lettered_past_the_framework,
)
from tests.support.ids import random_id
from tests.support.running import free_port

FACTS = EVALUATION_FACTS


@pytest.fixture
def framework_paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queues whose deliveries went through FastStream's own per-message path while the test ran."""
    return count_framework_paths(monkeypatch)


def _app(amqp_url: str, database_url: str) -> Any:
    return create_app(Settings(amqp_url=amqp_url, database_url=database_url, http_port=free_port()))


async def test_a_fact_and_its_copy_are_applied_once_acked_logged_and_counted_past_faststreams_path(
    amqp_url: str,
    database_url: str,
    db: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
    framework_paths: list[str],
) -> None:
    app = _app(amqp_url, database_url)
    capture_service_logs(caplog)
    cell = random_id("cell")
    unit = fact(
        "org.unit.upserted.v1",
        {"id": cell, "name": "Chi bộ thôn Đông", "kind": "cell", "parent_id": None, "category": "residential"},
        time=at(1, 1, 8),
    )
    unit["correlationid"] = random_id("corr")
    await applied_once_past_the_framework(app, amqp_url, db, caplog, framework_paths, queue=FACTS, unit=unit)


async def test_a_bad_fact_is_dead_lettered_with_its_identity_past_faststreams_path(
    amqp_url: str, database_url: str, caplog: pytest.LogCaptureFixture, framework_paths: list[str]
) -> None:
    app = _app(amqp_url, database_url)
    capture_service_logs(caplog)
    bad = fact("org.unit.upserted.v1", {"id": random_id("cell"), "kind": "làng"}, time=at(1, 1, 8))
    await dead_lettered_past_the_framework(
        app, amqp_url, caplog, framework_paths, queue=FACTS, bad=bad, correlation_id=bad["id"]
    )
