"""The gateway's HTTP surface: every router under /v1, plus /health."""

from fastapi import APIRouter

from services.gateway.http import (
    alert_rules,
    commands,
    contract,
    health,
    ingest,
    operations,
    preferences,
    reads,
    recovery,
)

ROUTERS = tuple(
    module.router
    for module in (health, ingest, contract, commands, reads, preferences, alert_rules, operations, recovery)
)
"""Every router of the HTTP surface, in the order they are included (tests walk their routes)."""


def build_router() -> APIRouter:
    """All routes of the gateway."""
    router = APIRouter()
    for each in ROUTERS:
        router.include_router(each)
    return router
