"""The notifications service's one context object: what its consumers, RPC methods and background jobs share."""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import asyncpg

from services.notifications.channels import Sender
from services.notifications.config import Settings
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.consuming import EventConsumer


@dataclass(frozen=True, eq=False)
class NotificationsContext(EventConsumer):
    """Settings, the pool, the unit-of-work factory (with its clock), the channel senders, and the event that wakes
    the delivery sender when a transaction of this process queued deliveries."""

    settings: Settings

    pool: asyncpg.Pool
    uow_factory: Callable[[], NotificationsUnitOfWork]
    senders: Mapping[str, Sender]
    deliveries_queued: asyncio.Event = field(default_factory=asyncio.Event)
