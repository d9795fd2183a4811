"""An absence alert fired at a meeting (a run: "absent more than 3 meetings in a row"; or the months: "absent without
valid reason 3 months in a year"), then the roster of an earlier meeting of the run or months corrected (the member
was there after all, or excused): meetings announces the member's figures about that earlier meeting again, as they
are now. DOMAIN.md "Alerts": when the run now counts 3 or fewer, or the months fewer than 3, the alert no longer holds
and is taken back (notices marked corrected, one correction each to those mailed); when the member is still past the
threshold (the run or the months went on past the alert's meeting) it holds and nothing changes. Handlers on the real
database."""

from datetime import datetime, timedelta

import asyncpg
import pytest

from services.notifications.config import Settings
from shared.envelope import CloudEvent
from tests.notifications import test_absence_alerts as absences
from tests.support.ids import random_id

RUN, MONTHS = "consecutive_absences", "unexcused_months"


async def mark_mailed(pool: asyncpg.Pool, meeting_id: str, at: datetime) -> None:
    """Every delivery of the notices about the meeting still pending, delivered at `at` (the mails went out)."""
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE delivery d SET status = 'delivered', delivered_at = $2 FROM notification n"
            " WHERE n.id = d.notification_id AND n.subject_id = $1 AND d.status = 'pending'",
            meeting_id,
            at,
        )


@pytest.mark.parametrize(
    ("rule", "counts", "alert_step", "corrected_step", "count_now", "holds", "says"),
    [
        (RUN, [1, 2, 3, 4], 3, 1, 2, False, "quá 3 buổi sinh hoạt liên tiếp"),
        (RUN, [1, 2, 3, 4, 5, 6], 3, 1, 4, True, ""),
        (MONTHS, [1, 2, 3], 2, 0, 2, False, "từ 3 tháng trở lên trong 12 tháng qua"),
        (MONTHS, [1, 2, 3, 4], 2, 0, 3, True, ""),
    ],
    ids=["run-cut", "run-holds", "months-cut", "months-hold"],
)
async def test_a_roster_corrected_before_the_alert_takes_it_back_only_when_it_no_longer_holds(
    pool: asyncpg.Pool,
    settings: Settings,
    rule: str,
    counts: list[int],
    alert_step: int,
    corrected_step: int,
    count_now: int,
    holds: bool,
    says: str,
) -> None:
    p, clock = await absences.province(pool, settings)

    def figures(step: int, count: int) -> CloudEvent:
        return absences.announced(p, step, count) if rule == RUN else absences.announced(p, step, 0, months=count)

    history = [figures(step, count) for step, count in enumerate(counts)]
    await absences.feed(pool, settings, clock, [[item] for item in history])
    meeting_id = f"{p.cell}-m{alert_step}"  # where the run or the months crossed: the alert's meeting
    await mark_mailed(pool, meeting_id, clock.value)
    assert absences.per_recipient(await absences.alerts(pool, p)) == absences.each_once(rule)

    # the roster of an earlier meeting corrected: the run or the months count fewer now
    again = figures(corrected_step, count_now)
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
    alerts = [row for row in rows if row["rule"] == rule]
    corrections = [row for row in rows if row["rule"] == "absence_crossing_corrected"]
    assert len(alerts) == 3
    if holds:
        assert all(row["void_reason"] is None for row in alerts) and corrections == []
        return
    assert all(row["void_reason"] == "corrected" for row in alerts)
    assert sorted(row["recipient_id"] for row in corrections) == sorted([p.secretary, p.deputy, p.committee])
    assert all(row["mails"] == ["pending"] for row in corrections)
    assert all("Lê Văn Đức" in row["title"] for row in corrections), corrections[0]["title"]
    assert all(says in row["body"] for row in corrections), corrections[0]["body"]
