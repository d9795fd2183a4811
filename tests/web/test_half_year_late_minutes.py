"""A half-year's late-minutes list (services/gateway/web/data.late_minutes): its two quarters as one list, paged, in
the order a year's list has them, the longest overdue first (a trial's 2026-H1 page listed April before January)."""

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.web import data
from shared.contracts.notifications_rpc import LateMinutesReply, ListLateMinutes
from shared.periods import VIETNAM_TZ
from shared.rpc import Page

pytestmark = pytest.mark.asyncio


def late(quarter: str, count: int) -> list[LateMinutesReply]:
    """`count` late meetings of `quarter`, the longest overdue first, as notifications lists them."""
    month = {"2026-Q1": 1, "2026-Q2": 4}[quarter]
    first = datetime(2026, month, 1, 19, 30, tzinfo=VIETNAM_TZ)
    return [
        LateMinutesReply(
            meeting_id=f"{quarter}-m{n:02d}",
            cell_id=f"cell-{n}",
            starts_at=first + timedelta(hours=n),
            due_at=first + timedelta(days=5, hours=n),
            missing=["minutes_submitted"],
        )
        for n in range(count)
    ]


class Notifications:
    """Notifications' ListLateMinutes over the quarters' lists, paged as the service pages them."""

    def __init__(self, lists: dict[str, list[LateMinutesReply]]) -> None:
        self.lists = lists

    async def call(self, asked: ListLateMinutes) -> Page[LateMinutesReply]:
        rows = self.lists[asked.period]
        return Page[LateMinutesReply](
            items=rows[asked.offset : asked.offset + asked.limit],
            total=len(rows),
            limit=asked.limit,
            offset=asked.offset,
        )


async def test_a_half_year_lists_its_first_quarter_first_and_pages_across_the_quarters() -> None:
    lists = {"2026-Q1": late("2026-Q1", 30), "2026-Q2": late("2026-Q2", 40)}
    state: Any = SimpleNamespace(rpc=Notifications(lists))
    everything = [*lists["2026-Q1"], *lists["2026-Q2"]]
    seen: list[str] = []
    for offset in range(0, 70, data.LATE_MINUTES_SHOWN):
        page = await data.late_minutes(state, "tinh", "2026-H1", offset=offset)
        assert page.total == 70 and page.offset == offset
        seen.extend(item.meeting_id for item in page.items)
    assert seen == [item.meeting_id for item in everything]
    assert seen[0] == "2026-Q1-m00" and seen[29:31] == ["2026-Q1-m29", "2026-Q2-m00"]
