"""Preset `month-start`: N cells holding their meeting at once, through the running services.

A province of N cells (17 members each, every member and each cell's monitor with an e-mail address) is
loaded through the batch route first, untimed. Then every cell's meeting two days ahead arrives at once, one
event per message as the cells' apps send them: scheduled, roster, minutes, approval, assessment. Figures:
seconds until every meeting has its final score, and until every notice of the meeting (each expected member
and the monitor, by e-mail to the SMTP sink the system runs) is delivered; peak RSS and CPU per service;
the raw baseline on the same messages. `province` and `month_start` also feed the fault suite (tests/chaos).
"""

import asyncio
import json
import random
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import asyncpg

from deploy.mailsink import envelope_recipients
from shared.envelope import now
from shared.periods import VIETNAM_TZ
from shared.topology import INGEST_EXCHANGE, declare_topology
from tests.benchmarks.baseline import run_baseline
from tests.benchmarks.harness import (
    Observer,
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

FULL_CELLS = 35_000

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


def month_start(
    cells: int, *, first_seq: int, start: datetime | None = None, suffix: str = "2026-11", at: datetime | None = None
) -> list[dict[str, Any]]:
    """Every cell's monthly meeting (`c<n>-<suffix>`, by default November's), complete; each event timed
    around the start, or all at `at` when given (facts sent as they happen, the meeting still ahead)."""
    rng = random.Random(7)
    seq = first_seq
    events = []
    start = start or datetime(2026, 11, 4, 19, 30, tzinfo=VIETNAM_TZ)
    for cell in range(cells):
        meeting = f"c{cell}-{suffix}"
        members = [f"c{cell}m{i}" for i in range(MEMBERS_PER_CELL)]
        records = [
            {"member_id": m, "status": "present" if rng.random() < 0.9 else "excused", "reason": "Ốm"} for m in members
        ]
        present = [r["member_id"] for r in records if r["status"] == "present"]
        for event_type, data, when in [
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
                            "due_on": (start + timedelta(days=26)).date().isoformat(),
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
            events.append(event(event_type, cast(dict[str, Any], data), seq=seq, at=at or when))
            seq += 1
    return events


def notified_province(cells: int) -> list[dict[str, Any]]:
    """`province(cells)` with what notices need: members' e-mails, a cell committee, a monitor per cell."""
    events = province(cells)
    monitors: list[dict[str, Any]] = []
    for item in events:
        data = item["data"]
        if item["type"] != "member.upserted.v1":
            continue
        data["email"] = f"{data['id']}@chibo.example.org"
        index = int(data["id"].rsplit("m", 1)[1])
        if index == 1:
            data["role"] = "deputy_secretary"
        elif index in (2, 3):
            data["role"] = "committee_member"  # 17 official members must have a committee (no alert about it)
        if index == 0:
            cell = data["cell_id"]
            commune = f"x{int(cell[1:]) // 50}"
            monitors.append(
                event(
                    "monitor.assigned.v1",
                    {
                        "person_id": f"{commune}-uv",
                        "full_name": f"Ủy viên phụ trách {commune}",
                        "committee_id": commune,
                        "cell_id": cell,
                        "email": f"{commune}-uv@chibo.example.org",
                        "yearly_quota": 6,
                    },
                    seq=100_000_000 + len(monitors),
                    at=item_time(item),
                )
            )
    return events + monitors


def item_time(item: dict[str, Any]) -> datetime:
    """An event's time."""
    return datetime.fromisoformat(item["time"])


def spike(cells: int, *, first_seq: int) -> list[dict[str, Any]]:
    """Every cell's meeting two days ahead (19:30 Vietnam), all its facts sent now; cell-major order."""
    ahead = (now() + timedelta(days=2)).date()
    start = datetime(ahead.year, ahead.month, ahead.day, 19, 30, tzinfo=VIETNAM_TZ)
    suffix = f"spike-{uuid.uuid4().hex[:6]}"
    return month_start(cells, first_seq=first_seq, start=start, suffix=suffix, at=now().replace(microsecond=0))


def lines_of(events: list[dict[str, Any]]) -> list[bytes]:
    """Events as JSON lines."""
    return [json.dumps(item, ensure_ascii=False).encode() for item in events]


async def load_tree(amqp_url: str, dsn: str, tree: list[dict[str, Any]], *, cells: int, timeout: float) -> float:
    """Send the province in batches and wait until evaluation and notifications know every member."""
    started = time.monotonic()
    await publish_messages(amqp_url, INGEST_EXCHANGE, batch_messages(lines_of(tree), size=1000))
    conn = await asyncpg.connect(dsn)
    try:

        async def known() -> bool:
            members = cells * MEMBERS_PER_CELL
            evaluation = await conn.fetchval("SELECT count(*) FROM evaluation.member")
            notifications = await conn.fetchval("SELECT count(*) FROM notifications.member")
            monitors = await conn.fetchval("SELECT count(*) FROM notifications.monitor")
            return bool(evaluation >= members and notifications >= members and monitors >= cells)

        loaded, _ = await wait_until(known, timeout=timeout, interval=1.0)
        if not loaded:
            raise TimeoutError(f"the province of {cells} cells was not known everywhere within {timeout} s")
    finally:
        await conn.close()
    return time.monotonic() - started


def count_mails(directory: Path) -> int:
    """Mails the SMTP sink stored (SMTP transactions: a mail to many counts once)."""
    return sum(1 for _ in directory.glob("*.eml"))


def count_copies(directory: Path) -> int:
    """Copies the SMTP sink's mails made: one per envelope recipient."""
    return sum(len(envelope_recipients(path.read_bytes())) for path in directory.glob("*.eml"))


async def measure(
    amqp_url: str,
    dsn: str,
    mail_dir: Path,
    pids: dict[str, int],
    *,
    cells: int,
    timeout: float,
    quiet: float,
    profiler: Profiler | None,
) -> dict[str, Any]:
    """Load the province, send the spike, wait for every final score and every notice; the figures."""
    await declare_topology(amqp_url)
    tree = notified_province(cells)
    tree_s = await load_tree(amqp_url, dsn, tree, cells=cells, timeout=timeout)
    events = spike(cells, first_seq=len(tree) + 1)
    meetings = {item["data"]["meeting_id"] for item in events if item["type"] == "meeting.scheduled.v1"}
    recipients = MEMBERS_PER_CELL + 1  # every (non-exempt) member and the monitor
    notices: dict[str, int] = {}

    def on_result(item: dict[str, Any], _: float) -> None:
        data = item.get("data") or {}
        if (
            item.get("type") == "notification.delivered.v1"
            and data.get("rule") == "meeting_scheduled"
            and data.get("channel") == "email"
            and data.get("subject_id") in meetings
        ):
            notices[data["subject_id"]] = notices.get(data["subject_id"], 0) + 1

    observer = Observer(amqp_url, listeners=[on_result])
    await observer.start()
    mails_before, copies_before = count_mails(mail_dir), count_copies(mail_dir)
    meter = ProcessMeter(pids)
    conn = await asyncpg.connect(dsn)
    try:
        meter.begin()
        if profiler is not None:
            profiler.start()
        started = time.monotonic()
        observer.started = started
        publish_s = await publish_messages(amqp_url, INGEST_EXCHANGE, single_messages(lines_of(events)))

        async def scored() -> bool:
            return meetings <= observer.final_scores.keys()

        async def notified() -> bool:
            if sum(notices.values()) < len(meetings) * recipients:
                return False
            pending = await conn.fetchval("SELECT count(*) FROM notifications.delivery WHERE status = 'pending'")
            return int(pending) == 0

        scored_ok, _ = await wait_until(scored, timeout=timeout)
        scored_s = time.monotonic() - started
        notified_ok, _ = await wait_until(notified, timeout=timeout)
        notified_s = time.monotonic() - started
        meter.end()
        if profiler is not None:
            profiler.stop()
        done_s = max(scored_s, notified_s)
        result: dict[str, Any] = {
            "tree_events": len(tree),
            "tree_load_s": round(tree_s, 1),
            "events": len(events),
            "messages": len(events),
            "publish_s": round(publish_s, 1),
            "meetings": len(meetings),
            "all_scored_s": round(scored_s, 1) if scored_ok else None,
            "missing_final_scores": len(meetings - observer.final_scores.keys()),
            "notices_expected": len(meetings) * recipients,
            "notices_delivered": sum(notices.values()),
            "all_notified_s": round(notified_s, 1) if notified_ok else None,
            "mails_in_sink": count_mails(mail_dir) - mails_before,
            "mail_copies_in_sink": count_copies(mail_dir) - copies_before,
            "events_per_s_end_to_end": round(len(events) / done_s) if scored_ok and notified_ok else None,
            "rejected": len(observer.rejections),
            "first_rejections": observer.rejections[:3],
            "published": dict(sorted(observer.counts.items())),
            **meter.figures(events=len(events), seconds=done_s),
        }
        if profiler is not None:
            result["profile"] = profiler.summary()
        return result
    finally:
        await conn.close()
        await observer.close()


def run(*, scale: float, timeout: float, quiet: float, profile_dir: Path | None, baseline: bool) -> dict[str, Any]:
    """The preset: the spike through chibo, then the same messages through the raw baseline."""
    cells = max(1, round(FULL_CELLS * scale))
    print(f"month-start: {cells} cells, {cells * 5} events one per message", flush=True)
    with bench_system() as bench:
        system, amqp_url, dsn, pids = bench.system, bench.amqp_url, bench.dsn, bench.pids
        profiler = Profiler(profile_dir, pids) if profile_dir else None
        chibo = asyncio.run(
            measure(
                amqp_url,
                dsn,
                system.mail_dir,
                pids,
                cells=cells,
                timeout=timeout,
                quiet=quiet,
                profiler=profiler,
            )
        )
    raw: dict[str, Any] = {}
    if baseline:
        messages = single_messages(lines_of(spike(cells, first_seq=1)))
        with isolated_vhost(DEFAULT_AMQP_URL) as amqp_url, fresh_database(DEFAULT_DATABASE_URL) as dsn:
            raw = run_baseline(amqp_url, dsn, messages, events=len(messages), batch=False, timeout=timeout)
    done = [value for value in (chibo.get("all_scored_s"), chibo.get("all_notified_s")) if value is not None]
    return {
        "preset": "month-start",
        "cells": cells,
        "chibo": chibo,
        "baseline": raw,
        "ratio": {
            "seconds_until_done": ratio(max(done), raw.get("end_to_end_s")) if len(done) == 2 else None,
            "events_per_s_end_to_end": ratio(chibo.get("events_per_s_end_to_end"), raw.get("events_per_s_end_to_end")),
            "events_per_busy_core_s": ratio(chibo.get("events_per_busy_core_s"), raw.get("events_per_busy_core_s")),
        },
    }
