"""/health: a figure above its limit (e.g. evaluation's scoring lag) makes the service degraded, as parked rows do."""

from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
from faststream.rabbit import RabbitBroker

from services.evaluation.bootstrap import build_spec
from services.evaluation.config import Settings as EvaluationSettings
from shared.ops.dead_letters import dead_letter_attention
from shared.runtime import check_health, down_lines, health_status
from tests.support.ids import random_id


async def test_a_figure_above_its_limit_is_named_in_attention_and_one_within_is_not(
    pool: asyncpg.Pool, amqp_url: str
) -> None:
    broker = RabbitBroker(amqp_url)
    attention: list[str] = []
    _, report = await check_health(
        pool=pool,
        broker=broker,
        queues=[],
        attention=attention,
        counts={"scoring_lag_seconds": "SELECT 412.5::float8", "scoring_backlog_cells": "SELECT 7"},
        limits={"scoring_lag_seconds": 300.0, "scoring_backlog_cells": 10},
    )
    assert report["scoring_lag_seconds"] == 412.5 and report["scoring_backlog_cells"] == 7
    assert attention == ["scoring_lag_seconds 412.5 above 300"]

    attention = []
    await check_health(
        pool=pool,
        broker=broker,
        queues=[],
        attention=attention,
        counts={"scoring_lag_seconds": "SELECT 12.0::float8"},
        limits={"scoring_lag_seconds": 300.0},
    )
    assert attention == []
    await broker.stop()


def test_evaluation_is_degraded_by_a_scoring_lag_above_its_setting_or_a_failing_cell() -> None:
    spec = build_spec(EvaluationSettings(scoring_lag_alert_seconds=120.0))
    assert spec.health_limits == {"scoring_lag_seconds": 120.0, "scoring_failing_cells": 0}
    assert set(spec.health_limits) <= set(spec.health_counts)


async def test_dead_letters_waiting_are_named_in_attention_as_the_operations_page_names_them(
    pool: asyncpg.Pool, amqp_url: str
) -> None:
    """A trial's notifications /health said "ok" with an empty attention while 2 dead letters waited and the
    operations page said "Cần chú ý": every service's /health now names them, in the page's words."""
    connection = await aio_pika.connect(amqp_url)
    dlq = random_id("health-test") + ".dlq"
    try:
        channel = await connection.channel()
        await channel.declare_queue(dlq, auto_delete=False)
        for n in range(2):
            await channel.default_exchange.publish(aio_pika.Message(body=f"{n}".encode()), routing_key=dlq)
        broker = RabbitBroker(amqp_url)
        await broker.connect()
        attention: list[str] = []
        _, report = await check_health(
            pool=pool, broker=broker, queues=[], dead_letter_queues=[dlq], attention=attention
        )
        assert report["broker"] == "ok" and report["dead_letters"] == {dlq: 2}
        assert attention == [f"2 dead letters in {dlq}"] == dead_letter_attention({dlq: 2})
        await broker.stop()
    finally:
        channel = await connection.channel()
        await channel.queue_delete(dlq)
        await connection.close()


async def test_a_broker_refusing_the_login_is_down_with_access_refused_named_in_attention(
    pool: asyncpg.Pool, amqp_url: str
) -> None:
    """The trial: a /health answering 503 said "degraded" with an empty attention, and its broker line
    `down: RuntimeError('ping failed')` did not say access was refused."""
    parts = urlsplit(amqp_url)
    refused_url = urlunsplit(parts._replace(netloc=f"guest:wrong-password@{parts.hostname}:{parts.port or 5672}"))
    broker = RabbitBroker(refused_url)
    attention: list[str] = []
    healthy, report = await check_health(pool=pool, broker=broker, queues=[], attention=attention, amqp_url=refused_url)
    assert not healthy
    assert report["broker"].startswith("down: access refused"), report
    lines = down_lines(report)
    assert lines == [f"broker {report['broker']}"], lines
    assert health_status(healthy, report, [*lines, *attention]) == "down"
    await broker.stop()


def test_every_unhealthy_part_of_a_report_is_an_attention_line() -> None:
    report = {"database": "down: ConnectionRefusedError(111)", "broker": "ok", "consumers": "no consumer on a.b"}
    assert down_lines(report) == ["database down: ConnectionRefusedError(111)", "no consumer on a.b"]
    assert health_status(False, {"database": "ok", "broker": "ok"}, ["no consumer on a.b"]) == "degraded"
    assert health_status(True, {"database": "ok", "broker": "ok"}, []) == "ok"
