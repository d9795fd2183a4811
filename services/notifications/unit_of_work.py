"""The notifications unit of work: one transaction, the repositories, the settings and the clock."""

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import asyncpg

from services.notifications.config import Settings
from services.notifications.domain.settings import RuleConfig
from services.notifications.monitoring import ChannelWatch
from services.notifications.repository import (
    OutgoingRepository,
    PgOutgoingRepository,
    PgProjectionRepository,
    ProjectionRepository,
)
from services.notifications.secrets import secret_box
from shared.envelope import CloudEvent
from shared.envelope import now as wall_clock
from shared.unit_of_work import PgUnitOfWork

SCHEMA = "notifications"
SOURCE = "urn:chibo:notifications"

Clock = Callable[[], datetime]


class NotificationsUnit(Protocol):
    """What the use cases need of a unit of work: the repositories, the settings, the clock and the outbox."""

    @property
    def projection(self) -> ProjectionRepository: ...
    @property
    def outgoing(self) -> OutgoingRepository: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def configs(self) -> dict[str, RuleConfig]:
        """The rule settings resolved in this unit of work, by cell (handlers.alerts.config_for keeps them)."""
        ...

    def now(self) -> datetime:
        """The current time."""
        ...

    def emit(self, event: CloudEvent, *, exchange: str = ...) -> None:
        """Queue an event for the outbox of this transaction."""
        ...


class NotificationsUnitOfWork(PgUnitOfWork):
    """A transaction over the notifications schema with its projection and outgoing repositories."""

    projection: PgProjectionRepository
    outgoing: PgOutgoingRepository

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        settings: Settings,
        clock: Clock = wall_clock,
        on_deliveries_queued: Callable[[], None] | None = None,
        watch: ChannelWatch | None = None,
    ) -> None:
        super().__init__(pool, schema=SCHEMA)
        self.watch = watch
        """What the service tells operators of failing channels (fed each recorded round); None: nobody watches."""
        self.settings = settings
        self._clock = clock
        self._secrets = secret_box(settings.secret_key)
        self._on_deliveries_queued = on_deliveries_queued

    def start_repositories(self, connection: asyncpg.Connection) -> None:
        """Build the repositories on the transaction's connection."""
        self.projection = PgProjectionRepository(connection)
        self.outgoing = PgOutgoingRepository(connection, secrets=self._secrets, clock=self._clock)
        self.configs: dict[str, RuleConfig] = {}

    def now(self) -> datetime:
        """The current time from the unit's clock (tests pass a controllable one)."""
        return self._clock()

    async def commit(self) -> None:
        """Commit; then, when the transaction queued deliveries to send, wake this process's delivery sender."""
        await super().commit()
        if self.outgoing.queued_deliveries and self._on_deliveries_queued is not None:
            self._on_deliveries_queued()
            if self.outgoing.held_until is not None:  # and again once the deliveries held back may go
                delay = (self.outgoing.held_until - self.now()).total_seconds()
                asyncio.get_running_loop().call_later(max(delay, 0.0), self._on_deliveries_queued)


def uow_factory(
    pool: asyncpg.Pool,
    *,
    settings: Settings,
    clock: Clock = wall_clock,
    on_deliveries_queued: Callable[[], None] | None = None,
    watch: ChannelWatch | None = None,
) -> Callable[[], NotificationsUnitOfWork]:
    """A factory of units of work bound to a pool, settings and clock (and what to call when one queued deliveries,
    and the service's ChannelWatch that delivery rounds feed)."""
    return lambda: NotificationsUnitOfWork(
        pool, settings=settings, clock=clock, on_deliveries_queued=on_deliveries_queued, watch=watch
    )
