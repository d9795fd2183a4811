"""Calling the typed RPC catalog from tests, reading the reply as the JSON it travelled as."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from faststream.rabbit import RabbitBroker

from services.evaluation.bootstrap import create_app as create_evaluation_app
from services.evaluation.config import Settings as EvaluationSettings
from services.evaluation.unit_of_work import today_in_vietnam
from shared.rpc import Request, RpcClient
from tests.support.running import free_port, running_app


async def ask(rpc: RpcClient, request: Request[Any], *, timeout: float | None = None) -> dict[str, Any]:
    """Call a method through the typed client; its reply as JSON-shaped data, for assertions."""
    reply = await rpc.call(request, timeout=timeout)
    data: dict[str, Any] = reply.model_dump(mode="json")
    return data


@asynccontextmanager
async def rpc_client(amqp_url: str, *, timeout: float = 20) -> AsyncIterator[RpcClient]:
    """An RpcClient (each call waiting up to `timeout` seconds) on a broker connection of its own to `amqp_url`'s
    vhost, closed when the block ends."""
    broker = RabbitBroker(amqp_url)
    await broker.connect()
    try:
        yield RpcClient(broker, timeout=timeout)
    finally:
        await broker.stop()


@asynccontextmanager
async def serving_rpc(app: Any, amqp_url: str, *, timeout: float = 20) -> AsyncIterator[RpcClient]:
    """An RpcClient on `amqp_url`'s vhost, with the service `app` serving in this process until the block ends."""
    async with running_app(app), rpc_client(amqp_url, timeout=timeout) as client:
        yield client


@asynccontextmanager
async def evaluation_rpc(
    amqp_url: str, database_url: str, *, today: Callable[[], date] = today_in_vietnam
) -> AsyncIterator[RpcClient]:
    """An RpcClient on the test vhost, with the evaluation service (its relay polling every 0.2 s; its today `today`'s,
    by default Vietnam's) serving in this process until the block ends."""
    settings = EvaluationSettings(
        amqp_url=amqp_url, database_url=database_url, http_port=free_port(), relay_poll_seconds=0.2
    )
    async with serving_rpc(create_evaluation_app(settings, today=today), amqp_url) as client:
        yield client
