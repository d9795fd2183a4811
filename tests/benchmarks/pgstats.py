"""PostgreSQL's side of a province-year run: backend CPU per service, WAL, and the statements that cost it (issue 12).

    uv run python -m tests.benchmarks.pgstats [--scale S] [--single] [--json FILE] [--top N]

Runs the `province-year` preset (tests/benchmarks/province_year.py, no baseline; with `--single` the `single` preset:
the same events one per message) with, over the same measured window:
- the CPU seconds (utime + stime from /proc) of the PostgreSQL backends connected to the run's throwaway database,
  sampled every 0.3 s so a backend that leaves still counts, split by the service process that owns the client end
  of each connection (psutil), `other` for the benchmark's own probes;
- pg_stat_statements of that database (created there; reset for its dbid at the start, after a CHECKPOINT so that
  full-page images come only from checkpoints during the run): per statement calls, total_exec_time (lock waits
  included: advisory locks rank high without costing CPU), rows, shared_blks_dirtied, wal_bytes, wal_fpi;
- pg_stat_database's tuple counters and each schema's outbox size;
- per index of the service schemas, the scans and tuples read during the run and its size (pg_stat_user_indexes), so
  an index that a hot insert table maintains and nobody reads shows as 0 scans; the time spent in advisory-lock
  statements (their total_exec_time is mostly waiting).
The server must preload pg_stat_statements (`shared_preload_libraries`); without it the statement figures are empty.
"""

import argparse
import asyncio
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from tests.benchmarks import province_year
from tests.benchmarks.harness import batch_messages, bench_system, single_messages

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STATEMENT_KEYS = ("calls", "total_exec_time", "wal_bytes", "rows", "shared_blks_dirtied")
COUNTERS = ("calls", "total_exec_time", "rows", "shared_blks_dirtied", "wal_bytes", "wal_records", "wal_fpi")
STATEMENTS_EVERY = 15
"""Samples (0.3 s apart) between two reads of pg_stat_statements: a server shared with other work evicts entries
(pg_stat_statements.max) and an evicted entry's counts are gone, so each entry's last read is kept and added up when
it disappears or starts again from zero."""
STATEMENTS_SQL = (
    "SELECT userid, queryid, toplevel, {text} AS query, calls, total_exec_time, rows, shared_blks_dirtied,"
    " wal_bytes, wal_records, wal_fpi FROM pg_stat_statements({show}) WHERE dbid = $1"
)


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process in seconds (/proc/PID/stat), None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class PgMeter:
    """Backend CPU and pg_stat_statements of one database between begin() and end()."""

    conn: asyncpg.Connection
    service_pids: dict[str, int]
    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)
    ports: dict[int, int | None] = field(default_factory=dict)
    dbid: int = 0
    statements_ok: bool = True
    current: dict[tuple[int, int, bool], dict[str, Any]] = field(default_factory=dict)
    banked: dict[tuple[int, int, bool], dict[str, Any]] = field(default_factory=dict)
    evicted: int = 0
    _stop: bool = False
    _task: "asyncio.Task[None] | None" = None
    _db_start: dict[str, int] = field(default_factory=dict)
    _index_start: dict[str, int] = field(default_factory=dict)

    async def _backends(self) -> list[int]:
        rows = await self.conn.fetch(
            "SELECT pid, client_port FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        for row in rows:
            self.ports[row["pid"]] = row["client_port"]
        return [row["pid"] for row in rows]

    async def _database_counters(self) -> dict[str, int]:
        row = await self.conn.fetchrow(
            "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, blks_hit, blks_read"
            " FROM pg_stat_database WHERE datid = $1",
            self.dbid,
        )
        return dict(row) if row else {}

    async def begin(self) -> None:
        """Start counting: a checkpoint, the statements reset for this database, each backend's CPU now."""
        self.dbid = await self.conn.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()")
        try:
            await self.conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await self.conn.execute("CHECKPOINT")
            await self.conn.execute("SELECT pg_stat_statements_reset(0, $1::oid, 0)", self.dbid)
        except asyncpg.PostgresError:
            self.statements_ok = False
        for pid in await self._backends():
            cpu = process_cpu_seconds(pid)
            if cpu is not None:
                self.first[pid] = self.last[pid] = cpu
        self._db_start = await self._database_counters()
        self._index_start = {name: row["scans"] for name, row in (await index_usage(self.conn)).items()}
        self._task = asyncio.get_running_loop().create_task(self._sample())

    async def _read_statements(self, *, text: bool = False) -> None:
        """Read this database's entries; bank the last counts of each entry evicted (or reset) since the last read."""
        if not self.statements_ok:
            return
        sql = STATEMENTS_SQL.format(
            text="left(regexp_replace(query, '\\s+', ' ', 'g'), 240)" if text else "queryid::text",
            show="true" if text else "false",
        )
        rows = await self.conn.fetch(sql, self.dbid)
        now = {(row["userid"], row["queryid"], row["toplevel"]): dict(row) for row in rows}
        for key, old in self.current.items():
            new = now.get(key)
            if new is None or new["calls"] < old["calls"]:
                bank = self.banked.setdefault(key, {"query": old["query"], **dict.fromkeys(COUNTERS, 0)})
                for name in COUNTERS:
                    bank[name] += old[name]
                self.evicted += 1
        self.current = now

    def _statements(self) -> list[dict[str, Any]]:
        """Each statement's counts over the run: its banked counts plus its current entry's."""
        merged: dict[tuple[int, int, bool], dict[str, Any]] = {}
        for source in (self.banked, self.current):
            for key, entry in source.items():
                total = merged.setdefault(key, {"query": entry["query"], **dict.fromkeys(COUNTERS, 0)})
                if key in self.current:
                    total["query"] = self.current[key]["query"]
                for name in COUNTERS:
                    total[name] += entry[name]
        return [
            {
                **entry,
                "total_exec_time": round(float(entry["total_exec_time"]), 1),
                "wal_bytes": int(entry["wal_bytes"]),
            }
            for entry in merged.values()
        ]

    async def _sample(self) -> None:
        samples = 0
        while not self._stop:
            samples += 1
            if samples % STATEMENTS_EVERY == 0:
                await self._read_statements()
            for pid in await self._backends():
                cpu = process_cpu_seconds(pid)
                if cpu is not None:
                    self.first.setdefault(pid, 0.0)  # a backend born during the run: all its CPU counts
                    self.last[pid] = cpu
            await asyncio.sleep(0.3)

    def _owners(self) -> dict[int, str]:
        """Local TCP port → the service whose process (or child) holds it."""
        owners: dict[int, str] = {}
        for name, pid in self.service_pids.items():
            try:
                root = psutil.Process(pid)
                for process in [root, *root.children(recursive=True)]:
                    for connection in process.net_connections(kind="tcp"):
                        if connection.laddr:
                            owners[connection.laddr.port] = name
            except psutil.Error:
                continue
        return owners

    async def end(self, *, top: int = 15) -> dict[str, Any]:
        """Stop sampling; the figures: backend CPU (total, by service), WAL, tuple counters, top statements."""
        owners = self._owners()
        self._stop = True
        if self._task is not None:
            await self._task
        by_service: dict[str, float] = {}
        for pid, cpu in self.last.items():
            port = self.ports.get(pid)
            name = owners.get(port, "other") if port is not None else "other"
            by_service[name] = by_service.get(name, 0.0) + cpu - self.first.get(pid, 0.0)
        counters = await self._database_counters()
        await self._read_statements(text=True)
        statements = self._statements()
        return {
            "backend_cpu_s": round(sum(by_service.values()), 2),
            "backend_cpu_s_by_service": {name: round(value, 2) for name, value in sorted(by_service.items())},
            "exec_ms": round(sum(s["total_exec_time"] for s in statements)),
            "calls": sum(s["calls"] for s in statements),
            "wal_bytes": sum(s["wal_bytes"] for s in statements),
            "wal_records": sum(s["wal_records"] for s in statements),
            "wal_fpi": sum(s["wal_fpi"] for s in statements),
            "statement_entries_evicted": self.evicted,
            "database": {name: counters[name] - self._db_start.get(name, 0) for name in counters},
            "outbox": await outbox_sizes(self.conn),
            "advisory_locks": sorted(
                (
                    {"query": s["query"][:120], "calls": s["calls"], "total_exec_time": s["total_exec_time"]}
                    for s in statements
                    if "advisory" in s["query"] and "lock" in s["query"]
                ),
                key=lambda s: -float(s["total_exec_time"]),
            ),
            "indexes": {
                name: {**row, "scans": row["scans"] - self._index_start.get(name, 0)}
                for name, row in sorted((await index_usage(self.conn)).items())
            },
            "top": {
                key: sorted(statements, key=lambda s, key=key: -float(s[key]))[:top]  # type: ignore[misc]
                for key in STATEMENT_KEYS
            },
        }


async def index_usage(conn: asyncpg.Connection) -> dict[str, dict[str, int]]:
    """Per index of the service schemas (`schema.table.index`): scans so far, tuples read, size in bytes."""
    rows = await conn.fetch(
        "SELECT schemaname || '.' || relname || '.' || indexrelname AS name, idx_scan AS scans,"
        " idx_tup_read AS tuples, pg_relation_size(indexrelid) AS bytes FROM pg_stat_user_indexes"
        " WHERE schemaname IN ('meetings', 'evaluation', 'notifications')"
    )
    return {row["name"]: {"scans": row["scans"], "tuples": row["tuples"], "bytes": row["bytes"]} for row in rows}


async def outbox_sizes(conn: asyncpg.Connection) -> dict[str, dict[str, int]]:
    """Per service schema: outbox rows, mean payload and row bytes, table and index bytes."""
    sizes: dict[str, dict[str, int]] = {}
    for schema in ("meetings", "evaluation", "notifications"):
        row = await conn.fetchrow(
            "SELECT count(*) AS rows, coalesce(avg(pg_column_size(payload)), 0)::int AS payload_bytes,"  # noqa: S608
            " coalesce(avg(pg_column_size(t.*)), 0)::int AS row_bytes,"
            f" pg_table_size('{schema}.outbox') AS table_bytes,"
            f" pg_indexes_size('{schema}.outbox') AS index_bytes FROM {schema}.outbox AS t"
        )
        sizes[schema] = dict(row) if row else {}
    return sizes


async def _measured(bench: Any, messages: Any, expected: Any, *, timeout: float, quiet: float, top: int) -> Any:
    conn = await asyncpg.connect(bench.dsn)
    try:
        meter = PgMeter(conn, bench.pids)
        await meter.begin()
        result = await province_year._measure(  # noqa: SLF001 (the preset's own measuring, unchanged)
            bench.amqp_url, bench.dsn, messages, expected, bench.pids, timeout=timeout, quiet=quiet, profiler=None
        )
        result["postgres"] = await meter.end(top=top)
        # statements (BEGIN and COMMIT included) the services sent per event ingested, the round trips to cut
        result["postgres"]["calls_per_event"] = round(result["postgres"]["calls"] / max(1, result["events"]), 3)
        return result
    finally:
        await conn.close()


def run(*, scale: float, timeout: float, quiet: float, top: int, single: bool = False) -> dict[str, Any]:
    """province-year (`single`: the single preset, one event per message) at `scale` with the PostgreSQL figures
    under "postgres"."""
    cells = max(1, round(province_year.FULL_CELLS * scale))
    with tempfile.TemporaryDirectory() as workdir:
        lines = province_year.generate(cells, Path(workdir) / "province-year.jsonl")
    expected = province_year.expected_results(lines)
    messages = single_messages(lines) if single else batch_messages(lines, size=province_year.BATCH_SIZE)
    preset = "single" if single else "province-year"
    print(f"pgstats {preset}: {cells} cells, {expected.events} events in {len(messages)} messages", flush=True)
    started = time.perf_counter()
    with bench_system() as bench:
        result = asyncio.run(_measured(bench, messages, expected, timeout=timeout, quiet=quiet, top=top))
    return {"preset": preset, "cells": cells, "wall_s": round(time.perf_counter() - started, 1), **result}


def main() -> None:
    """Run once and print the figures (JSON)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.03)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--quiet", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=15, help="statements listed per ranking")
    parser.add_argument("--single", action="store_true", help="one event per message (the single preset)")
    parser.add_argument("--json", type=Path, help="also write the figures to FILE")
    args = parser.parse_args()
    result = run(scale=args.scale, timeout=args.timeout, quiet=args.quiet, top=args.top, single=args.single)
    text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    print(text, flush=True)


if __name__ == "__main__":
    main()
