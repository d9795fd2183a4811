"""`python -m shared.ops`: the operators' command line (CHIBO_AMQP_URL and CHIBO_DATABASE_URL as the services).

    python -m shared.ops dead-letters list [--queue Q] [--limit N] [--offset N]
    python -m shared.ops dead-letters replay --queue Q [--limit N] [--event-id ID]
    python -m shared.ops dead-letters purge --queue Q --yes
    python -m shared.ops outbox status --service S
    python -m shared.ops outbox list --service S [--limit N] [--offset N]
    python -m shared.ops outbox replay --service S (--id N ... | --all)
    python -m shared.ops held list [--limit N] [--offset N]
    python -m shared.ops held retry --source S --event-id ID
    python -m shared.ops held drop --source S --event-id ID --reason TEXT

Each prints JSON; the exit code is 0, 1 when the held event named is not held (not found), or 2 for a wrong argument.
`held retry` and `held drop` ask meetings over its RPC, as POST /v1/held-events/retry and /drop do (so meetings must
be running and CHIBO_AMQP_URL's user be one of its CHIBO_RPC_CALLERS, such as the gateway's), and are audited like
them: a row in gateway.audit_log (sub `cli:<login>`, method `CLI`, the API's path, the status the API would answer).
"""

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import asyncpg
from faststream.rabbit import RabbitBroker

from shared.config import ServiceSettings
from shared.contracts import meetings_rpc
from shared.ops.dead_letters import (
    DEAD_LETTER_QUEUES,
    dead_letter_counts,
    list_dead_letters,
    purge_dead_letters,
    replay_dead_letters,
)
from shared.ops.outbox import list_parked, outbox_health, replay_parked
from shared.rpc import Request, RpcClient, RpcError

SERVICES = ("meetings", "evaluation", "notifications")


def count(text: str) -> int:
    """A whole number ≥ 0 given on the command line (a --limit or --offset); ArgumentTypeError otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is below 0")
    return value


def page_arguments(command: argparse.ArgumentParser, *, limit: int) -> None:
    """--limit and --offset of a listing (the listing's position from its start, as the API's `offset`)."""
    command.add_argument("--limit", type=count, default=limit)
    command.add_argument("--offset", type=count, default=0, help="how many of the listing to skip")


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    root = argparse.ArgumentParser(prog="python -m shared.ops", description="Recover what failed.")
    areas = root.add_subparsers(dest="area", required=True)

    dead = areas.add_parser("dead-letters", help="dead-letter queues").add_subparsers(dest="action", required=True)
    listing = dead.add_parser("list", help="counts of every queue, or the first messages of one")
    listing.add_argument("--queue", choices=DEAD_LETTER_QUEUES)
    page_arguments(listing, limit=20)
    replay = dead.add_parser("replay", help="publish dead letters back to the queue they died in")
    replay.add_argument("--queue", choices=DEAD_LETTER_QUEUES, required=True)
    replay.add_argument("--limit", type=count)
    replay.add_argument("--event-id")
    purge = dead.add_parser("purge", help="drop every message of a dead-letter queue")
    purge.add_argument("--queue", choices=DEAD_LETTER_QUEUES, required=True)
    purge.add_argument("--yes", action="store_true", required=True, help="confirm")

    outbox = areas.add_parser("outbox", help="a service's outbox").add_subparsers(dest="action", required=True)
    status = outbox.add_parser("status", help="pending, lag, parked")
    status.add_argument("--service", choices=SERVICES, required=True)
    parked = outbox.add_parser("list", help="parked rows, oldest first")
    parked.add_argument("--service", choices=SERVICES, required=True)
    page_arguments(parked, limit=50)
    again = outbox.add_parser("replay", help="put parked rows back in line")
    again.add_argument("--service", choices=SERVICES, required=True)
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=int, action="append", dest="ids")
    which.add_argument("--all", action="store_true")

    held = areas.add_parser("held", help="events meetings holds").add_subparsers(dest="action", required=True)
    held_list = held.add_parser("list", help="held events, oldest first")
    page_arguments(held_list, limit=50)
    retry_held = held.add_parser(
        "retry",
        help="judge a held event again now: accepted, held again (still waiting) or rejected",
        description="Judge a held event again now, as POST /v1/held-events/retry (meetings does it over its RPC; "
        "audited in gateway.audit_log).",
    )
    drop_held = held.add_parser(
        "drop",
        help="stop holding an event: it becomes a stored, published rejection with the reason (replayable)",
        description="Stop holding an event, as POST /v1/held-events/drop: it becomes a stored, published rejection "
        "giving the reason, which can still be replayed later (meetings does it over its RPC; audited).",
    )
    for command in (retry_held, drop_held):
        command.add_argument("--source", required=True, help="the held event's source, as `held list` shows it")
        command.add_argument("--event-id", required=True, help="the held event's id, as `held list` shows it")
    drop_held.add_argument("--reason", type=reason, required=True, help="why it is dropped (1-500 characters)")
    return root


def reason(text: str) -> str:
    """A drop's reason: 1 to 500 characters once trimmed, as the API's; ArgumentTypeError otherwise."""
    trimmed = text.strip()
    if not 1 <= len(trimmed) <= 500:
        raise argparse.ArgumentTypeError(f"a reason is 1 to 500 characters (got {len(trimmed)})")
    return trimmed


HELD_PATHS = {"retry": "/v1/held-events/retry", "drop": "/v1/held-events/drop"}
"""The API route each held-event command does the work of (and is audited under)."""
AUDITED_ACTIONS = {"retry": "held_event_retried", "drop": "held_event_dropped"}
"""The audit detail's `action`, as the API writes it (services/gateway/http/recovery.py)."""


class NotFound(Exception):
    """What the command names does not exist (exit code 1)."""


async def held_action(args: argparse.Namespace, settings: ServiceSettings) -> dict[str, Any]:
    """Retry or drop one held event through meetings' RPC, as the API does, and audit it in gateway.audit_log with
    the status the API would answer (200, or 404 when it is not held: NotFound)."""
    request: Request[meetings_rpc.IngestResultReply] = (
        meetings_rpc.RetryHeldEvent(source=args.source, event_id=args.event_id)
        if args.action == "retry"
        else meetings_rpc.DropHeldEvent(source=args.source, event_id=args.event_id, reason=args.reason)
    )
    broker = RabbitBroker(settings.amqp_url, logger=None)
    await broker.start()
    try:
        client = RpcClient(broker, timeout=settings.rpc_timeout, user_id=urlsplit(settings.amqp_url).username or None)
        try:
            reply: dict[str, Any] | None = (await client.call(request)).model_dump(mode="json", exclude_none=True)
        except RpcError as exc:
            if exc.code != "not_found":
                raise
            reply = None
    finally:
        await broker.stop()
    detail: dict[str, Any] = {"action": AUDITED_ACTIONS[args.action], "source": args.source, "event_id": args.event_id}
    detail |= {"reason": args.reason} if args.action == "drop" else {"outcome": reply and reply.get("outcome")}
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": "gateway,public"})
    try:
        await conn.execute(
            "INSERT INTO audit_log (sub, role, method, path, status, client_ip, detail)"
            " VALUES ($1, 'operator', 'CLI', $2, $3, NULL, $4::jsonb)",
            f"cli:{getpass.getuser()}",
            HELD_PATHS[args.action],
            404 if reply is None else 200,
            json.dumps(detail, ensure_ascii=False),
        )
    finally:
        await conn.close()
    if reply is None:
        raise NotFound(f"no held event {args.event_id} from {args.source}")
    return reply


async def run(args: argparse.Namespace, settings: ServiceSettings) -> Any:
    """Carry out one command; its result as JSON-ready data."""
    if args.area == "dead-letters":
        connection = await aio_pika.connect(settings.amqp_url)
        try:
            if args.action == "list" and args.queue is None:
                return await dead_letter_counts(connection, DEAD_LETTER_QUEUES)
            if args.action == "list":
                return await list_dead_letters(connection, args.queue, limit=args.limit, offset=args.offset)
            if args.action == "replay":
                return await replay_dead_letters(connection, args.queue, limit=args.limit, event_id=args.event_id)
            return await purge_dead_letters(connection, args.queue)
        finally:
            await connection.close()
    if args.area == "held" and args.action != "list":
        return await held_action(args, settings)
    schema = "meetings" if args.area == "held" else args.service
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": f"{schema},public"})
    try:
        if args.area == "held":
            rows = await conn.fetch(
                "SELECT source, event_id, type, waiting_for, reason, field, route, held_at::text AS held_at"
                " FROM held_event ORDER BY held_at, source, event_id LIMIT $1 OFFSET $2",
                args.limit,
                args.offset,
            )
            return {"total": await conn.fetchval("SELECT count(*) FROM held_event"), "items": [dict(r) for r in rows]}
        if args.action == "status":
            return await outbox_health(conn)
        if args.action == "list":
            return await list_parked(conn, limit=args.limit, offset=args.offset)
        return {"replayed": await replay_parked(conn, schema=schema, ids=None if args.all else args.ids)}
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run, print the result as JSON; the exit code."""
    args = parser().parse_args(argv)
    try:
        result = asyncio.run(run(args, ServiceSettings()))
    except NotFound as exc:
        sys.stderr.write(f"not found: {exc}\n")
        return 1
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
