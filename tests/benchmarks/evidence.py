"""Preset `evidence`: the gateway's evidence page of a large cell (`/app/cells/{id}/evidence?year=2026`: per member,
the year's meetings expected, attended, excused, unexcused, spoken; a user trial's page once took 269 s at 20,305
members).

A cell of 2,000 × scale members (at least 20) goes in through `bulk-load` while the four services run, with a held
regular meeting a month January-November 2026 (its schedule, a roster naming every member and its minutes) through
the same file (the ingest path). Once the system is quiet, a committee officer of the province signs in and opens the
page once (its time kept apart), then `repeat` times (median kept), with the CPU seconds and peak RSS of the gateway,
meetings and evaluation processes (the page asks both over RPC) while it runs (reports.download). Raw baseline, in
the same run: bare asyncpg reading the same rows from meetings' tables (the cell's members, and the held meetings of
the year with their rosters and speakers) in two queries, tallying them per member and joining an HTML table of
plain strings: the floor of any page of those figures. Target: the ratio page ÷ baseline (median seconds), at full
size."""

import asyncio
import html
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from shared.periods import VIETNAM_TZ, period_bounds
from tests.benchmarks.harness import BenchSystem, bench_system, ratio
from tests.benchmarks.reports import ROOT_UNIT, bulk_load, create_officer, download, signed_in
from tests.benchmarks.targets import target
from tests.meetings import events as ev
from tests.support.quiet import wait_quiet

FULL_MEMBERS = 2000
"""The cell's members at full size (a large cell: real ones hold tens)."""
YEAR = "2026"
MONTHS = 11
"""The held meetings: the 5th of each month of 2026 up to November (closed before December's runs)."""
PROVINCE = ROOT_UNIT
CELL = "bench-big-cell"
RATIO_TARGET = 125.0
"""Most page ÷ baseline (median seconds) the preset accepts at full size. Seen 2026-12-06 on the shared 2-core
machine at load 9-17 in seven runs: 74.4, 50.4, 41.5 and 74.1 (the first opening counted among the five), then 38.7,
50.8 and 45.1 (timed apart): the page 0.5-2.3 s of wall time for 0.2 s of CPU in the three services, the baseline
0.01-0.08 s, so the ratio swings with the machine's load; 125 leaves about the margin (1.7×) the member-moves targets
leave over their highest figure, and still refuses work per member that grows with the cell (the trial's 269 s)."""

STATUSES = ("present", "present", "excused", "absent")
"""Each member's status at a meeting, turning with the member's and the meeting's number."""


def province_events(members: int) -> list[dict[str, Any]]:
    """The province, its one large cell, its members (placed 1 Jan 2026) and a held meeting a month (MONTHS)."""
    ids = [f"bm-{n:05d}" for n in range(members)]
    found: list[dict[str, Any]] = [
        ev.unit(PROVINCE, kind="committee", name="Tỉnh ủy đo"),
        ev.unit(CELL, parent_id=PROVINCE, name="Chi bộ lớn"),
        *(ev.member(member_id, CELL) for member_id in ids),
    ]
    for month in range(1, MONTHS + 1):
        meeting = f"bench-ev-{month:02d}"
        starts = datetime(int(YEAR), month, 5, 19, 0, tzinfo=VIETNAM_TZ)
        records = {member_id: STATUSES[(n + month) % len(STATUSES)] for n, member_id in enumerate(ids)}
        present = [member_id for member_id, status in records.items() if status == "present"]
        found += [
            ev.scheduled(meeting, CELL, starts_at=starts, time=starts - timedelta(days=3)),
            ev.attendance(meeting, records, time=starts + timedelta(hours=2)),
            ev.minutes(
                meeting,
                chair_id=present[0],
                started_at=starts,
                speakers=present[::10],
                time=starts + timedelta(hours=2, minutes=5),
            ),
        ]
    return found


HELD_ROSTERS = """
SELECT a.member_id, a.status, n.speakers
FROM meeting m JOIN minutes n ON n.meeting_id = m.meeting_id JOIN attendance a ON a.meeting_id = m.meeting_id
WHERE m.cell_id = $1 AND m.cancel_time IS NULL AND m.starts_at >= $2 AND m.starts_at < $3
ORDER BY m.starts_at, m.meeting_id
"""
"""The baseline's rows: every roster line of the cell's held meetings (minutes, not cancelled) in the year."""


async def bare_page(dsn: str, cell_id: str, year: str) -> float:
    """Seconds for bare asyncpg and Python to read the cell's members and its held rosters of `year`, tally them per
    member (expected, present, excused, absent, spoke) and join an HTML table of them (the baseline)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "meetings,public"})
    try:
        start, end = period_bounds(year)
        started = time.perf_counter()
        members = await conn.fetch("SELECT id, full_name FROM member WHERE cell_id = $1 ORDER BY full_name", cell_id)
        rows = await conn.fetch(HELD_ROSTERS, cell_id, start, end)
        people = {row["id"]: [row["full_name"], 0, 0, 0, 0, 0] for row in members}
        speakers: dict[str, set[str]] = {}
        for row in rows:
            person = people.get(row["member_id"])
            if person is None or row["status"] not in ("present", "excused", "absent"):
                continue
            person[1] += 1
            person[2 + ("present", "excused", "absent").index(row["status"])] += 1
            spoke = speakers.setdefault(row["speakers"], set(json.loads(row["speakers"])))
            if row["status"] == "present" and row["member_id"] in spoke:
                person[5] += 1
        page = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in person) + "</tr>"
            for person in people.values()
        )
        page.encode()
        return time.perf_counter() - started
    finally:
        await conn.close()


async def measure(
    bench: BenchSystem, *, members: int, baseline: bool, timeout: float, path: Path, repeat: int
) -> dict[str, Any]:
    """Load, wait for quiet, sign in, open the page `repeat` times and time the baseline as often; the figures."""
    started = time.perf_counter()
    await bulk_load(bench, path)
    await wait_quiet(bench.amqp_url, bench.dsn, timeout=timeout)
    loaded = time.perf_counter() - started
    conn = await asyncpg.connect(bench.dsn, server_settings={"search_path": "meetings,public"})
    try:
        held = await conn.fetchval(
            "SELECT count(*) FROM meeting m JOIN minutes n ON n.meeting_id = m.meeting_id WHERE m.cell_id = $1", CELL
        )
        listed = await conn.fetchval("SELECT count(*) FROM member WHERE cell_id = $1", CELL)
    finally:
        await conn.close()
    if held != MONTHS or listed != members:
        raise RuntimeError(f"the cell holds {listed} of {members} members and {held} of {MONTHS} held meetings")
    await create_officer(bench)  # a committee officer of PROVINCE
    pids = {name: bench.pids[name] for name in ("gateway", "meetings", "evaluation")}
    address = f"/app/cells/{CELL}/evidence?year={YEAR}"
    runs: list[dict[str, Any]] = []
    raw: list[float] = []
    async with signed_in(bench.system.gateway_url, timeout) as client:
        # the first opening (connections, caches, the templates' first render) timed apart, as the rollup preset's
        first = await download(client, pids, address)
        for _ in range(repeat):
            runs.append(await download(client, pids, address))
            print(f"evidence page: {json.dumps(runs[-1])}", flush=True)
            if baseline:
                raw.append(await bare_page(bench.dsn, CELL, YEAR))
    median = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    chibo = {
        "loaded_s": round(loaded, 1),
        "first_page_s": first["seconds"],
        "page_s": statistics.median(run["seconds"] for run in runs),
        "runs_s": [run["seconds"] for run in runs],
        "bytes": median["bytes"],
        "cpu_s": median["cpu_s"],
        "rss_before_mb": median["rss_before_mb"],
        "rss_peak_mb": {name: max(run["rss_peak_mb"][name] for run in runs) for name in pids},
        "rss_jump_mb": {name: max(run["rss_jump_mb"][name] for run in runs) for name in pids},
    }
    bare: dict[str, Any] = (
        {"page_s": round(statistics.median(raw), 4), "runs_s": [round(s, 4) for s in raw]} if raw else {}
    )
    page_ratio = ratio(chibo["page_s"], bare.get("page_s"))
    # not scale-free: a small cell's page is mostly the request's fixed cost, its baseline a few milliseconds
    targets = {
        "page_s_ratio": target(
            page_ratio, RATIO_TARGET, full_size=members >= FULL_MEMBERS, scale=members / FULL_MEMBERS
        )
    }
    return {
        "preset": "evidence",
        "members": members,
        "meetings": MONTHS,
        "chibo": chibo,
        "baseline": bare,
        "ratio": {"page_s": page_ratio},
        "targets": targets,
    }


def run(*, scale: float, baseline: bool, timeout: float, repeat: int = 5) -> dict[str, Any]:
    """The evidence page of a cell of FULL_MEMBERS × `scale` members (at least 20), opened `repeat` times beside its
    raw baseline; the figures, the ratio and its target (full size only)."""
    members = max(20, round(FULL_MEMBERS * scale))
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "cell.jsonl"
        path.write_text("".join(json.dumps(event, ensure_ascii=False) + "\n" for event in province_events(members)))
        with bench_system() as bench:
            return asyncio.run(
                measure(bench, members=members, baseline=baseline, timeout=timeout, path=path, repeat=repeat)
            )


if __name__ == "__main__":
    figures = run(scale=float(sys.argv[1]) if len(sys.argv) > 1 else 1.0, baseline=True, timeout=900)
    print(json.dumps(figures, indent=1, ensure_ascii=False))
