"""The real meetings process for tests that need it whole (`python -m services.meetings serve` against a vhost and a
database of the test's own), and entering the blocking context managers that make those off the test's loop."""

import asyncio
import os
import sys
import urllib.request
from collections.abc import AsyncIterator
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


@dataclass(frozen=True)
class Serving:
    """A meetings process started by meetings_process, and the URL of its /health."""

    process: asyncio.subprocess.Process
    health_url: str


@asynccontextmanager
async def meetings_process(amqp_url: str, database_url: str, log: Path) -> AsyncIterator[Serving]:
    """`python -m services.meetings serve` (its output appended to `log`), healthy, until the block ends."""
    port = free_port()
    env = {
        **os.environ,
        "CHIBO_AMQP_URL": amqp_url,
        "CHIBO_DATABASE_URL": database_url,
        "CHIBO_HTTP_PORT": str(port),
        "CHIBO_LOG_JSON": "true",
    }
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.meetings", "serve", cwd=ROOT, env=env, stdout=out, stderr=out
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
