"""A meeting's score under a framework: a pure function of the meeting's facts."""

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any, Generic, TypeVar, overload

from pydantic_core import to_jsonable_python

from services.evaluation.domain.facts import ASSESSOR_RANK, Assessment, MeetingFacts
from services.evaluation.domain.framework import Framework, Item
from services.evaluation.domain.rules import Reason, evaluate_automatic, only, previous_late
from shared.gates import ItemResult, apply_gates
from shared.reasons import ReasonCode, ReasonPart, reason_text

T = TypeVar("T")


class cached_property(Generic[T]):  # noqa: N801 (named as the functools one it stands for)
    """functools.cached_property without its lock: Python 3.11's takes an RLock at every first read, and a scoring
    round reads two per criterion line (~27 a meeting; issue 12). Computed once per instance, kept in its __dict__
    (a frozen dataclass too), then read as a plain attribute."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self._compute = compute
        self._name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> "cached_property[T]": ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> "T | cached_property[T]":
        if instance is None:
            return self
        value = instance.__dict__[self._name] = self._compute(instance)
        return value


@dataclass(frozen=True)
class CriterionLine:
    """One item's result: points (None when not applicable or not yet assessed) and why, as coded parts."""

    code: str
    points: float | None
    max: float
    applicable: bool
    source: str
    parts: Reason

    @cached_property
    def reason(self) -> str:
        """The English reason, rendered from the parts (shared.reasons.reason_text) once per line: a scoring round
        asks for it in the published data, in the stored row compared with the previous one and in the row saved."""
        return reason_text(self.parts)

    @cached_property
    def _stored_parts(self) -> tuple[dict[str, Any], ...]:
        """The parts as stored (`[{"code", ...values}]`), dumped once per line (see reason)."""
        return tuple(part_json(part) for part in self.parts)

    def as_dict(self) -> dict[str, Any]:
        """The line as the contract's criteria entry (no parts: score.meeting.updated.v1 fixes its fields)."""
        return {
            "code": self.code,
            "points": self.points,
            "max": self.max,
            "applicable": self.applicable,
            "source": self.source,
            "reason": self.reason,
        }

    def stored_dict(self) -> dict[str, Any]:
        """The line as evaluation stores and serves it: the contract's entry plus its parts as JSON
        (`parts`: [{"code", ...values}])."""
        return self.as_dict() | {"parts": [dict(part) for part in self._stored_parts]}


_PLAIN = frozenset({str, int, float, bool})


def _json_value(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, Enum):
        return value.value
    if kind is tuple or kind is list:
        return [_json_value(item) for item in value]
    return to_jsonable_python(value)  # a datetime, as pydantic writes it (`Z` for UTC)


def part_json(part: ReasonPart) -> dict[str, Any]:
    """`part.model_dump(mode="json", exclude_none=True)`, the same dict (keys in field order), without pydantic's
    per-field `exclude_if` calls: a scoring round dumps every part of every line it stores (issue 12)."""
    return {name: _json_value(value) for name, value in part.__dict__.items() if value is not None}


@dataclass(frozen=True)
class MeetingScore:
    """The score of one meeting and the facts the periods need from it."""

    meeting_id: str
    cell_id: str
    framework_id: str
    framework_version: str
    score: float
    """Unrounded; bands were applied to this value."""
    rating: str
    provisional: bool
    criteria: tuple[CriterionLine, ...]

    def published_data(self) -> dict[str, Any]:
        """The `score.meeting.updated.v1` data, its `score` exact (unrounded, as every evaluation reply's since h514):
        a reader rounds it once where a person reads it (shared.numbers.format_number), as the pages do; a score rounded
        here to cents and again to one decimal read 77,1 for 77.049 where the page reads 77,0."""
        return {
            "meeting_id": self.meeting_id,
            "cell_id": self.cell_id,
            "framework": {"id": self.framework_id, "version": self.framework_version},
            "score": self.score,
            "rating": self.rating,
            "provisional": self.provisional,
            "criteria": [line.as_dict() for line in self.criteria],
        }


@lru_cache(maxsize=256)
def assessed_by(role: str) -> Reason:
    """The reason of points assessed by `role`, built once per role (frozen models; issue 12)."""
    return (ReasonPart(code=ReasonCode.ASSESSED, role=role),)


@lru_cache(maxsize=256)
def not_applicable_to(kind: str) -> Reason:
    """The reason of an item that does not apply to a meeting of `kind`, built once per kind (issue 12)."""
    return (ReasonPart(code=ReasonCode.NOT_APPLICABLE, kind=kind),)


def manual_points(item: Item, assessments: tuple[Assessment, ...]) -> tuple[float | None, Reason]:
    """The winning assessment's points for an item and why: highest role first, then the latest within it."""
    candidates = [assessment for assessment in assessments if item.code in assessment.points]
    if not candidates:
        return None, only(ReasonCode.AWAITING_ASSESSMENT)
    winner = max(candidates, key=lambda a: (ASSESSOR_RANK.get(a.role, -1), a.time, a.ns, a.event_id))
    given = float(winner.points[item.code])
    if given > item.max:
        return item.max, (ReasonPart(code=ReasonCode.ASSESSED_CAPPED, role=winner.role, given=given, max=item.max),)
    return given, assessed_by(winner.role)


def score_meeting(framework: Framework, facts: MeetingFacts) -> MeetingScore:
    """Every item's line, the score over the applicable maximum, the band and the gates."""
    lines: list[CriterionLine] = []
    for item in framework.items:
        source = "manual" if item.manual else "auto"
        if facts.kind not in item.applies_to:
            lines.append(CriterionLine(item.code, None, item.max, False, source, not_applicable_to(facts.kind)))
            continue
        if item.rule.kind == "previous_tasks_on_time" and not facts.previous_tasks:
            if facts.previous_tasks is None:
                parts: Reason = only(ReasonCode.NO_PREVIOUS_MEETING)
            else:
                named = ReasonPart(
                    code=ReasonCode.PREVIOUS_NO_TASKS,
                    previous_id=facts.previous_id,
                    previous_start=facts.previous_start,
                )
                parts = (named, *previous_late(facts))
            lines.append(CriterionLine(item.code, None, item.max, False, source, parts))
            continue
        if item.manual:
            points, parts = manual_points(item, facts.assessments)
        else:
            points, parts = evaluate_automatic(item, facts)
        lines.append(CriterionLine(item.code, points, item.max, True, source, parts))
    applicable = [line for line in lines if line.applicable]
    provisional = any(line.points is None for line in applicable)
    counted = [line for line in applicable if line.source == "auto"] if provisional else applicable
    maximum = sum(line.max for line in counted)
    earned = sum(line.points or 0.0 for line in counted)
    score = 100 * earned / maximum if maximum else 0.0
    results = {line.code: ItemResult(line.points, line.max, line.applicable) for line in lines}
    rating = apply_gates(framework.rating_for(score), framework.gates, results).rating
    return MeetingScore(
        meeting_id=facts.meeting_id,
        cell_id=facts.cell_id,
        framework_id=framework.id,
        framework_version=framework.version,
        score=score,
        rating=rating,
        provisional=provisional,
        criteria=tuple(lines),
    )


RESULTS_CODES = frozenset({ReasonCode.TASKS_ON_TIME, ReasonCode.PREVIOUS_NO_TASKS, ReasonCode.NO_PREVIOUS_MEETING})
"""The codes a `results` line (rule previous_tasks_on_time) opens with, whichever way it reads."""


def results_moved(now: MeetingScore, without: MeetingScore) -> bool:
    """Whether a meeting's `results` line (DOMAIN.md "results": the previous held meeting's tasks) scored `now` has
    other points or applicability than scored `without` a previous meeting recorded late (the previous meeting it
    had before that one was recorded, or none): that meeting's late record changed this meeting's score."""
    lines = [
        next((line for line in score.criteria if line.parts and line.parts[0].code in RESULTS_CODES), None)
        for score in (now, without)
    ]
    first, second = lines
    if first is None or second is None:
        return False
    return (first.points, first.applicable) != (second.points, second.applicable)
