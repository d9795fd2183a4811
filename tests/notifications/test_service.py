"""The running service against the real broker, database, SMTP server and webhook receiver."""

import asyncio
import hashlib
import hmac
import json
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage

import asyncpg

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.contracts import notifications_rpc as notifications
from shared.envelope import now
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.conftest import SmtpInbox, WebhookReceiver
from tests.notifications.events import Province, event, publish, publish_batches
from tests.support.ids import random_id
from tests.support.rpc import ask, rpc_client
from tests.support.running import eventually, running_app, settled


def plain_text(mail: EmailMessage) -> str:
    """The plain-text body of a mail (the test fails when it has none)."""
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def rules_by_recipient(inbox: SmtpInbox, addresses: list[str]) -> Counter[tuple[str, str, str]]:
    """(address, rule, title) of every mail to the given addresses, counted."""
    return Counter(
        (address, str(m["X-Chibo-Rule"]), str(m["Subject"])) for address in addresses for m in inbox.to(address)
    )


async def settle_rating(db: asyncpg.Connection, meeting_id: str) -> None:
    """Drive the meeting's settled-rating check (meeting_rated_low waits `settle_minutes` for a later score): once its
    low score planned it, make it due now and wait until the running service fired it."""
    query = "SELECT done_at IS NOT NULL FROM notifications.schedule WHERE kind = 'score.meeting' AND subject_id = $1"
    planned = "SELECT count(*) FROM notifications.schedule WHERE kind = 'score.meeting' AND subject_id = $1"
    await eventually(lambda: db.fetchval(planned, meeting_id))
    await db.execute(
        "UPDATE notifications.schedule SET due_at = now() WHERE kind = 'score.meeting' AND subject_id = $1"
        " AND done_at IS NULL",
        meeting_id,
    )
    await eventually(lambda: db.fetchval(query, meeting_id))


async def deliveries_settled(db: asyncpg.Connection, cell_id: str, rules: set[str]) -> bool:
    """Whether every delivery of the cell's notifications of these rules has ended (delivered or given up), so no
    copy of them can still come: a mail is counted only once nothing can add to it."""
    pending = await db.fetchval(
        "SELECT count(*) FROM notifications.delivery d JOIN notifications.notification n ON n.id = d.notification_id"
        " WHERE n.cell_id = $1 AND n.rule = ANY($2::text[]) AND d.status = 'pending'",
        cell_id,
        sorted(rules),
    )
    return pending == 0


def scheduled_mails(inbox: SmtpInbox, address: str) -> list[EmailMessage]:
    """The meeting_scheduled mails to an address: only this rule's, since the day's sweep, running beside, may tell
    a new cell's secretary of a month without meeting (the package's database is shared, so whether it does depends
    on the date, the hour and the tests before)."""
    return [m for m in inbox.to(address) if str(m["X-Chibo-Rule"]) == "meeting_scheduled"]


async def setup_projected(db: asyncpg.Connection, p: Province) -> None:
    """Wait until the service has projected the province's members and monitor (condition, not a sleep)."""
    people = [p.secretary, p.deputy, p.member, p.exempt]
    await eventually(
        lambda: db.fetchval(
            "SELECT (SELECT count(*) FROM notifications.member WHERE id = ANY($1::text[])) = $2"
            " AND EXISTS (SELECT 1 FROM notifications.monitor WHERE person_id = $3)",
            people,
            len(people),
            p.monitor,
        ),
        timeout=60,
    )


async def minutes_projected(db: asyncpg.Connection, meeting_id: str) -> None:
    """Wait until the service has stored the meeting's minutes (the meeting held: rosters then raise alerts)."""
    await eventually(
        lambda: db.fetchval(
            "SELECT 1 FROM notifications.meeting WHERE meeting_id = $1 AND minutes_submitted_at IS NOT NULL",
            meeting_id,
        )
    )


async def test_a_scheduled_meeting_reaches_expected_members_and_the_monitor_in_vietnamese(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    inbox, _ = smtp
    p = Province()
    meeting_id = random_id("mtg")
    async with running_app(build_app(settings)):
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        await publish(amqp_url, [p.scheduled(meeting_id, now() + timedelta(days=2))])
        expected = [p.secretary, p.deputy, p.member, p.monitor]

        def scheduled_to(person: str) -> list[EmailMessage]:
            return scheduled_mails(inbox, p.email(person))

        await eventually(lambda: all(scheduled_to(x) for x in expected), timeout=60)
        mail = scheduled_to(p.member)[0]
        assert str(mail["Subject"]).startswith("Thông báo lịch sinh hoạt: Chi bộ khu phố Đông, ")
        body = plain_text(mail)
        greeting = "Kính gửi các đồng chí đảng viên Chi bộ khu phố Đông,\n"  # the monitor has their own mail
        assert body.startswith(greeting) and "tại Nhà văn hóa khu phố Đông" in body
        # one text for the whole cell: one mail whose envelope names its members, its headers none of them; the
        # monitor's is their own mail, greeting them (a trial's greeted "các đồng chí đảng viên …" in it)
        members = expected[:-1]
        assert all(scheduled_to(x) == [mail] for x in members)
        assert not any(p.email(x) in str(value) for x in members for value in mail.values())
        [own] = scheduled_to(p.monitor)
        assert own is not mail and plain_text(own).startswith("Kính gửi đồng chí Võ Minh Tâm,\n"), plain_text(own)
        # worded for them alone, an upper-level member invited to attend, not summoned to report an absence
        assert "Kính mời đồng chí sắp xếp thời gian dự và chỉ đạo" in plain_text(own), plain_text(own)
        assert "các đồng chí" not in plain_text(own) and "bí thư" not in plain_text(own), plain_text(own)
        assert ", ngày " in body and "thứ " in body or "Chủ nhật" in body
        assert inbox.to(p.email(p.exempt)) == []

        async with rpc_client(amqp_url, timeout=10) as client:
            page = await ask(client, notifications.GetInbox(recipient_id=p.member, unread_only=True))
            assert page["total"] == 1 and page["items"][0]["rule"] == "meeting_scheduled"
            item = await ask(
                client,
                notifications.MarkRead(recipient_id=p.member, notification_id=page["items"][0]["notification_id"]),
            )
            assert item["read_at"] is not None
            unread = await ask(client, notifications.GetInbox(recipient_id=p.member, unread_only=True))
            assert unread["total"] == 0


async def test_facts_in_batch_messages_reach_each_recipient_once(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    """The same facts as one-type batch messages (a duplicate inside one): projected, and notified once each."""
    inbox, _ = smtp
    p = Province()
    meeting_id = random_id("mtg")
    async with running_app(build_app(settings)):
        setup = p.setup()
        await publish_batches(amqp_url, [*setup, setup[-1]])
        await setup_projected(db, p)
        scheduled = p.scheduled(meeting_id, now() + timedelta(days=2))
        await publish_batches(amqp_url, [scheduled, scheduled])
        expected = [p.secretary, p.deputy, p.member, p.monitor]
        await eventually(lambda: all(scheduled_mails(inbox, p.email(x)) for x in expected), timeout=60)
        await asyncio.sleep(1.0)
    for person in expected:
        mails = scheduled_mails(inbox, p.email(person))
        assert len(mails) == 1, person


async def test_score_and_history_batches_with_copies_reach_each_recipient_once(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    """Scores and attendance histories as batch messages (decided per batch by the batch handlers), a copy inside
    a batch and the whole batch again: each alert mailed once (the two runs crossing at one meeting in one)."""
    inbox, _ = smtp
    p = Province()
    held = random_id("mtg")
    scores = [
        event(
            "score.meeting.updated.v1",
            {
                "meeting_id": held,
                "cell_id": p.cell,
                "framework": {"id": "f", "version": "1"},
                "score": score,
                "rating": rating,
                "provisional": provisional,
                "criteria": [],
            },
            source="urn:chibo:evaluation",
        )
        for score, rating, provisional in ((55.0, "average", True), (45.0, "poor", False))
    ]
    histories = [
        event(
            "member.attendance.updated.v1",
            {
                "member_id": member_id,
                "cell_id": p.cell,
                "meeting_id": held,
                "full_name": "Lê Văn Đức",
                "consecutive_absences": count,
                "consecutive_excused_absences": 0,
                "unexcused_months_last_year": 0,
            },
            source="urn:chibo:evaluation",
        )
        for member_id, count in ((p.member, 4), (p.deputy, 5))
    ]
    async with running_app(build_app(settings)):
        await publish_batches(amqp_url, p.setup())
        await setup_projected(db, p)
        # held (its minutes in): only a held meeting is rated low
        await publish(amqp_url, [p.scheduled(held, now() - timedelta(hours=2)), p.minutes(held, now())])
        await eventually(
            lambda: db.fetchval(
                "SELECT 1 FROM notifications.meeting WHERE meeting_id = $1 AND minutes_submitted_at IS NOT NULL", held
            )
        )
        before = settled(NOTIFICATIONS_EVENTS.name)
        await publish_batches(amqp_url, [*scores, scores[-1]])
        await publish_batches(amqp_url, [*histories, histories[0]])
        await publish_batches(amqp_url, scores + histories)
        await eventually(lambda: settled(NOTIFICATIONS_EVENTS.name) - before >= 10, timeout=60)
        await settle_rating(db, held)
        rules = {"meeting_rated_low", "consecutive_absences"}
        await eventually(lambda: deliveries_settled(db, p.cell, rules), timeout=60, interval=0.5)
    committee = [m for m in inbox.to(p.email(p.committee)) if str(m["X-Chibo-Rule"]) in rules]
    counts = Counter((str(m["X-Chibo-Rule"]), str(m["Subject"])) for m in committee)
    # the member's and the deputy's runs crossed at one meeting: one alert naming both (one per recipient per meeting)
    assert sorted(rule for rule, _ in counts) == ["consecutive_absences", "meeting_rated_low"]
    assert all(count == 1 for count in counts.values()), counts
    assert "2 đảng viên vắng quá 3 buổi liên tiếp: Chi bộ khu phố Đông" in {subject for _, subject in counts}


async def test_every_event_twice_with_a_restart_in_the_middle_reaches_each_recipient_once(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    inbox, _ = smtp
    p = Province()
    before = settled(NOTIFICATIONS_EVENTS.name)
    future, past = random_id("mtg"), random_id("mtg")
    first = [*p.setup(), p.scheduled(future, now() + timedelta(days=2))]
    second = [
        p.scheduled(past, now() - timedelta(hours=2)),
        p.minutes(past, now() - timedelta(minutes=10)),  # held: its roster's absence alerts
        event(
            "attendance.recorded.v1",
            {
                "meeting_id": past,
                "records": [
                    {"member_id": p.secretary, "status": "present"},
                    {"member_id": p.deputy, "status": "present"},
                    {"member_id": p.member, "status": "absent"},
                    {"member_id": p.exempt, "status": "exempt"},
                ],
            },
        ),
        event(
            "member.attendance.updated.v1",
            {
                "member_id": p.member,
                "cell_id": p.cell,
                "meeting_id": past,
                "full_name": "Lê Văn Đức",
                "consecutive_absences": 4,
                "consecutive_excused_absences": 0,
                "unexcused_months_last_year": 1,
            },
        ),
        event(
            "score.meeting.updated.v1",
            {
                "meeting_id": past,
                "cell_id": p.cell,
                "framework": {"id": "f", "version": "1"},
                "score": 45.0,
                "rating": "poor",
                "provisional": False,
                "criteria": [],
            },
            source="urn:chibo:evaluation",
        ),
    ]
    async with running_app(build_app(settings)):
        await publish(amqp_url, first)
        await eventually(lambda: inbox.to(p.email(p.monitor)), timeout=60)
        await publish(amqp_url, second[:2])
    # restart: the second half and every duplicate arrive at a new process
    async with running_app(build_app(settings)):
        await publish(amqp_url, second[2:])
        await publish(amqp_url, first + second)
        expected = {
            (p.email(p.secretary), "meeting_scheduled"),
            (p.email(p.deputy), "meeting_scheduled"),
            (p.email(p.member), "meeting_scheduled"),
            (p.email(p.monitor), "meeting_scheduled"),
            (p.email(p.secretary), "unexcused_absence"),
            (p.email(p.deputy), "unexcused_absence"),
            (p.email(p.secretary), "consecutive_absences"),
            (p.email(p.deputy), "consecutive_absences"),
            (p.email(p.committee), "consecutive_absences"),
            (p.email(p.committee), "meeting_rated_low"),
        }
        addresses = [p.email(x) for x in (p.secretary, p.deputy, p.member, p.exempt, p.monitor, p.committee)]

        def received() -> set[tuple[str, str]]:
            return {(address, rule) for address, rule, _ in rules_by_recipient(inbox, addresses)}

        await settle_rating(db, past)
        await eventually(lambda: expected <= received(), timeout=30)
        # every copy of every event settled (each was sent twice) and every delivery done: no late duplicate can come
        copies = 2 * sum(1 for item in first + second if item.type in NOTIFICATIONS_EVENTS.routing_keys)
        await eventually(lambda: settled(NOTIFICATIONS_EVENTS.name) - before >= copies, timeout=60)
        # (a delivery a stopped process had claimed waits for its lease, 120 s, before it is sent again)
        rules = {rule for _, rule in expected}
        await eventually(lambda: deliveries_settled(db, p.cell, rules), timeout=180, interval=0.5)
        counts = rules_by_recipient(inbox, addresses)
        assert all(count == 1 for count in counts.values()), counts
        assert (p.email(p.member), "unexcused_absence") not in received()
        rows = await db.fetch(
            "SELECT rule, subject_id, recipient_id, period, count(*) AS n FROM notifications.notification"
            " WHERE cell_id = $1 GROUP BY 1, 2, 3, 4",
            p.cell,
        )
        assert rows and all(row["n"] == 1 for row in rows)
        body = next(m for m in inbox.to(p.email(p.committee)) if str(m["X-Chibo-Rule"]) == "meeting_rated_low")
        assert "xếp loại Kém" in plain_text(body)


async def test_a_reminder_due_while_the_service_is_down_fires_once_when_it_returns(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    inbox, _ = smtp
    p = Province()
    meeting_id = random_id("mtg")
    async with running_app(build_app(settings)):
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        # the reminder (3 h before) falls due a few seconds from now, while the service is down
        await publish(amqp_url, [p.scheduled(meeting_id, now() + timedelta(hours=3, seconds=6))])
        await eventually(
            lambda: db.fetchval(
                "SELECT due_at FROM notifications.schedule WHERE kind = 'meeting.reminder' AND subject_id = $1",
                meeting_id,
            )
        )
    due = await db.fetchval(
        "SELECT due_at FROM notifications.schedule WHERE kind = 'meeting.reminder' AND subject_id = $1", meeting_id
    )
    assert due > now()
    await asyncio.sleep((due - now()).total_seconds() + 1)
    reminders = [m for m in inbox.to(p.email(p.member)) if str(m["X-Chibo-Rule"]) == "meeting_reminder"]
    assert reminders == []
    async with running_app(build_app(settings)):
        await eventually(
            lambda: [m for m in inbox.to(p.email(p.member)) if str(m["X-Chibo-Rule"]) == "meeting_reminder"], timeout=60
        )
        await eventually(  # the reminder is done and every delivery of it settled: no second copy can follow
            lambda: db.fetchval(
                "SELECT done_at IS NOT NULL FROM notifications.schedule"
                " WHERE kind = 'meeting.reminder' AND subject_id = $1",
                meeting_id,
            ),
            timeout=30,
        )
        await eventually(lambda: deliveries_settled(db, p.cell, {"meeting_reminder"}), timeout=60)
    for person in (p.secretary, p.deputy, p.member, p.monitor):
        mails = [m for m in inbox.to(p.email(person)) if str(m["X-Chibo-Rule"]) == "meeting_reminder"]
        assert len(mails) == 1, person
    assert "Nhắc lịch sinh hoạt: Chi bộ khu phố Đông" in str(mails[0]["Subject"])
    assert await db.fetchval(
        "SELECT done_at IS NOT NULL FROM notifications.schedule WHERE kind = 'meeting.reminder' AND subject_id = $1",
        meeting_id,
    )


async def test_a_failing_webhook_is_retried_with_backoff_listed_as_failed_and_retryable(
    settings: Settings, webhook: WebhookReceiver, amqp_url: str, db: asyncpg.Connection
) -> None:
    settings = settings.model_copy(update={"delivery_max_attempts": 2})
    p = Province()
    meeting_id = random_id("mtg")
    webhook.status = 500
    async with running_app(build_app(settings)), rpc_client(amqp_url, timeout=10) as client:
        await publish(amqp_url, p.setup())
        prefs = await ask(
            client,
            notifications.SetPreferences(
                recipient_id=p.member,
                channels=["webhook", "inbox"],
                digest=False,
                webhook_url=webhook.url,
                webhook_secret="khóa-bí-mật",
            ),
        )
        assert prefs["channels"] == ["webhook", "inbox"] and prefs["webhook_secret_set"] is True
        assert "khóa-bí-mật" not in json.dumps(prefs, ensure_ascii=False)
        stored = await db.fetchrow(
            "SELECT webhook_secret, webhook_secret_sealed FROM notifications.preference WHERE recipient_id = $1",
            p.member,
        )
        assert stored["webhook_secret"] is None and "khóa-bí-mật" not in stored["webhook_secret_sealed"]
        await publish(amqp_url, [p.scheduled(meeting_id, now() + timedelta(days=3))])

        async def failed() -> dict | None:
            page = await ask(client, notifications.ListFailedDeliveries(limit=100, offset=0))
            return next((d for d in page["items"] if d["recipient_id"] == p.member), None)

        delivery = await eventually(failed, timeout=60)
        assert delivery["channel"] == "webhook" and delivery["attempts"] == 2 and "HTTP 500" in delivery["last_error"]
        assert (
            await db.fetchval(
                "SELECT count(*) FROM notifications.outbox WHERE type = 'notification.failed.v1'"
                " AND payload->'data'->>'notification_id' = $1",
                delivery["notification_id"],
            )
            == 1
        )

        webhook.status = 200
        retried = await ask(client, notifications.RetryDelivery(delivery_id=delivery["delivery_id"]))
        assert retried["status"] == "pending"

        async def delivered() -> dict | None:
            found = await ask(client, notifications.GetDelivery(delivery_id=delivery["delivery_id"]))
            return found if found["status"] == "delivered" else None

        done = await eventually(delivered, timeout=60)
        assert [entry["outcome"] for entry in done["log"]] == ["pending", "failed", "retry_requested", "delivered"]
        headers, body = next(
            (h, b)
            for h, b in reversed(webhook.requests)
            if h.get("x-chibo-notification") == delivery["notification_id"]
        )
        expected = "sha256=" + hmac.new("khóa-bí-mật".encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-chibo-signature"] == expected
        payload = json.loads(body)
        assert payload["recipient"]["id"] == p.member and payload["title"].startswith("Thông báo lịch sinh hoạt")
        assert (
            await db.fetchval(
                "SELECT count(*) FROM notifications.outbox WHERE type = 'notification.delivered.v1'"
                " AND payload->'data'->>'notification_id' = $1 AND payload->'data'->>'channel' = 'webhook'",
                delivery["notification_id"],
            )
            == 1
        )
