"""Benchmark of the daily sweep over a province: 35,000 cells, 600,000 members, in a throwaway database.

Run with `uv run python -m tests.notifications.bench_sweep [--cells N] [--batch N]`, or as `make bench`'s `sweep` preset
(`preset`: cells and members both scaled, JSON figures beside a raw baseline). The projection is
written with set-based SQL (no events), then one day's sweep runs through the schedule runner exactly
as the service does (one transaction per batch, cursor committed with it), and is timed; a second run
of the same day shows the cost of judging alone (every alert exists already, nothing new is stored).
Not a unit test: it prints figures.
"""

import argparse
import asyncio
import time
from datetime import date, datetime
from typing import Any

import asyncpg

from services.notifications.background import run_due_jobs
from services.notifications.bootstrap import SERVICE_DIR
from services.notifications.config import Settings
from services.notifications.handlers.jobs import DAILY_SWEEP
from services.notifications.unit_of_work import uow_factory
from shared.db import create_pool
from shared.logs import configure_logging
from shared.periods import VIETNAM_TZ
from shared.runtime import migrate
from tests.support.env import DEFAULT_DATABASE_URL, fresh_database

FULL_CELLS = 35_000
FULL_MEMBERS = 600_000
MIN_CELLS = 10

SWEEP_DAY = date(2026, 3, 26)
"""The 26th of a quarter's last month: the regularity, previous-month, thematic, committee and quota rules all judge."""

PROJECT_SQL = """
INSERT INTO unit (id, name, kind, parent_id, contact_emails, active, known_since, version_time, version_id)
SELECT 'prov', 'Tỉnh ủy Bình An', 'province', NULL, ARRAY['tinhuy@bench.vn'], true, {origin}, {origin}, 'bench';

INSERT INTO unit (id, name, kind, parent_id, contact_emails, active, known_since, version_time, version_id)
SELECT 'ward-' || w, 'Đảng ủy phường ' || w, 'ward', 'prov', ARRAY['ward' || w || '@bench.vn'], true,
       {origin}, {origin}, 'bench'
FROM generate_series(1, {wards}) w;

INSERT INTO unit (id, name, kind, parent_id, contact_emails, active, known_since, version_time, version_id)
SELECT 'cell-' || lpad(c::text, 6, '0'), 'Chi bộ khu phố ' || c, 'cell', 'ward-' || ((c - 1) / 50 + 1), '{{}}',
       true, {origin}, {origin}, 'bench'
FROM generate_series(1, {cells}) c;

-- members spread round-robin over the cells: the first three of each cell are its secretary, deputy and a
-- committee member (except every 50th cell, which has no committee: the cell_without_committee case)
INSERT INTO member (id, full_name, cell_id, status, role, email, exempt, version_time, version_id)
SELECT 'dv-' || m, 'Đảng viên ' || m, 'cell-' || lpad((((m - 1) % {cells}) + 1)::text, 6, '0'), 'official',
       CASE (m - 1) / {cells} WHEN 0 THEN 'secretary' WHEN 1 THEN 'deputy_secretary'
            WHEN 2 THEN CASE WHEN ((m - 1) % {cells} + 1) % 50 = 0 THEN 'member' ELSE 'committee_member' END
            ELSE 'member' END,
       'dv' || m || '@bench.vn', false, {origin}, 'bench'
FROM generate_series(1, {members}) m;

-- every 10th cell has a monitor with a yearly quota and no meeting attended (behind quota)
INSERT INTO monitor (person_id, cell_id, committee_id, full_name, email, yearly_quota, version_time, version_id)
SELECT 'mon-' || c, 'cell-' || lpad(c::text, 6, '0'), 'ward-' || ((c - 1) / 50 + 1), 'Giám sát ' || c,
       'mon' || c || '@bench.vn', 12, {origin}, 'bench'
FROM generate_series(10, {cells}, 10) c;

-- regular meetings this month (missing in 1 cell of 20) and last month (missing in another 1 of 20);
-- a thematic meeting this quarter in 4 cells of 5
INSERT INTO meeting (meeting_id, cell_id, kind, topic, scheduled_starts_at, location, scheduled_time)
SELECT 'mtg-cur-' || c, 'cell-' || lpad(c::text, 6, '0'), 'regular', NULL, {this_month}, 'Nhà văn hóa', {origin}
FROM generate_series(1, {cells}) c WHERE c % 20 <> 0
UNION ALL
SELECT 'mtg-prev-' || c, 'cell-' || lpad(c::text, 6, '0'), 'regular', NULL, {last_month}, 'Nhà văn hóa', {origin}
FROM generate_series(1, {cells}) c WHERE c % 20 <> 1
UNION ALL
SELECT 'mtg-them-' || c, 'cell-' || lpad(c::text, 6, '0'), 'thematic', 'Chuyên đề', {thematic}, 'Nhà văn hóa', {origin}
FROM generate_series(1, {cells}) c WHERE c % 5 <> 0;
ANALYZE;
"""


async def project(settings: Settings, *, cells: int, members: int) -> float:
    """Write the province's projection with set-based SQL; the seconds it took."""
    script = PROJECT_SQL.format(
        cells=int(cells),
        wards=(int(cells) + 49) // 50,
        members=int(members),
        origin="'2025-01-01 00:00+07'::timestamptz",
        this_month="'2026-03-10 19:30+07'::timestamptz",
        last_month="'2026-02-10 19:30+07'::timestamptz",
        thematic="'2026-03-05 19:30+07'::timestamptz",
    )
    started = time.perf_counter()
    pool = await create_pool(settings.database_url, schema="notifications")
    try:
        async with pool.acquire() as conn:
            await conn.execute(script)
    finally:
        await pool.close()
    return time.perf_counter() - started


async def sweep_day(settings: Settings, *, day: date) -> tuple[float, int, int]:
    """Run one day's sweep to the end through the schedule runner: (seconds, batches, notifications created)."""
    clock_value = datetime.combine(day, datetime.min.time(), tzinfo=VIETNAM_TZ).replace(hour=settings.daily_sweep_hour)
    pool = await create_pool(settings.database_url, schema="notifications")
    try:
        factory = uow_factory(pool, settings=settings, clock=lambda: clock_value)
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO schedule (kind, subject_id, due_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (kind, subject_id) DO UPDATE SET done_at = NULL, cursor = NULL",
                DAILY_SWEEP,
                day.isoformat(),
                clock_value,
            )
            before = await conn.fetchval("SELECT count(*) FROM notification")
        started = time.perf_counter()
        batches = 0
        while True:
            fired = await run_due_jobs(factory, limit=1_000)
            batches += fired
            if fired < 1_000:
                break
        elapsed = time.perf_counter() - started
        async with pool.acquire() as conn:
            created = await conn.fetchval("SELECT count(*) FROM notification") - before
            done = await conn.fetchval(
                "SELECT done_at IS NOT NULL FROM schedule WHERE kind = $1 AND subject_id = $2",
                DAILY_SWEEP,
                day.isoformat(),
            )
        assert done, "the sweep did not finish"
        return elapsed, batches, created
    finally:
        await pool.close()


def preset_size(scale: float) -> tuple[int, int]:
    """(cells, members) of the preset at `scale` (0 < scale ≤ 1): both scaled alike, at least MIN_CELLS cells and
    as many members per cell as the full province (about 17)."""
    cells = max(MIN_CELLS, round(FULL_CELLS * scale))
    return cells, round(FULL_MEMBERS * cells / FULL_CELLS)


BASELINE_READS = (
    "SELECT id, name, kind, parent_id, contact_emails FROM unit WHERE kind = 'cell' AND id > $1 ORDER BY id LIMIT $2",
    "SELECT id, name, kind, parent_id, contact_emails FROM unit WHERE id = ANY($1::text[])",
    "SELECT id, full_name, cell_id, status, role, email, exempt FROM member WHERE cell_id = ANY($1::text[])",
    "SELECT meeting_id, cell_id, kind, scheduled_starts_at FROM meeting WHERE cell_id = ANY($1::text[])",
    "SELECT person_id, cell_id, committee_id, yearly_quota FROM monitor WHERE cell_id = ANY($1::text[])",
)


async def raw_sweep(database_url: str, *, batch: int) -> float:
    """Bare asyncpg doing the sweep's reads and writes: per batch of `batch` cells, one transaction reading the cells,
    their committees, members, meetings and monitors, and writing that batch's share of the notification rows the
    sweep stored (copied into a scratch table like `notification`); the seconds it took."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "notifications"})
    try:
        columns = [
            r["column_name"]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'notifications' AND table_name = 'notification' ORDER BY ordinal_position"
            )
        ]
        await conn.execute("CREATE TABLE raw_notification (LIKE notification INCLUDING ALL)")
        rows = [tuple(r) for r in await conn.fetch(f"SELECT {', '.join(columns)} FROM notification ORDER BY cell_id")]
        cells = await conn.fetchval("SELECT count(*) FROM unit WHERE kind = 'cell'")
        share = -(-len(rows) // max(1, -(-cells // batch)))
        started = time.perf_counter()
        after, offset = "", 0
        while True:
            async with conn.transaction():
                page = await conn.fetch(BASELINE_READS[0], after, batch)
                if not page:
                    break
                ids = [r["id"] for r in page]
                await conn.fetch(BASELINE_READS[1], list({r["parent_id"] for r in page}))
                for query in BASELINE_READS[2:]:
                    await conn.fetch(query, ids)
                chunk = rows[offset : offset + share]
                offset += len(chunk)
                if chunk:
                    await conn.copy_records_to_table("raw_notification", records=chunk, columns=columns)
                after = ids[-1]
        return time.perf_counter() - started
    finally:
        await conn.close()


async def bench(database_url: str, *, cells: int, members: int, batch: int, baseline: bool = False) -> dict[str, Any]:
    """Migrate, project, sweep twice (and the raw baseline once); the figures, also printed as lines."""
    configure_logging(service="bench", level="WARNING", json=True)
    settings = Settings(database_url=database_url, sweep_batch_size=batch, log_level="WARNING", log_json=True)
    await migrate(settings, schema="notifications", service_dir=SERVICE_DIR)
    seconds = await project(settings, cells=cells, members=members)
    print(f"projected {cells} cells, {members} members in {seconds:.1f} s")
    first, batches, created = await sweep_day(settings, day=SWEEP_DAY)
    print(
        f"first sweep of {SWEEP_DAY}: {first:.1f} s, {batches} runs of up to {batch} cells "
        f"({first / max(batches, 1) * 1000:.0f} ms each, {cells / first:.0f} cells/s), {created} notifications created"
    )
    again, again_batches, again_created = await sweep_day(settings, day=SWEEP_DAY)
    print(
        f"same day again (every alert exists): {again:.1f} s, {again_batches} runs, "
        f"{cells / again:.0f} cells/s, {again_created} notifications created"
    )
    result: dict[str, Any] = {
        "preset": "sweep",
        "cells": cells,
        "members": members,
        "batch": batch,
        "project_s": round(seconds, 2),
        "chibo": {
            "first_s": round(first, 3),
            "first_cells_per_s": round(cells / first, 1),
            "runs": batches,
            "notifications": created,
            "again_s": round(again, 3),
            "again_cells_per_s": round(cells / again, 1),
        },
    }
    if baseline:
        raw = await raw_sweep(database_url, batch=batch)
        print(f"raw baseline (bare asyncpg, same reads and rows): {raw:.2f} s, {cells / raw:.0f} cells/s")
        result["baseline"] = {"s": round(raw, 3), "cells_per_s": round(cells / raw, 1)}
        result["ratio"] = {"first_s": round(first / raw, 2), "again_s": round(again / raw, 2)}
    return result


def preset(*, scale: float, baseline: bool, base_url: str = DEFAULT_DATABASE_URL, batch: int = 500) -> dict[str, Any]:
    """`make bench`'s `sweep`: preset_size(scale) in a throwaway database; the figures (see `bench`)."""
    cells, members = preset_size(scale)
    with fresh_database(base_url) as url:
        result = asyncio.run(bench(url, cells=cells, members=members, batch=batch, baseline=baseline))
    result["scale"] = scale
    return result


def main() -> None:
    """Parse the options and run the benchmark in a database created and dropped for it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=35_000)
    parser.add_argument("--members", type=int, default=600_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    options = parser.parse_args()
    with fresh_database(options.database_url) as url:
        asyncio.run(bench(url, cells=options.cells, members=options.members, batch=options.batch))


if __name__ == "__main__":
    main()
