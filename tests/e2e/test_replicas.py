"""Issue 12, replicas: three meetings and three evaluation processes on the same queues, fed a shuffled, duplicated
stream of a generated province, end in exactly the state one process of each reaches from the same stream in order.

Each run has its own RabbitMQ virtual host and database; the services are real processes (tests/support/system.py).
The stream: a province from the meetings generator (services/meetings/bulk/generate.py: committees, cells, members,
monitors) and three months of every cell's meetings (schedule, documents, roster, minutes with a task, approval,
assessment, the previous task's completion), a rescheduled and a cancelled meeting, a month without a meeting, a
member moved to another cell and one removed. The in-order run gets it as batches of 100; the replica run gets it
shuffled, a third of it twice, as batches of 1 to 60 events and as single messages.
"""

import asyncio
import io
import json
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg

from services.meetings.bulk.generate import generate_province
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE, now
from shared.periods import VIETNAM_TZ
from shared.topology import EVALUATION_FACTS, INGEST_EXCHANGE, MEETINGS_INGEST, declare_topology
from tests.benchmarks.month_start import MANUAL_POINTS
from tests.support.env import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL, fresh_database, isolated_vhost
from tests.support.quiet import backlog
from tests.support.system import running_replicas

SOURCE = "urn:test:replicas"
MONTHS = (8, 9, 10)
TIMEOUT = 900.0
"""Seconds a run may take to settle: generous, the machine is shared and loaded."""
COMPARED = {
    "meetings": [
        "org_unit",
        "member",
        "member_version",
        "monitor_assignment",
        "meeting",
        "roster",
        "attendance",
        "minutes",
        "task",
        "task_completion",
        "document",
        "assessment",
    ],
    "evaluation": ["meeting_score", "cell_period"],
}


class Stream:
    """The generated events, each with a stable id."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event_type: str, data: dict[str, Any], *, at: datetime) -> None:
        """Add one event."""
        self.events.append(
            {
                "specversion": "1.0",
                "id": f"rep-{len(self.events):05d}",
                "source": SOURCE,
                "type": event_type,
                "time": at.isoformat(),
                "datacontenttype": "application/json",
                "data": data,
            }
        )


def province_stream(
    *, cells: int = 8, members: int = 90, seed: int = 12, months: tuple[int, ...] = MONTHS
) -> list[dict[str, Any]]:
    """The generated province, then three months of its cells' meetings (see the module docstring)."""
    out = io.StringIO()
    generate_province(out, cells=cells, members=members, seed=seed, prefix="rep-")
    org = [json.loads(line) for line in out.getvalue().splitlines()]
    rng = random.Random(seed)
    roll: dict[str, list[str]] = {}
    for event in org:
        if event["type"] == "org.unit.upserted.v1" and event["data"]["kind"] == "cell":
            roll[event["data"]["id"]] = []
        elif event["type"] == "member.upserted.v1":
            roll[event["data"]["cell_id"]].append(event["data"]["id"])
    stream = Stream()
    cell_ids = sorted(roll)
    moved_from, moved_to = cell_ids[0], cell_ids[1]
    moved = roll[moved_from][-1]
    removed_cell = cell_ids[2]
    removed = roll[removed_cell][-1]
    removed_on = datetime(2026, 9, 20, tzinfo=VIETNAM_TZ)
    stream.emit(
        "member.removed.v1",
        {"id": removed, "effective_on": removed_on.date().isoformat(), "reason": "transferred"},
        at=removed_on,
    )
    skipped = (cell_ids[3], months[-1])  # a month without a meeting: scored Poor
    for cell in cell_ids:
        previous_task: tuple[str, str] | None = None
        for month in months:
            if (cell, month) == skipped:
                continue
            people = [m for m in roll[cell] if not (m == removed and month >= removed_on.month)]
            previous_task = meeting_events(stream, rng, cell, month, people, previous_task)
    cancelled = f"{cell_ids[4]}-2026-11-extra"
    start = datetime(2026, 11, 20, 19, 30, tzinfo=VIETNAM_TZ)
    stream.emit(
        "meeting.scheduled.v1",
        {**schedule_data(cancelled, cell_ids[4], start), "kind": "regular"},
        at=start - timedelta(days=5),
    )
    stream.emit("meeting.cancelled.v1", {"meeting_id": cancelled, "reason": "Mưa bão"}, at=start - timedelta(days=1))
    generated = now()
    mover = next(e for e in org if e["type"] == "member.upserted.v1" and e["data"]["id"] == moved)
    stream.emit("member.upserted.v1", {**mover["data"], "cell_id": moved_to}, at=generated + timedelta(minutes=1))
    return org + stream.events


def schedule_data(meeting_id: str, cell: str, start: datetime) -> dict[str, Any]:
    """meeting.scheduled.v1 data."""
    return {
        "meeting_id": meeting_id,
        "cell_id": cell,
        "kind": "regular",
        "starts_at": start.isoformat(),
        "location": "Nhà văn hóa",
        "agenda": ["Kiểm điểm nghị quyết tháng trước", "Nhiệm vụ tháng tới"],
        "committee_prepared": True,
    }


def meeting_events(
    stream: Stream,
    rng: random.Random,
    cell: str,
    month: int,
    people: list[str],
    previous_task: tuple[str, str] | None,
) -> tuple[str, str]:
    """One held meeting of `cell` in `month` 2026, complete; return its task (meeting id, task id)."""
    meeting = f"{cell}-2026-{month:02d}"
    start = datetime(2026, month, 5, 19, 30, tzinfo=VIETNAM_TZ)
    stream.emit("meeting.scheduled.v1", schedule_data(meeting, cell, start), at=start - timedelta(days=5))
    if month == 9 and cell.endswith("1"):
        start += timedelta(days=1)
        stream.emit(
            "meeting.rescheduled.v1",
            {"meeting_id": meeting, "starts_at": start.isoformat(), "reason": "Trùng lịch họp xã"},
            at=start - timedelta(days=3),
        )
    stream.emit(
        "documents.published.v1",
        {
            "meeting_id": meeting,
            "published_at": (start - timedelta(days=2)).isoformat(),
            "items": [{"title": "Dự thảo nghị quyết", "kind": "draft_resolution"}],
        },
        at=start - timedelta(days=2),
    )
    records = []
    for person in people:
        draw = rng.random()
        status = "present" if draw < 0.8 else "excused" if draw < 0.92 else "absent"
        records.append({"member_id": person, "status": status} | ({"reason": "Ốm"} if status == "excused" else {}))
    records[0]["status"] = "present"
    records[0].pop("reason", None)
    stream.emit("attendance.recorded.v1", {"meeting_id": meeting, "records": records}, at=start + timedelta(minutes=10))
    present = [r["member_id"] for r in records if r["status"] == "present"]
    task = f"{meeting}-t1"
    stream.emit(
        "minutes.submitted.v1",
        {
            "meeting_id": meeting,
            "started_at": start.isoformat(),
            "ended_at": (start + timedelta(minutes=95)).isoformat(),
            "chair_id": people[0],
            "recorder_id": people[0],
            "speakers": present[:4],
            "self_criticism_minutes": 15,
            "content": "Đánh giá kết quả tháng",
            "conclusions": "Thống nhất nhiệm vụ tháng tới",
            "resolutions": [
                {"text": "Nghị quyết tháng", "votes_for": len(present), "votes_against": 0, "abstentions": 0}
            ],
            "tasks": [
                {
                    "task_id": task,
                    "assignee_id": people[-1],
                    "description": "Rà soát hộ nghèo",
                    "due_on": (start + timedelta(days=20)).date().isoformat(),
                }
            ],
        },
        at=start + timedelta(minutes=100),
    )
    stream.emit(
        "minutes.approved.v1",
        {"meeting_id": meeting, "approved_at": (start + timedelta(minutes=95)).isoformat()},
        at=start + timedelta(minutes=101),
    )
    stream.emit(
        "meeting.assessed.v1",
        {
            "meeting_id": meeting,
            "assessor": {"role": "cell_committee", "person_id": people[0]},
            "points": {code: max(0, points - rng.randint(0, 1)) for code, points in MANUAL_POINTS.items()},
        },
        at=start + timedelta(minutes=102),
    )
    if previous_task is not None and rng.random() < 0.8:
        stream.emit(
            "task.completed.v1",
            {
                "meeting_id": previous_task[0],
                "task_id": previous_task[1],
                "completed_on": (start - timedelta(days=2)).date().isoformat(),
            },
            at=start - timedelta(days=1),
        )
    return (meeting, task)


async def publish(amqp_url: str, messages: list[list[dict[str, Any]] | dict[str, Any]]) -> None:
    """Each item as one message on chibo.ingest: a list as a batch, a dict as one event (routing key = its type)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INGEST_EXCHANGE)
        for item in messages:
            body = json.dumps(item, ensure_ascii=False).encode()
            batch = isinstance(item, list)
            routing_key = "batch" if isinstance(item, list) else str(item["type"])
            await exchange.publish(
                aio_pika.Message(
                    body,
                    content_type=BATCH_CONTENT_TYPE if batch else CLOUDEVENT_CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=routing_key,
            )
    finally:
        await connection.close()


def without_wall_clock(row: str) -> str:
    """A row's JSON with `held_since` (evaluation's cell_period: when a month first held a meeting here) and `rated_at`
    (when a period was first rated, evaluation 0046), both by the wall clock of the process that stored them, read
    only as whether they are set."""
    values = json.loads(row)
    for moment in ("held_since", "rated_at"):
        if moment in values:
            values[moment] = values[moment] is not None
    return json.dumps(values, sort_keys=True)


async def state_of(dsn: str) -> dict[str, Any]:
    """Every compared table's rows (without when they were computed), held events and rejections."""
    conn = await asyncpg.connect(dsn)
    try:
        state: dict[str, Any] = {}
        for schema, tables in COMPARED.items():
            for table in tables:
                rows = await conn.fetch(f"SELECT (to_jsonb(t) - 'computed_at')::text AS row FROM {schema}.{table} t")  # noqa: S608 (fixed names)
                state[f"{schema}.{table}"] = sorted(without_wall_clock(row["row"]) for row in rows)
        state["held"] = await conn.fetchval("SELECT count(*) FROM meetings.held_event")
        state["rejected"] = sorted(
            (row["event_id"], row["reason"])
            for row in await conn.fetch("SELECT event_id, reason FROM meetings.rejection")
        )
        return state
    finally:
        await conn.close()


async def quiet(amqp_url: str, dsn: str) -> bool:
    """True when the consumed queues are empty, no outbox row waits and no cell waits to be scored."""
    waiting = await backlog(amqp_url, dsn, queues=(MEETINGS_INGEST, EVALUATION_FACTS), schemas=tuple(COMPARED))
    return not any(waiting.values())


async def settled_state(amqp_url: str, dsn: str, *, expected: dict[str, Any] | None = None) -> dict[str, Any]:
    """The state once the run is quiet and its state stopped changing over three polls (or equals `expected`)."""
    deadline = time.monotonic() + TIMEOUT
    previous: dict[str, Any] | None = None
    steady = 0
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if await quiet(amqp_url, dsn):
            state = await state_of(dsn)
            if expected is not None and state == expected and await quiet(amqp_url, dsn):
                return state
            steady = steady + 1 if state == previous else 0
            if steady >= 3:
                return state
            previous = state
        await asyncio.sleep(2)
    return state


async def run(amqp_url: str, dsn: str, messages: list[Any], expected: dict[str, Any] | None) -> dict[str, Any]:
    """Publish the messages and return the settled state."""
    await declare_topology(amqp_url)
    await publish(amqp_url, messages)
    return await settled_state(amqp_url, dsn, expected=expected)


def run_system(replicas: int, messages: list[Any], expected: dict[str, Any] | None) -> dict[str, Any]:
    """`replicas` processes of meetings and of evaluation on a fresh vhost and database, fed the messages."""
    with (
        isolated_vhost(DEFAULT_AMQP_URL) as amqp_url,
        fresh_database(DEFAULT_DATABASE_URL) as dsn,
        tempfile.TemporaryDirectory() as workdir,
        running_replicas(
            amqp_url=amqp_url,
            database_url=dsn,
            workdir=Path(workdir),
            replicas={"meetings": replicas, "evaluation": replicas},
            extra_env={"CHIBO_LOG_LEVEL": "WARNING", "CHIBO_RELAY_POLL_SECONDS": "0.2"},
        ) as processes,
    ):
        state = asyncio.run(run(amqp_url, dsn, messages, expected))
        for name, started in processes.items():
            assert all(process.poll() is None for process in started), f"a {name} process exited"
        return state


def test_three_processes_of_each_service_fed_a_shuffled_duplicated_stream_end_as_one_does_in_order() -> None:
    events = province_stream()
    in_order: list[Any] = [events[i : i + 100] for i in range(0, len(events), 100)]
    one = run_system(1, in_order, None)
    assert one["held"] == 0 and one["rejected"] == [], one["rejected"]
    assert len(one["evaluation.meeting_score"]) >= 20 and one["evaluation.cell_period"]

    rng = random.Random(2026)
    stream = events + rng.sample(events, len(events) // 3)
    rng.shuffle(stream)
    shuffled: list[Any] = []
    while stream:
        size = rng.choice([1, 1, 5, 20, 60])
        chunk, stream = stream[:size], stream[size:]
        shuffled.append(chunk[0] if size == 1 else chunk)
    three = run_system(3, shuffled, one)
    differing = sorted(key for key in one if one[key] != three.get(key))
    assert not differing, {key: (len(one[key]), len(three.get(key) or [])) for key in differing}
