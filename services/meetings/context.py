"""The meetings service's one context object: what its consumers, RPC methods and background jobs share."""

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.meetings.config import Settings
from services.meetings.unit_of_work import MeetingsUnitOfWork


@dataclass(frozen=True)
class MeetingsContext:
    """Settings, the pool and the unit-of-work factory of one meetings process."""

    settings: Settings
    pool: asyncpg.Pool
    uow_factory: Callable[[], MeetingsUnitOfWork]


def meetings_context(settings: Settings, pool: asyncpg.Pool) -> MeetingsContext:
    """The context over a pool (units of work on that pool)."""
    return MeetingsContext(settings=settings, pool=pool, uow_factory=lambda: MeetingsUnitOfWork(pool))
