"""A service's real process for tests that need it whole (`python -m services.<name> serve` against a vhost and a
database of the test's own), its /health read as an operator reads it, and entering the blocking context managers
that make those off the test's loop."""

import asyncio
import http.server
import json
import os
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.running import eventually, free_port

ROOT = Path(__file__).parents[2]


@asynccontextmanager
async def entered(manager: Any) -> AsyncIterator[Any]:
    """Enter a blocking context manager (rabbitmqctl, its own event loop) off the test's loop."""
    value = await asyncio.to_thread(manager.__enter__)
    try:
        yield value
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


def healthy(url: str) -> bool:
    """True when the service answers its health check."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def health(url: str) -> dict[str, Any]:
    """The service's /health report, whatever its status (503 while unhealthy); {} when it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return dict(json.loads(error.read()))
    except OSError:
        return {}


@contextmanager
def health_answering(answer: str, *, host: str = "127.0.0.1") -> Iterator[int]:
    """A port on `host` whose /health answers `answer` (JSON text) with 200, as a running service would, until the
    block ends."""

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the base class's name)
            body = answer.encode()
            self.send_response(200 if self.path == "/health" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
            pass

    server = http.server.ThreadingHTTPServer((host, 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Serving:
    """A service process started by service_process, and the URL of its /health."""

    process: asyncio.subprocess.Process
    health_url: str


@asynccontextmanager
async def service_process(
    service: str,
    amqp_url: str,
    database_url: str,
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    host: str = "127.0.0.1",
) -> AsyncIterator[Serving]:
    """`python -m services.<service> serve` run in `cwd` (this tree; a checkout-like copy of it, whose var/up.env
    it reads) with its output appended to `log` and `env` added to its environment, healthy on `host` (where it
    listens), until the block ends (terminated, killed after 30 s)."""
    port = free_port()
    environment = {
        **os.environ,
        "CHIBO_AMQP_URL": amqp_url,
        "CHIBO_DATABASE_URL": database_url,
        "CHIBO_HTTP_PORT": str(port),
        "CHIBO_LOG_JSON": "true",
        **(env or {}),
    }
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"services.{service}", "serve", cwd=cwd, env=environment, stdout=out, stderr=out
        )
    url = f"http://{host}:{port}/health"
    try:
        await eventually(lambda: process.returncode is not None or healthy(url), timeout=90, interval=0.3)
        assert process.returncode is None, (await asyncio.to_thread(log.read_text, errors="replace"))[-3000:]
        yield Serving(process, url)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
