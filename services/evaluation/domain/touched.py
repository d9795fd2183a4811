"""What the facts of one transaction touched: the meetings and cells to rescore once, at its end."""

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class TouchedCell:
    """A cell's meetings to rescore: those in `only`, and every one starting in [since, until) (since None: none);
    `months` (YYYY-MM): months whose periods are refreshed besides those of the meetings whose score changes;
    `recorded_at`: when the latest of the facts that touched it happened (their `time`; None: no fact)."""

    since: datetime | None = None
    only: set[str] = field(default_factory=set)
    correlation_id: str | None = None
    until: datetime | None = None
    months: set[str] = field(default_factory=set)
    recorded_at: datetime | None = None

    def record(self, at: datetime | None) -> None:
        """Note that a fact that happened at `at` (aware; None: no fact) touched the cell: the latest is kept."""
        if at is not None and (self.recorded_at is None or at > self.recorded_at):
            self.recorded_at = at

    def wants(self, meeting_id: str, starts_at: datetime) -> bool:
        """Whether a meeting of the cell (its id, effective start) is to be rescored."""
        if meeting_id in self.only:
            return True
        if self.since is None:
            return False
        return starts_at >= self.since and (self.until is None or starts_at < self.until)


@dataclass(frozen=True)
class PendingFact:
    """A fact about a meeting whose write waits for the end of its transaction's handlers, to be written together
    with the others of its kind (one multi-row statement each) and then touch its meeting if it changed anything.

    `value` by kind: attendance the roster, minutes their data, approval the adoption
    (repository.facts.Adoption: its time and votes), documents [(kind, at)],
    assessment (role, points), task (task id, completed on), cancellation None, roster_content a roster's content
    key (shared.minutes.roster_content_key)."""

    kind: str
    meeting_id: str
    time: datetime
    event_id: str
    value: Any
    following: bool
    correlation_id: str | None
    ns: int = 0
    """The nanoseconds of `time` below its microsecond (snapshots order by time, ns, event id)."""


@dataclass
class Touched:
    """Cells touched by the facts applied so far; merging keeps the union of the meetings each fact named. Facts
    whose writes wait (`pending`) touch theirs once written (`handlers/pending.py::write_pending`)."""

    cells: dict[str, TouchedCell] = field(default_factory=dict)
    pending: list[PendingFact] = field(default_factory=list)

    def touch(
        self,
        cell_id: str,
        *,
        since: datetime | None = None,
        only: Collection[str] = (),
        correlation_id: str | None = None,
        months: Collection[str] = (),
        recorded_at: datetime | None = None,
    ) -> None:
        """Note meetings of a cell to rescore: `only` (ids) and those starting at or after `since` (aware); and
        `months` (YYYY-MM) whose periods are refreshed whatever the meetings' scores do; `recorded_at`: when the fact
        that touched them happened (its `time`, TouchedCell.record)."""
        cell = self.cells.setdefault(cell_id, TouchedCell(correlation_id=correlation_id))
        cell.record(recorded_at)
        if since is not None:
            cell.since = since if cell.since is None else min(cell.since, since)
        cell.only.update(only)
        cell.months.update(months)

    def take(self) -> Iterator[tuple[str, TouchedCell]]:
        """Each touched cell in id order (the order cells are locked in), emptying the set."""
        cells, self.cells = self.cells, {}
        yield from sorted(cells.items())

    def __bool__(self) -> bool:
        return bool(self.cells) or bool(self.pending)
