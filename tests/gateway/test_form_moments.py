"""The moment a web form's command stamps (published_at, approved_at, a task's day) is its first sending's, kept in
the gateway's database by the command's event id: a resend, even one racing the first, stamps the same moment, so
it is the same event in content too (a new moment under the same id is an `id_reused` rejection). A moment older
than a web session counts as absent at once and goes by a periodic prune, never by a form's sending."""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from services.gateway.bootstrap import GatewayState, keep_pruning_sent
from services.gateway.repository import first_sent_at
from shared.metrics import ROWS_PRUNED
from tests.support.ids import random_id

KEEP = timedelta(hours=12)


async def kept(state: GatewayState, *event_ids: str) -> set[str]:
    """Which of `event_ids` the gateway keeps a moment for."""
    rows = await state.pool.fetch("SELECT event_id FROM web_form_moment WHERE event_id = ANY($1)", list(event_ids))
    return {row["event_id"] for row in rows}


async def test_a_form_sent_again_gets_the_moment_of_its_first_sending(state: GatewayState) -> None:
    event_id = random_id("web")
    first = datetime.now(UTC)
    assert await first_sent_at(state.pool, event_id=event_id, at=first, keep=KEEP) == first
    later = first + timedelta(seconds=3)
    assert await first_sent_at(state.pool, event_id=event_id, at=later, keep=KEEP) == first
    other = random_id("web")
    assert await first_sent_at(state.pool, event_id=other, at=later, keep=KEEP) == later


async def test_a_double_click_racing_the_first_sending_gets_the_same_moment(state: GatewayState) -> None:
    event_id = random_id("web")
    start = datetime.now(UTC)
    moments = [start + timedelta(seconds=second) for second in range(6)]
    stamped = await asyncio.gather(*(first_sent_at(state.pool, event_id=event_id, at=at, keep=KEEP) for at in moments))
    assert len(set(stamped)) == 1 and stamped[0] in moments


async def test_a_form_first_sent_deletes_no_other_forms_moment(state: GatewayState) -> None:
    old, new = random_id("web"), random_id("web")
    now = datetime.now(UTC)
    await first_sent_at(state.pool, event_id=old, at=now - KEEP - timedelta(hours=1), keep=KEEP)
    assert await first_sent_at(state.pool, event_id=new, at=now, keep=KEEP) == now
    assert await kept(state, old, new) == {old, new}  # the expired one is left to the prune


async def test_a_moment_older_than_a_session_counts_as_absent_before_the_prune(state: GatewayState) -> None:
    event_id = random_id("web")
    now = datetime.now(UTC)
    long_ago = now - KEEP - timedelta(minutes=1)
    assert await first_sent_at(state.pool, event_id=event_id, at=long_ago, keep=KEEP) == long_ago
    # the row is still there (nothing pruned it), but past a session the form's sending is a first one again
    assert await first_sent_at(state.pool, event_id=event_id, at=now, keep=KEEP) == now
    assert await state.pool.fetchval("SELECT sent_at FROM web_form_moment WHERE event_id = $1", event_id) == now
    assert await first_sent_at(state.pool, event_id=event_id, at=now + timedelta(seconds=2), keep=KEEP) == now


async def test_the_prune_deletes_the_moments_older_than_a_session_only(state: GatewayState) -> None:
    session = timedelta(hours=state.settings.web_session_hours)
    expired, fresh = random_id("web"), random_id("web")
    now = datetime.now(UTC)
    await first_sent_at(state.pool, event_id=expired, at=now - session - timedelta(minutes=5), keep=session)
    await first_sent_at(state.pool, event_id=fresh, at=now - session + timedelta(minutes=5), keep=session)
    counted = ROWS_PRUNED.labels("gateway", "web_form_moment")._value.get()
    task = asyncio.create_task(keep_pruning_sent(state.pool, "web_form_moment", hours=state.settings.web_session_hours))
    try:
        for _ in range(200):  # the first batch runs at once
            if await kept(state, expired, fresh) != {expired, fresh}:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert await kept(state, expired, fresh) == {fresh}
    assert ROWS_PRUNED.labels("gateway", "web_form_moment")._value.get() > counted
    assert await state.pool.fetchval("SELECT count(*) FROM web_form_moment WHERE sent_at < $1", now - session) == 0
