"""The evaluation service's one context object: what its consumers, RPC methods and background jobs share."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from services.evaluation.activity import FactActivity
from services.evaluation.config import Settings
from services.evaluation.unit_of_work import EvaluationUnitOfWork
from shared.consuming import EventConsumer


@dataclass(frozen=True, eq=False)
class EvaluationContext(EventConsumer):
    """Settings, the pool, the unit-of-work factory (sharing one framework cache) and the workers' wake-ups."""

    settings: Settings

    pool: asyncpg.Pool
    uow_factory: Callable[[], EvaluationUnitOfWork]
    rescore_wanted: asyncio.Event = field(default_factory=asyncio.Event)
    """Set by the `rescore` method so the worker starts at once instead of at its next poll."""
    scoring_wanted: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a fact transaction that noted dirty cells commits (the factory's units of work share it), so the
    scoring worker runs at once; other replicas' notes are found at its next poll."""
    facts_activity: FactActivity = field(default_factory=FactActivity)
    """What the fact consumer is doing: the scoring worker waits for it to settle, so deliveries fold together."""
