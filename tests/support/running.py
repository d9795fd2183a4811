"""Run a service's ASGI app inside the test process, on a free port, against the real broker."""

import asyncio
import contextlib
import io
import logging
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import prometheus_client
import uvicorn
from aiosmtpd.controller import Controller

START_SECONDS = 60.0
"""How long an app may take to answer healthy on a loaded machine (migrations, broker, pool)."""
STOP_SECONDS = 30.0
"""How long an app may take to stop; a longer shutdown is a bug the failure describes."""


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a process gracefully (SIGTERM, then SIGKILL after 30 s) and wait for it."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


SMTP_LOG = "mail.log"
"""The logger aiosmtpd logs every SMTP session's commands, replies and end through (aiosmtpd.smtp's `log`)."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server(handler: Any, **options: Any) -> Iterator[int]:
    """A real aiosmtpd SMTP server for `handler` on a free port of 127.0.0.1 (`options` go to its Controller),
    stopped on exit; yields the port. aiosmtpd's own logger (SMTP_LOG) says only warnings meanwhile, as the demo's
    mail sink has it (deploy/mailsink.py): its INFO lines of every session's end, written from its thread through the
    in-process services' log handler, landed among pytest's dots."""
    port = free_port()
    smtp_log = logging.getLogger(SMTP_LOG)
    level = smtp_log.level
    smtp_log.setLevel(max(level, logging.WARNING))
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
        smtp_log.setLevel(level)


@asynccontextmanager
async def running_app(app: Any, *, port: int | None = None, ready_path: str = "/health") -> AsyncIterator[str]:
    """Serve `app` with uvicorn until the block ends; yield its base URL once it answers healthy."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = asyncio.get_running_loop().time() + START_SECONDS
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                if task.done():
                    task.result()
                    raise RuntimeError("server stopped during start-up")
                try:
                    response = await client.get(base + ready_path)
                    if response.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"{base}{ready_path} never answered 200 within {START_SECONDS} s")
                await asyncio.sleep(0.1)
        yield base
    finally:
        server.should_exit = True
        done, _ = await asyncio.wait({task}, timeout=STOP_SECONDS)
        if not done:
            # say what the shutdown waits on (a task that ignores its cancel, a connection never given back)
            stacks = _task_stacks()
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise TimeoutError(f"the app did not stop within {STOP_SECONDS} s; the tasks still running:\n{stacks}")
        task.result()


def _task_stacks() -> str:
    out = io.StringIO()
    for other in asyncio.all_tasks():
        if other is not asyncio.current_task():
            print(f"--- {other.get_name()}: {other.get_coro()!r}", file=out)
            other.print_stack(limit=12, file=out)
    return out.getvalue()


async def eventually(check: Any, *, timeout: float = 60.0, interval: float = 0.1) -> Any:
    """Call `check` (sync or async) until it returns a truthy value or raise after `timeout` seconds (the default is
    generous: a condition met at once costs nothing, and a loaded machine may take long)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {last!r})")
        await asyncio.sleep(interval)


def settled(queue: str) -> int:
    """Deliveries of `queue` that consumers in this process settled for good (handled, duplicate, ignored or
    dead-lettered; a retried one is counted when it is settled later): what a test waits on instead of a pause."""
    total = 0.0
    for metric in prometheus_client.REGISTRY.collect():
        if metric.name != "chibo_events_consumed":
            continue
        for sample in metric.samples:
            labels = sample.labels
            if sample.name.endswith("_total") and labels.get("queue") == queue and labels.get("outcome") != "retried":
                total += sample.value
    return int(total)
