"""The real meetings process for tests that need it whole (`python -m services.meetings serve` against a vhost and a
database of the test's own); tests.support.serving runs any service so."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support.serving import Serving, entered, service_process

__all__ = ["entered", "meetings_process"]


@asynccontextmanager
async def meetings_process(amqp_url: str, database_url: str, log: Path) -> AsyncIterator[Serving]:
    """`python -m services.meetings serve` (its output appended to `log`), healthy, until the block ends."""
    async with service_process("meetings", amqp_url, database_url, log) as serving:
        yield serving
