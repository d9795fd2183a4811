"""The gateway's Idempotency-Keys go by a periodic prune, not by the commands: a command sent with a key deletes no
other account's or key's row (it ran a DELETE of the expired keys on every key's first use), a key first sent longer
ago than CHIBO_IDEMPOTENCY_KEY_HOURS counts as unused before the prune has run, and the prune deletes such rows in
batches, counted in chibo_rows_pruned_total."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx

from services.gateway.bootstrap import GatewayState, keep_pruning_sent
from services.gateway.repository import use_idempotency_key
from shared.metrics import ROWS_PRUNED
from tests.gateway.fakes import World
from tests.gateway.test_idempotency_keys import keyed, schedule_body
from tests.support.ids import random_id


async def kept(state: GatewayState, sub: str) -> set[str]:
    """The keys the gateway keeps for the account `sub`."""
    rows = await state.pool.fetch("SELECT key FROM idempotency_key WHERE sub = $1", sub)
    return {row["key"] for row in rows}


async def key_sent(state: GatewayState, sub: str, key: str, fingerprint: str, at: datetime) -> bool:
    """Use `key` of the account `sub` for the request `fingerprint` at `at`: whether it was the key's first use."""
    hours = timedelta(hours=state.settings.idempotency_key_hours)
    used = await use_idempotency_key(
        state.pool, sub=sub, key=key, fingerprint=fingerprint, event_id=random_id("evt"), at=at, keep=hours
    )
    return used.first


@contextlib.asynccontextmanager
async def pruning(state: GatewayState) -> AsyncIterator[None]:
    """The gateway's prune of its keys as its lifespan runs it (the first batch at once, then hourly)."""
    task = asyncio.create_task(
        keep_pruning_sent(state.pool, "idempotency_key", hours=state.settings.idempotency_key_hours)
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until_kept(state: GatewayState, sub: str, keys: set[str]) -> None:
    """Wait (10 s at most) until the account `sub` has exactly `keys` kept."""
    for _ in range(200):
        if await kept(state, sub) == keys:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{sub} keeps {sorted(await kept(state, sub))}, not {sorted(keys)}")


async def test_a_command_with_a_key_deletes_no_other_row_and_the_prune_deletes_the_expired_ones(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, state: GatewayState
) -> None:
    now = datetime.now(UTC)
    hours = timedelta(hours=state.settings.idempotency_key_hours)
    sub = random_id("other-account")
    await key_sent(state, sub, "expired", "a", now - hours - timedelta(minutes=5))
    await key_sent(state, sub, "fresh", "b", now - hours + timedelta(minutes=5))

    key = str(uuid.uuid4())
    sent = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings",
        json=schedule_body(random_id("place")),
        headers=keyed(headers["secretary"], key),
    )
    assert sent.status_code == 202 and sent.json()["outcome"] == "accepted", sent.text
    assert await state.pool.fetchval("SELECT count(*) FROM idempotency_key WHERE key = $1", key) == 1
    assert await kept(state, sub) == {"expired", "fresh"}  # the command deleted nothing of another account

    counted = ROWS_PRUNED.labels("gateway", "idempotency_key")._value.get()
    async with pruning(state):
        await until_kept(state, sub, {"fresh"})
    assert ROWS_PRUNED.labels("gateway", "idempotency_key")._value.get() > counted
    assert await state.pool.fetchval("SELECT count(*) FROM idempotency_key WHERE sent_at < $1", now - hours) == 0


async def test_a_key_older_than_the_hours_counts_as_unused_before_the_prune(state: GatewayState) -> None:
    now = datetime.now(UTC)
    hours = timedelta(hours=state.settings.idempotency_key_hours)
    sub = random_id("account")
    assert await key_sent(state, sub, "k", "first request", now - hours - timedelta(minutes=1))
    # within the hours the key is the first request's: another one is not its first use
    assert not await key_sent(state, sub, "k", "another request", now - hours + timedelta(minutes=1))
    # past them it is unused: another request takes it, and is then the one kept
    assert await key_sent(state, sub, "k", "another request", now)
    row = await state.pool.fetchrow("SELECT fingerprint, sent_at FROM idempotency_key WHERE sub = $1", sub)
    assert (row["fingerprint"], row["sent_at"]) == ("another request", now)
    assert not await key_sent(state, sub, "k", "a third request", now + timedelta(seconds=1))
