"""The periods a page offers and reads: months, quarters, half-years (a committee's report) and years in Vietnam's
time."""

import re
from datetime import datetime

from services.gateway.web.core import BadPeriod, PeriodNotBegun
from shared.envelope import VIETNAM_TZ
from shared.periods import REPORT_PERIOD_PATTERN, has_begun, is_running, period_months, previous_month
from shared.plausible import latest_rated_month, period_range_problem
from shared.text import is_ascii_number

PERIOD = re.compile(r"^[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$")
"""A month, a quarter or a year (the contract's periods)."""
REPORT_PERIOD = re.compile(REPORT_PERIOD_PATTERN)
"""A period or a half-year `2026-H1` (shared.periods.REPORT_PERIOD_PATTERN): what a committee's page and report read."""


def this_month() -> str:
    """The month in progress, `2026-11`."""
    return datetime.now(VIETNAM_TZ).strftime("%Y-%m")


def last_closed_month() -> str:
    """The month last ended, `2026-11` on 1 December (Vietnam time)."""
    current = this_month()
    year, month = previous_month(int(current[:4]), int(current[5:]))
    return f"{year:04d}-{month:02d}"


def checked(period: str | None) -> str:
    """The period asked for (a month, quarter, half-year or year), or the month last ended (a committee's page and
    report open on final figures: early in a month every cell that has not met yet reads Kém for it); BadPeriod naming
    a malformed one or one outside
    2000-01 to two years ahead (shared.plausible.period_range_problem, as the API's reads.readable_period),
    PeriodNotBegun for one not begun yet (shared.periods.has_begun); both say the latest period there is, this
    month in Vietnam's time (latest_rated_month, as the API's message names it)."""
    if not period:
        return last_closed_month()
    if not REPORT_PERIOD.fullmatch(period):
        raise BadPeriod(period)
    now = datetime.now(VIETNAM_TZ)
    if period_range_problem(period, now=now) is not None:
        raise BadPeriod(period, latest=latest_rated_month(now))
    if not has_begun(period, now):
        raise PeriodNotBegun(period)
    return period


def period_asked(period: str | None) -> tuple[str, bool]:
    """checked's period and whether it has not begun yet (PeriodNotBegun caught): a committee's report raises that
    only once the committee is authorized, with the way to its page (as its 404 of a period before the data gives)."""
    try:
        return checked(period), False
    except PeriodNotBegun as exc:
        return exc.period, True


def checked_year(year: str | None) -> str:
    """The year asked for, or this year; BadPeriod naming anything else, or a year outside 2000 to two years ahead,
    and PeriodNotBegun for a year not begun yet: a `?year=` answers as a `?period=` of the same year does on the
    committee's pages and the API (422 "Chưa đến kỳ" for next year, never a 404 on one page and a 422 on another)."""
    if not year:
        return this_month()[:4]
    if not (len(year) == 4 and is_ascii_number(year)):
        raise BadPeriod(year, year=True)
    return checked(year)


def year_asked(year: str | None) -> tuple[str, bool]:
    """checked_year's year and whether it has not begun yet (PeriodNotBegun caught): a cell's page raises that only
    once it knows the latest year it has, to give the 422 page the way there (core.year_not_begun)."""
    try:
        return checked_year(year), False
    except PeriodNotBegun as exc:
        return exc.period, True


EVIDENCE_PERIOD = re.compile(r"^[0-9]{4}(-H[12])?$")
"""What a cell's evidence reads: a year `2026` or a half-year `2026-H1` (committees review by half-year too)."""


def evidence_period_asked(year: str | None, period: str | None) -> tuple[str, bool]:
    """The period a cell's evidence reads and whether it has not begun yet: `period` (`?period=`, as the committee's
    half-year pages spell it) when given, a year or a half-year (period_asked's checks), else `year` (year_asked);
    BadPeriod(evidence=True) naming a `period` of any other shape (a month, a quarter: the grading reads neither)."""
    if not period:
        return year_asked(year)
    if not EVIDENCE_PERIOD.fullmatch(period):
        raise BadPeriod(period, evidence=True)
    return period_asked(period)


def evidence_choices(years: list[str], *, first_month: str | None, last_month: str | None) -> list[str]:
    """The periods a cell's evidence offers (its period picker), latest first: the half-years begun of the cell's
    `years` (half_years) that overlap its span (`first_month` to `last_month`, None: open), then the years."""
    halves = half_years(years, current=this_month(), first_month=first_month)
    return [half for half in halves if last_month is None or period_months(half)[0] <= last_month] + years


def cell_years(first_month: str | None, last_month: str | None) -> list[str]:
    """The years a cell's page offers, latest first: those it existed in (from its first month's year through its
    last month's, or this year while it exists), never after this year; without a known first month, this year and
    the two before (evaluation has no span for it yet, or does not answer)."""
    current = int(this_month()[:4])
    if first_month is None:
        return [str(current - offset) for offset in range(3)]
    last = min(current, int(last_month[:4]) if last_month else current)
    first = min(int(first_month[:4]), last)
    return [str(year) for year in range(last, first - 1, -1)]


def offered_years(span: list[str], meeting_years: set[str]) -> list[str]:
    """The years a cell's page offers, latest first: its span (cell_years) and every year it has a meeting in, never
    after this year in Vietnam's time (a meeting next January is listed among the meetings ahead, and next year has
    no rating yet: a trial in December was offered an empty 2027)."""
    current = this_month()[:4]
    return sorted({year for year in (*span, *meeting_years) if year <= current} | {span[0]}, reverse=True)


def last_month_of(period: str) -> tuple[int, int]:
    """(year, month) of the period's last month (a half-year's too)."""
    year = int(period[:4])
    if len(period) == 4:
        return year, 12
    if period[5] == "Q":
        return year, int(period[6]) * 3
    if period[5] == "H":
        return year, int(period[6]) * 6
    return year, int(period[5:7])


def ends_before(period: str, first_month: str | None) -> bool:
    """True when the period's last month (a half-year's too) comes before `first_month` (`YYYY-MM`, a unit's first
    month of data): a period asked for before the unit's data, whose page is the 404 naming the span. False without a
    first month, and for a period reaching into the span, even while its roll-up is not there yet (a trial's page for
    2026-H1 said "no data … this unit has data from 1/2026 to 12/2026": the first month was read after the roll-up
    answered, as the committee's facts arrived)."""
    if first_month is None:
        return False
    year, month = last_month_of(period)
    return f"{year:04d}-{month:02d}" < first_month


def months_ending(period: str, count: int = 12) -> list[str]:
    """The `count` months up to the period's last month, oldest first."""
    year, month = last_month_of(period)
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return months[::-1]


def capped_end(period: str) -> str:
    """The period's last month, or the month in progress when the period has not ended yet."""
    year, month = last_month_of(period)
    return min(f"{year:04d}-{month:02d}", this_month())


def running(period: str) -> bool:
    """True while the period has not ended (shared.periods.is_running, now)."""
    return is_running(period, datetime.now(VIETNAM_TZ))


CALENDAR_YEARS = 2
"""The years whose every month and quarter the period picker offers while a unit's first month of data is not known:
this one and the one before."""


def choices(around: str | None = None, *, first_month: str | None = None) -> list[str]:
    """The periods offered, latest first within months, then quarters, then half-years, then years: with the unit's
    first month of data (`first_month`), every month, quarter, half-year and year from the one holding it to this one
    (a trial's province, its data from December 2025, was not offered December 2025 nor Q4/2025); without it
    (evaluation not answering, or no data yet) the calendar's CALENDAR_YEARS: every month, quarter and half-year of
    this year and the one before (those begun), and both years (a trial's picker with evaluation down offered 2025 but
    not its December nor Q4). `around` (the period shown) is offered whatever it is."""
    current = this_month()
    year, month = int(current[:4]), int(current[5:7])
    if first_month is None or first_month > current:
        first_month = f"{year - CALENDAR_YEARS + 1}-01"
    months = months_ending(current, months_between(first_month, current))[::-1]
    quarter_count = (year - int(first_month[:4])) * 4 + (month - 1) // 3 - (int(first_month[5:7]) - 1) // 3 + 1
    years = [str(y) for y in range(year, int(first_month[:4]) - 1, -1)]
    quarter = (month - 1) // 3 + 1
    quarters = []
    for _ in range(quarter_count):
        quarters.append(f"{year}-Q{quarter}")
        quarter -= 1
        if quarter == 0:
            year, quarter = year - 1, 4
    offered = months + quarters + half_years(years, current=current, first_month=first_month) + years
    if around and around not in offered:
        offered.insert(0, around)
    return offered


def half_years(years: list[str], *, current: str, first_month: str | None) -> list[str]:
    """The half-years of `years` (latest first) that have begun by the month `current` and end no earlier than
    `first_month` (None: any), latest first: `2026-H2`, `2026-H1`, `2025-H2`…"""
    found = []
    for year in years:
        for half, (first, last) in (("H2", ("07", "12")), ("H1", ("01", "06"))):
            if f"{year}-{first}" <= current and (first_month is None or f"{year}-{last}" >= first_month):
                found.append(f"{year}-{half}")
    return found


def months_between(first: str, last: str) -> int:
    """How many months from `first` through `last` (`YYYY-MM`, both counted): 1 for the same month."""
    return (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7]) + 1


def trend_months(period: str, first_month: str | None) -> list[str]:
    """The months the trend of a period draws: the 12 up to its last month (the month in progress at most), none
    before the unit's first month of data (a trial's year 2025 drew January to November, before the cells
    existed)."""
    months = months_ending(capped_end(period))
    return [month for month in months if first_month is None or month >= first_month]
