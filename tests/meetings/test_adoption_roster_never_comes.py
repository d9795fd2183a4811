"""Another system's adoption of minutes waits for the attendance roster (held for `roster:<meeting>`, CONTRACT.md:
order is not guaranteed); when the roster never comes, the hold is rejected after the hold timeout (24 hours,
CHIBO_HOLD_TIMEOUT_SECONDS) by the service's own sweep, and operators see it: the open rejection (`hold_expired`,
naming data.meeting_id and what it waited for), ingest.rejected.v1 on the bus, the log lines and the open-rejections
gauge. Through the real broker and database, the meetings service running in this process.

The sweep reads the time from the wall clock (shared.envelope.now; meetings injects no clock), so the test moves the
hold's `held_at` back instead of waiting: a day of waiting without a sleep."""

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.meetings import handlers
from shared.contracts import meetings_rpc as meetings
from shared.envelope import now
from shared.refusals import RefusalCode
from shared.rpc import RpcClient, RpcError
from tests.meetings import events as ev
from tests.meetings.feed import feed
from tests.ops.scrape import sample_sum
from tests.support.ids import random_id
from tests.support.logs import route_logs_to_stdlib, structured_logs
from tests.support.rpc import ask, rpc_client
from tests.support.running import eventually

DAY = 86400
"""The hold timeout the meetings_service fixture runs with, as deployed (config.Settings.hold_timeout_seconds)."""


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The service's structured log lines, as this test causes them."""
    route_logs_to_stdlib(caplog)
    caplog.set_level(logging.INFO)
    return caplog


@pytest.fixture
async def rpc(amqp_url: str) -> AsyncIterator[RpcClient]:
    """An RPC client to meetings, as the gateway's operations page asks it."""
    async with rpc_client(amqp_url, timeout=30) as client:
        yield client


async def held_for(db: asyncpg.Connection, event: dict[str, Any]) -> str | None:
    """What the event's hold waits for; None while it is not held."""
    return await db.fetchval(
        "SELECT waiting_for FROM meetings.held_event WHERE source = $1 AND event_id = $2 AND released_at IS NULL",
        event["source"],
        event["id"],
    )


async def move_hold_back(db: asyncpg.Connection, event: dict[str, Any], *, seconds: float) -> None:
    """The event held since `seconds` ago."""
    await db.execute(
        "UPDATE meetings.held_event SET held_at = now() - make_interval(secs => $3)"
        " WHERE source = $1 AND event_id = $2",
        event["source"],
        event["id"],
        float(seconds),
    )


async def open_rejections(client: httpx.AsyncClient, base: str) -> float:
    """The service's chibo_rejections_open gauge, as Prometheus scrapes it."""
    return sample_sum((await client.get(base + "/metrics")).text, "chibo_rejections_open")


async def test_an_adoption_whose_roster_never_comes_is_rejected_after_the_hold_and_shown_to_operators(
    meetings_service: str,
    amqp_url: str,
    db: asyncpg.Connection,
    uow_factory: Any,
    rpc: RpcClient,
    lines: pytest.LogCaptureFixture,
) -> None:
    ids = {name: random_id(name) for name in ("committee", "cell", "mem", "mtg")}
    before = now() - timedelta(days=30)
    started = now() - timedelta(hours=2)
    adoption = ev.raw_event(
        "minutes.approved.v1", {"meeting_id": ids["mtg"], "approved_at": now().isoformat()}, time=now()
    )
    async with feed(amqp_url) as bus:
        for raw in (
            ev.unit(ids["committee"], kind="committee", name="Đảng ủy xã", time=before),
            ev.unit(ids["cell"], parent_id=ids["committee"], time=before),
            ev.member(ids["mem"], ids["cell"], time=before),
            ev.scheduled(ids["mtg"], ids["cell"], starts_at=started, time=before),
            ev.minutes(ids["mtg"], chair_id=ids["mem"], started_at=started, time=now()),
            adoption,  # no attendance.recorded.v1 is ever sent
        ):
            await bus.publish(raw)
        waiting = f"roster:{ids['mtg']}"
        await eventually(lambda: held_for(db, adoption), timeout=60)
        assert await held_for(db, adoption) == waiting
        # the operations page lists it as held, saying what it waits for
        shown = await ask(rpc, meetings.GetHeldEvent(source=adoption["source"], event_id=adoption["id"]))
        assert (shown["waiting_for"], shown["field"]) == (waiting, "data.meeting_id"), shown

        # a minute short of the day: a sweep keeps it
        await move_hold_back(db, adoption, seconds=DAY - 60)
        async with uow_factory() as uow:
            await handlers.expire_holds(uow, timeout=timedelta(seconds=DAY))
            await uow.commit()
        assert await held_for(db, adoption) == waiting

        async with httpx.AsyncClient() as client:
            gauge_before = await open_rejections(client, meetings_service)
            # a minute past the day: the service's own sweep (every hold_sweep_seconds) rejects it
            await move_hold_back(db, adoption, seconds=DAY + 60)
            rejection_id = await eventually(
                lambda: db.fetchval(
                    "SELECT rejection_id FROM meetings.rejection WHERE source = $1 AND event_id = $2",
                    adoption["source"],
                    adoption["id"],
                ),
                timeout=60,
            )
            assert await held_for(db, adoption) is None
            gauge_after = await open_rejections(client, meetings_service)
        assert gauge_after >= gauge_before + 1, (gauge_before, gauge_after)

        # the operator's open rejection: why (English, with the wait), the field, the code, as the page reads it
        stored = await ask(rpc, meetings.GetRejection(rejection_id=rejection_id))
        reason = (
            f"data.meeting_id: meeting {ids['mtg']} has no attendance recorded yet (still unresolved after {DAY} s)"
        )
        assert (stored["status"], stored["type"], stored["field"]) == ("open", "minutes.approved.v1", "data.meeting_id")
        assert stored["reason"] == reason, stored
        assert stored["refusal"]["code"] == RefusalCode.HOLD_EXPIRED.value, stored
        with pytest.raises(RpcError):  # held no more
            await ask(rpc, meetings.GetHeldEvent(source=adoption["source"], event_id=adoption["id"]))

        # its sender and every subscriber are told, once
        told = await eventually(lambda: bus.find("ingest.rejected.v1", event_id=adoption["id"]), timeout=60)
        assert (told["data"]["field"], told["data"]["reason"]) == ("data.meeting_id", reason), told

    # the log says it, naming the event and why, and the sweep counts it
    rejected = [
        line
        for line in structured_logs(lines)
        if line["event"] == "event_rejected" and line.get("event_id") == adoption["id"]
    ]
    assert [(line["reason"], line["field"], line["level"]) for line in rejected] == [
        (reason, "data.meeting_id", "warning")
    ], rejected
    assert any(line["event"] == "held_events_expired" and line["count"] >= 1 for line in structured_logs(lines))

    # the minutes stay unadopted: nothing froze them without a roster
    approved = await db.fetchval("SELECT approved_at FROM meetings.meeting WHERE meeting_id = $1", ids["mtg"])
    assert approved is None
