"""Benchmark: the start-of-month spike through the real services.

A province of `--cells` cells (about 17 members each) is loaded through chibo.ingest; then every
cell holds its monthly meeting within the same evening: scheduled, roster, minutes, approval,
assessment, all published to chibo.ingest at once in batches. The benchmark measures how fast
meetings applies the facts, how fast evaluation has scored every meeting, and how much memory
each service process peaked at. Everything runs in a fresh vhost and database, removed afterwards.
"""

import argparse
import asyncio
import json
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import asyncpg

from deploy.seed_demo import publish as publish_batches
from shared.periods import VIETNAM_TZ
from shared.topology import declare_topology
from tests.support.env import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL, fresh_database, isolated_vhost
from tests.support.system import running_system

MEMBERS_PER_CELL = 17
MANUAL_POINTS = {
    "preparation.content": 3,
    "conduct.procedure": 4,
    "conduct.regular_content": 8,
    "conduct.praise_criticism": 2,
    "chairing.flexible": 2,
    "chairing.orientation": 3,
    "chairing.atmosphere": 3,
    "chairing.synthesis": 1,
    "principles.democratic_centralism": 1,
    "principles.self_criticism": 2,
    "principles.leadership": 1,
    "principles.informing": 1,
}


def event(event_type: str, data: dict[str, Any], *, seq: int, at: datetime) -> dict[str, Any]:
    """One CloudEvent from the benchmark's source."""
    return {
        "specversion": "1.0",
        "id": f"bench-{seq}",
        "source": "urn:bench",
        "type": event_type,
        "time": at.isoformat(),
        "data": data,
    }


def province(cells: int) -> list[dict[str, Any]]:
    """Units and members of a province with `cells` cells under communes of 50 cells."""
    at = datetime(2026, 10, 1, 8, 0, tzinfo=VIETNAM_TZ)
    events = [
        event(
            "org.unit.upserted.v1", {"id": "p", "name": "Tỉnh ủy", "kind": "committee", "parent_id": None}, seq=0, at=at
        )
    ]
    seq = 1
    for commune in range(cells // 50 + 1):
        events.append(
            event(
                "org.unit.upserted.v1",
                {"id": f"x{commune}", "name": f"Đảng ủy xã {commune}", "kind": "committee", "parent_id": "p"},
                seq=seq,
                at=at,
            )
        )
        seq += 1
    for cell in range(cells):
        events.append(
            event(
                "org.unit.upserted.v1",
                {
                    "id": f"c{cell}",
                    "name": f"Chi bộ {cell}",
                    "kind": "cell",
                    "parent_id": f"x{cell // 50}",
                    "category": "residential",
                },
                seq=seq,
                at=at,
            )
        )
        seq += 1
        for index in range(MEMBERS_PER_CELL):
            role = "secretary" if index == 0 else "member"
            events.append(
                event(
                    "member.upserted.v1",
                    {
                        "id": f"c{cell}m{index}",
                        "full_name": f"Đảng viên {index}",
                        "cell_id": f"c{cell}",
                        "status": "official",
                        "role": role,
                    },
                    seq=seq,
                    at=at,
                )
            )
            seq += 1
    return events


def month_start(cells: int, *, first_seq: int) -> list[dict[str, Any]]:
    """Every cell's monthly meeting of November, complete."""
    rng = random.Random(7)
    seq = first_seq
    events = []
    for cell in range(cells):
        meeting = f"c{cell}-2026-11"
        start = datetime(2026, 11, 4, 19, 30, tzinfo=VIETNAM_TZ)
        members = [f"c{cell}m{i}" for i in range(MEMBERS_PER_CELL)]
        records = [
            {"member_id": m, "status": "present" if rng.random() < 0.9 else "excused", "reason": "Ốm"} for m in members
        ]
        present = [r["member_id"] for r in records if r["status"] == "present"]
        for event_type, data, at in [
            (
                "meeting.scheduled.v1",
                {
                    "meeting_id": meeting,
                    "cell_id": f"c{cell}",
                    "kind": "regular",
                    "starts_at": start.isoformat(),
                    "location": "Nhà văn hóa",
                    "agenda": ["Nhiệm vụ tháng"],
                    "committee_prepared": True,
                },
                start - timedelta(days=3),
            ),
            ("attendance.recorded.v1", {"meeting_id": meeting, "records": records}, start + timedelta(minutes=5)),
            (
                "minutes.submitted.v1",
                {
                    "meeting_id": meeting,
                    "started_at": start.isoformat(),
                    "ended_at": (start + timedelta(minutes=100)).isoformat(),
                    "chair_id": members[0],
                    "recorder_id": members[1],
                    "speakers": present[:9],
                    "self_criticism_minutes": 20,
                    "content": "Nội dung",
                    "conclusions": "Kết luận",
                    "resolutions": [
                        {"text": "Nghị quyết", "votes_for": len(present), "votes_against": 0, "abstentions": 0}
                    ],
                    "tasks": [
                        {
                            "task_id": f"{meeting}-t1",
                            "assignee_id": members[2],
                            "description": "Việc",
                            "due_on": "2026-11-30",
                        }
                    ],
                },
                start + timedelta(minutes=110),
            ),
            (
                "meeting.assessed.v1",
                {
                    "meeting_id": meeting,
                    "assessor": {"role": "cell_committee", "person_id": members[0]},
                    "points": dict(MANUAL_POINTS),
                },
                start + timedelta(minutes=112),
            ),
            (
                "minutes.approved.v1",
                {"meeting_id": meeting, "approved_at": (start + timedelta(minutes=100)).isoformat()},
                start + timedelta(minutes=111),
            ),
        ]:
            events.append(event(event_type, cast(dict[str, Any], data), seq=seq, at=at))
            seq += 1
    return events


async def publish(amqp_url: str, events: list[dict[str, Any]]) -> float:
    """Publish in batches of 500 with confirms, as the demo seed does; return the seconds it took."""
    started = time.perf_counter()
    await publish_batches(amqp_url, events, batch_size=500)
    return time.perf_counter() - started


async def wait_for_count(dsn: str, sql: str, target: int, *, timeout: float) -> tuple[float, int]:
    """Poll `sql` until it reaches `target`; return (seconds, last count)."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        count = 0
        while time.perf_counter() - started < timeout:
            count = await conn.fetchval(sql)
            if count >= target:
                break
            await asyncio.sleep(0.5)
        return time.perf_counter() - started, count
    finally:
        await conn.close()


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process and its children's python (uv run wraps the service)."""
    best = 0.0
    for candidate in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return round(best, 1)


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


async def run(cells: int, amqp_url: str, dsn: str, timeout: float) -> dict[str, Any]:
    """Load the province, then the spike, and report the figures."""
    await declare_topology(amqp_url)
    units_and_members = province(cells)
    results: dict[str, Any] = {"cells": cells, "members": cells * MEMBERS_PER_CELL}
    results["province_publish_s"] = round(await publish(amqp_url, units_and_members), 1)
    seconds, _ = await wait_for_count(
        dsn, "SELECT count(*) FROM meetings.member", cells * MEMBERS_PER_CELL, timeout=timeout
    )
    results["province_applied_s"] = round(seconds, 1)
    await wait_for_count(dsn, "SELECT count(*) FROM evaluation.member", cells * MEMBERS_PER_CELL, timeout=timeout)
    spike = month_start(cells, first_seq=len(units_and_members) + 1)
    started = time.perf_counter()
    results["spike_events"] = len(spike)
    results["spike_publish_s"] = round(await publish(amqp_url, spike), 1)
    _, applied = await wait_for_count(
        dsn,
        "SELECT count(*) FROM meetings.meeting m JOIN meetings.minutes n USING (meeting_id)",
        cells,
        timeout=timeout,
    )
    results["spike_meetings_applied_s"] = round(time.perf_counter() - started, 1)
    results["spike_ingest_events_per_s"] = round(len(spike) / max(results["spike_meetings_applied_s"], 0.001))
    _, scored = await wait_for_count(
        dsn,
        "SELECT count(*) FROM evaluation.meeting_score WHERE meeting_id LIKE 'c%-2026-11' AND NOT provisional",
        cells,
        timeout=timeout,
    )
    results["spike_all_scored_s"] = round(time.perf_counter() - started, 1)
    results["meetings_with_minutes"] = applied
    results["meetings_scored_final"] = scored
    return results


def main() -> None:
    """Run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=1200)
    args = parser.parse_args()
    with (
        isolated_vhost(DEFAULT_AMQP_URL) as amqp_url,
        fresh_database(DEFAULT_DATABASE_URL) as dsn,
        tempfile.TemporaryDirectory() as workdir,
        running_system(
            amqp_url=amqp_url, database_url=dsn, workdir=Path(workdir), extra_env={"CHIBO_LOG_LEVEL": "WARNING"}
        ) as system,
    ):
        results = asyncio.run(run(args.cells, amqp_url, dsn, args.timeout))
        results["peak_rss_mb"] = {name: peak_rss_mb(p.pid) for name, p in system.processes.items()}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
