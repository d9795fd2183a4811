"""Every failure and dead-letter line of a consumer names the event (id, type, source, correlation id), in binary and
structured mode: docs/operations.md tells operators to match these lines to dead letters by event_id, and a trial
found `ingest_delivery_failed` and `event_dead_lettered` without it."""

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import aiormq
import pytest

from shared.consuming import consume_event, dead_letter_delivery, delivery_identity
from shared.envelope import BATCH_CONTENT_TYPE
from shared.ops.dead_letters import describe, event_identity
from tests.support.logs import route_logs_to_stdlib, structured_logs

IDENTITY = {
    "event_id": "ev-1",
    "event_type": "meeting.cancelled.v1",
    "event_source": "urn:test:feed",
    "correlation_id": "corr-1",
}


class FakeChannel:
    """Takes a dead letter as the broker would (confirmed) or refuses it."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.refuse = refuse
        self.published: list[bytes] = []

    async def basic_publish(self, body: bytes, **_: Any) -> Any:
        if self.refuse:
            raise ConnectionError("channel closed")
        self.published.append(body)
        return aiormq.spec.Basic.Ack()


class FakeRaw:
    """The aio-pika message a consumer reads: body, headers and properties."""

    def __init__(self, body: bytes, *, headers: dict[str, Any] | None = None, refuse: bool = False, **props: Any):
        self.body = body
        self.headers = headers or {}
        self.content_type = props.get("content_type", "application/cloudevents+json")
        self.content_encoding = None
        self.message_id = props.get("message_id")
        self.correlation_id = props.get("correlation_id")
        self.reply_to = props.get("reply_to")
        self.type = props.get("type")
        self.app_id = None
        self.routing_key = props.get("routing_key", "meeting.cancelled.v1")
        self.channel = FakeChannel(refuse=refuse)


class FakeMessage:
    """The FastStream message around it, settled explicitly."""

    def __init__(self, raw: FakeRaw) -> None:
        self.raw_message = raw
        self.settled: list[str] = []

    async def ack(self) -> None:
        self.settled.append("ack")

    async def reject(self, requeue: bool = False) -> None:
        self.settled.append("requeue" if requeue else "reject")


def structured(**attributes: Any) -> bytes:
    """A structured-mode event without `time` (so it cannot be read) but with its identity."""
    return json.dumps(
        {
            "specversion": "1.0",
            "id": "ev-1",
            "type": "meeting.cancelled.v1",
            "source": "urn:test:feed",
            "correlationid": "corr-1",
            "data": {},
            **attributes,
        }
    ).encode()


BINARY_HEADERS = {
    "ce-specversion": "1.0",
    "ce-id": "ev-1",
    "ce-type": "meeting.cancelled.v1",
    "ce-source": "urn:test:feed",
    "ce-correlationid": "corr-1",
}


@pytest.mark.parametrize(
    "raw",
    [
        FakeRaw(structured()),
        FakeRaw(b"not json", headers=BINARY_HEADERS, content_type="application/json"),
        FakeRaw(b"{}", headers={k.replace("ce-", "cloudEvents:"): v for k, v in BINARY_HEADERS.items()}),
        FakeRaw(b"\xff{", type="meeting.cancelled.v1", correlation_id="corr-1"),
    ],
    ids=["structured", "binary", "amqp-binding", "properties"],
)
def test_the_identity_is_read_from_headers_body_or_properties(raw: FakeRaw) -> None:
    expected = (
        dict(IDENTITY) if raw.body != b"\xff{" else {"event_type": "meeting.cancelled.v1", "correlation_id": "corr-1"}
    )
    assert delivery_identity(raw) == expected  # type: ignore[arg-type]


def test_a_body_that_is_no_envelope_names_no_event_id() -> None:
    """A binary message under the prefix `ce_` (not one CONTRACT.md accepts) is read as a body: its `data`, whose
    `id` (a member's) is no event's id, nor the correlation's; a broken envelope still names its own."""
    headers = {name.replace("ce-", "ce_"): value for name, value in BINARY_HEADERS.items()}
    member = FakeRaw(b'{"id": "mem-1", "full_name": "A", "cell_id": "c-1"}', headers=headers, type="member.upserted.v1")
    assert delivery_identity(member) == {"event_type": "member.upserted.v1"}  # type: ignore[arg-type]
    assert delivery_identity(FakeRaw(structured(specversion=None)))["event_id"] == "ev-1"  # type: ignore[arg-type]


def test_the_amqp_message_id_is_named_message_id_and_never_taken_for_the_event_id() -> None:
    """The AMQP `message_id` property is the message's own id: a body that cannot be read has no CloudEvents id to
    name, and one that can names its own `id` as `event_id` beside the message's `message_id`."""
    unreadable = FakeRaw(b"\xff{", message_id="m-1", type="meeting.cancelled.v1", correlation_id="corr-1")
    assert delivery_identity(unreadable) == {  # type: ignore[arg-type]
        "message_id": "m-1",
        "event_type": "meeting.cancelled.v1",
        "correlation_id": "corr-1",
    }
    copy = FakeRaw(structured(), message_id="copy-7")
    assert delivery_identity(copy) == IDENTITY | {"message_id": "copy-7"}  # type: ignore[arg-type]


async def test_a_delivery_dead_lettered_or_not_written_names_its_event(caplog: pytest.LogCaptureFixture) -> None:
    route_logs_to_stdlib(caplog)
    for raw in (FakeRaw(b"x", headers=BINARY_HEADERS), FakeRaw(structured(), refuse=True)):
        message = FakeMessage(raw)
        await dead_letter_delivery(
            message,  # type: ignore[arg-type]
            consumer="probe.events",
            cause="RuntimeError('boom')",
            death="delivery_limit",
            ack=message.ack,
            reject=lambda message=message: message.reject(requeue=False),  # type: ignore[misc]
        )
    lines = [
        line
        for line in structured_logs(caplog)
        if line["event"] in ("event_dead_lettered", "dead_letter_cause_not_written")
    ]
    assert [line["event"] for line in lines] == ["event_dead_lettered", "dead_letter_cause_not_written"]
    for line in lines:
        assert {key: line.get(key) for key in IDENTITY} == IDENTITY


async def test_an_unreadable_event_and_a_bad_batch_item_are_logged_with_their_identity(
    caplog: pytest.LogCaptureFixture,
) -> None:
    route_logs_to_stdlib(caplog)
    single = FakeMessage(FakeRaw(structured()))
    await consume_event(single, consumer="probe.events", handlers={}, uow_factory=None)  # type: ignore[arg-type]
    item = json.loads(structured())
    batch = FakeMessage(
        FakeRaw(json.dumps([item]).encode(), content_type=BATCH_CONTENT_TYPE, routing_key="batch", message_id="b-1")
    )
    handlers: dict[str, Any] = {"meeting.cancelled.v1": None}  # never called: the item cannot be read
    await consume_event(batch, consumer="probe.events", handlers=handlers, uow_factory=None)  # type: ignore[arg-type]
    lines = [
        line
        for line in structured_logs(caplog)
        if line["event"] in ("event_unreadable", "event_invalid", "event_dead_lettered")
    ]
    assert [line["event"] for line in lines] == [
        "event_unreadable",
        "event_dead_lettered",
        "event_invalid",
        "event_dead_lettered",
    ]
    for line in lines:
        assert {key: line.get(key) for key in IDENTITY} == IDENTITY, line
    assert single.settled == ["ack"] and batch.settled == ["ack"]


async def test_a_failed_ingest_delivery_names_its_event(caplog: pytest.LogCaptureFixture) -> None:
    """meetings.ingest settles its deliveries itself (no message context): its failure line names the event too."""
    from services.meetings.consumers import on_ingest

    class Broken:
        async def submit(self, _: Any) -> None:
            raise RuntimeError("database down")

    def no_database() -> Any:
        raise RuntimeError("database down")

    app = SimpleNamespace(
        settings=SimpleNamespace(system_publishers=[]),
        singles=Broken(),
        other_slots=asyncio.Semaphore(1),
        uow_factory=no_database,
    )
    route_logs_to_stdlib(caplog)
    for raw in (FakeRaw(structured(time="2026-01-05T09:00:00+07:00")), FakeRaw(b"{}", headers=BINARY_HEADERS)):
        raw.headers["x-delivery-count"] = 99  # its last delivery: dead-lettered, saying why
        message = FakeMessage(raw)
        await on_ingest(message, app)  # type: ignore[arg-type]
    lines = [
        line for line in structured_logs(caplog) if line["event"] in ("ingest_delivery_failed", "event_dead_lettered")
    ]
    assert [line["event"] for line in lines] == ["ingest_delivery_failed", "event_dead_lettered"] * 2
    for line in lines:
        assert {key: line.get(key) for key in IDENTITY} == IDENTITY, line


async def test_a_batch_messages_lines_name_its_amqp_id_as_message_id_not_event_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A batch message's AMQP `message_id` is no event's id: an operator searching the logs by an `event_id` found
    the batch's lines under an id no event has. Its lines name it `message_id`; `event_id` is only ever a
    CloudEvents `id` (an item's own)."""
    route_logs_to_stdlib(caplog)
    unreadable = FakeMessage(
        FakeRaw(b"[1, {", content_type=BATCH_CONTENT_TYPE, routing_key="batch", message_id="batch-1")
    )
    await consume_event(unreadable, consumer="probe.events", handlers={}, uow_factory=None)  # type: ignore[arg-type]
    item = json.loads(structured())
    readable = FakeMessage(
        FakeRaw(json.dumps([item]).encode(), content_type=BATCH_CONTENT_TYPE, routing_key="batch", message_id="batch-2")
    )
    handlers: dict[str, Any] = {"meeting.cancelled.v1": None}  # never called: the item cannot be read
    await consume_event(readable, consumer="probe.events", handlers=handlers, uow_factory=None)  # type: ignore[arg-type]
    lines = {
        (line["event"], line.get("message_id")): line
        for line in structured_logs(caplog)
        if line["event"] in ("event_batch_unreadable", "event_dead_lettered", "event_batch_settled")
    }
    for name in ("event_batch_unreadable", "event_dead_lettered"):
        line = lines[(name, "batch-1")]
        assert "event_id" not in line and line["event_type"] == "batch", line
    settled = lines[("event_batch_settled", "batch-2")]
    assert settled.get("event_id") is None and settled["dead_lettered"] == 1, settled
    every = [line for line in structured_logs(caplog) if line.get("consumer") == "probe.events"]
    assert not [line for line in every if line.get("event_id") in ("batch-1", "batch-2")]
    assert {line.get("event_id") for line in every if line["event"] == "event_invalid"} == {IDENTITY["event_id"]}


def test_a_dead_letters_event_id_is_read_where_its_mode_puts_it() -> None:
    """The dead-letter listing (and its replay by `event_id`) took a binary message's `data.id` for its event id."""
    data = b'{"id": "mem-1", "full_name": "A", "cell_id": "c-1"}'
    amqp = {name.replace("ce-", "cloudEvents_"): value for name, value in BINARY_HEADERS.items()}
    assert event_identity(amqp, data) == ("ev-1", "meeting.cancelled.v1")
    assert event_identity({"CE-ID": "ev-2"}, data) == ("ev-2", None)
    assert event_identity({name.replace("ce-", "ce_"): v for name, v in BINARY_HEADERS.items()}, data) == (None, None)
    assert event_identity({}, structured()) == ("ev-1", "meeting.cancelled.v1")
    # an attribute header without `id` beside a structured body (tests/gateway/test_recovery's `ce-note`): the
    # envelope's own id, as before the binary-mode reading came in (3 of test_recovery failed on None)
    assert event_identity({"ce-note": "thử"}, structured()) == ("ev-1", "meeting.cancelled.v1")


async def test_a_structured_envelope_with_an_extension_header_keeps_its_event_id_everywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A structured envelope delivered with a `ce-note` header (an attribute header without an `id`): the dead-letter
    listing named its event id, but the consumer's own failure and dead-letter lines, read by a second copy of the
    header reading, took the `ce-note` for binary mode and named none. One reading (shared.bindings) for both."""
    raw = FakeRaw(structured(), headers={"ce-note": "thử", "CloudEvents:Note": "b"})
    message = FakeMessage(raw)
    route_logs_to_stdlib(caplog)
    await dead_letter_delivery(
        message,  # type: ignore[arg-type]
        consumer="probe.events",
        cause="RuntimeError('boom')",
        death="delivery_limit",
        ack=message.ack,
        reject=lambda: message.reject(requeue=False),
    )
    [line] = [line for line in structured_logs(caplog) if line["event"] == "event_dead_lettered"]
    assert {key: line.get(key) for key in IDENTITY} == IDENTITY
    assert delivery_identity(raw) == IDENTITY  # type: ignore[arg-type]
    listed = describe(FakeListed(raw), 1)  # type: ignore[arg-type]
    assert (listed["event_id"], listed["type"]) == ("ev-1", "meeting.cancelled.v1")
    # binary mode's headers, in any case, still name the event rather than a `data` body's `id`
    binary = FakeRaw(b'{"id": "mem-1", "type": "x"}', headers={"CE-ID": "ev-2", "ce-type": "member.upserted.v1"})
    assert delivery_identity(binary)["event_id"] == "ev-2"  # type: ignore[arg-type]
    assert describe(FakeListed(binary), 1)["event_id"] == "ev-2"  # type: ignore[arg-type]


class FakeListed:
    """A dead letter as the listing reads it (FakeRaw with the properties describe adds)."""

    def __init__(self, raw: FakeRaw) -> None:
        self.body, self.headers, self.message_id = raw.body, raw.headers, raw.message_id
        self.type, self.routing_key, self.timestamp = raw.type, raw.routing_key, None


def test_a_replayed_letter_is_named_by_its_type_never_by_its_queue() -> None:
    """Trial 43: a dead letter replayed (sent straight to its queue through the default exchange, under the queue's
    name) whose body names no type was logged with `event_type` `notifications.events`: its type is the routing key
    it was first published under (x-chibo-origin-routing-key), and none when the copy does not say it."""
    replayed = FakeRaw(b"\xff{", routing_key="notifications.events", headers={"x-chibo-replayed": 1})
    replayed.exchange = ""  # type: ignore[attr-defined]
    assert "event_type" not in delivery_identity(replayed)  # type: ignore[arg-type]
    replayed.headers["x-chibo-origin-routing-key"] = "meeting.cancelled.v1"
    assert delivery_identity(replayed)["event_type"] == "meeting.cancelled.v1"  # type: ignore[arg-type]
    batch = FakeRaw(b"[1]", routing_key="notifications.events", content_type=BATCH_CONTENT_TYPE)
    batch.exchange = ""  # type: ignore[attr-defined]
    batch.headers["x-chibo-origin-routing-key"] = "score.meeting.updated.v1"
    assert delivery_identity(batch)["event_type"] == "score.meeting.updated.v1"  # type: ignore[arg-type]
