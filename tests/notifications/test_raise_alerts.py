"""raise_alerts against the real database: set-based (one statement for the notifications of a call, one for their
deliveries) it stores and emits exactly what storing each notification and each delivery on its own did (issue 12:
a statement per row made notice creation the saturated part of notifications)."""

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.notifications.config import Settings
from services.notifications.domain.model import COMMITTEE, PERSON, Alert, Recipient
from services.notifications.handlers.alerts import (
    EXTERNAL_CHANNELS,
    delivered_envelope,
    delivered_event,
    effective_preference,
    plan_external_deliveries,
    raise_alerts,
)
from services.notifications.repository.outgoing import NewNotification, Preference
from services.notifications.templates import render
from services.notifications.unit_of_work import SOURCE, NotificationsUnitOfWork
from shared.contracts.notifications import Channel, NotificationDelivered
from shared.envelope import new_event, now
from tests.support.ids import random_id

TRANSACTION_TIMES = ("created_at", "next_attempt_at")


async def one_by_one(alerts: Sequence[Alert], uow: NotificationsUnitOfWork) -> int:
    """raise_alerts as it was: a statement per notification and per delivery (the reference)."""
    created = 0
    at = uow.now()
    recipient_ids = sorted({recipient.id for alert in alerts for recipient in alert.recipients})
    stored = await uow.outgoing.preferences(recipient_ids) if recipient_ids else {}
    for alert in alerts:
        for recipient in alert.recipients:
            preference = effective_preference(recipient, stored.get(recipient.id), uow)
            external = [c for c in preference.channels if c in EXTERNAL_CHANNELS]
            title, body = render(alert, recipient)
            notification_id = await uow.outgoing.insert_notification(
                NewNotification(
                    rule=alert.rule,
                    subject_id=alert.subject_id,
                    period=alert.period,
                    recipient=recipient,
                    cell_id=alert.cell_id,
                    title=title,
                    body=body,
                    created_at=at,
                    digest_pending=preference.digest and bool(external),
                )
            )
            if notification_id is None:
                continue
            created += 1
            if Channel.INBOX.value in preference.channels:
                await uow.outgoing.add_delivery(
                    notification_id=notification_id,
                    channel=Channel.INBOX.value,
                    addresses=[recipient.id],
                    delivered_at=at,
                )
                uow.emit(
                    new_event(
                        type="notification.delivered.v1",
                        source=SOURCE,
                        subject=notification_id,
                        time=at,
                        data=delivered_event(
                            notification_id=notification_id,
                            rule=alert.rule,
                            recipient_id=recipient.id,
                            channel=Channel.INBOX.value,
                            subject_id=alert.subject_id,
                        ),
                    )
                )
            if not preference.digest:
                await plan_external_deliveries(
                    notification_id=notification_id,
                    recipient=recipient,
                    preference=preference,
                    uow=uow,
                    rule=alert.rule,
                    subject_id=alert.subject_id,
                )
    return created


async def stored_rows(uow: NotificationsUnitOfWork, subjects: Sequence[str]) -> dict[str, Any]:
    """The notifications, deliveries (in id order) and log lines of the subjects, every id replaced by its key."""
    db = uow.connection
    notifications = await db.fetch("SELECT * FROM notification WHERE subject_id = ANY($1::text[])", list(subjects))
    keys = {row["id"]: (row["rule"], row["subject_id"], row["recipient_id"], row["period"]) for row in notifications}
    deliveries = await db.fetch(
        "SELECT * FROM delivery WHERE notification_id = ANY($1::uuid[]) ORDER BY id", list(keys)
    )
    logs = await db.fetch(
        "SELECT l.*, d.notification_id, d.channel FROM delivery_log l JOIN delivery d ON d.id = l.delivery_id"
        " WHERE d.notification_id = ANY($1::uuid[]) ORDER BY l.id",
        list(keys),
    )
    return {
        "notifications": sorted(
            (keys[row["id"]], tuple((k, v) for k, v in dict(row).items() if k != "id")) for row in notifications
        ),
        "deliveries": [
            (
                keys[row["notification_id"]],
                # created_at and next_attempt_at default to the transaction's time: one per run
                tuple((k, v) for k, v in dict(row).items() if k not in ("id", "notification_id", *TRANSACTION_TIMES)),
            )
            for row in deliveries
        ],
        "log": [
            (keys[row["notification_id"]], row["channel"], row["attempt"], row["outcome"], row["error"]) for row in logs
        ],
        "keys": keys,
    }


def emitted(uow: NotificationsUnitOfWork, keys: dict[Any, tuple[str, ...]]) -> list[tuple[Any, ...]]:
    """The events of the unit of work, in order, notification ids replaced by their keys."""
    by_id = {str(notification_id): key for notification_id, key in keys.items()}
    found = []
    for event in uow.emitted:
        data = event.data.model_dump(mode="json") if hasattr(event.data, "model_dump") else dict(event.data)
        data["notification_id"] = by_id[data["notification_id"]]
        found.append((event.type, event.source, by_id[str(event.subject)], event.time, sorted(data.items())))
    return found


async def test_set_based_raise_alerts_stores_and_emits_what_one_by_one_did(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    at = now().replace(microsecond=0)
    clock = lambda: at  # noqa: E731
    settings = settings.model_copy(update={"webhook_url": None})
    cell = random_id("cell")
    everything = Recipient(id=random_id("ng"), kind=PERSON, name="Trần Thị Hoa", emails=("hoa@example.vn",))
    defaults = Recipient(id=random_id("ng"), kind=PERSON, name="Lê Văn Đức", emails=("duc@example.vn", "d2@example.vn"))
    committee = Recipient(id=random_id("cb"), kind=COMMITTEE, name="Chi ủy", emails=("chiuy@example.vn",))
    digest = Recipient(id=random_id("ng"), kind=PERSON, name="Phạm Minh Tâm", emails=("tam@example.vn",))
    unreachable = Recipient(id=random_id("ng"), kind=PERSON, name="Võ Thị Lan")  # e-mail only, and no address
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        await uow.outgoing.set_preference(
            Preference(
                recipient_id=everything.id,
                channels=("webhook", "inbox", "email"),
                digest=False,
                webhook_url="http://127.0.0.1:9/hoa",
            )
        )
        await uow.outgoing.set_preference(Preference(recipient_id=digest.id, channels=("inbox", "email"), digest=True))
        await uow.outgoing.set_preference(Preference(recipient_id=unreachable.id, channels=("email",), digest=False))
        await uow.commit()

    meeting, absent, other = random_id("mtg"), random_id("ng"), random_id("mtg")
    subjects = [meeting, absent, other]
    reminder = Alert(
        rule="meeting_reminder",
        subject_id=meeting,
        period="2026-11",
        recipients=(everything, defaults, committee, digest),
        cell_id=cell,
        values={"cell_name": "Chi bộ 1"},
    )
    absences = Alert(
        rule="consecutive_absences",
        subject_id=absent,
        period=meeting,
        recipients=(committee, unreachable, defaults),
        cell_id=cell,
    )
    later = Alert(
        rule="meeting_reminder",
        subject_id=other,
        period="2026-11",
        recipients=(digest, unreachable, everything),
        cell_id=None,
    )
    # some keys stored before the call (raised by an earlier event)
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        earlier = [
            Alert(**{**vars(reminder), "recipients": (defaults, digest)}),
            Alert(**{**vars(absences), "recipients": (committee,)}),
        ]
        assert await one_by_one(earlier, uow) == 3
        await uow.commit()
    # ... and a key repeated within the call: the first one counts, as when each was stored on its own
    alerts = [reminder, absences, reminder, later]

    results = {}
    for name, raise_them in (("one by one", one_by_one), ("set-based", raise_alerts)):
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            created = await raise_them(alerts, uow)
            rows = await stored_rows(uow, subjects)
            results[name] = (
                created,
                uow.outgoing.queued_deliveries,
                {k: v for k, v in rows.items() if k != "keys"},
                emitted(uow, rows["keys"]),
            )
            await uow.rollback()

    expected = results["one by one"]
    assert expected[0] == 2 + 2 + 3  # the call's new notifications: (everything, committee), two absences, later's
    assert expected[1] > 0 and len(expected[3]) > 0 and len(expected[2]["log"]) > 0
    assert results["set-based"] == expected


async def test_nothing_new_stores_nothing_more(pool: asyncpg.Pool, settings: Settings) -> None:
    at: datetime = now()
    person = Recipient(id=random_id("ng"), kind=PERSON, name="Đặng Văn Nam", emails=("nam@example.vn",))
    alert = Alert(
        rule="meeting_reminder", subject_id=random_id("mtg"), period="2026-11", recipients=(person,), cell_id=None
    )
    async with NotificationsUnitOfWork(pool, settings=settings, clock=lambda: at) as uow:
        assert await raise_alerts([alert, alert], uow) == 1
        assert await raise_alerts([alert], uow) == 0
        assert await raise_alerts([], uow) == 0
        rows = await stored_rows(uow, [alert.subject_id])
        assert len(rows["notifications"]) == 1
        assert [(key[2], dict(row)["channel"]) for key, row in rows["deliveries"]] == [
            (person.id, "inbox"),
            (person.id, "email"),
        ]
        assert len(uow.emitted) == 1
        await uow.rollback()


def test_delivered_envelope_is_the_event_new_event_builds() -> None:
    """notification.delivered.v1 written directly (no data model per event) is the very JSON new_event wrote, its
    data as NotificationDelivered reads it, for each channel (ids apart, a fresh one each)."""
    at = now()
    for channel in Channel:
        fields = dict(
            notification_id=str(uuid.uuid4()),
            rule="meeting_scheduled",
            recipient_id=random_id("ng"),
            channel=channel.value,
            subject_id=random_id("mtg"),
        )
        fast = delivered_envelope(**fields, time=at)
        reference = new_event(
            type="notification.delivered.v1",
            source=SOURCE,
            subject=fields["notification_id"],
            time=at,
            data=delivered_event(**fields),
        )
        assert fast.id != reference.id
        assert json.loads(fast.to_json()) == json.loads(reference.model_copy(update={"id": fast.id}).to_json())
        assert NotificationDelivered.model_validate(fast.data) == delivered_event(**fields)
