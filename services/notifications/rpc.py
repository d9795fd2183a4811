"""The notifications.rpc methods (shared/contracts/notifications_rpc.py), each calling one use case."""

from functools import partial
from typing import Any

from services.notifications.context import NotificationsContext
from services.notifications.handlers.commands import Commands
from shared.contracts import notifications_rpc as rpc
from shared.ops.rpc import add_ops_methods
from shared.rpc import RpcMethods


async def inbox(request: rpc.GetInbox, app: NotificationsContext) -> Any:
    """A page of a person's or committee's in-app notifications."""
    return await Commands(app.uow_factory).inbox(
        request.recipient_id,
        unread_only=request.unread_only,
        limit=request.limit,
        offset=request.offset,
        after=request.after,
    )


async def mark_read(request: rpc.MarkRead, app: NotificationsContext) -> Any:
    """Mark one inbox item read."""
    return await Commands(app.uow_factory).mark_read(request.recipient_id, request.notification_id)


async def list_failed(request: rpc.ListFailedDeliveries, app: NotificationsContext) -> Any:
    """A page of deliveries that gave up."""
    return await Commands(app.uow_factory).list_failed(limit=request.limit, offset=request.offset, after=request.after)


async def get_delivery(request: rpc.GetDelivery, app: NotificationsContext) -> Any:
    """One delivery with its attempt log."""
    return await Commands(app.uow_factory).get_delivery(request.delivery_id)


async def retry_delivery(request: rpc.RetryDelivery, app: NotificationsContext) -> Any:
    """Put a failed delivery back in line."""
    return await Commands(app.uow_factory).retry_delivery(request.delivery_id)


async def get_preferences(request: rpc.GetPreferences, app: NotificationsContext) -> Any:
    """A recipient's channels and digest choice."""
    return await Commands(app.uow_factory).get_preferences(request.recipient_id)


async def set_preferences(request: rpc.SetPreferences, app: NotificationsContext) -> Any:
    """Change a recipient's channels, digest choice and webhook (what is left None is kept)."""
    return await Commands(app.uow_factory).set_preferences(
        request.recipient_id,
        None if request.channels is None else [channel.value for channel in request.channels],
        digest=request.digest,
        webhook_url=request.webhook_url,
        webhook_secret=request.webhook_secret,
        clear_webhook=request.clear_webhook,
    )


async def get_rules(request: rpc.GetRules, app: NotificationsContext) -> Any:
    """The effective rule settings for a unit."""
    return await Commands(app.uow_factory).get_rules(request.unit_id)


async def set_rule(request: rpc.SetRule, app: NotificationsContext) -> Any:
    """Set a rule's settings for a subtree and re-plan its pending jobs."""
    return await Commands(app.uow_factory).set_rule(
        request.unit_id,
        request.rule,
        params=request.params,
        enabled=request.enabled,
        reset_enabled=request.reset_enabled,
    )


async def list_late_minutes(request: rpc.ListLateMinutes, app: NotificationsContext) -> Any:
    """The meetings of a committee's subtree in a period whose minutes are late now."""
    return await Commands(app.uow_factory).late_minutes(
        request.committee_id, request.period, limit=request.limit, offset=request.offset
    )


async def period_checks_due(request: rpc.GetPeriodChecks, app: NotificationsContext) -> Any:
    """When the pending period checks of a committee's cells for a period are due."""
    return await Commands(app.uow_factory).period_checks_due(request.committee_id, request.period)


def rpc_methods(app: NotificationsContext) -> RpcMethods:
    """The notifications.rpc catalog bound to the service's context."""
    methods = RpcMethods("notifications")
    methods.add(rpc.GetInbox, partial(inbox, app=app))
    methods.add(rpc.MarkRead, partial(mark_read, app=app))
    methods.add(rpc.ListFailedDeliveries, partial(list_failed, app=app))
    methods.add(rpc.GetDelivery, partial(get_delivery, app=app))
    methods.add(rpc.RetryDelivery, partial(retry_delivery, app=app))
    methods.add(rpc.GetPreferences, partial(get_preferences, app=app))
    methods.add(rpc.SetPreferences, partial(set_preferences, app=app))
    methods.add(rpc.GetRules, partial(get_rules, app=app))
    methods.add(rpc.SetRule, partial(set_rule, app=app))
    methods.add(rpc.ListLateMinutes, partial(list_late_minutes, app=app))
    methods.add(rpc.GetPeriodChecks, partial(period_checks_due, app=app))
    add_ops_methods(methods, rpc.OPS, pool=app.pool, settings=app.settings)
    return methods
