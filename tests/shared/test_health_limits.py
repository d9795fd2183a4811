"""/health: a figure above its limit (e.g. evaluation's scoring lag) makes the service degraded, as parked rows do."""

import asyncpg
from faststream.rabbit import RabbitBroker

from services.evaluation.bootstrap import build_spec
from services.evaluation.config import Settings as EvaluationSettings
from shared.runtime import check_health


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
