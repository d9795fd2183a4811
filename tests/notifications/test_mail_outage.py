"""A mail server that stays down is visible, a passing hiccup is not: e-mails failing on the mail server make /health
name it in `attention` (so the system health and the operations page do) and `chibo_delivery_channel_failing` 1 only
once the failures, with no success between them, span CHIBO_DELIVERY_FAILING_SECONDS; the next success clears it.
Every failed attempt is still counted.

The operator trials: with the SMTP server down, deliveries stayed pending with SMTPConnectError while /health said
"ok" with no attention line; then, one refused mail raised the line at once, so one transient SMTP hiccup alarmed the
operators."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from faststream.rabbit import RabbitBroker
from prometheus_client import REGISTRY

from services.notifications.bootstrap import build_spec
from services.notifications.channels import SmtpSender
from services.notifications.config import Settings
from services.notifications.context import NotificationsContext
from services.notifications.handlers.deliveries import deliver_due
from shared.periods import VIETNAM_TZ
from shared.runtime import ServiceSpec, check_health
from tests.notifications.fakes import Clock
from tests.notifications.test_deliveries import queue
from tests.support.running import smtp_server

MAIL_SERVER = "email deliveries waiting on the mail server (SMTP)"


class FlakyMailServer:
    """aiosmtpd handler that refuses every mail with a transient 451 while `refusing`, else takes it."""

    def __init__(self) -> None:
        self.refusing = False
        self.taken = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        """Refuse or take the mail."""
        if self.refusing:
            return "451 4.3.0 Local error in processing, try again later"
        self.taken += 1
        return "250 OK"


@pytest.fixture
def flaky() -> Iterator[tuple[FlakyMailServer, int]]:
    """A real SMTP server of this test's own, refusing on demand."""
    handler = FlakyMailServer()
    with smtp_server(handler) as port:
        yield handler, port


async def attention_of(spec: ServiceSpec[NotificationsContext], pool: asyncpg.Pool) -> list[str]:
    """The service's own /health attention lines, its gauges read as a scrape reads them."""
    lines: list[str] = []
    async with pool.acquire() as conn:
        for reader in spec.health_attention:
            lines += await reader(conn)
        for gauge in spec.gauges:
            await gauge(conn)
    return lines


def counted(outcome: str) -> float:
    """chibo_notification_deliveries_total of the test's rule by e-mail for one outcome."""
    labels = {"rule": "meeting_reminder", "channel": "email", "outcome": outcome}
    return REGISTRY.get_sample_value("chibo_notification_deliveries_total", labels) or 0.0


async def test_the_mail_server_is_named_failing_only_once_failures_persist_and_cleared_by_a_success(
    pool: asyncpg.Pool, settings: Settings, flaky: tuple[FlakyMailServer, int]
) -> None:
    server, port = flaky
    settings = settings.model_copy(
        update={
            "smtp_port": port,
            "smtp_timeout": 5.0,
            "delivery_backoff_seconds": 30.0,
            "delivery_backoff_max_seconds": 3600.0,
            "delivery_failing_seconds": 60.0,
        }
    )
    start = datetime(1991, 4, 4, 8, 0, tzinfo=VIETNAM_TZ)  # only this test's deliveries are due then
    clock = Clock(start)
    sender = SmtpSender(settings)
    spec = build_spec(settings, senders={"email": sender}, clock=clock)
    broker = RabbitBroker(settings.amqp_url)
    ids: list[int] = []
    try:
        context = await spec.build_context(pool, broker)
        ids = await queue(pool, settings, clock, 2)
        server.refusing = True
        retrying_before = counted("retrying")

        # one failed attempt (a hiccup): counted, but no operator signal
        assert await deliver_due(context.uow_factory, context.senders) == 2
        rows = await pool.fetch("SELECT status, attempts, last_error FROM delivery WHERE id = ANY($1::bigint[])", ids)
        assert all(row["status"] == "pending" and row["attempts"] == 1 and "451" in row["last_error"] for row in rows)
        assert counted("retrying") == retrying_before + 2
        assert not [line for line in await attention_of(spec, pool) if MAIL_SERVER in line]
        assert REGISTRY.get_sample_value("chibo_delivery_channel_failing", {"channel": "email"}) == 0
        waiting = REGISTRY.get_sample_value("chibo_deliveries_retrying", {"channel": "email"})
        assert waiting is not None and waiting >= 2  # still counted as waiting

        # failing again 30 s later: not yet persistent
        clock.value = start + timedelta(seconds=30)
        assert await deliver_due(context.uow_factory, context.senders) == 2
        assert not [line for line in await attention_of(spec, pool) if MAIL_SERVER in line]

        # failing for 90 s (attempt 3, after the 60 s backoff): the mail server is named
        clock.value = start + timedelta(seconds=90)
        assert await deliver_due(context.uow_factory, context.senders) == 2
        assert counted("retrying") == retrying_before + 6
        lines = [line for line in await attention_of(spec, pool) if MAIL_SERVER in line]
        assert lines and "451" in lines[0], lines
        assert REGISTRY.get_sample_value("chibo_delivery_channel_failing", {"channel": "email"}) == 1
        report_attention: list[str] = []
        await check_health(
            pool=pool, broker=broker, queues=[], attention=report_attention, readers=spec.health_attention
        )
        assert any("mail server (SMTP)" in line for line in report_attention), report_attention

        # the server is back: the next attempt goes through and clears the signal
        server.refusing = False
        clock.value = start + timedelta(seconds=90 + 120)
        assert await deliver_due(context.uow_factory, context.senders) == 2
        statuses = await pool.fetch("SELECT status FROM delivery WHERE id = ANY($1::bigint[])", ids)
        assert [row["status"] for row in statuses] == ["delivered", "delivered"]
        assert server.taken >= 1
        assert not [line for line in await attention_of(spec, pool) if MAIL_SERVER in line]
        assert REGISTRY.get_sample_value("chibo_delivery_channel_failing", {"channel": "email"}) == 0
    finally:
        await sender.aclose()
        await broker.stop()
        await pool.execute(
            "UPDATE delivery SET status = 'failed' WHERE id = ANY($1::bigint[]) AND status = 'pending'", ids
        )
