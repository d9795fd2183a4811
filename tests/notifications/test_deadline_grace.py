"""A meeting first known with a deadline of its secretary already past (its documents 24 h before the start, its
records days after it) has that alert put off by the grace (Settings.late_records_grace_minutes), and not raised
when what it asks for arrives within it; the schedule runner's own steps over the real database."""

from datetime import datetime, timedelta

import asyncpg
import pytest

from services.notifications.config import Settings
from shared.periods import VIETNAM_TZ
from tests.notifications.conftest import run_due
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_corrected_minutes import handle_batch
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


async def move(
    pool: asyncpg.Pool, settings: Settings, clock: Clock, how: str, p: Province, meeting_id: str, to: datetime
) -> None:
    """Move a known meeting's start to `to` the way `how` says: a move, a newer schedule snapshot, or one in a batch."""
    if how == "rescheduled":
        moved = event("meeting.rescheduled.v1", {"meeting_id": meeting_id, "starts_at": to.isoformat()})
        await handle(pool, settings, clock, moved)
    elif how == "snapshot":
        await handle(pool, settings, clock, p.scheduled(meeting_id, to))
    else:
        await handle_batch(pool, settings, clock, p.scheduled(meeting_id, to))


@pytest.mark.parametrize("how", ["rescheduled", "snapshot", "snapshot_batch"])
async def test_a_known_meeting_moved_to_a_start_whose_records_are_late_gets_the_grace_too(
    pool: asyncpg.Pool, settings: Settings, how: str
) -> None:
    p = Province()
    clock = Clock(NOW - timedelta(days=1))
    recorded, unrecorded = random_id("mtg"), random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    planned = NOW + timedelta(days=3)  # known a day before the move, its deadlines days ahead
    await handle(pool, settings, clock, p.scheduled(recorded, planned), p.scheduled(unrecorded, planned))

    # the secretary corrects its start to when it was held, 6 days ago: both deadlines passed as the move is known
    clock.value = NOW
    held_at = NOW - timedelta(days=6)
    for meeting_id in (recorded, unrecorded):
        await move(pool, settings, clock, how, p, meeting_id, held_at)
    for kind in ("meeting.minutes", "meeting.minutes_superior"):
        assert await run_due(pool, settings, clock, recorded, kind) == 0
        assert (await due_times(pool, recorded))[kind] == (NOW + GRACE, False)

    clock.value = NOW + timedelta(minutes=1)
    documents = {
        "meeting_id": recorded,
        "published_at": clock.value.isoformat(),
        "items": [{"title": "Biên bản", "kind": "minutes"}, {"title": "Nghị quyết", "kind": "resolution"}],
    }
    ended = held_at + timedelta(hours=2)
    await handle(
        pool,
        settings,
        clock,
        p.minutes(recorded, ended, started_at=held_at.isoformat()),
        event("documents.published.v1", documents),
    )
    # a second fact within the grace (the minutes' end, still past) does not lengthen it
    assert await run_due(pool, settings, clock, recorded, "meeting.minutes") == 0
    assert (await due_times(pool, recorded))["meeting.minutes"] == (NOW + GRACE, False)

    clock.value = NOW + GRACE
    for kind in ("meeting.minutes", "meeting.minutes_superior"):
        assert await run_due(pool, settings, clock, recorded, kind) == 0
        await run_due(pool, settings, clock, unrecorded, kind)
    assert await alerts_of(pool, "minutes_late", recorded) == 0
    assert await alerts_of(pool, "minutes_late_superior", recorded) == 0
    assert await alerts_of(pool, "minutes_late", unrecorded) == 1
    assert await alerts_of(pool, "minutes_late_superior", unrecorded) > 0


@pytest.mark.parametrize("how", ["rescheduled", "snapshot", "snapshot_batch"])
async def test_a_known_meeting_moved_under_a_day_ahead_gets_the_grace_for_its_documents(
    pool: asyncpg.Pool, settings: Settings, how: str
) -> None:
    p = Province()
    clock = Clock(NOW - timedelta(days=1))
    published, unpublished = random_id("mtg"), random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    planned = NOW + timedelta(days=5)
    await handle(pool, settings, clock, p.scheduled(published, planned), p.scheduled(unpublished, planned))

    clock.value = NOW
    starts = NOW + timedelta(hours=10)  # brought forward: the documents' deadline (24 h before) passed as it moved
    for meeting_id in (published, unpublished):
        await move(pool, settings, clock, how, p, meeting_id, starts)
        assert await run_due(pool, settings, clock, meeting_id, "meeting.documents") == 0
        assert (await due_times(pool, meeting_id))["meeting.documents"] == (NOW + GRACE, False)

    clock.value = NOW + timedelta(minutes=5)
    documents = {
        "meeting_id": published,
        "published_at": clock.value.isoformat(),
        "items": [{"title": "Dự thảo nghị quyết", "kind": "draft_resolution"}],
    }
    await handle(pool, settings, clock, event("documents.published.v1", documents))

    clock.value = NOW + GRACE
    assert await run_due(pool, settings, clock, published, "meeting.documents") == 0
    assert await run_due(pool, settings, clock, unpublished, "meeting.documents") == 1
    assert await alerts_of(pool, "documents_missing", published) == 0
    assert await alerts_of(pool, "documents_missing", unpublished) == 1


async def test_a_meeting_moved_to_a_deadline_still_ahead_gets_no_grace(pool: asyncpg.Pool, settings: Settings) -> None:
    p = Province()
    clock = Clock(NOW - timedelta(days=1))
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), p.scheduled(meeting_id, NOW + timedelta(days=3)))
    clock.value = NOW
    await handle(
        pool,
        settings,
        clock,
        event("meeting.rescheduled.v1", {"meeting_id": meeting_id, "starts_at": (NOW - timedelta(days=1)).isoformat()}),
    )
    # its secretary's deadline is a day ahead: the check runs then, as for any meeting known in time
    deadline, fired = (await due_times(pool, meeting_id))["meeting.minutes"]
    assert deadline > NOW + GRACE and not fired
    clock.value = deadline
    assert await run_due(pool, settings, clock, meeting_id, "meeting.minutes") == 1
    assert await alerts_of(pool, "minutes_late", meeting_id) == 1
