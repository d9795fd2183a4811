"""Delivery attempts: send leased deliveries, back off exponentially, give up and report, retry on request."""

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from services.notifications.channels import DeliveryError, GroupSender, Sender
from services.notifications.config import Settings
from services.notifications.handlers.alerts import delivered_envelope, deliveries_counted, failed_envelope
from services.notifications.holders import DeliveryHolder
from services.notifications.repository.outgoing import ClaimedDelivery, Outcome
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.logs import get_logger

log = get_logger(__name__)
DEBUG = logging.getLogger(__name__)
SHUTDOWN_SEND_SECONDS = 2.0
"""How long sends under way may still take when the service stops (within its graceful timeout)."""


def backoff(attempt: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """Wait before the next attempt: base, 2×base, 4×base … capped."""
    return timedelta(seconds=min(base_seconds * (2 ** max(attempt - 1, 0)), max_seconds))


async def claim_deliveries(uow: NotificationsUnitOfWork, *, holder: str | None = None) -> list[ClaimedDelivery]:
    """Lease the due deliveries for one attempt each, for `holder` (a DeliveryHolder's instance; None: no holder
    known, the lease alone guards them)."""
    s = uow.settings
    return await uow.outgoing.claim_deliveries(
        now=uow.now(), limit=s.delivery_batch_size, lease=timedelta(seconds=s.delivery_lease_seconds), holder=holder
    )


def outcome_of(delivery: ClaimedDelivery, *, error: str | None, now: datetime, settings: Settings) -> Outcome:
    """What an attempt comes to: delivered, failed after the last attempt, or pending with its backoff."""
    attempt = delivery.attempts + 1
    if error is None:
        return Outcome(delivery.id, "delivered", None, None)
    if attempt >= settings.delivery_max_attempts:
        return Outcome(delivery.id, "failed", error, None)
    wait = backoff(
        attempt, base_seconds=settings.delivery_backoff_seconds, max_seconds=settings.delivery_backoff_max_seconds
    )
    return Outcome(delivery.id, "pending", error, now + wait)


async def record_attempts(
    results: Sequence[tuple[ClaimedDelivery, str | None]], *, uow: NotificationsUnitOfWork
) -> dict[int, str]:
    """Store a round's outcomes (delivery, error or None) in multi-row statements and emit delivered/failed
    events; the new status of each delivery recorded (one settled meanwhile, by a retry request, is left out)."""
    now: datetime = uow.now()
    outcomes = {
        delivery.id: outcome_of(delivery, error=error, now=now, settings=uow.settings) for delivery, error in results
    }
    recorded = await uow.outgoing.record_outcomes(list(outcomes.values()), now=now)
    if uow.watch is not None:  # every attempt made tells whether its channel works, recorded or not
        uow.watch.saw(((delivery.channel, error) for delivery, error in results), now=now)
    statuses: dict[int, str] = {}
    for delivery, _ in results:
        if delivery.id not in recorded:
            continue
        outcome = outcomes[delivery.id]
        statuses[delivery.id] = outcome.status
        report(delivery, outcome, attempt=recorded[delivery.id], now=now, uow=uow)
    log_delivered(delivery for delivery, _ in results if statuses.get(delivery.id) == "delivered")
    return statuses


def log_delivered(delivered: Iterable[ClaimedDelivery]) -> None:
    """One `notices_delivered` line per correlation id among a round's delivered notices (their deciding events',
    docs/operations.md): the count, rules and first notification; the sender runs outside any event's handling, so
    without it an operator following an event lost it at its mail (one line per delivery is the debug
    `delivery_sent`: a month-start round of thousands would write thousands)."""
    runs: dict[str | None, list[ClaimedDelivery]] = {}
    for delivery in delivered:
        runs.setdefault(delivery.correlation_id, []).append(delivery)
    for correlation_id, run in runs.items():
        log.info(
            "notices_delivered",
            correlation_id=correlation_id,
            deliveries=len(run),
            rules=sorted({delivery.rule for delivery in run}),
            first_notification_id=run[0].notification_id,
        )


def report(
    delivery: ClaimedDelivery, outcome: Outcome, *, attempt: int, now: datetime, uow: NotificationsUnitOfWork
) -> None:
    """Count, log and emit (notification.delivered.v1 / notification.failed.v1) one recorded outcome."""
    status, error = outcome.status, outcome.error
    deliveries_counted(delivery.rule, delivery.channel, "retrying" if status == "pending" else status).inc()
    if status == "delivered":
        uow.emit(
            delivered_envelope(
                notification_id=delivery.notification_id,
                rule=delivery.rule,
                recipient_id=delivery.recipient_id,
                channel=delivery.channel,
                subject_id=delivery.subject_id,
                time=now,
                correlation_id=delivery.correlation_id,
            )
        )
        if DEBUG.isEnabledFor(logging.DEBUG):  # structlog renders a line before the level filter drops it
            log.debug("delivery_sent", delivery_id=delivery.id, channel=delivery.channel, attempt=attempt)
    elif status == "failed":
        uow.emit(
            failed_envelope(
                notification_id=delivery.notification_id,
                rule=delivery.rule,
                recipient_id=delivery.recipient_id,
                channel=delivery.channel,
                subject_id=delivery.subject_id,
                error=error,
                time=now,
                correlation_id=delivery.correlation_id,
            )
        )
        log.warning(
            "delivery_failed",
            delivery_id=delivery.id,
            channel=delivery.channel,
            attempt=attempt,
            error=error,
            correlation_id=delivery.correlation_id,
        )
    else:
        next_at = outcome.next_attempt_at
        log.info(
            "delivery_retry_planned",
            delivery_id=delivery.id,
            channel=delivery.channel,
            attempt=attempt,
            next_attempt_at=next_at.isoformat() if next_at else None,
            error=error,
            correlation_id=delivery.correlation_id,
        )


async def attempt(delivery: ClaimedDelivery, senders: Mapping[str, Sender]) -> str | None:
    """Send once; None on success, else the reason."""
    sender = senders.get(delivery.channel)
    if sender is None:
        return f"no sender for channel {delivery.channel}"
    try:
        await sender.send(delivery)
    except DeliveryError as exc:
        return str(exc)
    return None


async def attempt_alone(delivery: ClaimedDelivery, senders: Mapping[str, Sender]) -> list[str | None]:
    """`attempt` as a group of one."""
    return [await attempt(delivery, senders)]


def group_sends(
    claimed: Sequence[ClaimedDelivery], senders: Mapping[str, Sender]
) -> list[tuple[list[ClaimedDelivery], GroupSender | None]]:
    """The round's sends: deliveries whose sender carries identical content to many at once go together by its
    group key (at most `max_group` each, in the round's order), every other delivery alone."""
    sends: list[tuple[list[ClaimedDelivery], GroupSender | None]] = []
    open_groups: dict[tuple[str, Hashable], list[ClaimedDelivery]] = {}
    # isinstance on a runtime-checkable Protocol inspects its members: once per channel, not per delivery
    grouping = {channel: s for channel, s in senders.items() if isinstance(s, GroupSender)}
    for delivery in claimed:
        sender = grouping.get(delivery.channel)
        if sender is None:
            sends.append(([delivery], None))
            continue
        key = (delivery.channel, sender.group_key(delivery))
        group = open_groups.get(key)
        if group is None or len(group) >= sender.max_group:
            group = open_groups[key] = []
            sends.append((group, sender))
        group.append(delivery)
    return sends


async def send_together(
    group: list[ClaimedDelivery], sender: GroupSender | None, senders: Mapping[str, Sender]
) -> list[str | None]:
    """Send one planned group; per delivery, None when sent, else the reason."""
    if sender is None:
        return await attempt_alone(group[0], senders)
    outcomes = await sender.send_group(group)
    if len(outcomes) != len(group):
        raise RuntimeError(f"{len(outcomes)} outcomes for a group of {len(group)}")
    return outcomes


class OutcomeRecorder:
    """Records sends' outcomes as they end, a commit shared by all the sends that ended meanwhile (group commit): a
    send waits for its outcome to be committed, and the next send on its session begins only then (`DeliveryRounds`).

    One recording at a time: the first outcome of a quiet spell is committed alone at once, and those that end while
    that commit is under way go together in the next. A failed recording fails every send waiting for it; their
    deliveries stay leased and are tried again once the lease runs out (the mails went out: at least once)."""

    def __init__(self, uow_factory: Callable[[], NotificationsUnitOfWork]) -> None:
        self._uow_factory = uow_factory
        self._waiting: list[tuple[list[tuple[ClaimedDelivery, str | None]], asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None
        self.counts: Counter[str] = Counter()
        """Statuses recorded so far (delivered, pending, failed), for the round's log line."""
        self.commits = 0
        """Recordings committed so far."""

    async def record(self, results: list[tuple[ClaimedDelivery, str | None]]) -> None:
        """Commit these (delivery, error or None) outcomes with whatever else has ended; return once committed.

        Shielded: a stop cancelling the send waiting here does not cancel the recording (mail sent and not recorded
        would go again after the lease); `drain` waits for it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((results, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        await asyncio.shield(done)

    async def drain(self) -> None:
        """Wait until every outcome handed to `record` has been committed (or its recording has failed)."""
        while self._flushing is not None and not self._flushing.done():
            await asyncio.shield(self._flushing)

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            results = [result for results, _ in batch for result in results]
            try:
                async with self._uow_factory() as uow:
                    statuses = await record_attempts(results, uow=uow)
                    await uow.commit()
            except Exception as exc:
                log.error("deliveries_not_recorded", deliveries=len(results), error=repr(exc))
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                        done.exception()  # seen here: a send cancelled meanwhile no longer asks for it
                continue
            self.counts.update(statuses.values())
            self.commits += 1
            for _, done in batch:
                if not done.done():
                    done.set_result(None)


def concurrency(sender: Sender | None) -> int | None:
    """How many sends a channel carries at once (its SMTP sessions, its webhook POSTs); None when it does not say."""
    value = getattr(sender, "concurrency", None)
    return max(int(value), 1) if isinstance(value, int) else None


class DeliveryRounds:
    """The sender's rounds: a round leases up to `delivery_batch_size` due deliveries and sends them, each channel's
    at most `concurrency` at once (one per SMTP session), and each send's outcome is committed before the next send
    takes its place (`OutcomeRecorder`: sends ending together share a commit). A crash (kill -9, power) thus leaves
    at most the mails in flight, one per session, sent and unrecorded: they alone go again once the lease runs out.

    Rounds were recorded whole, in one transaction after the last send (pipelined with the next round's sending): a
    kill -9 mid-round sent again every mail the round had sent so far (trial, 5 December 2026: 107 of 120 mails twice,
    same Message-ID, after the 120 s lease). The price: a commit per 3-5 mails instead of one per round, ~6 % fewer
    mails/s and ~15 % more of the sender's CPU to the demo sink (tests/benchmarks/mail_rounds.py;
    docs/architecture.md).

    With a `holder` (services.notifications.holders), its leases carry its instance: another sender takes them over
    as soon as it is known dead, not after the lease, and it begins no send it may have lost (DeliveryHolder.holds)."""

    def __init__(
        self,
        uow_factory: Callable[[], NotificationsUnitOfWork],
        senders: Mapping[str, Sender],
        *,
        holder: DeliveryHolder | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._senders = senders
        self._holder = holder
        self._recorder = OutcomeRecorder(uow_factory)
        self._slots = {
            channel: asyncio.Semaphore(bound)
            for channel, sender in senders.items()
            if (bound := concurrency(sender)) is not None
        }

    async def step(self) -> int:
        """One round: lease up to `delivery_batch_size` due deliveries, send them (identical mails as one transaction
        to all their recipients, each channel at most `concurrency` at once) and commit each send's outcomes before
        its slot sends again; how many were leased. Raises the error of a recording that failed (the round stops
        sending: nothing more goes out that could not be recorded)."""
        started = time.monotonic()
        holder = self._holder
        instance = holder.instance if holder is not None else None
        if holder is not None and not holder.holds(holder.instance):
            await self.drain()
            return 0  # not registered yet, or its beats not confirmed lately: it would lease what it may not send
        async with self._uow_factory() as uow:
            claimed = await claim_deliveries(uow, holder=instance)
            await uow.commit()
            lease_seconds = uow.settings.delivery_lease_seconds
        if not claimed:
            await self.drain()
            return 0
        self._recorder.counts.clear()
        planned = group_sends(claimed, self._senders)
        state = _RoundState(len(planned), started=started, lease_seconds=lease_seconds, holder=instance)
        sends = [
            asyncio.create_task(self._send_and_record(index, group, sender, state))
            for index, (group, sender) in enumerate(planned)
        ]
        try:
            await asyncio.wait(sends)  # a cancel here (shutdown) leaves the sends running: see below
        except asyncio.CancelledError:
            await self._finish_at_shutdown(planned, sends, state)
            raise
        failures = [error for send in sends if (error := send.exception()) is not None]  # every one retrieved
        if failures:
            await self._hand_back(planned, state)
            raise failures[0]
        counts = self._recorder.counts
        log.info(
            "deliveries_round",
            leased=len(claimed),
            sends=len(planned),
            delivered=counts["delivered"],
            retrying=counts["pending"],
            failed=counts["failed"],
            total_ms=round((time.monotonic() - started) * 1000),
        )
        return len(claimed)

    @property
    def commits(self) -> int:
        """Transactions that recorded outcomes, over every round so far."""
        return self._recorder.commits

    async def drain(self) -> None:
        """Wait until the outcomes of the sends that ended have been committed (at shutdown, before the sessions
        close); shielded, as `OutcomeRecorder.record` is."""
        await self._recorder.drain()

    async def _send_and_record(
        self, index: int, group: list[ClaimedDelivery], sender: GroupSender | None, state: "_RoundState"
    ) -> None:
        slot = self._slots.get(group[0].channel)
        async with slot if slot is not None else contextlib.nullcontext():
            if state.stopping or time.monotonic() > state.send_by or not self._still_held(state):
                return  # shutting down, a recording failed, the lease half gone or maybe lost: not sent, handed back
            state.stages[index] = "sending"
            outcomes = await send_together(group, sender, self._senders)
            state.stages[index] = "sent"
            try:
                await self._recorder.record(list(zip(group, outcomes, strict=True)))
            except Exception:
                state.stopping = True  # the database is away: send nothing more this round
                raise

    def _still_held(self, state: "_RoundState") -> bool:
        """Whether the round's leases are surely still this sender's (always, without a holder: the lease's half)."""
        return self._holder is None or state.holder is None or self._holder.holds(state.holder)

    async def _finish_at_shutdown(
        self,
        planned: list[tuple[list[ClaimedDelivery], GroupSender | None]],
        sends: list["asyncio.Task[None]"],
        state: "_RoundState",
    ) -> None:
        """Stopping mid-round: no new send begins, the sends under way may end (briefly) and are recorded, and the
        deliveries not tried are handed back.

        Cancelling a send after the mail server took the mail, without recording it, sent it again once the lease ran
        out (a duplicate); a claimed delivery never tried waited out the whole lease (120 s) after the restart. A mail
        to many ends as one: all its deliveries recorded, or all handed back."""
        state.stopping = True
        _, unfinished = await asyncio.wait(sends, timeout=SHUTDOWN_SEND_SECONDS)
        for send in unfinished:
            send.cancel()
        if unfinished:
            await asyncio.wait(unfinished)
        await self.drain()
        handed_back = await self._hand_back(planned, state)
        log.info("deliveries_stopped", recorded=sum(self._recorder.counts.values()), handed_back=handed_back)

    async def _hand_back(
        self, planned: list[tuple[list[ClaimedDelivery], GroupSender | None]], state: "_RoundState"
    ) -> int:
        """Release the round's deliveries whose send never began, or was cancelled before the server answered; how
        many (a failure to release leaves them leased: tried again after the lease)."""
        ids = [
            delivery.id
            for (group, _), stage in zip(planned, state.stages, strict=True)
            if stage != "sent"
            for delivery in group
        ]
        if not ids or time.monotonic() > state.lease_ends:
            return 0  # a lease run out may be another sender's now: the deliveries are not ours to hand back
        try:
            async with self._uow_factory() as uow:
                await uow.outgoing.release_deliveries(ids, holder=state.holder)
                await uow.commit()
        except Exception as exc:
            log.error("deliveries_not_handed_back", deliveries=len(ids), error=repr(exc))
            return 0
        return len(ids)


class _RoundState:
    """Where each planned send of a round stands: "waiting" (for a slot), "sending", "sent" (its outcome handed to
    the recorder); `stopping` keeps sends that have not begun from beginning, and so does half the lease gone by
    (`send_by`, monotonic): a send begun later could still be under way when the lease runs out and another sender
    leases the delivery again (a slow mail server: 1,000 deliveries at 16 sessions and 10 s each take 625 s)."""

    def __init__(self, sends: int, *, started: float, lease_seconds: float, holder: str | None = None) -> None:
        self.holder = holder
        """The holder instance the round's deliveries were leased for (None: none)."""
        self.stages = ["waiting"] * sends
        self.stopping = False
        self.send_by = started + lease_seconds / 2
        self.lease_ends = started + lease_seconds


async def deliver_due(uow_factory: Callable[[], NotificationsUnitOfWork], senders: Mapping[str, Sender]) -> int:
    """One round, every outcome recorded before it returns (`DeliveryRounds.step`); how many were leased."""
    rounds = DeliveryRounds(uow_factory, senders)
    try:
        return await rounds.step()
    finally:
        await rounds.drain()
