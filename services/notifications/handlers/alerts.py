"""Turning alerts into notifications: one per (rule, subject, recipient, period), then deliveries."""

import functools
import logging
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.notifications.domain.model import COMMITTEE, Alert, Recipient, with_inbox
from services.notifications.domain.settings import RuleConfig, resolve_config
from services.notifications.repository.outgoing import (
    MailAddress,
    NewDelivery,
    NewNotification,
    Preference,
    deciding_correlation_id,
    mail_address_key,
)
from services.notifications.templates import addressed_alone, greeting_of_many, mail_part, render, shared_text
from services.notifications.unit_of_work import SOURCE, NotificationsUnit
from shared.contracts.notifications import Channel, NotificationDelivered, NotificationFailed
from shared.envelope import CloudEvent, new_event
from shared.logs import get_logger
from shared.metrics import NOTIFICATION_DELIVERIES

log = get_logger(__name__)
EXTERNAL_CHANNELS = (Channel.EMAIL.value, Channel.WEBHOOK.value)


async def config_for(cell_id: str | None, uow: NotificationsUnit, *, lock: bool = True) -> RuleConfig:
    """The effective rule settings of a cell: defaults, then its ancestors' overrides (nearest wins); resolved once
    per unit of work (`uow.configs`, emptied when a unit or a setting changes in it). The chain's `rules:` locks are
    held shared until the unit of work ends (lock_rule_reads), so jobs planned from these settings and a change of
    them (set_rule's re-plan) never miss each other. `lock` False for the schedule runner firing a job: it plans
    nothing from the settings, and holds the job's row, which a save's re-plan waits for (taking the lock there
    would wait for that save the other way round)."""
    key = cell_id or ""
    if key not in uow.configs:
        ancestors = await uow.projection.ancestors(cell_id) if cell_id else []
        if ancestors and lock:
            # a save in progress on the chain is waited for, one begun later waits for the jobs planned here
            await uow.projection.lock_rule_reads([ancestors])
        overrides = await uow.projection.rule_overrides(ancestors) if ancestors else []
        uow.configs[key] = resolve_config(ancestors, overrides)
    return uow.configs[key]


async def configs_for(cell_ids: Sequence[str], uow: NotificationsUnit) -> dict[str, RuleConfig]:
    """The effective rule settings of many cells in two queries (a sweep's or a batch's cells), those resolved
    before in the unit of work reused; the `rules:` locks of all their chains taken shared in one more statement
    (lock_rule_reads)."""
    missing = sorted({cell_id for cell_id in cell_ids if cell_id not in uow.configs})
    if missing:
        chains = await uow.projection.ancestors_of(missing)
        # every committee of the batch in one statement, top-down (config_for)
        await uow.projection.lock_rule_reads(list(chains.values()))
        overrides = await uow.projection.rule_overrides(sorted({unit for chain in chains.values() for unit in chain}))
        overridden = {override.unit_id for override in overrides}
        resolved: dict[tuple[str, ...], RuleConfig] = {}
        for cell_id, chain in chains.items():
            # only the units with settings matter: cells under the same ones share one resolved configuration
            key = tuple(unit for unit in chain if unit in overridden)
            if key not in resolved:
                resolved[key] = resolve_config(list(key), overrides)
            uow.configs[cell_id] = resolved[key]
    return {cell_id: uow.configs[cell_id] for cell_id in cell_ids}


def unreachable(
    channel: str, recipient: Recipient, preference: Preference | None, uow: NotificationsUnit
) -> str | None:
    """Why an external channel cannot carry a notice to the recipient (no address for it), or None when it can: no
    e-mail address; no webhook (the recipient's own or the province's SMS gateway, CHIBO_WEBHOOK_URL); a person
    without a phone number for the province's SMS gateway to text."""
    if channel == Channel.EMAIL.value:
        return None if recipient.emails else "email: the recipient has no e-mail address"
    if channel == Channel.WEBHOOK.value:
        if preference is not None and preference.webhook_url:
            return None
        if not uow.settings.webhook_url:
            return "webhook: no SMS gateway is configured (CHIBO_WEBHOOK_URL)"
        if recipient.kind != COMMITTEE and not recipient.phone:
            return "webhook: the recipient has no phone number for the SMS gateway"
    return None


def effective_preference(recipient: Recipient, stored: Preference | None, uow: NotificationsUnit) -> Preference:
    """The stored preference, or the defaults of the recipient's kind (a committee's daily digest when configured,
    `default_committee_digest`): the default channels that can reach them (a default is no
    one's choice: a channel the deployment lacks, or that has no address for them, is left out rather than failed);
    the inbox always among the channels (a preference stored before it was, or defaults configured without it, still
    get the notice in the inbox)."""
    if stored is not None:
        return replace(stored, channels=with_inbox(stored.channels))
    defaults = (
        uow.settings.default_committee_channels if recipient.kind == COMMITTEE else uow.settings.default_person_channels
    )
    usable = [channel for channel in defaults if unreachable(channel, recipient, None, uow) is None]
    digest = recipient.kind == COMMITTEE and uow.settings.default_committee_digest
    return Preference(recipient_id=recipient.id, channels=with_inbox(usable), digest=digest)


def external_deliveries(
    *, notification_id: str, recipient: Recipient, preference: Preference, uow: NotificationsUnit
) -> list[NewDelivery]:
    """The e-mail and webhook deliveries of the recipient's channels, in the preference's order: pending, or failed
    from the start with the reason when the channel cannot reach them (`unreachable`), never silently left out."""
    planned: list[NewDelivery] = []
    for channel in preference.channels:
        if channel not in EXTERNAL_CHANNELS:
            continue
        reason = unreachable(channel, recipient, preference, uow)
        if reason is not None:
            addresses: Sequence[str] = ()
        elif channel == Channel.EMAIL.value:
            addresses = recipient.emails
        else:
            addresses = [preference.webhook_url or uow.settings.webhook_url or ""]
        planned.append(
            NewDelivery(
                notification_id=notification_id,
                channel=channel,
                addresses=tuple(addresses),
                delivered_at=None,
                error=reason,
            )
        )
    return planned


def report_unreachable(
    deliveries: Sequence[NewDelivery], *, rule: str, recipient_id: str, subject_id: str, uow: NotificationsUnit
) -> None:
    """Count, log and emit (notification.failed.v1) the deliveries failed as planned, as a failed attempt is."""
    for delivery in deliveries:
        if delivery.error is None:
            continue
        deliveries_counted(rule, delivery.channel, "failed").inc()
        log.warning(
            "delivery_unreachable",
            notification_id=delivery.notification_id,
            rule=rule,
            recipient_id=recipient_id,
            channel=delivery.channel,
            error=delivery.error,
        )
        uow.emit(
            failed_envelope(
                notification_id=delivery.notification_id,
                rule=rule,
                recipient_id=recipient_id,
                channel=delivery.channel,
                subject_id=subject_id,
                error=delivery.error,
                time=uow.now(),
                correlation_id=deciding_correlation_id(),
            )
        )


async def plan_external_deliveries(
    *,
    notification_id: str,
    recipient: Recipient,
    preference: Preference,
    uow: NotificationsUnit,
    rule: str,
    subject_id: str,
) -> list[str]:
    """The e-mail and webhook deliveries of the recipient's channels (`external_deliveries`); the channels planned to
    send (those that cannot reach the recipient are stored failed and reported, `report_unreachable`)."""
    planned = external_deliveries(notification_id=notification_id, recipient=recipient, preference=preference, uow=uow)
    for delivery in planned:
        await uow.outgoing.add_delivery(
            notification_id=notification_id,
            channel=delivery.channel,
            addresses=delivery.addresses,
            delivered_at=None,
            error=delivery.error,
        )
    report_unreachable(planned, rule=rule, recipient_id=recipient.id, subject_id=subject_id, uow=uow)
    return [delivery.channel for delivery in planned if delivery.error is None]


def delivered_event(
    *, notification_id: str, rule: str, recipient_id: str, channel: str, subject_id: str
) -> NotificationDelivered:
    """The data of notification.delivered.v1."""
    return NotificationDelivered(
        notification_id=notification_id,
        rule=rule,
        recipient=recipient_id,
        channel=Channel(channel),
        subject_id=subject_id,
    )


@functools.cache
def deliveries_counted(rule: str, channel: str, outcome: str) -> Any:
    """The deliveries counter's child for a rule, channel and outcome, looked up once: labels() per delivery takes
    the metric's lock and builds its key (18 of 3,161 busy samples at month-start); rules, channels and outcomes are
    bounded, so is this cache."""
    return NOTIFICATION_DELIVERIES.labels(rule, channel, outcome)


def failed_envelope(
    *,
    notification_id: str,
    rule: str,
    recipient_id: str,
    channel: str,
    subject_id: str,
    error: str | None,
    time: datetime,
    correlation_id: str | None = None,
) -> CloudEvent:
    """notification.failed.v1 of one delivery: after its last attempt, or planned failed when its channel cannot
    reach the recipient; `correlation_id`: its notification's (the deciding event's), carried as `correlationid`."""
    return new_event(
        type="notification.failed.v1",
        source=SOURCE,
        subject=notification_id,
        time=time,
        correlation_id=correlation_id,
        data=NotificationFailed(
            notification_id=notification_id,
            rule=rule,
            recipient=recipient_id,
            channel=Channel(channel),
            subject_id=subject_id,
            error=error,
        ),
    )


def delivered_envelope(
    *,
    notification_id: str,
    rule: str,
    recipient_id: str,
    channel: str,
    subject_id: str,
    time: datetime,
    correlation_id: str | None = None,
) -> CloudEvent:
    """notification.delivered.v1 of one delivery: the envelope new_event(data=delivered_event(...)) builds, the same
    JSON, with its data written as the dict NotificationDelivered dumps to (ids and a rule name, stripped as the model
    strips them; the channel one of Channel's values). Once per notice and channel (two per notice at month-start),
    the data model and its JSON dump were two thirds of new_event's cost (18 -> 6 us per event on the bench machine,
    ~6 % of notifications' busy samples in raise_alerts and the delivery rounds at month-start). `correlation_id`:
    its notification's (the deciding event's, extension syntax: deciding_correlation_id), as `correlationid`."""
    return CloudEvent(
        specversion="1.0",
        id=str(uuid.uuid4()),
        source=SOURCE,
        type="notification.delivered.v1",
        time=time,
        subject=notification_id,
        correlationid=correlation_id,
        data={
            "notification_id": notification_id.strip(),
            "rule": rule.strip(),
            "recipient": recipient_id.strip(),
            "channel": Channel(channel).value,
            "subject_id": subject_id.strip(),
        },
    )


async def raise_alerts(alerts: Sequence[Alert], uow: NotificationsUnit, *, hold_until: datetime | None = None) -> int:
    """Store each alert once per recipient and plan its deliveries; return how many were new. `hold_until`: the
    e-mails and webhooks wait until then (a notice a fact of the next moments may still revise), the inbox not.

    Set-based: everything is rendered first, then all notifications are stored in one statement (those whose
    (rule, subject, recipient, period) key exists, or repeats an earlier one of the call, skipped) and all deliveries
    of the new ones in another; the rows and events are those of storing them one by one in order."""
    if not alerts:
        return 0
    now = uow.now()
    correlation_id = deciding_correlation_id()  # what the notifications stored here keep, for their inbox events
    recipient_ids = sorted({recipient.id for alert in alerts for recipient in alert.recipients})
    stored = await uow.outgoing.preferences(recipient_ids) if recipient_ids else {}
    candidates: list[tuple[Alert, Recipient, Preference]] = []
    news: list[NewNotification] = []
    for alert in alerts:
        for recipient, (title, body) in _texts(alert):
            preference = effective_preference(recipient, stored.get(recipient.id), uow)
            external = [c for c in preference.channels if c in EXTERNAL_CHANNELS]
            candidates.append((alert, recipient, preference))
            news.append(
                _notification(
                    alert, recipient, title, body, created_at=now, digest_pending=preference.digest and bool(external)
                )
            )
    if not news:
        return 0
    ids = await uow.outgoing.insert_notifications(news)
    deliveries: list[NewDelivery] = []
    planned_for: dict[str, tuple[Alert, Recipient]] = {}
    created = 0
    debug = logging.getLogger(__name__).isEnabledFor(logging.DEBUG)  # the per-notification line only when asked
    for (alert, recipient, preference), notification_id in zip(candidates, ids, strict=True):
        if notification_id is None:
            continue
        created += 1
        planned_for[notification_id] = (alert, recipient)
        if debug:
            log.debug(
                "notification_created",
                rule=alert.rule,
                subject_id=alert.subject_id,
                recipient_id=recipient.id,
                period=alert.period,
                notification_id=notification_id,
            )
        if Channel.INBOX.value in preference.channels:
            deliveries.append(
                NewDelivery(
                    notification_id=notification_id,
                    channel=Channel.INBOX.value,
                    addresses=(recipient.id,),
                    delivered_at=now,
                )
            )
            uow.emit(
                delivered_envelope(
                    notification_id=notification_id,
                    rule=alert.rule,
                    recipient_id=recipient.id,
                    channel=Channel.INBOX.value,
                    subject_id=alert.subject_id,
                    time=now,
                    correlation_id=correlation_id,
                )
            )
        if not preference.digest:
            planned = external_deliveries(
                notification_id=notification_id, recipient=recipient, preference=preference, uow=uow
            )
            report_unreachable(
                planned, rule=alert.rule, recipient_id=recipient.id, subject_id=alert.subject_id, uow=uow
            )
            deliveries.extend(replace(delivery, not_before=hold_until) for delivery in planned)
    deliveries = await one_mail_per_address(deliveries, planned_for, uow)
    await uow.outgoing.add_deliveries(deliveries)
    log.info(
        "notifications_created",
        alerts=len(alerts),
        considered=len(news),
        created=created,
        deliveries=len(deliveries),
        rules=sorted({alert.rule for alert in alerts}),
    )
    return created


def _mailed(delivery: NewDelivery) -> bool:
    """Whether a delivery is an e-mail still to send (not the inbox's, not failed from the start)."""
    return delivery.channel == Channel.EMAIL.value and delivery.error is None and delivery.delivered_at is None


async def one_mail_per_address(
    deliveries: Sequence[NewDelivery], planned: Mapping[str, tuple[Alert, Recipient]], uow: NotificationsUnit
) -> list[NewDelivery]:
    """The deliveries with each alert's e-mail addresses mailed once per text: members sharing a mailbox (a cell's
    common address) are distinct recipients, each with their notification and inbox notice, but the address gets one
    mail per alert (rule, subject, period) and part of its text (templates.mail_part: a monitor sharing the mailbox
    gets their own notice beside the members' one, which it no longer stands in for). The first notification of a
    part to take an address holds it, now or in an earlier transaction (uow.outgoing.hold_mail_addresses, a key in
    the database: a redelivered fact, a restart, the alert raised later for one more recipient mail it nothing
    again); the others' e-mail deliveries of that part leave it out, and one left without any address is not planned
    (its notice went to that mailbox with another's). A personal text's mail that serves others planned with it
    greets them all (`greeting`, templates.greeting_of_many), holder first. `planned`: the alert and recipient of
    each new notification."""
    wanted = [
        MailAddress(
            notification_id=delivery.notification_id,
            rule=planned[delivery.notification_id][0].rule,
            subject_id=planned[delivery.notification_id][0].subject_id,
            period=planned[delivery.notification_id][0].period,
            address=address,
            part=mail_part(*planned[delivery.notification_id]),
        )
        for delivery in deliveries
        if _mailed(delivery)
        for address in delivery.addresses
    ]
    if not wanted:
        return list(deliveries)
    held = await uow.outgoing.hold_mail_addresses(wanted)
    holder = {
        (item.rule, item.subject_id, item.period, mail_address_key(item.address), item.part): item.notification_id
        for item in wanted
        if (item.notification_id, mail_address_key(item.address)) in held
    }
    served: dict[str, dict[str, Recipient]] = {}  # holder -> every recipient its mail serves, in planning order
    for item in wanted:
        notification_id = holder.get(
            (item.rule, item.subject_id, item.period, mail_address_key(item.address), item.part)
        )
        if notification_id is not None:
            recipient = planned[item.notification_id][1]
            served.setdefault(notification_id, {planned[notification_id][1].id: planned[notification_id][1]})
            served[notification_id].setdefault(recipient.id, recipient)
    kept: list[NewDelivery] = []
    shared = 0
    for delivery in deliveries:
        if not _mailed(delivery):
            kept.append(delivery)
            continue
        mine: dict[str, str] = {}
        for address in delivery.addresses:
            mine.setdefault(mail_address_key(address), address)  # each address once, as first written
        own = tuple(address for key, address in mine.items() if (delivery.notification_id, key) in held)
        shared += len(delivery.addresses) - len(own)
        if not own:
            continue
        alert = planned[delivery.notification_id][0]
        readers = list(served.get(delivery.notification_id, {}).values())
        # a whole cell's notice is one text to its members, greeted together; a personal text (a monitor's own
        # among them) greets every reader its mail serves
        personal = len(readers) > 1 and any(addressed_alone(alert, reader) for reader in readers)
        kept.append(replace(delivery, addresses=own, greeting=greeting_of_many(readers) if personal else None))
    if shared:
        log.info("mail_addresses_shared", addresses_left_out=shared, deliveries=len(deliveries) - len(kept))
    return kept


async def revise_alerts(alerts: Sequence[Alert], uow: NotificationsUnit) -> int:
    """Rewrite the title and body of the alerts already stored under the same keys (raise_alerts' rendering): a
    newer word on their subject (a later cancellation's reason) reaches the inbox without new mails; how many."""
    now = uow.now()
    news = [
        _notification(alert, recipient, title, body, created_at=now)
        for alert in alerts
        for recipient, (title, body) in _texts(alert)
    ]
    revised = await uow.outgoing.revise_notifications(news)
    log.info("notifications_revised", alerts=len(alerts), revised=revised, rules=sorted({a.rule for a in alerts}))
    return revised


async def follow_up_alerts(alerts: Sequence[Alert], *, rule: str, period: str, uow: NotificationsUnit) -> int:
    """Send a follow-up (`rule`, keyed by `period`: one per change, never twice) to the recipients of the alerts
    whose notice already went out with its earlier text, the way it reached them (send_corrections): by e-mail or
    webhook (`gone_out`), on those same channels and addresses; or listed in their daily digest, in their next
    digest (DOMAIN.md "Alerts": committees prefer a daily digest). A notice still waiting to be sent, by mail or in a
    digest to come, carries the revised text and needs none. How many follow-ups were new."""
    now = uow.now()
    created = 0
    for alert in alerts:
        rule_of, subject_id, ids = alert.rule, alert.subject_id, [recipient.id for recipient in alert.recipients]
        gone = await uow.outgoing.gone_out(
            rule=rule_of, subject_id=subject_id, period=alert.period, recipient_ids=ids, now=now
        )
        digested = await uow.outgoing.digested_about(
            rule=rule_of, subject_id=subject_id, period=alert.period, recipient_ids=ids
        )
        created += await send_corrections([replace(alert, rule=rule, period=period)], gone, uow, digested=digested)
    log.info("notifications_followed_up", rule=rule, period=period, created=created)
    return created


async def strike_members(
    *,
    rule: str,
    subject_id: str,
    recipient_ids: Sequence[str],
    struck: Collection[str],
    naming: Callable[[tuple[str, ...]], Sequence[Alert]],
    uow: NotificationsUnit,
) -> tuple[int, set[str]]:
    """Take the members `struck` (ids) out of each of these recipients' notices of `rule` about the subject that
    names them, the first alert and each follow-up ("Bổ sung…") alike (DOMAIN.md "Alerts": what reaches a recipient
    must hold): a notice left naming nobody is withdrawn (PgOutgoing.withdraw_corrected: kept in the inbox labelled
    corrected, its mails not yet sent cancelled); one still naming others is rewritten to them, as the alerts
    `naming(member ids left)` (keyed as the first alert) tell them to its recipient, under its own period (a
    follow-up's title still says "Bổ sung"). (notices withdrawn, the recipients with a notice whose members are not
    kept: stored before they were, left to the caller)."""
    now = uow.now()
    withdrawn, unknown, revising = 0, set[str](), list[Alert]()
    for recipient_id, period, named in await uow.outgoing.named_notices(
        rule=rule, subject_id=subject_id, recipient_ids=recipient_ids
    ):
        if named is None:
            unknown.add(recipient_id)
            continue
        left = tuple(member_id for member_id in named if member_id not in struck)
        if len(left) == len(named):
            continue
        if left:
            revising += [
                replace(
                    alert,
                    period=period,
                    recipients=tuple(rc for rc in alert.recipients if rc.id == recipient_id),
                    values={**alert.values, "added": period != alert.period},
                )
                for alert in naming(left)
                if any(rc.id == recipient_id for rc in alert.recipients)
            ]
        else:
            withdrawn += await uow.outgoing.withdraw_corrected(
                rule=rule, subject_id=subject_id, recipient_ids=[recipient_id], now=now, period=period
            )
    if revising:
        await revise_alerts(revising, uow)
    return withdrawn, unknown


async def send_corrections(
    corrections: Sequence[Alert],
    sent: Mapping[str, Sequence[tuple[str, tuple[str, ...]]]],
    uow: NotificationsUnit,
    *,
    digested: Collection[str] = (),
) -> int:
    """Store each correction (an alert of a follow-up rule, keyed by the change that corrects: once per change,
    never twice) for each of its recipients, the way their earlier notice reached them: mailed on the channels and
    addresses `sent` says it went out on (PgOutgoing.mailed_about), through the deliveries; or, for a recipient
    whose daily digest listed it (`digested`, PgOutgoing.digested_about), waiting for their next digest, which
    lists it among the corrections. A recipient in neither gets nothing. How many corrections were new."""
    now = uow.now()
    news: list[NewNotification] = []
    channels: list[Sequence[tuple[str, tuple[str, ...]]]] = []
    for alert in corrections:
        told = replace(alert, recipients=tuple(r for r in alert.recipients if sent.get(r.id) or r.id in digested))
        for recipient, (title, body) in _texts(told):
            mailed = sent.get(recipient.id, ())
            channels.append(mailed)
            news.append(_notification(told, recipient, title, body, created_at=now, digest_pending=not mailed))
    if not news:
        return 0
    ids = await uow.outgoing.insert_notifications(news)
    await uow.outgoing.add_deliveries(
        [
            NewDelivery(notification_id=notification_id, channel=channel, addresses=addresses, delivered_at=None)
            for notification_id, gone in zip(ids, channels, strict=True)
            if notification_id is not None
            for channel, addresses in gone
        ]
    )
    created = sum(1 for notification_id in ids if notification_id is not None)
    log.info(
        "notifications_corrected",
        rules=sorted({a.rule for a in corrections}),
        created=created,
        digested=sum(1 for new, stored in zip(news, ids, strict=True) if stored and new.digest_pending),
    )
    return created


def _notification(
    alert: Alert, recipient: Recipient, title: str, body: str, *, created_at: datetime, digest_pending: bool = False
) -> NewNotification:
    """The notification row of one recipient of an alert (its rule, subject, period and cell), with its text."""
    return NewNotification(
        rule=alert.rule,
        subject_id=alert.subject_id,
        period=alert.period,
        recipient=recipient,
        cell_id=alert.cell_id,
        title=title,
        body=body,
        created_at=created_at,
        digest_pending=digest_pending,
        member_ids=alert.member_ids,
    )


def _texts(alert: Alert) -> list[tuple[Recipient, tuple[str, str]]]:
    """Each recipient of an alert with its (title, body): one text for all when the rule has one."""
    shared = shared_text(alert) if alert.recipients else None
    return [
        (recipient, render(alert, recipient) if not shared or addressed_alone(alert, recipient) else shared)
        for recipient in alert.recipients
    ]
