"""Write scope: an event sent by an account limited to one subtree may only touch units, members and meetings inside it.

Issue 11, fault 5: an integration account fed a fact about a cell outside its unit and it was applied. The gateway
passes the account's unit as `scope` (None for a province-wide account); every route judges it here, before the
applier, and a held event keeps its scope to be judged again when released.

Every id of every type in (CONTRACT.md "Types in") that places something in the tree is judged: units (`cell_id`,
`committee_id`, `parent_id`, a guest's `committee_id`: see _judge_roster), members (by the cells their snapshots put
them in: `id` of member events, roster records, chair, recorder, speakers, assignees) and meetings (by their cell),
tasks by their meeting (a task id is its meeting's own), and an assessor named as the members' vote or the cell
committee (a member of the cell). Person ids of monitors, guests and upper_monitor assessors name people above the
cell, not places in the tree: the object they write is keyed by the cell or meeting, which is judged.

A monitor's committee (DOMAIN.md: the upper-level monitor sits on a committee above the cell) must be inside the
subtree as well as above the cell (the applier's check_monitor_committee): for an account scoped to unit U, a
committee on the path from U down to the cell's parent. So an account scoped to a cell names no committee, and a
commune's feed cannot assign the province committee's members: a province-wide account does.

The user trial's existence leak: a referent outside the subtree was answered "outside X" while an unknown one was
held, so a caller could probe which ids exist elsewhere. A referent outside the subtree is now hidden from the
applier (ScopedView), which answers exactly as for an unknown one (held, same reason, field and key); only the stored
hold and the log name the real reason (`detail`). An event whose own identity (a unit's, member's or meeting's id it
would create) is taken outside the subtree cannot be answered as for a new id without writing it: it is rejected
without naming where the id lives.

The scope's root itself is not the account's to write (_scope_root_refusal): DOMAIN.md has units come from the
national member database under their superior committee, so a snapshot of the root unit (a new name, `active`,
contacts, category, place) by an account scoped to it is refused naming the field; the units below it it writes.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from services.meetings import domain
from services.meetings.handlers.apply import locked_ancestors
from services.meetings.unit_of_work import MeetingsUnit
from shared.contracts import meetings as contract
from shared.envelope import Event, InvalidEvent
from shared.logs import get_logger
from shared.membership import MemberVersion
from shared.refusals import Refusal, RefusalCode

log = get_logger(__name__)

SCOPE_RULE = "the only subtree this account may write"
"""How every operator-facing reason about the write scope ends (the web app words it in Vietnamese by this)."""


class OutsideScope(InvalidEvent):
    """A refusal whose answer to the sender (`reason`) must not say where the id lives; `detail` does, for the stored
    rejection and the log."""

    def __init__(self, reason: str, *, field: str, detail: str, refusal: Refusal | None = None) -> None:
        super().__init__(reason, field=field, refusal=refusal)
        self.detail = detail


@dataclass
class ScopedView:
    """The ids of one event that lie outside the sender's subtree, hidden from its applier as if unknown."""

    scope: str
    units: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)
    meetings: set[str] = field(default_factory=set)
    details: dict[str, str] = field(default_factory=dict)
    """The operator's reason for each hidden referent, by the key a hold on it waits for (`unit:X`)."""

    def hide(self, kind: str, identifier: str, *, field_name: str, where: str | None) -> None:
        """Hide one referent named by `field_name` (it lies in `where`, outside the scope)."""
        {"unit": self.units, "member": self.members, "meeting": self.meetings}[kind].add(identifier)
        place = f" (in {where})" if where and where != identifier else ""
        self.details[f"{kind}:{identifier}"] = (
            f"{field_name}: {kind} {identifier}{place} lies outside {self.scope}, {SCOPE_RULE};"
            " the sender was answered as for an unknown id"
        )

    def detail(self, waiting_for: str) -> str | None:
        """The operator's reason for a hold on `waiting_for` when that referent is hidden, else None."""
        return self.details.get(waiting_for)

    def unit_of_work(self, uow: MeetingsUnit) -> MeetingsUnit:
        """`uow` as the applier sees it: the hidden ids read as unknown; `uow` itself when nothing is hidden."""
        if not (self.units or self.members or self.meetings):
            return uow
        return cast(MeetingsUnit, _ScopedUnit(uow, self))


class _ScopedOrg:
    """uow.org with the view's hidden units and members unknown; everything else as it is."""

    def __init__(self, org: Any, view: ScopedView) -> None:
        self._org = org
        self._view = view

    async def get_unit(self, unit_id: str) -> domain.UnitRef | None:
        return None if unit_id in self._view.units else await self._org.get_unit(unit_id)

    async def histories(self, member_ids: Sequence[str]) -> dict[str, list[MemberVersion]]:
        found: dict[str, list[MemberVersion]] = await self._org.histories(member_ids)
        return {member_id: versions for member_id, versions in found.items() if member_id not in self._view.members}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._org, name)


class _ScopedMeetings:
    """uow.meetings with the view's hidden meetings unknown."""

    def __init__(self, meetings: Any, view: ScopedView) -> None:
        self._meetings = meetings
        self._view = view

    async def get_state(self, meeting_id: str, *, adoption_current: bool = False) -> domain.MeetingState | None:
        if meeting_id in self._view.meetings:
            return None
        state: domain.MeetingState | None = await self._meetings.get_state(
            meeting_id, adoption_current=adoption_current
        )
        return state

    def __getattr__(self, name: str) -> Any:
        return getattr(self._meetings, name)


class _ScopedUnit:
    """The unit of work an applier of a scoped event gets: reads through the view, writes as usual. A proxy rather
    than a flag on the repositories, so the events a release judges in the same transaction (each with its own
    scope) never see another's view."""

    def __init__(self, uow: MeetingsUnit, view: ScopedView) -> None:
        self._uow = uow
        self.org = _ScopedOrg(uow.org, view)
        self.meetings = _ScopedMeetings(uow.meetings, view)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)


async def check_write_scope(event: Event[Any], uow: MeetingsUnit, scope: str | None) -> ScopedView | None:
    """The view the applier must judge `event` through (None when `scope` is None: province-wide).

    OutsideScope when the event would create or take over an id that lives outside the subtree (or a root unit);
    Held, as for an unknown id, for a referent the appliers do not look up themselves (a transferred member of a
    roster, a guest's committee) that is unknown or outside. Objects not known yet are left to the applier (which
    holds the event); the check runs again on release."""
    if scope is None:
        return None
    view = ScopedView(scope)
    judge = _Judge(uow, view)
    data = event.data
    kind = event.type
    if kind == "org.unit.upserted.v1":
        if data.id == scope:
            raise await _scope_root_refusal(uow, data, scope)
        existing = await uow.org.get_unit(data.id)
        if existing is not None:
            await judge.own_unit("data.id", data.id)
        if data.parent_id is None:
            raise OutsideScope(
                f"data.parent_id: a root unit lies outside {scope}, {SCOPE_RULE}",
                field="data.parent_id",
                detail=f"data.parent_id: a root unit lies outside {scope}, {SCOPE_RULE}",
            )
        await judge.unit("data.parent_id", data.parent_id)
    elif kind == "member.upserted.v1":
        await judge.own_member("data.id", data.id)
        await judge.unit("data.cell_id", data.cell_id)
    elif kind == "member.removed.v1":
        await judge.current_member("data.id", data.id)
    elif kind == "monitor.assigned.v1":
        await judge.unit("data.cell_id", data.cell_id)
        await judge.unit("data.committee_id", data.committee_id)
    elif kind == "meeting.scheduled.v1":
        await judge.unit("data.cell_id", data.cell_id)
        await judge.own_meeting("data.meeting_id", data.meeting_id)
    elif getattr(data, "meeting_id", None) is not None:
        meeting = await judge.meeting("data.meeting_id", data.meeting_id)
        if kind == "attendance.recorded.v1":
            await _judge_roster(judge, data, meeting=meeting, person=domain.from_a_person(event.source))
        elif kind == "minutes.submitted.v1":
            await judge.members(_minutes_members(data))
        elif kind == "meeting.assessed.v1" and data.assessor.role != contract.AssessorRole.UPPER_MONITOR:
            if data.assessor.person_id is not None:  # the members' vote or cell committee names a member of the cell
                await judge.members([("data.assessor.person_id", data.assessor.person_id)])
    else:  # a type nobody placed in the tree yet: refuse rather than let it through
        reason = f"type: {kind} names nothing this account may write; {SCOPE_RULE} is judged per type"
        raise OutsideScope(reason, field="type", detail=reason)
    return view


async def _judge_roster(
    judge: "_Judge", data: contract.AttendanceRecorded, *, meeting: domain.MeetingState | None, person: bool
) -> None:
    """A roster's members (the transferred too: they are the cell's) and its guests' committees; those the applier
    does not look up must be known and placed, held as unknown otherwise, once the meeting itself is (`meeting`:
    known and inside). A secretary's transferred lines (`person`) are left to the applier, which refuses an id
    unknown or hidden at once (domain.check_transferred_members): a person's command is never held for a member.

    A guest's committee may be one above the meeting's cell (DOMAIN.md: upper-level attendees; the sender's own
    ancestry, so naming it tells nothing of the rest of the tree, and a secretary, scoped to the cell, records the
    commune's monitor so) or one inside the subtree; any other is held as an unknown one, and in a secretary's roster
    (`person`) refused at once as unknown (domain.held_or_refused: GUEST_COMMITTEE_UNKNOWN), hidden or not."""
    records = [(f"data.records.{i}.member_id", record.member_id) for i, record in enumerate(data.records)]
    await judge.members(records)
    if meeting is None:
        return
    transferred = [
        (name, member_id)
        for (name, member_id), record in zip(records, data.records, strict=True)
        if record.status == contract.AttendanceStatus.TRANSFERRED and not person
    ]
    for name, member_id in transferred:
        if member_id in judge.view.members or not await judge.uow.org.histories([member_id]):
            raise _held_member(name, member_id, detail=judge.view.detail(f"member:{member_id}"))
    above = (await judge.uow.org.ancestors(meeting.cell_id))[:-1]
    for i, guest in enumerate(data.guests or ()):
        committee_id = guest.committee_id
        if committee_id is None or committee_id in above:
            continue
        name = f"data.guests.{i}.committee_id"
        await judge.unit(name, committee_id)
        if committee_id in judge.view.units or await judge.uow.org.get_unit(committee_id) is None:
            held = _held_unit(name, committee_id)
            held.detail = judge.view.detail(f"unit:{committee_id}")
            if person:  # a secretary's guest is refused at once, an unknown and a hidden committee alike
                refused = f"{held.reason}; a guest's committee is one above the meeting's cell (or left out)"
                refusal = Refusal(code=RefusalCode.GUEST_COMMITTEE_UNKNOWN)
                if held.detail:  # hidden: the stored rejection and the log say where it lives
                    raise OutsideScope(refused, field=name, detail=held.detail, refusal=refusal)
                raise InvalidEvent(refused, field=name, refusal=refusal)
            raise held


UNIT_RECORD_FIELDS = ("parent_id", "kind", "name", "active", "category", "contact_emails")
"""The fields of a unit's own record, in the order a refusal of writing the scope root names the first changed."""


async def _scope_root_refusal(uow: MeetingsUnit, data: contract.OrgUnitUpserted, scope: str) -> OutsideScope:
    """The refusal of a snapshot of the account's own unit, naming the first field it would change (`data.id` when
    it changes none, or the unit is not known yet).

    DOMAIN.md: units come from the national member database, and a commune or grassroots committee sits under its
    direct superior; a unit's own record (its name, whether active, its place) is that superior's to change, not the
    account's it bounds (a commune's feed renamed or deactivated the commune). Below the root it writes as before.
    Even an unchanged snapshot is refused: written, its `time` would outrank the superior's own snapshot arriving
    later (CONTRACT.md: snapshots are ordered by `time`, not by arrival)."""
    stored = await uow.org.unit_record(data.id)
    sent = data.model_dump(mode="json")
    changed = [name for name in UNIT_RECORD_FIELDS if stored is not None and stored.get(name) != sent.get(name)]
    field = f"data.{changed[0]}" if changed else "data.id"
    reason = (
        f"{field}: unit {data.id} is the root of this account's scope ({scope}); its own record is managed from"
        " above (its superior committee or the national member database), not by an account scoped to it"
    )
    return OutsideScope(reason, field=field, detail=reason, refusal=Refusal(code=RefusalCode.SCOPE_ROOT_MANAGED_ABOVE))


def _minutes_members(data: contract.MinutesSubmitted) -> list[tuple[str, str]]:
    references = [("data.chair_id", data.chair_id), ("data.recorder_id", data.recorder_id)]
    references += [(f"data.speakers.{i}", speaker) for i, speaker in enumerate(data.speakers)]
    references += [(f"data.tasks.{i}.assignee_id", task.assignee_id) for i, task in enumerate(data.tasks)]
    return references


def _held_unit(name: str, unit_id: str) -> domain.Held:
    """The hold of an unknown unit, worded as require_unit words it."""
    return domain.Held(waiting_for=f"unit:{unit_id}", reason=f"{name}: unit {unit_id} is unknown", field=name)


def _held_member(name: str, member_id: str, *, detail: str | None) -> domain.Held:
    """The hold of an unknown member, worded as check_members_in_cell words it."""
    held = domain.Held(
        waiting_for=f"member:{member_id}",
        reason=f"{name}: member {member_id} is unknown",
        field=name,
        refusal=Refusal(code=RefusalCode.MEMBER_UNKNOWN, member_id=member_id),
    )
    held.detail = detail
    return held


class _Judge:
    """Places the ids of one event against the scope, filling its view."""

    def __init__(self, uow: MeetingsUnit, view: ScopedView) -> None:
        self.uow = uow
        self.view = view

    async def inside(self, unit_id: str) -> bool:
        """Whether the (known) unit lies in the scope's subtree; its path held shared, so no move passes unseen."""
        ancestors = await self.uow.org.ancestors(unit_id)
        if ancestors:
            ancestors = await locked_ancestors(self.uow, unit_id, ancestors)
        return self.view.scope in ancestors

    async def unit(self, name: str, unit_id: str) -> None:
        """A unit the event refers to: hidden when it exists outside the subtree."""
        if await self.uow.org.get_unit(unit_id) is not None and not await self.inside(unit_id):
            self.view.hide("unit", unit_id, field_name=name, where=None)

    async def own_unit(self, name: str, unit_id: str) -> None:
        """The unit the event writes (it exists): refused when it lies outside the subtree."""
        if not await self.inside(unit_id):
            raise self.taken(name, "unit", unit_id, where=unit_id)

    async def meeting(self, name: str, meeting_id: str) -> domain.MeetingState | None:
        """A meeting the event refers to: hidden when its cell lies outside; the meeting when known and inside."""
        meeting = await self.uow.meetings.get_state(meeting_id)
        if meeting is None:
            return None
        if not await self.inside(meeting.cell_id):
            self.view.hide("meeting", meeting_id, field_name=name, where=meeting.cell_id)
            return None
        return meeting

    async def own_meeting(self, name: str, meeting_id: str) -> None:
        """The meeting a schedule writes: refused when it exists in a cell outside the subtree."""
        meeting = await self.uow.meetings.get_state(meeting_id)
        if meeting is not None and not await self.inside(meeting.cell_id):
            raise self.taken(name, "meeting", meeting_id, where=meeting.cell_id)

    async def members(self, references: Iterable[tuple[str, str]]) -> None:
        """Members the event refers to as its meeting's people: hidden when no snapshot ever put them inside (one
        that was inside is judged by the applier against the meeting's date, as for any sender)."""
        wanted = list(dict.fromkeys(references))
        histories = await self.uow.org.histories(sorted({member_id for _, member_id in wanted}))
        inside: dict[str, bool] = {}
        for name, member_id in wanted:
            versions = histories.get(member_id)
            if not versions or member_id in self.view.members:
                continue
            cells = sorted({version.cell_id for version in versions if version.cell_id})
            for cell_id in cells:
                if cell_id not in inside:
                    inside[cell_id] = await self.inside(cell_id)
            if not any(inside[cell_id] for cell_id in cells):
                self.view.hide("member", member_id, field_name=name, where=_placement(versions))

    async def current_member(self, name: str, member_id: str) -> None:
        """A member the event removes: hidden when their latest placement lies outside the subtree."""
        where = _placement((await self.uow.org.histories([member_id])).get(member_id, ()))
        if where is not None and not await self.inside(where):
            self.view.hide("member", member_id, field_name=name, where=where)

    async def own_member(self, name: str, member_id: str) -> None:
        """The member a snapshot writes: refused when their latest placement lies outside the subtree."""
        where = _placement((await self.uow.org.histories([member_id])).get(member_id, ()))
        if where is not None and not await self.inside(where):
            raise self.taken(name, "member", member_id, where=where)

    def taken(self, name: str, kind: str, identifier: str, *, where: str) -> OutsideScope:
        """The refusal of writing an id that lives outside the subtree, not saying where to the sender."""
        place = f" (in {where})" if where != identifier else ""
        return OutsideScope(
            f"{name}: this account may not write {kind} {identifier}",
            field=name,
            detail=f"{name}: {kind} {identifier}{place} lies outside {self.view.scope}, {SCOPE_RULE}",
        )


def _placement(versions: Sequence[MemberVersion]) -> str | None:
    """The cell of a member's latest snapshot that places them in one (a removal keeps them where they were)."""
    placed = [version for version in versions if not version.removed and version.cell_id]
    if not placed:
        return None
    return max(placed, key=lambda version: (version.effective_at, version.effective_ns, version.version_id)).cell_id
