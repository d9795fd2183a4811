"""A user trial: after meeting M was cancelled, an integration's later schedule snapshot (new start and place) and
later move were accepted and meetings re-published them on chibo.events, so listeners (notifications' mails among
them) heard a cancelled meeting "scheduled" again. Nothing announcing the meeting as going ahead is published once it
is cancelled: the move, issued after the cancellation, is refused `meeting_cancelled` as the secretary's is (a later
trial), and so is the schedule issued after it, which was stored silently until then (test_schedule_after_cancellation:
either arrival order ends alike).

The service runs in this process against the package's vhost and database, over the real broker.
"""

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared.contracts import meetings_rpc as meetings
from shared.rpc import RpcClient
from tests.meetings import events as ev
from tests.meetings.feed import feed
from tests.support.ids import random_id
from tests.support.rpc import ask, rpc_client
from tests.support.running import eventually

START = ev.BASE_TIME + timedelta(days=5)


@pytest.fixture(scope="module")
async def rpc(meetings_service: str, amqp_url: str) -> AsyncIterator[RpcClient]:
    """An RPC client on the test vhost."""
    async with rpc_client(amqp_url, timeout=20) as client:
        yield client


async def judge(rpc: RpcClient, event: dict[str, Any]) -> str:
    """Ingest one event through meetings.rpc; its outcome."""
    answer = await ask(rpc, meetings.Ingest(events=[event], route="http", account="feed-test"))
    outcome: str = answer["results"][0]["outcome"]
    assert outcome == "accepted", str(answer["results"][0])
    return outcome


async def test_a_later_schedule_and_move_of_a_cancelled_meeting_are_refused_and_not_announced(
    rpc: RpcClient, amqp_url: str, uow_factory: Callable[[], MeetingsUnitOfWork]
) -> None:
    cell, mtg, sentinel = random_id("cell"), random_id("mtg"), random_id("mtg")
    later_start = START + timedelta(days=3)
    moved_start = START + timedelta(days=4)
    schedule = ev.scheduled(mtg, cell, starts_at=START)
    cancel = ev.raw_event(
        "meeting.cancelled.v1",
        {"meeting_id": mtg, "reason": "Trùng lịch họp của xã"},
        time=ev.BASE_TIME + timedelta(hours=1),
    )
    again = ev.scheduled(
        mtg, cell, starts_at=later_start, time=ev.BASE_TIME + timedelta(hours=2), data={"location": "Hội trường xã"}
    )
    moved = ev.raw_event(
        "meeting.rescheduled.v1",
        {"meeting_id": mtg, "starts_at": moved_start.isoformat(), "location": "Nhà văn hóa thôn 2"},
        time=ev.BASE_TIME + timedelta(hours=3),
    )
    async with feed(amqp_url) as bus:
        for raw in (ev.unit(cell), schedule, cancel):
            assert await judge(rpc, raw) == "accepted"
        await eventually(lambda: bus.find("meeting.cancelled.v1", originid=cancel["id"]), timeout=60)
        # a schedule or move issued after the cancellation is refused as the secretary's move is
        # (domain.check_not_rescheduled_when_cancelled, check_not_moved_when_cancelled)
        for raw in (again, moved):
            refused = await ask(rpc, meetings.Ingest(events=[raw], route="http", account="feed-test"))
            assert (refused["results"][0]["outcome"], refused["results"][0]["refusal"]["code"]) == (
                "rejected",
                "meeting_cancelled",
            )
        # a meeting scheduled afterwards comes out after anything the two above would have published
        last = ev.scheduled(sentinel, cell, starts_at=START, time=ev.BASE_TIME + timedelta(hours=4))
        assert await judge(rpc, last) == "accepted"
        await eventually(lambda: bus.find("meeting.scheduled.v1", originid=last["id"]), timeout=60)
        heard = [event for event in bus.seen if event.get("subject") == mtg]
    assert [event["type"] for event in heard] == ["meeting.scheduled.v1", "meeting.cancelled.v1"]
    assert heard[0]["originid"] == schedule["id"]
    async with uow_factory() as uow:
        state = await uow.meetings.get_state(mtg)
    assert state is not None and state.cancel_version is not None  # still cancelled
    assert state.starts_at == START  # neither the refused schedule nor the refused move is stored
