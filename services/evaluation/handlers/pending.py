"""Writing a transaction's pending meeting facts together, then touching the meetings they changed.

The handlers of facts that only add to a meeting (documents, attendance, minutes, approval, assessments, task
completions, cancellations; a roster's content key, roster_content) note the fact (`Touched.pending`) instead of
writing it at once; before the transaction's scoring step (`defer_touched` or `score_touched`) `write_pending` takes
their subjects' locks in key order in one statement, writes each kind in one multi-row statement, reads the
positions of the meetings written in one more, and touches each changed meeting as its handler would have. A batch
of 1,000 such facts costs a handful of round trips instead of about three per fact; the end state is the one
applying them one by one gives (snapshots: the newest by (time, ns, id) wins however they are offered; the first
cancellation stays).
"""

from typing import TYPE_CHECKING, Any

from services.evaluation.domain.touched import PendingFact
from services.evaluation.repository import FactStamp

if TYPE_CHECKING:
    from services.evaluation.handlers.scores import ScoringUnitOfWork

SNAPSHOT_KINDS = ("attendance", "minutes", "approval")


def subject_of(meeting_id: str) -> str:
    """The lock key of a fact about a meeting (as `lock_order` sorts a batch)."""
    return f"meeting:{meeting_id}"


def _stamp(fact: PendingFact) -> FactStamp:
    return FactStamp(time=fact.time, event_id=fact.event_id, ns=fact.ns)


async def write_pending(uow: "ScoringUnitOfWork") -> int:
    """Write the pending facts (each kind multi-row) and touch the meetings they changed; how many facts."""
    pending, uow.touched.pending = uow.touched.pending, []
    if not pending:
        return 0
    facts = uow.facts
    await facts.lock_fact_subjects([subject_of(fact.meeting_id) for fact in pending])
    changed: set[int] = set()  # positions in `pending` of the facts that changed something
    for kind in SNAPSHOT_KINDS:
        of_kind = [(index, fact) for index, fact in enumerate(pending) if fact.kind == kind]
        if of_kind:
            written = await facts.upsert_snapshots(
                kind, [(fact.meeting_id, fact.value, _stamp(fact)) for _, fact in of_kind]
            )
            # only the newest of a meeting was offered: it alone can have changed the row
            newest = _newest_by(of_kind, key=lambda fact: fact.meeting_id)
            changed.update(index for index, fact in of_kind if fact.meeting_id in written and index in newest)
    contents = [(index, fact) for index, fact in enumerate(pending) if fact.kind == "roster_content"]
    if contents:
        # every roster's content key, older ones too, may decide whether the adoption stands (shared.minutes)
        kept = await facts.keep_roster_content([(fact.meeting_id, fact.value, _stamp(fact)) for _, fact in contents])
        changed.update(index for index, fact in contents if fact.meeting_id in kept)
    documents = [(index, fact) for index, fact in enumerate(pending) if fact.kind == "documents"]
    if documents:
        await facts.add_documents_many([(fact.meeting_id, fact.value, _stamp(fact)) for _, fact in documents])
        changed.update(index for index, _ in documents)  # publications accumulate: always rescored
    assessments = [(index, fact) for index, fact in enumerate(pending) if fact.kind == "assessment"]
    if assessments:
        added = await facts.add_assessments(
            [(fact.meeting_id, fact.value[0], fact.value[1], _stamp(fact)) for _, fact in assessments]
        )
        changed.update(index for index, fact in assessments if (fact.meeting_id, fact.event_id) in added)
    tasks = [(index, fact) for index, fact in enumerate(pending) if fact.kind == "task"]
    if tasks:
        done = await facts.complete_tasks(
            [(fact.value[0], fact.meeting_id, fact.value[1], _stamp(fact)) for _, fact in tasks]
        )
        newest = _newest_by(tasks, key=lambda fact: (fact.meeting_id, fact.value[0]))  # a task is named in its meeting
        changed.update(index for index, fact in tasks if (fact.meeting_id, fact.value[0]) in done and index in newest)
    cancellations = [(index, fact) for index, fact in enumerate(pending) if fact.kind == "cancellation"]
    if cancellations:
        cancelled = await facts.cancel_meetings([(fact.meeting_id, _stamp(fact)) for _, fact in cancellations])
        first: dict[str, int] = {}
        for index, fact in cancellations:
            first.setdefault(fact.meeting_id, index)
        changed.update(index for meeting_id, index in first.items() if meeting_id in cancelled)
    positions = await facts.meeting_positions(sorted({pending[index].meeting_id for index in changed}))
    for index in sorted(changed):
        fact = pending[index]
        position = positions.get(fact.meeting_id)
        if position is not None:
            cell_id, starts_at = position
            uow.touched.touch(
                cell_id,
                since=starts_at if fact.following else None,
                only={fact.meeting_id},
                correlation_id=fact.correlation_id,
                recorded_at=fact.time,
            )
    return len(pending)


def _newest_by(facts: list[tuple[int, PendingFact]], *, key: Any) -> set[int]:
    """The positions of the newest fact (by time to the nanosecond, then event id) of each key."""
    newest: dict[Any, tuple[int, PendingFact]] = {}
    for index, fact in facts:
        held = newest.get(key(fact))
        if held is None or _stamp(held[1]).order < _stamp(fact).order:
            newest[key(fact)] = (index, fact)
    return {index for index, _ in newest.values()}
