"""FastStream subscribers: the events queue (through consume_event, with the app's context from its EventsDoor) and
the RPC queue."""

from dataclasses import dataclass
from typing import Annotated, Any

from faststream import AckPolicy
from faststream.message import StreamMessage
from faststream.rabbit import RabbitMessage, RabbitRouter

from services.notifications.context import NotificationsContext
from services.notifications.handlers import BATCH_HANDLERS, HANDLERS
from services.notifications.rpc import rpc_methods
from shared.consuming import consume_event
from shared.context import ServiceContext
from shared.rpc import RpcRequest, answer
from shared.topology import NOTIFICATIONS_EVENTS, RpcQueue

RPC_QUEUE = RpcQueue("notifications")


async def hand_over_message(message: StreamMessage[Any]) -> StreamMessage[Any]:
    """Hand the message itself over as the body, undecoded: consume_event reads (and judges) it, and the handler
    then needs no injected parameter (see EventsDoor)."""
    return message


@dataclass
class EventsDoor:
    """What one notifications app's events subscriber reads its deliveries with: its context, set once the pool
    exists.

    The subscriber takes the delivery as its only parameter and finds the context here, so fast_depends injects
    nothing per delivery (resolving the message and the app's context, each a Context field, per message was what
    meetings saved 8.6 % of its busy samples by dropping). One door per app (build_router), never shared between apps
    in one process."""

    app: NotificationsContext | None = None


def build_router(door: EventsDoor) -> RabbitRouter:
    """The notifications subscribers of one app: the events through `door`, RPC with FastStream's context."""
    router = RabbitRouter()

    @router.subscriber(
        NOTIFICATIONS_EVENTS.rabbit_queue(),
        NOTIFICATIONS_EVENTS.rabbit_exchange(),
        ack_policy=AckPolicy.MANUAL,
        decoder=hand_over_message,
        title="notifications.events",
        description="Facts, attendance histories and scores that may trigger an alert.",
    )
    async def on_event(message: Any) -> None:
        """Apply one event, or each of a batch, exactly once (inbox) and settle it, with this app's context."""
        assert door.app is not None, "the events door opens in the lifespan, before the broker starts"
        await consume_event(
            message,
            consumer=NOTIFICATIONS_EVENTS.name,
            handlers=HANDLERS,
            batch_handlers=BATCH_HANDLERS,
            uow_factory=door.app.uow_factory,
            delivery_limit=NOTIFICATIONS_EVENTS.delivery_limit,
        )

    router.subscriber(RPC_QUEUE.rabbit_queue(), title="notifications.rpc", ack_policy=AckPolicy.ACK)(on_rpc)
    return router


async def on_rpc(
    request: RpcRequest,
    message: RabbitMessage,
    app: Annotated[NotificationsContext, ServiceContext("notifications")],
) -> dict[str, Any]:
    """Answer one request of the notifications.rpc catalog, from the allowed callers only (CHIBO_RPC_CALLERS)."""
    caller = message.raw_message.user_id
    return await answer(request, rpc_methods(app), caller=caller, allowed_callers=app.settings.rpc_callers)
