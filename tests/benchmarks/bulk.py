"""Preset `bulk`: a generated province tree (35,000 cells, 600,000 members) through `bulk-load`.

chibo: `python -m services.meetings bulk-load FILE` into a fresh database (its own figures: events/s, peak
RSS). Raw baseline: the same lines with bare asyncpg, in chunks of the same size, each chunk one
transaction copying a row per event and an outbox row per event (COPY): the floor of any loader that
keeps an inbox and an outbox.

Versus the batch route: a province with six months of meetings (100 cells, 18 members a cell, at any scale; the trial of
issue 12 that found `bulk-load` half as fast as 1,000-event batches) loaded by `bulk-load` (its own `elapsed_seconds`:
no process start-up, no migrations, the closing ANALYZE included; the command's wall beside it) and by meetings' AMQP
batch route in-process (tests/benchmarks/meetings_ingest.one_pass: `ingest_delivery` of 1,000-event bodies, no broker,
no evaluation), each into a fresh database, alternated `repeat` times; the ratio of the medians, bulk ÷ batch seconds,
has the target ≤ 1 (users expect the bulk route to be at least as fast).
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from shared.logs import configure_logging
from tests.benchmarks.harness import ratio
from tests.benchmarks.meetings_ingest import one_pass
from tests.benchmarks.profiling import Profiler
from tests.benchmarks.targets import target
from tests.support.env import DEFAULT_DATABASE_URL, fresh_database

ROOT = Path(__file__).parents[2]
FULL_CELLS = 35_000
FULL_MEMBERS = 600_000
CHUNK = 20_000
HISTORY_CELLS = 100
HISTORY_MEMBERS_PER_CELL = 18
HISTORY_MONTHS = 6
BATCH_EVENTS = 1_000
VERSUS_BATCH_TARGET = 1.0
"""bulk-load's seconds ÷ the batch route's on the same file, at most (issue 12)."""


async def raw_load(dsn: str, path: Path) -> dict[str, Any]:
    """COPY every line into a fact table and an outbox table, one transaction per chunk."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE fact (source text, id text, type text, data jsonb, PRIMARY KEY (source, id));"
            "CREATE TABLE outbox (id bigserial PRIMARY KEY, type text, payload jsonb, published_at timestamptz)"
        )
        started = time.perf_counter()
        events = 0
        with path.open("rb") as lines:
            while True:
                chunk = [line for _, line in zip(range(CHUNK), lines, strict=False)]
                if not chunk:
                    break
                parsed = [json.loads(line) for line in chunk]
                async with conn.transaction():
                    await conn.copy_records_to_table(
                        "fact",
                        records=[(e["source"], e["id"], e["type"], json.dumps(e["data"])) for e in parsed],
                        columns=["source", "id", "type", "data"],
                    )
                    await conn.copy_records_to_table(
                        "outbox",
                        records=[(e["type"], line.decode().strip()) for e, line in zip(parsed, chunk, strict=True)],
                        columns=["type", "payload"],
                    )
                events += len(chunk)
        elapsed = time.perf_counter() - started
        return {"events": events, "elapsed_seconds": round(elapsed, 1), "events_per_second": round(events / elapsed)}
    finally:
        await conn.close()


def bulk_load_once(path: Path) -> dict[str, Any]:
    """`bulk-load FILE` as a command into a fresh database: its JSON figures and its wall-s (start-up included)."""
    with fresh_database(DEFAULT_DATABASE_URL) as dsn:
        started = time.perf_counter()
        loading = subprocess.run(
            [sys.executable, "-m", "services.meetings", "bulk-load", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "CHIBO_DATABASE_URL": dsn},
            check=True,
        )
        wall = time.perf_counter() - started
    return json.loads(loading.stdout.strip().splitlines()[-1]) | {"wall_s": round(wall, 2)}


def versus_batch(*, repeat: int) -> dict[str, Any]:
    """A province with months of meetings through `bulk-load` and through the batch route, alternated `repeat` times:
    each run's seconds and load average, the medians, and the ratio bulk ÷ batch with its target."""
    cells = HISTORY_CELLS  # whatever the scale: a few hundred events measure bulk-load's fixed costs (staging, ANALYZE)
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "history.jsonl"
        subprocess.run(
            [sys.executable, "-m", "services.meetings", "generate-province", "--cells", str(cells)]
            + ["--members", str(cells * HISTORY_MEMBERS_PER_CELL), "--months", str(HISTORY_MONTHS), "--out", str(path)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        lines = path.read_bytes().splitlines()
        bodies = [b"[" + b",".join(lines[i : i + BATCH_EVENTS]) + b"]" for i in range(0, len(lines), BATCH_EVENTS)]
        runs: list[dict[str, Any]] = []
        for _ in range(max(1, repeat)):
            bulk = bulk_load_once(path)
            runs.append({"route": "bulk", "seconds": bulk["elapsed_seconds"], "wall_s": bulk["wall_s"]})
            runs[-1]["load"] = round(os.getloadavg()[0], 1)
            batch = asyncio.run(one_pass(DEFAULT_DATABASE_URL, bodies, counting=False))
            runs.append({"route": "batch", "seconds": batch["wall_s"], "load": round(os.getloadavg()[0], 1)})
    bulk_s = statistics.median(run["seconds"] for run in runs if run["route"] == "bulk")
    batch_s = statistics.median(run["seconds"] for run in runs if run["route"] == "batch")
    over = ratio(bulk_s, batch_s)
    return {
        "cells": cells,
        "events": len(lines),
        "runs": runs,
        "bulk_s": bulk_s,
        "batch_s": batch_s,
        "bulk_wall_s": statistics.median(run["wall_s"] for run in runs if run["route"] == "bulk"),
        "bulk_over_batch_s": over,
        # checked at every scale: this province is HISTORY_CELLS cells whatever the scale, so the ratio is scale-free
        "target": target(over, VERSUS_BATCH_TARGET, full_size=True, scale=1.0)
        | {"note": f"checked at every scale (a {cells}-cell province at any scale)"},
    }


def run(*, scale: float, baseline: bool, profile_dir: Path | None = None, repeat: int = 3) -> dict[str, Any]:
    """Generate, bulk-load with chibo (py-spy on the loading process into `profile_dir` when given), load with the
    baseline; the figures and the ratio."""
    # the batch route runs in this process (versus_batch): its info lines (an event_accepted per event, 23,154 at
    # --scale 0.005) drowned the figures; the services of the other presets log at WARNING too
    configure_logging(service="meetings", level="WARNING")
    cells = max(1, round(FULL_CELLS * scale))
    members = max(cells, round(FULL_MEMBERS * scale))
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "province.jsonl"
        subprocess.run(
            [sys.executable, "-m", "services.meetings", "generate-province", "--cells", str(cells)]
            + ["--members", str(members), "--out", str(path)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        with fresh_database(DEFAULT_DATABASE_URL) as dsn:
            started = time.perf_counter()
            loading = subprocess.Popen(
                [sys.executable, "-m", "services.meetings", "bulk-load", str(path)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env={**os.environ, "CHIBO_DATABASE_URL": dsn},
            )
            profiler = Profiler(profile_dir, {"bulk-load": loading.pid}) if profile_dir else None
            if profiler is not None:
                profiler.start()
            stdout, _ = loading.communicate()
            wall = time.perf_counter() - started
            if profiler is not None:
                profiler.stop()
            if loading.returncode:
                raise subprocess.CalledProcessError(loading.returncode, loading.args, stdout)
        chibo = json.loads(stdout.strip().splitlines()[-1]) | {"wall_s": round(wall, 1)}
        raw: dict[str, Any] = {}
        if baseline:
            with fresh_database(DEFAULT_DATABASE_URL) as dsn:
                raw = asyncio.run(raw_load(dsn, path))
    history = versus_batch(repeat=repeat)
    return {
        "preset": "bulk",
        "cells": cells,
        "members": members,
        "chibo": chibo,
        "baseline": raw,
        "versus_batch": {key: value for key, value in history.items() if key != "target"},
        "ratio": {"events_per_s": ratio(chibo.get("events_per_second"), raw.get("events_per_second"))},
        "targets": {"bulk_over_batch_s": history["target"]},  # printed: bulk ÷ batch seconds, target ≤ 1
        **({"profile": profiler.summary()} if profiler is not None else {}),
    }
