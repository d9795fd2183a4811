"""What the notifications service tells its operators about deliveries that keep failing: /health's attention lines
and the /metrics gauges (a mail server that is down leaves e-mails pending with SMTPConnectError, retried for ever).

A channel is named as failing (attention line, `chibo_delivery_channel_failing`, the operations page) only once its
failures persist: its failed attempts, with no successful one between them, span at least
CHIBO_DELIVERY_FAILING_SECONDS (ChannelWatch). One transient SMTP hiccup, retried successfully, alarms nobody; every
failed attempt is still logged (`delivery_retry_planned`, `delivery_failed`) and counted
(`chibo_notification_deliveries_total`, `chibo_deliveries_retrying`)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared.logs import get_logger
from shared.metrics import DELIVERIES_RETRYING, DELIVERIES_RETRYING_OLDEST_AGE, DELIVERY_CHANNEL_FAILING

log = get_logger(__name__)

RETRYING_SQL = (
    "SELECT channel, count(*) AS waiting,"
    " coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest,"
    " (array_agg(last_error ORDER BY next_attempt_at DESC))[1] AS last_error"
    " FROM delivery WHERE status = 'pending' AND attempts > 0 AND last_error IS NOT NULL"
    " GROUP BY channel ORDER BY channel"
)
"""Per channel: deliveries pending after a failed attempt, the age of the oldest (s) and the latest error."""

CHANNEL_WORDS = {"email": "the mail server (SMTP)", "webhook": "the webhook receiver"}
ERROR_SHOWN = 200
"""Characters of the latest error an attention line quotes."""


@dataclass
class _Run:
    """A channel's current run of failed attempts: its first and latest failure, how many, the latest error."""

    first: datetime
    latest: datetime
    failures: int
    error: str


class ChannelWatch:
    """Per channel, the failed attempts since its last successful one: the channel is failing once they span at least
    `failing_seconds` (CHIBO_DELIVERY_FAILING_SECONDS; 0: from the first failure) and clears on its next success.
    Times are the unit of work's clock; one watch per service (build_spec), fed by each recorded round."""

    def __init__(self, failing_seconds: float) -> None:
        self.failing_seconds = failing_seconds
        self._runs: dict[str, _Run] = {}

    def saw(self, attempts: Iterable[tuple[str, str | None]], *, now: datetime) -> None:
        """Take one round's attempts, (channel, error or None when sent): a channel with any success in the round is
        cleared, one with only failures extends its run (logging `delivery_channel_failing` when it becomes failing
        and `delivery_channel_recovered` when a failing one is cleared)."""
        failed: dict[str, tuple[int, str]] = {}
        succeeded: set[str] = set()
        for channel, error in attempts:
            if error is None:
                succeeded.add(channel)
            else:
                failed[channel] = (failed.get(channel, (0, ""))[0] + 1, error)
        for channel in succeeded:
            run = self._runs.pop(channel, None)
            if run is not None and self._spans(run):
                log.info("delivery_channel_recovered", channel=channel, failures=run.failures)
        for channel, (count, error) in failed.items():
            if channel in succeeded:
                continue
            run = self._runs.get(channel)
            if run is None:
                self._runs[channel] = run = _Run(now, now, 0, error)
            was_failing = self._spans(run)
            run.latest, run.failures, run.error = max(run.latest, now), run.failures + count, error
            if not was_failing and self._spans(run):
                log.warning(
                    "delivery_channel_failing",
                    channel=channel,
                    failures=run.failures,
                    failing_seconds=round((run.latest - run.first).total_seconds()),
                    error=error,
                )

    def failing(self) -> dict[str, int]:
        """The failing channels and the failed attempts of each one's current run."""
        return {channel: run.failures for channel, run in self._runs.items() if self._spans(run)}

    def _spans(self, run: _Run) -> bool:
        return (run.latest - run.first).total_seconds() >= self.failing_seconds

    async def attention(self, conn: asyncpg.Connection) -> list[str]:
        """/health's lines for the failing channels only (delivery_attention's)."""
        failing = self.failing()
        if not failing:
            return []
        lines = await delivery_attention(conn, channels=failing)
        for channel in sorted(failing):  # its deliveries all gave up meanwhile: the channel still fails
            if not any(line.split(" ", 2)[1] == channel for line in lines):
                run = self._runs[channel]
                lines.append(
                    f"{channel} deliveries failing on {CHANNEL_WORDS.get(channel, channel)}: {run.failures} failed"
                    f" attempts since the last success: {run.error[:ERROR_SHOWN]}"
                )
        return lines

    async def gauges(self, conn: asyncpg.Connection) -> None:
        """read_gauges, and chibo_delivery_channel_failing (1 or 0) per channel, each scrape."""
        await read_gauges(conn)
        failing = self.failing()
        for channel in sorted({*CHANNEL_WORDS, *failing}):
            DELIVERY_CHANNEL_FAILING.labels(channel).set(1 if channel in failing else 0)


async def retrying_deliveries(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Per channel with any: {"channel", "waiting", "oldest" (s), "last_error"} of deliveries pending after a failed
    attempt, on the notifications schema of the connection's search path."""
    return [dict(row) for row in await conn.fetch(RETRYING_SQL)]


async def delivery_attention(conn: asyncpg.Connection, *, channels: Iterable[str] | None = None) -> list[str]:
    """/health's lines for deliveries waiting on a failing channel, e.g. `3 email deliveries waiting on the mail
    server (SMTP), failing for 95 s: SMTPConnectError(...)`, of `channels` only when given; none when every delivery
    went through."""
    wanted = None if channels is None else set(channels)
    return [
        f"{row['waiting']} {row['channel']} deliveries waiting on {CHANNEL_WORDS.get(row['channel'], row['channel'])},"
        f" failing for {row['oldest']:.0f} s: {str(row['last_error'])[:ERROR_SHOWN]}"
        for row in await retrying_deliveries(conn)
        if wanted is None or row["channel"] in wanted
    ]


async def read_gauges(conn: asyncpg.Connection) -> None:
    """Set chibo_deliveries_retrying and its oldest age per channel (0 for a channel with none), each scrape."""
    rows = {row["channel"]: row for row in await retrying_deliveries(conn)}
    for channel in sorted({*CHANNEL_WORDS, *rows}):
        row = rows.get(channel)
        DELIVERIES_RETRYING.labels(channel).set(row["waiting"] if row else 0)
        DELIVERIES_RETRYING_OLDEST_AGE.labels(channel).set(row["oldest"] if row else 0)
