"""Issue 10, fault 11: stopping the service while it works ends within the graceful timeout.

Every background task is cancelled and awaited before the pool closes, and a pool that still cannot close in
time is terminated; the test stops the real service (broker, database, SMTP) in the middle of a burst of work.
"""

import logging
import time
from datetime import timedelta

import pytest

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import now
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.events import Province, publish
from tests.support.ids import random_id
from tests.support.running import eventually, running_app, settled

GRACEFUL = 3.0


async def test_stopping_while_busy_ends_within_the_graceful_timeout(
    settings: Settings, amqp_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    busy = settings.model_copy(update={"graceful_timeout": GRACEFUL})
    provinces = [Province() for _ in range(6)]
    caplog.set_level(logging.WARNING)
    async with running_app(build_app(busy)):
        burst = []
        for p in provinces:
            burst += p.setup()
            burst += [p.scheduled(random_id("mtg"), now() + timedelta(days=2)) for _ in range(20)]
        before = settled(NOTIFICATIONS_EVENTS.name)
        await publish(amqp_url, burst)
        # stop while the consumers, the relay, the schedule and the deliveries are at work (not after a pause,
        # which on a loaded machine may end before anything started, or after everything is done)
        await eventually(lambda: settled(NOTIFICATIONS_EVENTS.name) - before >= 10, timeout=60, interval=0.02)
        started = time.monotonic()
    stopped_in = time.monotonic() - started
    # the broker's graceful wait, then the background tasks and the pool, each bounded by the timeout
    assert stopped_in < 3 * GRACEFUL + 5, stopped_in
    assert "Pool.close() is taking" not in caplog.text
