"""A delivery sender that dies mid-round loses its leases as soon as it is known dead, not after the 120 s lease: its
beat older than its own bound, or a process restarted in its pid namespace finding its pid gone. A live sender keeps
its leases however slow its mail server. Each mail goes out once. Real PostgreSQL, the real SMTP sender and a real
SMTP server (the package's aiosmtpd inbox)."""

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import asyncpg
import pytest

from services.notifications.channels import SmtpSender
from services.notifications.config import Settings
from services.notifications.domain import settings as r
from services.notifications.domain.model import Recipient
from services.notifications.handlers.deliveries import DeliveryRounds, claim_deliveries
from services.notifications.holders import DeliveryHolder
from services.notifications.repository.outgoing import ClaimedDelivery
from services.notifications.unit_of_work import uow_factory
from shared.periods import VIETNAM_TZ
from tests.notifications.conftest import SmtpInbox
from tests.notifications.fakes import Clock
from tests.notifications.test_shared_address import probation, raise_now
from tests.support.ids import random_id
from tests.support.running import free_port

MAILS = 6
BEAT, BOUND = 0.2, 1.5
"""The holders' beat and bound here (seconds): the service's are 5 and 30."""
PROMPT = 20.0
"""Well under the 120 s lease: the bound, a few rounds and a loaded machine's slowness."""


class StalledSender(SmtpSender):
    """The real SMTP sender, whose sends after the first `passing` never end: a process whose mail server stalls,
    or (its beats stopped too) one killed mid-round, which records nothing more."""

    def __init__(self, settings: Settings, *, passing: int) -> None:
        super().__init__(settings)
        self.passing = passing
        self.sent = 0
        self._never = asyncio.Event()

    async def send_group(self, deliveries: Sequence[ClaimedDelivery]) -> list[str | None]:
        """Send while some of `passing` are left, else hang."""
        if self.passing <= 0:
            await self._never.wait()
        self.passing -= 1
        said = await super().send_group(deliveries)
        self.sent += 1
        return said


async def wait_until(condition: Callable[[], Awaitable[bool]], what: str, *, within: float = 60.0) -> None:
    """Poll `condition` every 20 ms; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {within} s")
        await asyncio.sleep(0.02)


async def mails_due(pool: asyncpg.Pool, settings: Settings) -> tuple[str, list[str], Clock]:
    """MAILS personal mails due now (subject, addresses, a clock a minute on, past them)."""
    recipients = [
        Recipient(id=random_id("dh"), kind="person", name=f"Trần Thị {n}", emails=(f"{random_id('dh')}@example.vn",))
        for n in range(MAILS)
    ]
    subject_id, clock = random_id("dh"), Clock(datetime.now(VIETNAM_TZ))
    assert await raise_now(pool, settings, clock, probation(recipients, subject_id)) == MAILS
    return subject_id, [recipient.emails[0] for recipient in recipients], Clock(clock.value + timedelta(minutes=1))


async def ours(pool: asyncpg.Pool, subject_id: str, condition: str, *args: object) -> int:
    """How many of the subject's mail deliveries meet `condition` (SQL on `d`)."""
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM delivery d JOIN notification n ON n.id = d.notification_id"
            f" WHERE n.subject_id = $1 AND d.channel = 'email' AND {condition}",
            subject_id,
            *args,
        )
    )


def each_once(inbox: SmtpInbox, addresses: list[str]) -> dict[str, int]:
    """The addresses not mailed exactly once, with how many mails each got."""
    return {address: len(inbox.to(address)) for address in addresses if len(inbox.to(address)) != 1}


async def rounds_until(rounds: DeliveryRounds, done: Callable[[], Awaitable[bool]], *, within: float) -> None:
    """A sender's rounds, one after another (resting 20 ms after an empty one), until `done`."""
    deadline = time.monotonic() + within
    while not await done():
        if time.monotonic() > deadline:
            pytest.fail(f"not done within {within} s")
        if not await rounds.step():
            await asyncio.sleep(0.02)


async def stop(*tasks: "asyncio.Task[object]") -> None:
    """Cancel the tasks and wait for them."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_sender_dead_mid_round_loses_its_leases_within_its_bound_and_each_mail_goes_once(
    pool: asyncpg.Pool, settings: Settings, smtp: tuple[SmtpInbox, int]
) -> None:
    inbox = smtp[0]
    subject_id, addresses, later = await mails_due(pool, settings)
    factory = uow_factory(pool, settings=settings, clock=later)
    dying = StalledSender(settings, passing=1)
    dead = DeliveryHolder(every_seconds=BEAT, stale_seconds=BOUND)
    await dead.register(factory)
    beats = asyncio.create_task(dead.keep_beating(factory))
    round_ = asyncio.create_task(DeliveryRounds(factory, {"email": dying}, holder=dead).step())
    live_sender = SmtpSender(settings)
    try:
        # mid-round: one mail sent and recorded, the others leased to it and hanging
        await wait_until(lambda: asyncio.sleep(0, dying.sent == 1), "first mail of the round")

        async def all_leased() -> bool:
            return (
                await ours(pool, subject_id, "d.status = 'pending' AND d.locked_by = $2", dead.instance)
                + sum(1 for address in addresses if inbox.to(address))
                == MAILS
                and await ours(pool, subject_id, "d.status = 'pending'") > 0
            )

        await wait_until(all_leased, "round leasing the mails")
        await stop(beats)  # kill -9: its beats end with it, its round records nothing more
        died = time.monotonic()
        live = DeliveryHolder(every_seconds=BEAT, stale_seconds=BOUND)
        await live.register(factory)
        live_beats = asyncio.create_task(live.keep_beating(factory))
        try:
            rounds = DeliveryRounds(factory, {"email": live_sender}, holder=live)

            async def delivered() -> bool:
                return await ours(pool, subject_id, "d.status = 'delivered'") == MAILS

            await rounds_until(rounds, delivered, within=60)
            took = time.monotonic() - died
        finally:
            await stop(live_beats)
    finally:
        await stop(round_)
        await live_sender.aclose()
        await dying.aclose()
    assert took < PROMPT, f"the dead sender's mails went out {took:.1f} s after it died"
    assert each_once(inbox, addresses) == {}


async def test_a_live_sender_keeps_its_leases_however_slow_and_loses_them_once_dead(
    pool: asyncpg.Pool, settings: Settings, smtp: tuple[SmtpInbox, int]
) -> None:
    inbox = smtp[0]
    subject_id, addresses, later = await mails_due(pool, settings)
    factory = uow_factory(pool, settings=settings, clock=later)
    stalled = StalledSender(settings, passing=0)
    slow = DeliveryHolder(every_seconds=BEAT, stale_seconds=BOUND)
    await slow.register(factory)
    slow_beats = asyncio.create_task(slow.keep_beating(factory))
    round_ = asyncio.create_task(DeliveryRounds(factory, {"email": stalled}, holder=slow).step())
    other_sender = SmtpSender(settings)
    other = DeliveryHolder(every_seconds=BEAT, stale_seconds=BOUND)
    await other.register(factory)
    other_beats = asyncio.create_task(other.keep_beating(factory))
    rounds = DeliveryRounds(factory, {"email": other_sender}, holder=other)
    try:

        async def leased_to_slow() -> bool:
            return await ours(pool, subject_id, "d.locked_by = $2", slow.instance) == MAILS

        await wait_until(leased_to_slow, "round leasing the mails")
        # three of its bounds of another sender's rounds: the slow sender beats on, its leases stay its own
        watched = time.monotonic() + 3 * BOUND

        async def watched_long_enough() -> bool:
            return time.monotonic() > watched

        await rounds_until(rounds, watched_long_enough, within=60)
        assert [address for address in addresses if inbox.to(address)] == []
        assert await leased_to_slow()
        await stop(slow_beats)  # now it dies
        died = time.monotonic()

        async def delivered() -> bool:
            return await ours(pool, subject_id, "d.status = 'delivered'") == MAILS

        await rounds_until(rounds, delivered, within=60)
        took = time.monotonic() - died
    finally:
        await stop(slow_beats, other_beats, round_)
        await other_sender.aclose()
        await stalled.aclose()
    assert took < PROMPT, f"the dead sender's mails went out {took:.1f} s after it died"
    assert each_once(inbox, addresses) == {}


async def test_a_restart_finding_its_predecessors_pid_gone_takes_its_leases_at_once(
    pool: asyncpg.Pool, settings: Settings, smtp: tuple[SmtpInbox, int]
) -> None:
    inbox = smtp[0]
    subject_id, addresses, later = await mails_due(pool, settings)
    factory = uow_factory(pool, settings=settings, clock=later)
    ended = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    assert await ended.wait() == 0
    port = free_port()
    # the killed process: its pid is gone, its beat still young by its (long) bound
    killed = DeliveryHolder(every_seconds=5, stale_seconds=600, http_port=port, pid=ended.pid)
    await killed.register(factory)
    async with factory() as uow:
        await claim_deliveries(uow, holder=killed.instance)
        await uow.commit()
    assert await ours(pool, subject_id, "d.locked_by = $2", killed.instance) == MAILS
    restarted = DeliveryHolder(every_seconds=5, stale_seconds=600, http_port=port)
    began = time.monotonic()
    assert await restarted.register(factory) == [killed.instance]
    sender = SmtpSender(settings)
    try:

        async def delivered() -> bool:
            return await ours(pool, subject_id, "d.status = 'delivered'") == MAILS

        await rounds_until(DeliveryRounds(factory, {"email": sender}, holder=restarted), delivered, within=60)
    finally:
        await sender.aclose()
    assert time.monotonic() - began < PROMPT
    assert each_once(inbox, addresses) == {}
    # a live process (this one's pid) is never taken for dead, nor a pid of another pid namespace (a replica in
    # another container with the same host name), gone here or not
    alive = DeliveryHolder(every_seconds=5, stale_seconds=600, http_port=port)
    elsewhere = DeliveryHolder(every_seconds=5, stale_seconds=600, http_port=port, pid=ended.pid)
    elsewhere.pid_space = "another-boot/pid:[1]"
    await alive.register(factory)
    await elsewhere.register(factory)
    assert await DeliveryHolder(every_seconds=5, stale_seconds=600).register(factory) == []
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM delivery_holder WHERE instance = ANY($1::text[]) AND gone_at IS NULL",
            [alive.instance, elsewhere.instance, restarted.instance],
        )
        == 3
    )


async def test_a_retraction_cancels_the_mails_a_dead_sender_leased_and_leaves_a_live_senders(
    pool: asyncpg.Pool, settings: Settings, smtp: tuple[SmtpInbox, int]
) -> None:
    """A retraction cancels the mails no sender holds and leaves those one is sending (gone_out counts them gone):
    a dead sender's leases are no longer taken for mails going out, else its mails about an alert retracted meanwhile
    went out once another sender took them over."""
    dead_subject, _, later = await mails_due(pool, settings)
    factory = uow_factory(pool, settings=settings, clock=later)
    dead = DeliveryHolder(every_seconds=BEAT, stale_seconds=BOUND)
    await dead.register(factory)
    async with factory() as uow:
        await claim_deliveries(uow, holder=dead.instance)
        await uow.commit()
    live_subject, _, _ = await mails_due(pool, settings)
    live = DeliveryHolder(every_seconds=BEAT, stale_seconds=BOUND)
    await live.register(factory)
    beats = asyncio.create_task(live.keep_beating(factory))
    try:
        async with factory() as uow:
            await claim_deliveries(uow, holder=live.instance)
            await uow.commit()
        assert await ours(pool, dead_subject, "d.locked_by = $2", dead.instance) == MAILS
        assert await ours(pool, live_subject, "d.locked_by = $2", live.instance) == MAILS

        async def dead_known() -> bool:
            return bool(
                await pool.fetchval(
                    "SELECT beat_at < now() - stale_after_seconds * interval '1 second' FROM delivery_holder"
                    " WHERE instance = $1",
                    dead.instance,
                )
            )

        await wait_until(dead_known, "dead sender's beat past its bound")
        async with factory() as uow:
            _, cancelled = await uow.outgoing.retract_alerts(
                r.PROBATION_ENDING, [dead_subject, live_subject], now=later.value
            )
            await uow.commit()
    finally:
        await stop(beats)
    assert cancelled == MAILS
    assert await ours(pool, dead_subject, "d.status = 'cancelled'") == MAILS
    assert await ours(pool, live_subject, "d.status = 'pending' AND d.locked_by = $2", live.instance) == MAILS


def test_a_bound_not_over_twice_the_beat_is_refused_at_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="CHIBO_DELIVERY_HOLDER_STALE_SECONDS must exceed twice"):
        Settings.model_validate(
            {**settings.model_dump(), "delivery_holder_beat_seconds": 5, "delivery_holder_stale_seconds": 10}
        )
    with pytest.raises(ValueError, match="stale_seconds must exceed twice"):
        DeliveryHolder(every_seconds=5, stale_seconds=10)
