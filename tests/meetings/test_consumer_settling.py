"""How the ingest subscriber settles a delivery when the infrastructure fails (the broker side is in other tests)."""

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.meetings.consumers import on_ingest
from tests.meetings import events as ev


@dataclass
class FakeRaw:
    routing_key: str = "meeting.scheduled.v1"
    content_type: str = "application/cloudevents+json"
    headers: dict[str, Any] = field(default_factory=lambda: {"x-delivery-count": 0})
    body: bytes = b""
    user_id: str | None = None
    reply_to: str | None = None


@dataclass
class FakeMessage:
    raw_message: FakeRaw = field(default_factory=FakeRaw)
    settled: list[str] = field(default_factory=list)

    async def ack(self) -> None:
        self.settled.append("ack")

    async def reject(self, requeue: bool = False) -> None:
        self.settled.append("requeue" if requeue else "dead-letter")


async def test_a_database_failure_requeues_the_delivery_so_the_delivery_limit_can_dead_letter_it(
    database_url: str,
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    await pool.close()
    body = ev.raw_event("meeting.cancelled.v1", {"meeting_id": "m1", "reason": "x"})
    message = FakeMessage(FakeRaw(body=str(body).encode()))
    await on_ingest(message, pool)  # type: ignore[arg-type]
    assert message.settled == ["requeue"]
