"""Builders of the events meetings and evaluation publish on chibo.events, and a publisher."""

from datetime import datetime, timedelta
from typing import Any

import aio_pika

from shared.config import broker_user_of
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE, CloudEvent, now
from shared.topology import EVENTS_EXCHANGE
from tests.support.ids import random_id


def event(
    event_type: str,
    data: dict[str, Any],
    *,
    time: datetime | None = None,
    source: str = "urn:chibo:meetings",
    event_id: str | None = None,
) -> CloudEvent:
    """One CloudEvent as meetings (or evaluation) would publish it."""
    return CloudEvent(
        specversion="1.0",
        id=event_id or random_id("evt"),
        source=source,
        type=event_type,
        time=time or now(),
        data=data,
    )


CELL_SCORES = {"good": 90.0, "fair": 75.0, "average": 55.0, "poor": 40.0}
"""A score of each rating, for the builders of score.cell.updated.v1."""


def cell_rated(cell_id: str, period: str, rating: str, *, time: datetime, event_id: str | None = None) -> CloudEvent:
    """score.cell.updated.v1 of the cell's period at a rating (its score CELL_SCORES says), as evaluation publishes it
    at `time`."""
    return event(
        "score.cell.updated.v1",
        {
            "cell_id": cell_id,
            "period": period,
            "rating": rating,
            "score": CELL_SCORES[rating],
            "regular_held": 1,
            "thematic_held": 0,
            "attendance_rate": 0.8,
            "speaking_rate": 0.5,
            "flags": [],
        },
        source="urn:chibo:evaluation",
        time=time,
        event_id=event_id,
    )


class Province:
    """A committee, a cell, its members and a monitor, with unique ids and e-mails per test."""

    def __init__(self) -> None:
        self.committee = random_id("ward")
        self.cell = random_id("cell")
        self.secretary = random_id("bt")
        self.deputy = random_id("pbt")
        self.member = random_id("dv")
        self.exempt = random_id("mien")
        self.monitor = random_id("mon")
        self.origin = now() - timedelta(days=400)

    def email(self, person_id: str) -> str:
        """The test address of a person or committee."""
        return f"{person_id}@test.chibo.vn"

    def setup(self) -> list[CloudEvent]:
        """Units, members and the monitor, timed long ago so every period rule may judge."""
        t = self.origin
        people = [
            (self.secretary, "Nguyễn Văn Bình", "secretary", False),
            (self.deputy, "Trần Thị Hoa", "deputy_secretary", False),
            (self.member, "Lê Văn Đức", "member", False),
            (self.exempt, "Phạm Thị Lành", "member", True),
        ]
        return [
            event(
                "org.unit.upserted.v1",
                {
                    "id": self.committee,
                    "name": "Đảng ủy phường Hòa Bình",
                    "kind": "committee",
                    "parent_id": None,
                    "contact_emails": [self.email(self.committee)],
                },
                time=t,
            ),
            event(
                "org.unit.upserted.v1",
                {
                    "id": self.cell,
                    "name": "Chi bộ khu phố Đông",
                    "kind": "cell",
                    "parent_id": self.committee,
                    "category": "residential",
                },
                time=t,
            ),
            *[
                event(
                    "member.upserted.v1",
                    {
                        "id": pid,
                        "full_name": name,
                        "cell_id": self.cell,
                        "status": "official",
                        "role": role,
                        "exempt": exempt,
                        "email": self.email(pid),
                    },
                    time=t,
                )
                for pid, name, role, exempt in people
            ],
            event(
                "monitor.assigned.v1",
                {
                    "person_id": self.monitor,
                    "full_name": "Võ Minh Tâm",
                    "committee_id": self.committee,
                    "cell_id": self.cell,
                    "email": self.email(self.monitor),
                },
                time=t,
            ),
        ]

    def scheduled(self, meeting_id: str, starts_at: datetime, **extra: Any) -> CloudEvent:
        """meeting.scheduled.v1 of a regular meeting of the cell."""
        data = {
            "meeting_id": meeting_id,
            "cell_id": self.cell,
            "kind": "regular",
            "starts_at": starts_at.isoformat(),
            "location": "Nhà văn hóa khu phố Đông",
            "agenda": ["Kiểm điểm nghị quyết tháng trước"],
        } | extra
        return event("meeting.scheduled.v1", data)

    def minutes(self, meeting_id: str, ended_at: datetime, **extra: Any) -> CloudEvent:
        """minutes.submitted.v1 of a meeting of the cell that ended at `ended_at` (so it was held)."""
        data = {
            "meeting_id": meeting_id,
            "started_at": (ended_at - timedelta(hours=2)).isoformat(),
            "ended_at": ended_at.isoformat(),
            "chair_id": self.secretary,
            "recorder_id": self.deputy,
            "speakers": [],
            "resolutions": [],
            "tasks": [],
        } | extra
        return event("minutes.submitted.v1", data)


async def publish(amqp_url: str, events: list[CloudEvent]) -> None:
    """Publish events on chibo.events with their type as routing key, persistent."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for item in events:
            await exchange.publish(
                aio_pika.Message(
                    item.to_json(),
                    content_type=CLOUDEVENT_CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=item.id,
                    user_id=broker_user_of(amqp_url),
                ),
                routing_key=item.type,
            )
    finally:
        await connection.close()


async def publish_batches(amqp_url: str, events: list[CloudEvent]) -> None:
    """Publish events on chibo.events as one-type batch messages (as a relay does for bulk work), routing key = type."""
    batches: dict[str, list[CloudEvent]] = {}
    for item in events:
        batches.setdefault(item.type, []).append(item)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for event_type, batch in batches.items():
            body = b"[" + b",".join(item.to_json() for item in batch) + b"]"
            await exchange.publish(
                aio_pika.Message(
                    body,
                    content_type=BATCH_CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    user_id=broker_user_of(amqp_url),
                ),
                routing_key=event_type,
            )
    finally:
        await connection.close()
