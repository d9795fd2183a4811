"""What every preset of `make bench` shares: feeding events in, watching results come out, metering processes.

- `publish_messages`: AMQP messages on an exchange, persistent, with publisher confirms kept in flight
  (a window), as a national system would feed a backfill.
- `Observer`: a private queue bound to `chibo.events` for the results (`score.*`, `notification.*`,
  `ingest.rejected.v1`), counting each event whether it came alone or in a batch message (a JSON array
  of one type, CONTRACT.md "Route out").
- `ProcessMeter`: CPU seconds and peak RSS of the service processes (psutil; VmHWM from /proc).
"""

import asyncio
import json
import math
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import psutil
from aio_pika.abc import AbstractIncomingMessage

from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE
from shared.topology import EVENTS_EXCHANGE
from tests.support.env import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL, fresh_database, isolated_vhost
from tests.support.system import RunningSystem, running_system

RESULT_KEYS = ("score.#", "notification.#", "ingest.rejected.v1")


@dataclass(frozen=True)
class Outgoing:
    """One message to publish: body, content type, routing key, and the ids of the events it carries."""

    body: bytes
    content_type: str
    routing_key: str
    event_ids: tuple[str, ...]


def batch_messages(lines: Iterable[bytes], *, size: int) -> list[Outgoing]:
    """JSON-lines events grouped into batch messages of at most `size` events (routing key `batch`)."""
    messages: list[Outgoing] = []
    chunk: list[bytes] = []
    ids: list[str] = []

    def flush() -> None:
        if chunk:
            body = b"[" + b",".join(chunk) + b"]"
            messages.append(Outgoing(body, BATCH_CONTENT_TYPE, "batch", tuple(ids)))
            chunk.clear()
            ids.clear()

    for line in lines:
        chunk.append(line)
        ids.append(json.loads(line)["id"])
        if len(chunk) >= size:
            flush()
    flush()
    return messages


def single_messages(lines: Iterable[bytes]) -> list[Outgoing]:
    """One message per event, routing key = the event's type (CONTRACT.md "Routes in")."""
    messages = []
    for line in lines:
        event = json.loads(line)
        messages.append(Outgoing(line, CLOUDEVENT_CONTENT_TYPE, event["type"], (event["id"],)))
    return messages


async def publish_messages(
    amqp_url: str,
    exchange_name: str,
    messages: Sequence[Outgoing],
    *,
    window: int = 64,
    on_sent: Callable[[Outgoing, float], None] | None = None,
) -> float:
    """Publish persistently with publisher confirms, `window` unconfirmed at most; return the seconds taken."""
    connection = await aio_pika.connect(amqp_url)
    started = time.perf_counter()
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(exchange_name)
        slots = asyncio.Semaphore(window)

        async def send(message: Outgoing) -> None:
            try:
                if on_sent is not None:
                    on_sent(message, time.monotonic())
                await exchange.publish(
                    aio_pika.Message(
                        message.body,
                        content_type=message.content_type,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=message.routing_key,
                    timeout=120,
                )
            finally:
                slots.release()

        tasks = []
        for message in messages:
            await slots.acquire()
            tasks.append(asyncio.create_task(send(message)))
        await asyncio.gather(*tasks)
        return time.perf_counter() - started
    finally:
        await connection.close()


async def publish_at_rate(
    amqp_url: str,
    exchange_name: str,
    messages: Sequence[Outgoing],
    *,
    per_second: float,
    on_sent: Callable[[Outgoing, float], None],
) -> float:
    """Publish one message every 1/`per_second` s on a steady clock (confirms awaited alongside); return seconds."""
    connection = await aio_pika.connect(amqp_url)
    started = time.monotonic()
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(exchange_name)
        tasks = []
        for index, message in enumerate(messages):
            delay = started + index / per_second - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            on_sent(message, time.monotonic())
            tasks.append(
                asyncio.create_task(
                    exchange.publish(
                        aio_pika.Message(
                            message.body,
                            content_type=message.content_type,
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=message.routing_key,
                        timeout=120,
                    )
                )
            )
        await asyncio.gather(*tasks)
        return time.monotonic() - started
    finally:
        await connection.close()


def events_of(message: AbstractIncomingMessage) -> list[dict[str, Any]]:
    """The CloudEvents a message carries: one (structured mode), or a batch (a JSON array)."""
    body = json.loads(message.body)
    if isinstance(body, list):
        return [event for event in body if isinstance(event, dict)]
    if isinstance(body, dict) and "specversion" in body:
        return [body]
    # binary mode: the attributes are headers, the body is data
    headers = message.headers or {}
    return [
        {
            "type": str(headers.get("ce-type") or message.routing_key),
            "id": str(headers.get("ce-id") or ""),
            "correlationid": headers.get("ce-correlationid"),
            "data": body,
        }
    ]


@dataclass
class Observer:
    """Counts results on `chibo.events` as they are published; `listeners` see each event with its arrival time."""

    amqp_url: str
    keys: Sequence[str] = RESULT_KEYS
    started: float = field(default_factory=time.monotonic)
    counts: dict[str, int] = field(default_factory=dict)
    messages: int = 0
    batch_messages: int = 0
    final_scores: dict[str, float] = field(default_factory=dict)
    """meeting id → seconds (from `started`) of its first non-provisional score."""
    scored: dict[str, float] = field(default_factory=dict)
    """meeting id → seconds of its first score of any kind."""
    periods: dict[tuple[str, str], float] = field(default_factory=dict)
    """(cell id, period) → seconds of its first `score.cell.updated.v1`."""
    period_messages: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    """(cell id, period) → each of its `score.cell.updated.v1` in arrival order: seconds and what it said (a period
    published twice shows what the first said: `no_regular_meeting` at 0 is a round that ran before its meetings
    came)."""
    rejections: list[dict[str, Any]] = field(default_factory=list)
    last_result: float = 0.0
    listeners: list[Callable[[dict[str, Any], float], None]] = field(default_factory=list)
    _amqp_connection: Any = None

    async def start(self) -> None:
        """Bind a private queue to the results and consume it."""
        self._amqp_connection = await aio_pika.connect(self.amqp_url)
        channel = await self._amqp_connection.channel()
        await channel.set_qos(prefetch_count=1000)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for key in self.keys:
            await queue.bind(exchange, routing_key=key)
        await queue.consume(self._on_message, no_ack=True)

    async def close(self) -> None:
        """Stop consuming."""
        if self._amqp_connection is not None:
            await self._amqp_connection.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        now = time.monotonic()
        seconds = now - self.started
        events = events_of(message)
        self.messages += 1
        self.batch_messages += len(events) > 1 or message.content_type == BATCH_CONTENT_TYPE
        for event in events:
            kind = str(event.get("type"))
            self.counts[kind] = self.counts.get(kind, 0) + 1
            data = event.get("data") or {}
            if kind == "score.meeting.updated.v1":
                self.last_result = seconds
                self.scored.setdefault(data["meeting_id"], seconds)
                if not data.get("provisional"):
                    self.final_scores.setdefault(data["meeting_id"], seconds)
            elif kind == "score.cell.updated.v1":
                self.last_result = seconds
                self.periods.setdefault((data["cell_id"], data["period"]), seconds)
                said = {key: data.get(key) for key in ("rating", "score", "regular_held", "flags")}
                self.period_messages.setdefault((data["cell_id"], data["period"]), []).append(
                    {"s": round(seconds, 2), **said}
                )
            elif kind == "ingest.rejected.v1" and len(self.rejections) < 1000:
                self.rejections.append(data)
            for listener in self.listeners:
                listener(event, now)

    def quiet_for(self) -> float:
        """Seconds since the last score arrived (or since the start)."""
        return time.monotonic() - self.started - self.last_result


def _process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process and its children."""
    user = system = 0.0
    for process in _process_tree(pid):
        try:
            times = process.cpu_times()
            user += times.user
            system += times.system
        except psutil.NoSuchProcess:
            continue
    return user, system


def _vm_hwm_mb(pid: int) -> float:
    best = 0.0
    for process in _process_tree(pid):
        try:
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return best


@dataclass
class ProcessMeter:
    """CPU seconds over a window and peak RSS of named processes, sampled in the background."""

    pids: dict[str, int]
    interval: float = 0.5
    cpu_start: dict[str, float] = field(default_factory=dict)
    cpu_end: dict[str, float] = field(default_factory=dict)
    system_start: dict[str, float] = field(default_factory=dict)
    system_end: dict[str, float] = field(default_factory=dict)
    rss_peak_mb: dict[str, float] = field(default_factory=dict)
    rss_idle_mb: dict[str, float] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    def begin(self) -> None:
        """Take the idle RSS and the CPU counters now, and start sampling RSS."""
        for name, pid in self.pids.items():
            user, system = _cpu_split(pid)
            self.cpu_start[name], self.system_start[name] = user + system, system
            self.rss_idle_mb[name] = self._rss_mb(pid)
            self.rss_peak_mb[name] = self.rss_idle_mb[name]
        self._task = asyncio.get_running_loop().create_task(self._sample())

    def end(self) -> None:
        """Stop sampling; take the CPU counters and each process's high-water mark."""
        if self._task is not None:
            self._task.cancel()
        for name, pid in self.pids.items():
            user, system = _cpu_split(pid)
            self.cpu_end[name], self.system_end[name] = user + system, system
            self.rss_peak_mb[name] = max(self.rss_peak_mb.get(name, 0.0), self._rss_mb(pid), _vm_hwm_mb(pid))

    async def _sample(self) -> None:
        while True:
            for name, pid in self.pids.items():
                self.rss_peak_mb[name] = max(self.rss_peak_mb.get(name, 0.0), self._rss_mb(pid))
            await asyncio.sleep(self.interval)

    @staticmethod
    def _rss_mb(pid: int) -> float:
        total = 0.0
        for process in _process_tree(pid):
            try:
                total += process.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                continue
        return total

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) each process used in the window."""
        return {name: round(self.cpu_end.get(name, 0.0) - self.cpu_start[name], 1) for name in self.pids}

    def figures(self, *, events: int, seconds: float) -> dict[str, Any]:
        """CPU seconds (and the kernel's share of them), busy cores, events per CPU second (a busy core), idle
        and peak RSS per process."""
        cpu = self.cpu_seconds()
        total = sum(cpu.values())
        system = sum(self.system_end.get(name, 0.0) - self.system_start[name] for name in self.pids)
        return {
            "cpu_seconds": cpu,
            "cpu_system_percent": round(100 * system / total, 1) if total > 0 else None,
            "busy_cores": round(total / seconds, 2) if seconds > 0 else None,
            "events_per_busy_core_s": round(events / total) if total > 0 else None,
            "rss_idle_mb": {name: round(value, 1) for name, value in self.rss_idle_mb.items()},
            "rss_peak_mb": {name: round(value, 1) for name, value in self.rss_peak_mb.items()},
        }


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, timeout: float, interval: float = 0.5
) -> tuple[bool, float]:
    """Poll `condition` until it holds or `timeout` passes; return (held, seconds waited)."""
    started = time.monotonic()
    while True:
        if await condition():
            return True, time.monotonic() - started
        if time.monotonic() - started > timeout:
            return False, time.monotonic() - started
        await asyncio.sleep(interval)


def ratio(chibo: float | None, baseline: float | None) -> float | None:
    """chibo ÷ baseline, rounded (None when either is missing or the baseline is 0)."""
    if chibo is None or not baseline:
        return None
    return round(chibo / baseline, 3)


def percentiles(values: Sequence[float], points: Sequence[int] = (50, 95, 99)) -> dict[str, float | None]:
    """The nearest-rank percentiles of `values` in milliseconds (`p50`...), None when there are none."""
    ordered = sorted(values)
    result: dict[str, float | None] = {}
    for point in points:
        if not ordered:
            result[f"p{point}"] = None
            continue
        rank = max(0, min(len(ordered) - 1, math.ceil(point / 100 * len(ordered)) - 1))
        result[f"p{point}"] = round(ordered[rank] * 1000, 1)
    return result


SERVICES = ("meetings", "evaluation", "notifications", "gateway")


@dataclass
class BenchSystem:
    """The four services running for one preset: their broker and database URLs and each service's pid."""

    system: RunningSystem
    amqp_url: str
    dsn: str
    pids: dict[str, int]


@contextmanager
def bench_system() -> Iterator[BenchSystem]:
    """The four services as processes on a fresh vhost and database of their own, logging warnings only; with
    CHIBO_BENCH_LOG_DIR set, they log at CHIBO_BENCH_LOG_LEVEL (INFO) into that directory, kept for diagnosis."""
    kept = os.environ.get("CHIBO_BENCH_LOG_DIR")
    level = os.environ.get("CHIBO_BENCH_LOG_LEVEL", "INFO") if kept else "WARNING"
    with (
        isolated_vhost(DEFAULT_AMQP_URL) as amqp_url,
        fresh_database(DEFAULT_DATABASE_URL) as dsn,
        tempfile.TemporaryDirectory() as scratch,
        running_system(
            amqp_url=amqp_url, database_url=dsn, workdir=_log_dir(kept, scratch), extra_env={"CHIBO_LOG_LEVEL": level}
        ) as system,
    ):
        yield BenchSystem(system, amqp_url, dsn, {name: system.processes[name].pid for name in SERVICES})


def _log_dir(kept: str | None, scratch: str) -> Path:
    """The services' working directory: `kept` (created) when given, else the run's scratch directory."""
    if not kept:
        return Path(scratch)
    path = Path(kept)
    path.mkdir(parents=True, exist_ok=True)
    return path
