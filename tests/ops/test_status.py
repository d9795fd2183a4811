"""`make status` (deploy/status.sh) names every component `make up` starts, the mail sink too (it printed the four
services only, so a dead mail sink went unseen while every notice failed), and its exit code says how they are: 0 all
ok, 1 one degraded, 2 one down (it exited 0 whatever it printed, so a script could not act on it).

The script runs in a directory of its own, against stand-ins answering /health and SMTP on free ports."""

import asyncio
import http.server
import json
import shutil
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.gateway.main import create_app
from tests.gateway.conftest import gateway_settings
from tests.gateway.fakes import FakeServices
from tests.ops.test_up_settings import ROOT, checkout, free_port, without_chibo
from tests.support.running import running_app

SERVICES = ("meetings", "evaluation", "notifications", "gateway")


class Answers:
    """What each stand-in service's /health says now, by port: its top-level status (ok, degraded, down)."""

    def __init__(self) -> None:
        self.by_port: dict[int, str] = {}


@pytest.fixture
def health() -> Iterator[tuple[dict[str, int], Answers]]:
    """A /health stand-in per service on a port of its own, answering as `Answers` says (503 unless ok)."""
    answers = Answers()

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the base class's name)
            address: Any = self.server.server_address
            port = int(address[1])
            status = answers.by_port[port]
            # a nested "status" after the top level's, as a real report may hold
            body = json.dumps({"service": "x", "status": status, "queues": {"q": {"status": "ok"}}}).encode()
            self.send_response(200 if status == "ok" else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
            pass

    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health) for _ in SERVICES]
    for server in servers:
        answers.by_port[server.server_address[1]] = "ok"
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {name: server.server_address[1] for name, server in zip(SERVICES, servers, strict=True)}, answers
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def smtp() -> Iterator[int]:
    """A port greeting each connection as an SMTP server does (220), then closing it at QUIT."""

    class Greeter(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 mailsink ESMTP ready\r\n")
            self.wfile.flush()
            self.rfile.readline()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Greeter)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def run_status(workdir: Path, ports: dict[str, int], smtp_port: int) -> tuple[int, dict[str, str]]:
    """deploy/status.sh's exit code and its lines, by component."""
    env = without_chibo() | {f"CHIBO_{name.upper()}_PORT": str(port) for name, port in ports.items()}
    env["CHIBO_SMTP_PORT"] = str(smtp_port)
    done = subprocess.run(
        ["bash", "deploy/status.sh"], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )
    lines = {line.split(maxsplit=1)[0]: line.split(maxsplit=1)[1] for line in done.stdout.splitlines() if line.strip()}
    return done.returncode, lines


def test_status_names_the_mail_sink_and_exits_by_the_worst_component(
    tmp_path: Path, health: tuple[dict[str, int], Answers], smtp: int
) -> None:
    workdir = checkout(tmp_path, "env.sh", "settings.sh", "status.sh")
    ports, answers = health

    code, lines = run_status(workdir, ports, smtp)
    assert list(lines) == [*SERVICES, "mailsink"], lines
    assert json.loads(lines["mailsink"])["status"] == "ok", lines
    assert code == 0, lines

    answers.by_port[ports["evaluation"]] = "degraded"
    code, lines = run_status(workdir, ports, smtp)
    assert json.loads(lines["evaluation"])["status"] == "degraded"
    assert code == 1, lines

    answers.by_port[ports["evaluation"]] = "ok"
    code, lines = run_status(workdir, ports, free_port())  # the mail sink not running
    assert lines["mailsink"] == "down" and code == 2, lines

    answers.by_port[ports["gateway"]] = "degraded"
    answers.by_port[ports["meetings"]] = "down"  # answering, but its database is down
    code, lines = run_status(workdir, ports, smtp)
    assert code == 2, lines

    gone = {**ports, "notifications": free_port()}
    answers.by_port[ports["meetings"]] = "ok"
    code, lines = run_status(workdir, gone, smtp)
    assert lines["notifications"] == "down" and code == 2, lines


def test_make_status_says_the_scripts_own_code_and_the_docs_say_what_make_exits(
    tmp_path: Path, health: tuple[dict[str, int], Answers], smtp: int
) -> None:
    """Trial: `make status` exited 2 with make's bare "Error 1" for a degraded service while the docs said it exits
    1. GNU make exits 2 for any failed recipe, so the recipe names the script's own code and the docs say both."""
    workdir = checkout(tmp_path, "env.sh", "settings.sh", "status.sh")
    shutil.copy2(ROOT / "Makefile", workdir / "Makefile")
    ports, answers = health
    answers.by_port[ports["evaluation"]] = "degraded"
    env = without_chibo() | {f"CHIBO_{name.upper()}_PORT": str(port) for name, port in ports.items()}
    env["CHIBO_SMTP_PORT"] = str(smtp)
    done = subprocess.run(
        ["make", "--no-print-directory", "status"], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done
    assert "deploy/status.sh exited 1 (degraded)" in done.stderr, done.stderr

    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "`make status` exits 1" not in operations and "`make status` exits 2" not in operations
    assert "prints `down` and exits 2" not in operations  # said of make status: the script's code


async def test_the_gateways_line_reads_degraded_while_a_service_it_calls_has_no_consumer(
    tmp_path: Path, health: tuple[dict[str, int], Answers], smtp: int, amqp_url: str, database_url: str
) -> None:
    """A trial's `make status` printed the gateway's `"status":"ok"` beside its own `"meetings":"no consumer"`: the
    real gateway's /health, read by the script, now says degraded (and the script exits 1 for it)."""
    workdir = checkout(tmp_path, "env.sh", "settings.sh", "status.sh")
    ports, _ = health
    services = FakeServices(amqp_url)
    await services.start()
    try:
        async with running_app(create_app(gateway_settings(amqp_url, database_url))) as base:
            ports = {**ports, "gateway": int(base.rsplit(":", 1)[1])}
            code, lines = await asyncio.to_thread(run_status, workdir, ports, smtp)
            assert json.loads(lines["gateway"])["status"] == "ok" and code == 0, lines

            await services.meetings.stop()
            code, lines = await asyncio.to_thread(run_status, workdir, ports, smtp)
            said = json.loads(lines["gateway"])
            assert said["services"]["meetings"] == "no consumer", said
            assert said["status"] == "degraded", said
            assert code == 1, lines
    finally:
        await services.stop()
