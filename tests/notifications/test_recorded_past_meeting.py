"""A meeting first known with its records already late (a secretary recording a meeting held 4 days ago, then its
roster and minutes) gets the late-records grace before minutes_late fires (Settings.late_records_grace_minutes): the
running service against the real broker, database and SMTP server.

A new user's trial: the secretary got "Chưa hoàn thiện biên bản, nghị quyết … chi bộ chưa nộp biên bản" one second
after recording the meeting, while entering its minutes as the form asks."""

from datetime import timedelta

import asyncpg

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import now
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, event, publish
from tests.notifications.test_service import deliveries_settled, setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app

GRACE_MINUTES = 0.25
"""15 s: long enough for the records sent right after the meeting to arrive, short enough to wait for."""


async def late_mails(inbox: SmtpInbox, db: asyncpg.Connection, address: str, meeting_id: str) -> list[str]:
    """The titles of the minutes_late mails to `address` about the meeting (by their X-Chibo-Notification)."""
    ids = await db.fetch(
        "SELECT id::text FROM notifications.notification WHERE rule = 'minutes_late' AND subject_id = $1", meeting_id
    )
    notifications = {row[0] for row in ids}
    return [str(mail["Subject"]) for mail in inbox.to(address) if str(mail["X-Chibo-Notification"]) in notifications]


async def check_ran(db: asyncpg.Connection, meeting_id: str) -> bool:
    """Whether the meeting's late-records check for the secretary has run at least once: fired, or planned again
    after the moment it was first planned (its deadline, 2 days after the meeting, was before that)."""
    ran: bool | None = await db.fetchval(
        "SELECT done_at IS NOT NULL OR due_at > created_at FROM notifications.schedule"
        " WHERE kind = 'meeting.minutes' AND subject_id = $1",
        meeting_id,
    )
    return bool(ran)


async def check_fired(db: asyncpg.Connection, meeting_id: str) -> bool:
    """Whether the meeting's late-records check for the secretary has fired."""
    fired: bool | None = await db.fetchval(
        "SELECT done_at IS NOT NULL FROM notifications.schedule WHERE kind = 'meeting.minutes' AND subject_id = $1",
        meeting_id,
    )
    return bool(fired)


async def test_a_past_meeting_recorded_then_given_its_records_within_the_grace_sends_no_late_mail(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    inbox, _ = smtp
    p = Province()
    recorded, unrecorded = random_id("mtg"), random_id("mtg")
    held_at = now() - timedelta(days=4)
    graced = settings.model_copy(update={"late_records_grace_minutes": GRACE_MINUTES})
    async with running_app(build_app(graced)):
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        await publish(amqp_url, [p.scheduled(recorded, held_at), p.scheduled(unrecorded, held_at)])
        # its late check has run once (fired, or put off), as a second passed in the trial before the minutes came
        await eventually(lambda: check_ran(db, recorded), timeout=60)
        # the secretary enters the minutes and the final documents right after recording it
        documents = {
            "meeting_id": recorded,
            "published_at": now().isoformat(),
            "items": [{"title": "Biên bản", "kind": "minutes"}, {"title": "Nghị quyết", "kind": "resolution"}],
        }
        await publish(
            amqp_url,
            [
                p.minutes(recorded, held_at + timedelta(hours=2), started_at=held_at.isoformat()),
                event("documents.published.v1", documents),
            ],
        )

        # the meeting never given its records is still called late, once the grace is over
        secretary = p.email(p.secretary)
        await eventually(lambda: late_mails(inbox, db, secretary, unrecorded), timeout=120)
        [title] = await late_mails(inbox, db, secretary, unrecorded)
        assert title.startswith("Chưa hoàn thiện biên bản, nghị quyết"), title
        # the recorded one's check ran too, and found its records complete
        await eventually(lambda: check_fired(db, recorded), timeout=120)
        await eventually(lambda: deliveries_settled(db, p.cell, {"minutes_late"}), timeout=60)
        assert await late_mails(inbox, db, secretary, recorded) == []


async def check_ran_after_move(db: asyncpg.Connection, meeting_id: str) -> bool:
    """Whether the meeting's late-records check for the secretary has run at least once since a move put its
    deadline in the past: fired, or planned again within the hour (put off by the grace; its deadline before the
    move was days ahead)."""
    ran: bool | None = await db.fetchval(
        "SELECT done_at IS NOT NULL OR (due_at > now() AND due_at < now() + interval '1 hour')"
        " FROM notifications.schedule WHERE kind = 'meeting.minutes' AND subject_id = $1",
        meeting_id,
    )
    return bool(ran)


async def known_past_grace(db: asyncpg.Connection, meeting_id: str) -> bool:
    """Whether the meeting's late-records check for the secretary was planned more than the grace ago (a move now
    finds no grace left from when the meeting first became known)."""
    found: bool | None = await db.fetchval(
        "SELECT created_at < now() - $2 * interval '1 minute' FROM notifications.schedule"
        " WHERE kind = 'meeting.minutes' AND subject_id = $1",
        meeting_id,
        GRACE_MINUTES,
    )
    return bool(found)


async def test_a_known_meeting_moved_to_a_past_start_then_given_its_records_within_the_grace_sends_no_late_mail(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    inbox, _ = smtp
    p = Province()
    recorded, unrecorded = random_id("mtg"), random_id("mtg")
    graced = settings.model_copy(update={"late_records_grace_minutes": GRACE_MINUTES})
    async with running_app(build_app(graced)):
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        ahead = now() + timedelta(days=3)
        await publish(amqp_url, [p.scheduled(recorded, ahead), p.scheduled(unrecorded, ahead)])
        for meeting_id in (recorded, unrecorded):
            await eventually(lambda meeting_id=meeting_id: known_past_grace(db, meeting_id), timeout=60)
        # its secretary corrects its start to when it was held, 4 days ago (h371): its deadlines are past at once
        held_at = now() - timedelta(days=4)
        await publish(
            amqp_url,
            [
                event("meeting.rescheduled.v1", {"meeting_id": meeting_id, "starts_at": held_at.isoformat()})
                for meeting_id in (recorded, unrecorded)
            ],
        )
        await eventually(lambda: check_ran_after_move(db, recorded), timeout=60)
        documents = {
            "meeting_id": recorded,
            "published_at": now().isoformat(),
            "items": [{"title": "Biên bản", "kind": "minutes"}, {"title": "Nghị quyết", "kind": "resolution"}],
        }
        await publish(
            amqp_url,
            [
                p.minutes(recorded, held_at + timedelta(hours=2), started_at=held_at.isoformat()),
                event("documents.published.v1", documents),
            ],
        )

        # the meeting never given its records is still called late, once the grace is over
        secretary = p.email(p.secretary)
        await eventually(lambda: late_mails(inbox, db, secretary, unrecorded), timeout=120)
        [title] = await late_mails(inbox, db, secretary, unrecorded)
        assert title.startswith("Chưa hoàn thiện biên bản, nghị quyết"), title
        await eventually(lambda: check_fired(db, recorded), timeout=120)
        await eventually(lambda: deliveries_settled(db, p.cell, {"minutes_late"}), timeout=60)
        assert await late_mails(inbox, db, secretary, recorded) == []
