"""Wiring of the gateway: broker client, pool, migrations, token verifier, caches, all in the lifespan."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import asyncpg
from fastapi import FastAPI
from faststream.rabbit import RabbitBroker

from services.gateway.auth import TokenVerifier, load_jwks
from services.gateway.config import GatewaySettings
from services.gateway.handlers import PersonNames, TtlCache, UnitDirectory, sync_registered_sources
from services.gateway.limits import AnonymousGuard, RateLimiter, SignInDelays, SignInThrottle
from services.gateway.membership import MembershipCheck
from services.gateway.repository import PgAccountRepository, PgAuditLog, signing_secret
from shared.background import poll
from shared.config import broker_user_of
from shared.db import create_pool
from shared.instances import InstanceBoard
from shared.logs import configure_logging, get_logger
from shared.retention import PRUNE_EVERY_SECONDS, keep_pruning
from shared.rpc import RpcClient, rpc_consumers
from shared.runtime import create_broker, migrate

SERVICE = "gateway"
SERVICE_DIR = Path(__file__).parent
log = get_logger(__name__)


@dataclass
class GatewayState:
    """Everything a request needs, built once in the lifespan."""

    settings: GatewaySettings
    pool: asyncpg.Pool
    broker: RabbitBroker
    rpc: RpcClient
    verifier: TokenVerifier
    secret: str
    directory: UnitDirectory
    names: PersonNames
    """The signed-in people's full names, for the web app's header."""
    membership: MembershipCheck
    """Whether a signed-in member's or secretary's account still stands in its cell (every request, cached briefly)."""
    accounts: PgAccountRepository
    anonymous: AnonymousGuard
    audit: PgAuditLog
    limiter: RateLimiter
    sign_in: SignInThrottle
    """Failed web sign-ins per username and per client address."""
    sources_changed: asyncio.Event
    """Set when an account changed through the API: meetings gets the registered sources at once."""
    form_locks: asyncpg.Pool
    """Connections that only hold a form's lock (web.form_locks.one_form_at_a_time: a meeting's record form, a
    committee's alert settings) while the form is judged and sent: apart from `pool`, so saves waiting for a lock
    never take the connections the one holding it needs (a pool exhausted by waiters would stall the holder, and with
    it every waiter)."""
    instances: InstanceBoard = field(default_factory=InstanceBoard)
    """Every running process of each service, by its heartbeats on chibo.ops (shared.instances)."""


async def keep_sources_synced(
    accounts: PgAccountRepository, rpc: RpcClient, *, every: float, changed: asyncio.Event
) -> None:
    """Send meetings the scoped accounts' sources (sync_registered_sources) at start, then every `every` seconds or
    at once when `changed` is set, until cancelled (shared.background.poll: a failed sync, meetings down, is logged
    and tried again with its backoff)."""
    synced = False

    async def step() -> bool:
        nonlocal synced
        reply = await sync_registered_sources(accounts, rpc)
        if not synced or reply.released:
            log.info("registered_sources_synced", registered=reply.registered, released=reply.released)
        synced = True
        return False

    await poll("gateway.source_sync", step, poll_seconds=every, wake=changed)


PRUNED_BY_SENT_AT = ("idempotency_key", "web_form_moment")
"""The gateway's tables of first sendings kept for a window (Idempotency-Keys: CHIBO_IDEMPOTENCY_KEY_HOURS; web
forms' moments: CHIBO_WEB_SESSION_HOURS), read as absent once older (repository.use_idempotency_key, first_sent_at)."""


async def keep_pruning_sent(
    pool: asyncpg.Pool, table: str, *, hours: float, every_seconds: float = PRUNE_EVERY_SECONDS
) -> None:
    """Delete the rows of `table` (one of PRUNED_BY_SENT_AT) first sent more than `hours` ago, at start and then
    every `every_seconds`, in batches (shared.retention, job `gateway.<table>_prune`), until cancelled: a request
    reads such a row as absent before then, so no request deletes rows itself."""
    await keep_pruning(
        pool,
        job=f"gateway.{table}_prune",
        schema=SERVICE,
        table=table,
        column="sent_at",
        keep=timedelta(hours=hours),
        every_seconds=every_seconds,
    )


@asynccontextmanager
async def gateway_lifespan(app: FastAPI, settings: GatewaySettings) -> AsyncIterator[None]:
    """Migrate, connect, build the state; close everything on the way out."""
    configure_logging(service=SERVICE, level=settings.log_level, json=settings.log_json)
    applied = await migrate(settings, schema=SERVICE, service_dir=SERVICE_DIR)
    pool = await create_pool(
        settings.database_url, schema=SERVICE, min_size=settings.db_pool_min, max_size=settings.db_pool_max
    )
    form_locks = await create_pool(settings.database_url, schema=SERVICE, min_size=0, max_size=settings.db_pool_max)
    broker = create_broker(settings, service=SERVICE)
    try:
        await broker.start()
        secret = await signing_secret(pool, settings.jwt_secret, pin=True)
        rpc = RpcClient(broker, timeout=settings.rpc_timeout, user_id=broker_user_of(settings.amqp_url))

        async def meetings_gone() -> bool:  # no process of meetings takes requests: a read need not wait for one
            return not await rpc_consumers(await broker.connect(), "meetings")

        directory = UnitDirectory(
            rpc,
            TtlCache(seconds=settings.unit_cache_seconds),
            miss_seconds=settings.unit_miss_cache_seconds,
            read_timeout=settings.person_name_timeout,
            retry_seconds=settings.person_name_retry_seconds,
            kept_seconds=settings.unit_kept_seconds,
            gone=meetings_gone,
        )
        accounts = PgAccountRepository(pool)
        app.state.gateway = GatewayState(
            settings=settings,
            pool=pool,
            broker=broker,
            rpc=rpc,
            verifier=TokenVerifier(
                secret=secret,
                issuer=settings.jwt_issuer,
                jwks=load_jwks(
                    url=settings.jwks_url, file=settings.jwks_file, cache_seconds=settings.jwks_cache_seconds
                ),
                external_issuer=settings.external_issuer,
                external_audience=settings.external_audience,
                max_lifetime=timedelta(days=settings.token_max_days),
            ),
            secret=secret,
            directory=directory,
            names=PersonNames(
                rpc,
                TtlCache(seconds=settings.unit_cache_seconds),
                timeout=settings.person_name_timeout,
                failures=TtlCache(seconds=settings.person_name_retry_seconds),
            ),
            membership=MembershipCheck(
                rpc,
                seconds=settings.membership_cache_seconds,
                read_timeout=settings.person_name_timeout,
                retry_seconds=settings.person_name_retry_seconds,
                kept_seconds=settings.membership_kept_seconds,
                gone=directory.gone_now,
            ),
            accounts=accounts,
            anonymous=AnonymousGuard(limit=settings.anonymous_limit),
            audit=PgAuditLog(pool),
            limiter=RateLimiter(per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst),
            sources_changed=asyncio.Event(),
            form_locks=form_locks,
            sign_in=SignInThrottle(
                pool,
                per_account=settings.web_sign_in_account_limit,
                per_address=settings.web_sign_in_address_limit,
                delays=SignInDelays(
                    free=settings.web_sign_in_free_failures,
                    first=settings.web_sign_in_first_delay,
                    longest=settings.web_sign_in_longest_delay,
                ),
                known_days=settings.web_sign_in_known_days,
            ),
        )
        instances = app.state.gateway.instances
        instances.window_seconds = settings.instance_window_seconds
        try:
            await instances.listen(await broker.connect(), owner=SERVICE)
        except Exception as exc:  # a broker user without the chibo.ops permissions: the configured addresses only
            log.error("instance_status_not_read", error=repr(exc))
        flusher = asyncio.create_task(
            app.state.gateway.anonymous.run_flusher(pool, every=settings.anonymous_flush_seconds)
        )
        syncer = asyncio.create_task(
            keep_sources_synced(
                accounts, rpc, every=settings.source_sync_seconds, changed=app.state.gateway.sources_changed
            )
        )
        windows = {"idempotency_key": settings.idempotency_key_hours, "web_form_moment": settings.web_session_hours}
        pruning = [
            asyncio.create_task(keep_pruning_sent(pool, table, hours=windows[table])) for table in PRUNED_BY_SENT_AT
        ]
        log.info("gateway_started", migrations_applied=len(applied), port=settings.http_port)
        try:
            yield
        finally:
            flusher.cancel()
            syncer.cancel()
            for task in pruning:
                task.cancel()
            await asyncio.gather(flusher, syncer, *pruning, return_exceptions=True)
            await instances.close()
    finally:
        await broker.stop()
        await form_locks.close()
        await pool.close()
        log.info("gateway_stopped")
