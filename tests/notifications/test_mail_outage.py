"""A mail server that is down is visible: e-mails pending after a refused connection make /health name the mail
server in `attention` (so the system health and the operations page do), and a gauge counts them.

The operator trial: with the SMTP server down, deliveries stayed pending with SMTPConnectError while /health said
"ok" with no attention line."""

import socket
from datetime import datetime

import asyncpg
from faststream.rabbit import RabbitBroker
from prometheus_client import REGISTRY

from services.notifications.bootstrap import build_spec
from services.notifications.channels import default_senders
from services.notifications.config import Settings
from services.notifications.handlers.deliveries import deliver_due
from services.notifications.unit_of_work import uow_factory
from shared.periods import VIETNAM_TZ
from shared.runtime import check_health
from tests.notifications.fakes import Clock
from tests.notifications.test_deliveries import queue


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_deliveries_failing_on_a_mail_server_that_is_down_are_named_in_health_and_counted(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    settings = settings.model_copy(update={"smtp_port": closed_port(), "smtp_timeout": 2.0})
    clock = Clock(datetime(1991, 4, 4, 8, 0, tzinfo=VIETNAM_TZ))  # only this test's deliveries are due then
    ids = await queue(pool, settings, clock, 2)
    senders = default_senders(settings)
    await deliver_due(uow_factory(pool, settings=settings, clock=clock), senders)
    rows = await pool.fetch("SELECT status, attempts, last_error FROM delivery WHERE id = ANY($1::bigint[])", ids)
    assert all(row["status"] == "pending" and row["attempts"] == 1 and row["last_error"] for row in rows), rows

    spec = build_spec(settings)
    attention: list[str] = []
    async with pool.acquire() as conn:
        for reader in spec.health_attention:
            attention += await reader(conn)
        for gauge in spec.gauges:
            await gauge(conn)
    lines = [line for line in attention if "email deliveries waiting on the mail server (SMTP)" in line]
    assert lines and "SMTP" in lines[0].split(":", 1)[1], attention
    waiting = REGISTRY.get_sample_value("chibo_deliveries_retrying", {"channel": "email"})
    assert waiting is not None and waiting >= 2

    report_attention: list[str] = []
    broker = RabbitBroker(settings.amqp_url)
    try:
        await check_health(
            pool=pool, broker=broker, queues=[], attention=report_attention, readers=spec.health_attention
        )
    finally:
        await broker.stop()
    assert any("mail server (SMTP)" in line for line in report_attention), report_attention
    await pool.execute("UPDATE delivery SET status = 'failed' WHERE id = ANY($1::bigint[])", ids)  # not left to others
