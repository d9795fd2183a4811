"""In-process micro-benchmark of meetings' batch ingest of member moves (issue 12): one 1,000-event batch body of
member.upserted.v1 moving every member of a cell to another, through `handlers.ingest_delivery` (the AMQP batch
route), into a fresh database.

    .venv/bin/python -m tests.benchmarks.member_moves [--members 1000] [--rosters 20] [--repeat 3] [--backdated]

The cell's members are first placed (1 Jan 2026) and named on the rosters of `rosters` meetings of the cell (March
2026, the members shared out among them), untimed; the moves are dated 1 Jun 2026 (after the meetings: every roster
is re-judged and stands) or, with --backdated, 1 Feb 2026 (before them: every roster is withdrawn). Each repetition
uses fresh ids; a last, separate pass counts the statements the units of work send (asyncpg's query logger)."""

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from services.meetings import handlers
from services.meetings.bootstrap import SERVICE_DIR
from services.meetings.unit_of_work import SCHEMA, MeetingsUnitOfWork
from shared.db import apply_migrations, create_pool, migration_files
from shared.envelope import BATCH_CONTENT_TYPE
from shared.periods import VIETNAM_TZ
from tests.benchmarks.meetings_ingest import CountingUnitOfWork
from tests.meetings import events as ev
from tests.support.env import DEFAULT_DATABASE_URL


async def _ingest(pool: asyncpg.Pool, raws: list[dict[str, Any]], *, counting: bool = False) -> Counter[str]:
    unit = CountingUnitOfWork if counting else MeetingsUnitOfWork
    results = await handlers.ingest_delivery(
        json.dumps(raws).encode(),
        lambda: unit(pool),
        batch=True,
        route="amqp",
        content_type=BATCH_CONTENT_TYPE,
        routing_key="batch",
    )
    return Counter(result.outcome for result in results)


async def one_batch(pool: asyncpg.Pool, *, members: int, rosters: int, moved_at: str, counting: bool) -> float:
    """Place the members, store the rosters, then time the batch moving every member; its wall-s."""
    tag = uuid.uuid4().hex[:8]
    committee, cell, other = f"cmt-{tag}", f"cell-{tag}", f"other-{tag}"
    ids = [f"mem-{tag}-{n:05d}" for n in range(members)]
    setup: list[dict[str, Any]] = [
        ev.unit(committee, kind="committee"),
        ev.unit(cell, parent_id=committee),
        ev.unit(other, parent_id=committee),
        *(ev.member(member_id, cell) for member_id in ids),
    ]
    for start in range(0, len(setup), 1000):
        await _ingest(pool, setup[start : start + 1000])
    meetings: list[dict[str, Any]] = []
    share = -(-members // rosters)
    for n in range(rosters):
        meeting = f"mtg-{tag}-{n:03d}"
        starts = datetime(2026, 3, 1, 19, 0, tzinfo=VIETNAM_TZ) + timedelta(days=n)
        meetings.append(ev.scheduled(meeting, cell, starts_at=starts))
        named = ids[n * share : (n + 1) * share]
        meetings.append(ev.attendance(meeting, dict.fromkeys(named, "present"), time=starts.replace(hour=21)))
    assert set(await _ingest(pool, meetings)) == {"accepted"}
    moves = [ev.member(member_id, other, time=moved_at) for member_id in ids]
    CountingUnitOfWork.sent = []
    started = time.perf_counter()
    outcomes = await _ingest(pool, moves, counting=counting)
    seconds = time.perf_counter() - started
    assert outcomes == {"accepted": members}, outcomes
    return seconds


async def run(base_url: str, *, members: int, rosters: int, repeat: int, backdated: bool) -> dict[str, Any]:
    """`repeat` timed batches and one counting batch, on one fresh database (dropped after)."""
    name = f"chibo_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(urlunsplit(urlsplit(base_url)._replace(path="/postgres")))
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = urlunsplit(urlsplit(base_url)._replace(path="/" + name))
    moved_at = "2026-02-01T00:00:00+07:00" if backdated else "2026-06-01T00:00:00+07:00"
    try:
        await apply_migrations(dsn, schema=SCHEMA, files=migration_files(SERVICE_DIR))
        pool = await create_pool(dsn, schema=SCHEMA, min_size=1, max_size=5)
        try:
            walls = [
                await one_batch(pool, members=members, rosters=rosters, moved_at=moved_at, counting=False)
                for _ in range(repeat)
            ]
            await one_batch(pool, members=members, rosters=rosters, moved_at=moved_at, counting=True)
            sent = CountingUnitOfWork.sent
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return {
        "members": members,
        "rosters": rosters,
        "backdated": backdated,
        "wall_s": [round(wall, 3) for wall in walls],
        "wall_s_median": round(statistics.median(walls), 3),
        "events_per_s_median": round(members / statistics.median(walls), 1),
        "statements": len(sent),
        "by_statement": Counter(query[:90] for query in sent).most_common(12),
    }


def main() -> None:
    """Parse the options, run, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000, help="members moved in the one batch (≤ 1,000)")
    parser.add_argument("--rosters", type=int, default=20, help="meetings whose rosters name them")
    parser.add_argument("--repeat", type=int, default=3, help="timed batches")
    parser.add_argument("--backdated", action="store_true", help="moves dated before the meetings")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="server (and database) to use")
    args = parser.parse_args()
    figures = asyncio.run(
        run(args.database_url, members=args.members, rosters=args.rosters, repeat=args.repeat, backdated=args.backdated)
    )
    print(json.dumps(figures, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
