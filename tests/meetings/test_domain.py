"""The pure rules: membership on a date, lifecycle checks, attendance history, probation, periods."""

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from services.meetings import domain
from shared.contracts.registry import read_event
from shared.envelope import GATEWAY_SOURCE, Event, InvalidEvent, parse_envelope
from shared.membership import CellOnDate, MemberVersion, cell_on
from shared.periods import VIETNAM_TZ
from shared.refusals import RefusalCode

T0 = datetime(2026, 1, 1, tzinfo=VIETNAM_TZ)


def version(days: int, cell: str | None, *, removed: bool = False) -> MemberVersion:
    return MemberVersion(effective_at=T0 + timedelta(days=days), version_id=f"v{days}", removed=removed, cell_id=cell)


def test_a_member_is_in_the_cell_of_the_latest_version_not_after_the_moment() -> None:
    history = [version(0, "a"), version(30, "b"), version(60, None, removed=True)]
    assert cell_on(history, T0 + timedelta(days=10)) == CellOnDate("a", certain=True)
    assert cell_on(history, T0 + timedelta(days=45)) == CellOnDate("b", certain=True)
    assert cell_on(history, T0 + timedelta(days=90)) == CellOnDate(None, certain=True)
    assert cell_on(history, T0 - timedelta(days=1)) == CellOnDate("a", certain=False)
    assert cell_on([], T0) is None


def test_membership_rejects_known_strangers_and_holds_the_unsure() -> None:
    histories = {
        "m1": [version(0, "a")],
        "m2": [version(0, "b")],
        "m3": [version(10, "b")],
        "m4": [version(10, "a")],
        "m5": [version(0, None, removed=True)],
        "m6": [version(10, None, removed=True)],
    }
    check = dict(cell_id="a", at=T0 + timedelta(days=5), histories=histories, source="urn:test:feed")
    domain.check_members_in_cell(references=[("data.chair_id", "m1")], **check)  # type: ignore[arg-type]
    domain.check_members_in_cell(references=[("data.chair_id", "m4")], **check)  # type: ignore[arg-type]  # assumed before
    with pytest.raises(InvalidEvent):
        domain.check_members_in_cell(references=[("data.chair_id", "m5")], **check)  # type: ignore[arg-type]
    with pytest.raises(domain.Held):
        domain.check_members_in_cell(references=[("data.chair_id", "m6")], **check)  # type: ignore[arg-type]
    with pytest.raises(InvalidEvent) as stranger:
        domain.check_members_in_cell(references=[("data.chair_id", "m2")], **check)  # type: ignore[arg-type]
    assert stranger.value.field == "data.chair_id"
    with pytest.raises(domain.Held) as unsure:
        domain.check_members_in_cell(references=[("data.speakers.0", "m3")], **check)  # type: ignore[arg-type]
    assert unsure.value.waiting_for == "member:m3"
    with pytest.raises(domain.Held):
        domain.check_members_in_cell(references=[("data.speakers.0", "nobody")], **check)  # type: ignore[arg-type]
    person = check | {"source": GATEWAY_SOURCE}  # a secretary's command is never held for a member
    domain.check_members_in_cell(references=[("data.chair_id", "m1"), ("data.chair_id", "m4")], **person)  # type: ignore[arg-type]
    for member_id in ("m2", "m3", "m5", "m6", "nobody"):
        with pytest.raises(InvalidEvent) as refused:
            domain.check_members_in_cell(references=[("data.speakers.0", member_id)], **person)  # type: ignore[arg-type]
        assert not isinstance(refused.value, domain.Held) and refused.value.field == "data.speakers.0"
        assert refused.value.refusal is not None and refused.value.refusal.member_id == member_id


def test_units_hang_under_known_committees_without_cycles() -> None:
    committee = domain.UnitRef(id="k", kind="committee", parent_id=None)
    domain.check_unit_placement(unit_id="c", parent_id="k", parent=committee, ancestors=["k"])
    with pytest.raises(domain.Held):
        domain.check_unit_placement(unit_id="c", parent_id="k", parent=None, ancestors=[])
    with pytest.raises(InvalidEvent):
        domain.check_unit_placement(unit_id="c", parent_id="x", parent=domain.UnitRef("x", "cell", "k"), ancestors=[])
    with pytest.raises(InvalidEvent, match="cycle"):
        domain.check_unit_placement(
            unit_id="k", parent_id="d", parent=domain.UnitRef("d", "committee", "k"), ancestors=["k", "d"]
        )


def test_a_secretary_is_refused_by_the_meetings_state_an_integration_never() -> None:
    """Cancelling a held meeting, moving a cancelled one or one with minutes, recording anything for a cancelled one:
    refused to a person (the gateway's commands, judged on the meeting as it stands), stored from an integration,
    whose facts arrive in any order (the end state must not depend on which came first), but for a move issued after
    the meeting ended by its minutes, refused from any source (check_not_moved_when_held)."""
    cancelled = domain.MeetingState(
        "m", "c", "regular", T0, cancel_version=(T0, 0, "x"), has_roster=False, has_minutes=False
    )
    ended = T0 + timedelta(minutes=100)
    held = domain.MeetingState(
        "m", "c", "regular", T0, None, True, True, minutes_version=(T0, 0, "n"), minutes_ended_at=ended
    )
    for source in ("urn:example:handbook", "urn:chibo:gateway:other"):
        domain.check_reschedule(cancelled, source=source, starts_at=T0, time=T0)
        domain.check_reschedule(held, source=source, starts_at=T0, time=ended)  # issued before it ended: a late fact
        with pytest.raises(InvalidEvent, match="already held and cannot be rescheduled") as refused:
            domain.check_reschedule(held, source=source, starts_at=T0, time=ended + timedelta(seconds=1))
        assert refused.value.field == "data.starts_at"  # the start a held meeting keeps, and what to do instead
        assert refused.value.reason.endswith(domain.HELD_START_CORRECTION)
        domain.check_cancel(held, source=source, time=ended)
        domain.require_not_cancelled(cancelled, source=source, what="submitting minutes")
    with pytest.raises(InvalidEvent, match="cancelled and cannot be rescheduled"):
        domain.check_reschedule(cancelled, source=GATEWAY_SOURCE, starts_at=T0, time=T0)
    with pytest.raises(InvalidEvent, match="already held and cannot be rescheduled") as refused:
        domain.check_reschedule(held, source=GATEWAY_SOURCE, starts_at=ended + timedelta(days=1), time=ended)
    assert refused.value.field == "data.meeting_id"  # the secretary's form says the meeting's state
    with pytest.raises(InvalidEvent, match="already held and cannot be cancelled"):
        domain.check_cancel(held, source=GATEWAY_SOURCE, time=ended)
    with pytest.raises(InvalidEvent, match="is cancelled; submitting minutes is impossible"):
        domain.require_not_cancelled(cancelled, source=GATEWAY_SOURCE, what="submitting minutes")
    domain.check_cancel(cancelled, source=GATEWAY_SOURCE, time=T0)  # cancelling again only updates the reason


def test_a_roster_alone_does_not_make_a_meeting_held() -> None:
    """DOMAIN.md: a meeting is held when it has minutes and is not cancelled. A roster without minutes read `held`
    and a secretary could not cancel it; it is `scheduled` and may be cancelled until its minutes arrive."""
    roster_only = domain.MeetingState("m", "c", "regular", T0, None, True, False, roster_version=(T0, 0, "r"))
    assert domain.meeting_status(cancelled=False, has_minutes=False, approved=False) == "scheduled"
    assert domain.meeting_status(cancelled=False, has_minutes=True, approved=False) == "minutes_submitted"
    assert domain.meeting_status(cancelled=False, has_minutes=True, approved=True) == "minutes_approved"
    assert domain.meeting_status(cancelled=True, has_minutes=True, approved=True) == "cancelled"
    assert not domain.is_held(cancelled=False, has_minutes=False)
    assert not domain.is_held(cancelled=True, has_minutes=True)
    # not held yet: an integration's early roster leaves a meeting still ahead to be cancelled; once it has begun, a
    # roster says it took place, and the secretary neither cancels nor moves it (check_not_taken_place)
    domain.check_cancel(roster_only, source=GATEWAY_SOURCE, time=T0 - timedelta(hours=1))
    domain.check_cancel(roster_only, source="urn:example:handbook", time=T0 + timedelta(hours=1))
    with pytest.raises(InvalidEvent, match="took place") as refused:
        domain.check_cancel(roster_only, source=GATEWAY_SOURCE, time=T0 + timedelta(hours=1))
    assert refused.value.refusal is not None and refused.value.refusal.code == "meeting_took_place"


def test_attendance_history_counts_runs_and_unexcused_months() -> None:
    statuses = ["absent", "present", "absent", "exempt", "excused", "excused"]
    entries = [domain.AttendanceEntry(f"m{i}", T0 + timedelta(days=31 * i), s) for i, s in enumerate(statuses)]
    history = domain.attendance_history(entries)
    assert history == domain.AttendanceHistory(
        consecutive_absences=3, consecutive_excused_absences=2, unexcused_months_last_year=2
    )
    assert domain.attendance_history([]).consecutive_absences == 0


def test_attendance_history_counts_only_held_meetings() -> None:
    """The fresh-user trial: excused at two held meetings, then at two meetings with a roster and no minutes (not
    held: DOMAIN.md), and absent without leave at one of those too: the runs are 2, no unexcused month."""
    held = [domain.AttendanceEntry(f"h{i}", T0 + timedelta(days=7 * i), "excused") for i in range(2)]
    unheld = [
        domain.AttendanceEntry(f"x{i}", T0 + timedelta(days=14 + 7 * i), status, held=False)
        for i, status in enumerate(["excused", "absent"])
    ]
    assert domain.attendance_history(held + unheld) == domain.AttendanceHistory(
        consecutive_absences=2, consecutive_excused_absences=2, unexcused_months_last_year=0
    )
    present_unheld = domain.AttendanceEntry("x9", T0 + timedelta(days=60), "present", held=False)
    assert domain.attendance_history([*held, present_unheld]).consecutive_excused_absences == 2  # nor breaks a run


def test_probation_lasts_twelve_months_for_probationary_members_only() -> None:
    assert domain.probation_ends_on(status="probationary", admitted_on=date(2024, 2, 29)) == date(2025, 2, 28)
    assert domain.probation_ends_on(status="official", admitted_on=date(2024, 2, 1)) is None


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [("2026-11", (2026, 11), (2026, 12)), ("2026-Q4", (2026, 10), (2027, 1)), ("2026", (2026, 1), (2027, 1))],
)
def test_periods_are_local_months_quarters_and_years(period: str, start: tuple[int, int], end: tuple[int, int]) -> None:
    assert domain.parse_period(period) == (
        datetime(*start, 1, tzinfo=VIETNAM_TZ),
        datetime(*end, 1, tzinfo=VIETNAM_TZ),
    )
    with pytest.raises(InvalidEvent):
        domain.parse_period("2026-Q5")


def _read(event_type: str, data: dict, *, time: datetime) -> Event:
    raw = {
        "specversion": "1.0",
        "id": "e1",
        "source": "urn:test",
        "type": event_type,
        "time": time.isoformat(),
        "data": data,
    }
    return read_event(parse_envelope(raw))


def _scheduled_at(starts_at: datetime, *, time: datetime = T0) -> Event:
    data = {
        "meeting_id": "m1",
        "cell_id": "c1",
        "kind": "regular",
        "starts_at": starts_at.isoformat(),
        "location": "x",
        "agenda": [],
    }
    return _read("meeting.scheduled.v1", data, time=time)


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (_scheduled_at(T0 + timedelta(days=732)), "data.starts_at"),
        (_read("meeting.cancelled.v1", {"meeting_id": "m1", "reason": "x"}, time=T0 + timedelta(minutes=16)), "time"),
        (
            _read(
                "meeting.cancelled.v1",
                {"meeting_id": "m1", "reason": "x"},
                time=datetime(2199, 1, 1, tzinfo=VIETNAM_TZ),
            ),
            "time",
        ),
    ],
)
def test_an_absurd_moment_is_rejected_naming_its_field(event: Event, field: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        domain.check_plausible_moments(event, now=T0)
    assert caught.value.field == field and caught.value.reason.startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("event_type", "starts_at"),
    [
        ("meeting.scheduled.v1", "1999-12-31T19:30:00+07:00"),
        ("meeting.rescheduled.v1", "1999-01-01T19:30:00+07:00"),
        ("meeting.scheduled.v1", "1800-01-01T19:30:00+07:00"),
        ("meeting.scheduled.v1", "0001-01-01T00:00:00+07:00"),
    ],
)
def test_a_meeting_before_2000_is_refused_in_the_meeting_rules_words_when_read(event_type: str, starts_at: str) -> None:
    # a trial's 1800 read "outside 1900-01-01 to 2199-12-31", the generic bound, though the rule is 2000 to 2 years
    data = {"meeting_id": "m1", "cell_id": "c1", "kind": "regular", "starts_at": starts_at, "location": "x"}
    with pytest.raises(InvalidEvent) as caught:
        _read(event_type, data | {"agenda": []}, time=T0)
    assert caught.value.field == "data.starts_at"
    assert caught.value.reason == f"data.starts_at: {starts_at} is before 2000-01-01"


@pytest.mark.parametrize(
    "event",
    [
        _scheduled_at(datetime(2000, 1, 1, tzinfo=VIETNAM_TZ)),
        _scheduled_at(T0 + timedelta(days=700)),
        _scheduled_at(T0 - timedelta(days=3000), time=T0 + timedelta(minutes=14)),
    ],
)
def test_history_and_next_year_are_plausible(event: Event) -> None:
    domain.check_plausible_moments(event, now=T0)


def test_a_move_after_the_cancellation_is_refused_from_any_source_and_one_before_only_to_a_person() -> None:
    """domain.check_not_moved_when_cancelled: the one rule of the secretary's reschedule and an integration's move;
    judged by event time for an integration (CONTRACT.md: arrival order must not matter)."""
    cancelled = domain.MeetingState(
        "m", "c", "regular", T0, cancel_version=(T0, 0, "x"), has_roster=False, has_minutes=False
    )
    before, after = (T0 - timedelta(minutes=1), 0, "a"), (T0 + timedelta(minutes=1), 0, "a")
    domain.check_not_moved_when_cancelled(cancelled, source="urn:example:handbook", version=before)
    for source, version in (("urn:example:handbook", after), (GATEWAY_SOURCE, before), (GATEWAY_SOURCE, after)):
        with pytest.raises(InvalidEvent, match="cancelled and cannot be rescheduled") as refused:
            domain.check_not_moved_when_cancelled(cancelled, source=source, version=version)
        assert refused.value.field == "data.meeting_id"
        assert refused.value.refusal is not None and refused.value.refusal.code is RefusalCode.MEETING_CANCELLED


def test_minutes_issued_after_the_adoption_void_it() -> None:
    """domain.adoption_in_force: minutes not later than the adoption (its second counted whole) are adopted; later
    ones are a text nobody voted on unless they say the same (a trial's changed text 25 seconds after it was kept
    under a 15-minute clock allowance)."""
    adopted = (T0, 0, "b")
    assert domain.adoption_in_force(approval=adopted, minutes=(T0 - timedelta(hours=1), 0, "z"))
    assert domain.adoption_in_force(approval=adopted, minutes=(T0, 0, "z"))
    assert domain.adoption_in_force(approval=adopted, minutes=(T0 + timedelta(milliseconds=999), 9, "z"))
    assert not domain.adoption_in_force(approval=adopted, minutes=(T0 + timedelta(seconds=1), 0, "a"))
    assert not domain.adoption_in_force(approval=adopted, minutes=(T0 + timedelta(seconds=25), 0, "a"))
    assert domain.adoption_in_force(approval=adopted, minutes=(T0 + timedelta(seconds=25), 0, "a"), same_content=True)
    assert not domain.adoption_in_force(approval=adopted, minutes=(T0 + timedelta(hours=12), 0, "a"))
    assert not domain.adoption_in_force(approval=None, minutes=(T0, 0, "a"))


def test_a_roster_issued_after_the_adoption_voids_it_unless_it_says_the_same() -> None:
    """domain.adoption_in_force judges the stored roster as the minutes (shared.minutes.part_stands): one issued
    after the adoption voids it unless its content key is the adopted roster's."""
    adopted, minutes = (T0, 0, "b"), (T0 - timedelta(hours=1), 0, "m")
    assert domain.adoption_in_force(approval=adopted, minutes=minutes, roster=(T0 - timedelta(hours=2), 0, "r"))
    assert domain.adoption_in_force(approval=adopted, minutes=minutes, roster=(T0 + timedelta(milliseconds=1), 0, "r"))
    later = (T0 + timedelta(hours=12), 0, "r")
    assert not domain.adoption_in_force(approval=adopted, minutes=minutes, roster=later)
    assert domain.adoption_in_force(approval=adopted, minutes=minutes, roster=later, same_roster=True)


def test_a_secretary_corrects_when_a_held_meeting_took_place_until_its_minutes_are_adopted() -> None:
    """Minutes saved on a wrong day: the secretary corrects the held meeting's start to a start already past (not
    notified; a person's move is never undone by minutes), but neither moves it ahead nor corrects it once its minutes
    are adopted; an integration's move issued after the end stays refused (check_not_moved_when_held)."""
    ended = T0 + timedelta(minutes=100)
    held = domain.MeetingState(
        "m", "c", "regular", T0, None, True, True, minutes_version=(T0, 0, "n"), minutes_ended_at=ended
    )
    now = T0 + timedelta(days=2)
    day_before = T0 - timedelta(days=1)
    domain.check_reschedule(held, source=GATEWAY_SOURCE, starts_at=day_before, time=now)
    with pytest.raises(InvalidEvent, match="already held and cannot be rescheduled"):
        domain.check_reschedule(held, source=GATEWAY_SOURCE, starts_at=now + timedelta(days=1), time=now)
    with pytest.raises(InvalidEvent, match="already held and cannot be rescheduled"):
        domain.check_reschedule(held, source="urn:example:handbook", starts_at=day_before, time=now)
    adopted = replace(held, approval_version=(ended, 0, "a"), minutes_key="k", adopted_key="k")
    assert adopted.adopted
    with pytest.raises(InvalidEvent, match="already held and cannot be rescheduled"):
        domain.check_reschedule(adopted, source=GATEWAY_SOURCE, starts_at=day_before, time=now)


def test_a_meeting_recorded_as_held_is_only_corrected_to_a_past_start_not_moved_ahead() -> None:
    """A trial's meeting recorded as already held on 04/12, no roster yet, was moved to 20/12 and its members mailed
    a move of a meeting never told to them: a secretary's move of it to a start still ahead is refused naming
    `data.starts_at` (cancel it if it did not take place, which stays allowed), a correction to a past start is
    taken, and an integration's move is a fact of its record (CONTRACT.md), not judged so."""
    now = T0 + timedelta(days=3)
    recorded = domain.MeetingState("m", "c", "regular", T0, None, False, False, held_recorded_at=now)
    with pytest.raises(InvalidEvent, match="recorded as already held") as refused:
        domain.check_reschedule(recorded, source=GATEWAY_SOURCE, starts_at=now + timedelta(days=13), time=now)
    assert refused.value.field == "data.starts_at"
    assert refused.value.refusal is not None and refused.value.refusal.code == RefusalCode.MEETING_TOOK_PLACE
    domain.check_reschedule(recorded, source=GATEWAY_SOURCE, starts_at=T0 - timedelta(days=1), time=now)
    domain.check_reschedule(recorded, source="urn:example:handbook", starts_at=now + timedelta(days=13), time=now)
    domain.check_cancel(recorded, source=GATEWAY_SOURCE, time=now)
