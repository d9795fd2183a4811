"""A roster corrected after its unexcused absence was alerted (the absentee excused after all): the cell committee's
notices are kept in the inbox marked corrected, those who were mailed get one correction mail each, once; a mail
still waiting is cancelled instead and no correction goes out (handlers on the real database)."""

from collections import Counter
from datetime import timedelta

import asyncpg
import pytest

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import CloudEvent, now
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications import test_absence_alerts as absences
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, event, publish
from tests.notifications.test_held_absences import NOW, handle, held_cell
from tests.notifications.test_service import deliveries_settled, minutes_projected, plain_text, setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app, settled


def roster(meeting_id: str, p: Province, status: str, *, minutes_later: int) -> CloudEvent:
    """attendance.recorded.v1 with the plain member `status`, `minutes_later` after the first one."""
    return event(
        "attendance.recorded.v1",
        {
            "meeting_id": meeting_id,
            "records": [
                {"member_id": p.secretary, "status": "present"},
                {"member_id": p.deputy, "status": "present"},
                {"member_id": p.member, "status": status},
                {"member_id": p.exempt, "status": "exempt"},
            ],
        },
        time=NOW - timedelta(hours=1) + timedelta(minutes=minutes_later),
        event_id=random_id("evt"),
    )


async def notices(pool: asyncpg.Pool, meeting_id: str) -> list[asyncpg.Record]:
    """Every notice about the meeting with its e-mail deliveries' status and addresses."""
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT n.rule, n.recipient_id, n.title, n.body, n.void_at, n.void_reason,"
            " array_agg(d.status ORDER BY d.id) FILTER (WHERE d.channel = 'email') AS mails,"
            " array_agg(d.addresses ORDER BY d.id) FILTER (WHERE d.channel = 'email') AS addresses"
            " FROM notification n LEFT JOIN delivery d ON d.notification_id = n.id"
            " WHERE n.subject_id = $1 AND n.rule IN ('unexcused_absence', 'absence_corrected')"
            " GROUP BY n.id ORDER BY n.rule, n.recipient_id",
            meeting_id,
        )


@pytest.mark.parametrize("first_mail", ["delivered", "pending"])
async def test_an_excused_absence_takes_its_alert_back_and_mails_one_correction_once(
    pool: asyncpg.Pool, settings: Settings, first_mail: str
) -> None:
    p, meeting_id = await held_cell(pool, settings)
    await handle(pool, settings, p.minutes(meeting_id, NOW - timedelta(hours=20)))
    await handle(pool, settings, roster(meeting_id, p, "absent", minutes_later=0))
    raised = await notices(pool, meeting_id)
    assert [(row["rule"], row["recipient_id"]) for row in raised] == sorted(
        [("unexcused_absence", p.secretary), ("unexcused_absence", p.deputy)]
    )
    assert all(row["mails"] == ["pending"] for row in raised)
    if first_mail == "delivered":  # as the sender leaves them once sent
        async with pool.acquire() as conn:
            await conn.execute(
                "UPDATE delivery d SET status = 'delivered', delivered_at = $2 FROM notification n"
                " WHERE n.id = d.notification_id AND n.subject_id = $1",
                meeting_id,
                NOW,
            )

    corrected = roster(meeting_id, p, "excused", minutes_later=5)
    await handle(pool, settings, corrected)
    await handle(pool, settings, corrected)  # redelivered: nothing more

    found = await notices(pool, meeting_id)
    alerts = [row for row in found if row["rule"] == "unexcused_absence"]
    corrections = [row for row in found if row["rule"] == "absence_corrected"]
    assert sorted(row["recipient_id"] for row in alerts) == sorted([p.secretary, p.deputy])  # kept, not deleted
    assert all(row["void_at"] is not None and row["void_reason"] == "corrected" for row in alerts)
    assert all(row["title"] == before["title"] for row, before in zip(alerts, raised, strict=True))  # as sent
    if first_mail == "pending":
        assert all(row["mails"] == ["cancelled"] for row in alerts)  # the wrong mail never goes out
        assert corrections == []
        return
    assert all(row["mails"] == ["delivered"] for row in alerts)
    assert sorted(row["recipient_id"] for row in corrections) == sorted([p.secretary, p.deputy])
    assert {row["recipient_id"]: row["addresses"] for row in corrections} == {
        row["recipient_id"]: row["addresses"] for row in alerts
    }
    assert all(row["mails"] == ["pending"] for row in corrections)  # one mail each, through the sender
    for row in corrections:
        assert row["title"].startswith("Đính chính thông báo vắng mặt không lý do: Lê Văn Đức"), row["title"]
        assert "Kính gửi đồng chí" in row["body"], row["body"]
        assert "đồng chí Lê Văn Đức không còn được ghi là vắng mặt không có lý do" in row["body"], row["body"]

    # marked absent without reason again: a new alert, as for any new absence
    await handle(pool, settings, roster(meeting_id, p, "absent", minutes_later=10))
    again = [row for row in await notices(pool, meeting_id) if row["rule"] == "unexcused_absence"]
    assert sorted(row["recipient_id"] for row in again if row["void_at"] is None) == sorted([p.secretary, p.deputy])


async def test_the_running_service_mails_one_correction_per_committee_member_once(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    """Through the broker, the service and the SMTP server: the unexcused absence mailed, then the roster corrected
    (redelivered too): each of the cell committee gets one correction mail, and the inbox keeps the alert marked
    corrected."""
    inbox, _ = smtp
    p = Province()
    meeting_id = random_id("mtg")
    first = roster(meeting_id, p, "absent", minutes_later=0).model_copy(update={"time": now()})
    corrected = roster(meeting_id, p, "excused", minutes_later=0).model_copy(
        update={"time": now() + timedelta(seconds=1)}
    )
    committee = [p.email(p.secretary), p.email(p.deputy)]

    def mails(rule: str) -> Counter[str]:
        return Counter(address for address in committee for m in inbox.to(address) if m["X-Chibo-Rule"] == rule)

    async with running_app(build_app(settings)):
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        await publish(amqp_url, [p.scheduled(meeting_id, now() - timedelta(hours=2)), p.minutes(meeting_id, now())])
        await minutes_projected(db, meeting_id)
        await publish(amqp_url, [first])
        await eventually(lambda: mails("unexcused_absence") == Counter(committee), timeout=60, interval=0.5)
        await publish(amqp_url, [corrected])
        await eventually(lambda: mails("absence_corrected") == Counter(committee), timeout=60, interval=0.5)
        before = settled(NOTIFICATIONS_EVENTS.name)
        await publish(amqp_url, [corrected])  # redelivered
        await eventually(lambda: settled(NOTIFICATIONS_EVENTS.name) - before >= 1, timeout=60)
        await eventually(lambda: deliveries_settled(db, p.cell, {"absence_corrected"}), timeout=60, interval=0.5)
        void = await db.fetch(
            "SELECT void_reason FROM notifications.notification WHERE rule = 'unexcused_absence' AND subject_id = $1",
            meeting_id,
        )
    assert mails("absence_corrected") == Counter(committee)  # one each, not again on redelivery
    assert mails("unexcused_absence") == Counter(committee)
    assert [row["void_reason"] for row in void] == ["corrected", "corrected"]
    body = plain_text(next(m for m in inbox.to(p.email(p.secretary)) if m["X-Chibo-Rule"] == "absence_corrected"))
    assert "Kính gửi đồng chí Nguyễn Văn Bình" in body and "không còn được ghi là vắng mặt không có lý do" in body


@pytest.mark.parametrize("rule", ["consecutive_absences", "unexcused_months"])
async def test_figures_corrected_below_the_threshold_take_the_run_or_months_alert_back_once(
    pool: asyncpg.Pool, settings: Settings, rule: str
) -> None:
    """The member's fourth absence in a row (or third unexcused month) alerted and mailed, then the roster of that
    meeting corrected: meetings announces the member's figures about it again, below the threshold. The notices are
    kept marked corrected and each recipient gets one correction; the announcement redelivered adds nothing."""
    p, clock = await absences.province(pool, settings)
    months = rule == "unexcused_months"
    history = absences.run(p, [1, 2, 3, 1] if months else [1, 2, 3, 4], months=[1, 2, 3, 3] if months else None)
    crossing = 2 if months else 3
    await absences.feed(pool, settings, clock, [[item] for item in history[: crossing + 1]])
    meeting_id = f"{p.cell}-m{crossing}"
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE delivery d SET status = 'delivered', delivered_at = $2 FROM notification n"
            " WHERE n.id = d.notification_id AND n.subject_id = $1",
            meeting_id,
            clock.value,
        )
    told = absences.per_recipient(await absences.alerts(pool, p))
    assert told == absences.each_once(rule)

    wrong = absences.announced(p, crossing, 0 if not months else crossing + 1, months=2 if months else 0)
    corrected = wrong.model_copy(
        update={"id": random_id("evt"), "time": wrong.time + timedelta(hours=1), "data": {**wrong.data, "sequence": 99}}
    )
    await absences.feed(pool, settings, clock, [[corrected], [corrected]])

    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT n.rule, n.recipient_id, n.void_reason, n.body,"
            " array_agg(d.status) FILTER (WHERE d.channel = 'email') AS mails"
            " FROM notification n LEFT JOIN delivery d ON d.notification_id = n.id"
            " WHERE n.subject_id = $1 GROUP BY n.id",
            meeting_id,
        )
    alerts = [row for row in rows if row["rule"] == rule]
    corrections = [row for row in rows if row["rule"] == "absence_crossing_corrected"]
    assert len(alerts) == 3 and all(row["void_reason"] == "corrected" for row in alerts)
    assert sorted(row["recipient_id"] for row in corrections) == sorted([p.secretary, p.deputy, p.committee])
    assert all(row["mails"] == ["pending"] for row in corrections)
    case = "3 tháng trở lên" if months else "quá 3 buổi sinh hoạt liên tiếp"
    assert all("Lê Văn Đức (Chi bộ khu phố Đông) nay không còn trong trường hợp" in row["body"] for row in corrections)
    assert all(case in row["body"] for row in corrections), corrections[0]["body"]


async def test_a_withdrawn_roster_takes_its_absence_alert_back_and_the_restored_one_stands(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """A member move withdraws the roster that marked the member absent without reason (attendance.withdrawn.v1,
    an earlier roster restored where they were present): the committee's mailed notices are marked corrected and
    each gets one correction; the withdrawal redelivered adds nothing."""
    p, meeting_id = await held_cell(pool, settings)
    await handle(pool, settings, p.minutes(meeting_id, NOW - timedelta(hours=20)))
    earlier = roster(meeting_id, p, "present", minutes_later=0)
    wrong = roster(meeting_id, p, "absent", minutes_later=5)
    await handle(pool, settings, earlier, wrong)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE delivery d SET status = 'delivered', delivered_at = $2 FROM notification n"
            " WHERE n.id = d.notification_id AND n.subject_id = $1",
            meeting_id,
            NOW,
        )
    withdrawn = event(
        "attendance.withdrawn.v1",
        {
            "meeting_id": meeting_id,
            "roster_id": wrong.id,
            "restored": {"roster_id": earlier.id, "time": earlier.time.isoformat(), "records": earlier.data["records"]},
        },
        time=wrong.time,
    )
    await handle(pool, settings, withdrawn, withdrawn)

    found = await notices(pool, meeting_id)
    alerts = [row for row in found if row["rule"] == "unexcused_absence"]
    corrections = [row for row in found if row["rule"] == "absence_corrected"]
    assert sorted(row["recipient_id"] for row in alerts) == sorted([p.secretary, p.deputy])
    assert all(row["void_reason"] == "corrected" for row in alerts)
    assert sorted(row["recipient_id"] for row in corrections) == sorted([p.secretary, p.deputy])
    async with pool.acquire() as conn:
        statuses = await conn.fetch(
            "SELECT member_id, status FROM meeting_attendance WHERE meeting_id = $1 ORDER BY member_id", meeting_id
        )
    assert {row["member_id"]: row["status"] for row in statuses}[p.member] == "present"
