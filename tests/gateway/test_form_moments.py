"""The moment a web form's command stamps (published_at, approved_at, a task's day) is its first sending's, kept in
the gateway's database by the command's event id: a resend, even one racing the first, stamps the same moment, so
it is the same event in content too (a new moment under the same id is an `id_reused` rejection)."""

import asyncio
from datetime import UTC, datetime, timedelta

from services.gateway.bootstrap import GatewayState
from services.gateway.repository import first_sent_at
from tests.support.ids import random_id

KEEP = timedelta(hours=12)


async def test_a_form_sent_again_gets_the_moment_of_its_first_sending(state: GatewayState) -> None:
    event_id = random_id("web")
    first = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)
    assert await first_sent_at(state.pool, event_id=event_id, at=first, keep=KEEP) == first
    later = first + timedelta(seconds=3)
    assert await first_sent_at(state.pool, event_id=event_id, at=later, keep=KEEP) == first
    other = random_id("web")
    assert await first_sent_at(state.pool, event_id=other, at=later, keep=KEEP) == later


async def test_a_double_click_racing_the_first_sending_gets_the_same_moment(state: GatewayState) -> None:
    event_id = random_id("web")
    moments = [datetime(2026, 12, 1, 9, 30, second, tzinfo=UTC) for second in range(6)]
    stamped = await asyncio.gather(*(first_sent_at(state.pool, event_id=event_id, at=at, keep=KEEP) for at in moments))
    assert len(set(stamped)) == 1 and stamped[0] in moments


async def test_moments_older_than_a_session_are_purged_as_new_forms_come(state: GatewayState) -> None:
    old, new = random_id("web"), random_id("web")
    long_ago = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    await first_sent_at(state.pool, event_id=old, at=long_ago, keep=KEEP)
    await first_sent_at(state.pool, event_id=new, at=long_ago + KEEP + timedelta(minutes=1), keep=KEEP)
    kept = await state.pool.fetch("SELECT event_id FROM web_form_moment WHERE event_id = ANY($1)", [old, new])
    assert [row["event_id"] for row in kept] == [new]
