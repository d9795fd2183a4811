"""Prometheus metrics of every chibo process, on the process's default registry.

Names follow the Prometheus conventions (`chibo_` prefix, `_total` counters, `_seconds` in base
units) and every label takes a bounded set of values: event types outside the contract become
`other`, RPC methods outside a service's catalog `unknown`, HTTP paths their route template.
Counters and histograms move where the work happens; gauges that describe stored state (outbox
lag, parked rows, held events, queue depths, job progress) are read when /metrics is scraped.
A metric without labels that only one service's state or work sets (held events, open rejections, the scoring
backlog) is exported by that service alone (OWNED, export_owned).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import CollectorRegistry

from shared.logs import get_logger
from shared.probes import side_channel

log = get_logger(__name__)

OTHER = "other"

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

EVENTS_CONSUMED = Counter(
    "chibo_events_consumed_total",
    "Events a consumer settled (one per message, or each of a batch), by queue, event type and outcome "
    "(handled, duplicate, ignored, retried, dead_lettered).",
    ["queue", "type", "outcome"],
)
DELIVERIES_HELD = Gauge(
    "chibo_deliveries_held",
    "Deliveries a consumer holds unsettled because a dependency is unreachable (shared.outages), by queue.",
    ["queue"],
)
DELIVERY_HELD_SECONDS = Histogram(
    "chibo_delivery_held_seconds",
    "How long a delivery was held through an outage before its dependency answered again, by queue.",
    ["queue"],
    buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
)
DEPENDENCY_UNAVAILABLE = Counter(
    "chibo_dependency_unavailable_total",
    "Tries of a delivery that failed because a dependency was unreachable (not counted as its failures), by queue.",
    ["queue"],
)
INGEST_EVENTS = Counter(
    "chibo_ingest_events_total",
    "Events meetings judged, by route (amqp, http, replay, bulk; release and retry: held events judged again), type"
    " and outcome (accepted, duplicate, held, rejected).",
    ["route", "type", "outcome"],
)
INGEST_WARNINGS = Counter(
    "chibo_ingest_warnings_total",
    "Events meetings accepted with a warning (ingest.warned.v1), by route, type and code (roster_incomplete).",
    ["route", "type", "code"],
)
REJECTIONS_DISMISSED = Counter(
    "chibo_rejections_dismissed_total",
    "Rejections an operator closed unreplayed (meetings), by how they were named: `id` one by one, `filter` by a"
    " filtered dismissal.",
    ["named_by"],
)
OUTBOX_PUBLISHED = Counter(
    "chibo_outbox_published_total", "Outbox rows the relay published with a broker confirm.", ["service", "type"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "chibo_outbox_publish_failures_total", "Outbox rows the broker did not confirm (retried later).", ["service"]
)
OUTBOX_PENDING = Gauge("chibo_outbox_pending_rows", "Outbox rows waiting to be published (not parked).", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "chibo_outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox row (0 when none).", ["service"]
)
OUTBOX_FAILING = Gauge(
    "chibo_outbox_failing_rows", "Unpublished outbox rows whose publication failed at least once.", ["service"]
)
OUTBOX_PARKED = Gauge(
    "chibo_outbox_parked_rows", "Outbox rows set aside as unpublishable, waiting for an operator.", ["service"]
)
QUEUE_MESSAGES = Gauge("chibo_queue_messages", "Messages ready in a queue the service reads (and its .dlq).", ["queue"])
QUEUE_CONSUMERS = Gauge("chibo_queue_consumers", "Consumers attached to a queue the service reads.", ["queue"])
HELD_EVENTS = Gauge("chibo_held_events", "Events meetings holds until what they refer to arrives.", registry=None)
HELD_OLDEST_AGE = Gauge("chibo_held_oldest_age_seconds", "Age of the oldest held event (0 when none).", registry=None)
DELIVERIES_RETRYING = Gauge(
    "chibo_deliveries_retrying",
    "Deliveries whose last attempt failed, waiting for the next (e.g. the mail server refusing), by channel.",
    ["channel"],
)
DELIVERIES_RETRYING_OLDEST_AGE = Gauge(
    "chibo_deliveries_retrying_oldest_age_seconds",
    "Age of the oldest delivery waiting for a retry after a failed attempt, by channel (0 when none).",
    ["channel"],
)
DELIVERY_CHANNEL_FAILING = Gauge(
    "chibo_delivery_channel_failing",
    "1 while a channel's failed attempts, with no success between them, have lasted CHIBO_DELIVERY_FAILING_SECONDS"
    " (e.g. the mail server down), else 0; by channel.",
    ["channel"],
)
REJECTIONS_OPEN = Gauge("chibo_rejections_open", "Stored rejections not replayed yet.", registry=None)
RPC_CLIENT_SECONDS = Histogram(
    "chibo_rpc_client_duration_seconds",
    "RPC calls the gateway made, by service, method and outcome (ok, error code, unavailable).",
    ["service", "method", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
RPC_SERVER_SECONDS = Histogram(
    "chibo_rpc_server_duration_seconds",
    "RPC requests a service answered, by method and outcome (ok or the error code).",
    ["method", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "chibo_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "chibo_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
AUDIT_WRITE_FAILURES = Counter(
    "chibo_audit_write_failures_total",
    "Audit rows the gateway could not write for a call it answered (the call's `audit_write_failed` log line holds "
    "the whole row), by method.",
    ["method"],
)
ROWS_PRUNED = Counter(
    "chibo_rows_pruned_total",
    "Rows a retention prune deleted (shared.retention), by schema and table (processed_message, notification, ...).",
    ["schema", "table"],
)
NOTIFICATION_DELIVERIES = Counter(
    "chibo_notification_deliveries_total",
    "Delivery attempts, by rule, channel and outcome (delivered, retrying, failed).",
    ["rule", "channel", "outcome"],
)
WEBHOOK_ADDRESSES_REFUSED = Counter(
    "chibo_webhook_addresses_refused_total",
    "Webhook addresses the SSRF guard refused (not global and not in CHIBO_WEBHOOK_ALLOWED_HOSTS, or not resolving),"
    " by stage (registration, send).",
    ["stage"],
)
SCORING_SECONDS = Histogram(
    "chibo_scoring_duration_seconds",
    "Rescoring the touched meetings and refreshing the touched periods: once per scoring round of the dirty cells "
    "(many deliveries coalesced), or per cell in a rescoring job.",
    buckets=_LATENCY_BUCKETS,
    registry=None,
)
GROUP_COMMIT_SIZE = Histogram(
    "chibo_group_commit_size",
    "Items (one per delivery) a group commit judged together, by group (shared.group_commit).",
    ["group"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
)
GROUP_COMMIT_SECONDS = Histogram(
    "chibo_group_commit_duration_seconds",
    "Seconds a group commit's flush took, by group (shared.group_commit).",
    ["group"],
    buckets=_LATENCY_BUCKETS,
)
SCORING_BACKLOG = Gauge(
    "chibo_scoring_backlog_cells", "Cells noted dirty by facts and not scored yet (evaluation).", registry=None
)
SCORING_FAILING = Gauge(
    "chibo_scoring_failing_cells",
    "Dirty cells whose scoring failed, retried later on their own (evaluation).",
    registry=None,
)
SCORING_LAG = Gauge(
    "chibo_scoring_lag_seconds",
    "Age of the oldest dirty-cell note waiting for the scoring worker (0 when none).",
    registry=None,
)
JOBS = Gauge("chibo_jobs", "Background jobs by kind and status.", ["job", "status"])
JOB_PROGRESS = Gauge(
    "chibo_job_progress_ratio", "Progress of the running job of a kind, 0 to 1 (1 when none is running).", ["job"]
)

OWNED: dict[str, tuple[MetricWrapperBase, ...]] = {
    "meetings": (HELD_EVENTS, HELD_OLDEST_AGE, REJECTIONS_OPEN),
    "evaluation": (SCORING_SECONDS, SCORING_BACKLOG, SCORING_FAILING, SCORING_LAG),
}
"""The metrics without labels of one service's own state or work, by service: defined here, exported only by that
service's processes (export_owned). Registered on import, every process exported them, 0 or empty where they mean
nothing (the gateway's `chibo_rejections_open 0` beside meetings' 67), for a dashboard summing or reading the wrong
service to be misled."""

_exported: set[tuple[int, int]] = set()


def export_owned(service: str, registry: CollectorRegistry = REGISTRY) -> None:
    """Register the metrics `service` owns (OWNED; none for another name) on `registry`, once however often a
    process builds the service's app."""
    for collector in OWNED.get(service, ()):
        key = (id(registry), id(collector))
        if key not in _exported:
            registry.register(collector)
            _exported.add(key)


_known_types: frozenset[str] | None = None


def type_label(event_type: object) -> str:
    """A bounded `type` label: a contract type, `batch`, `rpc`, or `other`."""
    global _known_types
    if _known_types is None:
        from shared.contracts.registry import REGISTRY as EVENT_TYPES

        _known_types = frozenset(EVENT_TYPES) | {"batch", "rpc"}
    return event_type if isinstance(event_type, str) and event_type in _known_types else OTHER


GaugeReader = Callable[[asyncpg.Connection], Awaitable[None]]


async def read_outbox_gauges(conn: asyncpg.Connection, service: str) -> None:
    """Set the outbox gauges (pending, lag, failing, parked) of the schema on the connection's search path."""
    from shared.ops.outbox import outbox_health

    health = await outbox_health(conn)
    failing = await conn.fetchval(
        "SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL AND attempts > 0"
    )
    OUTBOX_PENDING.labels(service).set(health["pending"])
    OUTBOX_OLDEST_AGE.labels(service).set(health["oldest_pending_seconds"])
    OUTBOX_FAILING.labels(service).set(failing)
    OUTBOX_PARKED.labels(service).set(health["parked"])


async def read_queue_gauges(channel: Any, queues: Sequence[str]) -> None:
    """Set depth and consumer gauges of the named queues (passive declares; a missing queue is skipped)."""
    from shared.topology import queue_depths

    for name in queues:
        try:
            depth = (await queue_depths(channel, [name]))[name]
        except Exception as exc:  # a queue not declared yet closes the channel: stop here, next scrape retries
            log.warning("metrics_queue_unavailable", queue=name, error=repr(exc))
            return
        QUEUE_MESSAGES.labels(name).set(depth["messages"])
        QUEUE_CONSUMERS.labels(name).set(depth["consumers"])


async def render_metrics(
    *,
    service: str,
    pool: asyncpg.Pool | None,
    broker_connection: Any,
    queues: Sequence[str],
    readers: Sequence[GaugeReader] = (),
    registry: CollectorRegistry = REGISTRY,
    timeout: float = 5.0,
) -> tuple[bytes, str]:
    """Refresh the state gauges (bounded by `timeout`), then the exposition text and its content type."""
    try:
        async with asyncio.timeout(timeout):
            if pool is not None:
                async with pool.acquire() as conn:
                    await read_outbox_gauges(conn, service)
                    for reader in readers:
                        await reader(conn)
            if broker_connection is not None and queues:
                channel = await side_channel(broker_connection)  # a missing queue closes it (shared.probes)
                try:
                    await read_queue_gauges(channel, queues)
                finally:
                    if not channel.is_closed:
                        await channel.close()
    except Exception as exc:  # stale gauges beat no metrics at all: the counters still answer
        log.warning("metrics_refresh_failed", error=repr(exc))  # `service`: the emitting one (shared.logs)
    return generate_latest(registry), CONTENT_TYPE_LATEST
