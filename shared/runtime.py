"""What every FastStream service's bootstrap needs: pool, migrations, topology, relay, health.

A service's bootstrap.py calls `build_service_app` with its own router, queues and the
context it wants its consumers to see; nothing here is created at import time.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import asyncpg
from aio_pika.abc import AbstractRobustConnection
from faststream import ContextRepo
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.asgi.response import JSONResponse
from faststream.rabbit import Channel, RabbitBroker, RabbitRouter

from shared import backlog
from shared.asyncapi import ASSET_FILES, render_page, service_document
from shared.background import poll
from shared.config import ServiceSettings
from shared.db import apply_migrations, create_pool, ensure_database, migration_files
from shared.heap import freeze_startup_heap
from shared.instances import InstanceIdentity, keep_reporting, say_stopping
from shared.logs import configure_logging, get_logger
from shared.metrics import GaugeReader, export_owned, render_metrics
from shared.ops.dead_letters import dead_letter_attention, dead_letter_counts
from shared.ops.outbox import outbox_health
from shared.outages import broker_reason, broker_refusal, held_deliveries, set_hold_limit, stop_holding
from shared.outbox import OutboxRelay
from shared.probes import side_channel
from shared.retention import keep_pruning_processed
from shared.statistics import keep_statistics
from shared.telemetry import broker_middlewares, configure_tracing
from shared.topology import (
    UNROUTED_QUEUE,
    ConsumerQueue,
    declare_topology,
    queue_depths,
    restore_bindings,
    unrouted_watch,
    watched_keys,
)

log = get_logger(__name__)

AppT = TypeVar("AppT")
AttentionReader = Callable[[asyncpg.Connection], Awaitable[list[str]]]
"""Lines needing an operator, read from the service's schema on the connection's search path."""


@dataclass(frozen=True)
class ServiceSpec(Generic[AppT]):
    """What distinguishes one service's runtime from another's.

    `build_context` makes the service's one typed context object (settings, pool, unit-of-work
    factory, ...) once the pool exists; it is put into FastStream's context under the service's
    name for the subscribers, and handed to each background job.
    """

    name: str
    service_dir: Path
    router: RabbitRouter
    consumer_queues: Sequence[ConsumerQueue]
    rpc_queue: str | None
    build_context: Callable[[asyncpg.Pool, RabbitBroker], Awaitable[AppT]]
    background: Sequence[Callable[[AppT], Coroutine[Any, Any, None]]] = ()
    description: str = ""
    gauges: Sequence[GaugeReader] = ()
    """Readers of the service's own state gauges (held events, jobs), run on each /metrics scrape."""
    publishes: Sequence[str] = ()
    """The event types the service publishes on chibo.events (its AsyncAPI document's send operations)."""
    health_counts: Mapping[str, str] = field(default_factory=dict)
    """Extra figures for /health: name -> a `SELECT count(*)` over the service's schema (e.g. held events)."""
    health_limits: Mapping[str, float] = field(default_factory=dict)
    """Highest acceptable value of some of those figures (name -> limit): one above its limit makes the service
    `degraded` and is named in `attention`, as a parked outbox row is (e.g. evaluation's scoring lag, s)."""
    health_attention: Sequence[AttentionReader] = ()
    """Readers of the service's own lines for `attention` on /health (each makes it `degraded`), run on the
    connection of the health probe (e.g. notifications' deliveries failing on the mail server)."""


FRAMEWORK_MESSAGE_LOG_LEVEL = logging.DEBUG
"""The level of FastStream's per-message "Received"/"Processed" lines: each cost ~4 % of a consumer's CPU at INFO
(province-year profile, issue 12) and repeats what our own events say."""


def create_broker(
    settings: ServiceSettings, *, service: str, consumer_queues: Sequence[ConsumerQueue] = ()
) -> RabbitBroker:
    """A broker with bounded prefetch, publisher confirms, a graceful shutdown timeout, traces and metrics.

    FastStream's own per-message lines ("Received", "Processed") are written at DEBUG (FRAMEWORK_MESSAGE_LOG_LEVEL),
    so at the services' INFO they cost a level check and nothing more; its error lines keep their ERROR level,
    and shared.consuming logs every settled delivery with the service, event id, type and correlation id."""
    return RabbitBroker(
        settings.amqp_url,
        default_channel=Channel(prefetch_count=settings.prefetch, publisher_confirms=True),
        graceful_timeout=settings.graceful_timeout,
        app_id=f"chibo-{service}",
        logger=logging.getLogger(f"faststream.{service}"),
        log_level=FRAMEWORK_MESSAGE_LOG_LEVEL,
        middlewares=broker_middlewares(service, {queue.exchange: queue.name for queue in consumer_queues}),
    )


async def migrate(settings: ServiceSettings, *, schema: str, service_dir: Path) -> list[str]:
    """Create the database if needed and apply the service's migrations."""
    await ensure_database(settings.database_url)
    return await apply_migrations(settings.database_url, schema=schema, files=migration_files(service_dir))


OUTBOX_LAG_ALERT_SECONDS = 60.0
"""An outbox row waiting longer than this makes the service `degraded` (so does any parked row)."""


async def check_health(
    *,
    pool: asyncpg.Pool | None,
    broker: RabbitBroker,
    queues: Sequence[str],
    dead_letter_queues: Sequence[str] = (),
    attention: list[str] | None = None,
    counts: Mapping[str, str] | None = None,
    limits: Mapping[str, float] | None = None,
    unrouted_watches: Sequence[str] = (),
    readers: Sequence[AttentionReader] = (),
    amqp_url: str | None = None,
    backlog_seconds: float = 0.0,
) -> tuple[bool, dict[str, Any]]:
    """Database reachable, broker reachable, no delivery held for an unreachable dependency (`held_for_dependency`,
    shared.outages), and a consumer attached to every queue we read; also the outbox
    (pending, lag, parked) and the dead letters' counts. What needs an operator without stopping the service
    (a parked row, a lagging outbox, dead letters waiting, one of `counts` above its entry in `limits`, events of the
    service's that reached chibo.unrouted, counted by its `unrouted_watches`, a line of one of `readers`) is
    appended to `attention`. A broker that does not answer is asked why with a fresh login to `amqp_url` (access
    refused, connection refused), said in `broker`. Each queue read gets its backlog figures (`backlog`,
    shared.backlog): one whose oldest delivery in progress, or whose waiting messages, are older than
    `backlog_seconds` (0: never) is named in `attention`."""
    report: dict[str, Any] = {}
    healthy = True
    attention = attention if attention is not None else []
    held = held_deliveries()
    if held:  # consumers waiting for a dependency (shared.outages): the outage is shown even between its probes
        healthy = False
        report["held_for_dependency"] = held
    try:
        if pool is None:
            raise RuntimeError("no pool")
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
            outbox = await outbox_health(conn)
            for name, sql in (counts or {}).items():
                report[name] = await conn.fetchval(sql)
            for reader in readers:
                attention += await reader(conn)
        for name, limit in (limits or {}).items():
            value = report.get(name)
            if isinstance(value, int | float) and value > limit:
                attention.append(f"{name} {value:g} above {limit:g}")
        report["database"] = "ok"
        report["outbox"] = outbox
        if outbox["parked"]:
            attention.append(f"{outbox['parked']} outbox rows parked")
        if outbox["oldest_pending_seconds"] > OUTBOX_LAG_ALERT_SECONDS:
            attention.append(f"outbox lag {outbox['oldest_pending_seconds']:g} s")
    except Exception as exc:
        healthy = False
        report["database"] = f"down: {exc!r}"
    try:
        if not await broker.ping(timeout=2):
            refusal = await broker_refusal(amqp_url) if amqp_url else ""
            report["broker"] = f"down: {refusal or 'no answer to a ping'}"  # access refused reads as such
            raise BrokerDown(report["broker"])
        report["broker"] = "ok"
        connection = await broker.connect()  # the broker's own connection: no second login per probe
        channel = await side_channel(connection)  # a missing queue closes it: not the broker's own (shared.probes)
        try:
            depths = await queue_depths(channel, queues)
            unrouted = await queue_depths(channel, unrouted_watches)
        finally:
            if not channel.is_closed:
                await channel.close()
        report["queues"] = depths
        report["backlog"] = {name: backlog.figures(name, waiting=depth["messages"]) for name, depth in depths.items()}
        attention += [
            line
            for name, found in report["backlog"].items()
            if (line := backlog.backlog_attention(name, found, limit_seconds=backlog_seconds)) is not None
        ]
        if unrouted_watches:
            report["unrouted"] = {name: depth["messages"] for name, depth in unrouted.items()}
            attention += unrouted_attention(report["unrouted"])
        if dead_letter_queues:
            report["dead_letters"] = await dead_letter_counts(connection, dead_letter_queues)
            attention += dead_letter_attention(report["dead_letters"])  # the operations page's words
        missing = [name for name, depth in depths.items() if depth["consumers"] < 1]
        if missing:
            healthy = False
            report["consumers"] = f"no consumer on {', '.join(missing)}"
        else:
            report["consumers"] = "ok"
    except Exception as exc:
        healthy = False
        report.setdefault("broker", f"down: {broker_reason(exc)}")
    return healthy, report


def unrouted_attention(counts: Mapping[str, int]) -> list[str]:
    """The attention lines of unrouted watches holding messages (`3 events lost to chibo.unrouted
    (evaluation.unrouted)`): events a consumer of ours binds that found no binding (docs/operations.md,
    ChiboEventsUnrouted)."""
    return [f"{count} events lost to chibo.unrouted ({name})" for name, count in counts.items() if count]


async def keep_bindings(
    broker: RabbitBroker,
    queues: Sequence[ConsumerQueue],
    *,
    every_seconds: float,
    connect: Callable[[], Awaitable[AbstractRobustConnection]] | None = None,
) -> None:
    """Run restore_bindings on the broker's own connection (`connect()`, broker.connect by default) every
    `every_seconds` and at once after the connection is restored, until cancelled (a failure is logged and retried
    by shared.background.poll). A consumer whose exchange was deleted and declared again (by anyone: every service
    declares the shared exchanges) gets its bindings back within that time instead of losing every event to
    chibo.unrouted for good."""
    wake = asyncio.Event()
    watched: list[object] = []
    connect = connect or broker.connect

    async def step() -> bool:
        connection = await connect()
        if connection not in watched:  # the broker's one connection, watched once
            connection.reconnect_callbacks.add(lambda *_: wake.set())
            watched.append(connection)
        await restore_bindings(connection, queues)
        return False

    await asyncio.sleep(every_seconds)  # the first round after the broker has connected (start-up declared them)
    await poll("bindings", step, poll_seconds=every_seconds, wake=wake)


class BrokerDown(Exception):
    """The broker did not answer check_health's ping (its `broker` line already says why)."""


class BrokerStopping(Exception):
    """The service's broker has not started or its shutdown has begun: its connection is not asked for
    (BrokerGate)."""


class BrokerGate:
    """The broker's own connection for a service's heartbeat, bindings keeper and /metrics, from the broker's start
    until its shutdown begins. FastStream's broker.connect() opens a new connection whenever the broker has none: a
    job asking before the broker's start had made its own raced it (two connections, one of them kept by nobody),
    and one asking after its stop opened another nobody closed; either reconnected for the rest of the process, to a
    virtual host perhaps deleted since."""

    def __init__(self, broker: RabbitBroker) -> None:
        self._broker = broker
        self._started = asyncio.Event()
        self.closed = False

    def open(self) -> None:
        """The broker has started (FastStream's after_startup): its connection may be asked for."""
        self._started.set()

    async def connection(self, *, wait: bool = True) -> AbstractRobustConnection:
        """The broker's connection once it has started (waiting for that, or BrokerStopping at once when not
        `wait`); BrokerStopping once the shutdown has begun."""
        if not self.closed and not self._started.is_set():
            if not wait:
                raise BrokerStopping("the broker has not started yet")
            await self._started.wait()
        if self.closed:
            raise BrokerStopping("the service is stopping: its broker connection is not opened again")
        connection: AbstractRobustConnection = await self._broker.connect()  # no await before its own answer
        return connection


async def close_reopened(broker: RabbitBroker) -> None:
    """Stop the broker again once the background tasks have stopped: a connection anything else opened through
    broker.connect() after FastStream stopped it (an RPC client of a job) is closed, not left reconnecting."""
    try:
        await broker.stop()
    except Exception as exc:
        log.warning("broker_close_failed", error=repr(exc))


def down_lines(report: Mapping[str, Any]) -> list[str]:
    """The attention lines of what makes a check_health report unhealthy (`database down: ...`, `broker down:
    access refused (...)`, `no consumer on meetings.ingest`): /health names what is wrong whenever it is not ok."""
    lines = []
    for dependency in ("database", "broker"):
        value = str(report.get(dependency, "down: not checked"))
        if value != "ok":
            lines.append(f"{dependency} {value}")
    consumers = report.get("consumers")
    if consumers is not None and consumers != "ok":
        lines.append(str(consumers))
    return lines


def health_status(healthy: bool, report: Mapping[str, Any], attention: Sequence[str]) -> str:
    """`ok`; `down` when the database or the broker cannot be used; `degraded` for anything else in `attention`."""
    if any(str(report.get(dependency, "down")) != "ok" for dependency in ("database", "broker")):
        return "down"
    return "ok" if healthy and not attention else "degraded"


async def stop_background(
    tasks: Sequence[asyncio.Task[Any]], *, relay: OutboxRelay, pool: asyncpg.Pool, timeout: float
) -> None:
    """Cancel every background task and await it, then close the pool; each step bounded by `timeout` seconds.

    A task that ignores its cancellation, or a connection never given back, is logged and the pool is
    terminated, so a stopping service never waits on a connection for ever (issue 10, fault 11)."""
    relay.stop()
    for task in tasks:
        task.cancel()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        if pending:
            log.error("background_tasks_not_stopped", tasks=sorted(task.get_name() for task in pending))
    try:
        await asyncio.wait_for(pool.close(), timeout=timeout)
    except TimeoutError:
        log.error("pool_close_timed_out", timeout=timeout)
        pool.terminate()


def build_service_app(spec: ServiceSpec[Any], settings: ServiceSettings) -> AsgiFastStream:
    """The ASGI FastStream app of a service: consumers, relay, /health, /metrics and /asyncapi."""
    configure_logging(service=spec.name, level=settings.log_level, json=settings.log_json)
    configure_tracing(spec.name)
    export_owned(spec.name)  # its own state's gauges, which no other service exports
    set_hold_limit(settings.hold_limit_seconds)
    stop_holding(False)  # a new app in this process holds again
    broker = create_broker(settings, service=spec.name, consumer_queues=spec.consumer_queues)
    broker.include_router(spec.router)
    state: dict[str, Any] = {"pool": None}
    gate = BrokerGate(broker)
    identity = InstanceIdentity(spec.name, http_port=settings.http_port) if settings.status_every_seconds > 0 else None
    read_queues = [queue.name for queue in spec.consumer_queues] + ([spec.rpc_queue] if spec.rpc_queue else [])
    unrouted_watches = [unrouted_watch(service) for service in watched_keys(spec.consumer_queues)]
    # chibo.unrouted: what the exchanges' alternate exchange keeps (unbound_types, and losses), as every service sees it
    metric_queues = [
        *read_queues,
        *(queue.dead_letter_queue for queue in spec.consumer_queues),
        *unrouted_watches,
        UNROUTED_QUEUE,
    ]

    @contextlib.asynccontextmanager
    async def lifespan(context: ContextRepo) -> AsyncIterator[None]:
        applied = await migrate(settings, schema=spec.name, service_dir=spec.service_dir)
        log.info("service_starting", migrations_applied=len(applied))
        await declare_topology(settings.amqp_url, spec.consumer_queues)
        pool = await create_pool(
            settings.database_url, schema=spec.name, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        state["pool"] = pool
        app_context = await spec.build_context(pool, broker)
        freeze_startup_heap()  # every service: collections re-walking start-up's heap were 10-19 % of evaluation's CPU
        context.set_global(spec.name, app_context)
        relay = OutboxRelay(
            pool=pool,
            schema=spec.name,
            amqp_url=settings.amqp_url,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
            retention=timedelta(days=settings.outbox_retention_days),
        )
        tasks = [asyncio.create_task(relay.run(), name=f"{spec.name}-relay")]
        if settings.statistics_poll_seconds > 0:
            statistics = keep_statistics(
                pool,
                schema=spec.name,
                poll_seconds=settings.statistics_poll_seconds,
                fraction=settings.statistics_analyze_fraction,
                min_rows=settings.statistics_analyze_min_rows,
            )
            tasks.append(asyncio.create_task(statistics, name=f"{spec.name}-statistics"))
        if settings.processed_retention_days is not None:
            pruning = keep_pruning_processed(pool, schema=spec.name, retention_days=settings.processed_retention_days)
            tasks.append(asyncio.create_task(pruning, name=f"{spec.name}-inbox-prune"))
        if identity is not None:
            reporting = keep_reporting(
                gate.connection,
                identity,
                status_summary,
                every_seconds=settings.status_every_seconds,
                farewell_url=settings.amqp_url,
                farewell_seconds=settings.graceful_timeout,
            )
            tasks.append(asyncio.create_task(reporting, name=f"{spec.name}-status"))
        if settings.bindings_check_seconds > 0 and spec.consumer_queues:
            bindings = keep_bindings(
                broker, spec.consumer_queues, every_seconds=settings.bindings_check_seconds, connect=gate.connection
            )
            tasks.append(asyncio.create_task(bindings, name=f"{spec.name}-bindings"))
        for job in spec.background:
            tasks.append(asyncio.create_task(job(app_context), name=f"{spec.name}-{getattr(job, '__name__', 'job')}"))
        try:
            yield
        finally:
            # FastStream has stopped the broker (its handlers finished or were cancelled within the graceful
            # timeout) before this runs; now every background task, then the pool, each within the timeout
            await stop_background(tasks, relay=relay, pool=pool, timeout=settings.graceful_timeout)
            await close_reopened(broker)
            stop_holding(False)  # nothing of this app is held any more: another app of this process holds again
            log.info("service_stopped")

    dead_letter_queues = [queue.dead_letter_queue for queue in spec.consumer_queues]

    async def health_report() -> tuple[bool, str, dict[str, Any], list[str]]:
        """(healthy, status, report, attention) of this process, as /health says them."""
        attention: list[str] = []
        healthy, report = await check_health(
            pool=state["pool"],
            broker=broker,
            queues=read_queues,
            dead_letter_queues=dead_letter_queues,
            attention=attention,
            counts=spec.health_counts,
            limits=spec.health_limits,
            unrouted_watches=unrouted_watches,
            readers=spec.health_attention,
            amqp_url=settings.amqp_url,
            backlog_seconds=settings.backlog_attention_seconds,
        )
        if not healthy:
            attention[:0] = down_lines(report)  # what is wrong first, then what else needs an operator
        return healthy, health_status(healthy, report, attention), report, attention

    async def status_summary() -> tuple[bool, list[str], dict[str, Any]]:
        """What this process's heartbeat says (shared.instances): ok only when /health would say `ok`, its attention
        lines and its /health body."""
        healthy, status, report, attention = await health_report()
        body = {"service": spec.name, "status": status, **report, "attention": attention}
        return healthy and status == "ok", attention, body

    @get
    async def health(scope: Any) -> AsgiResponse:
        healthy, status, report, attention = await health_report()
        body = {"service": spec.name, "status": status, **report, "attention": attention}
        return JSONResponse(body, 200 if healthy else 503)

    @get
    async def metrics(scope: Any) -> AsgiResponse:
        try:
            connection = await gate.connection(wait=False)  # the broker's own: no second login per scrape
        except Exception:
            connection = None
        body, content_type = await render_metrics(
            service=spec.name,
            pool=state["pool"],
            broker_connection=connection,
            queues=metric_queues,
            readers=spec.gauges,
        )
        return AsgiResponse(body, 200, headers={"content-type": content_type})

    async def hand_back_held() -> None:
        """Before the broker stops (its graceful wait for running handlers): held deliveries stop waiting for their
        dependency and are handed back without spending their delivery limit (shared.outages.stop_holding); no job
        asks for the broker's connection any more (BrokerGate). Then the gateway is told this process stops, on that
        connection while it is open (a new login on a loaded machine took longer than a stop waited for it, and the
        process stayed `missing` instead of `stopped`); failing that, the heartbeat says so last (keep_reporting)."""
        try:
            connection = await gate.connection(wait=False)
        except Exception:
            connection = None  # not started (nothing was ever reported), or its connection cannot be had
        gate.closed = True
        stop_holding()
        if identity is not None and connection is not None:
            await say_stopping(connection, identity, timeout=settings.graceful_timeout)

    return AsgiFastStream(
        broker,
        lifespan=lifespan,
        after_startup=[gate.open],
        on_shutdown=[hand_back_held],
        logger=logging.getLogger(f"faststream.app.{spec.name}"),
        asgi_routes=[("/health", health), ("/metrics", metrics), *asyncapi_routes(spec)],
    )


def asyncapi_routes(spec: ServiceSpec) -> list[tuple[str, Any]]:
    """/asyncapi.json (the service's AsyncAPI document), /asyncapi (rendered offline) and the page's assets."""
    document = service_document(
        service=spec.name,
        description=spec.description,
        consumer_queues=spec.consumer_queues,
        rpc_queue=spec.rpc_queue,
        publishes=spec.publishes,
    )

    @get
    async def asyncapi_json(scope: Any) -> AsgiResponse:
        return JSONResponse(document, 200)

    @get
    async def asyncapi_page(scope: Any) -> AsgiResponse:
        page = render_page(f"chibo {spec.name}", document, assets_path="/asyncapi/assets")
        return AsgiResponse(page, 200, headers={"content-type": "text/html; charset=utf-8"})

    routes: list[tuple[str, Any]] = [("/asyncapi.json", asyncapi_json), ("/asyncapi", asyncapi_page)]
    for name, (path, media_type) in ASSET_FILES.items():
        routes.append((f"/asyncapi/assets/{name}", _file_route(path, media_type)))
    return routes


def _file_route(path: Path, media_type: str) -> Any:
    content = path.read_bytes() if path.is_file() else None  # read once, at start-up

    @get
    async def asset(scope: Any) -> AsgiResponse:
        if content is None:
            return AsgiResponse(b"not installed: run deploy/bootstrap.sh", 404)
        return AsgiResponse(content, 200, headers={"content-type": media_type})

    return asset
