"""The operator methods every service answers (shared/contracts/ops_rpc.py), over the same functions as the CLI.

Dead letters are worked on a connection of the service's own (its broker user is the one allowed to read its
`.dlq` queues), opened per call: operator actions are rare, and a `basic.get` channel stays apart from the
consumers'. Every change is logged with the service, the queue or row, and what it did.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractConnection

from shared.config import ServiceSettings
from shared.contracts import ops_rpc as ops
from shared.logs import get_logger
from shared.ops.dead_letters import (
    LargerThanShown,
    PgSentLetters,
    SentLetters,
    UnsafeToRead,
    list_dead_letters,
    purge_dead_letters,
    replay_dead_letters,
)
from shared.ops.outbox import drop_parked, list_parked, outbox_health, replay_parked
from shared.ops.unrouted import NoUnroutedWatch, return_unrouted
from shared.rpc import RpcError, RpcMethods
from shared.topology import CONSUMER_QUEUES

log = get_logger(__name__)


def dead_letter_queues_of(service: str) -> tuple[str, ...]:
    """The dead-letter queues of one service's consumer queues."""
    return tuple(queue.dead_letter_queue for queue in CONSUMER_QUEUES if queue.service == service)


def add_dead_letter_methods(
    methods: RpcMethods,
    catalog: ops.OpsCatalog,
    *,
    connect: Callable[[], Awaitable[AbstractConnection]],
    replayers: Sequence[str] = (),
    owners: Mapping[str, frozenset[str]] | None = None,
    sent: SentLetters | None = None,
) -> None:
    """Answer list/replay/purge of the service's own dead-letter queues (another name is not_found, naming `queue`)
    and the return of its unrouted copies (shared.ops.unrouted, vouched as the service's own);
    `connect` opens a broker connection that is closed after each call; `replayers` and `owners` (service -> its broker
    users) vouch for the operators' earlier replays, `sent` keeps the letters a replay sent back and could not remove
    (replay_dead_letters; a listing marks them `sent_back`). A purge naming more letters than its listing showed is a
    `conflict` naming `count` (LargerThanShown)."""
    owned = dead_letter_queues_of(catalog.service)

    def check(queue: str) -> str:
        if queue not in owned:
            raise RpcError("not_found", f"no dead-letter queue {queue} in {catalog.service}", field="queue")
        return queue

    async def on(work: Callable[[AbstractConnection], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        try:
            connection = await connect()
        except (aio_pika.exceptions.AMQPError, ConnectionError, OSError) as exc:
            raise RpcError("unavailable", f"the broker did not answer {catalog.service}: {exc!r}") from exc
        try:
            return await work(connection)
        except aio_pika.exceptions.ChannelClosed as exc:  # the queue is not declared (yet)
            raise RpcError("not_found", f"dead-letter queue not declared: {exc}", field="queue") from exc
        except UnsafeToRead as exc:  # reading it would drop dead letters: refused, saying what to do instead
            raise RpcError("conflict", str(exc), field="queue") from exc
        except LargerThanShown as exc:  # more died by then than the listing showed: nothing deleted, said why
            raise RpcError("conflict", str(exc), field=exc.field) from exc
        finally:
            await connection.close()

    async def list_(request: ops.ListDeadLetters) -> dict[str, Any]:
        queue = check(request.queue)
        return await on(
            lambda connection: list_dead_letters(
                connection, queue, limit=request.limit, offset=request.offset, sent=sent
            )
        )

    async def replay(request: ops.ReplayDeadLetters) -> dict[str, Any]:
        queue = check(request.queue)
        result = await on(
            lambda connection: replay_dead_letters(
                connection,
                queue,
                limit=request.limit,
                event_id=request.event_id,
                message_id=request.message_id,
                key=request.key,
                replay_id=request.replay_id,
                replayers=replayers,
                owners=owners,
                sent=sent,
            )
        )
        log.info(
            "dead_letters_replayed",
            queue=queue,
            replayed=result["replayed"],
            kept=result["kept"],
            event_id=request.event_id,
            message_id=request.message_id,
            key=request.key,
            replay_id=request.replay_id,
            limit=request.limit,
            removed=result.get("removed", 0),
            unremoved=result.get("unremoved", 0),
        )
        return result

    async def purge(request: ops.PurgeDeadLetters) -> dict[str, Any]:
        queue = check(request.queue)
        result = await on(
            lambda connection: purge_dead_letters(
                connection, queue, through=request.through, most=request.most, newest=request.newest
            )
        )
        log.warning(
            "dead_letters_purged",
            queue=queue,
            purged=result["purged"],
            kept=result.get("kept", 0),
            through=request.through.isoformat() if request.through else None,
            most=request.most,
            newest=request.newest,
        )
        return result

    async def return_(request: ops.ReturnUnrouted) -> dict[str, Any]:
        async def work(connection: AbstractConnection) -> dict[str, Any]:
            try:
                return await return_unrouted(connection, catalog.service, dry_run=request.dry_run, vouch=True)
            except NoUnroutedWatch as exc:
                raise RpcError("not_found", str(exc), field="service") from None

        result = await on(work)
        if not request.dry_run:
            log.info("unrouted_returned", queue=result["queue"], moved=result["moved"], left=result["left"])
        return result

    methods.add(catalog.list_dead_letters, list_)
    methods.add(catalog.return_unrouted, return_)
    methods.add(catalog.replay_dead_letters, replay)
    methods.add(catalog.purge_dead_letters, purge)


def add_outbox_methods(methods: RpcMethods, catalog: ops.OpsCatalog, *, pool: asyncpg.Pool, schema: str) -> None:
    """Answer the outbox's status, the parked rows' list, their replay (some or all) and the drop of one."""

    async def status(request: ops.GetOutboxStatus) -> dict[str, Any]:
        async with pool.acquire() as conn:
            return await outbox_health(conn)

    async def list_(request: ops.ListParkedRows) -> dict[str, Any]:
        async with pool.acquire() as conn:
            return await list_parked(conn, limit=request.limit, offset=request.offset, after=request.after)

    async def replay(request: ops.ReplayParkedRows) -> dict[str, Any]:
        async with pool.acquire() as conn:
            result = await replay_parked(conn, schema=schema, ids=request.ids)
        log.info(
            "outbox_rows_replayed",
            replayed=result["replayed"],
            missing=result["missing"][:50],
            ids=request.ids[:50] if request.ids else "all",
        )
        return result

    async def drop(request: ops.DropParkedRow) -> dict[str, Any]:
        async with pool.acquire() as conn:
            row = await drop_parked(conn, row_id=request.id)
        if row is None:
            raise RpcError("not_found", f"no parked outbox row {request.id}", field="id")
        log.warning(
            "outbox_row_dropped",
            row_id=row["id"],
            dropped_event_id=row["event_id"],
            dropped_type=row["type"],
            parked_reason=row["parked_reason"],
            reason=request.reason,
            payload_preview=row["payload_preview"],
        )
        return row

    methods.add(catalog.outbox_status, status)
    methods.add(catalog.list_parked_rows, list_)
    methods.add(catalog.replay_parked_rows, replay)
    methods.add(catalog.drop_parked_row, drop)


def add_ops_methods(
    methods: RpcMethods, catalog: ops.OpsCatalog, *, pool: asyncpg.Pool, settings: ServiceSettings
) -> None:
    """Both sets for a service: its dead letters (over its own broker credentials; the operators' earlier replays
    vouched for as CHIBO_SYSTEM_PUBLISHERS' and the event's owner's: first_publisher) and its outbox (its schema)."""
    add_dead_letter_methods(
        methods,
        catalog,
        connect=lambda: aio_pika.connect(settings.amqp_url, timeout=10),
        replayers=tuple(settings.system_publishers),
        owners=settings.event_publishers_of(),
        sent=PgSentLetters(pool),
    )
    add_outbox_methods(methods, catalog, pool=pool, schema=catalog.service)
