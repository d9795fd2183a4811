"""Bulk load of a province from JSON lines of CloudEvents: the same validation, set-based SQL, the same outbox.

Units, members and monitor assignments are validated per event in Python (envelope and data), then
applied per chunk with COPY into staging tables and a few INSERT … SELECT statements that also write the
re-published facts. Any other type in the file, and any line refused on reading, goes through the ordinary ingest
path as a batch's transaction judges it. A chunk is applied in runs in file order (`runs`: the staged events between
two lines left to the ingest path set-based, those lines in between); a run the set-based step cannot answer as one
at a time (holds, refusals, releases: `_load_staged`) is rolled back to its savepoint and judged on the ingest path
too. A chunk is read in a thread while the previous one is applied, so Python and PostgreSQL work at the same time.
The answers, tables and facts equal those of the same lines sent one at a time through the ingest path
(tests/meetings/test_bulk_equivalence.py, test_bulk_file_order.py, test_bulk_randomized.py).
"""

import asyncio
import json
import resource
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from tqdm import tqdm

from services.meetings.domain import (
    check_monitor_committee,
    check_plausible_moments,
    kind_change_reason,
    monitor_waiting_key,
    probation_ends_on,
    under_a_cell_reason,
)
from services.meetings.handlers import trace
from services.meetings.handlers.ingest import (
    EVENTS_PER_TRANSACTION,
    REUSED_ID,
    Reading,
    content_digest,
    judge_in_groups,
    read_raw,
    reading_identity,
    reject,
)
from services.meetings.repository.bulk import (
    LOADED_TABLES,
    MEMBER_COLUMNS,
    MONITOR_COLUMNS,
    UNIT_COLUMNS,
    PgBulkRepository,
)
from services.meetings.unit_of_work import SCHEMA, MeetingsUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent, Event, InvalidEvent, now, parse_envelope, peek_identity
from shared.envelope import time_text as envelope_time_text
from shared.logs import get_logger
from shared.reading import read_compact
from shared.refusals import Refusal, RefusalCode
from shared.statistics import AnalyzedTable, analyze_tables
from shared.text import with_article

BULK_TYPES = {"org.unit.upserted.v1": "unit", "member.upserted.v1": "member", "monitor.assigned.v1": "monitor"}
ROUTE = trace.BULK_ROUTE
TYPES = {kind: event_type for event_type, kind in BULK_TYPES.items()}
"""The type of each bulk kind's events."""
MAX_SPLITS = 32
"""Runs a chunk may cut at a line the set-based step cannot answer (load_chunk) before it judges the rest of its staged
events on the ingest path: each cut applies the lines before it set-based again."""
UNIT_ID = UNIT_COLUMNS.index("id")
MEMBER_ID = MEMBER_COLUMNS.index("id")
MONITOR_PERSON = MONITOR_COLUMNS.index("person_id")
MONITOR_CELL = MONITOR_COLUMNS.index("cell_id")
MONITOR_COMMITTEE = MONITOR_COLUMNS.index("committee_id")
UNIT_PARENT = UNIT_COLUMNS.index("parent_id")
MEMBER_CELL = MEMBER_COLUMNS.index("cell_id")
DATA = UNIT_COLUMNS.index("data")  # an envelope column: the same place in every kind's row
CORRELATION = UNIT_COLUMNS.index("correlation_id")  # an envelope column too

log = get_logger(__name__)


def _identity(record: tuple[Any, ...]) -> tuple[str, str]:
    """A staged row's (source, id): its first envelope columns, the same places in every kind's row."""
    return record[1], record[2]


def _trace_fields(kind: str, record: tuple[Any, ...]) -> dict[str, Any]:
    """The fields naming a staged row's event on its log line (handlers.trace.identity's, from the row: its
    correlation id staged as Event.correlation_id gives it, its own else its id)."""
    source, event_id = _identity(record)
    return trace.fields(
        event_id=event_id, event_type=TYPES[kind], event_source=source, correlation_id=record[CORRELATION]
    )


@dataclass
class LoadReport:
    """What a bulk load did, and how fast."""

    events: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {"accepted": 0, "duplicate": 0, "held": 0, "rejected": 0})
    elapsed_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    analyzed: list[AnalyzedTable] = field(default_factory=list)
    """The tables analyzed at the end (their table_analyzed lines are INFO, below the command's WARNING)."""
    held_ids: set[tuple[str, str]] = field(default_factory=set)
    """(source, id) of the lines held at their place (`outcomes["held"]`), to tell what became of them."""
    held_then: dict[str, int] = field(default_factory=lambda: {"released": 0, "rejected": 0, "still_held": 0})
    """What became of the lines held at their place by the end of the load (held_outcomes): applied once what they
    waited for came later in the file (`released`), refused then (`rejected`), or still held."""

    @property
    def final(self) -> dict[str, int]:
        """The outcomes as they stand at the end: a line held at its place and released since counts as accepted,
        one refused since as rejected, only one still waiting as held."""
        return {
            "accepted": self.outcomes["accepted"] + self.held_then["released"],
            "duplicate": self.outcomes["duplicate"],
            "held": self.held_then["still_held"],
            "rejected": self.outcomes["rejected"] + self.held_then["rejected"],
        }

    @property
    def events_per_second(self) -> float:
        """Throughput over the whole run."""
        return self.events / self.elapsed_seconds if self.elapsed_seconds else 0.0


def read_lines(path: Path) -> Iterator[str]:
    """The file's non-empty lines; a byte order mark at its start is the file's, not the first event's (Windows tools
    save UTF-8 with one; RFC 8259 8.1 lets a reader ignore it), as the CSV tables are read."""
    with path.open(encoding="utf-8-sig") as lines:
        yield from (line for line in lines if line.strip())


class Chunks:
    """The lines, `size` at a time; a fault of the source (a CSV row that breaks its table, a read error) ends
    the chunks after the lines before it, and is kept in `fault` to raise once those are loaded."""

    def __init__(self, lines: Iterable[str], size: int) -> None:
        self._source = iter(lines)
        self._size = size
        self.fault: Exception | None = None

    def __iter__(self) -> Iterator[list[str]]:
        while self.fault is None:
            chunk: list[str] = []
            try:
                for line in self._source:
                    chunk.append(line)
                    if len(chunk) >= self._size:
                        break
            except Exception as exc:
                self.fault = exc
            if not chunk:
                return
            yield chunk


def count_lines(path: Path) -> int:
    """Lines in the file, for the progress bar's total."""
    with path.open("rb") as raw:
        return sum(block.count(b"\n") for block in iter(lambda: raw.read(1 << 20), b""))


_TIMES: dict[tuple[datetime, Any, int], str] = {}
"""An event time as the envelope writes it, by time, offset and nanoseconds (a file's events share a few times)."""


def time_text(moment: datetime, nanoseconds: int = 0) -> str:
    """`moment` (and its `nanoseconds` below the microsecond) as CloudEvent.to_json writes it (shared.envelope.
    time_text: `Z` for UTC, every digit it came with), as publish_applied's facts."""
    key = (moment, moment.utcoffset(), nanoseconds)
    text = _TIMES.get(key)
    if text is None:
        if len(_TIMES) > 10_000:
            _TIMES.clear()
        text = _TIMES[key] = envelope_time_text(moment, nanoseconds)
    return text


def _envelope_record(seq: int, event: Event[Any]) -> tuple[Any, ...]:
    """The staged columns every type shares (repository.bulk.ENVELOPE_COLUMNS)."""
    return (
        seq,
        event.source,
        event.id,
        event.time,
        event.time_ns,
        time_text(event.time, event.time_ns),
        event.correlation_id,
        event.data.model_dump_json(),
    )


def _unit_record(seq: int, event: Event[Any]) -> tuple[Any, ...]:
    d = event.data
    category = d.category.value if d.category else None
    return (
        *_envelope_record(seq, event),
        d.id,
        d.name,
        d.kind.value,
        d.parent_id,
        category,
        json.dumps(d.contact_emails),
        d.active,
    )


def _member_record(seq: int, event: Event[Any]) -> tuple[Any, ...]:
    d = event.data
    ends_on = probation_ends_on(status=d.status.value, admitted_on=d.admitted_on)
    return (*_envelope_record(seq, event), d.id, d.cell_id, ends_on)


def _monitor_record(seq: int, event: Event[Any]) -> tuple[Any, ...]:
    d = event.data
    return (*_envelope_record(seq, event), d.person_id, d.cell_id, d.committee_id, d.full_name, d.email, d.yearly_quota)


RECORDS = {"unit": _unit_record, "member": _member_record, "monitor": _monitor_record}
"""How an event of each bulk kind is staged."""


def read_envelope(line: str) -> CloudEvent:
    """parse_envelope(line), with the JSON read at C speed when the line is in the compact form generators and
    exports write (shared.reading.read_compact proves it clean); any other line is read as every door reads it."""
    value = read_compact(line)
    if type(value) is dict:
        return parse_envelope(value, checked=True)
    return parse_envelope(line)


@dataclass
class ReadChunk:
    """A chunk read and validated in memory, ready to apply: what `read_chunk` made of its lines."""

    lines: list[str]
    received_at: datetime
    staged: dict[int, tuple[str, tuple[Any, ...]]] = field(default_factory=dict)
    """The events of the bulk types that passed every check, by their place in the chunk: their kind and their
    staging table's row (not the events themselves: two chunks are in memory at once, and the few events a
    hold or a rejection needs are read again from their lines)."""
    digests: dict[int, bytes] = field(default_factory=dict)
    """The content digest of each staged event by its place (handlers.ingest.content_digest), kept in the inbox."""
    others: dict[int, str] = field(default_factory=dict)
    """Lines left to the ingest path by their place: other types, lines of the bulk types refused on reading, and
    lines that are no event (whose rejection it stores)."""
    anonymous: set[int] = field(default_factory=set)
    """The places of the `others` that name no event (no `id` to read): their rejection touches nothing another line
    reads, so they need not cut a run of staged events in two (runs)."""


def _bulk_type(named: Any) -> bool:
    """Whether an envelope's `type` value names a type the set-based step applies."""
    return isinstance(named, str) and named in BULK_TYPES


def read_chunk(lines: list[str], *, received_at: datetime) -> ReadChunk:
    """Read and validate a chunk's lines in memory (no database: it runs in a thread while the previous chunk is
    applied)."""
    chunk = ReadChunk(lines=[line.rstrip("\r\n") for line in lines], received_at=received_at)
    for seq, line in enumerate(chunk.lines):
        value = read_compact(line)  # as read_envelope reads it
        if type(value) is dict and not _bulk_type(value.get("type")):
            _leave(chunk, seq, line, value)  # read once, by the ingest path, not here as well
            continue
        try:
            envelope = parse_envelope(value, checked=True) if type(value) is dict else parse_envelope(line)
        except InvalidEvent:
            _leave(chunk, seq, line, value if type(value) is dict else _json_or_none(line))
            continue
        kind = BULK_TYPES.get(envelope.type)
        try:
            if kind is None:
                raise InvalidEvent(f"type: {envelope.type!r}")
            event = read_event(envelope)
            check_plausible_moments(event, now=received_at)
        except InvalidEvent:
            chunk.others[seq] = line  # refused by the ingest path at its place, as one at a time
            continue
        record = RECORDS[kind](seq, event)
        chunk.staged[seq] = (kind, record)
        chunk.digests[seq] = content_digest(envelope.type, event.data, record[DATA].encode())
    return chunk


def _leave(chunk: ReadChunk, seq: int, line: str, value: Any) -> None:
    """Leave the line at `seq` to the ingest path, noting it `anonymous` when it names no event (peek_identity)."""
    chunk.others[seq] = line
    if not peek_identity(value)[1]:
        chunk.anonymous.add(seq)


def _json_or_none(line: str) -> Any:
    """The line's JSON value, None when it is none."""
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def runs(chunk: ReadChunk) -> list[list[int]]:
    """The chunk's places cut into runs in file order, alternately of staged events (applied set-based) and of lines
    left to the ingest path, so that each line meets the state the lines before it leave, as one at a time: a
    meeting before its cell's line is held, a line refused on reading forgets its id's inbox row before the copies
    after it and not before those before it. A line naming no event does not cut a run of staged events: it is
    judged with the lines after that run, its rejection touching nothing the run reads."""
    cut: list[list[int]] = []
    staged: list[int] = []
    left: list[int] = []
    anonymous: list[int] = []  # within the open run of staged events
    for seq in range(len(chunk.lines)):
        if seq in chunk.staged:
            if left:
                cut.append(left)
                left = []
            staged.append(seq)
        elif staged and seq in chunk.anonymous:
            anonymous.append(seq)
        else:
            if staged:
                cut.append(staged)
                staged, left, anonymous = [], anonymous, []
            left.append(seq)
    if staged:
        cut.append(staged)
        left = anonymous
    if left:
        cut.append(left)
    return cut


async def load_chunk(chunk: ReadChunk, pool: asyncpg.Pool, report: LoadReport) -> None:
    """Dedupe and apply one read chunk in one transaction, its runs (`runs`) in file order."""
    received_at = chunk.received_at
    cut = runs(chunk)
    # the lines left to the ingest path are read in a thread while the SQL before them runs
    readings = {
        run[0]: _OtherReadings([chunk.others[seq] for seq in run], received_at=received_at)
        for run in cut
        if run[0] in chunk.others
    }
    # each line's answer is traced as an event of any other route is: one `event_accepted` line each accepted one
    # (route `bulk`) and a chibo_ingest_events_total sample each, as are the held events the chunk releases
    # (handlers.ingest.release_waiting notes them, route `release`), once the chunk committed (handlers.trace;
    # docs/operations.md, "Following an event"); noted in memory, no statement per event
    with trace.tracing() as judged:
        async with MeetingsUnitOfWork(pool) as uow:
            await uow.ingest.lock_gate()  # the chunk's 20,000 events exclude every other ingest transaction
            bulk = PgBulkRepository(uow.connection)
            await bulk.create_staging()
            fresh = _Reread(chunk.lines)
            staged_runs = misses = 0
            for run in cut:
                others = readings.get(run[0])
                if others is not None:
                    # the other types as a batch's transaction judges them (a statement per group, not per event)
                    await _judge_lines(others, uow, received_at, report)
                    continue
                # the run's staged events set-based, but for the lines the set-based step cannot answer as one at a
                # time (_load_staged): each judged on the ingest path at its place, the lines before it applied
                # set-based again without it, those after it a run of their own
                queue: list[tuple[bool, list[int]]] = [(True, run)]  # (set-based, places), in file order
                while queue:
                    set_based, places = queue.pop(0)
                    if not places:
                        continue
                    if not set_based or misses >= MAX_SPLITS:  # a chunk this tangled is judged on the ingest path
                        lines = [chunk.lines[seq] for seq in places]
                        await _judge_lines(_OtherReadings(lines, received_at=received_at), uow, received_at, report)
                        continue
                    if staged_runs:
                        await bulk.clear_staging()
                    staged_runs += 1
                    # what the lines before wrote is sent first (a member's removal the set-based step reads), and what
                    # they read forgotten after: the set-based statements write past the repositories' caches
                    await uow.org.forget_reads()
                    trouble = await _load_staged(
                        chunk, {seq: chunk.staged[seq] for seq in places}, uow, bulk, fresh, report
                    )
                    await uow.org.forget_reads()
                    if trouble is not None:
                        misses += 1
                        at = places.index(trouble)
                        queue[:0] = [(True, places[:at]), (False, [trouble]), (True, places[at + 1 :])]
            await bulk.wake_relay(schema=SCHEMA)
            await uow.commit()
            trace.report(judged)
    report.events += len(chunk.lines)


async def _judge_lines(
    readings: "_OtherReadings", uow: MeetingsUnitOfWork, received_at: datetime, report: LoadReport
) -> None:
    """Judge lines on the ingest path in `uow`'s transaction as a batch's transaction judges them, counting their
    answers in `report`."""
    async for group in readings:
        results = await judge_in_groups(group, uow, route=ROUTE, received_at=received_at)
        for reading, result in zip(group, results, strict=True):
            # named as the staged rows are (_trace_fields): no request lent it a correlation id, its own else its id
            fields = trace.identity(reading.event) if reading.event is not None else reading_identity(reading)
            trace.note(ROUTE, fields, result.outcome)  # its line and sample once the chunk committed
            report.outcomes[result.outcome] += 1
            if result.outcome == "held":
                report.held_ids.add((result.source, result.id))


async def _load_staged(
    chunk: ReadChunk,
    staged: dict[int, tuple[str, tuple[Any, ...]]],
    uow: MeetingsUnitOfWork,
    bulk: PgBulkRepository,
    fresh: "_Reread",
    report: LoadReport,
) -> int | None:
    """Dedupe and apply a run of the chunk's staged events (`staged`, by place) set-based in `uow`'s transaction,
    counting each line's answer in `report`. Return None, or, with nothing left written, the place of the first line
    the set-based step cannot answer as one at a time: one that releases events held before the run, a copy of a
    held event, an event the state holds or refuses, or one before the line of a new unit it needs
    (`_before_new_units`); the caller judges that line on the ingest path (load_chunk)."""
    received_at, digests = chunk.received_at, chunk.digests
    waited = set(await bulk.waited_for(sorted({_provides(*entry) for entry in staged.values()})))
    if waited:  # the run releases events held before it, at the line that provides what they wait for
        return min(seq for seq, entry in staged.items() if _provides(*entry) in waited)
    await bulk.start_run()
    firsts, rejected_before = await bulk.first_deliveries(
        [(seq, *_identity(record), digests[seq]) for seq, (_, record) in staged.items()]
    )
    copies = [_identity(record) for seq, (_, record) in staged.items() if seq not in firsts]
    inbox = await bulk.inbox_rows(copies)  # the digest each copy's id is recorded with, and if held before
    # a copy of a held event is held again
    trouble = [seq for seq, (_, record) in staged.items() if inbox.get(_identity(record), (None, False, None, None))[1]]
    if not trouble:
        loaded = {record[UNIT_ID] for kind, record in staged.values() if kind == "unit"}
        ask = {unit for kind, record in staged.values() for unit in _units_named(kind, record)} & loaded
        held, refused, stored = await _apply_round(bulk, staged, firsts, fresh, sorted(ask))
        trouble = [seq for seq, _, _ in held] + [seq for seq, _ in refused]
        trouble += _before_new_units(staged, firsts, ask - stored)
    if trouble:
        await bulk.undo_run()
        return min(trouble)
    await bulk.keep_run()
    reused = _reused(staged, digests, firsts, inbox)
    # a fix resent under a rejected event's id, accepted: its rejection is closed as the ingest path closes it
    # (queued with the transaction's other closings: one statement at commit, none when no fix was loaded), before
    # the refusals of other events under that id after it, which open it again (PgIngestRepository.reject)
    if rejected_before:
        closed_at = now()
        uow.ingest.note_rejected_before(_identity(staged[seq][1]) for seq in rejected_before)
        for seq in sorted(rejected_before):
            source, event_id = _identity(staged[seq][1])
            await uow.ingest.close_superseded(source=source, event_id=event_id, at=closed_at)
    for seq in reused:  # as the ingest path refuses it: the inbox row stays the other event's
        event = fresh[seq]
        why = InvalidEvent(REUSED_ID, field="id", refusal=Refusal(code=RefusalCode.ID_REUSED))
        await _reject(
            uow,
            event.source,
            event.id,
            event.type,
            why,
            chunk.lines[seq],
            received_at,
            event.envelope.correlationid,
            keep_processed=True,
        )
    # each line traced once the chunk committed (load_chunk): an accepted one's `event_accepted` line, a duplicate's
    # line here as the ingest path writes it (a reused id's `event_rejected` line _reject wrote), a sample each
    reused_at = set(reused)
    for seq, (kind, record) in staged.items():
        fields = _trace_fields(kind, record)
        outcome = "accepted" if seq in firsts else "rejected" if seq in reused_at else "duplicate"
        if outcome == "duplicate":  # when and by which route its event was first taken in, as the ingest path says
            first = inbox.get(_identity(record))
            taken_in = trace.first_taken_in(*first[2:]) if first is not None else trace.first_taken_in(None, None)
            trace.line(log.info, "event_duplicate", **fields, **taken_in, route=ROUTE, sender=None, message_id=None)
        trace.note(ROUTE, fields, outcome)
    report.outcomes["accepted"] += len(firsts)
    report.outcomes["duplicate"] += len(staged) - len(firsts) - len(reused)
    report.outcomes["rejected"] += len(reused)
    return None


def _before_new_units(
    staged: dict[int, tuple[str, tuple[Any, ...]]], firsts: set[int], new_units: set[str]
) -> list[int]:
    """The events of the run before the first snapshot of a unit they need that the run brings new (`new_units`):
    held at their line one at a time (CONTRACT.md), where the set-based step, applying units first, accepts them."""
    if not new_units:
        return []
    first_at: dict[str, int] = {}
    for seq in sorted(firsts):
        kind, record = staged[seq]
        if kind == "unit":
            first_at.setdefault(record[UNIT_ID], seq)
    return [
        seq
        for seq in firsts
        if any(first_at.get(unit, -1) >= seq for unit in _units_named(*staged[seq]) if unit in new_units)
    ]


async def _apply_round(
    bulk: PgBulkRepository,
    staged: dict[int, tuple[str, tuple[Any, ...]]],
    seqs: Iterable[int],
    fresh: "_Reread",
    ask: Iterable[str] = (),
) -> tuple[list[tuple[int, str, str]], list[tuple[int, InvalidEvent]], set[str]]:
    """Stage the events `seqs` of the chunk and apply them (units, then members, then monitors); return those held
    ((seq, missing unit, field)), those the stored state refuses ((seq, why)) and the units among `ask` stored before
    the round."""
    by_kind: dict[str, list[tuple[Any, ...]]] = {"unit": [], "member": [], "monitor": []}
    for seq in seqs:
        kind, record = staged[seq]
        by_kind[kind].append(record)
    await bulk.stage("stage_unit", UNIT_COLUMNS, by_kind["unit"])
    await bulk.stage("stage_member", MEMBER_COLUMNS, by_kind["member"])
    await bulk.stage("stage_monitor", MONITOR_COLUMNS, by_kind["monitor"])
    held: list[tuple[int, str, str]] = []  # (seq, missing unit, field)
    rejected: list[tuple[int, InvalidEvent]] = []
    unit_rejected, unit_held, stored = await bulk.apply_units(sorted(ask))
    held += [(seq, parent, "data.parent_id") for seq, parent in unit_held]
    rejected += [(seq, _refused_unit(fresh[seq], stored_kind)) for seq, stored_kind in unit_rejected]
    for seq, unit_kind in await bulk.unplaced_members():
        cell_id = fresh[seq].data.cell_id
        if unit_kind is None:
            held.append((seq, cell_id, "data.cell_id"))
        else:
            rejected.append((seq, _not_a(unit_kind, unit_id=cell_id, wanted="cell", field="data.cell_id")))
    await bulk.apply_members()
    for seq, cell_kind, committee_kind in await bulk.unplaced_monitors():
        data = fresh[seq].data  # judged as apply_monitor judges them: the cell first, then the committee, its place
        if cell_kind is None:
            held.append((seq, data.cell_id, "data.cell_id"))
        elif cell_kind != "cell":
            rejected.append((seq, _not_a(cell_kind, unit_id=data.cell_id, wanted="cell", field="data.cell_id")))
        elif committee_kind is None:
            held.append((seq, data.committee_id, "data.committee_id"))
        elif committee_kind != "committee":
            why = _not_a(committee_kind, unit_id=data.committee_id, wanted="committee", field="data.committee_id")
            rejected.append((seq, why))
        else:
            rejected.append((seq, _not_above(committee_id=data.committee_id, cell_id=data.cell_id)))
    await bulk.apply_monitors()
    return held, rejected, stored


def _reused(
    staged: dict[int, tuple[str, tuple[Any, ...]]],
    digests: dict[int, bytes],
    firsts: set[int],
    inbox: dict[tuple[str, str], tuple[bytes | None, bool, datetime, str | None]],
) -> list[int]:
    """The copies of the run (staged seqs not in `firsts`) to refuse naming `id` (REUSED_ID) as the ingest path
    does: another event under an id the inbox holds with other content; the others are `duplicate`. A row without a
    digest (an earlier bulk load's) is taken as the same content, as Reading.same_content takes it."""
    reused: list[int] = []
    for seq, (_, record) in staged.items():
        recorded = inbox.get(_identity(record), (None, False, None, None))[0]
        if seq not in firsts and recorded is not None and recorded != digests[seq]:
            reused.append(seq)
    return reused


def _units_named(kind: str, record: tuple[Any, ...]) -> tuple[str, ...]:
    """The units a staged event needs (domain.require_unit's): a unit's parent, a member's cell, an assignment's cell
    and committee."""
    if kind == "unit":
        parent = record[UNIT_PARENT]
        return (parent,) if parent else ()
    if kind == "member":
        return (record[MEMBER_CELL],)
    return (record[MONITOR_CELL], record[MONITOR_COMMITTEE])


def _provides(kind: str, record: tuple[Any, ...]) -> str:
    """The key a held event waits for that a staged event of `kind` provides (handlers.ingest's waiting keys)."""
    if kind == "unit":
        return f"unit:{record[UNIT_ID]}"
    if kind == "member":
        return f"member:{record[MEMBER_ID]}"
    return monitor_waiting_key(record[MONITOR_PERSON], record[MONITOR_CELL])


class _OtherReadings:
    """The lines left to the ingest path, read (read_raw, judged against the chunk's clock as its bulk types are)
    EVENTS_PER_TRANSACTION at a time in a thread, the next group while the current one is judged: reading them in
    the loop left PostgreSQL idle meanwhile (a third of a six-month province's load time). Reading starts at once."""

    def __init__(self, lines: list[str], *, received_at: datetime) -> None:
        self._lines = lines
        self._at = received_at
        self._next = self._read(0)

    def _read(self, start: int) -> "asyncio.Future[list[Reading]] | None":
        if start >= len(self._lines):
            return None
        group = self._lines[start : start + EVENTS_PER_TRANSACTION]
        return asyncio.ensure_future(asyncio.to_thread(lambda: [read_raw(line, at=self._at) for line in group]))

    async def __aiter__(self) -> AsyncIterator[list[Reading]]:
        start = 0
        while self._next is not None:
            group = await self._next
            start += len(group)
            self._next = self._read(start)
            yield group


class _Reread(dict[int, Event[Any]]):
    """The events of a chunk's lines by place, read again when first asked for (a hold or a rejection)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self._lines = lines

    def __missing__(self, seq: int) -> Event[Any]:
        self[seq] = event = read_event(read_envelope(self._lines[seq]))
        return event


def _refused_unit(event: Event[Any], stored_kind: str | None) -> InvalidEvent:
    """Why a staged unit was refused: it changes the kind its unit has (domain.check_unit_kind's reason), or its
    parent is a cell (domain.check_unit_placement's)."""
    if stored_kind is not None:
        reason = kind_change_reason(unit_id=event.data.id, stored=stored_kind, sent=event.data.kind.value)
        return InvalidEvent(reason, field="data.kind")
    return InvalidEvent(under_a_cell_reason(event.data.parent_id), field="data.parent_id")


def _not_above(*, committee_id: str, cell_id: str) -> InvalidEvent:
    """Why a staged assignment was refused: its committee is not above its cell (domain.check_monitor_committee's
    reason and code)."""
    try:
        check_monitor_committee(committee_id=committee_id, cell_id=cell_id, path=[])
    except InvalidEvent as exc:
        return exc
    raise AssertionError("a committee is never above a cell on an empty path")


def _not_a(kind: str, *, unit_id: str, wanted: str, field: str) -> InvalidEvent:
    """Why a staged event was refused: it names a unit of the wrong kind (domain.require_unit's reason)."""
    return InvalidEvent(f"{field}: unit {unit_id} is {with_article(kind)}, not {with_article(wanted)}", field=field)


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
        sources_listed=False,  # a bulk load is judged by the registry (no sender's list): released by it too
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
    *,
    keep_processed: bool = False,
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
        refusal=exc.refusal,  # its code, as the ingest path stores it (a cell without a parent, a birth ahead)
        keep_processed=keep_processed,  # the inbox row is another event's (REUSED_ID)
        sources_listed=False,  # a bulk load is judged by the registry (no sender's list), as ingest with sources None
    )


async def flush_table_counters(pool: asyncpg.Pool) -> None:
    """Make every connection of the pool hand its pending table counters (rows inserted, updated) to pg_stat now.

    PostgreSQL 15 flushes a backend's counters at most once a second while it works, and at its exit: flushed after
    the load's closing ANALYZE they count as changed since it (and double n_live_tup), so the services' statistics
    maintenance analyzed every loaded table again seconds later (member and member_version: 3,000 rows loaded,
    analyzed by the load, then again by meetings with changed_rows 3000). A backend flushes when it goes idle after
    pg_stat_force_next_flush(); all connections are held at once so that each is asked."""
    held: list[asyncpg.pool.PoolConnectionProxy] = []
    try:
        for _ in range(pool.get_size()):
            held.append(await pool.acquire())
        for conn in held:
            await conn.execute("SELECT pg_stat_force_next_flush()")
    finally:
        for conn in held:
            await pool.release(conn)


async def held_outcomes(conn: asyncpg.Connection, held: set[tuple[str, str]]) -> dict[str, int]:
    """What became of events held at their line, by (source, id): still held (held_event), refused since (an open
    rejection), else released and applied; {"released", "rejected", "still_held"}."""
    if not held:
        return {"released": 0, "rejected": 0, "still_held": 0}
    sources, ids = [source for source, _ in held], [event_id for _, event_id in held]
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE h.source IS NOT NULL) AS still_held,"
        " count(*) FILTER (WHERE h.source IS NULL AND r.source IS NOT NULL) AS rejected,"
        " count(*) FILTER (WHERE h.source IS NULL AND r.source IS NULL) AS released"
        " FROM unnest($1::text[], $2::text[]) AS t (source, event_id)"
        " LEFT JOIN LATERAL (SELECT source FROM held_event WHERE held_event.source = t.source"
        "  AND held_event.event_id = t.event_id LIMIT 1) AS h ON true"
        " LEFT JOIN LATERAL (SELECT source FROM rejection WHERE rejection.source = t.source"
        "  AND rejection.event_id = t.event_id AND rejection.status = 'open' LIMIT 1) AS r ON true",
        sources,
        ids,
    )
    return {"released": int(row["released"]), "rejected": int(row["rejected"]), "still_held": int(row["still_held"])}


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
    # the reading thread holds the GIL most of the time: the loop, resumed when a statement's answer arrives, would
    # wait up to the default 5 ms for it at each await and leave PostgreSQL idle meanwhile
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        # exact counts (3005/3005, never 3.00k): an operator compares them with the file's lines
        with tqdm(total=total, unit="ev", disable=not progress, desc="bulk-load") as bar:
            applying: ReadChunk | None = None
            chunks = Chunks(lines, chunk_size)
            for lines_of_chunk in chunks:
                # this chunk is read in a thread while the previous one is applied: the database and Python overlap
                reading = asyncio.ensure_future(asyncio.to_thread(read_chunk, lines_of_chunk, received_at=now()))
                try:
                    if applying is not None:
                        await load_chunk(applying, pool, report)
                        bar.update(len(applying.lines))
                finally:
                    applying = await reading
            if applying is not None:
                await load_chunk(applying, pool, report)
                bar.update(len(applying.lines))
            if chunks.fault is not None:
                raise chunks.fault  # the lines before it are loaded; loading again finds them duplicate
    finally:
        sys.setswitchinterval(switch_interval)
    # the consumers' and ingest's statements about these tables are planned from their statistics: fresh now, not
    # whenever autovacuum (if on) next passes its thresholds
    await flush_table_counters(pool)
    async with pool.acquire() as conn:
        report.held_then = await held_outcomes(conn, report.held_ids)
        report.analyzed = await analyze_tables(conn, schema=SCHEMA, tables=LOADED_TABLES, reason="bulk_load")
    report.elapsed_seconds = time.perf_counter() - started
    report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report
