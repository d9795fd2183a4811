"""An operator's work on held events: judge one again now, or stop holding it (it becomes a rejection)."""

import json
from collections.abc import Mapping
from typing import Any

from services.meetings.domain import LockSet, event_key
from services.meetings.handlers import trace
from services.meetings.handlers.ingest import IngestResult, reject, settle_held
from services.meetings.handlers.locks import locks_for
from services.meetings.unit_of_work import MeetingsUnit
from shared.contracts.registry import read_event
from shared.envelope import InvalidEvent, parse_envelope
from shared.logs import get_logger

log = get_logger(__name__)


class HeldNotFound(LookupError):
    """No event is held under that (source, id)."""


async def retry_held(uow: MeetingsUnit, *, source: str, event_id: str) -> IngestResult:
    """Judge a held event again under its keys' locks: applied (releasing its own waiters; those whose keys are busy
    are left in `uow.ingest.deferred` for the caller to settle after commit), held again (keeping its first hold
    time) or rejected; HeldNotFound when it is not held."""
    row = await uow.ingest.get_held(source=source, event_id=event_id, lock_row=False)
    if row is None:
        raise HeldNotFound(f"{source} {event_id}")
    identity = LockSet(exclusive=frozenset({event_key(source, event_id)}))
    try:
        event = read_event(parse_envelope(row["raw"]))
    except InvalidEvent as exc:  # the contract changed while it waited: it is judged as it reads now
        await uow.ingest.lock(identity)
        if await uow.ingest.get_held(source=source, event_id=event_id, lock_row=True) is None:
            raise HeldNotFound(f"{source} {event_id}") from None
        await uow.ingest.release(source=source, event_id=event_id)
        await _reject_held(uow, row, reason=exc.reason, field=exc.field)
        return IngestResult(event_id, source, row["type"], "rejected", exc.reason, exc.field)
    # the event's keys first, then its row: the order every ingest transaction follows
    await uow.ingest.lock(locks_for(event) | identity)
    row = await uow.ingest.get_held(source=source, event_id=event_id, lock_row=True)
    if row is None:
        raise HeldNotFound(f"{source} {event_id}")  # settled meanwhile
    result = await settle_held(event, uow, row)
    trace.note_held(trace.RETRY_ROUTE, event, row, result.outcome)
    log.info(
        "held_event_retried",
        event_id=event_id,
        event_type=event.type,
        event_source=source,
        correlation_id=event.correlation_id,
        outcome=result.outcome,
    )
    return result


async def drop_held(uow: MeetingsUnit, *, source: str, event_id: str, reason: str) -> IngestResult:
    """Stop holding an event: stored and published as a rejection giving the operator's reason (so it can still be
    replayed, corrected, later); HeldNotFound when it is not held."""
    row = await uow.ingest.get_held(source=source, event_id=event_id, lock_row=False)
    if row is None:
        raise HeldNotFound(f"{source} {event_id}")
    locks = LockSet(exclusive=frozenset({event_key(source, event_id)}))
    try:
        locks |= locks_for(read_event(parse_envelope(row["raw"])))
    except InvalidEvent:
        pass  # a held event that no longer reads: only its identity to lock
    await uow.ingest.lock(locks)
    row = await uow.ingest.get_held(source=source, event_id=event_id, lock_row=True)
    if row is None:
        raise HeldNotFound(f"{source} {event_id}")  # settled meanwhile
    await uow.ingest.release(source=source, event_id=event_id)
    text = f"dropped by an operator: {reason} (was waiting for {row['waiting_for']}: {row['reason']})"
    told = f"dropped by an operator: {reason} (was waiting for {row['waiting_for']}: {row['answer'] or row['reason']})"
    await _reject_held(uow, row, reason=text, field=row["field"], answer=told)
    log.warning("held_event_dropped", event_id=event_id, event_type=row["type"], event_source=source, reason=reason)
    return IngestResult(event_id, source, row["type"], "rejected", text, row["field"])


async def _reject_held(
    uow: MeetingsUnit, held: Mapping[str, Any], *, reason: str, field: str | None, answer: str | None = None
) -> None:
    try:
        correlation_id = json.loads(held["raw"]).get("correlationid")
    except (ValueError, AttributeError):
        correlation_id = None
    await reject(
        uow,
        source=held["source"],
        event_id=held["event_id"],
        event_type=held["type"],
        reason=reason,
        field=field,
        raw=held["raw"],
        route=held["route"],
        received_at=held["held_at"],  # when it came (its first hold), as a hold that runs out keeps it: not now
        correlation_id=correlation_id if isinstance(correlation_id, str) else None,
        scope=held["scope"],
        answer=answer,
        account=held["account"],
        message_id=held.get("message_id"),
        sources_listed=bool(held["sources_listed"]),  # replayed by the rule it arrived by
    )
