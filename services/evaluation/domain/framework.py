"""Criteria frameworks as data: the document schema, validated on load with errors naming the field."""

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.contracts.base import read_null_as_absent
from shared.contracts.frameworks import in_force
from shared.gates import band_of
from shared.text import require_text

MeetingKindName = Literal["regular", "thematic", "combined", "extraordinary"]
Named = Annotated[str, AfterValidator(require_text)]
"""A framework's, criterion's or item's name: some visible text (shared.text.has_text: a name of spaces or zero-width
characters alone is refused, FrameworkError naming `name`, `groups.0.name`...)."""
ALL_MEETING_KINDS: tuple[MeetingKindName, ...] = ("regular", "thematic", "combined", "extraordinary")
RatingName = Literal["good", "fair", "average", "poor"]
RATING_ORDER: tuple[RatingName, ...] = ("poor", "average", "fair", "good")


class FrameworkError(Exception):
    """A framework document that cannot be used, with the path of the offending field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Read null as absent in a framework document too (`"gates": null` is no gate, `"strict": null` the
        default), as in events and API bodies."""
        super().__pydantic_init_subclass__(**kwargs)
        read_null_as_absent(cls)


class Threshold(_Strict):
    """A step of a banded rule: `points` when the value is at least (or above, if strict) `min`."""

    min: float
    strict: bool = False
    points: float = Field(ge=0)

    def reached(self, value: float) -> bool:
        """Whether the value clears this step."""
        return value > self.min if self.strict else value >= self.min


class ManualRule(_Strict):
    kind: Literal["manual"]


class DurationRule(_Strict):
    """Points by how far the minutes' duration falls short of the required minutes."""

    kind: Literal["duration"]
    required_minutes: dict[str, Annotated[int, Field(gt=0)]]
    shortfall_steps: list[tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]]]
    """(at most this many minutes short, points), in increasing shortfall."""
    half_points: float = Field(ge=0)
    below_half_points: float = Field(ge=0)

    @model_validator(mode="after")
    def _has_default(self) -> "DurationRule":
        if "default" not in self.required_minutes:
            raise ValueError("required_minutes needs a 'default' entry")
        return self


class AttendanceRule(_Strict):
    """Banded attendance rate, capped when anyone is absent without excuse, with a run bonus."""

    kind: Literal["attendance"]
    bands: list[Threshold]
    below_points: float = Field(ge=0)
    unexcused_points: float | None = Field(default=None, ge=0)
    """Points (before the bonus) when any member is absent without excuse."""
    excused_run_bonus: float = Field(default=0, ge=0)
    max_excused_run: int = Field(default=3, ge=0)


class AttendanceCheckRule(_Strict):
    """Pass/fail: rate over a minimum, optionally no unexcused absence and no long absence run."""

    kind: Literal["attendance_check"]
    min_rate: float = Field(ge=0, le=1)
    strict: bool = True
    no_unexcused: bool = True
    max_absence_run: int | None = Field(default=None, ge=0)


class DocumentTimingRule(_Strict):
    """Full points when a document of the given kinds was published early enough before the start."""

    kind: Literal["document_before_start"]
    document_kinds: list[Literal["content", "draft_resolution", "minutes", "resolution", "other"]]
    lead_hours: float = Field(default=0, ge=0)
    strict: bool = True
    """True: published strictly before start − lead; False: at or before it."""


class CommitteePreparedRule(_Strict):
    kind: Literal["committee_prepared"]


class NotifiedRule(_Strict):
    kind: Literal["notified_before_start"]


class SpeakersRule(_Strict):
    """Banded share of present members who spoke."""

    kind: Literal["speakers_share"]
    bands: list[Threshold]
    below_points: float = Field(ge=0)


class MinutesCompleteRule(_Strict):
    kind: Literal["minutes_complete"]


class SelfCriticismRule(_Strict):
    kind: Literal["self_criticism_minutes"]
    min_minutes: int = Field(ge=0)
    max_minutes: int = Field(ge=0)


class ResultsRule(_Strict):
    """Banded share of the previous held regular/combined meeting's tasks done on time."""

    kind: Literal["previous_tasks_on_time"]
    bands: list[Threshold]
    below_points: float = Field(ge=0)


class ResolutionAdoptedRule(_Strict):
    kind: Literal["resolution_adopted"]
    count_abstentions: bool = True
    """Whether abstentions count among the votes cast."""


class MinutesAndTasksRule(_Strict):
    kind: Literal["minutes_approved_and_tasks"]


class FinalDocumentsRule(_Strict):
    kind: Literal["final_documents"]
    within_hours: float = Field(gt=0)
    document_kinds: list[Literal["minutes", "resolution"]]


Rule = Annotated[
    ManualRule
    | DurationRule
    | AttendanceRule
    | AttendanceCheckRule
    | DocumentTimingRule
    | CommitteePreparedRule
    | NotifiedRule
    | SpeakersRule
    | MinutesCompleteRule
    | SelfCriticismRule
    | ResultsRule
    | ResolutionAdoptedRule
    | MinutesAndTasksRule
    | FinalDocumentsRule,
    Field(discriminator="kind"),
]


class Item(_Strict):
    """One scored item: its public code, maximum points, rule and the meeting kinds it applies to."""

    code: Annotated[str, Field(pattern=r"^[a-z_]+(\.[a-z_]+)*$")]
    name: Named
    max: float = Field(gt=0)
    rule: Rule
    applies_to: list[MeetingKindName] = Field(default_factory=lambda: list(ALL_MEETING_KINDS))

    @property
    def manual(self) -> bool:
        """Scored by people rather than from recorded data."""
        return self.rule.kind == "manual"

    @model_validator(mode="after")
    def _points_within_max(self) -> "Item":
        rule = self.rule
        candidates: list[float] = []
        for attr in ("bands",):
            candidates += [step.points for step in getattr(rule, attr, [])]
        for attr in ("below_points", "half_points", "below_half_points", "unexcused_points"):
            value = getattr(rule, attr, None)
            if value is not None:
                candidates.append(value)
        candidates += [points for _, points in getattr(rule, "shortfall_steps", [])]
        bonus = getattr(rule, "excused_run_bonus", 0)
        too_big = [value for value in candidates if value + bonus > self.max + 1e-9]
        if too_big:
            raise ValueError(f"rule gives {max(too_big) + bonus} points, above the item's max {self.max}")
        return self


class Group(_Strict):
    """A criterion: a named group of items."""

    code: str
    name: Named
    items: list[Item] = Field(min_length=1)


class Band(_Strict):
    rating: RatingName
    min: float = Field(ge=0, le=100)


class Gate(_Strict):
    """A rating that needs full points on some items, else drops to another rating."""

    rating: RatingName
    items: list[str]
    demote_to: RatingName


class PeriodTier(_Strict):
    """A period rating reached when every condition holds (first matching tier wins)."""

    rating: RatingName
    all_at_least: RatingName | None = None
    count_at_least: tuple[RatingName, int] | None = None
    max_poor: int | None = None


class PeriodRule(_Strict):
    requires_thematic: bool = False
    tiers: list[PeriodTier]


class PeriodRules(_Strict):
    quarter: PeriodRule
    year: PeriodRule


class Framework(_Strict):
    """A versioned criteria framework: issuer, document, effective date, groups, bands, gates, periods."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
    version: Annotated[str, Field(min_length=1, max_length=32)]
    name: Named
    issuer: str
    document_number: str
    document_date: date
    effective_from: date
    scoring: Literal["points", "pass_fail"] = "points"
    groups: list[Group] = Field(min_length=1)
    bands: list[Band] = Field(min_length=1)
    gates: list[Gate] = Field(default_factory=list)
    period_rules: PeriodRules

    @model_validator(mode="after")
    def _consistent(self) -> "Framework":
        codes = [item.code for group in self.groups for item in group.items]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"item codes must be unique, repeated: {', '.join(duplicates)}")
        for gate in self.gates:
            unknown = [code for code in gate.items if code not in codes]
            if unknown:
                raise ValueError(f"gate names unknown items: {', '.join(unknown)}")
        if not any(band.min == 0 for band in self.bands):
            raise ValueError("bands must cover 0 (one band with min 0)")
        return self

    @property
    def items(self) -> list[Item]:
        """Every item, in document order."""
        return [item for group in self.groups for item in group.items]

    @property
    def max_points(self) -> float:
        """The sum of every item's maximum."""
        return sum(item.max for item in self.items)

    def rating_for(self, score: float) -> RatingName:
        """The band of an unrounded score (shared.gates.band_of)."""
        return cast(RatingName, band_of(((band.rating, band.min) for band in self.bands), score))


def parse_framework(document: Any) -> Framework:
    """Validate a framework document; FrameworkError names the first wrong field."""
    try:
        return Framework.model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        location = ".".join(str(part) for part in first.get("loc", ()))
        raise FrameworkError(first.get("msg", "invalid"), field=location or None) from exc


def load_framework_file(path: Path) -> Framework:
    """Read and validate one framework JSON file; errors name the file and the field."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise FrameworkError(f"{path.name} is not valid JSON: {exc}") from exc
    try:
        return parse_framework(document)
    except FrameworkError as exc:
        raise FrameworkError(f"{path.name}: {exc.message}", field=exc.field) from exc


class Adoption(BaseModel):
    """A framework put in force from a date, for a committee's subtree or (committee None) by default."""

    model_config = ConfigDict(frozen=True)

    committee_id: str | None
    framework_id: str
    version: str
    effective_from: date
    sequence: int = 0
    """Order of adoption: a later adoption with the same date wins."""


def choose_framework(*, on: date, ancestors: list[str], adoptions: list[Adoption]) -> Adoption | None:
    """The framework in force on a date: the nearest committee's, else the default by date.

    `ancestors` lists the committees above the cell, nearest first. Before any default's date the
    earliest default applies, so even very old meetings get a score. The rule is the contract's
    (`shared.contracts.frameworks.in_force`), which meetings applies too when it judges assessments.
    """
    return in_force(on, ancestors=ancestors, adoptions=adoptions)
