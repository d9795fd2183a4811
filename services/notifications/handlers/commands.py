"""RPC use cases: the inbox, failed deliveries, preferences and rule settings."""

import uuid
from collections.abc import Callable
from typing import Any

from services.notifications import queries
from services.notifications.domain import model
from services.notifications.domain import settings as r
from services.notifications.domain.model import with_inbox
from services.notifications.domain.settings import (
    RuleOverride,
    UnknownSetting,
    merge_override,
    param_limits,
    resolve_config,
    resolve_sources,
    validate_override,
)
from services.notifications.handlers.alerts import config_for
from services.notifications.handlers.replan import replan_subtree
from services.notifications.repository.outgoing import Preference
from services.notifications.unit_of_work import NotificationsUnitOfWork
from services.notifications.webhook_guard import RefusedAddress, Resolver, checked_target, system_resolver
from shared.contracts.notifications import Channel
from shared.logs import get_logger
from shared.metrics import WEBHOOK_ADDRESSES_REFUSED
from shared.periods import is_report_period, period_bounds, period_expected
from shared.rpc import RpcError

log = get_logger(__name__)
UowFactory = Callable[[], NotificationsUnitOfWork]
MAX_PAGE = 500


def _bounds(limit: int, offset: int) -> tuple[int, int]:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise RpcError("invalid", f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if not isinstance(offset, int) or offset < 0:
        raise RpcError("invalid", "offset must be 0 or more", field="offset")
    return limit, offset


def _uuid_like(value: str, field: str) -> str:
    """A notification id is a UUID: anything else names no notification (not_found, never a crash)."""
    try:
        parsed = uuid.UUID(value) if isinstance(value, str) and len(value) == 36 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise RpcError("not_found", "no such notification", field=field)
    return value


class Commands:
    """The use cases behind notifications.rpc (services/notifications/rpc.py), each in its own unit of work."""

    def __init__(self, uow_factory: UowFactory, *, resolve: Resolver = system_resolver) -> None:
        self._uow = uow_factory
        self._resolve = resolve

    async def inbox(
        self,
        recipient_id: str,
        unread_only: bool = False,
        limit: int = 50,
        offset: int = 0,
        after: list[str] | None = None,
    ) -> Any:
        """A page of a person's or committee's in-app notifications, those after the key `after` (queries.inbox)."""
        limit, offset = _bounds(limit, offset)
        async with self._uow() as uow:
            return await queries.inbox(
                uow.connection,
                recipient_id=recipient_id,
                unread_only=bool(unread_only),
                limit=limit,
                offset=offset,
                after=after,
            )

    async def mark_read(self, recipient_id: str, notification_id: str) -> Any:
        """Mark one inbox item read; the item."""
        _uuid_like(notification_id, "notification_id")
        async with self._uow() as uow:
            if not await uow.outgoing.mark_read(
                recipient_id=recipient_id, notification_id=notification_id, now=uow.now()
            ):
                raise RpcError("not_found", "no such notification for this recipient", field="notification_id")
            item = await queries.inbox_entry(uow.connection, notification_id=notification_id)
            await uow.commit()
            return item

    async def list_failed(self, limit: int = 50, offset: int = 0, after: list[str] | None = None) -> Any:
        """A page of deliveries that gave up, those after the key `after` (queries.failed_deliveries)."""
        limit, offset = _bounds(limit, offset)
        async with self._uow() as uow:
            return await queries.failed_deliveries(uow.connection, limit=limit, offset=offset, after=after)

    async def get_delivery(self, delivery_id: int) -> Any:
        """One delivery with its attempt log."""
        async with self._uow() as uow:
            found = await queries.delivery(uow.connection, delivery_id=int(delivery_id))
        if found is None:
            raise RpcError("not_found", f"no delivery {delivery_id}", field="delivery_id")
        return found

    async def retry_delivery(self, delivery_id: int) -> Any:
        """Put a failed delivery back in line with a fresh set of attempts; the delivery."""
        async with self._uow() as uow:
            found = await queries.delivery(uow.connection, delivery_id=int(delivery_id))
            if found is None:
                raise RpcError("not_found", f"no delivery {delivery_id}", field="delivery_id")
            if not await uow.outgoing.requeue_failed(int(delivery_id), now=uow.now()):
                raise RpcError(
                    "conflict", f"delivery {delivery_id} is {found['status']}, not failed", field="delivery_id"
                )
            await uow.outgoing.log_attempt(int(delivery_id), attempt=0, outcome="retry_requested", error=None)
            result = await queries.delivery(uow.connection, delivery_id=int(delivery_id))
            await uow.commit()
            return result

    async def get_preferences(self, recipient_id: str) -> Any:
        """The recipient's channels and digest choice (defaults when none are stored, without a channel the
        deployment lacks), `available_channels`, those a choice may name, and `email_on_file`: whether the member
        snapshot, the person's monitor assignments or a committee's contact addresses hold an e-mail address to send
        to (model.email_on_file), None when the recipient is none known here (a chosen e-mail reaches nobody until an
        address comes from the member database)."""
        async with self._uow() as uow:
            stored = await uow.outgoing.preference(recipient_id)
            unit = await uow.projection.get_unit(recipient_id)
            member = None if unit else await uow.projection.get_member(recipient_id)
            monitors = [] if unit else await uow.projection.monitors_of(recipient_id)
        offered = uow.settings.offered_channels()
        email_on_file = model.email_on_file(unit, member, monitors)
        if stored is None:
            defaults = uow.settings.default_committee_channels if unit else uow.settings.default_person_channels
            return {
                "recipient_id": recipient_id,
                "channels": list(with_inbox(channel for channel in defaults if channel in offered)),
                "digest": bool(unit) and uow.settings.default_committee_digest,
                "webhook_url": None,
                "webhook_secret_set": False,
                "stored": False,
                "available_channels": offered,
                "email_on_file": email_on_file,
            }
        own_webhook = stored.webhook_url and Channel.WEBHOOK.value not in offered
        return {
            "recipient_id": recipient_id,
            "channels": list(with_inbox(stored.channels)),
            "digest": stored.digest,
            "webhook_url": stored.webhook_url,
            "webhook_secret_set": stored.has_webhook_secret,
            "stored": True,
            "available_channels": [*offered, Channel.WEBHOOK.value] if own_webhook else offered,
            "email_on_file": email_on_file,
        }

    async def set_preferences(
        self,
        recipient_id: str,
        channels: list[str] | None = None,
        digest: bool | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        *,
        clear_webhook: bool = False,
    ) -> Any:
        """Change which channels reach the recipient, whether they want a daily digest and their own webhook; what
        is left None keeps what they have (stored, else the defaults get_preferences answers), and only the fields
        sent are written, so an officer's save of channels and digest keeps an operator's webhook and the reverse;
        `clear_webhook` drops the stored webhook address and secret first. The inbox is always among the channels
        (the notification itself is kept in it whatever is chosen). The webhook (SMS gateway) is refused when there
        is none to send to: neither the recipient's own `webhook_url` (sent or kept) nor the province's
        CHIBO_WEBHOOK_URL; `invalid` naming `webhook_url` when the SSRF guard refuses it (webhook_guard: its host
        resolves to an address that is not global and not in CHIBO_WEBHOOK_ALLOWED_HOSTS, or to none)."""
        settings = self._uow().settings
        current = await self.get_preferences(recipient_id)
        kept_url = None if clear_webhook else current["webhook_url"]
        chosen = list(current["channels"]) if channels is None else channels
        fault = model.preference_fault(
            # kept channels are judged only when the webhook they may name is dropped: a kept choice left without a
            # way to send is not the caller's to answer for (it fails visibly at delivery)
            channels=chosen if channels is not None or clear_webhook else [],
            known=[channel.value for channel in Channel],
            offered=settings.offered_channels(),
            webhook_url=webhook_url if webhook_url is not None else kept_url,
            webhook_secret=webhook_secret,
            can_seal=bool(settings.secret_key),
        )
        if fault is not None:
            raise RpcError("invalid", fault.message, field=fault.field)
        if webhook_url is not None:
            # resolved before the transaction begins, so no connection waits on DNS; judged again at each send
            try:
                await checked_target(webhook_url, settings.webhook_allowlist(), resolve=self._resolve)
            except RefusedAddress as exc:
                WEBHOOK_ADDRESSES_REFUSED.labels("registration").inc()
                log.warning("webhook_address_refused", recipient_id=recipient_id, stage="registration", reason=str(exc))
                raise RpcError("invalid", f"webhook_url: {exc}", field="webhook_url") from None
        sent = {
            "channels": channels is not None,
            "digest": digest is not None,
            "webhook_url": webhook_url is not None or clear_webhook,
            "webhook_secret": webhook_secret is not None or clear_webhook,
        }
        async with self._uow() as uow:
            preference = Preference(
                recipient_id=recipient_id,
                channels=with_inbox(chosen),
                digest=bool(current["digest"] if digest is None else digest),
                webhook_url=webhook_url if webhook_url is not None else kept_url,
                webhook_secret=webhook_secret,
            )
            await uow.outgoing.set_preference(preference, only=frozenset(name for name, set_ in sent.items() if set_))
            await uow.commit()
        return await self.get_preferences(recipient_id)

    async def late_minutes(self, committee_id: str, period: str, *, limit: int = 50, offset: int = 0) -> Any:
        """A page of the meetings of a committee's subtree in a report period (a half-year: its six months in one query,
        ordered as a year's list) whose minutes are late now (queries.late_minutes, with the days set for the
        committee); `invalid` naming `period` for a period that does not read."""
        limit, offset = _bounds(limit, offset)
        if not is_report_period(period):
            raise RpcError(
                "invalid",
                f"period: {period_expected(period)}",
                field="period",
            )
        start, end = period_bounds(period)
        async with self._uow() as uow:
            config = await config_for(committee_id, uow)
            return await queries.late_minutes(
                uow.connection,
                committee_id=committee_id,
                days_after=float(config.param(r.MINUTES_LATE, "days_after")),
                start=start,
                end=end,
                now=uow.now(),
                limit=limit,
                offset=offset,
            )

    async def period_checks_due(self, committee_id: str, period: str) -> Any:
        """{committee_id, period, due_at: ISO time or None, pending: int}: the latest due time of the period_rated_low
        checks (schedule kind 'cell.period') of the cells under `committee_id` for `period` that have not run yet
        (queries.period_checks_due); due_at None when none is pending."""
        async with self._uow() as uow:
            cells = await uow.projection.subtree_cells(committee_id)
            found = await queries.period_checks_due(uow.connection, cell_ids=cells, period=period)
        return {"committee_id": committee_id, "period": period, **found}

    async def get_rules(self, unit_id: str) -> Any:
        """The effective rule settings for a unit (defaults, then its ancestors' overrides): rule → {enabled, params,
        set_by: {"enabled": unit id or None, "params": {name: unit id or None}}, limits: settings.param_limits}, None
        where the default holds; `history_cutoff_days` the configured history cutoff (facts about meetings started
        longer ago raise no alert)."""
        async with self._uow() as uow:
            ancestors = await uow.projection.ancestors(unit_id)
            overrides = await uow.projection.rule_overrides(ancestors)
            cutoff_days = uow.settings.history_cutoff_days
        config = resolve_config(ancestors, overrides)
        sources = resolve_sources(ancestors, overrides)
        return {
            "unit_id": unit_id,
            "rules": {
                rule: {
                    "enabled": config.is_enabled(rule),
                    "params": dict(config.params[rule]),
                    "set_by": sources[rule],
                    "limits": param_limits(rule),
                }
                for rule in config.params
            },
            "history_cutoff_days": cutoff_days,
        }

    async def set_rule(
        self,
        unit_id: str,
        rule: str,
        params: dict[str, Any] | None = None,
        enabled: bool | None = None,
        *,
        reset_enabled: bool = False,
    ) -> Any:
        """Set a rule's thresholds or lead times (or switch it off) for a subtree, over what the unit set before (a
        None parameter, or on or off with `reset_enabled`, given back to the units above); re-plan its pending jobs.
        RpcError invalid naming the field for an unknown rule or parameter or a value out of its range
        (settings.PARAM_BOUNDS)."""
        try:
            cleaned = validate_override(rule, params or {})
        except UnknownSetting as exc:
            raise RpcError("invalid", str(exc), field=exc.field) from exc
        async with self._uow() as uow:
            # the re-plan below reads every rule's settings of the subtree and its ancestors: a change of another
            # rule here, above or below, committed after that read would be missing from the jobs it writes (the
            # gateway's page serializes only its own saves of one committee; the API, the ops CLI and saves on the
            # committees above reach this side by side)
            chain = (await uow.projection.ancestors_of([unit_id])).get(unit_id, [unit_id])
            await uow.projection.lock_rule_settings(unit_id, chain)
            previous = next(
                (o for o in await uow.projection.rule_overrides([unit_id]) if o.unit_id == unit_id and o.rule == rule),
                None,
            )
            change = RuleOverride(unit_id=unit_id, rule=rule, enabled=enabled, params=cleaned)
            await uow.projection.set_rule_override(merge_override(previous, change, reset_enabled=reset_enabled))
            uow.configs.clear()  # resolved before the change
            # lead times are fixed when a job is planned: move the subtree's pending ones to the new settings
            await replan_subtree(unit_id, uow)
            await uow.commit()
        return await self.get_rules(unit_id)
