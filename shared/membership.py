"""A member's cell at a moment, from the member's versions (snapshots and removals), for every service.

DOMAIN.md: facts about members are judged from the snapshots in force at the moment asked about.
The version in force is the latest one not after the moment (ordered by time to the nanosecond, then id). When none
is that early the earliest snapshot is assumed to have held before it, because feeds often load
members today for meetings held long ago; such an answer is marked not certain, since an earlier
snapshot may still arrive.
"""

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class MemberVersion:
    """One snapshot (or removal) of a member, placed on the timeline at `effective_at`."""

    effective_at: datetime
    version_id: str
    removed: bool
    cell_id: str | None
    effective_ns: int = 0
    """The nanoseconds of `effective_at` below its microsecond (a snapshot's event time: shared.envelope.time_ns)."""


@dataclass(frozen=True)
class CellOnDate:
    """Where a member was at some moment, and whether a version at or before it says so."""

    cell_id: str | None
    certain: bool


def version_in_force(
    versions: Sequence[V],
    at: datetime,
    *,
    order: Callable[[V], tuple[Any, ...]],
    assumable: Callable[[V], bool] = lambda version: True,
) -> tuple[V, bool] | None:
    """(version in force at `at`, certain): the latest not after it, else the earliest assumable; None if none.
    `order(version)` starts with the version's time (a datetime) and goes on with what breaks its ties."""
    ordered = sorted(versions, key=order)
    before = [version for version in ordered if order(version)[0] <= at]
    if before:
        return before[-1], True
    assumed = [version for version in ordered if assumable(version)]
    return (assumed[0], False) if assumed else None


def _timeline_order(version: MemberVersion) -> tuple[datetime, int, str]:
    return (version.effective_at, version.effective_ns, version.version_id)


def _is_snapshot(version: MemberVersion) -> bool:
    return not version.removed


def cell_on(versions: Sequence[MemberVersion], at: datetime) -> CellOnDate | None:
    """The member's cell at `at` (None inside when removed by then); None when the member has no version."""
    if not versions:
        return None
    found = version_in_force(versions, at, order=_timeline_order, assumable=_is_snapshot)
    if found is None:  # only removals, none of them by `at`
        return CellOnDate(cell_id=None, certain=False)
    version, certain = found
    return CellOnDate(cell_id=None if version.removed else version.cell_id, certain=certain)


def not_listed(members: Iterable[str], listed: Collection[str]) -> list[str]:
    """The ids of `members` (the cell's at a meeting's start, in the order given) that a roster's `listed` member ids
    leave out with any status: who a full roster (CONTRACT.md attendance.recorded.v1) lacks, in that order."""
    return [member_id for member_id in members if member_id not in listed]
