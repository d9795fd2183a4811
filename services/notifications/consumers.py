"""FastStream subscribers: the events queue (each delivery straight to on_event, with the app's context from its
Door) and the RPC queue."""

from typing import Annotated, Any

from faststream import AckPolicy
from faststream.rabbit import RabbitMessage, RabbitRouter

from services.notifications.context import NotificationsContext
from services.notifications.handlers import BATCH_HANDLERS, HANDLERS
from services.notifications.reading import READING_MODELS
from services.notifications.rpc import rpc_methods
from shared.consuming import Door, consume_event
from shared.context import ServiceContext, door_subscriber
from shared.logs import get_logger
from shared.rpc import RpcRequest, answer
from shared.topology import NOTIFICATIONS_EVENTS, RpcQueue

log = get_logger(__name__)
RPC_QUEUE = RpcQueue("notifications")


def build_router(door: Door[NotificationsContext]) -> RabbitRouter:
    """The notifications subscribers of one app: the events through `door`, RPC with FastStream's context."""
    router = RabbitRouter()

    door_subscriber(
        router,
        NOTIFICATIONS_EVENTS,
        door,
        on_event,
        log=log,
        unsettled="event_delivery_unsettled",
        title="notifications.events",
        description="Facts, attendance histories and scores that may trigger an alert.",
    )

    router.subscriber(RPC_QUEUE.rabbit_queue(), title="notifications.rpc", ack_policy=AckPolicy.ACK)(on_rpc)
    return router


async def on_event(message: RabbitMessage, app: NotificationsContext) -> None:
    """Apply one event, or each of a batch, exactly once (inbox) and settle it; the data read with notifications'
    reading models (services.notifications.reading)."""
    await consume_event(
        message,
        consumer=NOTIFICATIONS_EVENTS.name,
        handlers=HANDLERS,
        batch_handlers=BATCH_HANDLERS,
        uow_factory=app.uow_factory,
        delivery_limit=NOTIFICATIONS_EVENTS.delivery_limit,
        models=READING_MODELS,
        publishers=app.publishers,
    )


async def on_rpc(
    request: RpcRequest,
    message: RabbitMessage,
    app: Annotated[NotificationsContext, ServiceContext("notifications")],
) -> dict[str, Any]:
    """Answer one request of the notifications.rpc catalog, from the allowed callers only (CHIBO_RPC_CALLERS)."""
    caller = message.raw_message.user_id
    return await answer(request, rpc_methods(app), caller=caller, allowed_callers=app.settings.rpc_callers)
