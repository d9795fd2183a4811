"""A run alert ("absent more than 3 meetings in a row") fired at a meeting, then the roster of an earlier meeting of
the run corrected (the member was there after all): meetings announces the member's figures about that earlier
meeting again, with the run as it is now. DOMAIN.md "Alerts": the alert is for a member absent more than 3 meetings
in a row; when the run now counts 3 or fewer it no longer holds and is taken back (notices marked corrected, one
correction each to those mailed); when the member is still absent more than 3 in a row (the run went on past the
alert's meeting) it holds and nothing changes. Handlers on the real database."""

from datetime import timedelta

import asyncpg
import pytest

from services.notifications.config import Settings
from tests.notifications import test_absence_alerts as absences
from tests.support.ids import random_id


@pytest.mark.parametrize(("absences_in_a_row", "run_now", "holds"), [(4, 2, False), (6, 4, True)])
async def test_a_roster_corrected_before_the_run_alert_takes_it_back_only_when_the_run_no_longer_holds(
    pool: asyncpg.Pool, settings: Settings, absences_in_a_row: int, run_now: int, holds: bool
) -> None:
    p, clock = await absences.province(pool, settings)
    history = absences.run(p, list(range(1, absences_in_a_row + 1)))
    await absences.feed(pool, settings, clock, [[item] for item in history])
    meeting_id = f"{p.cell}-m3"  # the fourth absence in a row: the alert's meeting
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE delivery d SET status = 'delivered', delivered_at = $2 FROM notification n"
            " WHERE n.id = d.notification_id AND n.subject_id = $1",
            meeting_id,
            clock.value,
        )
    assert absences.per_recipient(await absences.alerts(pool, p)) == absences.each_once("consecutive_absences")

    # the roster of the second meeting corrected: the member was there, so the run now counts from the third
    again = absences.announced(p, 1, run_now)
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
            "SELECT n.rule, n.recipient_id, n.void_reason, n.body,"
            " array_agg(d.status) FILTER (WHERE d.channel = 'email') AS mails"
            " FROM notification n LEFT JOIN delivery d ON d.notification_id = n.id"
            " WHERE n.subject_id = $1 GROUP BY n.id",
            meeting_id,
        )
    alerts = [row for row in rows if row["rule"] == "consecutive_absences"]
    corrections = [row for row in rows if row["rule"] == "absence_crossing_corrected"]
    assert len(alerts) == 3
    if holds:
        assert all(row["void_reason"] is None for row in alerts) and corrections == []
        return
    assert all(row["void_reason"] == "corrected" for row in alerts)
    assert sorted(row["recipient_id"] for row in corrections) == sorted([p.secretary, p.deputy, p.committee])
    assert all(row["mails"] == ["pending"] for row in corrections)
    assert all("quá 3 buổi sinh hoạt liên tiếp" in row["body"] for row in corrections), corrections[0]["body"]
