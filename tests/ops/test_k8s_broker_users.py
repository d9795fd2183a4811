"""Kubernetes' broker users, as docs/operations.md ("Broker users on Kubernetes") creates them: the manifests create
none, and the documented commands (deploy/broker_users.sh through deploy/k8s/bin/rabbitmqctl, then the chibo-amqp
Secret) give the gateway, and only it, RabbitMQ's `management` tag, which its reading of the queues' figures from
the management API needs (shared.broker_api). The commands run as written against the local broker, in a vhost and
with users of the test's own, through a `kubectl` whose `exec` into the broker pod runs the local rabbitmqctl."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.ops.kustomize import render
from tests.ops.test_broker_users import NAMES, password_works, rabbitmqctl, tag  # noqa: F401  (tag: a fixture)
from tests.support.broker_users import SCRIPT_SECONDS

ROOT = Path(__file__).parents[2]
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
SECTION = OPERATIONS.split("## Broker users on Kubernetes", 1)[1].split("\n## ", 1)[0]
RENDERED = {
    overlay: render(ROOT / "deploy" / "k8s" / overlay, prefer_kubectl=False)
    for overlay in ("base", "overlays/province")
}

KUBECTL = """#!/usr/bin/env bash
# the test's kubectl: `exec` into the broker pod runs the local rabbitmqctl; every call's arguments are recorded,
# under a lock: both ends of a pipe (`kubectl create ... | kubectl apply -f -`) run at once, and bash writes a line at
# a time, so unlocked their records interleaved
{ flock 9 && printf '%s\\n' "$@" '--end--' >>"$KUBECTL_LOG"; } 9>>"$KUBECTL_LOG.lock"
if [ "$1 $2 $3 $4 $5 $6 $7 $8 $9" = "-n chibo exec -i chibo-rabbitmq-server-0 -c rabbitmq -- rabbitmqctl" ]; then
  shift 9
  exec "$REAL_RABBITMQCTL" "$@"
fi
cat >/dev/null
"""

pytestmark = [
    pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs the broker's rabbitmqctl"),
    pytest.mark.timeout(3 * SCRIPT_SECONDS),  # the script twice and the secret's command
]


def documented(start: str) -> str:
    """The one backticked command of the section that starts with `start`."""
    [command] = [span for span in re.findall(r"`([^`\n]+)`", SECTION) if span.startswith(start)]
    return command


def calls(log: Path) -> list[list[str]]:
    """Each recorded kubectl call's arguments."""
    found: list[list[str]] = [[]]
    for line in log.read_text().splitlines():
        if line == "--end--":
            found.append([])
        else:
            found[-1].append(line)
    return [call for call in found if call]


def tags(prefix: str) -> dict[str, str]:
    """The prefix's users and their tags as rabbitmqctl lists them (`[management]`, `[]`)."""
    listed = rabbitmqctl("--no-table-headers", "list_users").stdout.splitlines()
    return {user: shown for user, _, shown in (line.partition("\t") for line in listed) if user.startswith(prefix)}


def of_kind(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The rendered object of `kind` called `name`."""
    [found] = [obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("overlay", RENDERED)
def test_the_manifests_create_no_broker_user_and_the_docs_name_their_broker(overlay: str) -> None:
    objects = RENDERED[overlay]
    # no User/Permission resources (RabbitMQ's topology operator) nor a Job: the documented commands create them
    assert not [obj["kind"] for obj in objects if obj["kind"] in {"User", "Permission", "TopicPermission", "Job"}]
    cluster = of_kind(objects, "RabbitmqCluster", "chibo-rabbitmq")
    shim = (ROOT / "deploy" / "k8s" / "bin" / "rabbitmqctl").read_text()
    assert f"{cluster['metadata']['namespace']}}}" in shim and f"{cluster['metadata']['name']}-server-0}}" in shim
    assert "--host chibo-rabbitmq --port 5672" in documented("PATH=")
    assert of_kind(objects, "ConfigMap", "chibo-config")["data"]["CHIBO_BROKER_USER_PREFIX"] == ""
    assert "--prefix ''" in documented("PATH=")


def test_the_documented_commands_tag_only_the_gateway_and_fill_the_secret(tag: str, tmp_path: Path) -> None:  # noqa: F811
    prefix, vhost, out, log = f"{tag}-", f"{tag}-k8s", tmp_path / "k8s-broker.env", tmp_path / "kubectl.log"
    fake = tmp_path / "bin" / "kubectl"
    fake.parent.mkdir()
    fake.write_text(KUBECTL)
    fake.chmod(0o755)
    users_command = documented("PATH=")
    secret_command = documented("(. var/k8s-broker.env")
    own = {"--vhost /": f"--vhost {vhost}", "--prefix ''": f"--prefix {prefix}", "var/k8s-broker.env": str(out)}
    for written, ours in own.items():
        assert written in users_command
        users_command = users_command.replace(written, ours)
    secret_command = secret_command.replace("var/k8s-broker.env", str(out))
    real = shutil.which("rabbitmqctl")
    assert real is not None
    env = {
        "PATH": f"{fake.parent}:/usr/bin:/bin:/usr/sbin:/sbin:{Path(real).parent}",
        "KUBECTL_LOG": str(log),
        "REAL_RABBITMQCTL": real,
        "HOME": str(tmp_path),
    }
    outputs = []
    for command in (users_command, users_command, secret_command):
        done = subprocess.run(
            ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=SCRIPT_SECONDS
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout)
    assert "already as wanted" in outputs[1]  # a re-run changes nothing

    listed = tags(prefix)
    assert listed == {f"{prefix}{name}": "[management]" if name == "gateway" else "[]" for name in NAMES}, listed
    # every rabbitmqctl call went through kubectl exec into the broker pod
    assert any(call[:2] == ["-n", "chibo"] and "exec" in call for call in calls(log))

    [created] = [call for call in calls(log) if call[2:5] == ["create", "secret", "generic"]]
    assert created[:2] == ["-n", "chibo"] and created[5] == "chibo-amqp"
    given = dict(arg.removeprefix("--from-literal=").split("=", 1) for arg in created if arg.startswith("--from-"))
    for objects in RENDERED.values():
        assert set(given) == set(of_kind(objects, "Secret", "chibo-amqp")["stringData"])
    url = given["gateway-url"]
    user, password = re.fullmatch(r"amqp://([^:]+):([^@]+)@chibo-rabbitmq:5672/.+", url).groups()  # type: ignore[union-attr]
    assert user == f"{prefix}gateway" and password_works(user, password)
