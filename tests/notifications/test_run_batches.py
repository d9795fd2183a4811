"""One run of absences alerts once however its announcements are batched, copied or delivered, when meetings
committed the facts behind them in another order than their times (trial 11: two batches of held meetings committed
side by side, the later one first, and the commune was told "vắng 6 buổi liên tiếp" then "vắng 10 buổi liên tiếp"
of the same run). Through the real broker and the running notifications service (DOMAIN.md "Alerts": each
recipient once; "How to read it, exactly": a run is the consecutive absences over the held meetings)."""

from collections.abc import Sequence
from datetime import timedelta

import asyncpg
import pytest

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import CloudEvent, now
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.events import Province, event, publish, publish_batches
from tests.notifications.test_service import setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app, settled

UPDATED = "member.attendance.updated.v1"


def announcements(p: Province) -> list[CloudEvent]:
    """The member's announcements in the order meetings published them (sequence 1, 2, …), each at the time of the
    fact that caused it: batch 0 (meetings 0-2 held) announced 3; batch 2 (meetings 7-9) committed before batch 1
    and announced 6 at the time of its last fact; batch 1 (meetings 3-6) then announced 10 at the earlier time of
    its own last fact; batch 3 announced 13. Absent at every meeting: one run."""
    meeting_id, start = random_id("mtg"), now() - timedelta(hours=6)
    figures = ((3, 2), (6, 29), (10, 19), (13, 39))  # (consecutive absences, minutes after start of the cause)
    return [
        event(
            UPDATED,
            {
                "member_id": p.member,
                "cell_id": p.cell,
                "meeting_id": meeting_id,
                "full_name": "Lê Văn Đức",
                "consecutive_absences": count,
                "consecutive_excused_absences": 0,
                "unexcused_months_last_year": 0,
                "sequence": sequence,
            },
            time=start + timedelta(minutes=minutes),
        )
        for sequence, (count, minutes) in enumerate(figures, start=1)
    ]


def as_published(items: Sequence[CloudEvent]) -> list[list[CloudEvent]]:
    """As the trial's feed produced them: one batch message per commit, then the last two again (a redelivery)."""
    return [[item] for item in items] + [list(items[2:])]


def all_at_once_reversed(items: Sequence[CloudEvent]) -> list[list[CloudEvent]]:
    """Every announcement in one batch message, last published first, with a copy of the first."""
    return [[*reversed(items), items[0]]]


def split_and_shuffled(items: Sequence[CloudEvent]) -> list[list[CloudEvent]]:
    """The second announcement first, then the others with copies across the batches."""
    return [[items[1]], [items[2], items[0]], [items[3], items[1]], [items[0]]]


@pytest.mark.parametrize("feed", [as_published, all_at_once_reversed, split_and_shuffled])
async def test_a_run_committed_out_of_time_order_alerts_once(
    settings: Settings, amqp_url: str, db: asyncpg.Connection, feed: object
) -> None:
    p = Province()
    items = announcements(p)
    batches = feed(items)  # type: ignore[operator]
    async with running_app(build_app(settings)):
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        before = settled(NOTIFICATIONS_EVENTS.name)
        expected = 0
        for batch in batches:
            await publish_batches(amqp_url, batch)
            expected += len(batch)
            # one message at a time: each is decided over what the ones before it stored
            await eventually(lambda n=expected: settled(NOTIFICATIONS_EVENTS.name) - before >= n, timeout=60)
    stored = await db.fetch(
        "SELECT consecutive_absences, run_alerted FROM notifications.member_figures WHERE member_id = $1"
        " ORDER BY consecutive_absences",
        p.member,
    )
    assert [row["consecutive_absences"] for row in stored] == [3, 6, 10, 13]
    alerts = await db.fetch(
        "SELECT DISTINCT period, title FROM notifications.notification WHERE rule = 'consecutive_absences'"
        " AND cell_id = $1",
        p.cell,
    )
    # told once, of the run where it first passed 3 (its figure anchors it)
    assert [row["title"] for row in alerts] == ["Đảng viên vắng 6 buổi liên tiếp: Lê Văn Đức, Chi bộ khu phố Đông"]
    assert [row["consecutive_absences"] for row in stored if row["run_alerted"]] == [6]
