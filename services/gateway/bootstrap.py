"""Wiring of the gateway: broker client, pool, migrations, token verifier, caches, all in the lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from fastapi import FastAPI
from faststream.rabbit import RabbitBroker

from services.gateway.auth import TokenVerifier, load_jwks
from services.gateway.config import GatewaySettings
from services.gateway.handlers import AccountGate, TtlCache, UnitDirectory
from services.gateway.limits import RateLimiter
from services.gateway.repository import PgAccountRepository, PgAuditLog, signing_secret
from shared.db import create_pool
from shared.logs import configure_logging, get_logger
from shared.rpc import RpcClient
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
    accounts: PgAccountRepository
    account_gate: AccountGate
    audit: PgAuditLog
    limiter: RateLimiter


@asynccontextmanager
async def gateway_lifespan(app: FastAPI, settings: GatewaySettings) -> AsyncIterator[None]:
    """Migrate, connect, build the state; close everything on the way out."""
    configure_logging(service=SERVICE, level=settings.log_level, json=settings.log_json)
    applied = await migrate(settings, schema=SERVICE, service_dir=SERVICE_DIR)
    pool = await create_pool(
        settings.database_url, schema=SERVICE, min_size=settings.db_pool_min, max_size=settings.db_pool_max
    )
    broker = create_broker(settings, service=SERVICE)
    try:
        await broker.start()
        secret = settings.jwt_secret or await signing_secret(pool)
        rpc = RpcClient(broker, timeout=settings.rpc_timeout)
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
            ),
            secret=secret,
            directory=UnitDirectory(rpc, TtlCache(seconds=settings.unit_cache_seconds)),
            accounts=accounts,
            account_gate=AccountGate(accounts, TtlCache(seconds=settings.account_cache_seconds)),
            audit=PgAuditLog(pool),
            limiter=RateLimiter(per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst),
        )
        log.info("gateway_started", migrations_applied=len(applied), port=settings.http_port)
        yield
    finally:
        await broker.stop()
        await pool.close()
        log.info("gateway_stopped")
