"""A delivery held through a database outage when the service stops is handed back without spending its delivery
limit: the real notifications process, a meeting.scheduled.v1 caught mid-transaction, the database cut (its own
throwaway one) and the service stopped (SIGTERM, a graceful shutdown) while it holds the delivery. The message waits
in the queue with none of its deliveries counted (before, the broker took it back at the channel's close and counted
one: `x-delivery-count` 1); once the database is back and the service started again the notice is decided exactly
once."""

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import aio_pika
import asyncpg

from shared.consuming import DELIVERIES_HEADER, delivery_count
from shared.envelope import now
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, publish
from tests.notifications.test_service import setup_projected
from tests.support.db_outage import database_outage, dead_letters, held_mid_delivery, put_back
from tests.support.env import fresh_database, isolated_vhost
from tests.support.ids import random_id
from tests.support.running import eventually, smtp_server
from tests.support.serving import entered, service_process

HELD_SECONDS = 1.0
ENV = {
    "CHIBO_DEFAULT_PERSON_CHANNELS": '["email", "inbox"]',
    "CHIBO_DEFAULT_COMMITTEE_CHANNELS": '["email", "inbox"]',
    "CHIBO_DELIVERY_POLL_SECONDS": "0.2",
    "CHIBO_RELAY_POLL_SECONDS": "0.2",
}


async def test_a_delivery_held_when_the_service_stops_goes_back_uncounted_and_is_applied_once_after_restart(
    infra: tuple[str, str], tmp_path: Path
) -> None:
    p = Province()
    meeting_id = random_id("mtg")
    recipients = [p.secretary, p.deputy, p.member, p.monitor]
    inbox = SmtpInbox()
    log = tmp_path / "notifications.log"
    with smtp_server(inbox) as smtp_port:
        env = {**ENV, "CHIBO_SMTP_PORT": str(smtp_port)}
        async with (
            entered(isolated_vhost(infra[0])) as amqp_url,
            entered(fresh_database(infra[1])) as database_url,
            database_outage(database_url) as outage,
        ):
            connection = await aio_pika.connect(amqp_url)
            try:
                channel = await connection.channel(publisher_confirms=True)
                scheduled = p.scheduled(meeting_id, now() + timedelta(days=2))
                async with service_process("notifications", amqp_url, database_url, log, env=env) as serving:
                    db = await asyncpg.connect(database_url)
                    try:
                        await publish(amqp_url, p.setup())
                        await setup_projected(db, p)
                    finally:
                        await db.close()
                    await held_mid_delivery(
                        outage,
                        database_url=database_url,
                        inbox_table="notifications.processed_message",
                        send=lambda: publish(amqp_url, [scheduled]),
                        channel=channel,
                        queue=NOTIFICATIONS_EVENTS,
                        health_url=serving.health_url,
                        seconds=HELD_SECONDS,
                    )
                    serving.process.terminate()  # a graceful stop while the delivery is held
                    await asyncio.wait_for(serving.process.wait(), 60)
                    stopped = await asyncio.to_thread(log.read_text, errors="replace")
                    assert "service_stopped" in stopped, stopped[-3000:]  # uvicorn re-raises SIGTERM once done

                # the message is back in its queue, none of its deliveries spent
                queue = await channel.get_queue(NOTIFICATIONS_EVENTS.name, ensure=True)
                waiting = await eventually(lambda: queue.get(fail=False, no_ack=False), timeout=30, interval=0.2)
                assert waiting.message_id == scheduled.id
                assert delivery_count(waiting) == 0, waiting.headers  # before: x-delivery-count 1
                assert await queue.get(fail=False) is None  # handed back once, not copied twice
                # put it back as it was (a reject would count a delivery, which is what this test looks for)
                await put_back(channel, waiting, NOTIFICATIONS_EVENTS.name)
                assert (waiting.headers or {}).get(DELIVERIES_HEADER) == 0
                await outage.end()

                def notice_mails() -> Counter[str]:
                    return Counter(
                        address
                        for message, addresses in zip(inbox.messages, inbox.envelopes, strict=True)
                        if str(message["X-Chibo-Rule"]) == "meeting_scheduled"
                        for address in addresses
                    )

                async with service_process("notifications", amqp_url, database_url, log, env=env):
                    db = await asyncpg.connect(database_url)
                    try:

                        async def decided() -> bool:
                            rows = await db.fetch(
                                "SELECT recipient_id FROM notifications.notification"
                                " WHERE rule = 'meeting_scheduled' AND subject_id = $1",
                                meeting_id,
                            )
                            return len(rows) >= len(recipients) and len(notice_mails()) >= len(recipients)

                        await eventually(decided, timeout=90, interval=0.3)
                        decided_rows = await db.fetch(
                            "SELECT recipient_id, count(*) AS copies FROM notifications.notification"
                            " WHERE rule = 'meeting_scheduled' AND subject_id = $1 GROUP BY recipient_id",
                            meeting_id,
                        )
                        assert sorted(row["recipient_id"] for row in decided_rows) == sorted(recipients)
                        assert all(row["copies"] == 1 for row in decided_rows), decided_rows
                        applied = await db.fetchval(
                            "SELECT count(*) FROM notifications.processed_message"
                            " WHERE consumer = $1 AND event_id = $2",
                            NOTIFICATIONS_EVENTS.name,
                            scheduled.id,
                        )
                        assert applied == 1
                    finally:
                        await db.close()
                assert notice_mails() == Counter(dict.fromkeys(sorted(p.email(person) for person in recipients), 1))
                assert await dead_letters(channel, NOTIFICATIONS_EVENTS) == 0
            finally:
                await connection.close()
    text = await asyncio.to_thread(log.read_text, errors="replace")
    assert "delivery_handed_back" in text
    assert "event_handler_failed" not in text  # the held delivery never counted as a failure
