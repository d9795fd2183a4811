"""Every moment a refusal names is said at one offset: the caller's (the moment they sent), or Vietnam's +07:00 when
the refusal names none of theirs. A new user's trial read a refusal naming their 19:30+07:00 beside the meeting's
start as PostgreSQL answers it, 12:30+00:00, as if the two were hours apart."""

from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from services.meetings import domain
from services.meetings.handlers.ingest import RejectionResolved
from shared.envelope import GATEWAY_SOURCE, InvalidEvent
from shared.periods import VIETNAM_TZ, said_at
from shared.plausible import meeting_length_problem

STORED_START = datetime(2026, 12, 4, 12, 30, tzinfo=UTC)
"""A meeting's start as the database answers it: 19:30 in Vietnam, read back at +00:00."""
VERSION = (datetime(2026, 11, 1, tzinfo=UTC), 0, "e1")


def stored_meeting(**more: object) -> domain.MeetingState:
    """Meeting m1 of cell c1, starting at STORED_START, as the repository reads it."""
    fields: dict[str, object] = {
        "meeting_id": "m1",
        "cell_id": "c1",
        "kind": "regular",
        "starts_at": STORED_START,
        "cancel_version": None,
        "has_roster": False,
        "has_minutes": False,
    }
    return domain.MeetingState(**(fields | more))  # type: ignore[arg-type]


def refused(check: object, *args: object, **kwargs: object) -> str:
    """The message of the InvalidEvent that calling `check` raises."""
    with pytest.raises(InvalidEvent) as caught:
        check(*args, **kwargs)  # type: ignore[operator]
    return caught.value.reason


def test_said_at_takes_the_callers_offset_or_vietnams() -> None:
    assert said_at(STORED_START) == "2026-12-04T19:30:00+07:00"
    assert said_at(STORED_START, like=datetime(2026, 1, 1, tzinfo=VIETNAM_TZ)) == "2026-12-04T19:30:00+07:00"
    assert said_at(STORED_START, like=datetime(2026, 1, 1, tzinfo=UTC)) == "2026-12-04T12:30:00+00:00"
    eight = timezone(timedelta(hours=8))
    assert said_at(STORED_START, like=datetime(2026, 1, 1, tzinfo=eight)) == "2026-12-04T20:30:00+08:00"


def test_an_adoption_before_the_start_names_the_start_in_the_callers_offset() -> None:
    approved = datetime(2026, 12, 4, 18, 0, tzinfo=VIETNAM_TZ)
    message = refused(domain.check_approval_moment, stored_meeting(), approved)
    assert message.startswith(
        "data.approved_at: 2026-12-04T18:00:00+07:00 is before meeting m1 began (2026-12-04T19:30:00+07:00)"
    ), message
    in_utc = refused(domain.check_approval_moment, stored_meeting(), approved.astimezone(UTC))
    assert in_utc.startswith(
        "data.approved_at: 2026-12-04T11:00:00+00:00 is before meeting m1 began (2026-12-04T12:30:00+00:00)"
    ), in_utc


def test_minutes_far_from_the_schedule_name_the_scheduled_start_in_the_callers_offset() -> None:
    started = datetime(2026, 11, 20, 19, 30, tzinfo=VIETNAM_TZ)
    message = refused(domain.check_minutes_start, stored_meeting(), started)
    assert message.startswith(
        "data.started_at: 2026-11-20T19:30:00+07:00 is more than 7 days from the scheduled start of meeting m1"
        " (2026-12-04T19:30:00+07:00)"
    ), message


def test_a_second_adoption_names_the_first_in_the_callers_offset() -> None:
    meeting = stored_meeting(has_minutes=True, approval_version=VERSION)
    again = SimpleNamespace(approved_at=datetime(2026, 12, 4, 21, 5, tzinfo=VIETNAM_TZ), votes_for=9, votes_against=0)
    stored = (datetime(2026, 12, 4, 14, 0, tzinfo=UTC), 9, 0)
    message = refused(domain.check_adoption_not_repeated, meeting, again, stored=stored, source=GATEWAY_SOURCE)
    assert message.startswith(
        "data.approved_at: the minutes of meeting m1 were adopted at 2026-12-04T21:00:00+07:00; adopting them again"
        " at 2026-12-04T21:05:00+07:00"
    ), message


def test_documents_name_the_sending_and_the_recording_in_the_callers_offset() -> None:
    published = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)  # sent in UTC
    sent = datetime(2026, 12, 4, 7, 30, tzinfo=VIETNAM_TZ)  # the gateway's clock
    ahead = refused(
        domain.check_documents_moment, source=GATEWAY_SOURCE, published_at=published, time=sent, recorded_at=None
    )
    assert ahead.startswith(
        "data.published_at: 2026-12-04T08:00:00+00:00 is after the documents were sent (2026-12-04T00:30:00+00:00)"
    ), ahead
    recorded = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    early = refused(
        domain.check_documents_moment,
        source=GATEWAY_SOURCE,
        published_at=datetime(2026, 12, 4, 15, 0, tzinfo=VIETNAM_TZ),
        time=datetime(2026, 12, 4, 17, 0, tzinfo=VIETNAM_TZ),
        recorded_at=recorded,
    )
    assert early.startswith(
        "data.published_at: 2026-12-04T15:00:00+07:00 is before the meeting was recorded as already held"
        " (2026-12-04T16:00:00+07:00)"
    ), early


def test_a_command_before_the_start_names_the_start_in_vietnam_time() -> None:
    message = refused(
        domain.check_command_after_start,
        stored_meeting(),
        source=GATEWAY_SOURCE,
        time=datetime(2026, 12, 1, 9, 0, tzinfo=VIETNAM_TZ),
        what="its minutes are",
    )
    assert message == (
        "data.meeting_id: meeting m1 begins 2026-12-04T19:30:00+07:00; its minutes are recorded once it has begun"
    )


def test_a_task_done_before_its_meeting_names_the_start_in_vietnam_time() -> None:
    message = refused(domain.check_completion_day, stored_meeting(), date(2026, 12, 1))
    assert message == (
        "data.completed_on: 2026-12-01 is before meeting m1, which assigned the task, began (2026-12-04T19:30:00+07:00)"
    )


def test_a_schedule_at_the_same_time_names_the_other_start_in_the_callers_offset() -> None:
    others = [{"meeting_id": "m0", "starts_at": STORED_START, "location": "Nhà văn hóa"}]
    starts = datetime(2026, 12, 4, 20, 0, tzinfo=VIETNAM_TZ)
    message = refused(
        domain.check_same_start, others, meeting_id="m2", source=GATEWAY_SOURCE, starts_at=starts, confirmed=False
    )
    assert message.startswith(
        "data.starts_at: meeting m0 of the cell starts at 2026-12-04T19:30:00+07:00 (Nhà văn hóa), less than 1:00:00"
        " from 2026-12-04T20:00:00+07:00;"
    ), message


def test_a_held_meeting_too_long_ago_names_the_sending_in_the_callers_offset() -> None:
    starts = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
    message = refused(domain.check_held_start, starts_at=starts, time=datetime(2026, 12, 4, 9, 0, tzinfo=VIETNAM_TZ))
    assert message.startswith(
        "data.starts_at: 2026-11-20T12:30:00+00:00 is more than 7 days before 2026-12-04T02:00:00+00:00;"
    ), message


def test_a_move_after_the_meeting_names_its_end_in_the_movers_offset() -> None:
    meeting = stored_meeting(has_minutes=True, minutes_ended_at=datetime(2026, 12, 4, 14, 30, tzinfo=UTC))
    moved = datetime(2026, 12, 5, 8, 0, tzinfo=VIETNAM_TZ)
    message = refused(domain.check_not_moved_when_held, meeting, source="urn:x:feed", time=moved)
    said = "(it ended 2026-12-04T21:30:00+07:00, before 2026-12-05T08:00:00+07:00)"
    assert message.endswith(f"{said}: {domain.HELD_START_CORRECTION}"), message


def test_minutes_and_notices_name_both_moments_in_one_offset() -> None:
    started = datetime(2026, 12, 4, 12, 30, tzinfo=UTC)
    ended = datetime(2026, 12, 6, 0, 0, tzinfo=VIETNAM_TZ)
    assert meeting_length_problem(started, ended) == (
        "2026-12-06T00:00:00+07:00 is 1710 minutes after the start 2026-12-04T19:30:00+07:00: a meeting lasts at"
        " most 24 hours"
    )
    schedule = SimpleNamespace(notified_at=datetime(2026, 12, 6, 13, 0, tzinfo=UTC), starts_at=ended)
    notice = refused(domain._check_notified_before_start, schedule)
    assert notice.startswith(
        "data.notified_at: 2026-12-06T13:00:00+00:00 is not before the meeting's start (2026-12-05T17:00:00+00:00)"
    ), notice


def test_an_answered_replay_names_its_moment_in_vietnam_time() -> None:
    resolved = RejectionResolved("r1", "replayed", datetime(2026, 12, 4, 2, 0, tzinfo=UTC), "accepted")
    assert str(resolved) == "rejection r1 is already replayed: accepted at 2026-12-04T09:00:00+07:00; nothing to replay"
