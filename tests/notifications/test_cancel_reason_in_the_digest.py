"""A member who reads alerts as a daily digest reads a cancellation's new reason the same way: the reason changed
after a digest listed the cancellation, the next digest lists the update (no mail of its own), as those mailed the
cancellation get one short follow-up mail. The running service against the real broker, database and SMTP server;
the digest job fired by the test, as the schedule fires it at the digest hour."""

from collections import Counter
from datetime import timedelta

import asyncpg

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import CloudEvent, now
from shared.periods import VIETNAM_TZ
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, event, publish
from tests.notifications.test_corrections_in_the_digest import (
    choose_digest,
    fire_digest,
    own_digest_job_settled,
    pending_for_digest,
)
from tests.notifications.test_service import plain_text, setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app

FIRST = "Trùng lịch họp của Đảng ủy phường"
LATEST = "Mưa bão, đường vào khu phố bị ngập"


async def test_a_new_cancellation_reason_after_a_digest_listed_the_cancellation_comes_in_the_next_digest(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    inbox, _ = smtp
    p = Province()
    meeting_id = random_id("mtg")
    secretary, deputy = p.email(p.secretary), p.email(p.deputy)
    await choose_digest(pool, settings, p.secretary)  # the secretary chose the daily digest

    def mails(address: str) -> Counter[str]:
        return Counter(str(m["X-Chibo-Rule"]) for m in inbox.to(address))

    def digests() -> list[str]:
        return [plain_text(m) for m in inbox.to(secretary) if m["X-Chibo-Rule"] == "daily_digest"]

    def cancel(reason: str, seconds: int) -> CloudEvent:
        return event(
            "meeting.cancelled.v1",
            {"meeting_id": meeting_id, "reason": reason},
            time=now() + timedelta(seconds=seconds),
        )

    today = now().astimezone(VIETNAM_TZ).date()
    async with running_app(build_app(settings)):
        await eventually(lambda: own_digest_job_settled(db, now().astimezone(VIETNAM_TZ).date()), timeout=60)
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        await publish(amqp_url, [p.scheduled(meeting_id, now() + timedelta(days=10)), cancel(FIRST, 0)])
        await eventually(lambda: mails(deputy)["meeting_cancelled"] == 1, timeout=60, interval=0.5)
        await eventually(lambda: pending_for_digest(db, p.secretary, "meeting_cancelled"), timeout=60)
        await fire_digest(pool, settings, today)
        await eventually(lambda: len(digests()) == 1, timeout=60, interval=0.5)
        assert "Buổi sinh hoạt bị hủy (1):" in digests()[0], digests()[0]

        await publish(amqp_url, [cancel(LATEST, 1)])
        await eventually(lambda: mails(deputy)["meeting_cancel_updated"] == 1, timeout=60, interval=0.5)
        await eventually(lambda: pending_for_digest(db, p.secretary, "meeting_cancel_updated"), timeout=60)
        await fire_digest(pool, settings, today + timedelta(days=1))
        await eventually(lambda: len(digests()) == 2, timeout=60, interval=0.5)

    assert mails(secretary) == Counter({"daily_digest": 2})  # the digests only, as the secretary chose
    body = digests()[1]
    assert "Kính gửi đồng chí Nguyễn Văn Bình" in body, body
    assert "Cập nhật lý do hủy buổi sinh hoạt (1):" in body, body
    assert "1. Cập nhật lý do hủy buổi sinh hoạt: Chi bộ khu phố Đông" in body, body
    assert "Buổi sinh hoạt bị hủy (" not in body, body  # the cancellation itself is not listed again
    async with pool.acquire() as conn:
        update = await conn.fetchval(
            "SELECT body FROM notification WHERE recipient_id = $1 AND rule = 'meeting_cancel_updated'"
            " AND subject_id = $2",
            p.secretary,
            meeting_id,
        )
    assert f"Lý do: {LATEST}." in update, update
