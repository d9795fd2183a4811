"""Recomputing meeting scores and cell periods from the stored facts, publishing only changes."""

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol

from services.evaluation.domain.facts import (
    COMMITTEE_ROLE,
    Assessment,
    Document,
    MeetingFacts,
    Minutes,
    Resolution,
    TaskOutcome,
    attendance_runs,
    members_in_cell_at,
)
from services.evaluation.domain.framework import Adoption, Framework, choose_framework, parse_framework
from services.evaluation.domain.periods import (
    REGULAR_KINDS,
    CellSpan,
    LateChange,
    MeetingSummary,
    PeriodResult,
    cell_span,
    evaluate_period,
    late_change,
    rescored_change,
    unit_added_change,
    unit_closed_change,
)
from services.evaluation.domain.rules import changes_at
from services.evaluation.domain.scoring import MeetingScore, results_moved, score_meeting
from services.evaluation.domain.touched import Touched, TouchedCell
from services.evaluation.handlers.pending import write_pending
from services.evaluation.repository import (
    FactRepository,
    FactStamp,
    FrameworkRepository,
    MeetingRow,
    Recheck,
    ResultRepository,
    ScoreRow,
)
from services.evaluation.repository.facts import CommitteeHistory
from shared.contracts.evaluation import CellScoreUpdated, MeetingScoreUpdated, MeetingScoreWithdrawn, WithdrawalReason
from shared.envelope import CloudEvent, new_event, new_event_of_checked, now
from shared.logs import get_logger
from shared.metrics import SCORING_SECONDS
from shared.numbers import shown_change
from shared.periods import (
    VIETNAM_TZ,
    local_date,
    month_of,
    months_between,
    period_months,
    periods_of_month,
    periods_of_year,
)
from shared.plausible import meeting_begun
from shared.reasons import ReasonPart, reason_text

log = get_logger(__name__)
SOURCE = "urn:chibo:evaluation"

clock: Callable[[], datetime] = now
"""The scoring moment (a round reads it once): a time limit not over at it (the final documents' hours after the end)
is not missed yet."""


class ScoringUnitOfWork(Protocol):
    """What recomputation needs from a unit of work (the Pg one and the tests' fake both fit)."""

    @property
    def facts(self) -> FactRepository: ...
    @property
    def results(self) -> ResultRepository: ...
    @property
    def frameworks(self) -> FrameworkRepository: ...
    @property
    def framework_cache(self) -> dict[tuple[str, str], Framework]: ...
    @property
    def today(self) -> Callable[[], date]: ...
    @property
    def touched(self) -> Touched: ...

    def emit(self, event: CloudEvent) -> None: ...


@dataclass
class Rescored:
    """How many meetings were scored, how many changed, and which cell-months need their periods."""

    meetings: int = 0
    changed: int = 0
    """Meetings scored for the first time, whose score was withdrawn, or whose score, rating or a criterion's points
    moved: not those only republished under a new framework reference (the re-score job's `meetings_changed`)."""
    months: dict[str, set[str]] = field(default_factory=dict)
    ancestors_of: dict[str, list[str]] = field(default_factory=dict)
    """The scored cells' ancestors and the adoptions, as read for their meetings: refreshing their periods in the
    same round reads them again no more (two round trips of the 16 a scoring round of new cells makes)."""
    adoptions: list[Adoption] | None = None


async def framework_for(uow: ScoringUnitOfWork, adoption: Adoption) -> Framework:
    """The parsed framework of an adoption, cached per process ((id, version) documents never change)."""
    key = (adoption.framework_id, adoption.version)
    if key not in uow.framework_cache:
        document = await uow.frameworks.document(*key)
        if document is None:
            raise LookupError(f"framework {key} is adopted but not stored")
        uow.framework_cache[key] = parse_framework(document)
    return uow.framework_cache[key]


async def framework_in_force(
    uow: ScoringUnitOfWork, *, on: Any, ancestors: list[str], adoptions: list[Adoption]
) -> Framework:
    """The framework in force for a cell (given its ancestors) on a date."""
    adoption = choose_framework(on=on, ancestors=ancestors, adoptions=adoptions)
    if adoption is None:
        raise LookupError("no framework is registered")
    return await framework_for(uow, adoption)


def _minutes(raw: dict[str, Any]) -> Minutes:
    return Minutes(
        started_at=datetime.fromisoformat(raw["started_at"]),
        ended_at=datetime.fromisoformat(raw["ended_at"]),
        speakers=frozenset(raw.get("speakers", [])),
        resolutions=tuple(
            Resolution(r["votes_for"], r["votes_against"], r["abstentions"]) for r in raw.get("resolutions", [])
        ),
        task_count=len(raw.get("tasks", [])),
        self_criticism_minutes=raw.get("self_criticism_minutes"),
        content=raw.get("content"),
        conclusions=raw.get("conclusions"),
    )


def _held(meeting: MeetingRow) -> bool:
    return meeting.minutes is not None and not meeting.cancelled


def _begun(meeting: MeetingRow, at: datetime) -> bool:
    """Whether a meeting is scored at `at` (shared.plausible.meeting_begun, the rule the gateway's API and web pages
    answer by): one still ahead (no minutes, its start after `at`) has not taken place, so it gets no score and no
    `score.meeting.updated.v1` until its start comes (a recheck then); DOMAIN.md "How to read it, exactly"."""
    recorded = meeting.minutes is not None
    return meeting_begun(starts_at=meeting.starts_at, minutes_recorded=recorded, cancelled=meeting.cancelled, now=at)


def _stored_published(row: dict[str, Any]) -> dict[str, Any]:
    """The `score.meeting.updated.v1` data a stored row was published with: its lines without their reason parts
    (which stay internal to evaluation and its RPC)."""
    return {
        "meeting_id": row["meeting_id"],
        "cell_id": row["cell_id"],
        "framework": {"id": row["framework_id"], "version": row["framework_version"]},
        "score": row["score"],
        "rating": row["rating"],
        "provisional": row["provisional"],
        "criteria": [{key: value for key, value in line.items() if key != "parts"} for line in row["criteria"]],
    }


def _reworded(row: Any, was_published: dict[str, Any]) -> dict[str, Any]:
    """`was_published` (a stored row's publication, _stored_published) with each line's reason said again from its
    stored parts by today's wording (shared.reasons.reason_text): a row whose facts did not change but whose reason
    reads otherwise only because the wording changed (moments said at +07:00 rather than UTC) is rewritten, not
    republished, so a new wording sends no score.meeting.updated.v1 for every meeting scored again. A line stored
    without parts keeps its reason."""
    criteria = []
    for line, stored in zip(was_published["criteria"], row["criteria"], strict=True):
        parts = stored.get("parts")
        if parts:
            line = line | {"reason": reason_text([ReasonPart.model_validate(part) for part in parts])}
        criteria.append(line)
    return was_published | {"criteria": criteria}


@dataclass
class _Writes:
    """The score rows a scoring round saves and deletes, written once at its end (multi-row)."""

    saved: list[ScoreRow] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    rechecks: list[Recheck] = field(default_factory=list)
    """Meetings to score again when a moment comes (their start, the end of a window their score awaits)."""
    unseen: list[tuple[str, MeetingSummary]] = field(default_factory=list)
    """Cancelled meetings never scored (with their cell) whose minutes say they were held, as scored had they not
    been cancelled (_note_unseen_withdrawals)."""


async def rescore_cell(
    uow: ScoringUnitOfWork,
    cell_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    only: Collection[str] = (),
    correlation_id: str | None = None,
    outcome: Rescored | None = None,
    rescoring: bool = False,
) -> Rescored:
    """Score the cell's meetings in `only` or starting in [since, until), from the stored facts; `rescoring`: the
    re-score job's (rescore_cells)."""
    wanted = TouchedCell(since=since, until=until, only=set(only), correlation_id=correlation_id)
    return await rescore_cells(uow, {cell_id: wanted}, outcome=outcome, rescoring=rescoring)


RESCORE_NOTE_KINDS = frozenset({"rescored"})
"""The late-change kinds a re-score job notes: the changes it makes itself (DOMAIN.md: re-scoring history is an
explicit job). A withdrawal, a meeting recorded late or a unit's change it comes across in the stored facts happened
before it and was noted when it came, or, stored before such notes existed (h358, h395), never: a note of it now would
be dated at the job and read as a new change."""


def _notes_kept(late: list[LateChange], *, rescoring: bool) -> list[LateChange]:
    """The notes to store: all of them, or a re-score job's own kinds only (RESCORE_NOTE_KINDS)."""
    return [note for note in late if note.kind in RESCORE_NOTE_KINDS] if rescoring else late


async def rescore_cells(
    uow: ScoringUnitOfWork,
    cells: Mapping[str, TouchedCell],
    *,
    outcome: Rescored | None = None,
    rescoring: bool = False,
) -> Rescored:
    """Score each cell's wanted meetings (`TouchedCell.wants`) from the stored facts, all cells at once.

    The cells are locked in id order first; every read takes the whole set (a constant number of round trips
    for any number of cells) and the changed rows are written in one statement each. Events are emitted cell by
    cell in id order, meetings by start, exactly as scoring the cells one by one would. `rescoring` (the re-score
    job): its notes are its own kinds only (RESCORE_NOTE_KINDS), so a cancelled meeting never scored leaves none."""
    outcome = outcome or Rescored()
    cell_ids = sorted(cells)
    if not cell_ids:
        return outcome
    await uow.facts.lock_cells(cell_ids)
    # a note of periods only (a scoring round's second transaction: `periods_due`) reads no meeting
    wanting = [cell_id for cell_id in cell_ids if cells[cell_id].only or cells[cell_id].since is not None]
    meetings_of = await uow.facts.cells_meetings(wanting) if wanting else {}
    targets_of = {
        cell_id: [m for m in meetings_of.get(cell_id, []) if cells[cell_id].wants(m.meeting_id, m.starts_at)]
        for cell_id in cell_ids
    }
    scored = [cell_id for cell_id in cell_ids if targets_of[cell_id]]
    if not scored:
        return outcome
    ids = [meeting.meeting_id for cell_id in scored for meeting in targets_of[cell_id]]
    inputs_of = await uow.results.scoring_inputs(ids)
    stored, documents, assessments = inputs_of.stored, inputs_of.documents, inputs_of.assessments
    histories = await uow.facts.committee_histories(scored)
    ancestors_of = await uow.facts.ancestors_of(scored)
    adoptions = await uow.frameworks.adoptions()
    outcome.ancestors_of.update(ancestors_of)
    outcome.adoptions = adoptions
    writes = _Writes()
    scored_at = clock()
    for cell_id in scored:
        inputs = _CellInputs(
            documents=documents,
            assessments=assessments,
            history=histories[cell_id],
            ancestors=ancestors_of[cell_id],
            adoptions=adoptions,
        )
        target_ids = {meeting.meeting_id for meeting in targets_of[cell_id]}
        await _score_cell_meetings(
            uow,
            cell_id,
            meetings_of[cell_id],
            target_ids,
            stored,
            inputs,
            writes,
            outcome,
            cells[cell_id].correlation_id,
            scored_at,
        )
    await uow.results.delete_scores(writes.deleted)
    await uow.results.save_scores(writes.saved)
    await uow.results.schedule_rechecks(writes.rechecks)
    await _note_unseen_withdrawals(
        uow, writes.unseen, ancestors_of=ancestors_of, adoptions=adoptions, rescoring=rescoring
    )
    return outcome


async def _note_unseen_withdrawals(
    uow: ScoringUnitOfWork,
    unseen: list[tuple[str, MeetingSummary]],
    *,
    ancestors_of: Mapping[str, list[str]],
    adoptions: list[Adoption],
    rescoring: bool = False,
) -> None:
    """Note the withdrawal of each cancelled meeting in `unseen` (never scored: its cancellation came before its
    minutes) whose month closed, was first stored after it closed (`rated_from`) and would have shown it: the same
    note its minutes arriving first leave when the cancellation then withdraws the score the month showed
    (domain.periods.late_change, kind "withdrawn"), so the month ends alike in either order (CONTRACT.md). The figures
    before are the month's with the meeting counted, those after its stored row's; a month already noted for that
    meeting's withdrawal is not noted again (another fact about the cancelled meeting). A re-score job (`rescoring`)
    notes none: the cancellation came before it (_notes_kept)."""
    if rescoring and "withdrawn" not in RESCORE_NOTE_KINDS:
        return  # what it would note is left unread
    through = f"{uow.today():%Y-%m}"
    closed = [(cell_id, meeting) for cell_id, meeting in unseen if meeting.month < through]
    if not closed:
        return
    keys = sorted({(cell_id, meeting.month) for cell_id, meeting in closed})
    stored = await uow.results.stored_periods(keys)
    noted = await uow.results.withdrawals_noted(keys)
    summaries_of = await uow.results.cells_summaries(
        sorted({cell_id for cell_id, _ in keys}),
        year_from=min(int(month[:4]) for _, month in keys),
        year_to=max(int(month[:4]) for _, month in keys),
    )
    late: list[LateChange] = []
    for cell_id, meeting in closed:
        row = stored.get((cell_id, meeting.month))
        if row is None or row.get("rated_from") is None or row["rated_from"] <= meeting.month:
            continue  # a month shown as it closed: the meeting was never part of it (h374), nothing to note
        if (cell_id, meeting.month, meeting.meeting_id) in noted:
            continue
        framework = await framework_in_force(
            uow,
            on=framework_day(meeting.month, through=through),
            ancestors=ancestors_of.get(cell_id, []),
            adoptions=adoptions,
        )
        summaries = summaries_of.get(cell_id, [])
        shown = evaluate_period(
            cell_id=cell_id,
            period=meeting.month,
            meetings=[*summaries, meeting],
            rules=framework.period_rules,
            through_month=through,
            band_of=framework.rating_for,
        )
        if shown is None:
            continue
        note = late_change(
            before={**row, "rating": shown.rating, "score": shown.score, "meetings_held": shown.meetings_held},
            after=_stored_result(row),
            meetings=summaries,
            through_month=through,
            at=clock(),
        )
        if note is not None and note.kind == "withdrawn":
            late.append(replace(note, meeting_id=meeting.meeting_id))
            log.info("closed_month_unseen_withdrawal", cell_id=cell_id, period=meeting.month)
    await uow.results.save_late_changes(_notes_kept(late, rescoring=rescoring))


def _stored_result(row: Mapping[str, Any]) -> PeriodResult:
    """A stored period row as a result (its figures and meetings held): what late_change compares with, and what
    the row was published with (_published_period)."""
    return PeriodResult(
        cell_id=row["cell_id"],
        period=row["period"],
        rating=row["rating"],
        score=row["score"],
        regular_held=row["regular_held"],
        thematic_held=row["thematic_held"],
        present=row["present"],
        counted=row["counted"],
        speakers_present=row["speakers_present"],
        months_counted=row["months_counted"],
        months_with_regular=row["months_with_regular"],
        flags=tuple(row["flags"] or ()),
        meetings_held=row.get("meetings_held") or 0,
    )


@dataclass(frozen=True)
class _CellInputs:
    """What scoring a cell's meetings reads besides its meetings (read for every cell at once)."""

    documents: dict[str, list[tuple[str, datetime]]]
    assessments: dict[str, list[tuple[str, FactStamp, dict]]]
    history: CommitteeHistory
    ancestors: list[str]
    adoptions: list[Adoption]


async def _score_cell_meetings(
    uow: ScoringUnitOfWork,
    cell_id: str,
    meetings: list[MeetingRow],
    target_ids: set[str],
    stored: dict[str, dict[str, Any]],
    inputs: _CellInputs,
    writes: _Writes,
    outcome: Rescored,
    correlation_id: str | None,
    scored_at: datetime,
) -> None:
    """Walk the cell's meetings in order (runs and previous tasks carry over) and score the targets: a cancelled one
    has its score withdrawn; a line waiting on a moment after `scored_at` is noted for rescoring then."""
    committee_snapshots, removals = inputs.history
    rosters: list[dict[str, str]] = []
    previous_regular: MeetingRow | None = None
    held_regular: list[MeetingRow] = []

    def facts_of(meeting: MeetingRow) -> MeetingFacts:
        """The meeting's facts as scored now (its roster history, the previous regular meeting's tasks)."""
        history = rosters + ([meeting.roster] if meeting.roster is not None else [])
        excused, absent = attendance_runs(history) if meeting.roster is not None else ({}, {})
        previous_tasks = _tasks_of(previous_regular)
        in_cell = members_in_cell_at(
            cell_id=cell_id, moment=meeting.starts_at, snapshots=committee_snapshots, removals=removals
        )
        return MeetingFacts(
            meeting_id=meeting.meeting_id,
            cell_id=cell_id,
            kind=meeting.kind,
            starts_at=meeting.starts_at,
            notified_at=meeting.notified_at,
            committee_prepared=meeting.committee_prepared,
            cancelled=meeting.cancelled,
            cell_has_committee=any(member.role == COMMITTEE_ROLE for member in in_cell),
            cell_members=len(in_cell),
            documents=tuple(Document(kind, at) for kind, at in inputs.documents.get(meeting.meeting_id, [])),
            roster=meeting.roster,
            minutes=_minutes(meeting.minutes) if meeting.minutes else None,
            approved_at=meeting.approved_at,
            approval_voted=meeting.approval_voted,
            assessments=tuple(
                Assessment(role=role, time=stamp.time, event_id=stamp.event_id, points=points, ns=stamp.ns)
                for role, stamp, points in inputs.assessments.get(meeting.meeting_id, [])
            ),
            previous_tasks=previous_tasks,
            previous_id=previous_regular.meeting_id if previous_tasks is not None and previous_regular else None,
            previous_start=previous_regular.starts_at if previous_tasks is not None and previous_regular else None,
            excused_runs=excused,
            absence_runs=absent,
            scored_at=scored_at,
        )

    for meeting in meetings:
        if meeting.meeting_id in target_ids and meeting.cancelled:
            if meeting.minutes is not None and meeting.kind in REGULAR_KINDS and meeting.meeting_id not in stored:
                # cancelled before its minutes came: never scored, so what it would have shown is worked out
                writes.unseen.append((cell_id, await _unseen_summary(uow, facts_of(meeting), inputs)))
            _withdraw(uow, meeting, stored.get(meeting.meeting_id), writes, outcome, correlation_id)
        elif meeting.meeting_id in target_ids and not _begun(meeting, scored_at):
            reason = WithdrawalReason.NOT_HELD
            _withdraw(uow, meeting, stored.get(meeting.meeting_id), writes, outcome, correlation_id, reason=reason)
            writes.rechecks.append(Recheck(meeting_id=meeting.meeting_id, cell_id=cell_id, due_at=meeting.starts_at))
        elif meeting.meeting_id in target_ids:
            facts = facts_of(meeting)
            framework = await framework_in_force(
                uow, on=facts.local_date, ancestors=inputs.ancestors, adoptions=inputs.adoptions
            )
            result = score_meeting(framework, facts)
            earlier = _recorded_before(meeting, previous_regular, held_regular)
            if earlier is not None:
                # the previous meeting was recorded after this one: when it moved this one's results points (against
                # the previous meeting this one had before), the line says its score was recalculated and why
                tasks = _tasks_of(earlier[0])
                without = replace(
                    facts,
                    previous_tasks=tasks,
                    previous_id=earlier[0].meeting_id if tasks is not None and earlier[0] else None,
                    previous_start=earlier[0].starts_at if tasks is not None and earlier[0] else None,
                )
                if results_moved(result, score_meeting(framework, without)):
                    result = score_meeting(framework, replace(facts, previous_recorded_late=True))
            _store_score(uow, result, facts, stored.get(meeting.meeting_id), writes, outcome, correlation_id)
            due = min((at for line in result.criteria if (at := changes_at(line.parts))), default=None)
            if due is not None:  # a window still open: its end may change the line (and its explanation)
                writes.rechecks.append(Recheck(meeting_id=meeting.meeting_id, cell_id=cell_id, due_at=due))
        if _held(meeting) and meeting.roster is not None:
            rosters.append(meeting.roster)
        if _held(meeting) and meeting.kind in REGULAR_KINDS:
            previous_regular = meeting
            held_regular.append(meeting)


def _tasks_of(previous: MeetingRow | None) -> tuple[TaskOutcome, ...] | None:
    """The tasks of a meeting's previous held regular or combined meeting (`previous`), each with its completion;
    None without one (DOMAIN.md "results")."""
    if previous is None or previous.minutes is None:
        return None
    return tuple(
        TaskOutcome(
            due_on=date.fromisoformat(task["due_on"]),
            completed_on=previous.completions.get(task["task_id"]),
            assigned_on=local_date(previous.starts_at),
        )
        for task in previous.minutes.get("tasks", [])
    )


def _recorded_before(
    meeting: MeetingRow, previous: MeetingRow | None, held: list[MeetingRow]
) -> tuple[MeetingRow | None] | None:
    """When `meeting`'s previous held regular meeting (`previous`) had its minutes first recorded after the meeting's
    own were (MeetingRow.minutes_first_at: the facts' own times, so in whatever order they arrive): the previous
    meeting it had before, the latest of `held` (the cell's held regular meetings before it, in order) recorded no
    later than it, or None for none, in a 1-tuple; None when the previous meeting was not recorded late."""
    first, own = (previous.minutes_first_at if previous else None), meeting.minutes_first_at
    if first is None or own is None or first <= own:
        return None
    before = [row for row in held if row.minutes_first_at is not None and row.minutes_first_at <= own]
    return (before[-1] if before else None,)


async def _unseen_summary(uow: ScoringUnitOfWork, facts: MeetingFacts, inputs: _CellInputs) -> MeetingSummary:
    """A cancelled meeting with minutes as its month would have counted it held (scored had it not been cancelled):
    what a month shown with it read before the cancellation withdrew it (_note_unseen_withdrawals)."""
    held = replace(facts, cancelled=False)
    framework = await framework_in_force(
        uow, on=held.local_date, ancestors=inputs.ancestors, adoptions=inputs.adoptions
    )
    result = score_meeting(framework, held)
    return MeetingSummary(
        meeting_id=held.meeting_id,
        kind=held.kind,
        starts_at=held.starts_at,
        held=True,
        score=result.score,
        rating=result.rating,
        provisional=result.provisional,
        present=held.count("present"),
        counted=held.attendance_counted,
        speakers_present=held.speakers_present,
    )


def _withdraw(
    uow: ScoringUnitOfWork,
    meeting: MeetingRow,
    previous: dict[str, Any] | None,
    writes: _Writes,
    outcome: Rescored,
    correlation_id: str | None,
    *,
    reason: WithdrawalReason = WithdrawalReason.CANCELLED,
) -> None:
    """A cancelled meeting is not scored (DOMAIN.md), nor one still ahead (`reason` not_held: _begun): drop its
    stored score and withdraw the published one (CONTRACT.md score.meeting.withdrawn.v1: a meeting no longer
    scored)."""
    outcome.meetings += 1
    if previous is None:
        return
    outcome.months.setdefault(previous["cell_id"], set()).add(month_of(previous["starts_at"]))
    outcome.months.setdefault(meeting.cell_id, set()).add(month_of(meeting.starts_at))
    writes.deleted.append(meeting.meeting_id)
    outcome.changed += 1
    uow.emit(
        new_event(
            type="score.meeting.withdrawn.v1",
            source=SOURCE,
            data=MeetingScoreWithdrawn(meeting_id=meeting.meeting_id, cell_id=meeting.cell_id, reason=reason),
            subject=meeting.meeting_id,
            correlation_id=correlation_id,
        )
    )
    log.info(
        "meeting_score_withdrawn", meeting_id=meeting.meeting_id, reason=str(reason), correlation_id=correlation_id
    )


def _points_moved(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether a meeting's score says something else now: its score as the pages show it or its rating
    (shared.numbers.shown_change), or a criterion's points. A new framework reference (a new version rating it the
    same) is republished but is no change a person would count."""

    def points(data: dict[str, Any]) -> dict[str, Any]:
        return {line["code"]: line["points"] for line in data["criteria"]}

    moved = shown_change(before["score"], before["rating"], after["score"], after["rating"])
    return moved or points(before) != points(after)


def _store_score(
    uow: ScoringUnitOfWork,
    result: MeetingScore,
    facts: MeetingFacts,
    previous: dict[str, Any] | None,
    writes: _Writes,
    outcome: Rescored,
    correlation_id: str | None,
) -> None:
    outcome.meetings += 1
    present, counted, speakers = facts.count("present"), facts.attendance_counted, facts.speakers_present
    if not facts.held:
        present = counted = speakers = 0
    columns = (facts.cell_id, facts.kind, facts.starts_at, facts.held, result.score, present, counted, speakers)
    month = month_of(facts.starts_at)
    outcome.months.setdefault(facts.cell_id, set()).add(month)
    published = result.published_data()
    was_published = _stored_published(previous) if previous is not None else None
    if previous is not None:
        outcome.months.setdefault(previous["cell_id"], set()).add(month_of(previous["starts_at"]))
        before = (
            previous["cell_id"],
            previous["kind"],
            previous["starts_at"],
            previous["held"],
            previous["score"],
            previous["present"],
            previous["counted"],
            previous["speakers_present"],
        )
        stored_lines = [line.stored_dict() for line in result.criteria]
        # a row stored before lines carried their parts is rewritten (not republished) so the web can say it by code
        if before == columns and was_published == published and previous["criteria"] == stored_lines:
            return
    writes.saved.append(
        ScoreRow(
            result=result,
            kind=facts.kind,
            starts_at=facts.starts_at,
            held=facts.held,
            present=present,
            counted=counted,
            speakers_present=speakers,
        )
    )
    if was_published is None or _points_moved(was_published, published):
        outcome.changed += 1
    if was_published == published or (was_published is not None and _reworded(previous, was_published) == published):
        return
    data = MeetingScoreUpdated.model_validate(published)
    uow.emit(
        new_event_of_checked(
            type="score.meeting.updated.v1",
            source=SOURCE,
            data=data,
            subject=result.meeting_id,
            correlation_id=correlation_id,
        )
    )
    if logging.getLogger(__name__).isEnabledFor(logging.INFO):  # as refresh_cells_periods: no line prepared for nothing
        log.info(
            "meeting_score_updated",
            meeting_id=result.meeting_id,
            score=published["score"],
            rating=result.rating,
            provisional=result.provisional,
            correlation_id=correlation_id,
        )


async def refresh_periods(
    uow: ScoringUnitOfWork,
    cell_id: str,
    months: Iterable[str],
    *,
    correlation_id: str | None = None,
    rescoring: bool = False,
) -> int:
    """Recompute the month, quarter and year of each given month for a cell; return how many changed. `rescoring`:
    the re-score job's, whose changes of closed months shown are noted (refresh_cells_periods)."""
    return await refresh_cells_periods(
        uow, {cell_id: months}, correlation_ids={cell_id: correlation_id}, rescoring=rescoring
    )


async def refresh_cells_periods(
    uow: ScoringUnitOfWork,
    months_of: Mapping[str, Iterable[str]],
    *,
    correlation_ids: Mapping[str, str | None] | None = None,
    default_correlation: str | None = None,
    ancestors_of: Mapping[str, list[str]] | None = None,
    adoptions: list[Adoption] | None = None,
    received: Mapping[str, str | None] | None = None,
    recorded: Mapping[str, datetime | None] | None = None,
    closing: bool = False,
    rescoring: bool = False,
    held: dict[str, set[str]] | None = None,
) -> int:
    """Recompute the month, quarter and year of each given month of each cell, all cells at once; return how many
    period rows changed. Events go out cell by cell in id order, as refreshing the cells one by one would.
    `ancestors_of` (any cells) and `adoptions`, when the caller read them in this transaction, are not read again.
    `received` (facts being handled, not the month close nor a re-score job): per cell, the month (YYYY-MM) its facts
    were received in; a month closed before it whose result they change is noted (domain.periods.late_change), so
    the pages and the report say it changed after it closed. A cell without a month (None, or absent: no fact, a
    window's end released it) leaves no note: only a fact recorded after the month closed is a late record.
    `recorded`: per cell, when the latest of those facts happened (their `time`): a month first rated after it ended
    is judged by it against the moment it was first rated (domain.periods.late_change).
    `closing` (the month close): a row it stores first counts as rated in its own month, on time (`rated_from`), as
    officers see it once the month is over; another first stored after its month ended (a history loaded late) is
    no result a later fact can change late. `rescoring` (the re-score job): a closed month officers were shown that
    it changes is noted as re-scored under the framework in force (domain.periods.rescored_change), and nothing else
    is noted (RESCORE_NOTE_KINDS). `held` (a scoring round's refresh while batch messages flow, issue 12): a cell
    with no meeting in a touched year does not have that year's periods first rated now (they would be published Poor
    and again once its meetings, still in the batches to come, arrive); each such cell's months are added to `held`
    instead, for a note refreshed later (handlers/coalesced.refresh_noted_periods). A period already stored is
    refreshed as ever."""
    correlation_ids = correlation_ids or {}
    through = f"{uow.today():%Y-%m}"
    spans, moved, dropped, set_up_in = await _cells_spans(uow, sorted(months_of), through=through)
    noted_at = clock()
    late = _closed_late(dropped, received, at=noted_at)
    plans: dict[str, tuple[set[str], list[int], list[str]]] = {}
    for cell_id in sorted(months_of):
        months = set(months_of[cell_id]) | moved.get(cell_id, set())
        touched = {period for month in months for period in periods_of_month(month)}
        if not touched:
            continue
        years = sorted({int(period[:4]) for period in touched})
        begun = [period for year in years for period in periods_of_year(year) if period_months(period)[0] <= through]
        plans[cell_id] = (touched, years, begun)
    if not plans:
        await uow.results.save_late_changes(_notes_kept(late, rescoring=rescoring))
        return 0
    stored = await uow.results.stored_periods(
        [(cell_id, period) for cell_id, plan in plans.items() for period in plan[2]]
    )
    cell_ids = list(plans)
    year_from = min(plan[1][0] for plan in plans.values())
    year_to = max(plan[1][-1] for plan in plans.values())
    summaries_of = await uow.results.cells_summaries(cell_ids, year_from=year_from, year_to=year_to)
    known = ancestors_of or {}
    missing = [cell_id for cell_id in cell_ids if cell_id not in known]
    lineage = {cell_id: known[cell_id] for cell_id in cell_ids if cell_id in known}
    if missing:
        lineage.update(await uow.facts.ancestors_of(missing))
    if adoptions is None:
        adoptions = await uow.frameworks.adoptions()
    days: dict[str, date] = {}
    # the framework in force depends on the day and the cell's committees only: a fresh cell's 17 periods fall on
    # 12 framework days, and the cells of one committee share them
    frameworks: dict[tuple[tuple[str, ...], date], Framework] = {}
    changed: list[PeriodResult] = []
    unrated: list[tuple[str, str]] = []
    first_rated: list[tuple[LateChange, str]] = []  # closed months first rated now, with the cell's parent
    # a line per period announced, when it is written: structlog prepares a line before the level filter drops it
    # (5 % of evaluation's busy samples in the latency preset, which logs at WARNING)
    logging_periods = logging.getLogger(__name__).isEnabledFor(logging.INFO)
    for cell_id, (touched, years, begun) in plans.items():
        # Every begun period of a touched year is published once, a month without any meeting included (Poor):
        # a backfill that skips a month must still publish it (DOMAIN.md "Periods", CONTRACT.md).
        periods = sorted(touched | {period for period in begun if (cell_id, period) not in stored})
        # the local year is the summary's month's (computed once per summary, and wanted again by every period)
        summaries = [s for s in summaries_of.get(cell_id, []) if years[0] <= int(s.month[:4]) <= years[-1]]
        # the years in which some meeting of the cell (held, cancelled or to come) is known: their periods no longer
        # wait for the first of its meetings (`held`)
        met_in = {summary.month[:4] for summary in summaries} if held is not None else set()
        correlation_id = correlation_ids.get(cell_id) or default_correlation
        ancestors = lineage[cell_id]
        branch = tuple(ancestors)
        for period in periods:
            on = days.get(period)
            if on is None:
                on = days[period] = framework_day(period, through=through)
            framework = frameworks.get((branch, on))
            if framework is None:
                framework = frameworks[(branch, on)] = await framework_in_force(
                    uow, on=on, ancestors=ancestors, adoptions=adoptions
                )
            result = evaluate_period(
                cell_id=cell_id,
                period=period,
                meetings=summaries,
                rules=framework.period_rules,
                through_month=through,
                span=spans.get(cell_id),
                band_of=framework.rating_for,
            )
            row = stored.get((cell_id, period))
            if held is not None and row is None and result is not None and period[:4] not in met_in:
                held.setdefault(cell_id, set()).add(period_months(period)[0])
                continue
            if result is None:
                if row is not None:
                    # rated before, not rated now (a running quarter whose only meeting so far was cancelled): the
                    # row goes, its roll-up sums with it; the month close rates the period once its month is over
                    unrated.append((cell_id, period))
                continue
            if row is not None and _same_period(row, result):
                continue
            changed.append(result)
            received_in = received.get(cell_id) if received is not None else None
            if received_in is not None and row is None and ancestors:
                added = unit_added_change(
                    after=result,
                    meetings=summaries,
                    through_month=received_in,
                    at=noted_at,
                    set_up_in=set_up_in.get(cell_id),
                )
                if added is not None:
                    first_rated.append((added, ancestors[0]))
            if rescoring and row is not None:
                rescored = rescored_change(
                    before=row,
                    after=result,
                    meetings=summaries,
                    through_month=through,
                    at=noted_at,
                    framework_id=framework.id,
                    framework_version=framework.version,
                )
                if rescored is not None:
                    late.append(rescored)
                    log.info("closed_month_rescored", cell_id=cell_id, period=period, framework_id=framework.id)
            elif received_in is not None and row is not None:
                note = late_change(
                    before=row,
                    after=result,
                    meetings=summaries,
                    through_month=received_in,
                    at=noted_at,
                    today=uow.today(),
                    recorded_at=recorded.get(cell_id) if recorded is not None else None,
                )
                if note is not None:
                    late.append(note)
                    log.info(
                        "closed_month_changed_late",
                        cell_id=cell_id,
                        period=period,
                        meeting_id=note.meeting_id,
                        old_score=note.old_score,
                        new_score=note.new_score,
                    )
            if row is not None and _published_period(row) == result.published_data():
                continue  # only what is not published moved (pooled counts, months counted): stored, not re-announced
            uow.emit(
                new_event_of_checked(
                    type="score.cell.updated.v1",
                    source=SOURCE,
                    subject=cell_id,
                    correlation_id=correlation_id,
                    data=CellScoreUpdated.model_validate(result.published_data()),
                )
            )
            if logging_periods:
                log.info(
                    "cell_period_updated",
                    cell_id=cell_id,
                    period=period,
                    rating=result.rating,
                    score=result.score,
                    correlation_id=correlation_id,
                )
    late.extend(await _added_late(uow, first_rated))
    late = await _withdrawn_named(uow, late)
    await uow.results.save_periods(changed, month=None if closing else through, today=uow.today(), rated_at=noted_at)
    await uow.results.delete_periods(unrated)
    await uow.results.save_late_changes(_notes_kept(late, rescoring=rescoring))
    return len(changed) + len(unrated)


async def _withdrawn_named(uow: ScoringUnitOfWork, late: list[LateChange]) -> list[LateChange]:
    """The notes with each "withdrawn" one naming the meeting of its month whose score was withdrawn (cancelled or
    not held, whatever the reason: the month's meeting without a score any more; withdrawn_meetings, one statement
    for all); a month that lost a meeting without one withdrawn (moved to another month) is kind "result"."""
    keys = [(note.cell_id, note.period) for note in late if note.kind == "withdrawn"]
    if not keys:
        return late
    found = await uow.results.withdrawn_meetings(keys)
    named = []
    for note in late:
        if note.kind == "withdrawn":
            meeting_id = found.get((note.cell_id, note.period))
            note = replace(note, meeting_id=meeting_id, kind="withdrawn" if meeting_id else "result")
        named.append(note)
    return named


def _closed_late(
    dropped: list[dict[str, Any]], received: Mapping[str, str | None] | None, *, at: datetime
) -> list[LateChange]:
    """The notes of closed months whose rows a late deactivation dropped (unit_closed_change), for the cells whose
    facts are being handled (`received`, as refresh_cells_periods')."""
    notes = []
    for gone in dropped:
        received_in = received.get(gone["cell_id"]) if received is not None else None
        closed = unit_closed_change(before=gone, through_month=received_in, at=at) if received_in else None
        if closed is not None:
            notes.append(closed)
            log.info("closed_month_cell_closed_late", cell_id=closed.cell_id, period=closed.period)
    return notes


async def _added_late(uow: ScoringUnitOfWork, first_rated: list[tuple[LateChange, str]]) -> list[LateChange]:
    """The closed months first rated for a cell after they ended (unit_added_change) that its committee had already
    shown: another cell under the same parent had the month stored with a held meeting before this fact. A tree and
    its history loaded after their months closed (the demo province, a backfill sending the tree first) rate every
    month first with no cell's meeting stored yet: no note."""
    if not first_rated:
        return []
    shown = await uow.results.shown_months([(note.cell_id, parent, note.period) for note, parent in first_rated])
    added = [note for note, _ in first_rated if (note.cell_id, note.period) in shown]
    for note in added:
        log.info("closed_month_cell_added_late", cell_id=note.cell_id, period=note.period)
    return added


async def _cells_spans(
    uow: ScoringUnitOfWork, cell_ids: list[str], *, through: str
) -> tuple[dict[str, CellSpan | None], dict[str, set[str]], list[dict[str, Any]], dict[str, str]]:
    """Each cell's span (when it existed, from the stored facts) and, for the cells whose span moved since their
    periods were stored, the months whose periods that changes (refreshed with the touched ones). A moved span is
    stored, and the cell's stored periods wholly outside it are dropped (their roll-up sums with them): the dropped
    rows are returned third; fourth, the month each cell with a unit snapshot was set up in (its earliest snapshot's
    `time`: a month before it counts the cell only through a held meeting, unit_added_change)."""
    if not cell_ids:
        return {}, {}, [], {}
    existence = await uow.results.cells_existence(cell_ids)
    set_up_in = {
        cell_id: month_of(found.first_snapshot)
        for cell_id, found in existence.items()
        if found.first_snapshot is not None
    }
    spans: dict[str, CellSpan | None] = {}
    respanned: dict[str, CellSpan] = {}
    moved: dict[str, set[str]] = {}
    for cell_id in cell_ids:
        found = existence[cell_id]
        span = spans[cell_id] = cell_span(
            first_snapshot=found.first_snapshot,
            ended_at=found.ended_at,
            first_held=found.first_held,
            last_held=found.last_held,
            first_cancelled=found.first_cancelled,
            last_cancelled=found.last_cancelled,
        )
        if span is not None and span != found.stored:
            respanned[cell_id] = span
            moved[cell_id] = _moved_months(found.stored, span, through=through)
    dropped: list[dict[str, Any]] = []
    if respanned:
        dropped = await uow.results.delete_periods_outside(respanned)
        await uow.results.save_spans(respanned)
    return spans, moved, dropped, set_up_in


def _moved_months(old: CellSpan | None, new: CellSpan, *, through: str) -> set[str]:
    """The begun months whose periods a span's move changes: those it now covers or no longer covers, and its ends
    (a quarter or year it covers in part is rated over fewer months). With no span stored before, the periods
    wholly outside the new one are dropped and those inside are right: only the ends' periods change."""
    months = {new.first_month} | ({new.last_month} if new.last_month else set())
    if old is not None:
        low, high = sorted((old.first_month, new.first_month))
        months |= set(months_between(low, high))
        if old.last_month != new.last_month:
            ends = [month or through for month in (old.last_month, new.last_month)]
            months |= set(months_between(min(ends), max(ends)))
    return {month for month in months if month <= through}


def framework_day(period: str, *, through: str) -> date:
    """The day whose framework in force rates a period: the first of its last month, or of `through` (the current
    month, YYYY-MM) while the period runs."""
    last_month = min(f"{period[:4]}-12" if len(period) == 4 else _last_month(period), through)
    return date(int(last_month[:4]), int(last_month[5:7]), 1)  # not strptime: 3 % of evaluation's busy samples


def local_year(moment: datetime) -> int:
    """The year of a moment in Vietnam time (the years periods are counted in)."""
    return moment.astimezone(VIETNAM_TZ).year


def _last_month(period: str) -> str:
    if "-Q" in period:
        return f"{period[:4]}-{int(period[-1]) * 3:02d}"
    return period


def _published_period(row: dict[str, Any]) -> dict[str, Any]:
    """The `score.cell.updated.v1` data a stored period row was published with."""
    return _stored_result(row).published_data()


def _same_period(row: dict[str, Any], result: Any) -> bool:
    return (
        row["rating"],
        row["score"],
        row["regular_held"],
        row["thematic_held"],
        row["present"],
        row["counted"],
        row["speakers_present"],
        row["months_counted"],
        row["months_with_regular"],
        tuple(row["flags"]),
        row.get("meetings_held"),
        row.get("rating_reason"),
    ) == (
        result.rating,
        result.score,
        result.regular_held,
        result.thematic_held,
        result.present,
        result.counted,
        result.speakers_present,
        result.months_counted,
        result.months_with_regular,
        result.flags,
        result.meetings_held,
        result.rating_reason.data() if result.rating_reason is not None else None,
    )


async def rescore_and_refresh(
    uow: ScoringUnitOfWork,
    cell_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    only: Collection[str] = (),
    correlation_id: str | None = None,
) -> Rescored:
    """Rescore a cell's meetings, then refresh the periods of every cell-month they touched (timed)."""
    with SCORING_SECONDS.time():
        outcome = await rescore_cell(uow, cell_id, since=since, until=until, only=only, correlation_id=correlation_id)
        await refresh_cells_periods(
            uow,
            {cell_id: set(), **outcome.months},
            default_correlation=correlation_id,
            ancestors_of=outcome.ancestors_of,
            adoptions=outcome.adoptions,
        )
    return outcome


def periods_due(cells: Mapping[str, TouchedCell], outcome: Rescored) -> dict[str, TouchedCell]:
    """Per cell, the periods a scoring of `cells` leaves to refresh (`TouchedCell.months`, no meeting): every given
    cell (a unit snapshot can move its span when the cell existed), with its own months and those its meetings'
    changed scores moved (a withdrawn or moved score's former cell too), under its correlation id, else the first (in
    cell id order) of the set, and its facts' latest moment (`recorded_at`), else the set's latest."""
    first = next((cells[cell_id].correlation_id for cell_id in sorted(cells) if cells[cell_id].correlation_id), None)
    latest = max((cell.recorded_at for cell in cells.values() if cell.recorded_at is not None), default=None)
    due: dict[str, TouchedCell] = {}
    for cell_id in sorted(set(cells) | set(outcome.months)):
        given = cells.get(cell_id)
        due[cell_id] = TouchedCell(
            months=(given.months if given is not None else set()) | outcome.months.get(cell_id, set()),
            correlation_id=(given.correlation_id if given is not None else None) or first,
            recorded_at=given.recorded_at if given is not None else latest,
        )
    return due


async def refresh_due_periods(
    uow: ScoringUnitOfWork,
    due: Mapping[str, TouchedCell],
    *,
    received: Mapping[str, str | None],
    known: Rescored | None = None,
    lock: bool = True,
    held: dict[str, set[str]] | None = None,
) -> int:
    """Refresh the periods `periods_due` named (refresh_cells_periods, each cell's events under its correlation id),
    the cells locked first in id order unless `lock` is False (the scoring in the same transaction locked its
    cells); how many period rows changed. `known`: the scoring that named them, whose ancestors and adoptions are
    not read again. `held`: as refresh_cells_periods' (periods of a year without meetings held back)."""
    if not due:
        return 0
    if lock:
        await uow.facts.lock_cells(sorted(due))
    return await refresh_cells_periods(
        uow,
        {cell_id: cell.months for cell_id, cell in due.items()},
        correlation_ids={cell_id: cell.correlation_id for cell_id, cell in due.items()},
        ancestors_of=known.ancestors_of if known is not None else None,
        adoptions=known.adoptions if known is not None else None,
        received=received,
        recorded={cell_id: cell.recorded_at for cell_id, cell in due.items()},
        held=held,
    )


async def score_cells(
    uow: ScoringUnitOfWork, cells: Mapping[str, TouchedCell], *, received: Mapping[str, str | None] | None = None
) -> Rescored:
    """Rescore the given cells' meetings, then refresh each touched cell-month's periods, set-based (timed), in one
    transaction (a scoring round splits the two: handlers/coalesced.score_dirty).

    A cell-month's events carry its cell's correlation id, else the first (in cell id order) of the set. `received`:
    per cell, the month its facts were received in (refresh_cells_periods; None: every cell's facts are being
    handled as they come, received this month)."""
    if not cells:
        return Rescored()
    with SCORING_SECONDS.time():
        outcome = await rescore_cells(uow, cells)
        due = periods_due(cells, outcome)
        await refresh_due_periods(
            uow,
            due,
            received=received if received is not None else dict.fromkeys(due, f"{uow.today():%Y-%m}"),
            known=outcome,
            lock=False,  # rescore_cells locked the cells in id order; a moved score's former cell is not locked after
        )
    return outcome


async def score_touched(uow: ScoringUnitOfWork) -> Rescored:
    """Rescore every meeting the transaction's facts touched, then refresh each touched cell-month's periods:
    once per delivery (one event or a whole batch), timed as one scoring."""
    await write_pending(uow)
    return await score_cells(uow, dict(uow.touched.take()))
