"""An adoption stands for the text stored when it was adopted (shared.minutes).

A new user's trial: the secretary adopted the minutes of a held meeting, and 25 seconds later an integration sent
minutes.submitted.v1 with other conclusions. They were stored as the minutes, yet the meeting stayed
`minutes_approved` and its page said the minutes were adopted, over a text nobody adopted: a 15-minute clock
allowance counted minutes issued within it as the adopted ones. Another text stored after the adoption voids it,
however soon and in either arrival order; the same text sent again leaves it standing.

Over the real repository and queries (meetings' own database).
"""

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.meetings import queries
from shared.envelope import GATEWAY_SOURCE, now
from tests.meetings import events as ev
from tests.meetings.test_votes_and_roster_facts import accept, cell_of_three

FEED = "urn:test:feed"


def minutes(meeting: str, chair: str, start: datetime, conclusions: str, **kw: Any) -> dict[str, Any]:
    """minutes.submitted.v1 of `meeting` saying `conclusions`."""
    return ev.minutes(meeting, chair_id=chair, started_at=start, data={"conclusions": conclusions}, **kw)


async def read(pool: asyncpg.Pool, meeting: str) -> tuple[str, Any, Any, str | None]:
    """(status, approved_at, adoption_voided_at, conclusions) of the meeting as its page reads it."""
    async with pool.acquire() as conn:
        found = await queries.get_meeting(conn, meeting)
    assert found is not None
    conclusions = (found["minutes"] or {}).get("conclusions")
    return found["status"], found["approved_at"], found["adoption_voided_at"], conclusions


@pytest.mark.parametrize("order", ["adoption_first", "change_first"])
@pytest.mark.parametrize("changed", [True, False])
async def test_minutes_sent_25_seconds_after_the_adoption_void_it_when_they_say_something_else(
    uow_factory: Any, meetings_pool: asyncpg.Pool, order: str, changed: bool
) -> None:
    sent = now().replace(microsecond=0) - timedelta(minutes=5)
    start = sent - timedelta(hours=3)
    members, meeting = await cell_of_three(uow_factory, starts_at=start, present=True)
    adopted_at = sent
    adopted_text = "Kết luận đã thông qua"
    first = minutes(meeting, members[0], start, adopted_text, source=GATEWAY_SOURCE, time=sent - timedelta(minutes=20))
    adoption = ev.raw_event(
        "minutes.approved.v1",
        {"meeting_id": meeting, "approved_at": adopted_at.isoformat(), "votes_for": 3},
        source=GATEWAY_SOURCE,
        time=adopted_at,
    )
    text = "Kết luận khác, không ai thông qua" if changed else "Kết luận đã thông qua"
    later = minutes(meeting, members[0], start, text, source=FEED, time=adopted_at + timedelta(seconds=25))
    await accept(uow_factory, [first])
    for event in [adoption, later] if order == "adoption_first" else [later, adoption]:
        await accept(uow_factory, [event])
    async with uow_factory() as uow:
        state = await uow.meetings.get_state(meeting)
    assert state is not None
    status, approved_at, voided_at, conclusions = await read(meetings_pool, meeting)
    assert conclusions == text
    if changed:
        assert (status, approved_at, voided_at, state.adopted) == ("minutes_submitted", None, adopted_at, False)
    else:
        assert (status, approved_at, voided_at, state.adopted) == ("minutes_approved", adopted_at, None, True)


async def test_an_older_text_arriving_after_the_adoption_leaves_it_standing(
    uow_factory: Any, meetings_pool: asyncpg.Pool
) -> None:
    """Minutes issued before the adopted ones, arriving last, replace nothing (the newest `time` wins)."""
    sent = now().replace(microsecond=0) - timedelta(minutes=5)
    start = sent - timedelta(hours=3)
    members, meeting = await cell_of_three(uow_factory, starts_at=start, present=True)
    adopted = minutes(meeting, members[0], start, "Bản thông qua", source=FEED, time=sent - timedelta(minutes=10))
    adoption = ev.raw_event(
        "minutes.approved.v1", {"meeting_id": meeting, "approved_at": sent.isoformat()}, source=FEED, time=sent
    )
    older = minutes(meeting, members[0], start, "Bản nháp cũ", source=FEED, time=sent - timedelta(minutes=30))
    for event in (adopted, adoption, older):
        await accept(uow_factory, [event])
    assert await read(meetings_pool, meeting) == ("minutes_approved", sent, None, "Bản thông qua")
