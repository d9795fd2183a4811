"""Issue 12: a batch backfill ends in exactly the state the same events reach sent one at a time.

A generated province's history, with what makes a batch hard mixed in: events held until a later event of the same
batch provides their referent, rejections in the middle of a transaction, copies of events inside the batch, older
snapshots after newer ones. Against the real database: the state tables, the inbox, the rejections and the facts
written to the outbox are compared (ids, times of arrival and order aside). Attendance histories are the one
intended difference: a batch announces a member's figures once, as they stand at the end of its transaction, so
what is compared is the figures last announced per member (and the attendance_figures table)."""

import copy
import io
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from structlog.testing import capture_logs

from services.meetings import handlers
from services.meetings.bulk.generate import generate_province
from services.meetings.handlers.ingest import INBOX
from services.meetings.unit_of_work import MeetingsUnitOfWork

UowFactory = Callable[[], MeetingsUnitOfWork]
TEMPLATE = "PFX-"

STATE_TABLES = [
    ("org_unit", "id", ()),
    ("member", "id", ()),
    ("member_version", "member_id", ()),
    ("monitor_assignment", "cell_id", ()),
    ("meeting", "meeting_id", ()),
    ("roster", "meeting_id", ()),
    ("attendance", "meeting_id", ()),
    ("minutes", "meeting_id", ()),
    ("task", "meeting_id", ()),
    ("task_completion", "meeting_id", ()),
    ("document", "meeting_id", ()),
    ("assessment", "meeting_id", ()),
    ("attendance_figures", "member_id", ("announced_at", "announced_sequence")),  # a batch announces fewer times
    ("held_event", "event_id", ("held_at", "released_at")),
    ("rejection", "event_id", ("rejection_id", "received_at", "replayed_at")),  # moments of the run
    ("processed_message", "event_id", ("processed_at", "digest", "stored_by")),  # stored_by: the request's token
]
"""(table, a column whose value starts with the run's prefix, columns that differ by nature between two runs)."""


def province_events() -> list[dict[str, Any]]:
    """A small generated province-year (ids starting with TEMPLATE), made harder for a batch."""
    out = io.StringIO()
    generate_province(out, cells=3, members=30, months=8, prefix=TEMPLATE, through="2025-10")
    events = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]

    def first(event_type: str) -> int:
        return next(i for i, event in enumerate(events) if event["type"] == event_type)

    def index_of(event_type: str, meeting_id: str) -> int:
        return next(
            i for i, e in enumerate(events) if e["type"] == event_type and e["data"].get("meeting_id") == meeting_id
        )

    # held until later events of the batch provide what they wait for: an approval before its minutes, a task's
    # completion before the minutes assigning it, a roster before its meeting is scheduled
    approval = events.pop(first("minutes.approved.v1"))
    events.insert(index_of("minutes.submitted.v1", approval["data"]["meeting_id"]), approval)
    done = events.pop(first("task.completed.v1"))
    events.insert(index_of("minutes.submitted.v1", done["data"]["meeting_id"]), done)
    roster = events.pop(
        next(i for i, e in enumerate(events) if e["type"] == "attendance.recorded.v1" and i > len(events) // 2)
    )
    events.insert(index_of("meeting.scheduled.v1", roster["data"]["meeting_id"]), roster)
    # released and held again inside the batch: a roster sent before its meeting, naming a member who comes after it
    late = next(e for e in reversed(events) if e["type"] == "attendance.recorded.v1")
    member_id = late["data"]["records"][0]["member_id"]
    newcomer = events.pop(
        next(i for i, e in enumerate(events) if e["type"] == "member.upserted.v1" and e["data"]["id"] == member_id)
    )
    events.remove(late)
    at = index_of("meeting.scheduled.v1", late["data"]["meeting_id"])
    events[at:at] = [late]
    events.insert(at + 2, newcomer)
    # rejected in the middle of a transaction: a meeting scheduled for a committee, and a body that is no event
    middle = len(events) // 2
    committee = next(e for e in events if e["type"] == "org.unit.upserted.v1" and e["data"]["kind"] == "committee")
    wrong = copy.deepcopy(next(e for e in events if e["type"] == "meeting.scheduled.v1"))
    wrong["id"], wrong["data"]["meeting_id"] = f"{TEMPLATE}wrong", f"{TEMPLATE}m-wrong"
    wrong["data"]["cell_id"] = committee["data"]["id"]
    unreadable = copy.deepcopy(wrong) | {"id": f"{TEMPLATE}unreadable"}
    del unreadable["data"]["starts_at"]
    events[middle:middle] = [wrong, unreadable]
    # an older snapshot after the newer one: kept in the history, the member row unchanged
    member = next(e for e in events if e["type"] == "member.upserted.v1")
    older = copy.deepcopy(member) | {"id": f"{TEMPLATE}older"}
    older["time"] = (datetime.fromisoformat(member["time"]) - timedelta(days=30)).isoformat()
    older["data"]["full_name"] = "Tên cũ"
    unit = next(e for e in events if e["type"] == "org.unit.upserted.v1" and e["data"]["kind"] == "cell")
    older_unit = copy.deepcopy(unit) | {"id": f"{TEMPLATE}older-unit"}
    older_unit["time"] = (datetime.fromisoformat(unit["time"]) - timedelta(days=30)).isoformat()
    older_unit["data"]["name"] = "Tên cũ"
    events.insert(middle + 10, older)
    events.insert(middle + 11, older_unit)
    # a monitor assignment: an older one after it changes nothing, a newer one in the same batch does
    monitor = next(e for e in events if e["type"] == "monitor.assigned.v1")
    older_monitor = copy.deepcopy(monitor) | {"id": f"{TEMPLATE}older-monitor"}
    older_monitor["time"] = (datetime.fromisoformat(monitor["time"]) - timedelta(days=30)).isoformat()
    older_monitor["data"]["full_name"] = "Tên cũ"
    newer_monitor = copy.deepcopy(monitor) | {"id": f"{TEMPLATE}newer-monitor"}
    newer_monitor["time"] = (datetime.fromisoformat(monitor["time"]) + timedelta(hours=1)).isoformat()
    newer_monitor["data"]["full_name"] = "Tên mới"
    at = events.index(monitor) + 1
    events[at:at] = [older_monitor, newer_monitor, copy.deepcopy(older_monitor) | {"id": f"{TEMPLATE}older-again"}]
    # copies inside the batch, right after the original and much later
    events.insert(middle + 20, copy.deepcopy(events[middle + 19]))
    events += [copy.deepcopy(events[5]), copy.deepcopy(events[middle + 30])]
    # moved twice (the second with a new place), then an older move that changes nothing; cancelled twice, the
    # older reason losing, then a move issued after the cancellation (rejected): reschedules and cancellations are
    # queued with the transaction's other writes
    move = next(e for e in events if e["type"] == "meeting.rescheduled.v1")
    again = copy.deepcopy(move) | {"id": f"{TEMPLATE}move-again"}
    again["time"] = (datetime.fromisoformat(move["time"]) + timedelta(hours=1)).isoformat()
    again["data"] = again["data"] | {"location": "Hội trường mới", "starts_at": again["time"]}
    stale = copy.deepcopy(move) | {"id": f"{TEMPLATE}move-stale"}
    stale["time"] = (datetime.fromisoformat(move["time"]) - timedelta(days=2)).isoformat()
    stale["data"] = stale["data"] | {"location": "Nhà cũ"}
    at = events.index(move) + 1
    events[at:at] = [again, stale]
    last = copy.deepcopy(next(e for e in reversed(events) if e["type"] == "meeting.scheduled.v1"))
    last["id"], last["data"]["meeting_id"] = f"{TEMPLATE}called-off", f"{TEMPLATE}m-called-off"
    events.append(last)
    cancel = {
        **{k: v for k, v in last.items() if k != "data"},
        "id": f"{TEMPLATE}cancel",
        "type": "meeting.cancelled.v1",
        "time": (datetime.fromisoformat(last["time"]) + timedelta(hours=2)).isoformat(),
        "data": {"meeting_id": last["data"]["meeting_id"], "reason": "Mưa bão"},
    }
    older_cancel = copy.deepcopy(cancel) | {"id": f"{TEMPLATE}cancel-older"}
    older_cancel["time"] = (datetime.fromisoformat(cancel["time"]) - timedelta(hours=1)).isoformat()
    older_cancel["data"] = {"meeting_id": cancel["data"]["meeting_id"], "reason": "Lý do cũ"}
    late_move = copy.deepcopy(again) | {"id": f"{TEMPLATE}move-late"}
    late_move["time"] = (datetime.fromisoformat(cancel["time"]) + timedelta(hours=1)).isoformat()
    late_move["data"] = late_move["data"] | {"meeting_id": cancel["data"]["meeting_id"]}
    at = events.index(last) + 1
    events[at:at] = [cancel, older_cancel, late_move]
    # a snapshot of the schedule, an adoption and a task's completion each reported again newer, then older, in the
    # same transaction: their rows are sent as one set-based statement each, which keeps the newest per key
    for event_type, change in (
        ("meeting.scheduled.v1", {"topic": "Chủ đề mới"}),
        ("minutes.approved.v1", {"votes_for": 1}),
        ("task.completed.v1", {}),
    ):
        original = next(e for e in events if e["type"] == event_type)
        newer = copy.deepcopy(original) | {"id": f"{TEMPLATE}{event_type}-newer"}
        newer["time"] = (datetime.fromisoformat(original["time"]) + timedelta(minutes=5)).isoformat()
        newer["data"] = newer["data"] | change
        older = copy.deepcopy(original) | {"id": f"{TEMPLATE}{event_type}-older"}
        older["time"] = (datetime.fromisoformat(original["time"]) - timedelta(minutes=5)).isoformat()
        at = events.index(original) + 1
        events[at:at] = [newer, older]
    return events


def materialize(events: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The events with every id under the run's own prefix."""
    return [json.loads(json.dumps(event, ensure_ascii=False).replace(TEMPLATE, prefix)) for event in events]


async def stored_state(pool: asyncpg.Pool, prefix: str) -> dict[str, Any]:
    """Every row the run left, prefix replaced, as sorted JSON lines per table, and the outbox's facts."""
    state: dict[str, Any] = {}
    async with pool.acquire() as conn:
        for table, column, volatile in STATE_TABLES:
            rows = await conn.fetch(f"SELECT * FROM {table} WHERE {column} LIKE $1", prefix + "%")
            lines = [
                json.dumps({k: v for k, v in dict(row).items() if k not in volatile}, default=str, sort_keys=True)
                for row in rows
            ]
            state[table] = sorted(line.replace(prefix, "P") for line in lines)
        outbox = await conn.fetch(
            "SELECT type, payload::text AS payload FROM outbox WHERE payload::text LIKE $1 ORDER BY id",
            f"%{prefix}%",
        )
    facts: list[str] = []
    figures: dict[str, str] = {}
    for row in outbox:
        payload = json.loads(row["payload"].replace(prefix, "P"))
        data = payload["data"]
        if row["type"] == "member.attendance.updated.v1":
            # the announcement's number counts announcements: a batch announces a member once, not once per event
            figures[data["member_id"]] = json.dumps(
                {k: v for k, v in data.items() if k not in ("meeting_id", "sequence")}
            )
            continue
        data.pop("received_at", None)
        facts.append(json.dumps([row["type"], payload.get("subject"), data], sort_keys=True))
    state["facts"] = sorted(facts)
    # a member never announced counts as announced at zeros: one whose history fell back to zeros one event at a
    # time was announced so, while a batch that ends there announces nothing
    state["figures"] = {member: line for member, line in figures.items() if not _zeros(json.loads(line))}
    state["attendance_figures"] = [line for line in state["attendance_figures"] if not _zeros(json.loads(line))]
    return state


def _zeros(figures: dict[str, Any]) -> bool:
    """Whether attendance figures are all zero."""
    return not any(figures[name] for name in FIGURE_NAMES)


FIGURE_NAMES = ("consecutive_absences", "consecutive_excused_absences", "unexcused_months_last_year")


async def test_a_batch_backfill_ends_as_the_same_events_sent_one_at_a_time(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory
) -> None:
    template = province_events()
    alone, batched = (f"q{uuid.uuid4().hex[:10]}-" for _ in range(2))

    one_by_one = [
        (await handlers.ingest_batch([raw], uow_factory, route="test"))[0].outcome
        for raw in materialize(template, alone)
    ]
    with capture_logs() as lines:
        together = [
            result.outcome
            for result in await handlers.ingest_batch(materialize(template, batched), uow_factory, route="test")
        ]

    assert together == one_by_one
    # each transaction of the batch commits as planned: none fails and falls back to its events one by one (a
    # set-based upsert meeting one key twice would fail its whole transaction)
    assert not [line for line in lines if line["event"] in ("ingest_chunk_failed", "ingest_transaction_retried")]
    assert {"accepted", "held", "rejected", "duplicate"} <= set(together)
    expected = await stored_state(meetings_pool, alone)
    assert expected["meeting"] and expected["figures"]
    assert {'"Pwrong"', '"Punreadable"'} <= {json.dumps(json.loads(line)["event_id"]) for line in expected["rejection"]}
    assert not expected["held_event"]  # every hold was released by a later event
    assert any(INBOX in line for line in expected["processed_message"])
    assert await stored_state(meetings_pool, batched) == expected
