"""A consumer falling behind shows to operators: a trial's notifications worked 13 minutes through 1,000 member
snapshots while its /health, the heartbeats, /v1/system/health and `make status` said it worked normally
(`notifications.events: 0`: the batch was one unacked message). The running service against the real broker."""

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import aio_pika
import httpx
import pytest

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from services.notifications.handlers import BATCH_HANDLERS, HANDLERS
from shared.instances import InstanceBoard
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.events import Province, event, publish
from tests.support.running import eventually, running_app

QUEUE = NOTIFICATIONS_EVENTS.name


def _backlog_lines(lines: Sequence[Any]) -> list[str]:
    return [line for line in lines if isinstance(line, str) and "tồn đọng" in line]


@pytest.mark.usefixtures("fresh_backlog")
async def test_a_delivery_worked_on_too_long_makes_health_name_the_queue_until_it_is_done(
    settings: Settings, amqp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(*_: Any) -> None:
        started.set()
        await release.wait()

    monkeypatch.setitem(cast(dict[str, Any], HANDLERS), "member.upserted.v1", slow)
    monkeypatch.setitem(cast(dict[str, Any], BATCH_HANDLERS), "member.upserted.v1", slow)
    settings = settings.model_copy(update={"backlog_attention_seconds": 1.0, "status_every_seconds": 0.3})
    p = Province()
    board = InstanceBoard()
    connection = await aio_pika.connect_robust(amqp_url)
    await board.listen(connection, owner="test-backlog")
    try:
        async with running_app(build_app(settings)) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:

            async def health() -> dict[str, Any]:
                body: dict[str, Any] = (await client.get("/health")).json()
                return body

            data = {
                "id": p.member,
                "full_name": "Lê Văn Đức",
                "cell_id": p.cell,
                "status": "official",
                "role": "member",
            }
            await publish(amqp_url, [event("member.upserted.v1", data)])
            await asyncio.wait_for(started.wait(), timeout=60)

            async def named() -> dict[str, Any] | None:
                body = await health()
                # a probe whose database or broker check ran past its 2 s on a loaded machine says `down` besides:
                # the next one, answered in time, says what the backlog alone makes it
                return body if _backlog_lines(body["attention"]) and body["status"] != "down" else None

            body = await eventually(named)
            assert body["service"] == "notifications" and body["status"] == "degraded"
            (line,) = _backlog_lines(body["attention"])
            assert line.startswith(f"hàng đợi {QUEUE} đang tồn đọng quá 1 s: 1 lượt đang xử lý"), line
            assert body["backlog"][QUEUE]["in_progress"] == 1
            assert body["backlog"][QUEUE]["oldest_in_progress_seconds"] > 1

            # the heartbeat over RabbitMQ carries it: the gateway's view of the service (/v1/system/health,
            # /app/operations) says `notifications: hàng đợi notifications.events …`
            def heard() -> list[str]:
                verdict, _, lines = board.view("notifications")
                return _backlog_lines(lines) if verdict == "degraded" else []

            assert (await eventually(heard))[0].startswith(f"hàng đợi {QUEUE} đang tồn đọng")

            release.set()

            async def drained() -> dict[str, Any] | None:
                body = await health()
                figures = body["backlog"][QUEUE]
                done = not _backlog_lines(body["attention"]) and figures["in_progress"] == 0
                return body if done else None

            body = await eventually(drained)
            assert body["backlog"][QUEUE]["events_per_second"] > 0
            assert await eventually(lambda: not _backlog_lines(board.view("notifications")[2]) or None)
    finally:
        release.set()
        await board.close()
        await connection.close()
