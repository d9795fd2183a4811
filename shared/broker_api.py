"""A queue's backlog as the broker counts it, not as its consumer reports it: RabbitMQ's management HTTP API
(`GET /api/queues/{vhost}?columns=...`: messages_ready, messages_unacknowledged, consumers, ack and deliver rates).

A consumer's own backlog figures (shared.backlog) come from its process, so a frozen or hung process reports none
exactly when its queue fills: a trial's `kill -STOP` of meetings left `meetings.ingest : 0 · 1` on the operations
page while 5 batch messages sat unacknowledged. A passive queue declare gives only the ready count and the consumers;
the management API also gives the messages delivered and not yet acknowledged, and the rates. Its address defaults to
the AMQP host's port 15672 with the AMQP URL's user, password and virtual host (deploy/infra.sh enables the plugin);
when it does not answer, callers fall back to passive declares (unacknowledged then unknown).

The broker samples these figures every 5 s, so asking more often learns nothing: `queue_figures` keeps an answer (or
its absence) for FRESH_SECONDS per address, and callers asking at once share one request; a figure shown is at most
OLDEST_SECONDS old. One render of the operations page asked it twice, one after the other, each up to 2 s under load."""

import asyncio
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
from cachetools import TTLCache

from shared.config import broker_user_of, vhost_of
from shared.logs import get_logger

log = get_logger(__name__)

MANAGEMENT_PORT = 15672
COLUMNS = ",".join(
    (
        "name",
        "messages_ready",
        "messages_unacknowledged",
        "consumers",
        "message_stats.ack_details.rate",
        "message_stats.deliver_get_details.rate",
    )
)


FRESH_SECONDS = 5.0
"""How long an answer of the management API is reused."""
SAMPLE_SECONDS = 5.0
"""How often RabbitMQ samples a queue's statistics (its `collect_statistics_interval` default, 5,000 ms)."""
OLDEST_SECONDS = FRESH_SECONDS + SAMPLE_SECONDS
"""How old a figure of the management API shown at once can be (the operations page says it)."""


@dataclass(frozen=True)
class BrokerQueue:
    """One queue as the broker counts it: messages ready and delivered-not-acknowledged (a batch message of up to
    1,000 events counts once), consumers, and acknowledgements and deliveries per second (the broker's last sample)."""

    name: str
    ready: int
    unacknowledged: int
    consumers: int
    acks_per_second: float | None
    delivers_per_second: float | None


def management_url(amqp_url: str, configured: str | None = None) -> str | None:
    """The management API's base URL: `configured` when given ("" or "off": none), else `http://<amqp host>:15672`."""
    if configured is not None:
        return None if configured.strip() in ("", "off") else configured.rstrip("/")
    host = urlsplit(amqp_url).hostname or "127.0.0.1"
    return f"http://{host}:{MANAGEMENT_PORT}"


def _rate(stats: Any, key: str) -> float | None:
    found = (stats or {}).get(key) if isinstance(stats, dict) else None
    rate = found.get("rate") if isinstance(found, dict) else None
    return float(rate) if isinstance(rate, int | float) else None


_answers: "TTLCache[tuple[str, str, float], asyncio.Future[dict[str, BrokerQueue] | None]]" = TTLCache(
    maxsize=64, ttl=FRESH_SECONDS, timer=time.monotonic
)


async def queue_figures(amqp_url: str, api_url: str | None, *, timeout: float = 2.0) -> dict[str, BrokerQueue] | None:
    """Every queue of the AMQP URL's virtual host by name, read with the URL's credentials from the management API at
    `api_url`; None when there is none, or it does not answer, refuses the login or answers something else (logged).
    An answer is reused for FRESH_SECONDS, and callers asking while it is on its way wait for the same request."""
    if not api_url:
        return None
    key = (amqp_url, api_url, timeout)
    answer = _answers.get(key)
    if answer is None or answer.cancelled() or answer.get_loop() is not asyncio.get_running_loop():
        answer = asyncio.ensure_future(_read_figures(amqp_url, api_url, timeout=timeout))
        _answers[key] = answer
    return await asyncio.shield(answer)


def forget_figures() -> None:
    """Drop every kept answer of the management API: the next `queue_figures` asks the broker again."""
    _answers.clear()


async def _read_figures(amqp_url: str, api_url: str, *, timeout: float) -> dict[str, BrokerQueue] | None:
    parts = urlsplit(amqp_url)
    auth = (broker_user_of(amqp_url), unquote(parts.password or "guest"))
    url = f"{api_url}/api/queues/{quote(vhost_of(amqp_url), safe='')}"
    try:
        async with httpx.AsyncClient(timeout=timeout, auth=auth) as client:
            response = await client.get(url, params={"columns": COLUMNS, "disable_stats": "false"})
        response.raise_for_status()
        rows = response.json()
        found = {
            str(row["name"]): BrokerQueue(
                name=str(row["name"]),
                ready=int(row.get("messages_ready") or 0),
                unacknowledged=int(row.get("messages_unacknowledged") or 0),
                consumers=int(row.get("consumers") or 0),
                acks_per_second=_rate(row.get("message_stats"), "ack_details"),
                delivers_per_second=_rate(row.get("message_stats"), "deliver_get_details"),
            )
            for row in rows
        }
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.info("broker_api_unavailable", url=url, error=repr(exc)[:300])
        return None
    return found
