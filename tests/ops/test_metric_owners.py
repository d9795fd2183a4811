"""A gauge of one service's own state is exported by that service alone (trial 11: the gateway, evaluation and
notifications each exported `chibo_rejections_open 0` and `chibo_held_events 0` beside meetings' 67 and 1, so a
dashboard summing or reading the wrong service was misled). Each service's app is built in a fresh interpreter, as
its process builds it, and its exposition read; the dashboard and the alert rules chart them from their owner."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import shared.metrics

ROOT = Path(__file__).parents[2]
SERVICES = ("meetings", "evaluation", "notifications", "gateway")
EXPOSE = (
    "import sys, json\n"
    "from prometheus_client import REGISTRY, generate_latest\n"
    "import services.{service}.main as main\n"
    "main.create_app()\n"
    "text = generate_latest(REGISTRY).decode()\n"
    "print(json.dumps(sorted({{line.split('{{')[0].split(' ')[0] for line in text.splitlines()"
    " if line and not line.startswith('#')}})))\n"
)


def owned_names(service: str) -> set[str]:
    """The metric families `service` owns (shared.metrics.OWNED)."""
    owned = shared.metrics.OWNED  # read here: before it, every process registered every metric (nothing owned)
    return {family.name for collector in owned.get(service, ()) for family in collector.describe()}


def exported(service: str, amqp_url: str, database_url: str) -> set[str]:
    """The sample names (histogram suffixes stripped) of a fresh process of `service` once its app is built."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CHIBO_AMQP_URL": amqp_url,
        "CHIBO_DATABASE_URL": database_url,
        "CHIBO_JWT_SECRET": "owners-secret-" + "x" * 32,
    }
    done = subprocess.run(
        [sys.executable, "-c", EXPOSE.format(service=service)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = json.loads(done.stdout.strip().splitlines()[-1])
    suffixes = ("_bucket", "_count", "_sum", "_created")
    return {next((n.removesuffix(s) for s in suffixes if n.endswith(s)), n) for n in names}


@pytest.fixture(scope="module")
def exports(amqp_url: str, database_url: str) -> dict[str, set[str]]:
    """What each service's process exports."""
    return {service: exported(service, amqp_url, database_url) for service in SERVICES}


def test_held_events_and_open_rejections_are_exported_by_meetings_alone(exports: dict[str, set[str]]) -> None:
    mine = {"chibo_held_events", "chibo_held_oldest_age_seconds", "chibo_rejections_open"}
    assert mine <= exports["meetings"]
    assert {service: names & mine for service, names in exports.items() if service != "meetings"} == {
        "evaluation": set(),
        "notifications": set(),
        "gateway": set(),
    }


def test_every_owned_metric_is_exported_by_its_owner_and_no_other_service(exports: dict[str, set[str]]) -> None:
    assert set(shared.metrics.OWNED) <= set(SERVICES)
    for owner in shared.metrics.OWNED:
        names = owned_names(owner)
        assert names <= exports[owner], (owner, names - exports[owner])
        for service in SERVICES:
            if service != owner:
                assert not names & exports[service], (service, names & exports[service])


def test_the_dashboard_reads_each_owned_gauge_in_a_target_of_its_own() -> None:
    """`max(chibo_held_events) or max(chibo_rejections_open)` drew only the held events (`or` keeps the left side
    whenever it has a value): each gauge gets its own target, by max (replicas of meetings read one database)."""
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "chibo.json").read_text(encoding="utf-8"))
    targets = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert "max(chibo_held_events)" in targets and "max(chibo_rejections_open)" in targets
    assert not any(" or " in expr and "chibo_held_events" in expr for expr in targets)
