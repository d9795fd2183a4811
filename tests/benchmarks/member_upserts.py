"""Bench: N member.upserted.v1 of one batch into an M-member cell with a meeting ahead, through notifications'
batch handler in one unit of work (as its consumer applies a batch delivery), on a fresh database.

    .venv/bin/python -m tests.benchmarks.member_upserts [N] [M]

Prints the seconds and events/s of the N upserts (the M members are loaded first, before the meeting, untimed)."""

import asyncio
import sys
import time
from datetime import timedelta

from services.notifications.bootstrap import SERVICE_DIR
from services.notifications.config import Settings
from shared.db import create_pool
from shared.envelope import now
from shared.runtime import migrate
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_batches import as_batch, one_by_one
from tests.support.env import DEFAULT_DATABASE_URL, fresh_database


def _member(p: Province, member_id: str, *, at: Clock) -> object:
    return event(
        "member.upserted.v1",
        {
            "id": member_id,
            "full_name": "Đỗ Thị Mai",
            "cell_id": p.cell,
            "status": "official",
            "role": "member",
            "email": p.email(member_id),
        },
        time=at.value - timedelta(minutes=5),
    )


async def bench(database_url: str, upserts: int, members: int) -> float:
    """Seconds the `upserts` newcomers took in one batch."""
    settings = Settings(database_url=database_url)
    await migrate(settings, schema="notifications", service_dir=SERVICE_DIR)
    pool = await create_pool(database_url, schema="notifications")
    try:
        clock = Clock(now().replace(microsecond=0))
        p = Province()
        await one_by_one(pool, settings, clock, p.setup())
        crowd = [_member(p, f"{p.cell}-c{n:05d}", at=clock) for n in range(members)]
        for start in range(0, len(crowd), 1000):
            await as_batch(pool, settings, clock, crowd[start : start + 1000])  # type: ignore[arg-type]
        await one_by_one(pool, settings, clock, [p.scheduled(f"{p.cell}-m1", clock.value + timedelta(days=3))])
        newcomers = [_member(p, f"{p.cell}-n{n:05d}", at=clock) for n in range(upserts)]
        started = time.perf_counter()
        await as_batch(pool, settings, clock, newcomers)  # type: ignore[arg-type]
        return time.perf_counter() - started
    finally:
        await pool.close()


def main() -> None:
    """Run the bench once and print its figures."""
    upserts = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    members = int(sys.argv[2]) if len(sys.argv) > 2 else 9000
    with open("/proc/loadavg") as load:
        before = load.read().split()[0]
    with fresh_database(DEFAULT_DATABASE_URL) as url:
        seconds = asyncio.run(bench(url, upserts, members))
    with open("/proc/loadavg") as load:
        after = load.read().split()[0]
    print(
        f"{upserts} upserts into a {members}-member cell: {seconds:.2f} s, {upserts / seconds:.1f} events/s"
        f" (load {before} -> {after})"
    )


if __name__ == "__main__":
    main()
