"""The bulk commands of `python -m services.meetings`: generate-province and bulk-load."""

import argparse
import asyncio
import itertools
import json
import resource
import sys
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from services.meetings.bootstrap import SERVICE_DIR
from services.meetings.bulk.csv_input import CSV_SOURCE, TABLES, CsvFormatError, count_rows, csv_events
from services.meetings.bulk.generate import generate_province, months_back
from services.meetings.bulk.load import bulk_load_lines, count_lines, read_lines
from services.meetings.config import Settings
from services.meetings.unit_of_work import SCHEMA
from shared.cli import ExtraCommand
from shared.db import apply_migrations, create_pool, ensure_database, migration_files
from shared.envelope import now
from shared.logs import configure_logging


def _configure_generate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cells", type=int, default=35_000)
    parser.add_argument("--members", type=int, default=600_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--prefix", default="", help="prepended to every id (units, members, events)")
    parser.add_argument("--months", type=int, default=0, help="months of meetings per cell after the tree (0: none)")
    parser.add_argument("--through", help="the last month of meetings, YYYY-MM (default: the last closed month)")
    parser.add_argument("--out", type=Path, required=True)


def _run_generate(args: argparse.Namespace) -> int:
    if args.cells < 1 or args.members < args.cells:
        print(json.dumps({"error": "need at least one cell and at least one member per cell"}))
        return 2
    if args.months < 0:
        print(json.dumps({"error": "months: give 0 or more"}))
        return 2
    if args.through is not None:
        try:
            months_back(args.through, 0)
        except ValueError as exc:
            print(json.dumps({"error": str(exc)}))
            return 2
    started = time.perf_counter()
    with args.out.open("w", encoding="utf-8") as out:
        count = generate_province(
            out,
            cells=args.cells,
            members=args.members,
            seed=args.seed,
            prefix=args.prefix,
            months=args.months,
            through=args.through,
        )
    print(
        json.dumps({"events": count, "out": str(args.out), "elapsed_seconds": round(time.perf_counter() - started, 1)})
    )
    return 0


def _configure_load(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, nargs="?", help="JSON lines of CloudEvents")
    for table in TABLES:
        parser.add_argument(f"--{table}", type=Path, help=f"a CSV table of {table} (headers: the contract's fields)")
    parser.add_argument("--as-of", type=datetime.fromisoformat, help="the time of the CSV rows' snapshots (now)")
    parser.add_argument("--source", default=CSV_SOURCE, help="the source of the CSV rows' events")
    parser.add_argument("--chunk-size", type=int, default=20_000)


def _load_input(args: argparse.Namespace) -> tuple[Iterable[str], int] | str:
    """The lines to load and their count, or why the arguments cannot be loaded."""
    tables = [(table, getattr(args, table)) for table in TABLES if getattr(args, table) is not None]
    if (args.file is None) == (not tables):
        return "give either a JSON-lines FILE or CSV tables (--units, --members, --monitors)"
    if args.file is not None:
        return read_lines(args.file), count_lines(args.file)
    at = args.as_of or now()
    if at.tzinfo is None:
        return "--as-of needs a UTC offset, e.g. 2026-11-01T08:00:00+07:00"
    lines = itertools.chain.from_iterable(
        csv_events(path, table=table, source=args.source, at=at) for table, path in tables
    )
    return lines, sum(count_rows(path) for _, path in tables)


def _run_load(args: argparse.Namespace) -> int:
    settings = Settings()
    # at the services' level (CHIBO_LOG_LEVEL, INFO unless set): each line's event_accepted, event_duplicate or
    # event_rejected line on stderr (an operator finds one event of a load by its id), the summary alone on stdout
    configure_logging(service="meetings", level=settings.log_level, json=settings.log_json)
    loadable = _load_input(args)
    if isinstance(loadable, str):
        print(json.dumps({"error": loadable}))
        return 2
    lines, total = loadable

    async def run() -> dict[str, object]:
        await ensure_database(settings.database_url)
        await apply_migrations(settings.database_url, schema=SCHEMA, files=migration_files(SERVICE_DIR))
        pool = await create_pool(settings.database_url, schema=SCHEMA, min_size=1, max_size=2)
        try:
            # the progress bar on a terminal only: into a file or a pipe its redraws cut into the JSON log lines
            report = await bulk_load_lines(
                lines, pool, total=total, chunk_size=args.chunk_size, progress=sys.stderr.isatty()
            )
        finally:
            await pool.close()
        return {
            "events": report.events,
            "outcomes": report.outcomes,
            "held_then": report.held_then,
            "final": report.final,
            "elapsed_seconds": round(report.elapsed_seconds, 1),
            "events_per_second": round(report.events_per_second),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "analyzed": [
                {"table": table.table, "planned_rows": table.planned_rows, "seconds": table.seconds}
                for table in report.analyzed
            ],
        }

    try:
        print(json.dumps(asyncio.run(run())))
    except (CsvFormatError, OSError) as exc:  # rows before the fault are loaded; loading again finds them duplicate
        print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        return 2
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
        "load JSON lines of CloudEvents or CSV tables with set-based SQL (progress, time, events/s, peak RSS)",
        _configure_load,
        _run_load,
    ),
]
