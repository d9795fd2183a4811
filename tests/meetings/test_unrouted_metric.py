"""A service's /metrics counts what chibo.unrouted holds (trial: 66 messages there, on no metric): the queue's depth as
`chibo_queue_messages{queue="chibo.unrouted"}`, as it counts its dead letters; the real meetings service in this
process, the real broker."""

import re

import httpx

from shared.topology import UNROUTED_QUEUE
from tests.support.running import eventually

SAMPLE = re.compile(r'^chibo_queue_messages\{queue="chibo\.unrouted"\} ([0-9.e+]+)$', re.MULTILINE)


async def test_the_depth_of_chibo_unrouted_is_a_metric(meetings_service: str) -> None:
    assert UNROUTED_QUEUE == "chibo.unrouted"

    async def scraped() -> re.Match[str] | None:
        async with httpx.AsyncClient(timeout=30) as client:
            return SAMPLE.search((await client.get(f"{meetings_service}/metrics")).text)

    found = await eventually(scraped)
    assert float(found.group(1)) >= 0
