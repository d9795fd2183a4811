"""The named alert rules, their default thresholds (DOMAIN.md) and per-subtree overrides."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MEETING_SCHEDULED = "meeting_scheduled"
MEETING_RESCHEDULED = "meeting_rescheduled"
MEETING_CANCELLED = "meeting_cancelled"
MEETING_CANCEL_UPDATED = "meeting_cancel_updated"
"""Not a rule of its own (it follows meeting_cancelled): the follow-up mail when a later cancellation changes the
reason of one already mailed."""
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
PERIOD_RATED_LOW = "period_rated_low"
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
    MEETING_RATED_LOW: {"ratings": ["average", "poor"], "include_provisional": False},
    PERIOD_RATED_LOW: {"ratings": ["average", "poor"], "grace_days": 3},
    PROBATION_ENDING: {"days_before": 30},
    CELL_WITHOUT_COMMITTEE: {"official_members_at_least": 9},
    MONITOR_BEHIND_QUOTA: {},
}
"""Every rule and its defaults; a committee overrides any of them for its whole subtree."""

RULES = tuple(DEFAULTS)
FOLLOW_UP_RULES = (MEETING_CANCEL_UPDATED,)
"""Texts sent after a rule's notice to correct it, never digested; enabled with the rule they follow."""


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


def validate_override(rule: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check a rule name and its parameter names and kinds; return the cleaned parameters."""
    if rule not in DEFAULTS:
        raise UnknownSetting(f"unknown rule {rule!r}", field="rule")
    cleaned: dict[str, Any] = {}
    for name, value in params.items():
        if name not in DEFAULTS[rule]:
            raise UnknownSetting(f"rule {rule} has no parameter {name!r}", field=f"params.{name}")
        default = DEFAULTS[rule][name]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        else:
            ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        if not ok:
            raise UnknownSetting(f"parameter {name!r} of {rule} has the wrong kind of value", field=f"params.{name}")
        cleaned[name] = value
    return cleaned


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
