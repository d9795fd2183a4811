"""The whole system as real processes: the four services and the demo mail sink.

End-to-end tests start it once per package against the package's own RabbitMQ vhost and the
test database, and drive it from outside: the gateway's HTTP API and the broker.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from deploy.seed_demo import publisher
from tests.support.running import free_port, stop_process

ROOT = Path(__file__).parents[2]
COMMAND_SECONDS = 300.0
"""How long a service's command (issue-token, web-account) may take: only a hung one is refused. On a loaded machine
(a full `make test` beside other work) issue-token took over 60 s (its imports, migrations check and pool), and a
test waiting 60 s failed before it asked anything."""
START_SECONDS = 180.0
"""How long a service process may take to answer healthy on a loaded machine (migrations, broker, pool)."""


@dataclass
class RunningSystem:
    """Where the running processes answer."""

    gateway_url: str
    service_urls: dict[str, str]
    mail_dir: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def stop(self, name: str) -> None:
        """Stop one process gracefully (SIGTERM, then SIGKILL)."""
        stop_process(self.processes[name])

    def start(self, name: str) -> None:
        """(Re)start one process and wait until it is healthy."""
        self.processes[name] = _spawn(name, self.env, self.logs[name], self._port(name))
        if name in self.service_urls:
            _wait_healthy(name, self.service_urls[name] + "/health", self.processes[name], self.logs[name])

    def _port(self, name: str) -> int:
        url = self.service_urls.get(name) or ""
        return int(url.rsplit(":", 1)[1]) if url else 0

    def tail(self, name: str, lines: int = 40) -> str:
        """The last lines of a process's log, for assertion messages."""
        return "\n".join(self.logs[name].read_text(errors="replace").splitlines()[-lines:])


COMMANDS = {
    "mailsink": ["-m", "deploy.mailsink"],
    "meetings": ["-m", "services.meetings", "serve"],
    "evaluation": ["-m", "services.evaluation", "serve"],
    "notifications": ["-m", "services.notifications", "serve"],
    "gateway": ["-m", "services.gateway", "serve"],
}


def service_env(amqp_url: str, database_url: str, smtp_port: int) -> dict[str, str]:
    """The environment a chibo service process runs with in tests: this one's, this checkout on PYTHONPATH, the
    broker and database URLs, JSON logs, the SMTP server on 127.0.0.1:`smtp_port` and the tests' JWT secret."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CHIBO_AMQP_URL": amqp_url,
        "CHIBO_DATABASE_URL": database_url,
        "CHIBO_LOG_JSON": "true",
        "CHIBO_SMTP_HOST": "127.0.0.1",
        "CHIBO_SMTP_PORT": str(smtp_port),
        "CHIBO_JWT_SECRET": "e2e-secret-" + "x" * 32,
    }


def _spawn(name: str, env: dict[str, str], log: Path, port: int) -> subprocess.Popen:
    args = [sys.executable, *COMMANDS[name]]
    if name == "mailsink":
        args += ["--port", env["CHIBO_SMTP_PORT"], "--dir", env["CHIBO_TEST_MAIL_DIR"]]
    handle = log.open("ab")
    return subprocess.Popen(
        args, cwd=ROOT, env={**env, "CHIBO_HTTP_PORT": str(port)}, stdout=handle, stderr=subprocess.STDOUT
    )


def _wait_healthy(name: str, url: str, process: subprocess.Popen, log: Path, timeout: float = START_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{name} not healthy at {url}:\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def running_system(
    *,
    amqp_url: str,
    database_url: str,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    linked_mails: bool = False,
) -> Iterator[RunningSystem]:
    """Start mail sink, meetings, evaluation, notifications and gateway; stop them all afterwards. `linked_mails`:
    notifications knows the gateway's address (CHIBO_PUBLIC_BASE_URL), so its mails name the pages to open."""
    # distinct ports: free_port() releases its socket, so two calls may name the same port
    chosen: list[int] = []
    while len(chosen) < 5:
        port = free_port()
        if port not in chosen:
            chosen.append(port)
    ports = dict(zip(("meetings", "evaluation", "notifications", "gateway"), chosen[:4], strict=True))
    smtp_port = chosen[4]
    mail_dir = workdir / "mail"
    mail_dir.mkdir(parents=True, exist_ok=True)
    env = service_env(amqp_url, database_url, smtp_port) | {
        "CHIBO_TEST_MAIL_DIR": str(mail_dir),
        # the demo seed publishes as this login (deploy.seed_demo stamps user_id), as `make up` runs it as the admin
        "CHIBO_SYSTEM_PUBLISHERS": json.dumps([publisher(amqp_url)]),
        "CHIBO_SERVICE_HEALTH_URLS": json.dumps(
            {name: f"http://127.0.0.1:{ports[name]}/health" for name in ("meetings", "evaluation", "notifications")}
        ),
        **({"CHIBO_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['gateway']}"} if linked_mails else {}),
        **(extra_env or {}),
    }
    system = RunningSystem(
        gateway_url=f"http://127.0.0.1:{ports['gateway']}",
        service_urls={name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
        mail_dir=mail_dir,
        env=env,
        logs={name: workdir / f"{name}.log" for name in COMMANDS},
    )
    try:
        for name in COMMANDS:
            system.processes[name] = _spawn(name, env, system.logs[name], ports.get(name, 0))
        for name in ("meetings", "evaluation", "notifications", "gateway"):
            _wait_healthy(name, system.service_urls[name] + "/health", system.processes[name], system.logs[name])
        yield system
    finally:
        for name in reversed(list(system.processes)):
            system.stop(name)


def issue_token(
    system: RunningSystem,
    *,
    role: str,
    unit: str | None,
    person: str | None = None,
    sub: str,
    province_wide: bool = False,
    sources: Sequence[str] = (),
) -> str:
    """A token from the gateway's own command, as an administrator would issue it (`sources`: a scoped integration
    account's registered sources)."""
    args = [sys.executable, "-m", "services.gateway", "issue-token", "--role", role, "--sub", sub]
    for source in sources:
        args += ["--source", source]
    if unit:
        args += ["--unit", unit]
    if person:
        args += ["--person", person]
    if province_wide:
        args.append("--province-wide")
    result = subprocess.run(args, cwd=ROOT, env=system.env, capture_output=True, text=True, timeout=COMMAND_SECONDS)
    # a failure says why (its stderr), not only the exit status
    assert result.returncode == 0, f"issue-token exited {result.returncode}: {result.stderr[-3000:]}"
    return result.stdout.strip().splitlines()[-1]


@contextmanager
def running_replicas(
    *,
    amqp_url: str,
    database_url: str,
    workdir: Path,
    replicas: dict[str, int],
    extra_env: dict[str, str] | None = None,
) -> Iterator[dict[str, list[subprocess.Popen]]]:
    """Start `replicas[name]` processes of each named service (meetings, evaluation, notifications) on the same
    queues and database, each healthy before the next starts; stop them all afterwards."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CHIBO_AMQP_URL": amqp_url,
        "CHIBO_DATABASE_URL": database_url,
        "CHIBO_LOG_JSON": "true",
        **(extra_env or {}),
    }
    started: dict[str, list[subprocess.Popen]] = {name: [] for name in replicas}
    try:
        for name, count in replicas.items():
            for index in range(count):
                port = free_port()
                log = workdir / f"{name}-{index}.log"
                process = _spawn(name, env, log, port)
                started[name].append(process)
                _wait_healthy(f"{name}-{index}", f"http://127.0.0.1:{port}/health", process, log)
        yield started
    finally:
        for processes in started.values():
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
        for processes in started.values():
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
