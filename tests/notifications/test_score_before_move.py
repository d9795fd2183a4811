"""A meeting's score is evaluation's word that the meeting has begun (shared.plausible.meeting_begun is evaluation's
rule, and it withdraws a score that no longer stands: score.meeting.withdrawn.v1, reason not_held). Notifications
judged "begun" again on its own copy of the schedule and dropped the score when that copy said the meeting was still
ahead; but order is not guaranteed (CONTRACT.md), so the move that made the meeting begun may come after its score,
and the score was lost for good: the low rating of the meeting, held, never alerted. The score is kept as published,
in order with the withdrawals (the newest of the two by time and id stands) and once per event; whether it alerts is
judged when the settled-rating check runs (meeting_rated_low: held by then, on the meeting as known then). Runs the
service on the real broker and database; the check is run at its due time on the test's clock."""

from datetime import timedelta

import asyncpg

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import CloudEvent, now
from tests.notifications.conftest import run_due, scored
from tests.notifications.events import Province, event, publish
from tests.notifications.fakes import Clock
from tests.notifications.test_service import setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app


async def _processed(db: asyncpg.Connection, *events: CloudEvent) -> bool:
    """Every event was taken by the service (its inbox row written with what it did)."""
    found = await db.fetchval(
        "SELECT count(DISTINCT (source, event_id)) FROM notifications.processed_message"
        " WHERE (source, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        [str(item.source) for item in events],
        [item.id for item in events],
    )
    return bool(found == len({(str(item.source), item.id) for item in events}))


async def _scores(db: asyncpg.Connection, *meeting_ids: str) -> dict[str, str]:
    """Each meeting's stored score: its rating, or "withdrawn"."""
    rows = await db.fetch(
        "SELECT meeting_id, rating, withdrawn FROM notifications.meeting_score WHERE meeting_id = ANY($1::text[])",
        list(meeting_ids),
    )
    return {row["meeting_id"]: "withdrawn" if row["withdrawn"] else row["rating"] for row in rows}


async def _rated_low(db: asyncpg.Connection, meeting_id: str) -> list[str]:
    """The recipients of the meeting's meeting_rated_low alerts."""
    rows = await db.fetch(
        "SELECT recipient_id FROM notifications.notification WHERE rule = 'meeting_rated_low' AND subject_id = $1",
        meeting_id,
    )
    return [row["recipient_id"] for row in rows]


async def test_a_score_that_comes_before_the_move_that_began_its_meeting_is_kept_and_alerts_once_held(
    settings: Settings, amqp_url: str, db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    p = Province()
    moved, withdrawn_first = random_id("mtg"), random_id("mtg")
    t0 = now().replace(microsecond=0)
    started = t0 - timedelta(hours=3)
    async with running_app(build_app(settings)):
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        schedules = [p.scheduled(meeting_id, t0 + timedelta(days=1)) for meeting_id in (moved, withdrawn_first)]
        await publish(amqp_url, schedules)
        await eventually(lambda: _processed(db, *schedules), timeout=60)

        # evaluation has the move (and the minutes) and scores the meeting held; its score comes here first, while
        # the copy of the schedule here still says tomorrow; the same score again is a duplicate
        score = scored(p, moved, "poor", 30.0, time=t0)
        await publish(amqp_url, [score, score])
        await eventually(lambda: _processed(db, score), timeout=60)
        assert await _scores(db, moved) == {moved: "poor"}

        # of the other meeting, the withdrawal (moved ahead again: not_held) comes before the score it withdraws
        withdrawal = event(
            "score.meeting.withdrawn.v1",
            {"meeting_id": withdrawn_first, "cell_id": p.cell, "reason": "not_held"},
            source="urn:chibo:evaluation",
            time=t0 + timedelta(minutes=1),
        )
        older = scored(p, withdrawn_first, "poor", 30.0, time=t0)
        await publish(amqp_url, [withdrawal, older])
        await eventually(lambda: _processed(db, withdrawal, older), timeout=60)
        assert await _scores(db, withdrawn_first) == {withdrawn_first: "withdrawn"}

        move = event("meeting.rescheduled.v1", {"meeting_id": moved, "starts_at": started.isoformat()})
        minutes = p.minutes(moved, started + timedelta(hours=2))
        await publish(amqp_url, [move, minutes])
        await eventually(lambda: _processed(db, move, minutes), timeout=60)

    later = Clock(t0 + timedelta(hours=1))  # the settled-rating check's settle_minutes (30) have passed
    assert await run_due(pool, settings, later, moved) == 1
    assert await run_due(pool, settings, later, moved) is None
    assert await _rated_low(db, moved) == [p.committee]
    assert await run_due(pool, settings, later, withdrawn_first) is None  # nothing planned from the older score
    assert await _rated_low(db, withdrawn_first) == []
