"""A service's real process for tests that need it whole (`python -m services.<name> serve` against a vhost and a
database of the test's own), its /health read as an operator reads it, and entering the blocking context managers
that make those off the test's loop."""

import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
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


@dataclass(frozen=True)
class Serving:
    """A service process started by service_process, and the URL of its /health."""

    process: asyncio.subprocess.Process
    health_url: str


@asynccontextmanager
async def service_process(
    service: str, amqp_url: str, database_url: str, log: Path, *, env: Mapping[str, str] | None = None
) -> AsyncIterator[Serving]:
    """`python -m services.<service> serve` (its output appended to `log`, `env` added to its environment), healthy,
    until the block ends (terminated, killed after 30 s)."""
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
            sys.executable, "-m", f"services.{service}", "serve", cwd=ROOT, env=environment, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}/health"
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
