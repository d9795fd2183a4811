"""A private RabbitMQ node for the fault suite, so restarting its app never touches the shared broker.

The node gets its own name, ports and directories under a temporary folder (owned by the `rabbitmq` user when
the script switches to it), is started detached, and is stopped and removed at the end.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.running import free_port


@dataclass
class PrivateBroker:
    """A running private node: its AMQP URL base and the commands to restart its app."""

    node: str
    port: int
    env: dict[str, str]

    def url(self, vhost: str = "") -> str:
        """The AMQP URL of a vhost of this node."""
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def ctl(self, *args: str, timeout: float = 120) -> str:
        """Run rabbitmqctl against this node only; its output."""
        result = subprocess.run(
            ["rabbitmqctl", "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return result.stdout

    def add_vhost(self, name: str) -> str:
        """A vhost with full rights for guest; its URL."""
        self.ctl("add_vhost", name)
        self.ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        return self.url(name)

    def restart_app(self) -> float:
        """`rabbitmqctl stop_app` then `start_app` on this node; seconds it was away."""
        started = time.monotonic()
        self.ctl("stop_app")
        self.ctl("start_app")
        self.ctl("await_startup", "-t", "120")
        return time.monotonic() - started


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def private_broker(timeout: float = 120) -> Iterator[PrivateBroker]:
    """Start a private RabbitMQ node; stop it and remove its files afterwards."""
    if shutil.which("rabbitmq-server") is None:
        raise RuntimeError("rabbitmq-server is not installed: the broker-restart fault needs a private node")
    base = Path(tempfile.mkdtemp(prefix="chibo-chaos-"))
    node = f"chibo-chaos-{uuid.uuid4().hex[:8]}@localhost"
    port = free_port()
    (base / "enabled_plugins").write_text("[].\n")
    (base / "rabbitmq.conf").write_text("loopback_users.guest = true\n")
    env = {
        **os.environ,
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(free_port()),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_PID_FILE": str(base / "pid"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
        "RABBITMQ_FEATURE_FLAGS_FILE": str(base / "feature_flags"),
        "RABBITMQ_QUORUM_DIR": str(base / "quorum"),
    }
    for folder in ("mnesia", "log", "quorum"):
        (base / folder).mkdir()
    try:
        owner = pwd.getpwnam("rabbitmq")
        for path in [base, *base.rglob("*")]:
            os.chown(path, owner.pw_uid, owner.pw_gid)
    except KeyError:
        pass  # no rabbitmq user: the script runs as the caller
    broker = PrivateBroker(node=node, port=port, env=env)
    subprocess.run(["rabbitmq-server", "-detached"], env=env, capture_output=True, timeout=60, check=False)
    try:
        deadline = time.monotonic() + timeout
        while not _port_open(port):
            if time.monotonic() > deadline:
                logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in (base / "log").glob("*.log"))
                raise TimeoutError(f"the private RabbitMQ node {node} did not open port {port}:\n{logs}")
            time.sleep(0.5)
        broker.ctl("await_startup", "-t", str(int(timeout)))
        yield broker
    finally:
        subprocess.run(["rabbitmqctl", "-n", node, "stop"], env=env, capture_output=True, timeout=120, check=False)
        shutil.rmtree(base, ignore_errors=True)
