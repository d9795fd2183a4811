"""In-process micro-benchmark of meetings' batch ingest (issue 12): CPU-s and statements per 1,000-event batch.

    .venv/bin/python -m tests.benchmarks.meetings_ingest [--cells 60] [--repeat 3] [--database-url URL] [--json FILE]

A generated province (`generate-province`, 17 members a cell, 12 months; cached under the temp directory) is cut
into 1,000-event batch bodies, as the province-year preset publishes them, and each repetition ingests them one
after the other through `handlers.ingest_delivery` (the AMQP batch route) into a fresh database, then drops it.
Process CPU (user + system) covers only the ingest; the statements each unit of work's connection sends
(asyncpg's query logger, BEGIN excluded: it goes before the logger is on) are counted in one more, separate pass,
so the logger's own cost stays out of the CPU figures. `pg_cpu_s`: the CPU-s of the PostgreSQL backends serving
each pass (from /proc, when the server runs on this machine), the server's side of the same work. Other builders
on the machine move wall time, not CPU much.
"""

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from services.meetings import handlers
from services.meetings.bootstrap import SERVICE_DIR
from services.meetings.unit_of_work import SCHEMA, MeetingsUnitOfWork
from shared.db import apply_migrations, create_pool, migration_files
from shared.envelope import BATCH_CONTENT_TYPE
from tests.benchmarks.province_year import BATCH_SIZE, generate
from tests.support.env import DEFAULT_DATABASE_URL

INTROSPECTION = ("typeinfo_tree", "current_setting('jit')", "set_config('jit'")
"""asyncpg's own look-ups of a type a connection meets first (once per connection, not per batch)."""


class CountingUnitOfWork(MeetingsUnitOfWork):
    """A unit of work noting each statement its connection sends into `sent` (shared by every unit of a pass)."""

    sent: list[str] = []

    def start_repositories(self, connection: asyncpg.Connection) -> None:
        """Build the repositories and start noting the connection's statements."""
        super().start_repositories(connection)
        connection.add_query_logger(self._note)

    def _note(self, record: Any) -> None:
        if not any(mark in record.query for mark in INTROSPECTION):
            CountingUnitOfWork.sent.append(" ".join(record.query.split()))

    async def __aexit__(self, *exc: Any) -> None:
        self.connection.remove_query_logger(self._note)
        await super().__aexit__(*exc)


def batch_bodies(cells: int) -> tuple[list[bytes], int]:
    """The province's events as 1,000-event batch bodies (generated once per cell count), and the event count."""
    path = Path(tempfile.gettempdir()) / f"chibo-meetings-ingest-{cells}.jsonl"
    lines = path.read_bytes().splitlines() if path.exists() else generate(cells, path)
    bodies = [b"[" + b",".join(lines[i : i + BATCH_SIZE]) + b"]" for i in range(0, len(lines), BATCH_SIZE)]
    return bodies, len(lines)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


async def backends_cpu(admin: asyncpg.Connection, database: str) -> float | None:
    """CPU-s (user + system) the PostgreSQL backends connected to `database` have used, read from /proc (the server
    on this machine; None when it is not, or /proc cannot tell): a pass's pool is its only client, so this is the
    server's share of the pass (its statements' planning and execution), beside the process's own CPU-s."""
    pids = [row["pid"] for row in await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)]
    ticks = [_ticks(pid) for pid in pids]
    return None if not ticks or None in ticks else round(sum(t or 0 for t in ticks) / CLOCK_TICKS, 3)


def _ticks(pid: int) -> int | None:
    """User + system clock ticks of process `pid` (fields 14 and 15 of /proc/PID/stat), None when unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


async def one_pass(base_url: str, bodies: list[bytes], *, counting: bool) -> dict[str, Any]:
    """Ingest every body, in order, into a fresh database; its CPU-s, wall-s and (counting) statements."""
    name = f"chibo_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(urlunsplit(urlsplit(base_url)._replace(path="/postgres")))
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = urlunsplit(urlsplit(base_url)._replace(path="/" + name))
    try:
        await apply_migrations(dsn, schema=SCHEMA, files=migration_files(SERVICE_DIR))
        pool = await create_pool(dsn, schema=SCHEMA, min_size=1, max_size=5)
        try:
            unit = CountingUnitOfWork if counting else MeetingsUnitOfWork
            CountingUnitOfWork.sent = []
            outcomes: Counter[str] = Counter()
            cpu, wall = time.process_time(), time.perf_counter()
            for body in bodies:
                results = await handlers.ingest_delivery(
                    body,
                    lambda: unit(pool),
                    batch=True,
                    route="amqp",
                    content_type=BATCH_CONTENT_TYPE,
                    routing_key="batch",
                )
                outcomes.update(result.outcome for result in results)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            figures: dict[str, Any] = {"cpu_s": round(cpu, 3), "wall_s": round(wall, 3), "outcomes": dict(outcomes)}
            figures["pg_cpu_s"] = await backends_cpu(admin, name)
            if counting:
                sent = CountingUnitOfWork.sent
                figures["statements"] = len(sent)
                figures["statements_per_batch"] = round(len(sent) / len(bodies), 1)
                figures["by_statement"] = Counter(query[:90] for query in sent).most_common(40)
            return figures
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(base_url: str, cells: int, repeat: int) -> dict[str, Any]:
    """`repeat` timed passes and one counting pass over the same batches."""
    bodies, events = batch_bodies(cells)
    passes = [await one_pass(base_url, bodies, counting=False) for _ in range(repeat)]
    counted = await one_pass(base_url, bodies, counting=True)
    cpu = [figures["cpu_s"] for figures in passes]
    pg_cpu = [figures["pg_cpu_s"] for figures in passes]
    return {
        "cells": cells,
        "events": events,
        "batches": len(bodies),
        "cpu_s": cpu,
        "cpu_s_median": statistics.median(cpu),
        "pg_cpu_s": pg_cpu,
        "pg_cpu_s_median": statistics.median(pg_cpu) if None not in pg_cpu else None,
        "us_cpu_per_event_median": round(statistics.median(cpu) / events * 1e6),
        "wall_s": [figures["wall_s"] for figures in passes],
        "outcomes": passes[0]["outcomes"],
        "statements": counted["statements"],
        "statements_per_batch": counted["statements_per_batch"],
        "by_statement": counted["by_statement"],
    }


def main() -> None:
    """Parse the options, run, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=60, help="cells of the generated province (136 events each)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="server (and database) to use")
    parser.add_argument("--json", type=Path, help="also write the figures to FILE (the service logs share stdout)")
    args = parser.parse_args()
    figures = json.dumps(asyncio.run(run(args.database_url, args.cells, args.repeat)), indent=1, ensure_ascii=False)
    print(figures)
    if args.json:
        args.json.write_text(figures)


if __name__ == "__main__":
    main()
