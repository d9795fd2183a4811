"""Use cases for each fact evaluation consumes: store it in the projection, then note what it affects.

A handler only notes the meetings to rescore (`uow.touched`); at the end of the delivery `defer_touched` notes the
cells for the scoring worker (or `score_touched` scores them at once). Facts that only add to a meeting (documents,
attendance, minutes, approval, assessments, task completions, cancellations) are not even written by their handler:
they wait in `uow.touched.pending` and `handlers/pending.py::write_pending` writes each kind multi-row first.

Nothing assumes a referent arrived first: a fact about an unknown meeting is stored and takes
effect when the meeting is scheduled, because scoring always reads every stored fact.
"""

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from services.evaluation.domain.facts import COMMITTEE_ROLE, MemberRemoval, MemberSnapshot, has_committee_at
from services.evaluation.domain.touched import PendingFact
from services.evaluation.handlers.moves import note_unit_move
from services.evaluation.handlers.pending import write_pending
from services.evaluation.handlers.scores import ScoringUnitOfWork
from services.evaluation.repository import Adoption, FactStamp
from services.evaluation.repository.facts import CommitteeHistory, Unrostered
from shared.consuming import BatchHandler, EventHandler, check_same_cell, check_same_kind
from shared.contracts import meetings as contract
from shared.envelope import Event
from shared.minutes import roster_content_key

T = TypeVar("T")


def lock_order(event: Event[Any]) -> str:
    """The key a fact's handler locks first (its member, meeting or unit): a batch is applied in this order, so
    batches handled side by side (other processes) take the subject locks in one global order."""
    data = event.data
    if event.type.startswith("member."):
        return f"member:{data.id}"
    meeting_id = getattr(data, "meeting_id", None)
    return f"meeting:{meeting_id}" if meeting_id else f"unit:{getattr(data, 'id', '')}"


def batch_order(event: Event[Any]) -> str:
    """The order a delivery's (or a group of deliveries') facts are applied in: `lock_order`, those whose handlers
    only note the fact for write_pending (which locks their meetings at the end, in one statement) after all the
    others. The locks handlers take stay in one global key order, and a group of relay batches (one type each)
    keeps each type's events in long runs: sorted by key alone, a meeting's documents, roster and minutes split
    the meeting.scheduled.v1 run into runs of one, four statements per meeting instead of four per run."""
    return ("1" if event.type in _PENDING_ONLY else "0") + lock_order(event)


def stamp_of(event: Event[Any]) -> FactStamp:
    """The (time, ns, id) that orders snapshots."""
    return FactStamp(time=event.time, event_id=event.order_id, ns=event.time_ns)


async def _rescore_meeting(
    uow: ScoringUnitOfWork,
    event: Event[Any],
    meeting_id: str,
    *,
    following: bool,
    before: tuple[str, datetime] | None = None,
) -> None:
    """Note one meeting to rescore, and with `following` every later meeting of its cell (runs, previous tasks)."""
    after = await uow.facts.meeting_position(meeting_id)
    _touch_meeting(uow, event, meeting_id, following=following, before=before, after=after)


def _touch_meeting(
    uow: ScoringUnitOfWork,
    event: Event[Any],
    meeting_id: str,
    *,
    following: bool,
    before: tuple[str, datetime] | None,
    after: tuple[str, datetime] | None,
) -> None:
    positions = {position for position in (before, after) if position is not None}
    cells: dict[str, datetime] = {}
    for cell_id, starts_at in positions:
        cells[cell_id] = min(starts_at, cells.get(cell_id, starts_at))
    for cell_id, since in sorted(cells.items()):
        uow.touched.touch(
            cell_id,
            since=since if following else None,
            only={meeting_id},
            correlation_id=event.correlation_id,
            recorded_at=event.time,
        )


async def _rescore_whole_cells(uow: ScoringUnitOfWork, event: Event[Any], cells: set[str]) -> None:
    for cell_id in sorted(cells):
        uow.touched.touch(
            cell_id,
            since=datetime.min.replace(tzinfo=event.time.tzinfo),
            correlation_id=event.correlation_id,
            recorded_at=event.time,
        )


async def unit_upserted(event: Event[contract.OrgUnitUpserted], uow: ScoringUnitOfWork) -> None:
    """Store a unit snapshot; a move in the tree can change which committee's framework applies below it, and a
    cell's snapshot (even an older one) when the cell existed, so its periods are looked at again (not for a plain
    newer active snapshot: a tree sent again would rescore every cell). Contradiction naming `data.kind` for a
    snapshot changing a stored unit's kind (meetings refuses it: "a unit never changes kind")."""
    data = event.data
    held = await uow.facts.unit_kind(data.id)
    check_same_kind(data.id, held=held, sent=data.kind.value)
    changed, old_parent, may_move_span = await uow.facts.upsert_unit(
        unit=data.model_dump(mode="json"), stamp=stamp_of(event)
    )
    await _unit_kept(uow, event, held, changed, old_parent, may_move_span)


async def _unit_kept(
    uow: ScoringUnitOfWork,
    event: Event[contract.OrgUnitUpserted],
    held: str | None,
    changed: bool,
    old_parent: str | None,
    may_move_span: bool,
) -> None:
    """What `unit_upserted` does once the snapshot is written: the touches and move notes."""
    data = event.data
    if data.kind == "cell" and may_move_span:
        uow.touched.touch(data.id, correlation_id=event.correlation_id, recorded_at=event.time)
    if changed and held is not None and old_parent != data.parent_id:  # a root put under a committee too
        await note_unit_move(uow, unit_id=data.id, old_parent=old_parent, new_parent=data.parent_id)
    if not changed or old_parent == data.parent_id:
        return
    if any(adoption.committee_id is not None for adoption in await uow.frameworks.adoptions()):
        await _rescore_whole_cells(uow, event, set(await uow.facts.subtree_cells(data.id)))


async def units_upserted(events: Sequence[Event[contract.OrgUnitUpserted]], uow: ScoringUnitOfWork) -> None:
    """A run of org.unit.upserted.v1, leaving what `unit_upserted` of each in turn leaves.

    The stored units of the run are read in one statement (kinds checked as `unit_upserted` checks them). A unit
    named once that cannot move in the tree here (not stored yet while no committee adopted a framework, or stored
    under the same parent: `unit_upserted` then reads no tree) reads nothing another unit's write changes, and each
    stretch of such units is written in two statements; any other goes through `unit_upserted`, in order (issue 12:
    four statements a unit before)."""
    times = Counter(event.data.id for event in events)
    held = await uow.facts.units_held(sorted(times))
    for event in events:
        kept = held.get(event.data.id)
        check_same_kind(event.data.id, held=kept[0] if kept else None, sent=event.data.kind.value)
    committees = any(adoption.committee_id is not None for adoption in await uow.frameworks.adoptions())

    def still(event: Event[contract.OrgUnitUpserted]) -> bool:
        kept = held.get(event.data.id)
        if times[event.data.id] > 1:
            return False
        return (kept is None and not committees) or (kept is not None and kept[1] == event.data.parent_id)

    start = 0
    while start < len(events):
        if not still(events[start]):
            await unit_upserted(events[start], uow)
            start += 1
            continue
        end = start + 1
        while end < len(events) and still(events[end]):
            end += 1
        stretch = events[start:end]
        written = await uow.facts.upsert_units(
            [(event.data.model_dump(mode="json"), stamp_of(event)) for event in stretch], held
        )
        for event in stretch:
            kept = held.get(event.data.id)
            await _unit_kept(uow, event, kept[0] if kept else None, *written[event.data.id])
        start = end


async def committee_by_meeting(
    uow: ScoringUnitOfWork,
    cell_id: str,
    histories: dict[str, CommitteeHistory] | None = None,
    starts: dict[str, list[tuple[str, datetime]]] | None = None,
) -> dict[str, bool]:
    """Per meeting of the cell, whether the cell had a committee at its start (from the member history).

    `histories`: the cells' committee histories read so far in this transaction, by cell (a cache the caller keeps
    right: member upserts change a cell's history, and each takes the cell's lock); the cell's is read when missing
    there, and noted in it. `starts`: likewise the cells' meetings' (id, effective start) read so far, for a caller
    that holds the cell's lock from before the first read until it commits (member facts, which change no start): a
    meeting scheduled or moved meanwhile is touched by its own fact, whose scoring round waits for that lock and so
    sees this transaction's members (issue 12: two reads per committee member before)."""
    history = await _read_once(histories, cell_id, uow.facts.committee_history)
    meetings = await _read_once(starts, cell_id, uow.facts.meeting_starts)
    return _committee_flags({cell_id: history}, {cell_id: meetings})[cell_id]


async def _read_once(cache: dict[str, T] | None, cell_id: str, read: Callable[[str], Awaitable[T]]) -> T:
    """`cache[cell_id]` when read before in this transaction, else `read(cell_id)`, noted in `cache` (None: no cache,
    read each time)."""
    if cache is not None and cell_id in cache:
        return cache[cell_id]
    value = await read(cell_id)
    if cache is not None:
        cache[cell_id] = value
    return value


async def _rescore_committee_changes(
    uow: ScoringUnitOfWork,
    event: Event[Any],
    before: dict[str, dict[str, bool]],
    histories: dict[str, CommitteeHistory] | None = None,
    starts: dict[str, list[tuple[str, datetime]]] | None = None,
) -> None:
    """Rescore the meetings whose "has a committee" changed (it matters to that meeting alone); `histories` and
    `starts`: as `committee_by_meeting`'s, where the histories read after the change are noted."""
    for cell_id in sorted(before):
        if histories is not None:
            histories.pop(cell_id, None)  # changed by the event: read again
        after = await committee_by_meeting(uow, cell_id, histories, starts)
        changed = {meeting_id for meeting_id, has in after.items() if before[cell_id].get(meeting_id) != has}
        if changed:
            uow.touched.touch(cell_id, only=changed, correlation_id=event.correlation_id, recorded_at=event.time)


def _rescore_unrostered(uow: ScoringUnitOfWork, event: Event[Any], unrostered: Unrostered) -> None:
    """Note the meetings with minutes and no roster of the cells a member write named: their votes are judged
    against the cell's members at their start (domain.rules._resolution_adopted), which the write may change, and
    members may arrive after the minutes (CONTRACT.md: any order converges)."""
    for cell_id, meeting_id in unrostered:
        uow.touched.touch(cell_id, only={meeting_id}, correlation_id=event.correlation_id, recorded_at=event.time)


def _member_row(data: contract.MemberUpserted) -> dict[str, Any]:
    return {
        "id": data.id,
        "cell_id": data.cell_id,
        "role": data.role.value,
        "status": data.status.value,
        "exempt": data.exempt,
    }


async def member_upserted(event: Event[contract.MemberUpserted], uow: ScoringUnitOfWork) -> None:
    """Keep a member snapshot; rescore the meetings whose cell had or lacked a committee because of it."""
    data = event.data
    await uow.facts.lock_fact_subject(f"member:{data.id}")
    member = _member_row(data)
    if data.role.value != COMMITTEE_ROLE and not await uow.facts.committee_cells(data.id):
        # Never a committee member anywhere: no cell's committee changes, before or after (most members).
        _, unrostered = await uow.facts.upsert_member(member=member, stamp=stamp_of(event))
        _rescore_unrostered(uow, event, unrostered)
        return
    cells = await uow.facts.member_cells(data.id) | {data.cell_id}
    for cell in sorted(cells):
        await uow.facts.lock_cell(cell)
    starts: dict[str, list[tuple[str, datetime]]] = {}  # every cell locked above until the transaction ends
    before = {cell: await committee_by_meeting(uow, cell, None, starts) for cell in cells}
    added, unrostered = await uow.facts.upsert_member(member=member, stamp=stamp_of(event))
    if added:
        await _rescore_committee_changes(uow, event, before, None, starts)
    _rescore_unrostered(uow, event, unrostered)


async def members_upserted(events: Sequence[Event[contract.MemberUpserted]], uow: ScoringUnitOfWork) -> None:
    """A run of member.upserted.v1, leaving what `member_upserted` of each in turn leaves (stored rows and touched
    meetings), in a number of statements that does not grow with the run (issue 12).

    Every member of the run is locked first, in key order in one statement. The committee members (a stored
    snapshot or one of these events names that role) go first (`_committee_members_upserted`: their cells locked in
    id order in one statement, six in all); a member never a committee member changes no cell's committee history,
    and all such members are written in two statements (`upsert_members`)."""
    all_ids = sorted({event.data.id for event in events})
    await uow.facts.lock_fact_subjects([f"member:{member_id}" for member_id in all_ids])
    committee = {event.data.id for event in events if event.data.role.value == COMMITTEE_ROLE}
    committee |= await uow.facts.committee_members(all_ids)  # stable now: their subjects are locked
    chosen = [event for event in events if event.data.id in committee]
    if chosen:
        await _committee_members_upserted(chosen, committee, uow)
    plain = [event for event in events if event.data.id not in committee]
    if plain:
        unrostered = await uow.facts.upsert_members([(_member_row(event.data), stamp_of(event)) for event in plain])
        _rescore_unrostered_run(uow, plain, unrostered)


async def _committee_members_upserted(
    chosen: Sequence[Event[contract.MemberUpserted]], committee: set[str], uow: ScoringUnitOfWork
) -> None:
    """`members_upserted` of the run's committee members (`chosen`, whose ids are `committee`), their subjects
    locked: their cells locked, read, written and read again in six statements. Each member's change is replayed in
    memory on the histories read (a snapshot already kept, same member, time and id, changes nothing), so the
    meetings it changes are touched with its correlation id as one by one; those the histories read again show
    changed are touched too."""
    stored = await uow.facts.cells_of_members(sorted(committee))
    cells = sorted(set().union(*stored.values()) | {event.data.cell_id for event in chosen})
    await uow.facts.lock_cells(cells)
    starts = await uow.facts.meeting_starts_of(cells)  # member facts change no start; the cells stay locked
    histories = await uow.facts.committee_histories(cells)
    before = _committee_flags(histories, starts)
    replay = _HistoryReplay(histories)
    flags = {cell_id: dict(meetings) for cell_id, meetings in before.items()}
    for event in chosen:
        named = replay.add(event.data, stamp_of(event))
        for cell_id in sorted(named & flags.keys()):
            now = _committee_flags({cell_id: replay.history(cell_id)}, {cell_id: starts[cell_id]})[cell_id]
            changed = {meeting_id for meeting_id, has in now.items() if flags[cell_id][meeting_id] != has}
            if changed:
                uow.touched.touch(cell_id, only=changed, correlation_id=event.correlation_id, recorded_at=event.time)
            flags[cell_id] = now
    unrostered = await uow.facts.upsert_members([(_member_row(event.data), stamp_of(event)) for event in chosen])
    after = _committee_flags(await uow.facts.committee_histories(cells), starts)
    latest = _latest(chosen)  # a change only the second read shows (the replay missed it) is dated by the run's latest
    for cell_id in cells:
        replayed = flags.get(cell_id, before[cell_id])
        changed = {meeting_id for meeting_id, has in after[cell_id].items() if replayed.get(meeting_id) != has}
        if changed:
            uow.touched.touch(cell_id, only=changed, correlation_id=latest.correlation_id, recorded_at=latest.time)
    _rescore_unrostered_run(uow, chosen, unrostered)


def _rescore_unrostered_run(
    uow: ScoringUnitOfWork, events: Sequence[Event[contract.MemberUpserted]], unrostered: Unrostered
) -> None:
    """`_rescore_unrostered` of a run of member snapshots written together: each cell's meetings are touched as by
    the run's latest snapshot naming that cell (any of the run's latest when none names it: a member moved away)."""
    latest: dict[str, Event[contract.MemberUpserted]] = {}
    for event in events:  # the run's latest snapshot naming each cell, read once for all the cell's meetings
        kept = latest.get(event.data.cell_id)
        if kept is None or event.time > kept.time:
            latest[event.data.cell_id] = event
    for cell_id, meeting_id in unrostered:
        _rescore_unrostered(uow, latest.get(cell_id) or _latest(events), [(cell_id, meeting_id)])


def _latest(events: Sequence[Event[Any]]) -> Event[Any]:
    """The event of a non-empty run that happened last (its `time`): what a run's touches not traced to one fact
    are dated by, so a late change to a closed month is noted (migration 0046 `recorded_at`)."""
    return max(events, key=lambda event: event.time)


class _HistoryReplay:
    """The committee histories of some cells (every snapshot of each member ever there, and removals), kept right in
    memory as member snapshots are added (repository.facts.COMMITTEE_HISTORIES read again would give the same)."""

    def __init__(self, histories: dict[str, CommitteeHistory]) -> None:
        self.snapshots: dict[str, dict[tuple[datetime, str], MemberSnapshot]] = {}
        self.removals: dict[str, MemberRemoval] = {}
        for snapshots, removals in histories.values():
            for snapshot in snapshots:
                self.snapshots.setdefault(snapshot.member_id, {})[(snapshot.time, snapshot.event_id)] = snapshot
            self.removals.update(removals)

    def add(self, member: contract.MemberUpserted, stamp: FactStamp) -> set[str]:
        """Keep one snapshot (none when its member, time and id are kept: ON CONFLICT DO NOTHING); the cells whose
        history it changed (every cell the member's snapshots name), empty when kept already."""
        kept = self.snapshots.setdefault(member.id, {})
        if (stamp.time, stamp.event_id) in kept:
            return set()
        kept[(stamp.time, stamp.event_id)] = MemberSnapshot(
            member_id=member.id,
            time=stamp.time,
            event_id=stamp.event_id,
            cell_id=member.cell_id,
            role=member.role.value,
            ns=stamp.ns,
        )
        return {snapshot.cell_id for snapshot in kept.values()}

    def history(self, cell_id: str) -> CommitteeHistory:
        """The cell's committee history now."""
        members = [kept for kept in self.snapshots.values() if any(s.cell_id == cell_id for s in kept.values())]
        snapshots = [snapshot for kept in members for snapshot in kept.values()]
        ids = {snapshot.member_id for snapshot in snapshots}
        return snapshots, {member_id: removal for member_id, removal in self.removals.items() if member_id in ids}


def _committee_flags(
    histories: dict[str, CommitteeHistory], starts: dict[str, list[tuple[str, datetime]]]
) -> dict[str, dict[str, bool]]:
    """Per cell, per meeting of it, whether the cell had a committee at the meeting's start (DOMAIN.md: a meeting
    prepared by the committee needs one), from the cells' committee histories and their meetings' starts."""
    flags: dict[str, dict[str, bool]] = {}
    for cell_id, meetings in starts.items():
        snapshots, removals = histories[cell_id]
        flags[cell_id] = {
            meeting_id: has_committee_at(cell_id=cell_id, moment=starts_at, snapshots=snapshots, removals=removals)
            for meeting_id, starts_at in meetings
        }
    return flags


async def _each(handler: EventHandler[Any], events: Sequence[Event[Any]], uow: ScoringUnitOfWork) -> None:
    for event in events:
        await handler(event, uow)


async def member_removed(event: Event[contract.MemberRemoved], uow: ScoringUnitOfWork) -> None:
    """Store a removal; a committee member leaving may leave the cell without a committee from that date."""
    data = event.data
    await uow.facts.lock_fact_subject(f"member:{data.id}")
    if not await uow.facts.committee_cells(data.id):
        # never a committee member: the removal is kept, no cell's committee changes
        _, unrostered = await uow.facts.remove_member(
            member_id=data.id, effective_on=data.effective_on, stamp=stamp_of(event)
        )
        _rescore_unrostered(uow, event, unrostered)
        return
    cells = await uow.facts.member_cells(data.id)
    for cell in sorted(cells):
        await uow.facts.lock_cell(cell)
    starts: dict[str, list[tuple[str, datetime]]] = {}  # every cell locked above until the transaction ends
    before = {cell: await committee_by_meeting(uow, cell, starts=starts) for cell in cells}
    removed, unrostered = await uow.facts.remove_member(
        member_id=data.id, effective_on=data.effective_on, stamp=stamp_of(event)
    )
    if removed:
        await _rescore_committee_changes(uow, event, before, starts=starts)
    _rescore_unrostered(uow, event, unrostered)


async def meeting_scheduled(event: Event[contract.MeetingScheduled], uow: ScoringUnitOfWork) -> None:
    """Store the schedule snapshot (notified_at defaults to the event's time) and score the meeting."""
    await uow.facts.lock_fact_subject(f"meeting:{event.data.meeting_id}")
    data = event.data
    before = await uow.facts.meeting_position(data.meeting_id)
    _same_cell(event, before)
    if await uow.facts.upsert_meeting(meeting=_meeting_row(event), stamp=stamp_of(event)):
        await _rescore_meeting(uow, event, data.meeting_id, following=True, before=before)


def _same_cell(event: Event[contract.MeetingScheduled], position: tuple[str, datetime] | None) -> None:
    """shared.consuming.check_same_cell against the cell the meeting is stored under."""
    check_same_cell(event.data.meeting_id, held=position[0] if position else None, sent=event.data.cell_id)


def _meeting_row(event: Event[contract.MeetingScheduled]) -> dict[str, Any]:
    data = event.data
    return {
        "meeting_id": data.meeting_id,
        "cell_id": data.cell_id,
        "kind": data.kind.value,
        "starts_at": data.starts_at,
        "notified_at": data.notified_at or event.time,
        "committee_prepared": data.committee_prepared,
    }


async def meetings_scheduled(events: Sequence[Event[contract.MeetingScheduled]], uow: ScoringUnitOfWork) -> None:
    """A run of meeting.scheduled.v1, leaving what `meeting_scheduled` of each in turn leaves (`_meeting_run`)."""

    async def write(stretch: Sequence[Event[contract.MeetingScheduled]]) -> set[str]:
        return await uow.facts.upsert_meetings([(_meeting_row(event), stamp_of(event)) for event in stretch])

    await _meeting_run(events, uow, one=meeting_scheduled, write=write, check=_same_cell)


async def _meeting_run(
    events: Sequence[Event[Any]],
    uow: ScoringUnitOfWork,
    *,
    one: EventHandler[Any],
    write: Callable[[Sequence[Event[Any]]], Awaitable[set[str]]],
    check: Callable[[Event[Any], tuple[str, datetime] | None], None] | None = None,
) -> None:
    """A run of one type of fact that moves a meeting (a schedule or reschedule), leaving what `one` of each in turn
    leaves. Each handling reads, writes and touches its own meeting only (with every later one of its cell), and
    locks nothing but its subject: each stretch of meetings named once in the run is locked in one statement, their
    positions read in one (each `check`ed against its fact), written in one (`write`: the ids changed) and read again
    in one; a meeting named more than once goes through `one` for each, in order."""
    times = Counter(event.data.meeting_id for event in events)
    start = 0
    while start < len(events):
        if times[events[start].data.meeting_id] > 1:
            await one(events[start], uow)
            start += 1
            continue
        end = start + 1
        while end < len(events) and times[events[end].data.meeting_id] == 1:
            end += 1
        stretch = events[start:end]
        ids = [event.data.meeting_id for event in stretch]
        await uow.facts.lock_fact_subjects([f"meeting:{meeting_id}" for meeting_id in ids])
        before = await uow.facts.meeting_positions(ids)
        if check is not None:
            for event in stretch:
                check(event, before.get(event.data.meeting_id))
        changed = await write(stretch)
        after = await uow.facts.meeting_positions(sorted(changed))
        for event in stretch:
            meeting_id = event.data.meeting_id
            if meeting_id in changed:
                _touch_meeting(
                    uow, event, meeting_id, following=True, before=before.get(meeting_id), after=after.get(meeting_id)
                )
        start = end


async def meeting_rescheduled(event: Event[contract.MeetingRescheduled], uow: ScoringUnitOfWork) -> None:
    """Store the new start; the meeting and every later one of the cell may change order."""
    await uow.facts.lock_fact_subject(f"meeting:{event.data.meeting_id}")
    data = event.data
    before = await uow.facts.meeting_position(data.meeting_id)
    if await uow.facts.reschedule_meeting(meeting_id=data.meeting_id, starts_at=data.starts_at, stamp=stamp_of(event)):
        await _rescore_meeting(uow, event, data.meeting_id, following=True, before=before)


async def meetings_rescheduled(events: Sequence[Event[contract.MeetingRescheduled]], uow: ScoringUnitOfWork) -> None:
    """A run of meeting.rescheduled.v1, leaving what `meeting_rescheduled` of each in turn leaves (`_meeting_run`:
    four statements a stretch, not three a fact)."""

    async def write(stretch: Sequence[Event[contract.MeetingRescheduled]]) -> set[str]:
        rows = [(event.data.meeting_id, event.data.starts_at, stamp_of(event)) for event in stretch]
        return await uow.facts.upsert_snapshots("meeting_reschedule", rows)

    await _meeting_run(events, uow, one=meeting_rescheduled, write=write)


def _pend(uow: ScoringUnitOfWork, event: Event[Any], kind: str, value: Any, *, following: bool) -> None:
    """Note a fact about the event's meeting, written with the transaction's others (`write_pending`)."""
    uow.touched.pending.append(
        PendingFact(
            kind=kind,
            meeting_id=event.data.meeting_id,
            time=event.time,
            event_id=event.order_id,
            ns=event.time_ns,
            value=value,
            following=following,
            correlation_id=event.correlation_id,
        )
    )


async def meeting_cancelled(event: Event[contract.MeetingCancelled], uow: ScoringUnitOfWork) -> None:
    """A cancelled meeting is not held: later meetings' runs and previous tasks may change."""
    _pend(uow, event, "cancellation", None, following=True)


async def documents_published(event: Event[contract.DocumentsPublished], uow: ScoringUnitOfWork) -> None:
    """Add the published documents and rescore the meeting."""
    data = event.data
    _pend(uow, event, "documents", [(item.kind.value, data.published_at) for item in data.items], following=False)


async def attendance_recorded(event: Event[contract.AttendanceRecorded], uow: ScoringUnitOfWork) -> None:
    """Store the roster if newest (its content key in any case); later meetings' absence runs depend on it."""
    roster = {record.member_id: record.status.value for record in event.data.records}
    _pend(uow, event, "attendance", roster, following=True)
    # its content key, newest or not: an adoption stands over a later roster saying the same (shared.minutes)
    _pend(uow, event, "roster_content", roster_content_key(event.data), following=False)


async def attendance_withdrawn(event: Event[contract.AttendanceWithdrawn], uow: ScoringUnitOfWork) -> None:
    """Drop the withdrawn roster (the event's time and origin id are its own: a newer roster stays), store the earlier
    one `restored` in its place if newest (its own time and id; its content key in any case), and rescore the meeting
    and the later ones of its cell (their absence runs), as if the withdrawn roster had been refused."""
    data = event.data
    await write_pending(uow)  # a roster of this transaction is written before it is withdrawn
    await uow.facts.lock_fact_subject(f"meeting:{data.meeting_id}")
    stamp = FactStamp(time=event.time, event_id=data.roster_id, ns=event.time_ns)
    changed = await uow.facts.withdraw_attendance(meeting_id=data.meeting_id, stamp=stamp)
    if data.restored is not None:
        restored = data.restored
        kept = FactStamp(time=restored.time, event_id=restored.roster_id, ns=restored.time_ns)
        roster = {record.member_id: record.status.value for record in restored.records}
        recorded = contract.AttendanceRecorded(meeting_id=data.meeting_id, records=restored.records)
        await uow.facts.keep_roster_content([(data.meeting_id, roster_content_key(recorded), kept)])
        changed = await uow.facts.record_attendance(meeting_id=data.meeting_id, roster=roster, stamp=kept) or changed
    if changed:
        await _rescore_meeting(uow, event, data.meeting_id, following=True)


async def minutes_submitted(event: Event[contract.MinutesSubmitted], uow: ScoringUnitOfWork) -> None:
    """Store the minutes if newest; the meeting becomes held, which changes later meetings too."""
    _pend(uow, event, "minutes", event.data.model_dump(mode="json"), following=True)


async def minutes_approved(event: Event[contract.MinutesApproved], uow: ScoringUnitOfWork) -> None:
    """Store the adoption (its moment and votes: `closing.minutes_and_tasks` asks the vote) if newest and rescore
    the meeting."""
    data = event.data
    adoption = Adoption(approved_at=data.approved_at, votes_for=data.votes_for, votes_against=data.votes_against)
    _pend(uow, event, "approval", adoption, following=False)


async def meeting_assessed(event: Event[contract.MeetingAssessed], uow: ScoringUnitOfWork) -> None:
    """Keep the assessment (precedence is applied when scoring) and rescore the meeting."""
    data = event.data
    _pend(uow, event, "assessment", (data.assessor.role.value, dict(data.points)), following=False)


async def task_completed(event: Event[contract.TaskCompleted], uow: ScoringUnitOfWork) -> None:
    """Store the completion; the next held regular/combined meeting's results depend on it."""
    data = event.data
    _pend(uow, event, "task", (data.task_id, data.completed_on), following=True)


FACT_HANDLERS: dict[str, EventHandler[Any]] = {
    "org.unit.upserted.v1": unit_upserted,
    "member.upserted.v1": member_upserted,
    "member.removed.v1": member_removed,
    "meeting.scheduled.v1": meeting_scheduled,
    "meeting.rescheduled.v1": meeting_rescheduled,
    "meeting.cancelled.v1": meeting_cancelled,
    "documents.published.v1": documents_published,
    "attendance.recorded.v1": attendance_recorded,
    "attendance.withdrawn.v1": attendance_withdrawn,
    "minutes.submitted.v1": minutes_submitted,
    "minutes.approved.v1": minutes_approved,
    "meeting.assessed.v1": meeting_assessed,
    "task.completed.v1": task_completed,
}
"""The facts evaluation applies, by event type (monitor.assigned.v1 is not needed for scores)."""

_PENDING_ONLY = (
    "meeting.cancelled.v1",
    "documents.published.v1",
    "attendance.recorded.v1",
    "minutes.submitted.v1",
    "minutes.approved.v1",
    "meeting.assessed.v1",
    "task.completed.v1",
)
FACT_BATCH_HANDLERS: dict[str, BatchHandler[Any]] = {
    "org.unit.upserted.v1": units_upserted,
    "member.upserted.v1": members_upserted,
    "meeting.scheduled.v1": meetings_scheduled,
    "meeting.rescheduled.v1": meetings_rescheduled,
    # these handlers only note the fact for write_pending: a run is noted in one call, without binding each
    # event's log context (message_context) on the way
    **{kind: partial(_each, FACT_HANDLERS[kind]) for kind in _PENDING_ONLY},
}
"""Runs of one type applied at once (shared.consuming `batch_handlers`), leaving what FACT_HANDLERS one by one
leaves."""
