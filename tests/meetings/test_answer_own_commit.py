"""An event this very request stored is answered `accepted` (or `held`) even when its transaction was judged again.

A group or batch transaction that fails is judged again one event per transaction (handlers.ingest._judge_planned),
the group commit's deliveries each again alone (handlers.grouped.ingest_singles), and an AMQP delivery tried again
while the database is away (shared.outages.hold_through_outage). Some of its events may have been committed by
then: by an earlier sub-transaction of the same call, or by a commit whose outcome the client never heard (the
connection lost after the server committed). Before, the retry found them in the inbox and answered `duplicate`: the
sender was told its event had come before when it was taken in just now. The inbox row now keeps which request
stored it (meetings migration 0039, `stored_by`: the request's token and the event's place in it), so a retry of the
same request answers those events as stored, and a copy from an earlier request (or an earlier place in the same
body) stays `duplicate`. Real PostgreSQL faults: a trigger that fails one event's inbox insert, and a connection the
server ends after its commit. The HTTP route and the AMQP reply answer alike (one ingest_delivery for both)."""

import json
from typing import Any

import asyncpg
import pytest

from services.meetings import consumers
from services.meetings.handlers import ingest as ingest_module
from services.meetings.handlers import ingest_delivery
from services.meetings.handlers.grouped import ingest_singles, single_event
from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared import outages
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE
from tests.meetings import events as ev
from tests.meetings.test_consumer_settling import FakeMessage, FakeRaw
from tests.support.ids import random_id


async def fail_inbox_insert_of(pool: asyncpg.Pool, event_id: str) -> str:
    """A trigger failing (RAISE: a failure of the moment, not the event's) each inbox insert of `event_id`; its name."""
    name = "fail_" + event_id.replace("-", "_")
    await pool.execute(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION 'injected inbox failure'; END $$;"
        f" CREATE TRIGGER {name} BEFORE INSERT ON processed_message FOR EACH ROW"
        f" WHEN (NEW.event_id = '{event_id}') EXECUTE FUNCTION {name}()"
    )
    return name


async def drop_trigger(pool: asyncpg.Pool, name: str) -> None:
    """Remove a trigger fail_inbox_insert_of made."""
    await pool.execute(f"DROP TRIGGER {name} ON processed_message; DROP FUNCTION {name}()")


class CommitLostOnce(MeetingsUnitOfWork):
    """A unit of work whose first commit reaches the server, after which the server ends its connection
    (pg_terminate_backend) before the client hears back: committed, but the caller sees the connection lost."""

    lost: list[bool]

    async def commit(self) -> None:
        """Commit; the first time, end the backend afterwards and raise as a lost connection does."""
        await super().commit()
        if not self.lost:
            self.lost.append(True)
            await self._pool.execute("SELECT pg_terminate_backend($1)", self.connection.get_server_pid())
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")


def cell_with_members(count: int) -> list[dict[str, Any]]:
    """A new cell and `count` members of it: one cell's events, judged in one transaction."""
    cell = random_id("cell")
    return [ev.unit(cell)] + [ev.member(random_id("mem"), cell) for _ in range(count)]


async def test_group_commit_answers_accepted_for_events_its_own_retry_finds_stored(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory
) -> None:
    events = cell_with_members(2)
    readings = [
        single_event({}, CLOUDEVENT_CONTENT_TYPE, json.dumps(event).encode(), message_id=random_id("msg"))
        for event in events
    ]
    assert all(reading is not None for reading in readings)
    trigger = await fail_inbox_insert_of(meetings_pool, events[-1]["id"])
    try:
        outcomes = await ingest_singles([reading for reading in readings if reading is not None], uow_factory)
    finally:
        await drop_trigger(meetings_pool, trigger)

    # the group failed, then each alone: the first two committed, the last failed; judged again, the first two were
    # answered ['duplicate', 'duplicate'] before
    answered = [outcome if isinstance(outcome, Exception) else outcome.outcome for outcome in outcomes[:2]]
    assert answered == ["accepted", "accepted"]
    assert isinstance(outcomes[2], asyncpg.RaiseError)

    # the last delivery, requeued, is a new delivery: stored now; the first two sent again are true duplicates
    again = [single_event({}, CLOUDEVENT_CONTENT_TYPE, json.dumps(event).encode()) for event in events]
    results = await ingest_singles([reading for reading in again if reading is not None], uow_factory)
    assert [getattr(result, "outcome", result) for result in results] == ["duplicate", "duplicate", "accepted"]


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_a_batch_whose_commit_outcome_was_lost_answers_its_events_accepted(  # type: ignore[no-untyped-def]
    meetings_pool, route: str
) -> None:
    events = cell_with_members(2)
    unknown = random_id("cell")
    events.append(ev.member(random_id("mem"), unknown))  # held: its cell never came
    events.append(events[1])  # a copy of an event earlier in the same body: a duplicate whatever happens
    lost: list[bool] = []

    def factory() -> MeetingsUnitOfWork:
        uow = CommitLostOnce(meetings_pool)
        uow.lost = lost
        return uow

    results = await ingest_delivery(
        json.dumps(events).encode(), factory, batch=True, route=route, content_type=BATCH_CONTENT_TYPE
    )
    assert lost == [True]
    # committed, then judged again one per transaction: ['duplicate', 'duplicate', 'duplicate', 'held',
    # 'duplicate'] before
    assert [result.outcome for result in results] == ["accepted", "accepted", "accepted", "held", "duplicate"]

    again = await ingest_delivery(
        json.dumps(events).encode(),
        lambda: MeetingsUnitOfWork(meetings_pool),
        batch=True,
        route=route,
        content_type=BATCH_CONTENT_TYPE,
    )
    assert [result.outcome for result in again] == ["duplicate", "duplicate", "duplicate", "held", "duplicate"]


class DatabaseAwayAfter(MeetingsUnitOfWork):
    """A unit of work whose backend the server ends just before commit once `healthy` transactions committed (the
    database going away partway through a delivery): everything it judged rolls back."""

    committed: list[bool]
    healthy: int

    async def commit(self) -> None:
        """Commit while healthy; after that, end this backend first (the commit then fails)."""
        if len(self.committed) >= self.healthy:
            await self._pool.execute("SELECT pg_terminate_backend($1)", self.connection.get_server_pid())
        await super().commit()
        self.committed.append(True)


async def test_a_delivery_tried_again_after_the_database_went_away_answers_what_its_first_try_stored(  # type: ignore[no-untyped-def]
    meetings_pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "EVENTS_PER_TRANSACTION", 2)  # one cell's two events per transaction
    first, second = cell_with_members(1), cell_with_members(1)
    body = json.dumps(first + second).encode()
    committed: list[bool] = []
    delivery, resent = random_id("delivery"), random_id("delivery")

    def going_away() -> MeetingsUnitOfWork:
        uow = DatabaseAwayAfter(meetings_pool)
        uow.committed, uow.healthy = committed, 1
        return uow

    async def deliver(factory: Any, request: str | None) -> list[str]:
        results = await ingest_delivery(
            body, factory, batch=True, route="amqp", content_type=BATCH_CONTENT_TYPE, request=request
        )
        return [result.outcome for result in results]

    # the first try: the first cell's transaction commits, the database goes away during the second's
    with pytest.raises(asyncpg.PostgresConnectionError):
        await deliver(going_away, delivery)
    assert committed == [True]

    # on_ingest tries the same delivery again (hold_through_outage) with its token: the first cell's events were
    # answered ['duplicate', 'duplicate', 'accepted', 'accepted'] before
    healthy = lambda: MeetingsUnitOfWork(meetings_pool)  # noqa: E731
    assert await deliver(healthy, delivery) == ["accepted"] * 4
    # another delivery of the same body (the sender's resend): true duplicates
    assert await deliver(healthy, resent) == ["duplicate"] * 4
    assert await deliver(healthy, None) == ["duplicate"] * 4


@pytest.mark.usefixtures("fresh_backlog")
async def test_each_try_of_a_delivery_held_through_an_outage_judges_it_as_the_same_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tries: list[str | None] = []

    async def judged(message: Any, app: Any, *, outcomes: Any = None, request: str | None = None) -> int:
        tries.append(request)
        if len(tries) == 1:  # the database went away partway through the first try
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        return 1

    async def no_pause(seconds: float) -> None:
        """The hold's pause between tries, skipped."""

    monkeypatch.setattr(consumers, "ingest_judged", judged)
    monkeypatch.setattr(outages, "_pause", no_pause)
    message = FakeMessage(FakeRaw(body=b"{}"))
    await consumers.on_ingest(message, object())  # type: ignore[arg-type]
    await consumers.on_ingest(FakeMessage(FakeRaw(body=b"{}")), object())  # type: ignore[arg-type]

    assert message.settled == ["ack"]
    assert len(tries) == 3 and tries[0] is not None
    assert tries[1] == tries[0], tries  # the retry is the same request: what its first try stored is its own
    assert tries[2] != tries[0], tries  # another delivery is another request: a copy of it is a duplicate
