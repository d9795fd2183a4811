"""The named alert rules, their default thresholds (DOMAIN.md) and per-subtree overrides."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared import alert_rules

MEETING_SCHEDULED = "meeting_scheduled"
MEETING_RESCHEDULED = "meeting_rescheduled"
MEETING_CANCELLED = "meeting_cancelled"
MEETING_CANCEL_UPDATED = "meeting_cancel_updated"
"""Not a rule of its own (it follows meeting_cancelled): the follow-up mail when a later cancellation changes the
reason of one already mailed."""
ABSENCE_CORRECTED = "absence_corrected"
"""Not a rule of its own (it follows unexcused_absence): the correction mail when a corrected roster no longer has an
unexcused absence whose alert already went out."""
CROSSING_CORRECTED = "absence_crossing_corrected"
"""Not a rule of its own (it follows consecutive_absences and unexcused_months): the correction mail when corrected
attendance figures no longer put a member past the threshold an alert already mailed told of."""
DOCUMENTS_MISSING = "documents_missing"
MEETING_REMINDER = "meeting_reminder"
MINUTES_LATE = "minutes_late"
MINUTES_LATE_SUPERIOR = "minutes_late_superior"
NO_REGULAR_MEETING = "no_regular_meeting"
MONTH_WITHOUT_MEETING = "month_without_meeting"
QUARTER_WITHOUT_THEMATIC = "quarter_without_thematic"
UNEXCUSED_ABSENCE = "unexcused_absence"
CONSECUTIVE_ABSENCES = "consecutive_absences"
UNEXCUSED_MONTHS = "unexcused_months"
MEETING_RATED_LOW = "meeting_rated_low"
PERIOD_RATED_LOW = alert_rules.PERIOD_RATED_LOW
PROBATION_ENDING = "probation_ending"
CELL_WITHOUT_COMMITTEE = "cell_without_committee"
MONITOR_BEHIND_QUOTA = "monitor_behind_quota"
DAILY_DIGEST = "daily_digest"
VOID_WHEN_CANCELLED = (MINUTES_LATE, MINUTES_LATE_SUPERIOR)
"""Rules whose alerts lose their point once their meeting is cancelled (it needs no minutes): the inbox no longer
shows them and no digest still to come carries them."""

VOID_SHOWN_WHEN_CANCELLED = (UNEXCUSED_ABSENCE, MEETING_RATED_LOW)
"""Rules whose alerts about a meeting no longer hold once it is cancelled after they were raised (it was not held: no
absence on its roster counts, its score is withdrawn): the inbox keeps them, marked void, and no digest still to come
carries them; no mail is sent about it."""

RETRACTED_WHEN_CANCELLED = (*VOID_WHEN_CANCELLED, MEETING_RATED_LOW, DOCUMENTS_MISSING, MEETING_REMINDER)
"""Rules whose alerts are about a meeting (their subject) and lose their ground once it is cancelled: with its
unexcused absences (by their period) they are retracted then (PgOutgoing.void_for_cancelled), their mails not yet
sent cancelled; its own notices (scheduled, moved, cancelled) are not among them: members must hear of the
cancellation."""

DEFAULTS: dict[str, dict[str, Any]] = {
    MEETING_SCHEDULED: {},
    MEETING_RESCHEDULED: {},
    MEETING_CANCELLED: {},
    DOCUMENTS_MISSING: {"hours_before": 24},
    MEETING_REMINDER: {"hours_before": 3},
    MINUTES_LATE: {"days_after": 2},
    MINUTES_LATE_SUPERIOR: {"more_days": 3},
    NO_REGULAR_MEETING: {"day_of_month": 25},
    MONTH_WITHOUT_MEETING: {},
    QUARTER_WITHOUT_THEMATIC: {"day_of_last_month": 1},
    UNEXCUSED_ABSENCE: {},
    CONSECUTIVE_ABSENCES: {"more_than": 3},
    UNEXCUSED_MONTHS: {"at_least": 3},
    MEETING_RATED_LOW: {"ratings": ["average", "poor"], "include_provisional": False, "settle_minutes": 30},
    PERIOD_RATED_LOW: {"ratings": ["average", "poor"], "grace_days": 3, "settle_minutes": 30},
    PROBATION_ENDING: {"days_before": 30},
    CELL_WITHOUT_COMMITTEE: {"official_members_at_least": 9},
    MONITOR_BEHIND_QUOTA: {},
}
"""Every rule and its defaults; a committee overrides any of them for its whole subtree."""

RULES = tuple(DEFAULTS)
FOLLOW_UP_RULES = (MEETING_CANCEL_UPDATED, ABSENCE_CORRECTED, CROSSING_CORRECTED)
"""Texts sent after a rule's notice to correct it, enabled with the rule they follow; mailed as that notice was, or
in the digest that follows one a digest listed (DIGESTED_CORRECTIONS)."""
DIGESTED_CORRECTIONS = (MEETING_CANCEL_UPDATED, ABSENCE_CORRECTED, CROSSING_CORRECTED)
"""Corrections (a cancellation's new reason among them) a recipient whose daily digest listed the corrected notice
reads in their next digest."""


@dataclass(frozen=True)
class RuleOverride:
    """What one unit set for one rule: enabled or not, and some parameters."""

    unit_id: str
    rule: str
    enabled: bool | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleConfig:
    """The effective settings of every rule for one cell."""

    enabled: Mapping[str, bool]
    params: Mapping[str, Mapping[str, Any]]

    def is_enabled(self, rule: str) -> bool:
        """Whether the rule fires at all for this cell."""
        return self.enabled.get(rule, True)

    def param(self, rule: str, name: str) -> Any:
        """One parameter of a rule."""
        return self.params[rule][name]


class UnknownSetting(ValueError):
    """A rule or parameter name that does not exist."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


PARAM_BOUNDS: dict[str, tuple[int, int]] = {
    "hours_before": (1, 168),
    "days_after": (1, 120),
    "more_days": (1, 120),
    "day_of_month": (1, 28),
    "day_of_last_month": (1, 28),
    "more_than": (1, 20),
    "at_least": (1, 12),
    "grace_days": (0, 30),
    "settle_minutes": (0, 1440),
    "days_before": (1, 180),
    "official_members_at_least": (3, 100),
}
"""The sensible range of each whole-number parameter, both ends included: lead times up to a week, days of the month
that every month has (1–28), counts of meetings or months in a year, a meeting score's settle period up to a day (0:
judged as soon as the check runs); a committee's setting outside it is refused."""

PARAM_CHOICES: dict[str, tuple[str, ...]] = {"ratings": ("average", "poor")}
"""The values a list parameter may hold (the low ratings DOMAIN.md alerts on: Average, Poor)."""


def validate_override(rule: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check a rule name, its parameter names, kinds and ranges (`PARAM_BOUNDS`, `PARAM_CHOICES`); return the cleaned
    parameters, a None value kept (it gives the parameter back to the committees above). UnknownSetting names the
    field (`rule`, `params.NAME`)."""
    if rule not in DEFAULTS:
        raise UnknownSetting(f"unknown rule {rule!r}", field="rule")
    cleaned: dict[str, Any] = {}
    for name, value in params.items():
        field = f"params.{name}"
        if name not in DEFAULTS[rule]:
            raise UnknownSetting(f"rule {rule} has no parameter {name!r}", field=field)
        if value is None:
            cleaned[name] = None
            continue
        default = DEFAULTS[rule][name]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise UnknownSetting(f"{field}: must be true or false", field=field)
        elif isinstance(default, int):
            # strictly a JSON integer: 25.0 is refused like "25" (a trial's day_of_month 25.0 was taken as 25)
            if not isinstance(value, int) or isinstance(value, bool):
                raise UnknownSetting(f"{field}: must be a whole number", field=field)
            low, high = PARAM_BOUNDS.get(name, (0, 10_000))
            if not low <= value <= high:
                raise UnknownSetting(f"{field}: must be between {low} and {high}, got {value}", field=field)
        else:
            choices = PARAM_CHOICES.get(name, ())
            if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
                raise UnknownSetting(f"{field}: must be a non-empty list of {', '.join(choices)}", field=field)
            wrong = [item for item in value if choices and item not in choices]
            if wrong:
                raise UnknownSetting(f"{field}: {wrong[0]!r} is not one of {', '.join(choices)}", field=field)
            twice = [item for index, item in enumerate(value) if item in value[:index]]
            if twice:
                raise UnknownSetting(f"{field}: {twice[0]!r} is given more than once", field=field)
            value = [item for item in choices if item in value] if choices else list(dict.fromkeys(value))
        cleaned[name] = value
    return cleaned


def param_limits(rule: str) -> dict[str, dict[str, Any]]:
    """What each parameter of a rule may be, for a form to say: {"min", "max"} for whole numbers, {"choices"} for
    lists, {} for true/false."""
    limits: dict[str, dict[str, Any]] = {}
    for name, default in DEFAULTS[rule].items():
        if isinstance(default, bool):
            limits[name] = {}
        elif isinstance(default, int):
            low, high = PARAM_BOUNDS.get(name, (0, 10_000))
            limits[name] = {"min": low, "max": high}
        else:
            limits[name] = {"choices": list(PARAM_CHOICES.get(name, ()))}
    return limits


def merge_override(previous: RuleOverride | None, new: RuleOverride, *, reset_enabled: bool = False) -> RuleOverride:
    """A unit's setting of a rule after a change: what it set before, the change's `enabled` when given (none at all
    with `reset_enabled`: on or off is given back to the units above) and its parameters over the previous ones (a
    None parameter dropped: the unit no longer sets it)."""
    enabled = new.enabled if new.enabled is not None else (previous.enabled if previous else None)
    if reset_enabled:
        enabled = None
    params = dict(previous.params) if previous else {}
    for name, value in new.params.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return RuleOverride(unit_id=new.unit_id, rule=new.rule, enabled=enabled, params=params)


def resolve_sources(ancestors: list[str], overrides: Iterable[RuleOverride]) -> dict[str, dict[str, Any]]:
    """Which unit set each value `resolve_config` gives the last of `ancestors`: rule → {"enabled": unit id or None,
    "params": {name: unit id or None}}, None where the default holds (the nearest setting wins, as there)."""
    by_unit: dict[str, list[RuleOverride]] = {}
    for override in overrides:
        by_unit.setdefault(override.unit_id, []).append(override)
    sources: dict[str, dict[str, Any]] = {
        rule: {"enabled": None, "params": dict.fromkeys(values)} for rule, values in DEFAULTS.items()
    }
    for unit_id in ancestors:
        for override in by_unit.get(unit_id, []):
            if override.rule not in DEFAULTS:
                continue
            if override.enabled is not None:
                sources[override.rule]["enabled"] = unit_id
            for key in override.params:
                if key in DEFAULTS[override.rule]:
                    sources[override.rule]["params"][key] = unit_id
    return sources


def resolve_config(ancestors: list[str], overrides: Iterable[RuleOverride]) -> RuleConfig:
    """Defaults, then each ancestor's overrides from the root down to the cell (nearest wins)."""
    by_unit: dict[str, list[RuleOverride]] = {}
    for override in overrides:
        by_unit.setdefault(override.unit_id, []).append(override)
    params = {rule: dict(values) for rule, values in DEFAULTS.items()}
    enabled = {rule: True for rule in DEFAULTS}
    for unit_id in ancestors:
        for override in by_unit.get(unit_id, []):
            if override.rule not in DEFAULTS:
                continue
            if override.enabled is not None:
                enabled[override.rule] = override.enabled
            params[override.rule].update(
                {key: value for key, value in override.params.items() if key in DEFAULTS[override.rule]}
            )
    return RuleConfig(enabled=enabled, params=params)


DEFAULT_CONFIG = resolve_config([], [])
