"""A loop stops when cancelled even when a library swallowed the cancel.

CI (stop 46): test_lost_bindings' keeper of bindings, cancelled while its exchange was deleted, ran on for 300 s:
aio-pika and aiormq, when the broker closes a channel at the moment of the cancel, return normally or raise a channel
error instead of CancelledError, and a loop that only stops on CancelledError went on (a service's shutdown would
wait for it as long). Every long-running loop checks, after each round, whether its task was asked to stop
(shared.background.raise_if_cancelling): poll (every periodic job, the bindings keeper), the heartbeat, the outbox
relay. Real PostgreSQL and RabbitMQ for the relay (the probe schema of test_messaging).
"""

import asyncio
from typing import Any

import asyncpg
import pytest

from shared.background import poll
from shared.instances import InstanceIdentity, keep_reporting
from shared.outbox import OutboxRelay
from tests.shared.conftest import SCHEMA


class Swallowing:
    """A round that, cancelled while it waits, swallows the cancel (`returns`) or turns it into a channel error."""

    def __init__(self, *, returns: bool) -> None:
        self.returns = returns
        self.entered = asyncio.Event()

    async def __call__(self) -> Any:
        self.entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if not self.returns:
                raise RuntimeError("channel closed by the broker") from None
        return False


async def _stops_when_cancelled(task: "asyncio.Task[Any]", entered: asyncio.Event) -> None:
    await asyncio.wait_for(entered.wait(), timeout=30)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=10)
    if not done:
        task.cancel()  # once more: not left running into later tests whatever the outcome
        await asyncio.gather(task, return_exceptions=True)
        raise AssertionError("the loop ran on after its cancel (a library swallowed it)")
    assert task.cancelled()


@pytest.mark.parametrize("returns", [True, False], ids=["swallowed", "turned-into-an-error"])
async def test_poll_stops_when_its_step_swallowed_the_cancel(returns: bool) -> None:
    step = Swallowing(returns=returns)
    job = asyncio.create_task(poll("test.swallowing", step, poll_seconds=0.01))
    await _stops_when_cancelled(job, step.entered)


@pytest.mark.parametrize("returns", [True, False], ids=["swallowed", "turned-into-an-error"])
async def test_the_heartbeat_stops_when_its_round_swallowed_the_cancel(returns: bool) -> None:
    summary = Swallowing(returns=returns)

    async def never_connected() -> Any:
        raise AssertionError("not reached: the summary comes first")

    job = asyncio.create_task(
        keep_reporting(never_connected, InstanceIdentity("probe-cancel"), summary, every_seconds=0.01)
    )
    await _stops_when_cancelled(job, summary.entered)


@pytest.mark.parametrize("returns", [True, False], ids=["swallowed", "turned-into-an-error"])
async def test_the_outbox_relay_stops_when_its_round_swallowed_the_cancel(
    pool: asyncpg.Pool, amqp_url: str, returns: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay = OutboxRelay(pool=pool, schema=SCHEMA, amqp_url=amqp_url, poll_seconds=0.01)
    publish = Swallowing(returns=returns)

    async def publish_pending(*_: Any, **__: Any) -> int:
        await publish()
        return 0

    monkeypatch.setattr(relay, "publish_pending", publish_pending)
    job = asyncio.create_task(relay.run())
    await _stops_when_cancelled(job, publish.entered)
