"""The per-delivery micro-benchmark runs for every service it names and prints its figures.

It had crashed on evaluation since evaluation's start began filling content keys from the database (the benchmark
builds the context with no pool); nothing ran it, so nobody saw.
"""

import json

import pytest

from tests.benchmarks.delivery_path import EVENT_TYPE
from tests.benchmarks.runs import run_module

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.mark.parametrize("service", sorted(EVENT_TYPE))
def test_the_delivery_path_benchmark_prints_its_figures(service: str) -> None:
    completed = run_module(
        ["tests.benchmarks.delivery_path", "--service", service, "--deliveries", "200", "--repeat", "1"],
        timeout=240,
    )
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    assert figures["service"] == service and figures["deliveries"] == 200
    assert len(figures["us_per_delivery"]) == 1 and figures["median_us"] > 0
