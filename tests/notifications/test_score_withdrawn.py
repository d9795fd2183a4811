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
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent, now
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.conftest import NOW, HeldMeeting, scored
from tests.notifications.events import Province, event, publish, publish_batches
from tests.notifications.test_service import setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app


def withdrawn(p: Province, meeting_id: str, *, time: datetime | None = None) -> CloudEvent:
    """score.meeting.withdrawn.v1 of the meeting (cancelled), as evaluation publishes it."""
    data = {"meeting_id": meeting_id, "cell_id": p.cell, "reason": "cancelled"}
    return event("score.meeting.withdrawn.v1", data, source="urn:chibo:evaluation", time=time)


async def test_a_withdrawn_score_retracts_its_alert_cancelling_the_mail_still_waiting_and_keeping_what_went_out(
    held: HeldMeeting,
) -> None:
    await held.low_alert_waiting()

    retraction = withdrawn(held.province, held.meeting_id, time=NOW + timedelta(minutes=31))
    await held.handle(retraction)
    assert await held.voided() == [True]
    assert await held.deliveries() == {"email": "cancelled", "inbox": "delivered"}
    assert len(await held.cancellations_logged()) == 1
    await held.handle(retraction)  # again: nothing more
    assert await held.deliveries() == {"email": "cancelled", "inbox": "delivered"}
    assert len(await held.alerts()) == 1


async def test_a_withdrawn_score_cancels_its_settled_rating_check_and_an_older_score_after_it_plans_nothing(
    held: HeldMeeting,
) -> None:
    await held.handle(held.scored("average", 62.0, time=NOW))
    assert await held.due_at() == NOW + timedelta(minutes=30)
    async with held.unit_of_work() as uow:  # a batch, a copy inside it
        retraction = withdrawn(held.province, held.meeting_id, time=NOW + timedelta(minutes=1))
        await BATCH_HANDLERS[retraction.type]([read_event(retraction), read_event(retraction)], uow)
        await uow.commit()
    late = held.scored("poor", 40.0, time=NOW + timedelta(seconds=30))  # published before the withdrawal
    await held.handle(late)
    held.clock.value = NOW + timedelta(hours=2)
    assert await held.run_due() is None  # cancelled, not re-armed by the older score
    assert await held.alerts() == []


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
