"""A PostgreSQL outage longer than the old retry window (~7.5 s) dead-letters no event: the real notifications
process, the real broker and SMTP server, a throwaway database that refuses connections (ALTER DATABASE …
ALLOW_CONNECTIONS false, its backends terminated) while a meeting.scheduled.v1 is delivered; the delivery is held,
and once the database is back the notice is decided exactly once (one notification per recipient, one mail each)
and the dead letters are empty."""

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import aio_pika
import asyncpg

from shared.envelope import now
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, publish
from tests.notifications.test_service import setup_projected
from tests.support.db_outage import database_outage, dead_letters, held_mid_delivery
from tests.support.env import fresh_database, isolated_vhost
from tests.support.ids import random_id
from tests.support.running import eventually, smtp_server
from tests.support.serving import entered, health, service_process

OUTAGE_SECONDS = 10.0
"""Longer than the whole old retry budget (0.5+1+2+4 s over 5 deliveries)."""


async def test_an_event_delivered_while_the_database_refuses_connections_is_decided_once_it_is_back(
    infra: tuple[str, str], tmp_path: Path
) -> None:
    p = Province()
    meeting_id = random_id("mtg")
    expected = sorted(p.email(person) for person in (p.secretary, p.deputy, p.member, p.monitor))
    inbox = SmtpInbox()
    log = tmp_path / "notifications.log"
    with smtp_server(inbox) as smtp_port:
        async with (
            entered(isolated_vhost(infra[0])) as amqp_url,
            entered(fresh_database(infra[1])) as database_url,
            service_process(
                "notifications",
                amqp_url,
                database_url,
                log,
                env={
                    "CHIBO_SMTP_PORT": str(smtp_port),
                    "CHIBO_DEFAULT_PERSON_CHANNELS": '["email", "inbox"]',
                    "CHIBO_DEFAULT_COMMITTEE_CHANNELS": '["email", "inbox"]',
                    "CHIBO_DELIVERY_POLL_SECONDS": "0.2",
                    "CHIBO_RELAY_POLL_SECONDS": "0.2",
                },
            ) as serving,
            database_outage(database_url) as outage,
        ):
            db = await asyncpg.connect(database_url)
            try:
                await publish(amqp_url, p.setup())
                await setup_projected(db, p)
            finally:
                await db.close()
            connection = await aio_pika.connect(amqp_url)
            try:
                channel = await connection.channel()
                # the event's transaction is caught mid-way (waiting on a lock of the inbox), then the database goes
                # away: the delivery is held through the outage, past the old retry window, and not dead-lettered
                scheduled = p.scheduled(meeting_id, now() + timedelta(days=2))
                await held_mid_delivery(
                    outage,
                    database_url=database_url,
                    inbox_table="notifications.processed_message",
                    send=lambda: publish(amqp_url, [scheduled]),
                    channel=channel,
                    queue=NOTIFICATIONS_EVENTS,
                    health_url=serving.health_url,
                    seconds=OUTAGE_SECONDS,
                )
                await outage.end()

                def notice_mails() -> Counter[str]:
                    return Counter(
                        address
                        for message, recipients in zip(inbox.messages, inbox.envelopes, strict=True)
                        if str(message["X-Chibo-Rule"]) == "meeting_scheduled"
                        for address in recipients
                    )

                db = await asyncpg.connect(database_url)
                try:

                    async def decided_and_sent() -> bool:
                        pending = await db.fetchval(
                            "SELECT count(*) FROM notifications.delivery d"
                            " JOIN notifications.notification n ON n.id = d.notification_id"
                            " WHERE n.subject_id = $1 AND d.status = 'pending'",
                            meeting_id,
                        )
                        return pending == 0 and sorted(notice_mails()) == expected

                    await eventually(decided_and_sent, timeout=90, interval=0.3)
                    decided = await db.fetch(
                        "SELECT recipient_id, count(*) AS copies FROM notifications.notification"
                        " WHERE rule = 'meeting_scheduled' AND subject_id = $1 GROUP BY recipient_id",
                        meeting_id,
                    )
                    assert sorted(row["recipient_id"] for row in decided) == sorted(
                        [p.secretary, p.deputy, p.member, p.monitor]
                    )
                    assert all(row["copies"] == 1 for row in decided), decided
                    applied = await db.fetchval(
                        "SELECT count(*) FROM notifications.processed_message WHERE consumer = $1 AND event_id = $2",
                        NOTIFICATIONS_EVENTS.name,
                        scheduled.id,
                    )
                    assert applied == 1
                finally:
                    await db.close()
                await eventually(
                    lambda: asyncio.to_thread(lambda: "held_for_dependency" not in health(serving.health_url))
                )
                assert notice_mails() == Counter(dict.fromkeys(expected, 1))
                assert await dead_letters(channel, NOTIFICATIONS_EVENTS) == 0
                events = await channel.get_queue(NOTIFICATIONS_EVENTS.name, ensure=True)
                assert events.declaration_result.message_count == 0
            finally:
                await connection.close()
    text = await asyncio.to_thread(log.read_text, errors="replace")
    assert "dependency_unavailable_holding" in text and "dependency_available_again" in text
    assert "event_handler_failed" not in text  # the cut transaction was held, not counted toward the delivery limit
