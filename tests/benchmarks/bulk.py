"""Preset `bulk`: a generated province tree (35,000 cells, 600,000 members) through `bulk-load`.

chibo: `python -m services.meetings bulk-load FILE` into a fresh database (its own figures: events/s, peak
RSS). Raw baseline: the same lines with bare asyncpg, in chunks of the same size, each chunk one
transaction copying a row per event and an outbox row per event (COPY): the floor of any loader that
keeps an inbox and an outbox.
"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from tests.benchmarks.harness import ratio
from tests.benchmarks.profiling import Profiler
from tests.support.env import DEFAULT_DATABASE_URL, fresh_database

ROOT = Path(__file__).parents[2]
FULL_CELLS = 35_000
FULL_MEMBERS = 600_000
CHUNK = 20_000


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


def run(*, scale: float, baseline: bool, profile_dir: Path | None = None) -> dict[str, Any]:
    """Generate, bulk-load with chibo (py-spy on the loading process into `profile_dir` when given), load with the
    baseline; the figures and the ratio."""
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
    return {
        "preset": "bulk",
        "cells": cells,
        "members": members,
        "chibo": chibo,
        "baseline": raw,
        "ratio": {"events_per_s": ratio(chibo.get("events_per_second"), raw.get("events_per_second"))},
        **({"profile": profiler.summary()} if profiler is not None else {}),
    }
