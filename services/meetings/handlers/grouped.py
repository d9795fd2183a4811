"""Single-event deliveries judged as a group (the consumer's group commit, shared.group_commit).

The AMQP consumer reads each one-event delivery's content mode itself (the same shared.bindings.read_message as
ingest_delivery) and the event itself (read_raw: in memory, its keys known before any database work), hands the
reading to the collector, and the collector calls ingest_singles with everything that arrived together:
ingest_readings plans them exactly as one batch body (one cell's events in order, per-entity locks, a group of
cells per transaction), so a delivery costs a share of a transaction instead of a whole one. The collector keys
each reading by its footprint (single_keys), so groups about other cells are judged side by side and one cell's
events keep their order.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from services.meetings.handlers.ingest import (
    IngestResult,
    Reading,
    as_feed,
    as_routed,
    binary_reading,
    ingest_readings,
    marked,
    read_raw,
    request_lines,
    request_token,
    with_message_id,
)
from services.meetings.unit_of_work import MeetingsUnit
from shared.bindings import Mode, read_message
from shared.envelope import InvalidEvent
from shared.logs import get_logger

log = get_logger(__name__)


def single_event(
    headers: Mapping[str, Any],
    content_type: str | None,
    body: bytes,
    *,
    system: bool = False,
    routing_key: str | None = None,
    message_id: str | None = None,
    sender: str | None = None,
    request: str | None = None,
) -> Reading | None:
    """The event of a one-event AMQP delivery read as ingest_delivery reads it (the body in structured mode, the
    translated event dict in binary mode), as its publisher may send it (`system`: one of this system's own producers,
    else a feed: as_feed) under its `routing_key` (as_routed), carrying the delivery's AMQP `message_id`
    (Reading.message_id) and broker-checked `user_id` (`sender`, Reading.sender: each event of a group keeps its own
    publisher) and marked by the delivery's `request` token (the same on each try of it: Reading.request_mark; None:
    ingest_singles marks it); None in neither mode or with a header that cannot be read, which ingest_delivery
    rejects."""
    try:
        incoming = read_message(headers, content_type, body, route="amqp")
    except InvalidEvent:
        return None
    reading = binary_reading(incoming) if incoming.mode is Mode.BINARY else read_raw(body)
    if message_id or sender:
        # not dataclasses.replace: ~5 % of a single event's reading
        reading = with_message_id(reading, message_id, sender=sender)
    routed = as_routed(reading if system else as_feed(reading), routing_key, batch=False)
    return routed if request is None else marked([routed], request)[0]


def single_keys(reading: Reading) -> frozenset[str]:
    """What judging a single event locks, and its identity: the group commit's keys for it."""
    return reading.footprint


async def ingest_singles(
    readings: Sequence[Reading], uow_factory: Callable[[], MeetingsUnit], *, route: str = "amqp"
) -> list[IngestResult | Exception]:
    """Judge the single events of a group with ingest_readings; one outcome per event, in order: its result, or the
    exception that failed its own transaction (its delivery alone is then requeued).

    ingest_readings stops at the first event whose own transaction fails; then each event is judged again alone:
    only the failing ones carry the exception, and those committed meanwhile are answered as stored (accepted, or
    held), not duplicate: each delivery's reading is marked first (marked), so its own inbox row is known again."""
    readings = [reading if reading.request_mark is not None else marked([reading], None)[0] for reading in readings]
    tokens = [request_token(reading.request_mark) for reading in readings if reading.request_mark is not None]
    with request_lines(*tokens):  # an event the group committed and logged is not logged again alone
        try:
            return list(await ingest_readings(readings, uow_factory, route=route))
        except Exception as exc:
            if len(readings) == 1:
                return [exc]
            log.warning("ingest_group_failed", events=len(readings), error=repr(exc))
        outcomes: list[IngestResult | Exception] = []
        for reading in readings:
            try:
                outcomes += await ingest_readings([reading], uow_factory, route=route)
            except Exception as exc:
                outcomes.append(exc)
        return outcomes
