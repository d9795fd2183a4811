"""Committees get their alerts as one daily digest by default (DOMAIN.md: committees prefer a daily digest to a
stream of single alerts); a committee's own preference wins. Real database."""

from datetime import date, datetime, timedelta

import asyncpg

from services.notifications.config import Settings
from services.notifications.domain.model import COMMITTEE, Alert, Recipient
from services.notifications.handlers.alerts import raise_alerts
from services.notifications.handlers.commands import Commands
from services.notifications.handlers.jobs import send_digests
from services.notifications.unit_of_work import NotificationsUnitOfWork, uow_factory
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import handle
from tests.support.ids import random_id


def late_minutes(committee: Recipient, cells: int) -> list[Alert]:
    """The tester's stream: minutes late at many cells, each alert to the superior committee."""
    start = datetime(2026, 11, 5, 19, 30, tzinfo=VIETNAM_TZ)
    return [
        Alert(
            rule="minutes_late_superior",
            subject_id=random_id("mtg"),
            period="late",
            recipients=(committee,),
            cell_id=None,
            values={"cell": f"Chi bộ số {n}", "meeting_kind": "regular", "starts_at": start, "days": 5},
        )
        for n in range(cells)
    ]


async def channels_of(pool: asyncpg.Pool, recipient_id: str) -> list[tuple[str, bool, list[str]]]:
    """(rule, waiting for a digest, delivery channels) of each of the recipient's notifications."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT n.rule, n.digest_pending, array_agg(d.channel ORDER BY d.channel) AS channels FROM notification n"
            " JOIN delivery d ON d.notification_id = n.id WHERE n.recipient_id = $1 GROUP BY n.id",
            recipient_id,
        )
    return [(row["rule"], row["digest_pending"], list(row["channels"])) for row in rows]


async def test_a_committee_without_a_preference_gets_one_digest_a_day_not_a_mail_per_alert(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    settings = settings.model_copy(update={"default_committee_digest": True})
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    await handle(pool, settings, clock, *p.setup())
    commands = Commands(uow_factory(pool, settings=settings, clock=clock))
    shown = await commands.get_preferences(p.committee)
    assert shown["digest"] is True and shown["stored"] is False
    assert (await commands.get_preferences(p.member))["digest"] is False  # people keep single notices

    committee = Recipient(
        id=p.committee, kind=COMMITTEE, name="Đảng ủy phường Hòa Bình", emails=(p.email(p.committee),)
    )
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        assert await raise_alerts(late_minutes(committee, 30), uow) == 30
        await uow.commit()
    # in the inbox at once, no mail yet
    assert await channels_of(pool, p.committee) == [("minutes_late_superior", True, ["inbox"])] * 30

    clock.value = clock.value.replace(hour=17)
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        assert await send_digests(uow, day=date(2026, 11, 10), until=clock.value + timedelta(seconds=1)) >= 1
        await uow.commit()
    found = await channels_of(pool, p.committee)
    assert sorted(found) == sorted(
        [("daily_digest", False, ["email"])] + [("minutes_late_superior", False, ["inbox"])] * 30
    )
    async with pool.acquire() as conn:
        title = await conn.fetchval(
            "SELECT title FROM notification WHERE recipient_id = $1 AND rule = 'daily_digest'", p.committee
        )
    assert title == "Tổng hợp cảnh báo ngày 10/11/2026: 30 nội dung"


async def test_a_committee_that_wants_single_alerts_keeps_them(pool: asyncpg.Pool, settings: Settings) -> None:
    settings = settings.model_copy(update={"default_committee_digest": True})
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    await handle(pool, settings, clock, *p.setup())
    commands = Commands(uow_factory(pool, settings=settings, clock=clock))
    assert (await commands.set_preferences(p.committee, ["email"], digest=False))["digest"] is False
    committee = Recipient(
        id=p.committee, kind=COMMITTEE, name="Đảng ủy phường Hòa Bình", emails=(p.email(p.committee),)
    )
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        await raise_alerts(late_minutes(committee, 2), uow)
        await uow.commit()
    assert await channels_of(pool, p.committee) == [("minutes_late_superior", False, ["email", "inbox"])] * 2
