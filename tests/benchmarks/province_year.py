"""Presets `province-year` and `single`: a generated province's year of history through the running services.

The province (units, members, monitors, then every cell's twelve monthly meetings with all their facts) comes
from `python -m services.meetings generate-province --months 12`. `province-year` feeds it through the AMQP
batch route (chibo.ingest, routing key `batch`, 1,000 events a message), `single` the same events one per
message. All four services run as OS processes against a throwaway database and vhost. Figures:
- events/s in: until meetings has taken in every event (its inbox holds each one);
- seconds until every meeting has a final (non-provisional) score and every closed period of every cell
  with meetings has a `score.cell.updated.v1`, watched on chibo.events (single events and batch messages);
- the time of the last score once the results are quiet, peak RSS and CPU seconds per service, events per
  busy core; and the raw baseline (tests/benchmarks/baseline.py) on the same messages, with the ratios.
"""

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from services.meetings.bulk.generate import SOURCE
from shared.envelope import now
from shared.periods import month_of, period_months, periods_of_year
from shared.topology import INGEST_EXCHANGE, declare_topology
from tests.benchmarks.baseline import run_baseline
from tests.benchmarks.harness import (
    Observer,
    Outgoing,
    ProcessMeter,
    batch_messages,
    bench_system,
    publish_messages,
    ratio,
    single_messages,
    wait_until,
)
from tests.benchmarks.profiling import Profiler
from tests.support.env import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL, fresh_database, isolated_vhost

ROOT = Path(__file__).parents[2]
FULL_CELLS = 10_000
MEMBERS_PER_CELL = 17
BATCH_SIZE = 1_000
REPUBLISHED_SHOWN = 40
"""Periods published more than once shown in the figures, each with its messages (a full-scale run may have many)."""
STALL_SECONDS = 300.0
"""No score or period published for this long while some are missing: the run has stalled and stops waiting."""


@dataclass
class Expected:
    """What the results must cover: every meeting scored, every closed period of every cell with meetings."""

    events: int
    meetings: set[str]
    periods: set[tuple[str, str]]


def generate(cells: int, out: Path) -> list[bytes]:
    """Run the meetings generator for `cells` cells and a year of meetings; return the event lines."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "services.meetings",
            "generate-province",
            "--cells",
            str(cells),
            "--members",
            str(cells * MEMBERS_PER_CELL),
            "--months",
            "12",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return out.read_bytes().splitlines()


def expected_results(lines: list[bytes]) -> Expected:
    """The meetings and the closed (cell, period) pairs the events must lead to."""
    meetings: set[str] = set()
    cell_months: dict[str, set[str]] = {}
    created: dict[str, str] = {}
    for line in lines:
        event = json.loads(line)
        if event["type"] == "meeting.scheduled.v1":
            data = event["data"]
            meetings.add(data["meeting_id"])
            cell_months.setdefault(data["cell_id"], set()).add(data["starts_at"][:7])
        elif event["type"] == "org.unit.upserted.v1" and event["data"]["kind"] == "cell":
            month = month_of(datetime.fromisoformat(event["time"]))
            created[event["data"]["id"]] = min(month, created.get(event["data"]["id"], month))
    current = month_of(now())
    # a cell is rated from the month of its first unit snapshot (or first meeting, if earlier): docs/architecture.md
    periods = {
        (cell, period)
        for cell, months in cell_months.items()
        for year in {int(month[:4]) for month in months}
        for period in periods_of_year(year)
        if min(months | {created.get(cell, min(months))}) <= period_months(period)[-1] < current
    }
    return Expected(events=len(lines), meetings=meetings, periods=periods)


def run_chibo(
    messages: list[Outgoing],
    expected: Expected,
    *,
    timeout: float,
    quiet: float,
    profile_dir: Path | None,
) -> dict[str, Any]:
    """Feed the messages into the running system and measure until the results are complete and quiet."""
    with bench_system() as bench:
        amqp_url, dsn, pids = bench.amqp_url, bench.dsn, bench.pids
        profiler = Profiler(profile_dir, pids) if profile_dir else None
        return asyncio.run(
            _measure(amqp_url, dsn, messages, expected, pids, timeout=timeout, quiet=quiet, profiler=profiler)
        )


async def _measure(
    amqp_url: str,
    dsn: str,
    messages: list[Outgoing],
    expected: Expected,
    pids: dict[str, int],
    *,
    timeout: float,
    quiet: float,
    profiler: "Profiler | None",
) -> dict[str, Any]:
    await declare_topology(amqp_url)
    observer = Observer(amqp_url)
    await observer.start()
    conn = await asyncpg.connect(dsn)
    meter = ProcessMeter(pids)
    try:
        meter.begin()
        if profiler is not None:
            profiler.start()
        started = time.monotonic()
        observer.started = started
        publisher = asyncio.create_task(publish_messages(amqp_url, INGEST_EXCHANGE, messages))

        async def taken_in() -> bool:
            count = await conn.fetchval("SELECT count(*) FROM meetings.processed_message WHERE source = $1", SOURCE)
            return int(count) + len(observer.rejections) >= expected.events

        async def covered() -> bool:
            # or stalled: no result for STALL_SECONDS (every batch refused once waited out the whole timeout); the
            # figures then say what is missing and the first rejections say why
            done = expected.meetings <= observer.final_scores.keys() and expected.periods <= observer.periods.keys()
            return done or observer.quiet_for() >= STALL_SECONDS

        in_done, _ = await wait_until(taken_in, timeout=timeout, interval=1.0)
        in_s = time.monotonic() - started
        publish_s = await publisher
        all_done, _ = await wait_until(covered, timeout=timeout, interval=0.5)
        covered_s = time.monotonic() - started

        async def settled() -> bool:
            return observer.quiet_for() >= quiet

        await wait_until(settled, timeout=max(quiet * 3, 60), interval=1.0)
        meter.end()
        if profiler is not None:
            profiler.stop()
        last_s = observer.last_result
        missing_meetings = len(expected.meetings - observer.final_scores.keys())
        missing_periods = len(expected.periods - observer.periods.keys())
        events = expected.events
        republished = [
            (f"{cell} {period}", seen) for (cell, period), seen in observer.period_messages.items() if len(seen) > 1
        ]
        result: dict[str, Any] = {
            "events": events,
            "messages": len(messages),
            "publish_s": round(publish_s, 1),
            "in_s": round(in_s, 1),
            "events_per_s_in": round(events / in_s) if in_done else None,
            "meetings": len(expected.meetings),
            "closed_periods": len(expected.periods),
            "all_scored_s": round(covered_s, 1) if all_done else None,
            "missing_final_scores": missing_meetings,
            "missing_periods": missing_periods,
            "last_score_s": round(last_s, 1),
            "events_per_s_end_to_end": round(events / covered_s) if all_done else None,
            "rejected": len(observer.rejections),
            "first_rejections": observer.rejections[:3],
            "published": dict(sorted(observer.counts.items())),
            # the fan-out (issue 12): how many meetings and (cell, period) pairs the score messages above were about
            "meetings_published": len(observer.scored),
            "periods_published": len(observer.periods),
            # how many were published more than once, and the first REPUBLISHED_SHOWN of them with each message's
            # seconds and what it said: the fan-out's why
            "periods_republished": len(republished),
            "periods_republished_first": dict(republished[:REPUBLISHED_SHOWN]),
            "result_messages": observer.messages,
            "result_batch_messages": observer.batch_messages,
            "outbox_events": await outbox_counts(conn),
            **meter.figures(events=events, seconds=last_s if last_s > 0 else covered_s),
        }
        if profiler is not None:
            result["profile"] = profiler.summary()
        return result
    finally:
        await conn.close()
        await observer.close()


async def outbox_counts(conn: asyncpg.Connection) -> dict[str, dict[str, int]]:
    """The events each service wrote to its outbox during the run, by type: the fan-out one fact causes."""
    counts: dict[str, dict[str, int]] = {}
    for schema in ("meetings", "evaluation", "notifications"):
        rows = await conn.fetch(f"SELECT type, count(*) AS n FROM {schema}.outbox GROUP BY type ORDER BY type")
        counts[schema] = {row["type"]: row["n"] for row in rows}
    return counts


def run_raw_baseline(messages: list[Outgoing], events: int, *, batch: bool, timeout: float) -> dict[str, Any]:
    """The bare aio-pika + asyncpg pipeline on the same messages, in its own vhost and database."""
    with isolated_vhost(DEFAULT_AMQP_URL) as amqp_url, fresh_database(DEFAULT_DATABASE_URL) as dsn:
        return run_baseline(amqp_url, dsn, messages, events=events, batch=batch, timeout=timeout)


def run(
    *, scale: float, single: bool, timeout: float, quiet: float, profile_dir: Path | None, baseline: bool = True
) -> dict[str, Any]:
    """One preset: generate, feed chibo, feed the baseline; the figures and the ratios."""
    cells = max(1, round(FULL_CELLS * scale))
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        lines = generate(cells, Path(workdir) / "province-year.jsonl")
        generated_s = time.perf_counter() - started
    expected = expected_results(lines)
    messages = single_messages(lines) if single else batch_messages(lines, size=BATCH_SIZE)
    del lines
    preset = "single" if single else "province-year"
    print(f"{preset}: {cells} cells, {expected.events} events in {len(messages)} messages", flush=True)
    chibo = run_chibo(messages, expected, timeout=timeout, quiet=quiet, profile_dir=profile_dir)
    raw = run_raw_baseline(messages, expected.events, batch=not single, timeout=timeout) if baseline else {}
    return {
        "preset": preset,
        "cells": cells,
        "generated_s": round(generated_s, 1),
        "chibo": chibo,
        "baseline": raw,
        "ratio": {
            "events_per_s_in": ratio(chibo.get("events_per_s_in"), raw.get("events_per_s_in")),
            "events_per_s_end_to_end": ratio(chibo.get("events_per_s_end_to_end"), raw.get("events_per_s_end_to_end")),
            "events_per_busy_core_s": ratio(chibo.get("events_per_busy_core_s"), raw.get("events_per_busy_core_s")),
        },
    }
