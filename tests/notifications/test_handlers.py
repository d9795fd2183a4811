"""Handlers and scheduled jobs against the real database, with a controllable clock."""

import asyncio
from datetime import date, datetime, timedelta

import asyncpg
import pytest
from pydantic import ValidationError

from services.notifications.background import seal_plain_secrets
from services.notifications.config import Settings
from services.notifications.domain.model import Recipient
from services.notifications.handlers import HANDLERS
from services.notifications.handlers.alerts import effective_preference
from services.notifications.handlers.commands import Commands
from services.notifications.handlers.deliveries import deliver_due
from services.notifications.handlers.jobs import run_job, send_digests
from services.notifications.repository.outgoing import ClaimedDelivery, Job, NewNotification, Preference
from services.notifications.secrets import SecretBox
from services.notifications.unit_of_work import NotificationsUnitOfWork, uow_factory
from shared.contracts.notifications_rpc import SetPreferences
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent, validation_message
from shared.envelope import now as wall_clock
from shared.periods import VIETNAM_TZ
from shared.rpc import RpcError
from shared.text import BLANK_SAID
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.support.ids import random_id
from tests.support.running import eventually


async def handle(pool: asyncpg.Pool, settings: Settings, clock: Clock, *events: CloudEvent) -> None:
    """Apply events through their handlers, each in its own committed unit of work."""
    for item in events:
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            await HANDLERS[item.type](read_event(item), uow)
            await uow.commit()


async def fire(pool: asyncpg.Pool, settings: Settings, clock: Clock, kind: str, subject_id: str) -> int:
    """Run one planned job now (as the schedule runner would when it is due)."""
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        row = await uow.connection.fetchrow(
            "SELECT id, kind, subject_id, due_at, attempts FROM schedule WHERE kind = $1 AND subject_id = $2",
            kind,
            subject_id,
        )
        created = (await run_job(Job(**dict(row)), uow)).created
        await uow.commit()
    return created


async def test_probation_ending_is_planned_30_days_ahead_and_fires_once_inside_the_window(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(datetime(2026, 11, 1, 9, 0, tzinfo=VIETNAM_TZ))
    probationer = p.member
    await handle(pool, settings, clock, *p.setup())
    await handle(
        pool,
        settings,
        clock,
        event(
            "member.upserted.v1",
            {
                "id": probationer,
                "full_name": "Lê Văn Đức",
                "cell_id": p.cell,
                "status": "probationary",
                "admitted_on": "2025-12-20",
                "email": p.email(probationer),
            },
        ),
    )
    async with pool.acquire() as conn:
        due = await conn.fetchval(
            "SELECT due_at FROM schedule WHERE kind = 'member.probation' AND subject_id = $1", probationer
        )
    assert due == datetime(2026, 11, 20, 8, 0, tzinfo=VIETNAM_TZ)
    clock.value = datetime(2026, 11, 19, 23, 59, tzinfo=VIETNAM_TZ)
    assert await fire(pool, settings, clock, "member.probation", probationer) == 0
    clock.value = datetime(2026, 11, 20, 8, 0, tzinfo=VIETNAM_TZ)
    assert await fire(pool, settings, clock, "member.probation", probationer) == 1
    assert await fire(pool, settings, clock, "member.probation", probationer) == 0
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT recipient_id, title, body FROM notification WHERE rule = 'probation_ending' AND subject_id = $1",
            probationer,
        )
    assert row["recipient_id"] == p.secretary
    assert "hết thời gian dự bị vào ngày 20/12/2026" in row["body"]


async def test_a_committee_that_chose_the_digest_gets_one_message_a_day(pool: asyncpg.Pool, settings: Settings) -> None:
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    await handle(pool, settings, clock, *p.setup())
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        await uow.outgoing.set_preference(
            Preference(recipient_id=p.committee, channels=("email", "inbox"), digest=True)
        )
        await uow.commit()
    # two alerts (two meetings: crossings at one meeting are one notice, test_crossings_any_chopping)
    for member_id, count, meeting_id in ((p.member, 4, "m-x"), (p.deputy, 5, "m-y")):
        await handle(
            pool,
            settings,
            clock,
            event(
                "member.attendance.updated.v1",
                {
                    "member_id": member_id,
                    "cell_id": p.cell,
                    "meeting_id": meeting_id,
                    "full_name": "Đồng chí A",
                    "consecutive_absences": count,
                    "consecutive_excused_absences": 0,
                    "unexcused_months_last_year": 0,
                },
            ),
        )
    async with pool.acquire() as conn:
        pending = await conn.fetch(
            "SELECT n.id, array_agg(d.channel) AS channels FROM notification n"
            " JOIN delivery d ON d.notification_id = n.id"
            " WHERE n.recipient_id = $1 AND n.digest_pending GROUP BY n.id",
            p.committee,
        )
    assert len(pending) == 2 and all(row["channels"] == ["inbox"] for row in pending)
    clock.value = datetime(2026, 11, 10, 17, 0, tzinfo=VIETNAM_TZ)
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        assert await send_digests(uow, day=date(2026, 11, 10), until=clock.value) >= 1
        await uow.commit()
    async with pool.acquire() as conn:
        digest = await conn.fetchrow(
            "SELECT n.title, n.body, array_agg(d.channel) AS channels FROM notification n"
            " JOIN delivery d ON d.notification_id = n.id"
            " WHERE n.rule = 'daily_digest' AND n.recipient_id = $1 GROUP BY n.id",
            p.committee,
        )
        left = await conn.fetchval(
            "SELECT count(*) FROM notification WHERE recipient_id = $1 AND digest_pending", p.committee
        )
    assert digest["channels"] == ["email"] and left == 0
    assert digest["title"] == "Tổng hợp cảnh báo ngày 10/11/2026: 2 nội dung"
    assert "Kính gửi Đảng ủy phường Hòa Bình," in digest["body"] and "vắng 4 buổi liên tiếp" in digest["body"]


async def test_a_stale_snapshot_does_not_overwrite_a_newer_one(pool: asyncpg.Pool, settings: Settings) -> None:
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    newer = event(
        "member.upserted.v1",
        {"id": p.member, "full_name": "Tên mới", "cell_id": p.cell, "status": "official", "email": "moi@x.vn"},
        time=datetime(2026, 11, 2, tzinfo=VIETNAM_TZ),
    )
    older = event(
        "member.upserted.v1",
        {"id": p.member, "full_name": "Tên cũ", "cell_id": p.cell, "status": "official", "email": "cu@x.vn"},
        time=datetime(2026, 11, 1, tzinfo=VIETNAM_TZ),
    )
    await handle(pool, settings, clock, newer, older)
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        stored = await uow.projection.get_member(p.member)
    assert stored is not None and stored.full_name == "Tên mới" and stored.email == "moi@x.vn"


async def due_times(pool: asyncpg.Pool, meeting_id: str) -> dict[str, tuple[datetime, bool]]:
    """Each meeting job's (due time, fired)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT kind, due_at, done_at IS NOT NULL AS fired FROM schedule WHERE subject_id = $1", meeting_id
        )
    return {row["kind"]: (row["due_at"], row["fired"]) for row in rows}


async def test_setting_a_rule_moves_the_pending_jobs_of_the_subtree_and_leaves_fired_ones(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p, elsewhere = Province(), Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    starts = datetime(2026, 11, 13, 19, 30, tzinfo=VIETNAM_TZ)
    meeting_id, other_id = random_id("mtg"), random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), *elsewhere.setup())
    await handle(pool, settings, clock, p.scheduled(meeting_id, starts), elsewhere.scheduled(other_id, starts))
    clock.value = datetime(2026, 11, 12, 19, 30, tzinfo=VIETNAM_TZ)
    await fire(pool, settings, clock, "meeting.documents", meeting_id)
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        await uow.connection.execute(
            "UPDATE schedule SET done_at = $2 WHERE kind = 'meeting.documents' AND subject_id = $1",
            meeting_id,
            clock.value,
        )
        await uow.commit()
    before = await due_times(pool, meeting_id)

    commands = Commands(lambda: NotificationsUnitOfWork(pool, settings=settings, clock=clock))
    answer = await commands.set_rule(p.committee, "meeting_reminder", {"hours_before": 24})
    assert answer["rules"]["meeting_reminder"]["params"]["hours_before"] == 24
    await commands.set_rule(p.committee, "documents_missing", {"hours_before": 48})
    await commands.set_rule(p.committee, "minutes_late", {"days_after": 5})

    after = await due_times(pool, meeting_id)
    assert after["meeting.reminder"] == (datetime(2026, 11, 12, 19, 30, tzinfo=VIETNAM_TZ), False)
    assert after["meeting.documents"] == before["meeting.documents"] and after["meeting.documents"][1]
    assert after["meeting.minutes"] == (datetime(2026, 11, 18, 19, 30, tzinfo=VIETNAM_TZ), False)
    assert after["meeting.minutes_superior"] == (datetime(2026, 11, 21, 19, 30, tzinfo=VIETNAM_TZ), False)
    untouched = await due_times(pool, other_id)
    assert untouched["meeting.reminder"] == (datetime(2026, 11, 13, 16, 30, tzinfo=VIETNAM_TZ), False)
    assert untouched["meeting.minutes"] == (datetime(2026, 11, 15, 19, 30, tzinfo=VIETNAM_TZ), False)


async def test_setting_the_probation_lead_time_moves_a_pending_probation_check(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(datetime(2026, 11, 1, 9, 0, tzinfo=VIETNAM_TZ))
    await handle(pool, settings, clock, *p.setup())
    await handle(
        pool,
        settings,
        clock,
        event(
            "member.upserted.v1",
            {
                "id": p.member,
                "full_name": "Lê Văn Đức",
                "cell_id": p.cell,
                "status": "probationary",
                "admitted_on": "2025-12-20",
            },
        ),
    )
    commands = Commands(lambda: NotificationsUnitOfWork(pool, settings=settings, clock=clock))
    await commands.set_rule(p.committee, "probation_ending", {"days_before": 10})
    async with pool.acquire() as conn:
        due = await conn.fetchval(
            "SELECT due_at FROM schedule WHERE kind = 'member.probation' AND subject_id = $1", p.member
        )
    assert due == datetime(2026, 12, 10, 8, 0, tzinfo=VIETNAM_TZ)


async def test_webhook_secrets_are_sealed_at_rest_opened_for_delivery_and_plain_ones_sealed_at_start(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    legacy = random_id("dv")
    factory = uow_factory(pool, settings=settings, clock=clock)
    commands = Commands(factory)
    answer = await commands.set_preferences(
        p.member, ["webhook"], webhook_url="http://127.0.0.1:9/hook", webhook_secret="khóa-riêng"
    )
    assert answer["webhook_secret_set"] is True and "khóa-riêng" not in repr(answer)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO preference (recipient_id, channels, webhook_url, webhook_secret) VALUES ($1, $2, $3, $4)",
            legacy,
            ["webhook"],
            "http://127.0.0.1:9/hook",
            "khóa-cũ",
        )
    assert await seal_plain_secrets(factory) >= 1
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT recipient_id, webhook_secret, webhook_secret_sealed FROM preference WHERE recipient_id = ANY($1)",
            [p.member, legacy],
        )
    assert all(row["webhook_secret"] is None for row in rows)
    assert {row["recipient_id"]: SecretBox(settings.secret_key).open(row["webhook_secret_sealed"]) for row in rows} == {
        p.member: "khóa-riêng",
        legacy: "khóa-cũ",
    }

    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        notification_id = await uow.outgoing.insert_notification(
            NewNotification(
                rule="meeting_reminder",
                subject_id=random_id("mtg"),
                period="p",
                recipient=Recipient(id=p.member, kind="person", name="Lê Văn Đức"),
                cell_id=p.cell,
                title="t",
                body="b",
                created_at=clock.value,
                digest_pending=False,
            )
        )
        assert notification_id is not None
        delivery_id = await uow.outgoing.add_delivery(
            notification_id=notification_id, channel="webhook", addresses=["http://127.0.0.1:9/hook"], delivered_at=None
        )
        await uow.commit()
    opened = {}
    for key in (settings.secret_key, "một-khóa-khác"):
        keyed = settings.model_copy(update={"secret_key": key})
        async with NotificationsUnitOfWork(pool, settings=keyed, clock=clock) as uow:
            claimed = await uow.outgoing.claim_deliveries(
                now=wall_clock() + timedelta(minutes=1), limit=10_000, lease=timedelta(minutes=1)
            )
            opened[key] = next(d for d in claimed if d.id == delivery_id).webhook_secret
            await uow.rollback()
    # another key opens nothing: the delivery is not signed with a secret it cannot vouch for
    assert opened == {settings.secret_key: "khóa-riêng", "một-khóa-khác": None}
    async with pool.acquire() as conn:
        await conn.execute("UPDATE delivery SET status = 'delivered' WHERE id = $1", delivery_id)

    no_key = Commands(uow_factory(pool, settings=settings.model_copy(update={"secret_key": ""}), clock=clock))
    with pytest.raises(RpcError) as refused:
        await no_key.set_preferences(p.deputy, ["webhook"], webhook_url="http://127.0.0.1:9/h", webhook_secret="x")
    assert refused.value.code == "invalid"


@pytest.mark.parametrize("secret", ["   ", "\u200b", "\u00a0\u3164\t"])
async def test_a_webhook_secret_of_only_spaces_or_invisible_characters_is_refused_not_sealed(
    pool: asyncpg.Pool, settings: Settings, secret: str
) -> None:
    """A `webhook_secret` of only spaces or invisible characters was sealed and signed every delivery with nothing
    anyone could read back: refused as every blank text is (BLANK_SAID), over RPC and by the contract alike."""
    p = Province()
    commands = Commands(
        uow_factory(pool, settings=settings, clock=Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ)))
    )
    with pytest.raises(RpcError) as refused:
        await commands.set_preferences(
            p.member, ["webhook"], webhook_url="http://127.0.0.1:9/hook", webhook_secret=secret
        )
    assert (refused.value.code, refused.value.field) == ("invalid", "webhook_secret")
    assert str(refused.value) == f"webhook_secret: {BLANK_SAID}"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM preference WHERE recipient_id = $1", p.member) == 0
    with pytest.raises(ValidationError) as invalid:
        SetPreferences(recipient_id=p.member, channels=["webhook"], webhook_secret=secret)
    assert [(e["loc"], validation_message(e)) for e in invalid.value.errors()] == [(("webhook_secret",), BLANK_SAID)]


async def test_equal_time_snapshots_are_ordered_by_the_incoming_id_not_the_republished_one(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """Issue 10 fault 10: notifications orders a member's snapshots by the incoming (time, originid), as meetings
    does, not by the id meetings gave the re-published event."""
    p = Province()
    clock = Clock(datetime(2026, 11, 1, 9, 0, tzinfo=VIETNAM_TZ))
    await handle(pool, settings, clock, *p.setup())
    at = datetime(2026, 11, 1, 8, 0, tzinfo=VIETNAM_TZ)

    def snapshot(name: str, *, origin_id: str, republished_id: str) -> CloudEvent:
        data = {"id": p.member, "full_name": name, "cell_id": p.cell, "status": "official"}
        base = event("member.upserted.v1", data, time=at, event_id=republished_id)
        return CloudEvent.model_validate(
            base.model_dump() | {"originid": origin_id, "originsource": "urn:test:member-db"}
        )

    later, earlier = random_id("evt-2"), random_id("evt-1")
    await handle(pool, settings, clock, snapshot("Tên cũ", origin_id=earlier, republished_id="rep-z" + later))
    await handle(pool, settings, clock, snapshot("Tên mới", origin_id=later, republished_id="rep-a" + earlier))
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT full_name FROM member WHERE id = $1", p.member) == "Tên mới"


class HeldSender:
    """A sender whose sends wait until the test lets them go (or for ever)."""

    def __init__(self) -> None:
        self.started: set[int] = set()
        self.sent: set[int] = set()
        self.release: dict[int, asyncio.Event] = {}

    async def send(self, delivery: ClaimedDelivery) -> None:
        self.started.add(delivery.id)
        await self.release.setdefault(delivery.id, asyncio.Event()).wait()
        self.sent.add(delivery.id)


async def test_stopping_mid_round_records_the_sends_that_end_and_hands_the_others_back(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """A send the mail server took is recorded (not sent again after the lease: a duplicate); one never tried is
    handed back at once (not after the 120 s lease)."""
    p = Province()
    long_ago = Clock(datetime(2000, 1, 1, tzinfo=VIETNAM_TZ))  # only this test's deliveries are due at that time
    ids = []
    async with NotificationsUnitOfWork(pool, settings=settings, clock=long_ago) as uow:
        for name in ("finishing", "stuck"):
            notification_id = await uow.outgoing.insert_notification(
                NewNotification(
                    rule="meeting_reminder",
                    subject_id=random_id(name),
                    period="p",
                    recipient=Recipient(id=p.member, kind="person", name="Lê Văn Đức"),
                    cell_id=p.cell,
                    title="t",
                    body="b",
                    created_at=long_ago.value,
                    digest_pending=False,
                )
            )
            assert notification_id is not None
            ids.append(
                await uow.outgoing.add_delivery(
                    notification_id=notification_id,
                    channel="email",
                    addresses=["a@chibo.example.org"],
                    delivered_at=None,
                )
            )
        await uow.connection.execute(
            "UPDATE delivery SET next_attempt_at = $2 WHERE id = ANY($1::bigint[])", ids, long_ago.value
        )
        await uow.commit()
    finishing, stuck = ids
    sender = HeldSender()
    factory = uow_factory(pool, settings=settings, clock=long_ago)
    round_ = asyncio.create_task(deliver_due(factory, {"email": sender}))
    await eventually(lambda: {finishing, stuck} <= sender.started, timeout=60, interval=0.02)
    round_.cancel()
    sender.release.setdefault(finishing, asyncio.Event()).set()  # the server takes this one while stopping
    with pytest.raises(asyncio.CancelledError):
        await round_
    rows = {
        row["id"]: row
        for row in await pool.fetch(
            "SELECT id, status, attempts, locked_until FROM delivery WHERE id = ANY($1::bigint[])", ids
        )
    }
    assert finishing in sender.sent and stuck not in sender.sent
    assert (rows[finishing]["status"], rows[finishing]["attempts"]) == ("delivered", 1)
    assert (rows[stuck]["status"], rows[stuck]["attempts"], rows[stuck]["locked_until"]) == ("pending", 0, None)


def test_the_queue_is_bound_to_exactly_the_types_with_a_handler() -> None:
    """A type no handler reads is not bound (it would be delivered, read and acknowledged as ignored), and every
    handled type is bound."""
    from services.notifications.handlers import HANDLERS
    from shared.topology import NOTIFICATIONS_EVENTS

    assert sorted(NOTIFICATIONS_EVENTS.routing_keys) == sorted(HANDLERS)


async def test_the_inbox_is_always_among_the_channels_stored_reported_and_delivered(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """The inbox is the notification itself, kept whatever is chosen: a choice without it is stored and reported with
    it, a preference stored without it (before this rule) reports it and records the inbox delivery, and defaults
    configured without it still include it."""
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    commands = Commands(uow_factory(pool, settings=settings, clock=clock))
    answer = await commands.set_preferences(p.member, ["email"])
    assert answer["channels"] == ["email", "inbox"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT channels FROM preference WHERE recipient_id = $1", p.member) == [
            "email",
            "inbox",
        ]
    assert (await commands.set_preferences(p.deputy, []))["channels"] == ["inbox"]

    legacy = random_id("dv")
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO preference (recipient_id, channels) VALUES ($1, $2)", legacy, ["email"])
    assert (await commands.get_preferences(legacy))["channels"] == ["email", "inbox"]
    no_inbox = settings.model_copy(update={"default_person_channels": ["email"]})
    fresh = random_id("dv")
    assert (await Commands(uow_factory(pool, settings=no_inbox, clock=clock)).get_preferences(fresh))["channels"] == [
        "email",
        "inbox",
    ]

    async with NotificationsUnitOfWork(pool, settings=no_inbox, clock=clock) as uow:
        stored = await uow.outgoing.preference(legacy)
        for recipient_id, kept in ((legacy, stored), (fresh, None)):
            recipient = Recipient(id=recipient_id, kind="person", name="Lê Văn Đức", emails=("duc@example.vn",))
            assert effective_preference(recipient, kept, uow).channels == ("email", "inbox")


async def test_a_cancelled_meeting_drops_out_of_late_minutes_and_its_late_jobs_raise_nothing(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """A meeting scheduled after the fact (started days ago) is late at once; once cancelled it needs no minutes: its
    late-minutes alerts leave the secretary's and the committee's inbox (items and total) and the committee's next
    digest, and a late job of a meeting cancelled before it ran raises nothing."""
    settings = settings.model_copy(update={"default_committee_digest": True})
    p = Province()
    clock = Clock(datetime(2026, 11, 20, 9, 0, tzinfo=VIETNAM_TZ))
    late_id, early_id = random_id("mtg"), random_id("mtg")
    started = datetime(2026, 11, 14, 19, 30, tzinfo=VIETNAM_TZ)
    await handle(pool, settings, clock, *p.setup())
    await handle(pool, settings, clock, p.scheduled(late_id, started), p.scheduled(early_id, started))
    assert await fire(pool, settings, clock, "meeting.minutes", late_id) == 2  # the secretary's and the committee's
    commands = Commands(lambda: NotificationsUnitOfWork(pool, settings=settings, clock=clock))

    async def late_items(recipient_id: str) -> tuple[list[str], int]:
        page = await commands.inbox(recipient_id)
        late = [item["subject_id"] for item in page["items"] if item["rule"].startswith("minutes_late")]
        return late, page["total"]

    async def waiting_for_digest() -> list[str]:
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT rule FROM notification WHERE subject_id = $1 AND digest_pending ORDER BY rule", late_id
            )
        return [row["rule"] for row in rows]

    secretary_before, committee_before = await late_items(p.secretary), await late_items(p.committee)
    assert secretary_before[0] == [late_id] and committee_before[0] == [late_id]
    assert await waiting_for_digest() == ["minutes_late_superior"]  # a committee reads its alerts in the digest

    reason = {"reason": "Trùng lịch họp của phường"}
    cancel = [event("meeting.cancelled.v1", {"meeting_id": mid} | reason) for mid in (late_id, early_id)]
    await handle(pool, settings, clock, *cancel)
    secretary_after, committee_after = await late_items(p.secretary), await late_items(p.committee)
    assert secretary_after == ([], secretary_before[1] - 1)
    assert committee_after == ([], committee_before[1] - 1)
    assert await waiting_for_digest() == []  # nor does the committee's next digest carry it

    assert await fire(pool, settings, clock, "meeting.minutes", early_id) == 0
    assert await fire(pool, settings, clock, "meeting.minutes_superior", early_id) == 0
    assert await late_items(p.committee) == committee_after
