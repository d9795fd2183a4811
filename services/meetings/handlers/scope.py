"""Write scope: an event sent by an account limited to one subtree may only touch units, members and meetings inside it.

Issue 11, fault 5: an integration account fed a fact about a cell outside its unit and it was applied. The gateway
passes the account's unit as `scope` (None for a province-wide account); every route judges it here, before the
applier, and a held event keeps its scope to be judged again when released.
"""

from typing import Any

from services.meetings.handlers.apply import locked_ancestors
from services.meetings.unit_of_work import MeetingsUnit
from shared.envelope import Event, InvalidEvent

Target = tuple[str, str | None]
"""(the field naming the object, the unit that object lives in now; None while unknown)."""


async def check_write_scope(event: Event[Any], uow: MeetingsUnit, scope: str | None) -> None:
    """InvalidEvent naming the field whose object lies outside `scope`'s subtree; nothing when `scope` is None.

    Objects not known yet are left to the applier (which holds the event); the check runs again on release."""
    if scope is None:
        return
    for field, unit_id in await _targets(event, uow, scope):
        if unit_id is None:
            continue
        ancestors = await uow.org.ancestors(unit_id)
        if ancestors and unit_id != _OUTSIDE:  # held shared, so no move of a unit on the path passes unseen
            ancestors = await locked_ancestors(uow, unit_id, ancestors)
        if scope not in ancestors:
            raise InvalidEvent(f"{field}: outside {scope}, the only subtree this account may write", field=field)


async def _targets(event: Event[Any], uow: MeetingsUnit, scope: str) -> list[Target]:
    data = event.data
    kind = event.type
    if kind == "org.unit.upserted.v1":
        existing = await uow.org.get_unit(data.id)
        if existing is not None and data.id == scope and existing.parent_id == data.parent_id:
            return []  # the account's own unit, left where it is (a new name, contacts, active)
        targets: list[Target] = [("data.id", data.id)] if existing is not None else []
        if data.parent_id is None:
            return [*targets, ("data.parent_id", _OUTSIDE)]
        parent = await uow.org.get_unit(data.parent_id)
        return [*targets, ("data.parent_id", data.parent_id if parent is not None else None)]
    if kind == "member.upserted.v1":
        return [("data.cell_id", await _known_unit(uow, data.cell_id)), ("data.id", await _member_cell(uow, data.id))]
    if kind == "member.removed.v1":
        return [("data.id", await _member_cell(uow, data.id))]
    if kind == "monitor.assigned.v1":
        return [("data.cell_id", await _known_unit(uow, data.cell_id))]
    if kind == "meeting.scheduled.v1":
        return [
            ("data.cell_id", await _known_unit(uow, data.cell_id)),
            ("data.meeting_id", await _meeting_cell(uow, data.meeting_id)),
        ]
    meeting_id = getattr(data, "meeting_id", None)
    if meeting_id is not None:
        return [("data.meeting_id", await _meeting_cell(uow, meeting_id))]
    return [("type", _OUTSIDE)]  # a type nobody placed in the tree yet: refuse rather than let it through


_OUTSIDE = "(the root)"
"""Stands for "no unit": its ancestors are empty, so a scoped account never reaches it."""


async def _known_unit(uow: MeetingsUnit, unit_id: str) -> str | None:
    return unit_id if await uow.org.get_unit(unit_id) is not None else None


async def _member_cell(uow: MeetingsUnit, member_id: str) -> str | None:
    member = (await uow.org.members_brief([member_id])).get(member_id)
    return member["cell_id"] if member is not None and member["cell_id"] else None


async def _meeting_cell(uow: MeetingsUnit, meeting_id: str) -> str | None:
    meeting = await uow.meetings.get_state(meeting_id)
    return meeting.cell_id if meeting is not None else None
