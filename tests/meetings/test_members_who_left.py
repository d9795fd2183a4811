"""A member who leaves keeps their name for history, and a period's members are everyone who was one during it.

A new user's trial removed a demo member (member.removed.v1, effective today): the November meeting's page showed
the raw id in its roster and among its speakers, and the cell's yearly evidence left the member out although they
attended 12 meetings that year (DOMAIN.md: evidence per member). ListMembersAfter at a past moment lists them with
the day they left (`left_on`); with `since`, everyone the snapshots put in the cell from `since` to `at`.

Over meetings' own database and RPC methods.
"""

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from services.meetings import rpc as meetings_rpc
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from shared.contracts import meetings_rpc as rpc
from shared.envelope import now
from shared.periods import VIETNAM_TZ, local_date
from tests.meetings import events as ev
from tests.meetings.test_votes_and_roster_facts import accept
from tests.support.ids import random_id


async def listed(pool: asyncpg.Pool, cell: str, **moments: datetime) -> dict[str, Any]:
    """The cell's members ListMembersAfter answers at `moments` (at, since), by id."""
    app = meetings_context(Settings(), pool)
    reply = await meetings_rpc.list_members_after(rpc.ListMembersAfter(cell_id=cell, **moments), app)
    return {item["id"]: item for item in reply["items"]}


async def test_a_member_who_left_is_listed_for_past_moments_and_periods_with_the_day_they_left(
    uow_factory: Any, meetings_pool: asyncpg.Pool
) -> None:
    today = local_date(now())
    cell, other, kept, gone, moved = random_id("cell"), random_id("cell"), *(random_id("mem") for _ in range(3))
    year_start = datetime(today.year - 1, 1, 1, tzinfo=VIETNAM_TZ)
    loaded = year_start - timedelta(days=30)
    await accept(
        uow_factory,
        [ev.unit(cell, time=loaded), ev.unit(other, time=loaded)]
        + [ev.member(member, cell, time=loaded) for member in (kept, gone, moved)]
        + [
            ev.raw_event(
                "member.removed.v1",
                {"id": gone, "reason": "transferred", "effective_on": today.isoformat()},
                time=now() - timedelta(minutes=5),
            ),
            # moved to another cell in March of last year
            ev.member(moved, other, time=year_start + timedelta(days=70)),
        ],
    )
    # today: the member who left is not listed
    assert set(await listed(meetings_pool, cell)) == {kept}
    # at a meeting of last month: listed, named, with the day they left
    then = await listed(meetings_pool, cell, at=now() - timedelta(days=30))
    assert set(then) == {kept, gone}
    assert then[gone]["full_name"] == f"Nguyễn Văn {gone[-4:]}"
    assert (then[gone]["left_on"], then[kept]["left_on"]) == (today, None)
    # last year's members: the one who moved away in March too
    year = await listed(meetings_pool, cell, since=year_start, at=datetime(today.year, 1, 1, tzinfo=VIETNAM_TZ))
    assert set(year) == {kept, gone, moved}
    assert set(await listed(meetings_pool, cell, at=datetime(today.year, 1, 1, tzinfo=VIETNAM_TZ))) == {kept, gone}
