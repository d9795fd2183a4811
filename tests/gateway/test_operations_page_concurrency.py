"""The operations overview reads its parts at once, not one after another: the page took the sum of the system
health, the queues' states, each service's outbox and the held, rejected and failed counts (2-5 s idle, up to 8.7 s
under load in a user's trial). Each faked part here answers only once every part has been asked, so parts read one
after another never answer (the barrier times out); the management API is asked once however many parts want its
figures at once. Without a running system."""

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from services.gateway.auth import Principal, Role
from services.gateway.http import operations as operations_api
from services.gateway.http import recovery
from services.gateway.schemas.operations import SystemHealthRead
from services.gateway.schemas.recovery import QueueRead
from shared import broker_api
from shared.contracts import meetings_rpc as meetings
from shared.contracts import notifications_rpc as notifications
from shared.topology import RPC_SERVICES

OPERATOR = Principal(sub="operator", role=Role.OPERATOR, unit_id=None, person_id=None, local=True)
PATIENCE = 10.0
"""How long a part waits for the others to be asked (they are asked at once: far less; one after another: never)."""


class Barrier:
    """Every one of `parts` callers waits until all of them have arrived; `arrived` says how many did."""

    def __init__(self, parts: int) -> None:
        self.parts = parts
        self.arrived = 0
        self.all_here = asyncio.Event()

    async def wait(self) -> None:
        """Arrive and wait for the rest (asyncio.TimeoutError when they do not come within PATIENCE)."""
        self.arrived += 1
        if self.arrived >= self.parts:
            self.all_here.set()
        await asyncio.wait_for(self.all_here.wait(), PATIENCE)


async def test_the_overview_asks_every_part_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # the health, the queues, one outbox per service, held events, rejections, failed deliveries
    barrier = Barrier(2 + len(RPC_SERVICES) + 3)

    async def health(caller: Any, state: Any) -> SystemHealthRead:
        await barrier.wait()
        return SystemHealthRead(status="ok", broker="ok", services={})

    async def queues(state: Any, names: list[str]) -> dict[str, QueueRead]:
        await barrier.wait()
        return {name: QueueRead(name=name, messages=0, consumers=1, source="declare") for name in names}

    async def call(request: Any, **kwargs: Any) -> Any:
        await barrier.wait()
        if isinstance(request, meetings.ListHeldEvents):
            return SimpleNamespace(total=3)
        if isinstance(request, notifications.ListFailedDeliveries):
            return SimpleNamespace(total=2)
        if isinstance(request, meetings.ListRejections):
            return SimpleNamespace(counts=None)
        return SimpleNamespace(model_dump=lambda: {"pending": 0, "oldest_pending_seconds": 0.0, "parked": 1})

    monkeypatch.setattr(recovery, "get_system_health", health)
    monkeypatch.setattr(recovery, "queue_states", queues)
    state: Any = SimpleNamespace(rpc=SimpleNamespace(call=call))
    overview = await recovery.operations_overview(OPERATOR, state)
    assert barrier.arrived == barrier.parts
    assert (overview.held_events, overview.failed_deliveries, overview.parked_rows_total) == (3, 2, len(RPC_SERVICES))
    assert set(overview.services) == set(RPC_SERVICES)


async def test_the_system_health_asks_the_broker_and_the_services_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # first the local processes' check and the broker's ping; then the dead-letter and unrouted counts, the served
    # queues and the /health probe of a service no process reports for
    first, then = Barrier(2), Barrier(3)

    async def check_local(**kwargs: Any) -> None:
        await first.wait()

    async def ping(**kwargs: Any) -> bool:
        await first.wait()
        return True

    async def connect() -> object:
        return object()

    async def counts(connection: Any, names: list[str]) -> dict[str, int | None]:
        await then.wait()
        return {name: 4 if name.endswith(".dlq") else 1 for name in names}

    async def queues(state: Any, names: list[str]) -> dict[str, QueueRead]:
        await then.wait()
        return {name: QueueRead(name=name, messages=0, consumers=0, source="declare") for name in names}

    async def probe(self: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
        await then.wait()
        return httpx.Response(200, json={"status": "ok"}, request=httpx.Request("GET", url))

    instances = SimpleNamespace(
        check_local=check_local,
        measured_dead_letters=lambda found: None,
        services=lambda: set(),
    )
    settings = SimpleNamespace(
        service_health_urls={"meetings": "http://127.0.0.1:1/health"}, health_timeout=2.0, amqp_url="amqp://x/"
    )
    state: Any = SimpleNamespace(
        settings=settings, instances=instances, broker=SimpleNamespace(ping=ping, connect=connect)
    )
    monkeypatch.setattr(operations_api, "dead_letter_counts", counts)
    monkeypatch.setattr(operations_api, "queue_states", queues)
    monkeypatch.setattr(httpx.AsyncClient, "get", probe)
    health = await operations_api.get_system_health(OPERATOR, state)
    assert (first.arrived, then.arrived) == (first.parts, then.parts)
    assert health.unrouted == 1 and health.services["meetings"].status == "ok"
    assert health.dead_letters_total == 4 * len(health.dead_letters) > 0
    assert any(line.startswith("no consumer on ") for line in health.attention)


async def test_the_management_api_is_asked_once_for_figures_wanted_at_once_or_just_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []
    on_its_way, release = asyncio.Event(), asyncio.Event()

    async def answer(self: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
        asked.append(url)
        on_its_way.set()
        await release.wait()
        rows = [{"name": "meetings.ingest", "messages_ready": 1, "messages_unacknowledged": 5, "consumers": 1}]
        return httpx.Response(200, json=rows, request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx.AsyncClient, "get", answer)
    broker_api.forget_figures()
    amqp, api = "amqp://u:p@127.0.0.1:5672/v", "http://127.0.0.1:1"
    try:
        waiting = [asyncio.ensure_future(broker_api.queue_figures(amqp, api)) for _ in range(3)]
        await asyncio.wait_for(on_its_way.wait(), PATIENCE)
        release.set()
        found = await asyncio.gather(*waiting, broker_api.queue_figures(amqp, api))
        assert len(asked) == 1, asked
        assert all(figures is not None and figures["meetings.ingest"].unacknowledged == 5 for figures in found)
        # another virtual host's figures are their own
        assert await broker_api.queue_figures("amqp://u:p@127.0.0.1:5672/w", api) is not None
        assert len(asked) == 2
    finally:
        broker_api.forget_figures()
