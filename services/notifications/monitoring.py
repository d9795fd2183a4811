"""What the notifications service tells its operators about deliveries that keep failing: /health's attention lines
and the /metrics gauges (a mail server that is down leaves e-mails pending with SMTPConnectError, retried for ever)."""

from typing import Any

import asyncpg

from shared.metrics import DELIVERIES_RETRYING, DELIVERIES_RETRYING_OLDEST_AGE

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


async def retrying_deliveries(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Per channel with any: {"channel", "waiting", "oldest" (s), "last_error"} of deliveries pending after a failed
    attempt, on the notifications schema of the connection's search path."""
    return [dict(row) for row in await conn.fetch(RETRYING_SQL)]


async def delivery_attention(conn: asyncpg.Connection) -> list[str]:
    """/health's lines for deliveries waiting on a failing channel, e.g. `3 email deliveries waiting on the mail
    server (SMTP), failing for 95 s: SMTPConnectError(...)`; none when every delivery went through."""
    return [
        f"{row['waiting']} {row['channel']} deliveries waiting on {CHANNEL_WORDS.get(row['channel'], row['channel'])},"
        f" failing for {row['oldest']:.0f} s: {str(row['last_error'])[:ERROR_SHOWN]}"
        for row in await retrying_deliveries(conn)
    ]


async def read_gauges(conn: asyncpg.Connection) -> None:
    """Set chibo_deliveries_retrying and its oldest age per channel (0 for a channel with none), each scrape."""
    rows = {row["channel"]: row for row in await retrying_deliveries(conn)}
    for channel in sorted({*CHANNEL_WORDS, *rows}):
        row = rows.get(channel)
        DELIVERIES_RETRYING.labels(channel).set(row["waiting"] if row else 0)
        DELIVERIES_RETRYING_OLDEST_AGE.labels(channel).set(row["oldest"] if row else 0)
