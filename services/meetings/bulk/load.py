"""Bulk load of a province from JSON lines of CloudEvents: the same validation, set-based SQL, the same outbox.

Units, members and monitor assignments are validated per event in Python (envelope and data), then
applied per chunk with COPY into staging tables and a few INSERT … SELECT statements. Any other type
in the file goes through the ordinary ingest path one by one.
"""

import json
import resource
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from tqdm import tqdm

from services.meetings.domain import check_plausible_moments, probation_ends_on
from services.meetings.handlers.ingest import SOURCE, ingest_event, reject, release_waiting
from services.meetings.repository.bulk import MEMBER_COLUMNS, MONITOR_COLUMNS, UNIT_COLUMNS, PgBulkRepository
from services.meetings.unit_of_work import SCHEMA, MeetingsUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import Event, InvalidEvent, now, parse_envelope
from shared.topology import EVENTS_EXCHANGE

BULK_TYPES = {"org.unit.upserted.v1": "unit", "member.upserted.v1": "member", "monitor.assigned.v1": "monitor"}
ROUTE = "bulk"


@dataclass
class LoadReport:
    """What a bulk load did, and how fast."""

    events: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {"accepted": 0, "duplicate": 0, "held": 0, "rejected": 0})
    elapsed_seconds: float = 0.0
    peak_rss_mb: float = 0.0

    @property
    def events_per_second(self) -> float:
        """Throughput over the whole run."""
        return self.events / self.elapsed_seconds if self.elapsed_seconds else 0.0


def read_lines(path: Path) -> Iterator[str]:
    """The file's non-empty lines."""
    with path.open(encoding="utf-8") as lines:
        yield from (line for line in lines if line.strip())


def chunked(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    """The lines, `size` at a time."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def count_lines(path: Path) -> int:
    """Lines in the file, for the progress bar's total."""
    with path.open("rb") as raw:
        return sum(block.count(b"\n") for block in iter(lambda: raw.read(1 << 20), b""))


def republished(event: Event[Any], subject: str) -> tuple[str, str, str, str, str, str]:
    """An outbox row re-publishing the validated event (same type and time, new id, origin attributes)."""
    event_id = str(uuid.uuid4())
    payload = {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": event.type,
        "time": event.time.isoformat(),
        "datacontenttype": "application/json",
        "subject": subject,
        "data": event.data.model_dump(mode="json"),
        "correlationid": event.correlation_id,
        "causationid": event.id,
        "originsource": event.source,
        "originid": event.id,
    }
    return (
        event_id,
        event.type,
        EVENTS_EXCHANGE,
        event.type,
        json.dumps(payload, ensure_ascii=False),
        event.correlation_id,
    )


def _unit_record(seq: int, event: Event[Any]) -> tuple[Any, ...]:
    d = event.data
    category = d.category.value if d.category else None
    return (
        seq,
        d.id,
        d.name,
        d.kind.value,
        d.parent_id,
        category,
        json.dumps(d.contact_emails),
        d.active,
        event.time,
        event.id,
    )


def _member_record(seq: int, event: Event[Any]) -> tuple[Any, ...]:
    d = event.data
    return (
        seq,
        d.id,
        d.cell_id,
        d.full_name,
        d.status.value,
        d.role.value,
        d.gender.value if d.gender else None,
        d.birth_year,
        d.admitted_on,
        d.exempt,
        d.email,
        d.phone,
        probation_ends_on(status=d.status.value, admitted_on=d.admitted_on),
        json.dumps(d.model_dump(mode="json"), ensure_ascii=False),
        event.time,
        event.id,
    )


def _monitor_record(seq: int, event: Event[Any]) -> tuple[Any, ...]:
    d = event.data
    return (seq, d.person_id, d.cell_id, d.committee_id, d.full_name, d.email, d.yearly_quota, event.time, event.id)


async def load_chunk(lines: list[str], pool: asyncpg.Pool, report: LoadReport) -> None:
    """Validate, dedupe and apply one chunk in one transaction."""
    received_at = now()
    async with MeetingsUnitOfWork(pool) as uow:
        await uow.ingest.lock_gate()  # the chunk's 20,000 events exclude every other ingest transaction
        bulk = PgBulkRepository(uow.connection)
        await bulk.create_staging()
        events: dict[int, Event[Any]] = {}
        others: list[str] = []
        for seq, line in enumerate(lines):
            try:
                envelope = parse_envelope(line)
            except InvalidEvent:
                others.append(line)  # the ingest path stores the rejection with its reason
                continue
            if envelope.type not in BULK_TYPES:
                others.append(line)
                continue
            try:
                events[seq] = read_event(envelope)
                check_plausible_moments(events[seq], now=received_at)
            except InvalidEvent as exc:
                events.pop(seq, None)
                await _reject(
                    uow, envelope.source, envelope.id, envelope.type, exc, line, received_at, envelope.correlationid
                )
                report.outcomes["rejected"] += 1
        firsts = await bulk.first_deliveries([(seq, e.source, e.id) for seq, e in events.items()])
        report.outcomes["duplicate"] += len(events) - len(firsts)
        fresh = {seq: e for seq, e in events.items() if seq in firsts}
        by_kind: dict[str, list[int]] = {"unit": [], "member": [], "monitor": []}
        for seq, event in fresh.items():
            by_kind[BULK_TYPES[event.type]].append(seq)
        await bulk.stage("stage_unit", UNIT_COLUMNS, [_unit_record(s, fresh[s]) for s in by_kind["unit"]])
        await bulk.stage("stage_member", MEMBER_COLUMNS, [_member_record(s, fresh[s]) for s in by_kind["member"]])
        await bulk.stage("stage_monitor", MONITOR_COLUMNS, [_monitor_record(s, fresh[s]) for s in by_kind["monitor"]])
        unit_changed, unit_rejected, unit_held = await bulk.apply_units()
        member_changed, member_rejected, member_held = await bulk.apply_members()
        monitor_changed, monitor_rejected, monitor_held = await bulk.apply_monitors()
        outbox = [republished(fresh[s], fresh[s].data.id) for s in unit_changed + member_changed]
        outbox += [republished(fresh[s], fresh[s].data.cell_id) for s in monitor_changed]
        await bulk.write_outbox(outbox, schema=SCHEMA)
        for seq, parent in unit_held:
            await _hold(
                uow, fresh[seq], f"unit:{parent}", f"data.parent_id: unit {parent} is unknown", "data.parent_id"
            )
        for seq in member_held:
            cell = fresh[seq].data.cell_id
            await _hold(uow, fresh[seq], f"unit:{cell}", f"data.cell_id: unit {cell} is unknown", "data.cell_id")
        for seq, missing in monitor_held:
            data = fresh[seq].data
            where = "data.cell_id" if missing == data.cell_id else "data.committee_id"
            await _hold(uow, fresh[seq], f"unit:{missing}", f"{where}: unit {missing} is unknown", where)
        for seq in unit_rejected + member_rejected + monitor_rejected:
            event = fresh[seq]
            why = _rejection_reason(event)
            await _reject(uow, event.source, event.id, event.type, why, lines[seq], received_at, event.correlation_id)
        held = len(unit_held) + len(member_held) + len(monitor_held)
        rejected = len(unit_rejected) + len(member_rejected) + len(monitor_rejected)
        report.outcomes["held"] += held
        report.outcomes["rejected"] += rejected
        report.outcomes["accepted"] += len(fresh) - held - rejected
        provided = [f"unit:{fresh[s].data.id}" for s in by_kind["unit"]] + [
            f"member:{fresh[s].data.id}" for s in by_kind["member"]
        ]
        await release_waiting(await bulk.waited_for(provided), uow)
        for line in others:
            result = await ingest_event(line, uow, route=ROUTE, received_at=received_at)
            report.outcomes[result.outcome] += 1
        await uow.commit()
    report.events += len(lines)


def _rejection_reason(event: Event[Any]) -> InvalidEvent:
    """Why the set-based step refused a staged event: it refers to a unit of the wrong kind."""
    if event.type == "org.unit.upserted.v1":
        return InvalidEvent(
            f"data.parent_id: unit {event.data.parent_id} is a cell and cannot contain units", field="data.parent_id"
        )
    if event.type == "member.upserted.v1":
        return InvalidEvent(f"data.cell_id: unit {event.data.cell_id} is not a cell", field="data.cell_id")
    return InvalidEvent(
        f"data.cell_id: unit {event.data.cell_id} must be a cell and {event.data.committee_id} a committee",
        field="data.cell_id",
    )


async def _hold(uow: MeetingsUnitOfWork, event: Event[Any], waiting_for: str, reason: str, field_name: str) -> None:
    await uow.ingest.hold(
        source=event.source,
        event_id=event.id,
        event_type=event.type,
        raw=event.envelope.model_dump(mode="json", exclude_none=True),
        waiting_for=waiting_for,
        reason=reason,
        field=field_name,
        route=ROUTE,
    )


async def _reject(
    uow: MeetingsUnitOfWork,
    source: str,
    event_id: str,
    event_type: str,
    exc: InvalidEvent,
    raw: str,
    received_at: Any,
    correlation_id: str | None,
) -> None:
    await reject(
        uow,
        source=source,
        event_id=event_id,
        event_type=event_type,
        reason=exc.reason,
        field=exc.field,
        raw=raw,
        route=ROUTE,
        received_at=received_at,
        correlation_id=correlation_id,
    )


async def bulk_load(path: Path, pool: asyncpg.Pool, *, chunk_size: int = 20_000, progress: bool = True) -> LoadReport:
    """Load a JSON-lines file chunk by chunk; return counts, elapsed time and peak memory."""
    return await bulk_load_lines(
        read_lines(path), pool, total=count_lines(path), chunk_size=chunk_size, progress=progress
    )


async def bulk_load_lines(
    lines: Iterable[str], pool: asyncpg.Pool, *, total: int, chunk_size: int = 20_000, progress: bool = True
) -> LoadReport:
    """Load CloudEvent JSON lines chunk by chunk (a file's, or a CSV table's rows); return the report."""
    report = LoadReport()
    started = time.perf_counter()
    with tqdm(total=total, unit="ev", unit_scale=True, disable=not progress, desc="bulk-load") as bar:
        for chunk in chunked(lines, chunk_size):
            await load_chunk(chunk, pool, report)
            bar.update(len(chunk))
    report.elapsed_seconds = time.perf_counter() - started
    report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report
