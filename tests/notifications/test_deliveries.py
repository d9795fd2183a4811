"""The delivery sender against the real database: a round's outcomes are recorded together, in one transaction with
multi-row statements, each as the one-by-one bookkeeping recorded it; a commit that queues deliveries wakes the
sender (issue 12: one commit per mail and a 1 s poll were part of why 3,150 month-start notices took 104 s after
every cell was scored)."""

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from services.notifications.bootstrap import build_app
from services.notifications.channels import DeliveryError
from services.notifications.config import Settings
from services.notifications.domain.model import Recipient
from services.notifications.handlers.deliveries import DeliveryRounds, deliver_due
from services.notifications.repository.outgoing import ClaimedDelivery, NewNotification
from services.notifications.unit_of_work import NotificationsUnitOfWork, uow_factory
from shared.envelope import now
from shared.periods import VIETNAM_TZ
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, publish
from tests.notifications.fakes import Clock
from tests.notifications.test_service import setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app


class ScriptedSender:
    """Delivers, or fails with the reason given for the delivery; can settle a delivery behind the round's back."""

    def __init__(self, pool: asyncpg.Pool, failures: dict[int, str], settle: set[int]) -> None:
        self.pool, self.failures, self.settle = pool, failures, settle

    async def send(self, delivery: ClaimedDelivery) -> None:
        if delivery.id in self.settle:  # an operator's action meanwhile (as a requeue or another sender would)
            await self.pool.execute("UPDATE delivery SET status = 'failed' WHERE id = $1", delivery.id)
        if delivery.id in self.failures:
            raise DeliveryError(self.failures[delivery.id])


async def queue(
    pool: asyncpg.Pool, settings: Settings, clock: Clock, count: int, *, channel: str = "email", to: Sequence[str] = ()
) -> list[int]:
    """`count` due deliveries (e-mail unless `channel` says otherwise, to `to[n]` or a@example.vn) of fresh
    notifications, due at the clock's time."""
    p = Province()
    ids = []
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        for number in range(count):
            notification_id = await uow.outgoing.insert_notification(
                NewNotification(
                    rule="meeting_reminder",
                    subject_id=random_id(f"round-{number}"),
                    period="p",
                    recipient=Recipient(id=p.member, kind="person", name="Trần Thị Thu Hà"),
                    cell_id=p.cell,
                    title="Nhắc lịch sinh hoạt",
                    body="b",
                    created_at=clock.value,
                    digest_pending=False,
                )
            )
            assert notification_id is not None
            ids.append(
                await uow.outgoing.add_delivery(
                    notification_id=notification_id,
                    channel=channel,
                    addresses=[to[number] if to else "a@example.vn"],
                    delivered_at=None,
                )
            )
        await uow.connection.execute(
            "UPDATE delivery SET next_attempt_at = $2 WHERE id = ANY($1::bigint[])", ids, clock.value
        )
        await uow.commit()
    return ids


async def test_a_round_records_every_outcome_in_one_transaction(pool: asyncpg.Pool, settings: Settings) -> None:
    backoff = {"delivery_backoff_seconds": 30.0, "delivery_backoff_max_seconds": 60.0}
    settings = settings.model_copy(update={"delivery_max_attempts": 3} | backoff)
    clock = Clock(datetime(1990, 3, 3, 8, 0, tzinfo=VIETNAM_TZ))  # only this test's deliveries are due then
    sent, retried, last_try, settled = await queue(pool, settings, clock, 4)
    await pool.execute("UPDATE delivery SET attempts = 2 WHERE id = $1", last_try)  # its third and last attempt
    sender = ScriptedSender(pool, {retried: "smtp: 451 try later", last_try: "smtp: 550 no such mailbox"}, {settled})
    try:
        assert await deliver_due(uow_factory(pool, settings=settings, clock=clock), {"email": sender}) == 4
        rows = {
            row["id"]: row
            for row in await pool.fetch(
                "SELECT id, status, attempts, last_error, next_attempt_at, locked_until, delivered_at, xmin::text AS tx"
                " FROM delivery WHERE id = ANY($1::bigint[])",
                [sent, retried, last_try, settled],
            )
        }
        assert (rows[sent]["status"], rows[sent]["attempts"]) == ("delivered", 1)
        assert rows[sent]["delivered_at"] == clock.value
        assert (rows[retried]["status"], rows[retried]["attempts"], rows[retried]["last_error"]) == (
            "pending",
            1,
            "smtp: 451 try later",
        )
        assert (rows[retried]["next_attempt_at"] - clock.value).total_seconds() == 30.0
        assert (rows[last_try]["status"], rows[last_try]["attempts"]) == ("failed", 3)
        assert (rows[settled]["status"], rows[settled]["attempts"]) == ("failed", 0)  # settled meanwhile: untouched
        assert all(rows[key]["locked_until"] is None for key in (sent, retried, last_try))
        assert len({rows[key]["tx"] for key in (sent, retried, last_try)}) == 1  # one transaction for the round
        log = await pool.fetch(
            "SELECT delivery_id, attempt, outcome, error FROM delivery_log WHERE delivery_id = ANY($1::bigint[])"
            " ORDER BY delivery_id",
            [sent, retried, last_try, settled],
        )
        assert [tuple(row) for row in log] == [
            (sent, 1, "delivered", None),
            (retried, 1, "pending", "smtp: 451 try later"),
            (last_try, 3, "failed", "smtp: 550 no such mailbox"),
        ]
        notification_ids = [
            str(row["notification_id"])
            for row in await pool.fetch(
                "SELECT notification_id FROM delivery WHERE id = ANY($1::bigint[])", [sent, retried, last_try, settled]
            )
        ]
        events = await pool.fetch(
            "SELECT type FROM outbox WHERE payload->'data'->>'notification_id' = ANY($1::text[]) ORDER BY type",
            notification_ids,
        )
        assert [row["type"] for row in events] == ["notification.delivered.v1", "notification.failed.v1"]
    finally:
        # leave nothing due at this early time for another run of the test
        await pool.execute(
            "UPDATE delivery SET status = 'failed' WHERE id = ANY($1::bigint[]) AND status = 'pending'",
            [sent, retried, last_try, settled],
        )


async def test_a_commit_that_queued_deliveries_wakes_the_sender_and_no_other_does(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    woken: list[int] = []
    factory = uow_factory(pool, settings=settings, on_deliveries_queued=lambda: woken.append(1))
    clock = Clock(datetime(1990, 3, 4, 8, 0, tzinfo=VIETNAM_TZ))

    async def notification(uow: NotificationsUnitOfWork) -> str:
        found = await uow.outgoing.insert_notification(
            NewNotification(
                rule="meeting_reminder",
                subject_id=random_id("wake"),
                period="p",
                recipient=Recipient(id=random_id("member"), kind="person", name="Phạm Văn Đồng"),
                cell_id=None,
                title="t",
                body="b",
                created_at=clock.value,
                digest_pending=False,
            )
        )
        assert found is not None
        return found

    async with factory() as uow:  # only the inbox, delivered as it is stored: nothing to send
        inbox = await uow.outgoing.add_delivery(
            notification_id=await notification(uow), channel="inbox", addresses=[], delivered_at=clock.value
        )
        await uow.commit()
    assert woken == []
    stored = await pool.fetchrow("SELECT status, delivered_at FROM delivery WHERE id = $1", inbox)
    assert (stored["status"], stored["delivered_at"]) == ("delivered", clock.value)
    log = await pool.fetch("SELECT attempt, outcome, error FROM delivery_log WHERE delivery_id = $1", inbox)
    assert [tuple(row) for row in log] == [(1, "delivered", None)]  # logged in the statement that stored it
    async with factory() as uow:  # queued, then rolled back: nothing to send either
        await uow.outgoing.add_delivery(
            notification_id=await notification(uow), channel="email", addresses=["a@example.vn"], delivered_at=None
        )
    assert woken == []
    async with factory() as uow:
        notification_id = await notification(uow)
        for channel in ("email", "webhook"):
            await uow.outgoing.add_delivery(
                notification_id=notification_id, channel=channel, addresses=["a@example.vn"], delivered_at=None
            )
        assert woken == []  # not before the rows are visible to the sender's transaction
        await uow.commit()
    assert woken == [1]
    await pool.execute(
        "UPDATE delivery SET status = 'failed' WHERE notification_id = $1::uuid", notification_id
    )  # not for another test's sender to pick up


async def test_an_idle_sender_sends_a_new_notice_at_once_not_at_its_next_poll(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    """The poll is two minutes here: a notice that arrives within 30 s was sent because its commit woke the sender."""
    inbox, _ = smtp
    p = Province()
    slow_poll = settings.model_copy(update={"delivery_poll_seconds": 120.0})
    async with running_app(build_app(slow_poll)):
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        await publish(amqp_url, [p.scheduled(random_id("mtg"), now() + timedelta(days=2))])
        await eventually(lambda: inbox.to(p.email(p.member)), timeout=30, interval=0.05)


async def test_each_sends_outcome_is_committed_before_its_slot_sends_again(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """A round of 8 over 2 slots: whenever a send begins, at most the other slot's mail has gone out unrecorded, so a
    crash (kill -9) at any moment leaves at most one mail per slot to go again after the lease. The round was
    recorded whole after its last send: 7 mails sent and unrecorded when the 8th began (trial: 107 of 120 twice)."""
    settings = settings.model_copy(update={"delivery_batch_size": 8})
    clock = Clock(datetime(1990, 3, 5, 8, 0, tzinfo=VIETNAM_TZ))
    ids = await queue(pool, settings, clock, 8)
    sent: list[int] = []
    unrecorded: list[int] = []

    class Sender:
        concurrency = 2

        async def send(self, delivery: ClaimedDelivery) -> None:
            recorded = await pool.fetchval(
                "SELECT count(*) FROM delivery WHERE id = ANY($1::bigint[]) AND status = 'delivered'", ids
            )
            unrecorded.append(len(sent) - recorded)
            sent.append(delivery.id)
            await asyncio.sleep(0.01)  # the server's answer

    factory = uow_factory(pool, settings=settings, clock=clock)
    rounds = DeliveryRounds(factory, {"email": Sender()})
    try:
        assert await rounds.step() == 8
        assert sorted(sent) == sorted(ids)
        assert max(unrecorded) <= Sender.concurrency - 1, unrecorded
        rows = await pool.fetch("SELECT status FROM delivery WHERE id = ANY($1::bigint[])", ids)
        assert [row["status"] for row in rows] == ["delivered"] * 8
        assert await rounds.step() == 0
    finally:
        await rounds.drain()
        await pool.execute(
            "UPDATE delivery SET status = 'failed' WHERE id = ANY($1::bigint[]) AND status = 'pending'", ids
        )


async def test_no_send_begins_once_half_the_lease_has_gone_by(pool: asyncpg.Pool, settings: Settings) -> None:
    """A slow channel (one slot, 1.2 s a send, a 2 s lease): the second and third sends would begin after half the
    lease and could still be on the wire when it runs out and another sender leases them again; they are not sent
    this round and stay pending, untried."""
    settings = settings.model_copy(update={"delivery_batch_size": 3, "delivery_lease_seconds": 2.0})
    clock = Clock(datetime(1990, 3, 6, 8, 0, tzinfo=VIETNAM_TZ))
    ids = await queue(pool, settings, clock, 3)
    sent: list[int] = []

    class Sender:
        concurrency = 1

        async def send(self, delivery: ClaimedDelivery) -> None:
            sent.append(delivery.id)
            await asyncio.sleep(1.2)

    rounds = DeliveryRounds(uow_factory(pool, settings=settings, clock=clock), {"email": Sender()})
    try:
        assert await rounds.step() == 3
        assert len(sent) == 1
        rows = await pool.fetch("SELECT id, status, attempts FROM delivery WHERE id = ANY($1::bigint[])", ids)
        assert {row["id"]: (row["status"], row["attempts"]) for row in rows} == {
            i: ("delivered", 1) if i in sent else ("pending", 0) for i in ids
        }
    finally:
        await rounds.drain()
        await pool.execute(
            "UPDATE delivery SET status = 'failed' WHERE id = ANY($1::bigint[]) AND status = 'pending'", ids
        )
