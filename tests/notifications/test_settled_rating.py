"""meeting_rated_low on a meeting's settled rating (a fresh-user trial: an integration sent a meeting's facts in reverse
order, evaluation published an interim 69.23 "average" from the minutes before the roster, then 89.23 "fair" 0.2 s
later, and the committee's inbox and mail kept "xếp loại Trung bình" for a meeting rated Fair). The alert is decided
by a check `settle_minutes` (30) after a low score, re-armed by later ones, on the meeting's latest score then
(real database, the schedule's clock driven by the test)."""

from datetime import timedelta

from services.notifications.handlers import BATCH_HANDLERS
from services.notifications.handlers.commands import Commands
from shared.contracts.registry import read_event
from tests.notifications.conftest import NOW, HeldMeeting, due_at, run_due, scored
from tests.notifications.events import event
from tests.support.ids import random_id


async def test_an_interim_average_replaced_by_fair_within_the_settle_period_raises_no_alert(held: HeldMeeting) -> None:
    interim = held.scored("average", 69.23, time=NOW)
    settled = held.scored("fair", 89.23, time=NOW + timedelta(milliseconds=200))
    await held.handle(interim)
    assert await held.alerts() == []  # not judged on the interim score
    assert await held.due_at() == NOW + timedelta(minutes=30)
    await held.handle(settled)

    held.clock.value = NOW + timedelta(minutes=30)
    assert await held.run_due() == 0
    assert await held.alerts() == []


async def test_a_late_older_average_after_fair_plans_nothing_and_raises_nothing(held: HeldMeeting) -> None:
    await held.handle(held.scored("fair", 89.23, time=NOW))
    await held.handle(held.scored("average", 69.23, time=NOW - timedelta(seconds=1)))
    assert await held.due_at() is None
    held.clock.value = NOW + timedelta(hours=2)
    assert await held.run_due() is None
    assert await held.alerts() == []


async def test_an_average_that_stays_raises_one_alert_after_the_settle_period_with_its_score(held: HeldMeeting) -> None:
    await held.handle(held.scored("average", 69.23, time=NOW))

    held.clock.value = NOW + timedelta(minutes=29)
    assert await held.run_due() is None  # not settled yet
    assert await held.alerts() == []
    held.clock.value = NOW + timedelta(minutes=30)
    assert await held.run_due() == 1
    [(recipient, rating, title, body)] = await held.alerts()
    assert (recipient, rating) == (held.province.committee, "average")
    assert "Trung bình" in title and "69,2" in body and "Trung bình" in body


async def test_average_then_poor_raises_one_alert_naming_poor_after_the_later_score_settles(held: HeldMeeting) -> None:
    await held.handle(held.scored("average", 69.23, time=NOW))
    held.clock.value = NOW + timedelta(minutes=10)
    await held.handle(held.scored("poor", 41.5, time=NOW + timedelta(minutes=10)))
    assert await held.due_at() == NOW + timedelta(minutes=40)  # re-armed by the later score

    held.clock.value = NOW + timedelta(minutes=30)
    assert await held.run_due() is None
    held.clock.value = NOW + timedelta(minutes=40)
    assert await held.run_due() == 1
    [(recipient, rating, title, body)] = await held.alerts()
    assert (recipient, rating) == (held.province.committee, "poor")
    assert "Kém" in title and "41,5" in body and "Trung bình" not in title + body


async def test_a_meeting_cancelled_before_the_check_raises_nothing(held: HeldMeeting) -> None:
    await held.handle(held.scored("poor", 41.5, time=NOW))
    held.clock.value = NOW + timedelta(minutes=5)
    await held.handle(event("meeting.cancelled.v1", {"meeting_id": held.meeting_id, "reason": "Họp nhầm"}))

    held.clock.value = NOW + timedelta(minutes=30)
    assert await held.run_due() == 0
    assert await held.alerts() == []


async def test_a_redelivered_low_score_neither_moves_the_check_nor_alerts_twice(held: HeldMeeting) -> None:
    low = held.scored("average", 69.23, time=NOW)
    await held.handle(low)
    held.clock.value = NOW + timedelta(minutes=20)
    await held.handle(low)  # a copy before the check: it stays due as planned
    assert await held.due_at() == NOW + timedelta(minutes=30)

    held.clock.value = NOW + timedelta(minutes=30)
    assert await held.run_due() == 1
    held.clock.value = NOW + timedelta(minutes=45)
    await held.handle(low)  # a copy after it: not newer, no check again
    held.clock.value = NOW + timedelta(hours=2)
    assert await held.run_due() is None
    assert [rating for _, rating, _, _ in await held.alerts()] == ["average"]


async def test_a_batch_of_the_interim_and_the_settled_score_plans_no_check(held: HeldMeeting) -> None:
    batch = [
        held.scored("average", 69.23, time=NOW),
        held.scored("fair", 89.23, time=NOW + timedelta(milliseconds=200)),
    ]
    async with held.unit_of_work() as uow:
        await BATCH_HANDLERS["score.meeting.updated.v1"]([read_event(item) for item in batch], uow)
        await uow.commit()
    assert await held.due_at() is None
    async with held.pool.acquire() as conn:
        stored = await conn.fetchrow("SELECT rating, score FROM meeting_score WHERE meeting_id = $1", held.meeting_id)
    assert (stored["rating"], stored["score"]) == ("fair", 89.23)


async def test_a_committee_settle_period_moves_a_pending_check_of_its_cells(held: HeldMeeting) -> None:
    await held.handle(held.scored("average", 69.23, time=NOW))
    commands = Commands(lambda: held.unit_of_work())
    answer = await commands.set_rule(held.province.committee, "meeting_rated_low", {"settle_minutes": 90})
    assert answer["rules"]["meeting_rated_low"]["params"]["settle_minutes"] == 90
    assert await held.due_at() == NOW + timedelta(minutes=90)

    later = random_id("mtg")
    await held.handle(held.province.scheduled(later, NOW - timedelta(hours=3)))
    await held.handle(scored(held.province, later, "poor", 41.5, time=NOW))
    assert await due_at(held.pool, later) == NOW + timedelta(minutes=90)  # a new check takes the committee's period


async def test_a_low_score_arriving_before_its_old_meeting_raises_nothing_once_the_meeting_is_known(
    held: HeldMeeting,
) -> None:
    """A history load: evaluation's score of an imported meeting a month old may come before meetings' schedule of it
    (judged recent while unknown, its check planned); the meeting known by the check is older than the history
    cutoff (14 days) when the score came, so nothing is raised. A meeting of last week is still told of."""
    old, recent = random_id("mtg"), random_id("mtg")
    await held.handle(
        scored(held.province, old, "poor", 41.5, time=NOW), scored(held.province, recent, "poor", 41.5, time=NOW)
    )
    await held.handle(held.province.scheduled(old, NOW - timedelta(days=30)))
    await held.handle(held.province.scheduled(recent, NOW - timedelta(days=7)))
    await held.handle(held.province.minutes(recent, NOW - timedelta(days=7) + timedelta(hours=2)))

    held.clock.value = NOW + timedelta(minutes=30)
    assert await run_due(held.pool, held.settings, held.clock, old) == 0
    assert await run_due(held.pool, held.settings, held.clock, recent) == 1
