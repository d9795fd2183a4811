"""An unexcused-months alert ("absent without valid reason 3 months in a year") fired at a meeting, then the roster
of an earlier meeting of those months corrected (the absence excused after all): meetings announces the member's
figures about that earlier meeting again, with the months as they are now. DOMAIN.md "Alerts": the alert is for a
member absent without valid reason 3 months in a year; when the months now count fewer it no longer holds and is
taken back (notices marked corrected, one correction each to those mailed, naming the member); when they still count
3 or more (another month came since the alert) it holds and nothing changes. Handlers on the real database."""

from datetime import timedelta

import asyncpg
import pytest

from services.notifications.config import Settings
from tests.notifications import test_absence_alerts as absences
from tests.support.ids import random_id


@pytest.mark.parametrize(("months", "months_now", "holds"), [([1, 2, 3], 2, False), ([1, 2, 3, 4], 3, True)])
async def test_a_roster_corrected_before_the_months_alert_takes_it_back_only_when_the_months_no_longer_hold(
    pool: asyncpg.Pool, settings: Settings, months: list[int], months_now: int, holds: bool
) -> None:
    p, clock = await absences.province(pool, settings)
    history = [absences.announced(p, step, 0, months=count) for step, count in enumerate(months)]
    await absences.feed(pool, settings, clock, [[item] for item in history])
    meeting_id = f"{p.cell}-m2"  # the third month without valid reason: the alert's meeting
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE delivery d SET status = 'delivered', delivered_at = $2 FROM notification n"
            " WHERE n.id = d.notification_id AND n.subject_id = $1",
            meeting_id,
            clock.value,
        )
    assert absences.per_recipient(await absences.alerts(pool, p)) == absences.each_once("unexcused_months")

    # the roster of the first month's meeting corrected: excused after all, one month fewer without valid reason
    again = absences.announced(p, 0, 0, months=months_now)
    corrected = again.model_copy(
        update={
            "id": random_id("evt"),
            "time": history[-1].time + timedelta(hours=1),
            "data": {**again.data, "sequence": 99},
        }
    )
    await absences.feed(pool, settings, clock, [[corrected], [corrected]])

    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT n.rule, n.recipient_id, n.void_reason, n.title, n.body,"
            " array_agg(d.status) FILTER (WHERE d.channel = 'email') AS mails"
            " FROM notification n LEFT JOIN delivery d ON d.notification_id = n.id"
            " WHERE n.subject_id = $1 GROUP BY n.id",
            meeting_id,
        )
    alerts = [row for row in rows if row["rule"] == "unexcused_months"]
    corrections = [row for row in rows if row["rule"] == "absence_crossing_corrected"]
    assert len(alerts) == 3
    if holds:
        assert all(row["void_reason"] is None for row in alerts) and corrections == []
        return
    assert all(row["void_reason"] == "corrected" for row in alerts)
    assert sorted(row["recipient_id"] for row in corrections) == sorted([p.secretary, p.deputy, p.committee])
    assert all(row["mails"] == ["pending"] for row in corrections)
    for row in corrections:
        assert "Lê Văn Đức" in row["title"], row["title"]
        assert "3 tháng" in row["body"], row["body"]
