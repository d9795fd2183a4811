"""Wires the meetings service: its spec (router, queues, context, background jobs) and the app."""

from pathlib import Path

import asyncpg
from faststream.asgi import AsgiFastStream
from faststream.rabbit import RabbitBroker

from services.meetings import content_keys
from services.meetings.background import expire_held_events
from services.meetings.config import Settings
from services.meetings.consumers import RPC_QUEUE, build_router
from services.meetings.context import MeetingsContext, meetings_context
from shared.consuming import Door
from shared.contracts import ingest as ingest_contract
from shared.contracts import meetings as meetings_contract
from shared.logs import get_logger
from shared.metrics import HELD_EVENTS, HELD_OLDEST_AGE, REJECTIONS_OPEN
from shared.runtime import ServiceSpec, build_service_app
from shared.topology import MEETINGS_FRAMEWORKS, MEETINGS_INGEST

log = get_logger(__name__)
SERVICE_DIR = Path(__file__).parent


async def read_gauges(conn: asyncpg.Connection) -> None:
    """Set the held-event and open-rejection gauges from the meetings schema (each /metrics scrape)."""
    row = await conn.fetchrow(
        "SELECT count(*) AS held, coalesce(extract(epoch FROM now() - min(held_at)), 0)::float8 AS oldest"
        " FROM held_event"
    )
    assert row is not None
    HELD_EVENTS.set(row["held"])
    HELD_OLDEST_AGE.set(row["oldest"])
    REJECTIONS_OPEN.set(await conn.fetchval("SELECT count(*) FROM rejection WHERE status = 'open'"))


def build_spec(settings: Settings) -> ServiceSpec[MeetingsContext]:
    """The meetings service's runtime description."""

    door = Door[MeetingsContext]()

    async def build_context(pool: asyncpg.Pool, broker: RabbitBroker) -> MeetingsContext:
        await content_keys.backfill(pool)  # right after the migrations, before any event is taken
        door.app = meetings_context(settings, pool)
        return door.app

    return ServiceSpec(
        name="meetings",
        service_dir=SERVICE_DIR,
        router=build_router(door),
        consumer_queues=[MEETINGS_INGEST, MEETINGS_FRAMEWORKS],
        rpc_queue=RPC_QUEUE.name,
        build_context=build_context,
        background=[expire_held_events],
        gauges=[read_gauges],
        publishes=sorted({*meetings_contract.TYPES_OUT, *ingest_contract.TYPES}),
        health_counts={"held_events": "SELECT count(*) FROM held_event"},
        description="Units, members and meetings: the only door for facts into chibo.",
    )


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    """The meetings ASGI app (consumers, relay, hold expiry, /health, /asyncapi)."""
    settings = settings or Settings()
    return build_service_app(build_spec(settings), settings)
