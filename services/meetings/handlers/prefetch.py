"""Read ahead, in a few multi-row statements, what the events of one transaction will read (issue 12).

The repositories keep what they read for the rest of the transaction and keep it current as they write, so
each applier's reads then cost no round trip; what was not foreseen here is still read when asked.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from services.meetings.domain import LockSet, from_a_person, monitor_key, monitor_waiting_key
from services.meetings.handlers.apply import placement, placement_unchanged
from services.meetings.unit_of_work import MeetingsUnit
from shared.contracts import meetings as contract
from shared.envelope import Event
from shared.membership import MemberVersion


@dataclass
class Reads:
    """The ids a set of events will look up, and the keys their application may provide to held events."""

    unit_ids: set[str] = field(default_factory=set)
    member_ids: set[str] = field(default_factory=set)
    meeting_ids: set[str] = field(default_factory=set)
    provided: set[str] = field(default_factory=set)
    monitors: set[tuple[str, str]] = field(default_factory=set)
    """(person, cell) of the monitor assignments the events write."""


def reads_of(events: Iterable[Event[Any]]) -> Reads:
    """What applying the events reads (apply.py) and which waiting keys they can provide (`Applied.provides`)."""
    reads = Reads()
    for event in events:
        data = event.data
        if isinstance(data, contract.OrgUnitUpserted):
            reads.unit_ids.add(data.id)
            if data.parent_id:
                reads.unit_ids.add(data.parent_id)
            reads.provided.add(f"unit:{data.id}")
        elif isinstance(data, contract.MemberUpserted | contract.MemberRemoved):
            reads.member_ids.add(data.id)
            if isinstance(data, contract.MemberUpserted):
                reads.unit_ids.add(data.cell_id)
            reads.provided.add(f"member:{data.id}")
        elif isinstance(data, contract.MonitorAssigned):
            reads.unit_ids.update((data.cell_id, data.committee_id))
            reads.monitors.add((data.person_id, data.cell_id))
            reads.provided.add(monitor_waiting_key(data.person_id, data.cell_id))
        elif isinstance(data, contract.MeetingScheduled):
            reads.unit_ids.add(data.cell_id)
            reads.meeting_ids.add(data.meeting_id)
            reads.provided.add(f"meeting:{data.meeting_id}")
        elif isinstance(data, contract.AttendanceRecorded):
            reads.meeting_ids.add(data.meeting_id)
            reads.member_ids.update(record.member_id for record in data.records)
            reads.provided.add(f"roster:{data.meeting_id}")
        elif isinstance(data, contract.MinutesSubmitted):
            reads.meeting_ids.add(data.meeting_id)
            reads.member_ids.update((data.chair_id, data.recorder_id, *data.speakers))
            reads.member_ids.update(task.assignee_id for task in data.tasks)
            reads.provided.add(f"minutes:{data.meeting_id}")
            reads.provided.update(f"task:{data.meeting_id}:{task.task_id}" for task in data.tasks)
        else:
            if isinstance(data, contract.MeetingAssessed) and data.assessor.person_id is not None:
                if data.assessor.role != contract.AssessorRole.UPPER_MONITOR:
                    reads.member_ids.add(data.assessor.person_id)
            meeting_id = getattr(data, "meeting_id", None)
            if isinstance(meeting_id, str):
                reads.meeting_ids.add(meeting_id)
    return reads


async def prefetch(events: Iterable[Event[Any]], uow: MeetingsUnit) -> None:
    """Load into the transaction's repositories what the events will read: meeting states and tasks, units with
    their ancestors (the meetings' cells too), member histories, and which provided keys held events wait for.

    Call it holding the events' locks (handlers/locks.py): each key an event provides is then held exclusively."""
    events = list(events)
    reads = reads_of(events)
    cells = await uow.meetings.prefetch(reads.meeting_ids)
    assessors = await _monitor_assessors(events, uow)
    if assessors:  # the assignments apply._check_assessor reads, held shared in one statement rather than each
        await uow.ingest.lock(LockSet(shared=frozenset(monitor_key(person, cell) for person, cell in assessors)))
    monitors = reads.monitors | assessors
    await uow.org.prefetch(unit_ids=reads.unit_ids | cells, member_ids=reads.member_ids, monitors=monitors)
    rostered = await _rostered_cells(events, uow)
    if rostered:  # who an integration's roster leaves out (apply_attendance): its cell's members, for all at once
        await uow.org.prefetch_cells(rostered)
    await uow.ingest.prefetch_waiting(reads.provided)
    movers = await _movers(events, uow)
    if movers:  # what re-judging the rosters naming them reads (apply._rejudge_rosters), for all of them at once
        listed = await uow.meetings.prefetch_naming(movers)
        await uow.ingest.prefetch_refused(movers)
        await uow.org.prefetch(unit_ids=(), member_ids=listed)


async def _movers(events: Iterable[Event[Any]], uow: MeetingsUnit) -> set[str]:
    """The members whose snapshot or removal among the events may change their cell at some moment
    (apply.placement_unchanged against their history and the events before it), whose rosters are then re-judged."""
    histories: dict[str, list[MemberVersion]] = {}
    movers: set[str] = set()
    for event in events:
        if not isinstance(event.data, contract.MemberUpserted | contract.MemberRemoved):
            continue
        member_id = event.data.id
        if member_id not in histories:
            histories[member_id] = (await uow.org.histories([member_id])).get(member_id, [])
        added = placement(event)
        if not placement_unchanged(histories[member_id], added):
            movers.add(member_id)
        histories[member_id].append(added)
    return movers


async def _rostered_cells(events: Iterable[Event[Any]], uow: MeetingsUnit) -> set[str]:
    """The cells of the meetings an integration's roster among the events is for: stored (its state read) or
    scheduled by an event of the same transaction (a meeting never changes cell)."""
    events = list(events)
    scheduled = {
        event.data.meeting_id: event.data.cell_id
        for event in events
        if isinstance(event.data, contract.MeetingScheduled)
    }
    found: set[str] = set()
    for event in events:
        if not isinstance(event.data, contract.AttendanceRecorded) or from_a_person(event.source):
            continue
        meeting = await uow.meetings.get_state(event.data.meeting_id)
        cell_id = meeting.cell_id if meeting is not None else scheduled.get(event.data.meeting_id)
        if cell_id is not None:
            found.add(cell_id)
    return found


async def _monitor_assessors(events: Iterable[Event[Any]], uow: MeetingsUnit) -> set[tuple[str, str]]:
    """(person, cell) of each upper_monitor assessment in a person's name whose meeting's cell is known: stored (its
    state read) or scheduled by an event of the same transaction (a meeting never changes cell)."""
    events = list(events)
    scheduled = {
        event.data.meeting_id: event.data.cell_id
        for event in events
        if isinstance(event.data, contract.MeetingScheduled)
    }
    found: set[tuple[str, str]] = set()
    for event in events:
        data = event.data
        if not isinstance(data, contract.MeetingAssessed) or data.assessor.person_id is None:
            continue
        if data.assessor.role != contract.AssessorRole.UPPER_MONITOR:
            continue
        meeting = await uow.meetings.get_state(data.meeting_id)
        cell_id = meeting.cell_id if meeting is not None else scheduled.get(data.meeting_id)
        if cell_id is not None:
            found.add((data.assessor.person_id, cell_id))
    return found
