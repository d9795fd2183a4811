"""meeting_rated_low only about a held meeting (a new-user trial: with `settle_minutes` 0 and `include_provisional`,
the commune inbox read "Buổi sinh hoạt xếp loại Kém … được đánh giá 21,7 điểm" for a meeting still scheduled for the
next day: evaluation scores whatever facts it has, and the rule never asked whether the meeting took place). Held is
DOMAIN.md's: minutes in and not cancelled, its start come; once held and still rated low, the alert comes once (real
database, the schedule's clock driven by the test)."""

from datetime import timedelta

from services.notifications.handlers.commands import Commands
from shared.envelope import CloudEvent
from tests.notifications.conftest import NOW, HeldMeeting, due_at, handle, run_due
from tests.notifications.events import event
from tests.support.ids import random_id


def provisional(held: HeldMeeting, meeting_id: str, score: float, *, minutes: int = 0) -> CloudEvent:
    """A provisional poor score of the meeting, published `minutes` after NOW."""
    data = {
        "meeting_id": meeting_id,
        "cell_id": held.province.cell,
        "framework": {"id": "f", "version": "1"},
        "score": score,
        "rating": "poor",
        "provisional": True,
        "criteria": [],
    }
    return event("score.meeting.updated.v1", data, source="urn:chibo:evaluation", time=NOW + timedelta(minutes=minutes))


async def rated_low(held: HeldMeeting, meeting_id: str) -> list[str]:
    """The recipients of the meeting's meeting_rated_low alerts."""
    async with held.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT recipient_id FROM notification WHERE rule = 'meeting_rated_low' AND subject_id = $1", meeting_id
        )
    return [row["recipient_id"] for row in rows]


async def trial_settings(held: HeldMeeting) -> None:
    """The trial's PUT of the committee's meeting_rated_low: judged at once, provisional scores too."""
    commands = Commands(lambda: held.unit_of_work())
    await commands.set_rule(
        held.province.committee, "meeting_rated_low", {"settle_minutes": 0, "include_provisional": True}
    )


async def test_a_meeting_scheduled_for_tomorrow_rated_poor_alerts_nobody(held: HeldMeeting) -> None:
    await trial_settings(held)
    tomorrow = random_id("mtg")
    await held.handle(held.province.scheduled(tomorrow, NOW + timedelta(days=1)))
    await held.handle(provisional(held, tomorrow, 21.7))

    assert await run_due(held.pool, held.settings, held.clock, tomorrow) == 0  # judged at its check: not held
    assert await rated_low(held, tomorrow) == []


async def test_a_meeting_past_its_start_without_minutes_alerts_nobody_until_they_come_then_once(
    held: HeldMeeting,
) -> None:
    """The score came while the meeting was not held; its minutes, with no newer score, plan the check again, and the
    meeting held and still rated low alerts the superior committee once, a redelivered minutes changing nothing."""
    await trial_settings(held)
    meeting_id = random_id("mtg")
    start = NOW - timedelta(hours=3)
    await held.handle(held.province.scheduled(meeting_id, start))
    await held.handle(provisional(held, meeting_id, 21.7))
    assert await run_due(held.pool, held.settings, held.clock, meeting_id) == 0
    assert await rated_low(held, meeting_id) == []

    minutes = held.province.minutes(meeting_id, start + timedelta(hours=2))
    held.clock.value = NOW + timedelta(minutes=5)
    await handle(held.pool, held.settings, held.clock, minutes)
    assert await due_at(held.pool, meeting_id) == NOW + timedelta(minutes=5)
    assert await run_due(held.pool, held.settings, held.clock, meeting_id) == 1
    assert await rated_low(held, meeting_id) == [held.province.committee]

    await handle(held.pool, held.settings, held.clock, minutes)
    assert not await run_due(held.pool, held.settings, held.clock, meeting_id)
    assert await rated_low(held, meeting_id) == [held.province.committee]


async def test_a_meeting_held_later_and_scored_low_then_alerts_once(held: HeldMeeting) -> None:
    """The trial's meeting: rated poor while scheduled for tomorrow (nothing), then held and scored poor again."""
    await trial_settings(held)
    meeting_id = random_id("mtg")
    start = NOW + timedelta(days=1)
    await held.handle(held.province.scheduled(meeting_id, start))
    await held.handle(provisional(held, meeting_id, 21.7))
    assert await run_due(held.pool, held.settings, held.clock, meeting_id) == 0  # not held yet: nothing

    held.clock.value = start + timedelta(hours=3)
    await handle(held.pool, held.settings, held.clock, held.province.minutes(meeting_id, start + timedelta(hours=2)))
    await handle(held.pool, held.settings, held.clock, provisional(held, meeting_id, 41.0, minutes=60 * 27))
    assert await run_due(held.pool, held.settings, held.clock, meeting_id) == 1
    assert await run_due(held.pool, held.settings, held.clock, meeting_id) is None
    assert await rated_low(held, meeting_id) == [held.province.committee]


async def test_a_score_of_a_meeting_ahead_alerts_nobody_and_its_withdrawal_takes_it_back(held: HeldMeeting) -> None:
    """Trial 34: a provisional 21.67 Kém of a meeting still ahead, published before evaluation held to
    shared.plausible.meeting_begun. The score is evaluation's word, kept as published (this service's copy of the
    schedule may lack the move that began the meeting: test_score_before_move), so it is judged where it could alert:
    its check finds the meeting not held and raises nothing. Evaluation's withdrawal of it (reason not_held, migration
    0031's rescoring) takes it back; the same score delivered again after it changes nothing."""
    await trial_settings(held)
    tomorrow = random_id("mtg")
    await held.handle(held.province.scheduled(tomorrow, NOW + timedelta(days=1)))
    score = provisional(held, tomorrow, 21.67)
    await held.handle(score)
    assert await run_due(held.pool, held.settings, held.clock, tomorrow) == 0

    data = {"meeting_id": tomorrow, "cell_id": held.province.cell, "reason": "not_held"}
    withdrawal = event(
        "score.meeting.withdrawn.v1", data, source="urn:chibo:evaluation", time=NOW + timedelta(minutes=1)
    )
    await held.handle(withdrawal, score)
    async with held.pool.acquire() as conn:
        withdrawn = await conn.fetchval("SELECT withdrawn FROM meeting_score WHERE meeting_id = $1", tomorrow)
    assert withdrawn is True
    assert await run_due(held.pool, held.settings, held.clock, tomorrow) is None  # nothing planned again
    assert await rated_low(held, tomorrow) == []
