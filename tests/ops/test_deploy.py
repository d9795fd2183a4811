"""CI validation of what deploys chibo: Kubernetes manifests, the compose file, the image, alerts, dashboard.

Everything here works offline: kubernetes-validate carries the Kubernetes schemas, the operators'
resources are checked against structural schemas (crd_schemas.py), the compose file against the
Compose specification's schema (vendored by check-jsonschema), and `kubectl kustomize` renders the
overlay where kubectl exists (a Python renderer of the same files otherwise).
"""

import importlib.resources
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from prometheus_client import REGISTRY

import shared.metrics  # noqa: F401  (registers chibo's metrics)
from shared.metrics import OWNED
from tests.ops.crd_schemas import SCHEMAS
from tests.ops.kustomize import render
from tests.support.env import docker_available

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
K8S_VERSION = kubernetes_validate.latest_version()
SERVICES = {"meetings": 8101, "evaluation": 8102, "notifications": 8103, "gateway": 8000}
METRIC = re.compile(r"\b(chibo_[a-z_]+|up)\b")


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """Objects of one kind by name."""
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


@pytest.fixture(scope="module", params=["base", "overlays/province"])
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """The rendered base and province overlay."""
    return render(DEPLOY / "k8s" / request.param)


def test_every_manifest_is_valid_against_its_schema(rendered: list[dict[str, Any]]) -> None:
    assert len(rendered) >= 25
    for obj in rendered:
        if obj["kind"] in SCHEMAS:
            jsonschema.validate(obj, SCHEMAS[obj["kind"]])
        else:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_every_service_is_deployed_as_operators_expect(rendered: list[dict[str, Any]]) -> None:
    deployments = by_kind(rendered, "Deployment")
    assert set(deployments) == set(SERVICES)
    services, budgets = by_kind(rendered, "Service"), by_kind(rendered, "PodDisruptionBudget")
    secrets, configs = by_kind(rendered, "Secret"), by_kind(rendered, "ConfigMap")
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health", name  # sees the consumers
        assert "livenessProbe" in container, name
        assert container["resources"]["requests"] and container["resources"]["limits"], name
        assert pod["securityContext"]["runAsNonRoot"] is True and container["securityContext"]["readOnlyRootFilesystem"]
        assert container["args"] == [f"services.{name}", "serve"]
        assert services[name]["spec"]["ports"][0]["port"] == SERVICES[name]
        assert budgets[name]["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        for env in container["env"]:
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] != "chibo-db-app":  # chibo-db-app is written by CloudNativePG
                assert ref["key"] in secrets[ref["name"]]["stringData"], (name, ref)
        for source in container["envFrom"]:
            assert source["configMapRef"]["name"] in configs
    for scaled in by_kind(rendered, "ScaledObject").values():
        assert scaled["spec"]["scaleTargetRef"]["name"] in deployments
        assert scaled["spec"]["triggers"][0]["type"] == "rabbitmq"
        assert scaled["spec"]["triggers"][0]["authenticationRef"]["name"] in by_kind(rendered, "TriggerAuthentication")
    (rabbit,) = by_kind(rendered, "RabbitmqCluster").values()
    assert (
        rabbit["spec"]["replicas"] == 3
        and "default_queue_type = quorum" in rabbit["spec"]["rabbitmq"]["additionalConfig"]
    )
    (database,) = by_kind(rendered, "Cluster").values()
    assert database["spec"]["instances"] >= 2 and database["spec"]["backup"]["barmanObjectStore"]["destinationPath"]
    assert [b["spec"]["cluster"]["name"] for b in by_kind(rendered, "ScheduledBackup").values()] == ["chibo-db"]
    policies = by_kind(rendered, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and deny["ingress"] == [] and deny["egress"] == []
    reach = policies["services-reach-broker-and-database"]["spec"]["egress"]
    assert sorted(rule["ports"][0]["port"] for rule in reach) == [53, 5432, 5672]
    assert all(obj["metadata"].get("namespace") == "chibo" for obj in rendered if obj["kind"] != "Namespace")


def test_the_province_overlay_changes_sizes_and_settings() -> None:
    objects = render(DEPLOY / "k8s" / "overlays" / "province")
    assert by_kind(objects, "Deployment")["gateway"]["spec"]["replicas"] == 3
    assert by_kind(objects, "Cluster")["chibo-db"]["spec"]["storage"]["size"] == "200Gi"
    assert by_kind(objects, "Cluster")["chibo-db"]["spec"]["instances"] == 3  # the merge kept the base's fields
    assert by_kind(objects, "ScaledObject")["notifications"]["spec"]["maxReplicaCount"] == 4
    assert by_kind(objects, "ConfigMap")["chibo-config"]["data"]["CHIBO_SMTP_HOST"] == "smtp.province.example.invalid"
    images = {
        c["image"] for d in by_kind(objects, "Deployment").values() for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"ghcr.io/chibo/chibo:0.1.0"}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl absent: the Python renderer is the only one")
def test_the_python_renderer_agrees_with_kubectl() -> None:
    for directory in ("base", "overlays/province"):
        ours = render(DEPLOY / "k8s" / directory, prefer_kubectl=False)
        theirs = render(DEPLOY / "k8s" / directory)
        key = lambda objs: sorted((o["kind"], o["metadata"]["name"]) for o in objs)  # noqa: E731
        assert key(ours) == key(theirs)
        for kind in ("Deployment", "Cluster", "ScaledObject", "ConfigMap"):
            assert by_kind(ours, kind) == by_kind(theirs, kind), (directory, kind)


def compose() -> dict[str, Any]:
    """deploy/compose.yaml, parsed."""
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_the_compose_file_is_valid_and_runs_the_whole_system_with_health_checks() -> None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        subprocess.run(["docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "-q"], check=True)
    schema_file = importlib.resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    spec = compose()
    jsonschema.validate(spec, schema)
    services = spec["services"]
    expected = {"rabbitmq", "postgres", "mailsink", "prometheus", "grafana", *SERVICES}
    assert set(services) == expected
    assert services["rabbitmq"]["image"].endswith("-management")
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    for name in SERVICES:
        assert services[name]["command"] == [f"services.{name}", "serve"]
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), source


def test_the_dockerfile_is_multi_stage_slim_non_root_and_built_from_the_lock() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert len(stages) >= 2 and stages[-1].endswith("-slim")
    assert "uv sync --frozen --no-dev" in text and "uv.lock" in text
    user = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert user and not user[-1].startswith(("0", "root"))
    if docker_available():
        subprocess.run(["docker", "build", "-q", "-t", "chibo:ci", str(ROOT)], check=True, timeout=1800)


def known_metrics() -> set[str]:
    """Every metric name chibo's processes expose (ours, FastStream's, with histogram and counter suffixes)."""
    names = {"up"}
    for collector in list(REGISTRY._collector_to_names):
        for family in collector.describe() if hasattr(collector, "describe") else []:
            names.add(family.name)
    names |= {name for names_ in REGISTRY._collector_to_names.values() for name in names_}
    # the metrics one service owns, registered only by its process (shared.metrics.export_owned)
    for collector in (collector for owned in OWNED.values() for collector in owned):
        for family in collector.describe():
            names |= {family.name, f"{family.name}_bucket", f"{family.name}_count", f"{family.name}_sum"}
    for prefix in ("received_messages", "received_processed_messages", "published_messages"):
        names |= {f"chibo_{prefix}_total", f"chibo_{prefix}_duration_seconds_bucket"}
    names.add("chibo_received_processed_messages_duration_seconds_bucket")
    return names


def test_alert_rules_use_real_metrics_and_each_has_a_runbook_section() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    names = {alert["alert"] for alert in alerts}
    required = {"ChiboDeadLetterQueueNotEmpty", "ChiboOutboxLagOverAMinute", "ChiboQueueWithoutConsumer"}
    assert required | {"ChiboNotificationFailures"} <= names
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    metrics = known_metrics()
    for alert in alerts:
        used = set(METRIC.findall(alert["expr"]))
        assert used and used <= metrics, (alert["alert"], used - metrics)
        assert alert["annotations"]["summary"] and alert["annotations"]["runbook"].endswith(alert["alert"].lower())
        assert f"### {alert['alert']}" in operations, alert["alert"]


def test_the_grafana_dashboard_is_provisioned_and_charts_real_metrics() -> None:
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "chibo.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "chibo.json").read_text(encoding="utf-8"))
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in ("consumed", "lag", "dead letters", "errors", "latency", "notifications"):
        assert topic in titles, topic
    metrics = known_metrics()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used = set(METRIC.findall(target["expr"]))
            assert used and used <= metrics, (panel["title"], used - metrics)
