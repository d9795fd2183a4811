"""Preset `rollup`, its exports: a committee officer's report downloads (CSV, PDF) over a province of 35,000 cells.

A generated province (tests/benchmarks/bulk.py's tree: `generate-province`, one member a cell) goes in through
`bulk-load` while the four services run; once evaluation knows every unit, the last closed month's cell results are
written straight into evaluation's `cell_period` (as tests/evaluation/bench_rollup.py seeds its schema: random
scores, 95 % of the cells rated, the rest Poor without a meeting). Then an officer of the province signs in to the
web app and downloads the province root's and the largest commune's `report.csv` and `report.pdf`, each timed, with
the peak RSS of the gateway and evaluation processes while it runs (and its jump over the RSS before it). Raw
baseline: bare asyncpg reading the same subtree's rows (cell, name, the month's figures) and Python's csv module
writing them: the floor of any CSV export of those rows. The province's PDF (a summary: its figures by directly
subordinate unit and its 50 weakest cells) has its own raw baseline: bare asyncpg summing each child's cells in one
query and reading the 50 weakest in another, and ReportLab drawing both tables of plain strings. Last, the
province root's `/v1` roll-up for the month, a quarter and a half-year (`api_rollup`, api_rollups), no baseline.
"""

import argparse
import asyncio
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from reportlab.lib.pagesizes import A4
from reportlab.platypus import SimpleDocTemplate, Table

from services.evaluation.queries import refresh_subtrees
from services.gateway.config import GatewaySettings
from services.gateway.web.cli import create_web_account
from services.gateway.web.pdf import fonts
from services.meetings.bulk.generate import last_closed_month
from tests.benchmarks.harness import BenchSystem, bench_system, ratio, wait_until
from tests.benchmarks.profiling import Profiler
from tests.evaluation.bench_rollup import seed_half_years
from tests.support.quiet import wait_quiet
from tests.support.system import issue_token

ROOT = Path(__file__).parents[2]
FULL_CELLS = 35_000
PASSWORD = "mật-khẩu-đo-2026"
OFFICER = "bench-officer"
ROOT_UNIT = "prov"


async def seed_periods(dsn: str, period: str) -> None:
    """The month's results of every cell evaluation knows, straight into its tables (bench_rollup.seed's shape)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "evaluation,public"})
    try:
        await conn.execute(
            "INSERT INTO cell_period (cell_id, period, rating, score, regular_held, thematic_held, present, counted,"
            " speakers_present, months_counted, months_with_regular, flags)"
            " SELECT id, $1, CASE WHEN s >= 90 THEN 'good' WHEN s >= 70 THEN 'fair' WHEN s >= 50 THEN 'average'"
            "  ELSE 'poor' END, s, (s > 20)::int, (s > 60)::int, 15, 18, 7, 1, (s > 20)::int,"
            "  CASE WHEN s < 3 THEN '{provisional}'::text[] ELSE '{}'::text[] END"
            " FROM (SELECT id, (random() * 100)::float8 AS s FROM unit WHERE kind = 'cell') cells"
            " WHERE random() < 0.95",
            period,
        )
        # the generated tree is dated now, so evaluation dates each cell from this month (cell_span): date them from
        # the month seeded, as a province loaded before it would be
        await conn.execute("UPDATE cell_span SET first_month = $1 WHERE first_month > $1", period)
        await conn.execute("ANALYZE unit; ANALYZE cell_period")
        # the tree's noted changes applied now (as bench_rollup does), not by the first download's read: under
        # load that read outlasted the gateway's RPC timeout (a 503 for the first report)
        await refresh_subtrees(conn)
    finally:
        await conn.close()


async def largest_commune(dsn: str) -> tuple[str, int]:
    """The province's direct sub-committee with the most cells, and their count (from meetings' tree)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "evaluation,public"})
    try:
        row = await conn.fetchrow(
            "SELECT s.ancestor_id, count(*) AS cells FROM subtree_cell s JOIN unit u ON u.id = s.ancestor_id"
            " WHERE u.parent_id = $1 AND u.kind = 'committee' GROUP BY s.ancestor_id ORDER BY cells DESC, 1 LIMIT 1",
            ROOT_UNIT,
        )
        return str(row["ancestor_id"]), int(row["cells"])
    finally:
        await conn.close()


async def bare_csv(dsn: str, unit: str, period: str) -> float:
    """Seconds for bare asyncpg + csv to write the subtree's rows for the period (the baseline)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "evaluation,public"})
    try:
        started = time.perf_counter()
        rows = await conn.fetch(
            "SELECT s.cell_id, u.name, p.score, p.rating, p.regular_held, p.thematic_held, p.present, p.counted,"
            " p.speakers_present FROM subtree_cell s JOIN unit u ON u.id = s.cell_id"
            " LEFT JOIN cell_period p ON p.cell_id = s.cell_id AND p.period = $2"
            " WHERE s.ancestor_id = $1 ORDER BY p.score DESC NULLS LAST, s.cell_id",
            unit,
            period,
        )
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        for row in rows:
            writer.writerow(list(row.values()))
        buffer.getvalue().encode("utf-8-sig")
        return time.perf_counter() - started
    finally:
        await conn.close()


SUMMARY_UNITS = """
SELECT u.id, u.name, count(*) AS cells, round(avg(coalesce(p.score, 0))::numeric, 2) AS score,
       count(*) FILTER (WHERE p.rating = 'good') AS good, count(*) FILTER (WHERE p.rating = 'fair') AS fair,
       count(*) FILTER (WHERE p.rating = 'average') AS average,
       count(*) FILTER (WHERE coalesce(p.rating, 'poor') = 'poor') AS poor
FROM unit u JOIN subtree_cell s ON s.ancestor_id = u.id
LEFT JOIN cell_period p ON p.cell_id = s.cell_id AND p.period = $2
WHERE u.parent_id = $1
GROUP BY u.id, u.name ORDER BY u.id
"""
"""The bare baseline's figures per directly subordinate unit: cells, mean score, cells per rating (none stored:
Poor)."""

SUMMARY_WEAKEST = """
SELECT s.cell_id, u.name, coalesce(p.score, 0) AS score, coalesce(p.rating, 'poor') AS rating, p.regular_held,
       p.thematic_held, p.present, p.counted, p.speakers_present
FROM subtree_cell s JOIN unit u ON u.id = s.cell_id
LEFT JOIN cell_period p ON p.cell_id = s.cell_id AND p.period = $2
WHERE s.ancestor_id = $1 AND coalesce(p.rating, 'poor') IN ('poor', 'average')
ORDER BY array_position(ARRAY['poor', 'average'], coalesce(p.rating, 'poor')), coalesce(p.score, 0), s.cell_id
LIMIT 50
"""
"""The bare baseline's 50 weakest cells of the subtree (Poor first, then the lower score)."""


async def bare_summary_pdf(dsn: str, unit: str, period: str) -> float:
    """Seconds for bare asyncpg + ReportLab to draw a large committee's summary PDF (the baseline): its children's
    figures and its 50 weakest cells, each one query, as two tables of plain strings in the DejaVu font."""
    fonts()  # registered once per process, as the gateway's first PDF does
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "evaluation,public"})
    try:
        started = time.perf_counter()
        units = await conn.fetch(SUMMARY_UNITS, unit, period)
        weakest = await conn.fetch(SUMMARY_WEAKEST, unit, period)
        tables = [
            Table([[str(value) for value in row.values()] for row in rows], style=[("FONT", (0, 0), (-1, -1), "Sans")])
            for rows in (units, weakest)
            if rows
        ]
        buffer = io.BytesIO()
        SimpleDocTemplate(buffer, pagesize=A4).build(tables)
        buffer.getvalue()
        return time.perf_counter() - started
    finally:
        await conn.close()


async def bulk_load(bench: BenchSystem, path: Path) -> None:
    """`python -m services.meetings bulk-load` of the events file `path` into the bench system, in chunks of 5,000;
    RuntimeError with its output's end when it exits other than 0."""
    loading = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.meetings",
        "bulk-load",
        str(path),
        "--chunk-size",
        "5000",  # a 20,000-event chunk outlasted the pool's 60 s command timeout on a loaded 2-core machine
        cwd=ROOT,
        env={**os.environ, "CHIBO_DATABASE_URL": bench.dsn, "CHIBO_AMQP_URL": bench.amqp_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await loading.communicate()
    if loading.returncode:
        raise RuntimeError(f"bulk-load exited {loading.returncode}: {(out + err).decode()[-2000:]}")


async def create_officer(bench: BenchSystem) -> None:
    """The web account OFFICER (PASSWORD), a committee officer of the province root, that `signed_in` signs in."""
    settings = GatewaySettings(database_url=bench.dsn, amqp_url=bench.amqp_url)
    account = argparse.Namespace(
        sub=OFFICER,
        role="committee_officer",
        unit=ROOT_UNIT,
        person=None,
        password=PASSWORD,
        oidc_subject=None,
        oidc_email=None,
    )
    await create_web_account(settings, account)


@asynccontextmanager
async def signed_in(gateway_url: str, timeout: float) -> AsyncIterator[httpx.AsyncClient]:
    """The officer's browser-like client (session cookie kept)."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=timeout) as client:
        form = await client.get("/app/sign-in")
        csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        response = await client.post(
            "/app/sign-in", data={"username": OFFICER, "password": PASSWORD, "csrf": csrf, "next": "/app/"}
        )
        if response.status_code != 303:
            raise RuntimeError(f"sign-in refused: {response.status_code} {response.text[:500]}")
        yield client


def rss_mb(pid: int) -> float:
    """The resident set of a process and its children now, MB."""
    try:
        root = psutil.Process(pid)
        return sum(process.memory_info().rss for process in [root, *root.children(recursive=True)]) / 2**20
    except psutil.NoSuchProcess:
        return 0.0


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process and its children have used so far."""
    try:
        root = psutil.Process(pid)
        times = [process.cpu_times() for process in [root, *root.children(recursive=True)]]
    except psutil.NoSuchProcess:
        return 0.0
    return sum(t.user + t.system for t in times)


async def download(client: httpx.AsyncClient, pids: dict[str, int], path: str) -> dict[str, Any]:
    """GET `path` (read to its end), timed; bytes, the CPU seconds each process spent on it, and each process's RSS
    before it and its peak while it ran (MB, sampled every 20 ms: a process's VmHWM would carry the peak of an
    earlier download)."""
    before = {name: rss_mb(pid) for name, pid in pids.items()}
    cpu_before = {name: cpu_s(pid) for name, pid in pids.items()}
    peak = dict(before)
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            for name, pid in pids.items():
                peak[name] = max(peak[name], rss_mb(pid))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    size = 0
    try:
        async with client.stream("GET", path) as response:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
        seconds = time.perf_counter() - started
        cpu = {name: round(cpu_s(pid) - cpu_before[name], 2) for name, pid in pids.items()}
    finally:
        done.set()
        await sampler
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code}")
    return {
        "seconds": round(seconds, 2),
        "bytes": size,
        "cpu_s": cpu,
        "rss_before_mb": {name: round(value, 1) for name, value in before.items()},
        "rss_peak_mb": {name: round(value, 1) for name, value in peak.items()},
        "rss_jump_mb": {name: round(peak[name] - before[name], 1) for name in pids},
    }


API_PERIODS = {"quarter": "2026-Q2", "half_year": "2026-H1"}
"""The report periods `api_rollups` times beside the month: a closed quarter and the half-year holding it."""


async def api_rollups(bench: BenchSystem, month: str, *, repeat: int, timeout: float) -> dict[str, Any]:
    """The province root's `/v1/committees/{id}/rollup` (the gateway asking evaluation's RPC) for the month, the
    quarter 2026-Q2 and the half-year 2026-H1, each `repeat` times: median and worst seconds, and each answer's
    status (a refusal is timed as any answer). The quarters and months of 2026-H1 and 2025-H2 (its trend) are seeded
    here (bench_rollup.seed_half_years), after the report downloads, so that those read the rows they read before."""
    conn = await asyncpg.connect(bench.dsn, server_settings={"search_path": "evaluation,public"})
    try:
        # its spans' tree changes applied and its deltas folded: else the first read, the month's /v1 roll-up,
        # applied 35,000 span changes itself and outlasted the 5 s RPC timeout on every call
        # (tests/evaluation/test_bench_rollup_seed.py)
        await seed_half_years(conn)
    finally:
        await conn.close()
    token = issue_token(bench.system, role="committee_officer", unit=ROOT_UNIT, sub="bench-api-officer")
    figures: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=bench.system.gateway_url, timeout=timeout, headers=headers) as client:
        for name, period in {"month": month, **API_PERIODS}.items():
            spent, statuses = [], []
            for _ in range(repeat):
                started = time.perf_counter()
                response = await client.get(f"/v1/committees/{ROOT_UNIT}/rollup", params={"period": period})
                spent.append(time.perf_counter() - started)
                statuses.append(response.status_code)
            figures[f"{name}_s"] = round(statistics.median(spent), 3)
            figures[f"{name}_worst_s"] = round(max(spent), 3)
            # a refusal (the gateway's RPC timeout: 503) is a figure too, not the end of the preset's other figures
            figures[f"{name}_statuses"] = statuses
            print(f"/v1 roll-up {ROOT_UNIT} {period}: {[round(s, 3) for s in spent]} {statuses}", flush=True)
    return figures


async def measure(
    bench: BenchSystem,
    *,
    cells: int,
    baseline: bool,
    profile_dir: Path | None,
    timeout: float,
    path: Path,
    repeat: int = 1,
) -> dict[str, Any]:
    """Load, seed, sign in, download (each report `repeat` times: its figures those of the median download, every
    download's seconds and CPU seconds per service listed beside them); the figures."""
    period = last_closed_month()
    started = time.perf_counter()
    await bulk_load(bench, path)
    conn = await asyncpg.connect(bench.dsn, server_settings={"search_path": "evaluation,public"})
    try:

        async def known() -> bool:
            return bool(await conn.fetchval("SELECT count(*) FROM unit WHERE kind = 'cell'") == cells)

        held, _ = await wait_until(known, timeout=timeout, interval=1.0)
        if not held:
            raise TimeoutError(f"evaluation did not learn the {cells} cells in {timeout:.0f} s")
    finally:
        await conn.close()
    await wait_quiet(bench.amqp_url, bench.dsn, timeout=timeout)
    await seed_periods(bench.dsn, period)
    loaded = time.perf_counter() - started
    await create_officer(bench)
    pids = {"gateway": bench.pids["gateway"], "evaluation": bench.pids["evaluation"]}
    profiler = Profiler(profile_dir, pids) if profile_dir else None
    figures: dict[str, Any] = {}
    async with signed_in(bench.system.gateway_url, timeout) as client:
        # warm: the first read of the month applies the noted tree changes (subtree sums), timed apart
        warm = time.perf_counter()
        page = await client.get(f"/app/committees/{ROOT_UNIT}?period={period}")
        if page.status_code != 200:
            raise RuntimeError(f"the province's page: {page.status_code}")
        figures["first_page_s"] = round(time.perf_counter() - warm, 2)
        commune, commune_cells = await largest_commune(bench.dsn)
        if profiler is not None:
            profiler.start()
        try:
            for name, unit in (("commune", commune), ("province", ROOT_UNIT)):
                for kind in ("csv", "pdf"):
                    url = f"/app/committees/{unit}/report.{kind}?period={period}"
                    runs = []
                    for _ in range(repeat):
                        runs.append(await download(client, pids, url))
                        print(f"report {name} {kind}: {json.dumps(runs[-1])}", flush=True)
                    median = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
                    figures[f"{name}_{kind}"] = {
                        **median,
                        "runs_s": [run["seconds"] for run in runs],
                        "runs_cpu_s": [run["cpu_s"] for run in runs],
                    }
        finally:
            if profiler is not None:
                profiler.stop()
    figures["api_rollup"] = await api_rollups(bench, period, repeat=max(3, repeat), timeout=timeout)
    raw: dict[str, Any] = {}
    if baseline:
        raw = {
            "commune_csv_s": round(await bare_csv(bench.dsn, commune, period), 3),
            "province_csv_s": round(await bare_csv(bench.dsn, ROOT_UNIT, period), 3),
            "province_pdf_s": round(await bare_summary_pdf(bench.dsn, ROOT_UNIT, period), 3),
        }
    chibo = {
        "loaded_s": round(loaded, 1),
        **figures,
        "commune_csv_s": figures["commune_csv"]["seconds"],
        "commune_pdf_s": figures["commune_pdf"]["seconds"],
        "province_csv_s": figures["province_csv"]["seconds"],
        "province_pdf_s": figures["province_pdf"]["seconds"],
        **{
            f"{download}_cpu_s": figures[download]["cpu_s"]
            for download in ("commune_csv", "commune_pdf", "province_csv", "province_pdf")
        },
    }
    return {
        "preset": "rollup",
        "cells": cells,
        "period": period,
        "commune": commune,
        "commune_cells": commune_cells,
        "chibo": chibo,
        "baseline": raw,
        "ratio": {
            "province_report_csv_s": ratio(chibo["province_csv_s"], raw.get("province_csv_s")),
            "commune_report_csv_s": ratio(chibo["commune_csv_s"], raw.get("commune_csv_s")),
            "province_report_pdf_s": ratio(chibo["province_pdf_s"], raw.get("province_pdf_s")),
        },
        **({"profile": profiler.summary()} if profiler is not None else {}),
    }


def run(
    *, scale: float, baseline: bool, timeout: float, profile_dir: Path | None = None, repeat: int = 1
) -> dict[str, Any]:
    """The report downloads over a generated province of 35,000 × `scale` cells (at least 20), each `repeat` times."""
    cells = max(20, round(FULL_CELLS * scale))
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "province.jsonl"
        subprocess.run(
            [sys.executable, "-m", "services.meetings", "generate-province", "--cells", str(cells)]
            + ["--members", str(cells), "--out", str(path)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        with bench_system() as bench:
            return asyncio.run(
                measure(
                    bench,
                    cells=cells,
                    baseline=baseline,
                    profile_dir=profile_dir,
                    timeout=timeout,
                    path=path,
                    repeat=repeat,
                )
            )
