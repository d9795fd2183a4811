"""Bench: org.unit.upserted.v1 of cells with a meeting ahead whose members were all told of it, through
notifications' handlers in one unit of work (as its consumer applies a batch delivery), on a fresh database.

    .venv/bin/python -m tests.benchmarks.unit_upserts [N] [M] [CELLS]

Prints the seconds of N upserts (renames) of one M-member cell, and of one batch of CELLS upserts of distinct
cells of 9 members each (the members, meetings and first unit snapshots are loaded first, untimed)."""

import asyncio
import sys
import time
from datetime import timedelta
from typing import Any

import asyncpg

from services.notifications.bootstrap import SERVICE_DIR
from services.notifications.config import Settings
from shared.db import create_pool
from shared.envelope import CloudEvent, now
from shared.runtime import migrate
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_batches import as_batch, one_by_one
from tests.support.env import DEFAULT_DATABASE_URL, fresh_database


def _unit(p: Province, cell_id: str, name: str, *, at: Any) -> CloudEvent:
    return event(
        "org.unit.upserted.v1",
        {"id": cell_id, "name": name, "kind": "cell", "parent_id": p.committee, "category": "residential"},
        time=at,
    )


def _member(p: Province, cell_id: str, member_id: str, *, at: Clock) -> CloudEvent:
    return event(
        "member.upserted.v1",
        {
            "id": member_id,
            "full_name": "Đỗ Thị Mai",
            "cell_id": cell_id,
            "status": "official",
            "role": "member",
            "email": p.email(member_id),
        },
        time=at.value - timedelta(minutes=30),
    )


async def _cell(pool: asyncpg.Pool, settings: Settings, clock: Clock, p: Province, cell_id: str, members: int) -> None:
    """A cell known with `members` members and a meeting ahead all of them were told of."""
    await as_batch(pool, settings, clock, [_unit(p, cell_id, "Chi bộ 1", at=clock.value - timedelta(hours=1))])
    crowd = [_member(p, cell_id, f"{cell_id}-c{n:05d}", at=clock) for n in range(members)]
    for start in range(0, len(crowd), 1000):
        await as_batch(pool, settings, clock, crowd[start : start + 1000])
    scheduled = p.scheduled(f"{cell_id}-m1", clock.value + timedelta(days=3))
    scheduled.data["cell_id"] = cell_id
    await one_by_one(pool, settings, clock, [scheduled])


async def bench(database_url: str, renames: int, members: int, cells: int) -> tuple[float, float]:
    """Seconds of `renames` upserts of one `members`-member cell, and of `cells` upserts of distinct cells."""
    settings = Settings(database_url=database_url)
    await migrate(settings, schema="notifications", service_dir=SERVICE_DIR)
    pool = await create_pool(database_url, schema="notifications")
    try:
        clock = Clock(now().replace(microsecond=0))
        p = Province()
        await one_by_one(pool, settings, clock, p.setup())
        await _cell(pool, settings, clock, p, f"{p.cell}-big", members)
        many = [f"{p.cell}-s{n:04d}" for n in range(cells)]
        for cell_id in many:
            await _cell(pool, settings, clock, p, cell_id, 9)
        names = [
            _unit(p, f"{p.cell}-big", f"Chi bộ {n + 2}", at=clock.value - timedelta(minutes=50 - n / 60))
            for n in range(renames)
        ]
        started = time.perf_counter()
        await as_batch(pool, settings, clock, names)
        big = time.perf_counter() - started
        renamed = [_unit(p, cell_id, "Chi bộ mới", at=clock.value - timedelta(minutes=40)) for cell_id in many]
        started = time.perf_counter()
        await as_batch(pool, settings, clock, renamed)
        return big, time.perf_counter() - started
    finally:
        await pool.close()


def main() -> None:
    """Run the bench once and print its figures."""
    renames = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    members = int(sys.argv[2]) if len(sys.argv) > 2 else 9000
    cells = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    with open("/proc/loadavg") as load:
        before = load.read().split()[0]
    with fresh_database(DEFAULT_DATABASE_URL) as url:
        big, many = asyncio.run(bench(url, renames, members, cells))
    with open("/proc/loadavg") as load:
        after = load.read().split()[0]
    print(
        f"{renames} upserts of a {members}-member cell: {big:.2f} s ({big / renames * 1000:.0f} ms each);"
        f" {cells} upserts of 9-member cells: {many:.2f} s, {cells / many:.0f} events/s (load {before} -> {after})"
    )


if __name__ == "__main__":
    main()
