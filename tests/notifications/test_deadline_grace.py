"""A meeting first known with a deadline of its secretary already past (its documents 24 h before the start, its
records days after it) has that alert put off by the grace (Settings.late_records_grace_minutes), and not raised
when what it asks for arrives within it; the schedule runner's own steps over the real database."""

from datetime import datetime, timedelta

import asyncpg

from services.notifications.config import Settings
from shared.periods import VIETNAM_TZ
from tests.notifications.conftest import run_due
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import due_times, handle
from tests.support.ids import random_id

NOW = datetime(2026, 11, 20, 20, 0, tzinfo=VIETNAM_TZ)
GRACE = timedelta(minutes=30)


async def alerts_of(pool: asyncpg.Pool, rule: str, meeting_id: str) -> int:
    """How many alerts of `rule` were raised about the meeting."""
    async with pool.acquire() as conn:
        found: int = await conn.fetchval(
            "SELECT count(*) FROM notification WHERE rule = $1 AND subject_id = $2", rule, meeting_id
        )
    return found


async def test_documents_published_within_the_grace_of_a_meeting_scheduled_under_a_day_ahead_raise_no_alert(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(NOW)
    published, unpublished = random_id("mtg"), random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    starts = NOW + timedelta(hours=10)  # the documents' deadline (24 h before) passed before it was scheduled
    await handle(pool, settings, clock, p.scheduled(published, starts), p.scheduled(unpublished, starts))

    # due at once, the check is put off to the grace's end
    for meeting_id in (published, unpublished):
        assert await run_due(pool, settings, clock, meeting_id, "meeting.documents") == 0
        assert (await due_times(pool, meeting_id))["meeting.documents"] == (NOW + GRACE, False)
    clock.value = NOW + timedelta(minutes=5)
    documents = {
        "meeting_id": published,
        "published_at": clock.value.isoformat(),
        "items": [{"title": "Dự thảo nghị quyết", "kind": "draft_resolution"}],
    }
    await handle(pool, settings, clock, event("documents.published.v1", documents))
    assert await run_due(pool, settings, clock, published, "meeting.documents") is None

    clock.value = NOW + GRACE
    assert await run_due(pool, settings, clock, published, "meeting.documents") == 0
    assert await run_due(pool, settings, clock, unpublished, "meeting.documents") == 1
    assert await alerts_of(pool, "documents_missing", published) == 0
    assert await alerts_of(pool, "documents_missing", unpublished) == 1


async def test_a_past_meeting_recorded_then_given_its_records_within_the_grace_raises_no_late_alert(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(NOW)
    recorded, unrecorded = random_id("mtg"), random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    held_at = NOW - timedelta(days=6)  # past the secretary's deadline (2 days) and the superior committee's (5)
    await handle(pool, settings, clock, p.scheduled(recorded, held_at), p.scheduled(unrecorded, held_at))
    for kind in ("meeting.minutes", "meeting.minutes_superior"):
        assert await run_due(pool, settings, clock, recorded, kind) == 0
        assert (await due_times(pool, recorded))[kind] == (NOW + GRACE, False)

    clock.value = NOW + timedelta(seconds=1)
    ended = held_at + timedelta(hours=2)
    documents = {
        "meeting_id": recorded,
        "published_at": clock.value.isoformat(),
        "items": [{"title": "Biên bản", "kind": "minutes"}, {"title": "Nghị quyết", "kind": "resolution"}],
    }
    await handle(
        pool,
        settings,
        clock,
        p.minutes(recorded, ended, started_at=held_at.isoformat()),
        event("documents.published.v1", documents),
    )
    # the minutes' end moves the deadline, still past: the check stays put off to the grace's end
    assert await run_due(pool, settings, clock, recorded, "meeting.minutes") == 0
    assert (await due_times(pool, recorded))["meeting.minutes"] == (NOW + GRACE, False)

    clock.value = NOW + GRACE
    for kind in ("meeting.minutes", "meeting.minutes_superior"):
        assert await run_due(pool, settings, clock, recorded, kind) == 0
        await run_due(pool, settings, clock, unrecorded, kind)  # the secretary's check raises both when both are due
    assert await alerts_of(pool, "minutes_late", recorded) == 0
    assert await alerts_of(pool, "minutes_late_superior", recorded) == 0
    assert await alerts_of(pool, "minutes_late", unrecorded) == 1
    assert await alerts_of(pool, "minutes_late_superior", unrecorded) > 0
