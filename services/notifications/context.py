"""The notifications service's one context object: what its consumers, RPC methods and background jobs share."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import asyncpg

from services.notifications.channels import Sender
from services.notifications.config import Settings
from services.notifications.unit_of_work import NotificationsUnitOfWork


@dataclass(frozen=True, eq=False)
class NotificationsContext:
    """Settings, the pool, the unit-of-work factory (with its clock) and the channel senders."""

    settings: Settings
    pool: asyncpg.Pool
    uow_factory: Callable[[], NotificationsUnitOfWork]
    senders: Mapping[str, Sender]
