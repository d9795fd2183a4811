"""Local time and periods of the contract, defined once for every service.

Vietnam's clocks read +07:00 all year (no daylight saving): a meeting's date, its month and the
months of a period are all judged in that zone. A period is a month `YYYY-MM`, a quarter `YYYY-Qn`
or a year `YYYY` (CONTRACT.md); its bounds are [start, end) local midnights. Reports also take a half-year
`YYYY-H1` / `YYYY-H2` (DOMAIN.md: committees report every quarter, half-year and year): a report period
(ReportPeriod), never a period of the contract's events.
"""

import json
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated

from pydantic import BeforeValidator, Field

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
"""The local time zone of every rule and of the times the services write (+07:00)."""

PERIOD_PATTERN = r"^[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$"
"""A month `2026-11`, a quarter `2026-Q4` or a year `2026`."""

_PERIOD = re.compile(PERIOD_PATTERN)

REPORT_PERIOD_PATTERN = r"^[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4]|-H[12])?$"
"""A period (PERIOD_PATTERN) or a half-year `2026-H1` (January–June) / `2026-H2` (July–December): what a
committee's report is asked for; the half-year is computed from its two quarters, never published."""

_REPORT_PERIOD = re.compile(REPORT_PERIOD_PATTERN)

HALF_YEAR_PATTERN = r"^[0-9]{4}-H[12]$"
"""A half-year alone, `2026-H1` or `2026-H2` (a cell's half-year read)."""

PERIOD_FORMS = "a month (2026-09), a quarter (2026-Q3) or a year (2026)"
"""The forms a period (PERIOD_PATTERN) takes, as every refusal of one says them."""

REPORT_PERIOD_FORMS = "a month (2026-09), a quarter (2026-Q3), a half-year (2026-H2) or a year (2026)"
"""The forms a report period (REPORT_PERIOD_PATTERN) takes, as every refusal of one says them."""

HALF_YEAR_FORMS = "a half-year (2026-H1 or 2026-H2)"
"""The form a half-year (HALF_YEAR_PATTERN) takes, as its refusal says it."""

PERIOD_FORMS_OF = {
    PERIOD_PATTERN: PERIOD_FORMS,
    REPORT_PERIOD_PATTERN: REPORT_PERIOD_FORMS,
    HALF_YEAR_PATTERN: HALF_YEAR_FORMS,
}
"""The accepted forms of each period pattern a field may carry: a refusal by one says these, never the regex."""


def period_expected(value: object, forms: str = REPORT_PERIOD_FORMS) -> str:
    """What a refusal of a period field says after its name (`period_from: ...`): the accepted `forms` and the value
    sent (cut to 40 characters), e.g. "expected a month (2026-09), ... or a year (2026), not '2026-13'"; a value sent
    as no text (a JSON number 2026, a list) is said as JSON: "... or a year (2026) as text, not 2026"."""
    if not isinstance(value, str):
        return f"expected {forms} as text, not {json.dumps(value, ensure_ascii=False, default=str)[:40]}"
    return f"expected {forms}, not {str(value)[:40]!r}"


def _text_only(forms: str) -> BeforeValidator:
    """A validator refusing a period field's value that is no text (period_expected with `forms`), before pydantic's
    own "Input should be a valid string", which names no form (trial 36: `"period_from": 2026`)."""

    def check(value: object) -> object:
        if value is not None and not isinstance(value, str):
            raise ValueError(period_expected(value, forms))
        return value

    return BeforeValidator(check)


Period = Annotated[
    str, Field(pattern=PERIOD_PATTERN, examples=["2026-11", "2026-Q4", "2026"]), _text_only(PERIOD_FORMS)
]
"""The period as a pydantic field type: a value of another shape, or no text, fails validation naming the field."""

ReportPeriod = Annotated[
    str,
    Field(pattern=REPORT_PERIOD_PATTERN, examples=["2026-11", "2026-Q4", "2026-H2", "2026"]),
    _text_only(REPORT_PERIOD_FORMS),
]
"""A report period as a pydantic field type: a value of another shape, or no text, fails validation naming the
field."""

HalfYear = Annotated[
    str, Field(pattern=HALF_YEAR_PATTERN, examples=["2026-H1", "2026-H2"]), _text_only(HALF_YEAR_FORMS)
]
"""A half-year alone as a pydantic field type (a cell's half-year read): a value of another shape, or no text, fails
validation naming the field and HALF_YEAR_FORMS, as Period and ReportPeriod say theirs."""


def is_report_period(text: object) -> bool:
    """Whether `text` is a report period: a period (is_period) or a half-year `YYYY-H1`/`YYYY-H2`."""
    return isinstance(text, str) and _REPORT_PERIOD.fullmatch(text) is not None


def is_half_year(period: str) -> bool:
    """Whether `period` is a half-year `YYYY-H1`/`YYYY-H2` (a report period that is not a contract period)."""
    return is_report_period(period) and "-H" in period


def half_quarters(period: str) -> list[str]:
    """The two quarters of a half-year (`2026-H2` → 2026-Q3, 2026-Q4); ValueError for anything else."""
    if not is_half_year(period):
        raise ValueError(period_expected(period, HALF_YEAR_FORMS))
    first = 2 * int(period[-1]) - 1
    return [f"{period[:4]}-Q{first}", f"{period[:4]}-Q{first + 1}"]


def is_period(text: object) -> bool:
    """Whether `text` is a period string (`YYYY-MM`, `YYYY-Qn` or `YYYY`)."""
    return isinstance(text, str) and _PERIOD.fullmatch(text) is not None


def check_period(text: str) -> str:
    """The period itself; ValueError naming the accepted shapes when it is none."""
    if not is_period(text):
        raise ValueError(period_expected(text, PERIOD_FORMS))
    return text


def local(moment: datetime) -> datetime:
    """The moment on Vietnam's clock (+07:00)."""
    return moment.astimezone(VIETNAM_TZ)


def said_at(moment: datetime, *, like: datetime | None = None) -> str:
    """`moment` as RFC 3339 text at the UTC offset of `like` (the moment the caller sent, so that one refusal names
    every moment in the caller's offset), or on Vietnam's clock (+07:00, DOMAIN.md) without one: a stored moment
    reads +00:00 from PostgreSQL, and a refusal naming it beside the caller's +07:00 read as two clocks."""
    offset = like.utcoffset() if like is not None else None
    return moment.astimezone(timezone(offset) if offset is not None else VIETNAM_TZ).isoformat()


def local_date(moment: datetime) -> date:
    """The calendar date of a moment in Vietnam."""
    return local(moment).date()


def local_midnight(day: date) -> datetime:
    """00:00 in Vietnam at the start of `day` (an aware datetime)."""
    return datetime.combine(day, time.min, tzinfo=VIETNAM_TZ)


def at_local_hour(day: date, hour: int) -> datetime:
    """`hour`:00 in Vietnam on `day`."""
    return datetime.combine(day, time(hour, 0), tzinfo=VIETNAM_TZ)


def month_of(moment: datetime) -> str:
    """The local month of a moment, `YYYY-MM`."""
    value = local(moment)
    return f"{value.year:04d}-{value.month:02d}"


def quarter_of(moment: datetime) -> str:
    """The local quarter of a moment, `YYYY-Qn`."""
    value = local(moment)
    return f"{value.year:04d}-Q{(value.month - 1) // 3 + 1}"


def month_start(year: int, month: int) -> datetime:
    """The first instant of a local month."""
    return local_midnight(date(year, month, 1))


def next_month(year: int, month: int) -> tuple[int, int]:
    """The (year, month) after the given one."""
    return (year + 1, 1) if month == 12 else (year, month + 1)


def previous_month(year: int, month: int) -> tuple[int, int]:
    """The (year, month) before the given one."""
    return (year - 1, 12) if month == 1 else (year, month - 1)


def _parts(period: str) -> tuple[int, str, int]:
    """(year, kind "M"|"Q"|"H"|"Y", number) of a valid report period (is_report_period); ValueError otherwise."""
    if not is_report_period(period):
        check_period(period)
    year = int(period[:4])
    if "-Q" in period:
        return year, "Q", int(period[-1])
    if "-H" in period:
        return year, "H", int(period[-1])
    if len(period) == 7:
        return year, "M", int(period[5:7])
    return year, "Y", 0


def period_months(period: str) -> list[str]:
    """The months of a period, in order (`2026-Q4` → 2026-10, 2026-11, 2026-12; a half-year `2026-H1` → 2026-01 to
    2026-06)."""
    year, kind, number = _parts(period)
    if kind == "M":
        return [period]
    size = {"Q": 3, "H": 6, "Y": 12}[kind]
    months = range(size * number - size + 1, size * number + 1) if kind != "Y" else range(1, 13)
    return [f"{year:04d}-{month:02d}" for month in months]


def periods_of_month(month: str) -> list[str]:
    """The month itself, its quarter and its year."""
    year, _, number = _parts(month)
    return [month, f"{year}-Q{(number - 1) // 3 + 1}", str(year)]


def periods_of_year(year: int) -> list[str]:
    """Every period of a year: its twelve months, four quarters and the year itself."""
    return [f"{year}-{month:02d}" for month in range(1, 13)] + [f"{year}-Q{q}" for q in range(1, 5)] + [str(year)]


def previous_period(period: str) -> str:
    """The period just before, of the same length."""
    year, kind, number = _parts(period)
    if kind == "Q":
        return f"{year - 1:04d}-Q4" if number == 1 else f"{year:04d}-Q{number - 1}"
    if kind == "H":
        return f"{year - 1:04d}-H2" if number == 1 else f"{year:04d}-H1"
    if kind == "M":
        before_year, before = previous_month(year, number)
        return f"{before_year:04d}-{before:02d}"
    return f"{year - 1:04d}"


def next_period(period: str) -> str:
    """The period just after, of the same length."""
    year, kind, number = _parts(period)
    if kind == "Q":
        return f"{year + 1:04d}-Q1" if number == 4 else f"{year:04d}-Q{number + 1}"
    if kind == "H":
        return f"{year + 1:04d}-H1" if number == 2 else f"{year:04d}-H2"
    if kind == "M":
        after_year, after = next_month(year, number)
        return f"{after_year:04d}-{after:02d}"
    return f"{year + 1:04d}"


def is_running(period: str, now: datetime) -> bool:
    """Whether the period has not ended at `now` (its end, a local midnight, is still ahead); ValueError when it
    is not a period. A running period is published with the flag `in_progress` (CONTRACT.md)."""
    return now < period_bounds(period)[1]


def has_begun(period: str, now: datetime) -> bool:
    """Whether the period's first month has begun at `now` (Vietnam's month of `now` is that month or later); a
    period not begun holds no meeting yet, so it has no rating at all. Compared as text, so any four-digit year
    (`0000-01`) answers without a date; ValueError when it is not a period."""
    return period_months(period)[0] <= month_of(now)


def awaiting_meeting(period: str, now: datetime) -> bool:
    """Whether a month without its regular meeting is still waiting for it at `now` rather than rated Poor: a month
    is Poor for having no regular meeting only once it has closed (DOMAIN.md "Periods"), judged by the clock, never
    by a stored `in_progress` flag. False for a quarter or a year (their running months are left out until the cell
    meets, by evaluation); ValueError when it is not a period."""
    return len(period) == 7 and period_months(period) == [period] and month_of(now) <= period


def period_contains(outer: str, inner: str) -> bool:
    """Whether period `inner` lies within `outer` (`2026-11` within `2026-Q4` and `2026`)."""
    return set(period_months(inner)) <= set(period_months(outer))


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` inclusive (both `YYYY-MM`)."""
    months, month = [], first
    while month <= last:
        months.append(month)
        month = next_period(month)
    return months


def span_problem(first: str | None, last: str | None, now: datetime) -> tuple[str, str] | None:
    """What is wrong with a span of periods `first`..`last` (either open) asked of history at `now`: (field, reason)
    for a span that ends before it begins (`period_to`) or begins after the running month (`period_from`, nothing
    of it has happened); None when it is a span of history. Both are periods (check_period)."""
    if first is not None and last is not None and period_months(last)[-1] < period_months(first)[0]:
        return "period_to", f"period_to: {last} ends before period_from {first} begins"
    # compared as text, as has_begun: the bounds of `9999-12` would need year 10000, which Python has not
    if first is not None and not has_begun(first, now):
        return "period_from", f"period_from: {first} has not begun yet, so it holds no history to re-score"
    return None


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a period in Vietnam time; ValueError when it is not a period."""
    months = period_months(period)
    first_year, first_month = (int(part) for part in months[0].split("-"))
    last_year, last_month = (int(part) for part in months[-1].split("-"))
    return month_start(first_year, first_month), month_start(*next_month(last_year, last_month))


def period_due(period: str, *, grace_days: int) -> datetime:
    """When a period's rating is final enough to judge, and the alerts on it are decided (notifications'
    period_rated_low check, planned then; the committee page says it ahead): its end (local midnight after its last
    day) plus `grace_days` days, a grace for minutes sent late."""
    return period_bounds(period)[1] + timedelta(days=grace_days)


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def quarter_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the local quarter holding `moment`."""
    return period_bounds(quarter_of(moment))


def vietnam_day(column: str) -> str:
    """The SQL expression (str) of the calendar day in Vietnam (a `date`) of a timestamptz `column` (a SQL name): the
    one definition of the days a late change's `changes` counts (evaluation's LATE_CHANGES, MOVES_NET; DOMAIN.md
    "Quality evaluation": a period is Vietnam's calendar)."""
    return f"({column} AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"


def vietnam_month(column: str) -> str:
    """The SQL expression (str) of the month in Vietnam (text `YYYY-MM`, as a period names it) of a timestamptz
    `column` (a SQL name): the one definition of the month a meeting's start falls in where evaluation's queries
    match it to a period (LATE_CHANGES, WITHDRAWN_MEETINGS) and meetings counts a member's months of unexcused
    absence (_ATTENDANCE_NEWS_SQL; DOMAIN.md "Quality evaluation": Vietnam's calendar)."""
    return f"to_char({column} AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM')"
