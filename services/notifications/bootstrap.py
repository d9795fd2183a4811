"""Wiring: the ServiceSpec and the app of the notifications service (nothing runs at import)."""

import asyncio
from collections.abc import Mapping
from pathlib import Path

import asyncpg
from faststream.asgi import AsgiFastStream
from faststream.rabbit import RabbitBroker

from services.notifications.background import run_deliveries, run_schedule
from services.notifications.channels import Sender, default_senders
from services.notifications.config import Settings
from services.notifications.consumers import RPC_QUEUE, build_router
from services.notifications.context import NotificationsContext
from services.notifications.monitoring import ChannelWatch
from services.notifications.unit_of_work import SCHEMA, Clock, uow_factory
from shared.consuming import Door
from shared.contracts import notifications as notifications_contract
from shared.envelope import now as wall_clock
from shared.runtime import ServiceSpec, build_service_app
from shared.topology import NOTIFICATIONS_EVENTS

SERVICE_DIR = Path(__file__).parent


def build_spec(
    settings: Settings,
    *,
    senders: Mapping[str, Sender] | None = None,
    clock: Clock = wall_clock,
    watch: ChannelWatch | None = None,
) -> ServiceSpec[NotificationsContext]:
    """The notifications ServiceSpec: its queues, context and background tasks; `watch` (a new one when None) judges
    from the delivery rounds which channels fail, for /health and /metrics."""

    door = Door[NotificationsContext]()
    channels = watch if watch is not None else ChannelWatch(settings.delivery_failing_seconds)

    async def build_context(pool: asyncpg.Pool, broker: RabbitBroker) -> NotificationsContext:
        queued = asyncio.Event()  # set by each commit that queued deliveries: the sender goes at once
        door.app = NotificationsContext(
            settings=settings,
            pool=pool,
            uow_factory=uow_factory(
                pool, settings=settings, clock=clock, on_deliveries_queued=queued.set, watch=channels
            ),
            senders=dict(senders) if senders is not None else default_senders(settings),
            deliveries_queued=queued,
        )
        return door.app

    return ServiceSpec(
        name=SCHEMA,
        service_dir=SERVICE_DIR,
        router=build_router(door),
        consumer_queues=[NOTIFICATIONS_EVENTS],
        rpc_queue=RPC_QUEUE.name,
        build_context=build_context,
        background=(run_schedule, run_deliveries),
        description="Alerts of party cell meetings, once per recipient, by e-mail, webhook and in-app inbox.",
        publishes=sorted(notifications_contract.TYPES),
        gauges=[channels.gauges],
        health_attention=[channels.attention],
    )


def build_app(
    settings: Settings, *, senders: Mapping[str, Sender] | None = None, clock: Clock = wall_clock
) -> AsgiFastStream:
    """The ASGI FastStream app of the notifications service."""
    return build_service_app(build_spec(settings, senders=senders, clock=clock), settings)
