"""Calendar arithmetic in Vietnam's local time: months, quarters, period ends."""

from datetime import date, datetime, time, timedelta, timezone

LOCAL_TZ = timezone(timedelta(hours=7), "ICT")


def local(moment: datetime) -> datetime:
    """The moment in +07:00."""
    return moment.astimezone(LOCAL_TZ)


def month_of(moment: datetime) -> str:
    """ "YYYY-MM" of the local month."""
    value = local(moment)
    return f"{value.year:04d}-{value.month:02d}"


def quarter_of(moment: datetime) -> str:
    """ "YYYY-Qn" of the local quarter."""
    value = local(moment)
    return f"{value.year:04d}-Q{(value.month - 1) // 3 + 1}"


def local_midnight(day: date) -> datetime:
    """00:00 local of a day, as an aware datetime."""
    return datetime.combine(day, time(0, 0), tzinfo=LOCAL_TZ)


def at_local_hour(day: date, hour: int) -> datetime:
    """`hour`:00 local of a day."""
    return datetime.combine(day, time(hour, 0), tzinfo=LOCAL_TZ)


def month_start(year: int, month: int) -> datetime:
    """The first instant of a local month."""
    return local_midnight(date(year, month, 1))


def next_month(year: int, month: int) -> tuple[int, int]:
    """The (year, month) after the given one."""
    return (year + 1, 1) if month == 12 else (year, month + 1)


def previous_month(year: int, month: int) -> tuple[int, int]:
    """The (year, month) before the given one."""
    return (year - 1, 12) if month == 1 else (year, month - 1)


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of "YYYY-MM", "YYYY-Qn" or "YYYY" in local time."""
    if "-Q" in period:
        year, quarter = int(period[:4]), int(period[-1])
        first = 3 * (quarter - 1) + 1
        return month_start(year, first), month_start(*next_month(year, first + 2))
    if "-" in period:
        year, month = int(period[:4]), int(period[5:7])
        return month_start(year, month), month_start(*next_month(year, month))
    year = int(period)
    return month_start(year, 1), month_start(year + 1, 1)


def quarter_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the local quarter holding `moment`."""
    return period_bounds(quarter_of(moment))


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later (29 Feb becomes 28 Feb)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
