"""Waiting until the whole pipeline is quiet: what a test of a running system waits on before it compares figures.

A condition such as "every cell is rated" can hold while later facts are still on their way (a cell rated Poor at 0
before its meeting's score arrived), so a test that read one figure then another saw them disagree. Quiet means
nothing waits anywhere: each consumer queue is empty, no outbox row waits for the relay (a parked one waits for an
operator), no mail waits to be sent, no cell waits to be scored, no org-tree change waits to be applied to the
roll-ups (a committee read meanwhile answers off the tree as last applied, `recalculating`), and the consumers' inboxes
stopped growing over a few polls.
"""

import asyncio
import time
from collections.abc import Sequence

import aio_pika
import asyncpg

from shared.topology import CONSUMER_QUEUES, ConsumerQueue

SCHEMAS = ("meetings", "evaluation", "notifications")


async def backlog(
    amqp_url: str, dsn: str, *, queues: Sequence[ConsumerQueue] = CONSUMER_QUEUES, schemas: Sequence[str] = SCHEMAS
) -> dict[str, int]:
    """What still waits, by place (a queue's name, `<schema>.outbox`, `notifications.delivery`,
    `evaluation.dirty_cell`, `evaluation.subtree_change`): messages or rows, every value 0 when the pipeline is
    quiet."""
    waiting: dict[str, int] = {}
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for queue in queues:
            declared = await channel.declare_queue(queue.name, passive=True)
            waiting[queue.name] = declared.declaration_result.message_count or 0
    finally:
        await connection.close()
    db = await asyncpg.connect(dsn)
    try:
        for schema in schemas:
            # a parked row waits for an operator, not for the relay: the pipeline is quiet beside it
            sql = f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL AND parked_at IS NULL"  # noqa: S608
            waiting[f"{schema}.outbox"] = await db.fetchval(sql)
        if "notifications" in schemas:
            sql = "SELECT count(*) FROM notifications.delivery WHERE status = 'pending'"
            waiting["notifications.delivery"] = await db.fetchval(sql)
        if "evaluation" in schemas:  # evaluation scores what facts noted dirty after they commit
            waiting["evaluation.dirty_cell"] = await db.fetchval("SELECT count(*) FROM evaluation.dirty_cell")
            # and applies noted tree changes in its refresh loop: counted until that refresh commits (its delete)
            sql = "SELECT count(*) FROM evaluation.subtree_change"
            waiting["evaluation.subtree_change"] = await db.fetchval(sql)
    finally:
        await db.close()
    return waiting


async def applied_counts(dsn: str, schemas: Sequence[str] = SCHEMAS) -> tuple[int, ...]:
    """How many events each schema's consumers have recorded in their inbox (processed_message), in order."""
    db = await asyncpg.connect(dsn)
    try:
        sql = "SELECT count(*) FROM {}.processed_message"
        return tuple([await db.fetchval(sql.format(schema)) for schema in schemas])
    finally:
        await db.close()


async def wait_quiet(
    amqp_url: str,
    dsn: str,
    *,
    timeout: float,
    settle: int = 3,
    interval: float = 1.0,
    queues: Sequence[ConsumerQueue] = CONSUMER_QUEUES,
    schemas: Sequence[str] = SCHEMAS,
) -> float:
    """Wait until nothing waits (backlog) and the inboxes' counts stayed the same over `settle` polls `interval`
    seconds apart; the seconds it took. TimeoutError after `timeout` seconds, naming what still waited."""
    started = time.monotonic()
    previous: tuple[int, ...] | None = None
    steady = 0
    waiting: dict[str, int] = {}
    while time.monotonic() - started < timeout:
        waiting = await backlog(amqp_url, dsn, queues=queues, schemas=schemas)
        counts = await applied_counts(dsn, schemas)
        if not any(waiting.values()) and counts == previous:
            steady += 1
            if steady >= settle:
                return time.monotonic() - started
        else:
            steady = 0
        previous = counts
        await asyncio.sleep(interval)
    raise TimeoutError(f"not quiet after {timeout} s: { ({place: n for place, n in waiting.items() if n}) }")
