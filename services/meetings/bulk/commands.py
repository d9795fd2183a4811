"""The bulk commands of `python -m services.meetings`: generate-province and bulk-load."""

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path

from services.meetings.bootstrap import SERVICE_DIR
from services.meetings.bulk.generate import generate_province
from services.meetings.bulk.load import bulk_load
from services.meetings.config import Settings
from services.meetings.unit_of_work import SCHEMA
from shared.cli import ExtraCommand
from shared.db import apply_migrations, create_pool, ensure_database, migration_files
from shared.logs import configure_logging


def _configure_generate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cells", type=int, default=35_000)
    parser.add_argument("--members", type=int, default=600_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--prefix", default="", help="prepended to every id (units, members, events)")
    parser.add_argument("--out", type=Path, required=True)


def _run_generate(args: argparse.Namespace) -> int:
    if args.cells < 1 or args.members < args.cells:
        print(json.dumps({"error": "need at least one cell and at least one member per cell"}))
        return 2
    started = time.perf_counter()
    with args.out.open("w", encoding="utf-8") as out:
        count = generate_province(out, cells=args.cells, members=args.members, seed=args.seed, prefix=args.prefix)
    print(
        json.dumps({"events": count, "out": str(args.out), "elapsed_seconds": round(time.perf_counter() - started, 1)})
    )
    return 0


def _configure_load(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path)
    parser.add_argument("--chunk-size", type=int, default=20_000)


def _run_load(args: argparse.Namespace) -> int:
    settings = Settings()
    configure_logging(service="meetings", level="WARNING", json=settings.log_json)

    async def run() -> dict[str, object]:
        await ensure_database(settings.database_url)
        await apply_migrations(settings.database_url, schema=SCHEMA, files=migration_files(SERVICE_DIR))
        pool = await create_pool(settings.database_url, schema=SCHEMA, min_size=1, max_size=2)
        try:
            report = await bulk_load(args.file, pool, chunk_size=args.chunk_size)
        finally:
            await pool.close()
        return {
            "events": report.events,
            "outcomes": report.outcomes,
            "elapsed_seconds": round(report.elapsed_seconds, 1),
            "events_per_second": round(report.events_per_second),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }

    print(json.dumps(asyncio.run(run())))
    return 0


BULK_COMMANDS: list[ExtraCommand] = [
    (
        "generate-province",
        "write a generated province (units, members, monitors) as JSON lines",
        _configure_generate,
        _run_generate,
    ),
    (
        "bulk-load",
        "load JSON lines of CloudEvents with set-based SQL (progress, time, events/s, peak RSS)",
        _configure_load,
        _run_load,
    ),
]
