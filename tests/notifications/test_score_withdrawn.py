"""score.meeting.withdrawn.v1 (CONTRACT.md: a meeting no longer scored, it was cancelled) reaches notifications and
retracts what its score raised or planned (chibo's review: the type had no consumer here, so a withdrawn low score
still raised meeting_rated_low once settled, and a mail of it still waiting went out). The settled-rating check not
yet fired is cancelled, an alert raised from the score is void in the inbox with its deliveries not yet made cancelled
(one delivered stays delivered: no mail about the retraction), and an older score arriving after the withdrawal plans
nothing. Real database; the last test runs the service on the real broker, the withdrawals one a message and in a
batch (the two forms of CONTRACT.md's route out, which every consumer of chibo.events reads), copies among them."""

from datetime import datetime, timedelta

import asyncpg

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from services.notifications.handlers import BATCH_HANDLERS
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent, now
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.events import Province, event, publish, publish_batches
from tests.notifications.fakes import Clock
from tests.notifications.test_service import setup_projected
from tests.notifications.test_settled_rating import NOW, alerts, due_at, handle, held, run_due, scored
from tests.support.ids import random_id
from tests.support.running import eventually, running_app


def withdrawn(p: Province, meeting_id: str, *, time: datetime | None = None) -> CloudEvent:
    """score.meeting.withdrawn.v1 of the meeting (cancelled), as evaluation publishes it."""
    data = {"meeting_id": meeting_id, "cell_id": p.cell, "reason": "cancelled"}
    return event("score.meeting.withdrawn.v1", data, source="urn:chibo:evaluation", time=time)


async def deliveries(pool: asyncpg.Pool, meeting_id: str) -> dict[str, str]:
    """channel -> status of the deliveries of the meeting's meeting_rated_low alerts."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT d.channel, d.status FROM delivery d JOIN notification n ON n.id = d.notification_id"
            " WHERE n.rule = 'meeting_rated_low' AND n.subject_id = $1",
            meeting_id,
        )
    return {row["channel"]: row["status"] for row in rows}


async def voided(pool: asyncpg.Pool, meeting_id: str) -> list[bool]:
    """Whether each meeting_rated_low alert of the meeting is void (and out of the digests)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT void_at IS NOT NULL AND NOT digest_pending AS void FROM notification"
            " WHERE rule = 'meeting_rated_low' AND subject_id = $1",
            meeting_id,
        )
    return [row["void"] for row in rows]


async def test_a_withdrawn_score_retracts_its_alert_cancelling_the_mail_still_waiting_and_keeping_what_went_out(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(NOW)
    p, meeting_id = await held(pool, settings, clock)
    await handle(pool, settings, clock, scored(p, meeting_id, "poor", 41.0, time=NOW))
    clock.value = NOW + timedelta(minutes=30)
    assert await run_due(pool, settings, clock, meeting_id) == 1
    assert await deliveries(pool, meeting_id) == {"email": "pending", "inbox": "delivered"}  # no sender runs here

    retraction = withdrawn(p, meeting_id, time=NOW + timedelta(minutes=31))
    await handle(pool, settings, clock, retraction)
    assert await voided(pool, meeting_id) == [True]
    assert await deliveries(pool, meeting_id) == {"email": "cancelled", "inbox": "delivered"}
    async with pool.acquire() as conn:
        logged = await conn.fetchval(
            "SELECT count(*) FROM delivery_log l JOIN delivery d ON d.id = l.delivery_id JOIN notification n"
            " ON n.id = d.notification_id WHERE n.subject_id = $1 AND l.outcome = 'cancelled'",
            meeting_id,
        )
    assert logged == 1
    await handle(pool, settings, clock, retraction)  # again: nothing more
    assert await deliveries(pool, meeting_id) == {"email": "cancelled", "inbox": "delivered"}
    assert len(await alerts(pool, meeting_id)) == 1


async def test_a_withdrawn_score_cancels_its_settled_rating_check_and_an_older_score_after_it_plans_nothing(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(NOW)
    p, meeting_id = await held(pool, settings, clock)
    await handle(pool, settings, clock, scored(p, meeting_id, "average", 62.0, time=NOW))
    assert await due_at(pool, meeting_id) == NOW + timedelta(minutes=30)
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:  # a batch, a copy inside it
        retraction = withdrawn(p, meeting_id, time=NOW + timedelta(minutes=1))
        await BATCH_HANDLERS[retraction.type]([read_event(retraction), read_event(retraction)], uow)
        await uow.commit()
    late = scored(p, meeting_id, "poor", 40.0, time=NOW + timedelta(seconds=30))  # published before the withdrawal
    await handle(pool, settings, clock, late)
    clock.value = NOW + timedelta(hours=2)
    assert await run_due(pool, settings, clock, meeting_id) is None  # cancelled, not re-armed by the older score
    assert await alerts(pool, meeting_id) == []


async def _withdrawal_applied(db: asyncpg.Connection, meeting_id: str) -> bool:
    """The meeting's score is stored withdrawn and its settled-rating check done without firing."""
    return bool(
        await db.fetchval(
            "SELECT s.withdrawn AND j.done_at IS NOT NULL FROM notifications.meeting_score s"
            " JOIN notifications.schedule j ON j.subject_id = s.meeting_id AND j.kind = 'score.meeting'"
            " WHERE s.meeting_id = $1",
            meeting_id,
        )
    )


async def test_the_service_consumes_withdrawals_one_a_message_and_in_batches_from_the_broker(
    settings: Settings, amqp_url: str, db: asyncpg.Connection
) -> None:
    assert "score.meeting.withdrawn.v1" in NOTIFICATIONS_EVENTS.routing_keys
    p = Province()
    single, again, batched = (random_id("mtg") for _ in range(3))
    async with running_app(build_app(settings)):
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        started = now() - timedelta(hours=3)
        await publish(amqp_url, [p.scheduled(meeting_id, started) for meeting_id in (single, again, batched)])
        await publish(amqp_url, [scored(p, m, "poor", 30.0, time=now()) for m in (single, again, batched)])
        await eventually(lambda: _planned(db, [single, again, batched]), timeout=60)

        first, second = withdrawn(p, single), withdrawn(p, again)
        await publish(amqp_url, [first, second, second])  # one event a message, one of them twice
        await publish_batches(amqp_url, [withdrawn(p, batched), first])  # a batch carrying a copy
        for meeting_id in (single, again, batched):
            await eventually(lambda m=meeting_id: _withdrawal_applied(db, m), timeout=30)
    rows = await db.fetch(
        "SELECT count(*) FROM notifications.notification WHERE rule = 'meeting_rated_low' AND subject_id = ANY($1)",
        [single, again, batched],
    )
    assert rows[0][0] == 0


async def _planned(db: asyncpg.Connection, meeting_ids: list[str]) -> bool:
    """Every meeting's settled-rating check is planned (its low score was stored)."""
    query = "SELECT count(*) FROM notifications.schedule WHERE kind = 'score.meeting' AND subject_id = ANY($1)"
    return bool(await db.fetchval(query, meeting_ids) == len(meeting_ids))
