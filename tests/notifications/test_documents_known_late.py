"""A meeting that becomes known with its documents' deadline (24 h before the start) already past: the running service
against the real broker, database and SMTP server. How long its documents_missing mail waits is the late-records grace
(Settings.late_records_grace_minutes, docs/architecture.md "Notifications"), nothing else: with no grace the job loop
fires it at once, once, and a history load's meetings already begun mail nobody."""

from datetime import timedelta

import asyncpg

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import now
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, publish
from tests.notifications.test_service import deliveries_settled, setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app


async def documents_mails(inbox: SmtpInbox, db: asyncpg.Connection, address: str, meeting_id: str) -> list[str]:
    """The titles of the documents_missing mails to `address` about the meeting (by their X-Chibo-Notification)."""
    ids = await db.fetch(
        "SELECT id::text FROM notifications.notification WHERE rule = 'documents_missing' AND subject_id = $1",
        meeting_id,
    )
    notifications = {row[0] for row in ids}
    return [str(mail["Subject"]) for mail in inbox.to(address) if str(mail["X-Chibo-Notification"]) in notifications]


async def documents_checked(db: asyncpg.Connection, meeting_ids: list[str]) -> bool:
    """Whether no documents check of these meetings is still to run (fired, found nothing to say, or never planned:
    a meeting already begun has no deadline ahead to check)."""
    pending: int = await db.fetchval(
        "SELECT count(*) FROM notifications.schedule"
        " WHERE kind = 'meeting.documents' AND subject_id = ANY($1::text[]) AND done_at IS NULL",
        meeting_ids,
    )
    return pending == 0


async def test_a_meeting_known_under_a_day_ahead_without_a_grace_mails_its_secretary_at_once_and_once(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    inbox, _ = smtp
    p = Province()
    tomorrow, begun, last_year = random_id("mtg"), random_id("mtg"), random_id("mtg")
    prompt = settings.model_copy(update={"late_records_grace_minutes": 0})
    async with running_app(build_app(prompt)):
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        # the trial's demo: meetings of tomorrow, their documents due 24 h before, known only now; with them a
        # history load's meetings already begun (an hour ago, a year ago), whose documents' deadlines passed long ago
        published = now()
        await publish(
            amqp_url,
            [
                p.scheduled(tomorrow, published + timedelta(hours=12)),
                p.scheduled(begun, published - timedelta(hours=1)),
                p.scheduled(last_year, published - timedelta(days=365)),
            ],
        )
        secretary = p.email(p.secretary)
        # seconds, not the half hour the grace takes: bounded by the schedule poll and a loaded machine
        await eventually(lambda: documents_mails(inbox, db, secretary, tomorrow), timeout=20)
        waited = (now() - published).total_seconds()
        assert waited < 20, waited
        await eventually(lambda: documents_checked(db, [tomorrow, begun, last_year]), timeout=20)
        await eventually(lambda: deliveries_settled(db, p.cell, {"documents_missing"}), timeout=20)
        [title] = await documents_mails(inbox, db, secretary, tomorrow)
        assert title, title
        assert await documents_mails(inbox, db, secretary, begun) == []
        assert await documents_mails(inbox, db, secretary, last_year) == []
        sent: int = await db.fetchval(
            "SELECT count(*) FROM notifications.notification WHERE rule = 'documents_missing' AND cell_id = $1",
            p.cell,
        )
        assert sent == 1, sent
