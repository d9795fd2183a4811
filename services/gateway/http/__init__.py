"""The gateway's HTTP surface: every router under /v1, plus /health."""

from fastapi import APIRouter

from services.gateway.http import commands, contract, health, ingest, operations, preferences, reads, recovery


def build_router() -> APIRouter:
    """All routes of the gateway."""
    router = APIRouter()
    for module in (health, ingest, contract, commands, reads, preferences, operations, recovery):
        router.include_router(module.router)
    return router
