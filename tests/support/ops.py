"""`python -m shared.ops` run as an operator runs it (its own process, CHIBO_* from the test's broker and database),
and a dead letter put where the command line finds it."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel

ROOT = Path(__file__).parents[2]


def run_ops(amqp_url: str, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line run as an operator runs it, in its own process (at most 120 s)."""
    return subprocess.run(
        [sys.executable, "-m", "shared.ops", *args],
        cwd=ROOT,
        env={**os.environ, "CHIBO_AMQP_URL": amqp_url, "CHIBO_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ops(amqp_url: str, database_url: str, *args: str) -> Any:
    """run_ops, asserting it succeeded; its JSON answer."""
    result = run_ops(amqp_url, database_url, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def publish_dead_letter(channel: AbstractChannel, queue: str, event_id: str) -> None:
    """A meeting.scheduled.v1 `event_id` rejected by `queue`'s consumer, put straight into its `<queue>.dlq`."""
    await channel.default_exchange.publish(
        aio_pika.Message(
            json.dumps({"id": event_id, "type": "meeting.scheduled.v1"}).encode(),
            headers={"x-first-death-queue": queue, "x-first-death-reason": "rejected"},
            message_id=event_id,
        ),
        routing_key=f"{queue}.dlq",
    )
