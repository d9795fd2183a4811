"""The trace of events applied on an operator's or a release's behalf (docs/operations.md, "Following an event"):
a held event released once what it waited for arrived, an operator's replay of a rejection or retry of a held event,
and each line of a bulk history load (`bulk`, services/meetings/bulk/load.py). Each accepted one is one
`event_accepted` line once its transaction committed, with the `route` it came by (`release`, `replay`, `retry`,
`bulk`), and each judged one a `chibo_ingest_events_total` sample under that route, as an event of `amqp` or `http`
is. Every per-event outcome line (`event_held`, `event_rejected`, `event_duplicate`, `event_still_held`) written
within a tracing() is noted in memory too (line) and written by report once the transaction committed: a transaction
rolled back, or a process killed before its commit, leaves none (its redelivery writes the one line)."""

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from shared.logs import get_logger
from shared.metrics import INGEST_EVENTS, type_label

log = get_logger(__name__)

RELEASE_ROUTE = "release"
"""The route of a held event judged again because what it waited for arrived (inline or after commit)."""
RETRY_ROUTE = "retry"
"""The route of a held event an operator judged again (POST /v1/held-events/retry)."""

BULK_ROUTE = "bulk"
"""The route of a line of a bulk history load (python -m services.meetings bulk-load), set-based or not."""


class Noted(list[tuple[str, dict[str, Any], str]]):
    """(route, the event's identity fields for its line, outcome) of each event judged in one transaction, and in
    `lines` the outcome lines (the logger method, the line's name, its fields) to write once it committed."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[Callable[..., Any], str, dict[str, Any]]] = []


_NOTED: ContextVar[Noted | None] = ContextVar("chibo_meetings_released", default=None)


@contextmanager
def tracing() -> Iterator[Noted]:
    """Collect, for one transaction (one attempt of it), what note() is told; report() them once it committed."""
    noted = Noted()
    token = _NOTED.set(noted)
    try:
        yield noted
    finally:
        _NOTED.reset(token)


def identity(event: Any) -> dict[str, Any]:
    """The fields naming an event (shared.envelope.Event) on its line: event_id, event_type, event_source and
    correlation_id (its own `correlationid`, else its id, as Event.correlation_id falls back)."""
    return fields(
        event_id=event.id, event_type=event.type, event_source=event.source, correlation_id=event.correlation_id
    )


def fields(*, event_id: str, event_type: str, event_source: str, correlation_id: str | None) -> dict[str, Any]:
    """The fields naming an event on its line from its parts (an event not read into an Event: a bulk load's staged
    row), the same keys as identity's: {"event_id", "event_type", "event_source", "correlation_id"}."""
    return {
        "event_id": event_id,
        "event_type": event_type,
        "event_source": event_source,
        "correlation_id": correlation_id,
    }


def rfc3339(moment: datetime | None) -> str | None:
    """A moment on a log line as RFC 3339 in UTC (`2026-12-07T01:02:03.456789Z`); None stays None."""
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def first_taken_in(received_at: datetime | None, route: str | None) -> dict[str, Any]:
    """The fields an `event_duplicate` line says its event is in by: `received_at`, when its inbox row was recorded
    (its first copy taken in, RFC 3339, UTC), and `first_route`, the route that first copy came by as the row keeps
    it (`http`, `http-batch`, `amqp`, `amqp-batch`, `bulk`, `replay`; None for a row recorded before meetings
    migration 0037), both read with the duplicate check; so the line alone tells an operator the event was accepted
    and by which way, even when its `event_accepted` line was never written (the process killed after commit)."""
    return {"received_at": rfc3339(received_at), "first_route": route}


def note(
    route: str, fields: dict[str, Any], outcome: str, *, sender: str | None = None, message_id: str | None = None
) -> None:
    """Note one event judged by `route` (`release`, `replay`, `retry`, `bulk`) with its outcome, the fields naming it
    (identity), the account that sent it (`sender`, as its hold or rejection stores it; None: none recorded, a bulk
    load's) and the AMQP message it came in (`message_id`, as its hold or rejection keeps it) in the current
    tracing(); outside one (a caller that reports nothing, the tests' fakes) none is."""
    noted = _NOTED.get()
    if noted is not None:
        noted.append((route, {**fields, "sender": sender, "message_id": message_id}, outcome))


def note_held(route: str, event: Any, row: Mapping[str, Any], outcome: str) -> None:
    """note() of a held event judged again by `route` (`release`, `retry`), its hold's row (`row`: held_event's)
    naming who sent it (`account`) and the AMQP message it came in (`message_id`), as its hold stored them."""
    note(route, identity(event), outcome, sender=row["account"], message_id=row.get("message_id"))


def line(write: Callable[..., Any], name: str, **fields: Any) -> None:
    """Write a per-event outcome line (`write`: the logger's method, e.g. log.info; `name`: `event_held`, ...) once
    the current tracing()'s transaction committed (report writes it; a rollback drops it, no statement either way);
    outside a tracing() (a dry run, a caller committing right after) at once."""
    noted = _NOTED.get()
    if noted is None:
        write(name, **fields)
    else:
        noted.lines.append((write, name, fields))


def report(noted: Noted) -> None:
    """After commit: the outcome lines noted (line), in order, then one `event_accepted` line per accepted event
    noted (held, duplicate and rejected ones have their own lines among those) and the chibo_ingest_events_total
    samples, one update per route, type and outcome."""
    for write, name, fields in noted.lines:
        write(name, **fields)
    noted.lines.clear()  # written once, however often reported
    counted: Counter[tuple[str, str, str]] = Counter()
    for route, fields, outcome in noted:
        counted[(route, type_label(fields["event_type"]), outcome)] += 1
        if outcome == "accepted":
            log.info("event_accepted", **fields, route=route)
    for (route, label, outcome), count in counted.items():
        INGEST_EVENTS.labels(route, label, outcome).inc(count)
