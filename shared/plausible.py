"""Plausible moments, defined once: the window a meeting's start may fall in, how far ahead of our clock an
event's `time` may be, how long a meeting lasts, and how far after an event's own `time` the dates it reports may
lie.

CONTRACT.md rejects "impossible values" naming the field but pins no window, so this is the product's choice:
nothing of a party cell's history predates 2000 (the national member database starts later), a cell plans its
meetings months, not years, ahead, and a sender's clock may run a little fast, never years. Both bounds only widen
as time passes, so an event accepted once is accepted again on replay or re-delivery. Pure: no I/O.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import NamedTuple

from shared.periods import (
    REPORT_PERIOD_FORMS,
    VIETNAM_TZ,
    is_report_period,
    local_date,
    month_of,
    period_expected,
    period_months,
    said_at,
    span_problem,
)

EARLIEST_MEETING = datetime(2000, 1, 1, tzinfo=VIETNAM_TZ)
"""No meeting starts before 1 January 2000 (local)."""
MEETING_HORIZON = timedelta(days=731)
"""Two years ahead, for the months a period may be asked of and the facts an event reports (FACT_HORIZON); a
meeting's start is bounded by the whole of a calendar day instead (latest_meeting_day)."""
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)
"""Every date and time an event carries falls in these days (its own date, at its own offset): a party member's
birth, admission or a meeting outside them is a typo, and beyond them dates stop adding up (year 10000 does not
exist for Python, 0001-01-01T00:00:00+07:00 is in year 0 in UTC)."""
CLOCK_SKEW = timedelta(minutes=15)
"""An event's `time` is at most this far ahead of the receiving clock."""


def begins_later(starts_at: datetime, now: datetime) -> bool:
    """Whether a meeting starting at `starts_at` has not begun at `now`, CLOCK_SKEW aside: a person's roster,
    minutes or assessment of it are refused then (meetings' check_command_after_start, which the gateway's forms
    check first so that a form reports it together with its other errors)."""
    return starts_at > now + CLOCK_SKEW


def took_place(*, starts_at: datetime, attendance_recorded: bool, now: datetime) -> bool:
    """Whether a meeting not cancelled took place at `now`: begun (begins_later, CLOCK_SKEW aside, the rule a person's
    roster is taken by) and its attendance recorded, its minutes perhaps still to come. Its secretary then neither
    cancels it nor moves it to a start still ahead, only corrects its start to when it took place (meetings'
    check_not_taken_place, meeting_took_place) and the pages read it "Đã diễn ra" (a trial's meeting held on 05/12
    with 14 present was moved to 28/12 and read "not held yet")."""
    return attendance_recorded and not begins_later(starts_at, now)


def meeting_begun(*, starts_at: datetime | None, minutes_recorded: bool, cancelled: bool, now: datetime) -> bool:
    """Whether a meeting is scored (evaluation), answered a score (the gateway's API) and shown rated (the web pages)
    at `now`: it has begun when its minutes are recorded or its start (after any rescheduling) is not after `now`.
    DOMAIN.md ("How to read it, exactly"): "A meeting is held when it has minutes and is not cancelled"; "The start
    is the scheduled start after any rescheduling; 'before' is strict". A meeting still ahead (scheduled, no
    minutes, its start later) has not taken place, so it is not scored: its provisional score (no roster, no minutes:
    Poor) would be a verdict on nothing (a trial's meeting of 6 Dec 2026 read 21.67 Poor on 5 Dec). A cancelled
    meeting is never scored either (DOMAIN.md), so it counts as not begun here."""
    if cancelled:
        return False
    return minutes_recorded or starts_at is None or starts_at <= now


def already_past(starts_at: datetime, now: datetime) -> bool:
    """Whether a start `starts_at` has passed at `now`, CLOCK_SKEW aside: a person schedules a new meeting only to a
    start still ahead (meetings' check_start_ahead, and the secretary's forms, which say it first beside their other
    errors): a meeting scheduled in the past sends no notice in time and loses the notice item of its score without
    a word. The allowance keeps a meeting scheduled at the door, minutes after it began, then recorded at once; a
    move of a meeting still ahead has none (moved_into_the_past)."""
    return starts_at < now - CLOCK_SKEW


def moved_into_the_past(starts_at: datetime, now: datetime) -> bool:
    """Whether a person's move of a meeting still ahead to `starts_at` lands on a start already past at `now`, with
    no CLOCK_SKEW: a move is a secretary's plan for the future, whose members are told the new time before it, and
    `now` is the gateway's own clock when it sends the command (no sender's clock to allow for); a trial's move to a
    few minutes before now was taken and mailed as a meeting to come (trial 19 #2). Meetings' check_reschedule and
    the reschedule form refuse by it."""
    return starts_at < now


LONGEST_MEETING = timedelta(hours=24)
"""A meeting's minutes end at most this long after they start. A cell meeting is one sitting of hours (DOMAIN.md
"Meetings": at least 90 minutes, 120 for a combined one; the generated feeds hold 80-135 minutes); a day leaves room
for a long thematic meeting or a start and end typed in different offsets, while a trial's six months ("lasted 262080
min") scored full duration and pushed every deadline counted from the end half a year back."""
FACT_HORIZON = MEETING_HORIZON
"""A date an event reports (minutes adopted, a task done, a member leaving the roll, documents published, members
notified, a member admitted) lies at most this far after the event's own `time`: facts are sent once they are known,
and nothing about a cell is planned further ahead than its meetings are (two years). Judged on the event alone, so
the outcome never depends on what arrived before it (a trial's adoption in 2030 sent in 2026 was accepted)."""
MINUTES_START_WINDOW = timedelta(days=7)
"""The minutes' start lies at most this far from the meeting's scheduled start: a meeting that begins later (or
earlier) than that was moved, which meeting.rescheduled.v1 says (CONTRACT.md) before its minutes are sent."""
SAME_START_WINDOW = timedelta(hours=1)
"""Two meetings of a cell starting less than this apart are most likely one meeting entered twice (a user trial
scheduled the same meeting by two submissions of the form, and every member got two notices): a secretary's schedule
so close to another meeting of the cell not cancelled is refused unless confirmed (meetings' check_same_start, under
the cell's lock; the gateway asks first only to answer early)."""

HELD_RECORD_WINDOW = MINUTES_START_WINDOW
"""A secretary records a meeting already held (one they forgot to enter beforehand) only if it began at most this long
before they do: the week within which its minutes may start from its scheduled start, so a meeting recorded so can
take the minutes of the sitting it records. Older history, long past its minutes' two days (DOMAIN.md "After") and
perhaps in a month already reported, is an integration's backfill."""


def held_too_long_ago(starts_at: datetime, now: datetime) -> bool:
    """Whether a meeting recorded at `now` as already held began more than HELD_RECORD_WINDOW before `now`, too long
    ago to be recorded so (meetings' check_held_start, and the secretary's form, which says it first)."""
    return starts_at < now - HELD_RECORD_WINDOW


def notified_before_start(notified_at: datetime, starts_at: datetime) -> bool:
    """Whether members told at `notified_at` were told before the meeting starting at `starts_at` (DOMAIN.md
    "Before": notice of time, place and content precedes the meeting; the score's `preparation.notified`). A
    secretary's later notice is refused (meetings' check_plausible_moments, and the held form, which says it first)."""
    return notified_at < starts_at


def latest_meeting_day(now: datetime) -> date:
    """The last day (in Vietnam) a meeting scheduled at `now` may start on, the whole day: the same date two years
    after today, as the schedule form says ("at most two years from today"); from 29 February, 1 March. A trial's
    start at 19:30 on that day was refused while the form named it (now + 731 days ended at now's hour)."""
    today = local_date(now)
    try:
        return today.replace(year=today.year + 2)
    except ValueError:  # 29 February, two years on
        return date(today.year + 2, 3, 1)


def meeting_start_problem(starts_at: datetime, *, now: datetime) -> str | None:
    """Why a meeting cannot start at `starts_at` (before 2000, or after the last day two years from `now`'s day,
    latest_meeting_day); None if it can."""
    if starts_at < EARLIEST_MEETING:
        return f"{starts_at.isoformat()} is before {EARLIEST_MEETING.date().isoformat()}"
    last = latest_meeting_day(now)
    if local_date(starts_at) > last:
        return (
            f"{starts_at.isoformat()} is more than 2 years ahead: the last day a meeting may start is"
            f" {last.isoformat()}"
        )
    return None


def meeting_time_problem(moment: datetime) -> str | None:
    """Why a meeting cannot be at `moment` whatever the clock (before 2000, or past the days any event may carry), in
    the words of meeting_start_problem; None if it can. For reading, where `now` is unknown."""
    day = moment.date()
    if day < EARLIEST_MEETING.date() - timedelta(days=1):  # far before: compared by its own date (year 1 overflows)
        return f"{moment.isoformat()} is before {EARLIEST_MEETING.date().isoformat()}"
    if day_problem(day) is not None:  # past 2199: more than two years ahead of any clock this product runs on
        return f"{moment.isoformat()} is more than 2 years ahead"
    if moment < EARLIEST_MEETING:
        return f"{moment.isoformat()} is before {EARLIEST_MEETING.date().isoformat()}"
    return None


def meeting_length_problem(started_at: datetime, ended_at: datetime) -> str | None:
    """Why a meeting cannot have run from `started_at` to `ended_at` (longer than LONGEST_MEETING); None if it can."""
    if ended_at - started_at > LONGEST_MEETING:
        minutes = int((ended_at - started_at).total_seconds() // 60)
        hours = int(LONGEST_MEETING.total_seconds() // 3600)
        return (
            f"{ended_at.isoformat()} is {minutes} minutes after the start {said_at(started_at, like=ended_at)}: a"
            f" meeting lasts at most {hours} hours"
        )
    return None


def self_criticism_over(spent: int | None, *, started_at: datetime, ended_at: datetime) -> float | None:
    """The minutes the meeting lasted (`ended_at` less `started_at`, a float) when `spent` minutes of self-criticism
    are more than that, else None (`spent` None: none recorded). A meeting's self-criticism is a part of it (DOMAIN.md
    "Meetings", `conduct.self_criticism`): the one rule of meetings' SELF_CRITICISM_OVER_MEETING and the minutes
    form, which says it with the form's other mistakes (trial 71: 200 minutes in a 90-minute meeting, said a sending
    later)."""
    lasted = (ended_at - started_at).total_seconds() / 60
    return lasted if spent is not None and spent > lasted else None


def end_for_deadlines(*, starts_at: datetime, ended_at: datetime | None) -> datetime:
    """The moment a meeting's after-the-meeting deadlines count from (DOMAIN.md "After": final documents "within 2
    days"; `closing.final_documents`: "within 48 h of the end"; the alert: "not in 2 days after the meeting"):
    the end its minutes give (`ended_at`), its start (`starts_at`, after any rescheduling) while it has no minutes or
    when they end before it. An end before the scheduled start (a mistyped date, a backfill: minutes may start up to
    MINUTES_START_WINDOW from it) is not the meeting's time, and counting from it called records late before the
    meeting was held (a user trial: an end 6 days early). One reading for notifications' late-records alerts
    (rules.records_due_at) and evaluation's `closing.final_documents`."""
    return starts_at if ended_at is None or ended_at < starts_at else ended_at


def horizon_problem(reported: date | datetime, *, time: datetime) -> str | None:
    """Why an event sent at `time` cannot report the date or moment `reported` (more than FACT_HORIZON after
    `time`; a date is compared with the local day of that limit); None if it can."""
    limit = time + FACT_HORIZON
    if isinstance(reported, datetime):
        beyond = reported > limit
    else:
        beyond = reported > local_date(limit)
    if beyond:
        own = said_at(time, like=reported) if isinstance(reported, datetime) else time.isoformat()
        return f"{reported.isoformat()} is more than 2 years after the event's own time ({own})"
    return None


def event_time_problem(time: datetime, *, now: datetime) -> str | None:
    """Why an event cannot have been sent at `time` (more than CLOCK_SKEW in the future); None if it can."""
    if time > now + CLOCK_SKEW:
        minutes = int(CLOCK_SKEW.total_seconds() // 60)
        return f"{time.isoformat()} is in the future (more than {minutes} minutes ahead of the receiving clock)"
    return None


def day_problem(day: date) -> str | None:
    """Why no event may carry the date `day` (outside EARLIEST_DAY..LATEST_DAY); None if it may."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        return f"{day.isoformat()} is outside {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}"
    return None


EARLIEST_PERIOD = "2000-01"
"""No period asked of history begins before January 2000 (EARLIEST_MEETING's month)."""


def latest_period_month(now: datetime) -> str:
    """The last month a period asked for at `now` may begin in (`YYYY-MM`): two years ahead (MEETING_HORIZON), as
    far as a cell plans its meetings."""
    return month_of(now + MEETING_HORIZON)


def latest_rated_month(now: datetime) -> str:
    """The last month a period asked for its ratings at `now` may begin in (`YYYY-MM`): the month in progress in
    Vietnam's time (month_of), as a period not begun yet has no rating (shared.periods.has_begun)."""
    return month_of(now)


def period_range_problem(period: str, *, now: datetime, rated: bool = False) -> str | None:
    """Why a `?period=` (a valid period, shared.periods.check_period) cannot be read at `now`: it begins before
    2000-01 or more than two years after `now` (latest_period_month), or, for a read of ratings (`rated`), after
    the month in progress (latest_rated_month: it has not begun); None when it can. The message names the field
    `period` and the real latest period of that read. Compared as text, so `0000-01` or `9999-12` answer without
    building a date."""
    first = period_months(period)[0]
    latest = latest_rated_month(now) if rated else latest_period_month(now)
    if first < EARLIEST_PERIOD:
        return f"period: {period} begins before {EARLIEST_PERIOD}, the earliest period (the latest is {latest})"
    if first > latest and rated:
        return (
            f"period: {period} has not begun yet, so it is not rated: the latest period is {latest}"
            " (this month, in Vietnam's time)"
        )
    if first > latest:
        return f"period: {period} begins more than 2 years ahead: the latest period is {latest}"
    return None


def rescore_month_bounds(now: datetime) -> dict[str, tuple[str, str]]:
    """The (earliest, latest) month, `YYYY-MM`, each end of a span to re-score at `now` may be, as
    span_range_problem takes them (the re-score form's inputs offer these): both from EARLIEST_PERIOD; `period_from`
    and `period_to` up to the month in progress (latest_rated_month: each must have begun, shared.periods.has_begun,
    as the committee's pages offer no later period)."""
    return {
        "period_from": (EARLIEST_PERIOD, latest_rated_month(now)),
        "period_to": (EARLIEST_PERIOD, latest_rated_month(now)),
    }


class SpanProblem(NamedTuple):
    """What is wrong with a span of periods asked of history: the field at fault (`period_from`|`period_to`), a
    code for the people who read it in their language (`not_a_period`, `before_earliest`, `too_far_ahead`,
    `not_begun`, `ends_before_start`, `before_data`) and the English reason without the field's name."""

    field: str
    code: str
    reason: str

    @property
    def message(self) -> str:
        """The reason with the field named first, as the API's refusals say it (`period_to: ...`)."""
        return f"{self.field}: {self.reason}"


def span_range_problem(
    first: str | None, last: str | None, *, now: datetime, first_month: str | None = None
) -> SpanProblem | None:
    """What is wrong with a span `first`..`last` (either open, each a period text as a person typed it) to re-score
    at `now`; None when it is one. Each end is a period (shared.periods.check_period) beginning no earlier than
    EARLIEST_PERIOD (nothing of a cell's history predates 2000) and, for the last, no later than two years ahead
    (latest_period_month: `too_far_ahead`), and shared.periods.span_problem: the last must not end before the first
    begins, the first must have begun; the last must have begun too (`not_begun` on `period_to`: no page offers or
    shows a later period, a trial's 2026-01..2027-06 was queued in December 2026). So every span taken lies within
    2000-01 and the running month's period, and the job that runs it builds only dates that exist (a
    trial's `9999-12` failed the job with "year 10000 is out of range"). With the unit's `first_month` of data
    (`YYYY-MM`, a committee roll-up's `first_month`; None: no data yet or unknown), a last period ending before it is
    `before_data` on `period_to`: nothing to re-score there, as the pages answer such a period 404 "Không có dữ liệu"
    (docs/architecture.md "Periods out of range"). Compared as text: no date is built."""
    problems = span_range_problems(first, last, now=now, first_month=first_month)
    return problems[0] if problems else None


def span_range_problems(
    first: str | None, last: str | None, *, now: datetime, first_month: str | None = None
) -> list[SpanProblem]:
    """Every field's problem span_range_problem judges `first`..`last` by, at most one a field (the first it finds
    of each, in its order: its own answer is the first of these), [] when the span may be re-scored: a form says them
    at once (a trial's re-score form with a first month not begun and a last month before it said only the last).
    A field that is no period, or before EARLIEST_PERIOD, is judged against nothing else."""
    latest = latest_period_month(now)
    found: dict[str, SpanProblem] = {}
    for field, period in (("period_from", first), ("period_to", last)):
        if period is None:
            continue
        if not is_report_period(period):
            found[field] = SpanProblem(field, "not_a_period", period_expected(period, REPORT_PERIOD_FORMS))
            continue
        begins = period_months(period)[0]
        if begins < EARLIEST_PERIOD:
            found[field] = SpanProblem(
                field, "before_earliest", f"{period} begins before {EARLIEST_PERIOD}, the earliest period there is"
            )
    first_read = first if "period_from" not in found else None
    last_read = last if "period_to" not in found else None
    # the last before the first (period_to), then the first not begun (period_from): span_problem says the one only
    for span in ((first_read, last_read), (first_read, None)):
        if problem := span_problem(*span, now):
            field, said = problem
            code = "ends_before_start" if field == "period_to" else "not_begun"
            found.setdefault(field, SpanProblem(field, code, said.removeprefix(f"{field}: ")))
    if last_read is not None and period_months(last_read)[0] > latest:
        found.setdefault(
            "period_to",
            SpanProblem(
                "period_to",
                "too_far_ahead",
                f"{last_read} begins more than 2 years ahead: the latest period is {latest}",
            ),
        )
    if last_read is not None and period_months(last_read)[0] > month_of(now):
        # a last period not begun: no page offers or shows it ("nằm ngoài khoảng kỳ có thể xem"), nothing to re-score
        found.setdefault(
            "period_to",
            SpanProblem(
                "period_to",
                "not_begun",
                f"{last_read} has not begun yet, so it holds no history to re-score: the latest period is "
                f"{month_of(now)}",
            ),
        )
    if last_read is not None and first_month is not None and period_months(last_read)[-1] < first_month:
        found.setdefault(
            "period_to",
            SpanProblem(
                "period_to",
                "before_data",
                f"{last_read} ends before the unit's first month of data, {first_month}: there is nothing to re-score "
                "in it",
            ),
        )
    return list(found.values())


class VotesOver(NamedTuple):
    """Votes that outnumber who could cast them: the count (`field`, as the caller names it) at which the running
    total of the votes, `cast`, passes `voters`."""

    field: str
    cast: int
    voters: int


def votes_over(counts: Iterable[tuple[str, int | None]], *, voters: int) -> VotesOver | None:
    """The first of `counts` ((field, count) in their order: for, against, abstaining; None read as 0) at which the
    votes cast so far pass `voters` (the members present on the meeting's roster, or the cell's members while no
    roster is known); None when they do not. Each member present casts one vote at most (DOMAIN.md "Meetings": the
    resolution is voted by the members at the meeting), so more votes than members present is no vote: a user trial's
    `votes_for: 99999` in a cell of 5 was accepted and scored adopted. The one rule of meetings' refusals of a
    secretary's votes (check_votes_within_roster, roster_against_minutes), the secretary's forms and evaluation's
    `closing.resolution_adopted`."""
    cast = 0
    for field, count in counts:
        cast += count or 0
        if cast > voters:
            return VotesOver(field, cast, voters)
    return None
