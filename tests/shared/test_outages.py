"""An unreachable dependency holds a delivery instead of spending its delivery limit; a failure of the message itself
still dead-letters it on its last allowed delivery (shared.outages, shared.consuming)."""

import asyncio
import errno
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiormq
import asyncpg
import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from shared import outages
from shared.config import ServiceSettings
from shared.consuming import DELIVERIES_HEADER, ORIGIN_HEADERS, Origin, consume_event, delivery_count, origin_of
from shared.contracts.meetings import MeetingCancelled
from shared.envelope import CLOUDEVENT_CONTENT_TYPE, Event, new_event
from shared.outages import (
    DATABASE,
    HandBack,
    held_deliveries,
    hold_through_outage,
    is_dependency_unavailable,
    outage_of,
    stop_holding,
)


@pytest.fixture(autouse=True)
def quick_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Held tries 10 ms apart: the tests wait on what is tried, not on the backoff."""
    monkeypatch.setattr(outages, "HOLD_FIRST_DELAY", 0.01)
    monkeypatch.setattr(outages, "HOLD_MAX_DELAY", 0.01)


def _chained(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.ObjectNotInPrerequisiteStateError('database "chibo" is not currently accepting connections'),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.InterfaceError("cannot call Connection.fetch(): connection is closed"),
        ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        OSError(errno.EHOSTUNREACH, "No route to host"),
        aiormq.exceptions.AMQPConnectionError("broker gone"),
        _chained(RuntimeError("could not save"), ConnectionRefusedError(errno.ECONNREFUSED, "refused")),
    ],
    ids=repr,
)
def test_an_unreachable_dependency_is_recognised(error: BaseException) -> None:
    assert is_dependency_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("the handler keeps failing"),
        asyncpg.exceptions.CheckViolationError("new row violates check constraint"),
        asyncpg.exceptions.ObjectNotInPrerequisiteStateError("currval of sequence is not yet defined"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.InterfaceError("pool is closing"),
        TimeoutError(),
        OSError(errno.ENOENT, "No such file or directory"),
    ],
    ids=repr,
)
def test_a_failure_of_the_message_itself_is_not_an_outage(error: BaseException) -> None:
    assert not is_dependency_unavailable(error)


def test_an_error_raised_while_handling_an_outage_is_one_for_both_judgements() -> None:
    # one chain rule (__cause__, else __context__): a consumer holds what the gateway answers 503 for
    try:
        try:
            raise asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")
        except asyncpg.exceptions.CannotConnectNowError:
            raise RuntimeError("could not save the meeting")  # noqa: B904 - the context is the point
    except RuntimeError as error:
        raised = error
    assert is_dependency_unavailable(raised)
    outage = outage_of(raised)
    assert outage is not None and outage.dependency == DATABASE


def test_asyncpg_losing_track_of_a_connection_is_an_outage_to_the_gateway_but_holds_no_delivery() -> None:
    # Seen as a 500 from the gateway's health right after pg_terminate_backend: a pooled connection the server had
    # just ended answered `InternalClientError('cannot switch to state 12; another operation (2) is in progress')`.
    # Raised here by asyncpg's own pool code (the judgement reads where an error was raised, not only its kind).
    holder = SimpleNamespace(_in_use=object())
    with pytest.raises(asyncpg.exceptions.InternalClientError) as raised:
        asyncpg.pool.PoolConnectionHolder._deactivate_inactive_connection(holder)
    outage = outage_of(raised.value)
    assert outage is not None and outage.dependency == DATABASE
    assert not is_dependency_unavailable(raised.value)


async def test_a_pool_timeout_is_an_outage_to_the_gateway_but_holds_no_delivery(database_url: str) -> None:
    # the one deliberate difference (shared.outages._Judgement.certain): known by where it was raised, not its kind
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire():
            with pytest.raises(TimeoutError) as waited:
                await pool.acquire(timeout=0.05)
    finally:
        await pool.close()
    outage = outage_of(waited.value)
    assert outage is not None and outage.dependency == DATABASE
    assert not is_dependency_unavailable(waited.value)


async def test_a_delivery_is_held_and_tried_again_until_the_dependency_answers() -> None:
    seen: list[dict[str, Any]] = []

    async def attempt() -> str:
        seen.append(held_deliveries())
        if len(seen) < 4:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        return "applied"

    assert await hold_through_outage(attempt, consumer="probe.queue") == "applied"
    assert seen[0] == {}  # not held before its first failure
    assert seen[-1]["probe.queue"]["deliveries"] == 1 and "ConnectionRefusedError" in seen[-1]["probe.queue"]["error"]
    assert held_deliveries() == {}


async def test_a_genuine_failure_is_raised_at_once_and_an_outage_after_the_limit() -> None:
    calls: list[int] = []

    async def failing(error: Exception) -> None:
        calls.append(1)
        raise error

    with pytest.raises(RuntimeError):
        await hold_through_outage(lambda: failing(RuntimeError("bad data")), consumer="probe.queue")
    assert len(calls) == 1
    with pytest.raises(ConnectionRefusedError):
        await hold_through_outage(lambda: failing(ConnectionRefusedError()), consumer="probe.queue", limit=0.05)
    assert len(calls) > 2 and held_deliveries() == {}


@dataclass
class FakeChannel:
    published: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    connection: Any = field(default_factory=lambda: SimpleNamespace(url=SimpleNamespace(user="probe-login")))
    """The connection the deliveries arrive on, logged in as `probe-login` (shared.consuming.channel_login)."""

    async def basic_cancel(self, consumer_tag: str, **kwargs: Any) -> None:
        self.cancelled.append(consumer_tag)

    async def basic_publish(self, body: bytes, **kwargs: Any) -> object:
        self.published.append({"body": body, **kwargs})
        return object()  # a confirm that is not a Nack


@dataclass
class FakeRaw:
    body: bytes
    headers: dict[str, Any]
    routing_key: str = "meeting.cancelled.v1"
    exchange: str = "chibo.events"
    content_type: str = CLOUDEVENT_CONTENT_TYPE
    content_encoding: str | None = None
    message_id: str | None = None
    correlation_id: str | None = None
    type: str | None = None
    app_id: str | None = None
    priority: int | None = None
    reply_to: str | None = None
    timestamp: Any = None
    consumer_tag: str | None = "ctag-1"
    channel: FakeChannel = field(default_factory=FakeChannel)
    user_id: str | None = None


@dataclass
class FakeMessage:
    raw_message: FakeRaw
    settled: list[str] = field(default_factory=list)

    async def ack(self) -> None:
        self.settled.append("ack")

    async def reject(self, requeue: bool = False) -> None:
        self.settled.append("requeue" if requeue else "reject")


class FakeUow:
    """A unit of work whose database refuses connections for its first `refusals` transactions."""

    def __init__(self, refusals: list[int]) -> None:
        self.refusals = refusals

    async def __aenter__(self) -> "FakeUow":
        if self.refusals[0] > 0:
            self.refusals[0] -= 1
            raise asyncpg.exceptions.ObjectNotInPrerequisiteStateError(
                'database "chibo" is not currently accepting connections'
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def record_processed(self, *, consumer: str, identities: list[tuple[str, str]]) -> set[tuple[str, str]]:
        return set()

    async def commit(self) -> None:
        return None


def _last_delivery(limit: int) -> FakeMessage:
    event = new_event(
        type="meeting.cancelled.v1", source="urn:test:outage", data=MeetingCancelled(meeting_id="m1", reason="x")
    )
    return FakeMessage(FakeRaw(body=event.to_json(), headers={"x-delivery-count": limit - 1}))


async def test_an_outage_on_the_last_allowed_delivery_is_held_and_applied_not_dead_lettered() -> None:
    applied: list[str] = []

    async def apply(event: Event[Any], uow: Any) -> None:
        applied.append(event.data.meeting_id)

    message = _last_delivery(5)
    refusals = [6]
    outcome = await consume_event(
        message,  # type: ignore[arg-type]
        consumer="probe.queue",
        handlers={"meeting.cancelled.v1": apply},
        uow_factory=lambda: FakeUow(refusals),  # type: ignore[arg-type,return-value]
        delivery_limit=5,
    )
    assert outcome == {"handled": 1} and applied == ["m1"] and refusals == [0]
    assert message.settled == ["ack"] and message.raw_message.channel.published == []


async def test_a_genuine_failure_on_the_last_allowed_delivery_is_still_dead_lettered() -> None:
    async def apply(event: Event[Any], uow: Any) -> None:
        raise RuntimeError("the handler keeps failing")

    message = _last_delivery(5)
    outcome = await consume_event(
        message,  # type: ignore[arg-type]
        consumer="probe.queue",
        handlers={"meeting.cancelled.v1": apply},
        uow_factory=lambda: FakeUow([0]),  # type: ignore[arg-type,return-value]
        delivery_limit=5,
    )
    assert outcome == {"dead_lettered": 1} and message.settled == ["ack"]
    [dead] = message.raw_message.channel.published
    assert dead["routing_key"] == "probe.queue"
    headers = dead["properties"].headers
    assert headers["x-first-death-reason"] == "delivery_limit" and "keeps failing" in headers["x-chibo-reason"]


async def test_many_held_deliveries_of_one_consumer_log_one_warning_per_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a full prefetch held through an outage tries again every few seconds: one line says how many are held, not
    # one line per delivery and try
    monkeypatch.setattr(outages, "_last_warned", {})
    answered = asyncio.Event()
    tries: list[int] = []

    async def attempt() -> str:
        tries.append(1)
        if len(tries) >= 50 * 3:
            answered.set()
        if not answered.is_set():
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        return "applied"

    with capture_logs() as lines:
        results = await asyncio.gather(*(hold_through_outage(attempt, consumer="busy.queue") for _ in range(50)))
    assert results == ["applied"] * 50
    warnings = [line for line in lines if line["event"] == "dependency_unavailable_holding"]
    assert len(warnings) == 1, warnings
    assert warnings[0]["consumer"] == "busy.queue" and warnings[0]["held"] >= 1
    # and one line says the recovery of the consumer, with how many went through, not one line per delivery
    recovered = [line for line in lines if line["event"] == "dependency_available_again"]
    assert len(recovered) == 1, recovered
    assert recovered[0]["consumer"] == "busy.queue" and recovered[0]["deliveries"] == 50


def test_the_hold_limit_is_a_setting_checked_against_the_consumer_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # the 10-minute hold was a constant: an operator whose broker has a shorter consumer timeout could not lower it
    monkeypatch.setenv("CHIBO_HOLD_LIMIT_SECONDS", "120")
    assert ServiceSettings().hold_limit_seconds == 120
    monkeypatch.setenv("CHIBO_HOLD_LIMIT_SECONDS", "1800")
    with pytest.raises(ValidationError, match=r"CHIBO_HOLD_LIMIT_SECONDS.*consumer timeout"):
        ServiceSettings()
    monkeypatch.setenv("CHIBO_BROKER_CONSUMER_TIMEOUT_SECONDS", "3600")
    assert ServiceSettings().hold_limit_seconds == 1800
    monkeypatch.setenv("CHIBO_HOLD_LIMIT_SECONDS", "0")
    with pytest.raises(ValidationError, match="hold_limit_seconds"):
        ServiceSettings()


async def test_a_held_delivery_gives_up_after_the_configured_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outages, "_hold_limit", outages.hold_limit())
    outages.set_hold_limit(0.05)

    async def refused() -> None:
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    with capture_logs() as lines:
        with pytest.raises(ConnectionRefusedError):
            await hold_through_outage(refused, consumer="probe.queue")
    assert [line["event"] for line in lines if line["event"] == "dependency_hold_exhausted"] == [
        "dependency_hold_exhausted"
    ]


@pytest.fixture
def stopping() -> Any:
    """Undo stop_holding after the test: the process holds again."""
    yield stop_holding
    stop_holding(False)


async def test_a_held_delivery_stops_waiting_when_the_service_stops_and_is_handed_back(
    monkeypatch: pytest.MonkeyPatch, stopping: Any
) -> None:
    monkeypatch.setattr(outages, "HOLD_FIRST_DELAY", 30.0)  # its next try would be far away
    monkeypatch.setattr(outages, "HOLD_MAX_DELAY", 30.0)
    tries: list[int] = []
    failed = asyncio.Event()

    async def refused() -> None:
        tries.append(1)
        failed.set()
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    held = asyncio.create_task(hold_through_outage(refused, consumer="probe.queue"))
    await asyncio.wait_for(failed.wait(), 5)
    await asyncio.sleep(0.05)  # in its pause now
    assert held_deliveries()["probe.queue"]["deliveries"] == 1
    stopping()
    with pytest.raises(HandBack) as caught:
        await asyncio.wait_for(held, 2)  # at once, not after the 30 s pause
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert len(tries) == 2  # tried once more when woken: a database back by then applies it
    assert held_deliveries() == {}
    with pytest.raises(HandBack):  # an outage met while stopping is not held at all
        await hold_through_outage(refused, consumer="probe.queue")


async def test_a_delivery_handed_back_at_a_stop_goes_to_its_queue_with_its_failed_deliveries_and_is_acked(
    stopping: Any,
) -> None:
    async def apply(event: Event[Any], uow: Any) -> None:
        raise AssertionError("never applied: the database refuses")

    message = _last_delivery(3)  # two failed deliveries before
    message.raw_message.headers["x-chibo-replayed"] = 1
    message.raw_message.exchange = ""  # a replayed copy, published straight to its queue: its x-chibo- marks are ours
    stopping()
    outcome = await consume_event(
        message,  # type: ignore[arg-type]
        consumer="probe.queue",
        handlers={"meeting.cancelled.v1": apply},
        uow_factory=lambda: FakeUow([99]),  # type: ignore[arg-type,return-value]
        delivery_limit=5,
    )
    assert outcome == {"handed_back": 1} and message.settled == ["ack"]
    channel = message.raw_message.channel
    assert channel.cancelled == ["ctag-1"]  # the stopping consumer takes no more deliveries, the copy's included
    [copy] = channel.published
    assert copy["exchange"] == "" and copy["routing_key"] == "probe.queue" and copy["body"] == message.raw_message.body
    headers = copy["properties"].headers
    assert headers == {DELIVERIES_HEADER: 2, "x-chibo-replayed": 1}  # the broker's x-delivery-count is not copied
    assert copy["properties"].user_id == "probe-login"  # published as the login consuming it: RabbitMQ checks that
    again = FakeRaw(body=copy["body"], headers={**headers, "x-delivery-count": 1}, exchange="", user_id="probe-login")
    # the copy's own failed delivery adds to those before the stop
    assert delivery_count(again) == 3  # type: ignore[arg-type]
    # the same copy straight to the queue from another login (any user who may write the default exchange) is not ours
    forged = FakeRaw(body=copy["body"], headers={**headers, "x-delivery-count": 1}, exchange="", user_id="gateway")
    assert delivery_count(forged) == 1  # type: ignore[arg-type]
    # the same header on a delivery published through an exchange is its publisher's: it counts nothing
    assert delivery_count(FakeRaw(body=copy["body"], headers={**headers, "x-delivery-count": 1})) == 1  # type: ignore[arg-type]


def test_a_copy_s_origin_is_read_only_from_this_service_s_own_copies() -> None:
    said = dict(zip(ORIGIN_HEADERS, ("chibo.ingest", "batch", "seed"), strict=True))
    own_copy = SimpleNamespace(exchange="", routing_key="meetings.ingest", user_id="meetings", headers=said)
    assert origin_of(own_copy, own_user="meetings") == Origin("chibo.ingest", "batch", "seed")
    # the same headers from anyone else, or published on an exchange, say nothing: the delivery's own values count
    forged = SimpleNamespace(exchange="", routing_key="meetings.ingest", user_id="feed", headers=said)
    assert origin_of(forged, own_user="meetings") == Origin("", "meetings.ingest", "feed")
    published = SimpleNamespace(exchange="chibo.ingest", routing_key="batch", user_id="meetings", headers=said)
    assert origin_of(published, own_user="meetings") == Origin("chibo.ingest", "batch", "meetings")
    assert origin_of(own_copy, own_user=None) == Origin("", "meetings.ingest", "meetings")
