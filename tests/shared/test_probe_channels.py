"""Passive declares of missing queues, many at once and some cancelled, on a process's shared broker connection
(shared.probes): RabbitMQ closed the gateway's whole connection with `CHANNEL_ERROR - second 'channel.open' seen`
(504) under load, when a channel opened while another, closed by the broker (NOT_FOUND), had not written its
Close-Ok yet: aiormq had already given the new one its number. The operations page then lacked its parts.

Against the real broker: the connection's transport must be the same one afterwards (not closed and reconnected)
and a call over RPC on it must still be answered."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aio_pika.abc import AbstractRobustConnection
from faststream.rabbit import RabbitBroker

from shared import probes
from shared.rpc import RpcClient, rpc_consumers
from tests.shared.test_rpc import CountMembers, CountReply, probe_methods, serving_probe

ROUNDS = 20
AT_ONCE = 32


@asynccontextmanager
async def gateway_like(amqp_url: str) -> AsyncIterator[tuple[AbstractRobustConnection, RpcClient]]:
    """A broker connection shared as the gateway shares its own (RPC replies and probes on it), and its client."""
    broker = RabbitBroker(amqp_url)
    connection = await broker.connect()
    try:
        yield connection, RpcClient(broker, timeout=10)
    finally:
        await broker.stop()


async def test_many_passive_declares_of_missing_queues_at_once_leave_the_connection_and_rpc_working(
    amqp_url: str,
) -> None:
    missing = f"h530-missing-{uuid.uuid4().hex[:8]}"
    async with serving_probe(amqp_url, probe_methods()), gateway_like(amqp_url) as (connection, rpc):
        assert isinstance(await rpc.call(CountMembers(cell_id="c1")), CountReply)  # its reply channel is open
        transport = connection.transport
        assert transport is not None
        for _ in range(ROUNDS):
            found = await asyncio.gather(
                *(rpc_consumers(connection, missing) for _ in range(AT_ONCE)),
                rpc_consumers(connection, "rpcprobe"),
                rpc.call(CountMembers(cell_id="c1")),
            )
            assert found[:AT_ONCE] == [None] * AT_ONCE and found[AT_ONCE] == 1
        assert connection.transport is transport and not transport.connection.is_closed
        reply = await rpc.call(CountMembers(cell_id="c1"))
        assert reply.members == 2


async def test_probes_cancelled_half_way_leave_the_connection_and_rpc_working(amqp_url: str) -> None:
    missing = f"h530-missing-{uuid.uuid4().hex[:8]}"
    async with serving_probe(amqp_url, probe_methods()), gateway_like(amqp_url) as (connection, rpc):
        assert isinstance(await rpc.call(CountMembers(cell_id="c1")), CountReply)
        transport = connection.transport
        assert transport is not None
        for round_ in range(ROUNDS):
            # timeouts from none at all to a few event-loop turns: cancelled before, during and after the open
            probes = [asyncio.ensure_future(rpc_consumers(connection, missing)) for _ in range(AT_ONCE)]
            for turn, probe in enumerate(probes):
                if turn % 3 != 2:
                    for _ in range(turn % 5):
                        await asyncio.sleep(0)
                    probe.cancel()
            await asyncio.gather(*probes, return_exceptions=True)
            assert await rpc_consumers(connection, "rpcprobe") == 1, round_
        assert connection.transport is transport and not transport.connection.is_closed
        reply = await rpc.call(CountMembers(cell_id="c1"))
        assert reply.members == 2


async def test_calls_timing_out_while_their_reply_channel_opens_leave_the_connection_and_rpc_working(
    amqp_url: str,
) -> None:
    async with serving_probe(amqp_url, probe_methods()):
        broker = RabbitBroker(amqp_url)
        connection = await broker.connect()
        try:
            transport = connection.transport
            assert transport is not None
            for round_ in range(ROUNDS):
                # each client opens its own reply channel; most give up at once, a few turns in, or not at all
                clients = [RpcClient(broker, timeout=10) for _ in range(AT_ONCE)]
                calls = [asyncio.ensure_future(client.call(CountMembers(cell_id="c1"))) for client in clients]
                for turn, call in enumerate(calls):
                    if turn % 3 != 2:
                        for _ in range(turn % 5):
                            await asyncio.sleep(0)
                        call.cancel()
                answered = await asyncio.gather(*calls, return_exceptions=True)
                assert all(isinstance(reply, CountReply | asyncio.CancelledError) for reply in answered), round_
            assert connection.transport is transport and not transport.connection.is_closed
            reply = await RpcClient(broker, timeout=10).call(CountMembers(cell_id="c1"))
            assert reply.members == 2
        finally:
            await broker.stop()


async def test_asking_for_rpc_consumers_again_and_again_opens_no_channel_per_question(amqp_url: str) -> None:
    """POST /v1/events asks rpc_consumers before each call (issue 12): a channel opened and closed per question cost
    the gateway 2.3-3.0 ms CPU and 7.3 ms (p50) each, about a third of its CPU per ingest call. The answers stay
    fresh (a consumer gone is seen at the next question) while one kept channel serves them all."""
    missing = f"h542-missing-{uuid.uuid4().hex[:8]}"
    async with gateway_like(amqp_url) as (connection, _):
        async with serving_probe(amqp_url, probe_methods()):
            assert await rpc_consumers(connection, "rpcprobe") == 1
            opened = probes.channels_opened(connection)
            for _ in range(ROUNDS):
                assert await rpc_consumers(connection, "rpcprobe") == 1
            assert probes.channels_opened(connection) == opened
        assert not await rpc_consumers(connection, "rpcprobe")  # the next question after the consumer left
        assert await rpc_consumers(connection, missing) is None
        assert await rpc_consumers(connection, missing) is None  # the channel the missing queue closed is replaced
        async with serving_probe(amqp_url, probe_methods()):
            assert await rpc_consumers(connection, "rpcprobe") == 1
