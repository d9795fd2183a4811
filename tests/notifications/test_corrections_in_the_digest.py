"""A recipient who reads alerts as a daily digest reads the correction of one the same way: the roster corrected
after a digest listed its unexcused absence, the next digest lists the correction (no mail of its own); corrected
before the digest went, the digest lists neither. The running service against the real broker, database and SMTP
server; the digest job fired by the test, as the schedule fires it at the digest hour."""

from collections import Counter
from datetime import date, timedelta

import asyncpg

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from services.notifications.handlers.jobs import send_digests
from services.notifications.repository.outgoing import Preference
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.envelope import now
from shared.periods import VIETNAM_TZ
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, publish
from tests.notifications.test_corrected_roster import roster
from tests.notifications.test_service import minutes_projected, plain_text, setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app


async def fire_digest(pool: asyncpg.Pool, settings: Settings, day: date) -> None:
    """The daily digest job of `day`, as the schedule runs it: every digest waiting up to now."""
    async with NotificationsUnitOfWork(pool, settings=settings) as uow:
        await send_digests(uow, day=day, until=uow.now())
        await uow.commit()


async def choose_digest(pool: asyncpg.Pool, settings: Settings, recipient_id: str) -> None:
    """The recipient chose the daily digest, by e-mail (and the inbox)."""
    async with NotificationsUnitOfWork(pool, settings=settings) as uow:
        await uow.outgoing.set_preference(
            Preference(recipient_id=recipient_id, channels=("email", "inbox"), digest=True)
        )
        await uow.commit()


async def own_digest_job_settled(db: asyncpg.Connection, day: date) -> bool:
    """Whether the running service's own digest job of `day` is planned and has fired, or is not due yet: it fires
    on start-up once past the digest hour, and must not take the test's notices into a digest of its own."""
    return bool(
        await db.fetchval(
            "SELECT done_at IS NOT NULL OR due_at > now() FROM notifications.schedule"
            " WHERE kind = 'daily.digest' AND subject_id = $1",
            day.isoformat(),
        )
    )


async def pending_for_digest(db: asyncpg.Connection, recipient_id: str, rule: str) -> int:
    """How many of the recipient's notices of the rule wait for their digest."""
    return int(
        await db.fetchval(
            "SELECT count(*) FROM notifications.notification WHERE recipient_id = $1 AND rule = $2 AND digest_pending",
            recipient_id,
            rule,
        )
    )


async def test_a_correction_of_an_alert_a_digest_listed_comes_in_the_next_digest(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    inbox, _ = smtp
    p = Province()
    meeting_id = random_id("mtg")
    first = roster(meeting_id, p, "absent", minutes_later=0).model_copy(update={"time": now()})
    corrected = roster(meeting_id, p, "excused", minutes_later=0).model_copy(
        update={"time": now() + timedelta(seconds=1)}
    )
    secretary, deputy = p.email(p.secretary), p.email(p.deputy)
    await choose_digest(pool, settings, p.secretary)

    def mails(address: str) -> Counter[str]:
        return Counter(str(m["X-Chibo-Rule"]) for m in inbox.to(address))

    def digests() -> list[str]:
        return [plain_text(m) for m in inbox.to(secretary) if m["X-Chibo-Rule"] == "daily_digest"]

    today = now().astimezone(VIETNAM_TZ).date()
    async with running_app(build_app(settings)):
        await eventually(lambda: own_digest_job_settled(db, now().astimezone(VIETNAM_TZ).date()), timeout=60)
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        await publish(amqp_url, [p.scheduled(meeting_id, now() - timedelta(hours=2)), p.minutes(meeting_id, now())])
        await minutes_projected(db, meeting_id)
        await publish(amqp_url, [first])
        await eventually(lambda: mails(deputy)["unexcused_absence"] == 1, timeout=60, interval=0.5)
        await eventually(lambda: pending_for_digest(db, p.secretary, "unexcused_absence"), timeout=60)
        await fire_digest(pool, settings, today)
        await eventually(lambda: len(digests()) == 1, timeout=60, interval=0.5)
        assert "Vắng sinh hoạt không có lý do (1):" in digests()[0]

        await publish(amqp_url, [corrected])
        await eventually(lambda: mails(deputy)["absence_corrected"] == 1, timeout=60, interval=0.5)
        await eventually(lambda: pending_for_digest(db, p.secretary, "absence_corrected"), timeout=60)
        await fire_digest(pool, settings, today + timedelta(days=1))
        await eventually(lambda: len(digests()) == 2, timeout=60, interval=0.5)

    assert mails(secretary) == Counter({"daily_digest": 2})  # the digests only, as the secretary chose
    body = digests()[1]
    assert "Kính gửi đồng chí Nguyễn Văn Bình" in body, body
    assert "có 1 đính chính thông báo đã gửi:" in body, body
    assert "Đính chính thông báo vắng mặt không lý do đã gửi (1):" in body, body
    assert "1. Đính chính thông báo vắng mặt không lý do: Lê Văn Đức, Chi bộ khu phố Đông" in body, body
    assert "Vắng sinh hoạt không có lý do (" not in body, body  # the alert itself is not listed again


async def test_an_alert_corrected_before_the_digest_went_is_in_no_digest(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    inbox, _ = smtp
    p = Province()
    meeting_id = random_id("mtg")
    first = roster(meeting_id, p, "absent", minutes_later=0).model_copy(update={"time": now()})
    corrected = roster(meeting_id, p, "excused", minutes_later=0).model_copy(
        update={"time": now() + timedelta(seconds=1)}
    )
    await choose_digest(pool, settings, p.secretary)
    async with running_app(build_app(settings)):
        await eventually(lambda: own_digest_job_settled(db, now().astimezone(VIETNAM_TZ).date()), timeout=60)
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        await publish(amqp_url, [p.scheduled(meeting_id, now() - timedelta(hours=2)), p.minutes(meeting_id, now())])
        await minutes_projected(db, meeting_id)
        await publish(amqp_url, [first])
        await eventually(lambda: pending_for_digest(db, p.secretary, "unexcused_absence"), timeout=60)
        await publish(amqp_url, [corrected])
        await eventually(
            lambda: db.fetchval(
                "SELECT void_reason = 'corrected' FROM notifications.notification"
                " WHERE recipient_id = $1 AND rule = 'unexcused_absence'",
                p.secretary,
            ),
            timeout=60,
        )
        await fire_digest(pool, settings, now().astimezone(VIETNAM_TZ).date())
        digest = await db.fetchval(
            "SELECT count(*) FROM notifications.notification WHERE recipient_id = $1 AND rule = 'daily_digest'",
            p.secretary,
        )
    assert digest == 0  # nothing untrue went out: nothing to list, nothing to correct
    assert await pending_for_digest(db, p.secretary, "absence_corrected") == 0
    assert [m for m in inbox.to(p.email(p.secretary))] == []
