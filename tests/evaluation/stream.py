"""CloudEvents as meetings republishes them on chibo.events, for one cell's history."""

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import aio_pika
import asyncpg

from shared.config import broker_user_of
from shared.periods import VIETNAM_TZ
from shared.topology import EVENTS_EXCHANGE
from tests.evaluation.waiting import applied_and_scored, tree_applied
from tests.support.ids import random_id
from tests.support.running import eventually

SOURCE = "urn:chibo:meetings"


def fact(event_type: str, data: dict[str, Any], *, time: datetime, event_id: str | None = None) -> dict[str, Any]:
    """One validated fact in its envelope."""
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": SOURCE,
        "type": event_type,
        "time": time.isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


def at(month: int, day: int, hour: int = 19, minute: int = 0) -> datetime:
    """A local instant in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=VIETNAM_TZ)


def regular_meeting(meeting_id: str, month: int) -> dict[str, Any]:
    """meeting.scheduled.v1 of cell c1's regular meeting on the 5th of `month`, at 19:00, not prepared by the
    committee; scheduled on the 1st."""
    data = {
        "meeting_id": meeting_id,
        "cell_id": "c1",
        "kind": "regular",
        "starts_at": at(month, 5).isoformat(),
        "location": "Nhà văn hóa",
        "agenda": ["Thường kỳ"],
        "committee_prepared": False,
    }
    return fact("meeting.scheduled.v1", data, time=at(month, 1))


def village_meeting(meeting_id: str, cell_id: str, *, starts_at: datetime, time: datetime) -> dict[str, Any]:
    """meeting.scheduled.v1 of `cell_id`'s regular meeting at thôn 1's cultural house starting `starts_at`, sent at
    `time`."""
    data = {
        "meeting_id": meeting_id,
        "cell_id": cell_id,
        "kind": "regular",
        "starts_at": starts_at.isoformat(),
        "location": "Nhà văn hóa thôn 1",
        "agenda": ["Sinh hoạt thường kỳ"],
    }
    return fact("meeting.scheduled.v1", data, time=time)


def unit(cell_id: str, *, time: datetime, active: bool = True) -> dict[str, Any]:
    """A snapshot of a cell of the ward."""
    data = {"id": cell_id, "name": "Chi bộ khu phố 7", "kind": "cell", "parent_id": "ward", "active": active}
    return fact("org.unit.upserted.v1", data, time=time)


def ward_with_cell(cell_id: str, *, time: datetime) -> list[dict[str, Any]]:
    """The ward (a root committee), one cell of it (unit) and the cell's three official members `{cell_id}-m1..3`."""
    ward = {"id": "ward", "name": "Đảng ủy phường", "kind": "committee", "parent_id": None}
    members = [
        {"id": f"{cell_id}-m{n}", "full_name": f"Đảng viên {n}", "cell_id": cell_id, "status": "official"}
        for n in (1, 2, 3)
    ]
    return [
        fact("org.unit.upserted.v1", ward, time=time),
        unit(cell_id, time=time),
        *(fact("member.upserted.v1", member, time=time) for member in members),
    ]


def cell_history(*, committee_id: str, cell_id: str, prefix: str) -> list[dict[str, Any]]:
    """A committee, a cell of 6 members, and four months of meetings with every kind of fact."""
    t0 = at(1, 1, 8)
    events = [
        fact(
            "org.unit.upserted.v1",
            {"id": committee_id, "name": "Đảng ủy phường", "kind": "committee", "parent_id": None},
            time=t0,
        ),
        fact(
            "org.unit.upserted.v1",
            {
                "id": cell_id,
                "name": "Chi bộ khu phố 1",
                "kind": "cell",
                "parent_id": committee_id,
                "category": "residential",
            },
            time=t0,
        ),
    ]
    members = [f"{prefix}-m{i}" for i in range(1, 7)]
    for index, member in enumerate(members):
        role = "secretary" if index == 0 else "committee_member" if index == 1 else "member"
        events.append(
            fact(
                "member.upserted.v1",
                {
                    "id": member,
                    "full_name": f"Đảng viên {index + 1}",
                    "cell_id": cell_id,
                    "status": "official",
                    "role": role,
                },
                time=t0,
            )
        )
    previous_tasks: list[str] = []
    for month, kind in ((3, "regular"), (4, "regular"), (5, "combined"), (6, "regular")):
        meeting_id = f"{prefix}-mt{month}"
        start = at(month, 5)
        scheduled = {
            "meeting_id": meeting_id,
            "cell_id": cell_id,
            "kind": kind,
            "starts_at": start.isoformat(),
            "location": "Nhà văn hóa",
            "agenda": ["Kiểm điểm"],
            "committee_prepared": month != 4,
        }
        if kind == "combined":
            scheduled["topic"] = "Học tập chuyên đề"
        events.append(fact("meeting.scheduled.v1", scheduled, time=start - timedelta(days=6)))
        if month == 4:
            start = start + timedelta(days=1)
            events.append(
                fact(
                    "meeting.rescheduled.v1",
                    {"meeting_id": meeting_id, "starts_at": start.isoformat(), "reason": "mưa"},
                    time=start - timedelta(days=3),
                )
            )
        events.append(
            fact(
                "documents.published.v1",
                {
                    "meeting_id": meeting_id,
                    "published_at": (start - timedelta(days=2)).isoformat(),
                    "items": [{"title": "Dự thảo nghị quyết", "kind": "draft_resolution"}],
                },
                time=start - timedelta(days=2),
            )
        )
        statuses = ["present"] * 4 + (["excused", "present"] if month != 5 else ["excused", "absent"])
        stale = [{"member_id": m, "status": "absent"} for m in members]
        events.append(
            fact(
                "attendance.recorded.v1",
                {"meeting_id": meeting_id, "records": stale},
                time=start + timedelta(minutes=5),
            )
        )
        events.append(
            fact(
                "attendance.recorded.v1",
                {
                    "meeting_id": meeting_id,
                    "records": [{"member_id": m, "status": s} for m, s in zip(members, statuses, strict=True)],
                },
                time=start + timedelta(minutes=30),
            )
        )
        end = start + timedelta(minutes=95 if month != 6 else 70)
        tasks = [
            {
                "task_id": f"{meeting_id}-t{n}",
                "assignee_id": members[n],
                "description": "Việc",
                "due_on": (start + timedelta(days=20)).date().isoformat(),
            }
            for n in range(3)
        ]
        events.append(
            fact(
                "minutes.submitted.v1",
                {
                    "meeting_id": meeting_id,
                    "started_at": start.isoformat(),
                    "ended_at": end.isoformat(),
                    "chair_id": members[0],
                    "recorder_id": members[1],
                    "speakers": members[:3],
                    "self_criticism_minutes": 20,
                    "content": "Nội dung",
                    "conclusions": "Kết luận",
                    # every member present votes for it (May's four: more votes than present is none, votes_over)
                    "resolutions": [
                        {
                            "text": "Nghị quyết",
                            "votes_for": statuses.count("present"),
                            "votes_against": 0,
                            "abstentions": 0,
                        }
                    ],
                    "tasks": tasks,
                },
                time=end + timedelta(minutes=10),
            )
        )
        events.append(
            fact(
                "minutes.approved.v1",
                # adopted by the members present, as the secretary's form records it (closing.minutes_and_tasks)
                {
                    "meeting_id": meeting_id,
                    "approved_at": end.isoformat(),
                    "votes_for": statuses.count("present"),
                    "votes_against": 0,
                },
                time=end + timedelta(minutes=11),
            )
        )
        events.append(
            fact(
                "documents.published.v1",
                {
                    "meeting_id": meeting_id,
                    "published_at": (end + timedelta(hours=30)).isoformat(),
                    "items": [{"title": "Biên bản", "kind": "minutes"}, {"title": "Nghị quyết", "kind": "resolution"}],
                },
                time=end + timedelta(hours=30),
            )
        )
        events.append(
            fact(
                "meeting.assessed.v1",
                {
                    "meeting_id": meeting_id,
                    "assessor": {"role": "cell_committee"},
                    "points": {"conduct.procedure": 4, "chairing.orientation": 3},
                },
                time=end + timedelta(hours=1),
            )
        )
        if month != 6:
            events.append(
                fact(
                    "meeting.assessed.v1",
                    {
                        "meeting_id": meeting_id,
                        "assessor": {"role": "upper_monitor"},
                        "points": {
                            "preparation.content": 3,
                            "conduct.procedure": 5,
                            "conduct.regular_content": 9,
                            "conduct.thematic_content": 4,
                            "conduct.praise_criticism": 2,
                            "chairing.flexible": 2,
                            "chairing.orientation": 4,
                            "chairing.atmosphere": 3,
                            "chairing.synthesis": 1,
                            "principles.democratic_centralism": 1,
                            "principles.self_criticism": 2,
                            "principles.leadership": 1,
                            "principles.informing": 1,
                        },
                    },
                    time=end + timedelta(days=3),
                )
            )
        for n, task_id in enumerate(previous_tasks):
            done = at(month - 1, 5) + timedelta(days=19 if n else 25)
            events.append(
                fact(
                    "task.completed.v1",
                    {
                        "meeting_id": f"{prefix}-mt{month - 1}",
                        "task_id": task_id,
                        "completed_on": done.date().isoformat(),
                    },
                    time=done,
                )
            )
        previous_tasks = [task["task_id"] for task in tasks]
    cancelled = f"{prefix}-mt-cancel"
    events.append(
        fact(
            "meeting.scheduled.v1",
            {
                "meeting_id": cancelled,
                "cell_id": cell_id,
                "kind": "extraordinary",
                "starts_at": at(5, 15).isoformat(),
                "location": "Hội trường",
                "agenda": ["Việc đột xuất"],
            },
            time=at(5, 10),
        )
    )
    events.append(fact("meeting.cancelled.v1", {"meeting_id": cancelled, "reason": "hoãn"}, time=at(5, 12)))
    return events


async def publish(amqp_url: str, events: list[dict[str, Any]]) -> None:
    """Publish facts on chibo.events as meetings' relay does."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for event in events:
            await exchange.publish(
                aio_pika.Message(
                    json.dumps(event).encode(),
                    content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    user_id=broker_user_of(amqp_url),
                ),
                routing_key=event["type"],
            )
    finally:
        await connection.close()


def by_type(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The events as one-type batches (CONTRACT.md "Route out"), each in the events' order."""
    batches: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        batches.setdefault(event["type"], []).append(event)
    return list(batches.values())


async def publish_batches(amqp_url: str, batches: list[list[dict[str, Any]]]) -> None:
    """Publish each list of one-type facts as one batch message on chibo.events, routing key = the type."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for batch in batches:
            await exchange.publish(
                aio_pika.Message(
                    json.dumps(batch).encode(),
                    content_type="application/cloudevents-batch+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    user_id=broker_user_of(amqp_url),
                ),
                routing_key=batch[0]["type"],
            )
    finally:
        await connection.close()


async def applied_ward(amqp_url: str, database_url: str) -> dict[str, str]:
    """A committee with a cell holding four months of meetings (cell_history) and a cell that never met, published
    and waited on until the running evaluation service applied and scored them all: their ids and the history's
    member prefix. Its tree applied too (waiting.tree_applied): a committee read right after answers of it, not of
    the tree as last applied."""
    committee_id, cell_a, cell_b, prefix = random_id("ward"), random_id("cell"), random_id("cell"), random_id("h")
    events = cell_history(committee_id=committee_id, cell_id=cell_a, prefix=prefix)
    unit = {"id": cell_b, "name": "Chi bộ thôn Đông", "kind": "cell", "parent_id": committee_id}
    events.append(fact("org.unit.upserted.v1", unit, time=at(1, 1, 9)))
    await publish(amqp_url, events)
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "evaluation"})
    try:
        ids, cells = [event["id"] for event in events], [cell_a, cell_b]
        await eventually(lambda: applied_and_scored(conn, event_ids=ids, cell_ids=cells), timeout=60, interval=0.3)
        await tree_applied(conn)
    finally:
        await conn.close()
    return {"committee": committee_id, "cell_a": cell_a, "cell_b": cell_b, "prefix": prefix}
