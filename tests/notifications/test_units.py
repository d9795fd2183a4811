"""Unit tests of the main handlers over the in-memory fakes: who hears what, and only once."""

from datetime import timedelta
from typing import Any

from services.notifications.config import Settings
from services.notifications.domain.model import COMMITTEE, PERSON, Alert, Recipient
from services.notifications.handlers import HANDLERS
from services.notifications.handlers.alerts import raise_alerts
from services.notifications.handlers.jobs import run_job
from services.notifications.repository.outgoing import Job
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent, now
from tests.notifications.events import Province, event
from tests.notifications.fakes import FakeUnitOfWork
from tests.support.ids import random_id

SETTINGS = Settings(
    default_person_channels=["email", "inbox"],
    default_committee_channels=["email", "inbox"],
    default_committee_digest=False,  # each committee alert counted as its own mail
)


async def handle(uow: FakeUnitOfWork, *events: CloudEvent) -> None:
    """Apply events through their handlers on the fake unit of work."""
    for item in events:
        await HANDLERS[item.type](read_event(item), uow)


async def province() -> tuple[Province, FakeUnitOfWork]:
    """A committee, a cell with secretary, deputy, member, exempt member and a monitor, projected in the fakes."""
    p = Province()
    uow = FakeUnitOfWork(SETTINGS, now=now())
    await handle(uow, *p.setup())
    return p, uow


def recipients(uow: FakeUnitOfWork, rule: str) -> set[str]:
    """Who got a notification of the rule."""
    return {recipient for recipient, _, _ in uow.outgoing.sent(rule)}


async def held_meeting(p: Province, uow: FakeUnitOfWork) -> str:
    """A meeting of the cell held two hours ago (its minutes in)."""
    meeting_id = random_id("mtg")
    await handle(uow, p.scheduled(meeting_id, uow.now() - timedelta(hours=2)), p.minutes(meeting_id, uow.now()))
    return meeting_id


async def test_a_scheduled_meeting_notifies_expected_members_and_the_monitor_but_not_the_exempt() -> None:
    p, uow = await province()
    await handle(uow, p.scheduled(random_id("mtg"), uow.now() + timedelta(days=3)))
    assert recipients(uow, "meeting_scheduled") == {p.secretary, p.deputy, p.member, p.monitor}
    inbox = [d for d in uow.outgoing.deliveries if d.channel == "inbox"]
    assert len(inbox) == 4 and {e.type for e in uow.events} == {"notification.delivered.v1"}
    assert {d.channel for d in uow.outgoing.deliveries} == {"inbox", "email"}


async def test_a_meeting_already_started_raises_no_notice() -> None:
    p, uow = await province()
    await held_meeting(p, uow)
    assert recipients(uow, "meeting_scheduled") == set()


async def test_an_unexcused_absence_goes_to_the_cell_committee() -> None:
    p, uow = await province()
    meeting_id = await held_meeting(p, uow)
    await handle(uow, p.minutes(meeting_id, uow.now() - timedelta(minutes=10)))
    records = [
        {"member_id": p.secretary, "status": "present"},
        {"member_id": p.deputy, "status": "present"},
        {"member_id": p.member, "status": "absent"},
        {"member_id": p.exempt, "status": "exempt"},
    ]
    await handle(uow, event("attendance.recorded.v1", {"meeting_id": meeting_id, "records": records}))
    assert uow.outgoing.sent("unexcused_absence") == sorted(
        [(p.secretary, meeting_id, meeting_id), (p.deputy, meeting_id, meeting_id)]
    )


def attendance_updated(p: Province, meeting_id: str, *, in_a_row: int, months: int) -> CloudEvent:
    """member.attendance.updated.v1 of the plain member after a meeting."""
    return event(
        "member.attendance.updated.v1",
        {
            "member_id": p.member,
            "cell_id": p.cell,
            "meeting_id": meeting_id,
            "full_name": "Lê Văn Đức",
            "consecutive_absences": in_a_row,
            "consecutive_excused_absences": 0,
            "unexcused_months_last_year": months,
        },
    )


async def test_absent_more_than_three_meetings_in_a_row_goes_to_the_cell_and_superior_committees() -> None:
    p, uow = await province()
    meeting_id = await held_meeting(p, uow)
    await handle(uow, attendance_updated(p, meeting_id, in_a_row=3, months=2))
    assert recipients(uow, "consecutive_absences") == set() and recipients(uow, "unexcused_months") == set()
    await handle(uow, attendance_updated(p, meeting_id, in_a_row=4, months=3))
    assert recipients(uow, "consecutive_absences") == {p.secretary, p.deputy, p.committee}
    assert recipients(uow, "unexcused_months") == {p.secretary, p.deputy, p.committee}


def meeting_score(p: Province, meeting_id: str, rating: str, *, provisional: bool = False) -> CloudEvent:
    """score.meeting.updated.v1 of a meeting."""
    data: dict[str, Any] = {
        "meeting_id": meeting_id,
        "cell_id": p.cell,
        "framework": {"id": "f", "version": "1"},
        "score": {"good": 85.0, "average": 60.0, "poor": 40.0}[rating],
        "rating": rating,
        "provisional": provisional,
        "criteria": [],
    }
    return event("score.meeting.updated.v1", data, source="urn:chibo:evaluation")


async def run_due_jobs(uow: FakeUnitOfWork) -> int:
    """Fire every planned job due at the fake's clock, as the schedule runner does (each marked fired, or planned
    again when its run says so); the alerts created."""
    created = 0
    for job in sorted(uow.outgoing.jobs.values(), key=lambda item: (item.due_at, item.kind, item.subject_id)):
        if job.done_at is None and job.due_at <= uow.now():
            run = await run_job(Job(id=0, kind=job.kind, subject_id=job.subject_id, due_at=job.due_at, attempts=0), uow)
            created += run.created
            if run.again_at is not None:
                job.due_at = run.again_at
            else:
                job.done_at = uow.now()
    return created


async def test_average_and_poor_ratings_go_to_the_superior_committee_good_and_provisional_ones_do_not() -> None:
    p, uow = await province()
    good, provisional, average, poor = [await held_meeting(p, uow) for _ in range(4)]
    await handle(
        uow,
        meeting_score(p, good, "good"),
        meeting_score(p, provisional, "poor", provisional=True),
        meeting_score(p, average, "average"),
        meeting_score(p, poor, "poor"),
    )
    assert uow.outgoing.sent("meeting_rated_low") == []  # judged once the scores have settled
    uow.clock += timedelta(minutes=30)
    await run_due_jobs(uow)
    assert uow.outgoing.sent("meeting_rated_low") == sorted(
        [(p.committee, average, "average"), (p.committee, poor, "poor")]
    )
    committee = next(n for n in uow.outgoing.notifications.values() if n.rule == "meeting_rated_low")
    assert committee.recipient.kind == COMMITTEE and committee.recipient.emails == (p.email(p.committee),)


async def test_an_alert_reaches_each_recipient_once_whatever_the_repeats() -> None:
    p, uow = await province()
    meeting_id = await held_meeting(p, uow)
    first = attendance_updated(p, meeting_id, in_a_row=5, months=0)
    redelivered = attendance_updated(p, meeting_id, in_a_row=5, months=0)
    await handle(uow, first, first, redelivered)
    assert len(uow.outgoing.sent("consecutive_absences")) == 3
    secretary = Recipient(id=p.secretary, kind=PERSON, name="Nguyễn Văn Bình")
    subject_id, period = next(
        (n.subject_id, n.period) for n in uow.outgoing.notifications.values() if n.rule == "consecutive_absences"
    )
    assert (subject_id, period) == (meeting_id, meeting_id)  # one alert per recipient per meeting
    alert = Alert(
        rule="consecutive_absences", subject_id=subject_id, period=period, recipients=(secretary,), cell_id=p.cell
    )
    assert await raise_alerts([alert], uow) == 0
    assert len(uow.outgoing.deliveries) == 3 * 2
