"""`python -m shared.ops`: the operators' command line (CHIBO_AMQP_URL and CHIBO_DATABASE_URL as the services).

    python -m shared.ops dead-letters list [--queue Q] [--limit N] [--offset N]
    python -m shared.ops dead-letters replay --queue Q [--limit N] [--event-id ID]
    python -m shared.ops dead-letters purge --queue Q --yes
    python -m shared.ops outbox status --service S
    python -m shared.ops outbox list --service S [--limit N] [--offset N]
    python -m shared.ops outbox replay --service S (--id N ... | --all)
    python -m shared.ops held list [--limit N] [--offset N]

Each prints JSON; the exit code is 0, or 2 for a wrong argument.
"""

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

import aio_pika
import asyncpg

from shared.config import ServiceSettings
from shared.ops.dead_letters import (
    DEAD_LETTER_QUEUES,
    dead_letter_counts,
    list_dead_letters,
    purge_dead_letters,
    replay_dead_letters,
)
from shared.ops.outbox import list_parked, outbox_health, replay_parked

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
    return root


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
    result = asyncio.run(run(args, ServiceSettings()))
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
