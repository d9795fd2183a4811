"""free_start, the web tests' pick of a start free of thôn 1's other meetings, judged as the product's same-time
check judges (commands.meetings_at_same_start): within the hour across a month's edge too. A candidate at 23:40 on a
month's last day was taken as free beside a meeting at 00:20 on the next month's first, as the helper listed only the
candidate's own month, and the form it was sent on would ask whether the two are the same meeting."""

from datetime import datetime

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.web.conftest import free_start

OTHER = "2027-04-01T00:20:00+07:00"
"""Another meeting of the cell, listed only under its own month, 2027-04."""


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """That moment in Vietnam."""
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM_TZ)


def listing(request: httpx.Request) -> httpx.Response:
    """The meetings API's answer for the cell: OTHER under 2027-04, nothing in any other month."""
    items = [{"starts_at": OTHER}] if request.url.params["period"] == "2027-04" else []
    return httpx.Response(200, json={"items": items})


@pytest.mark.parametrize(
    ("candidates", "chosen"),
    [
        # the month's last evening: within the hour of the next month's first meeting, so the later candidate
        ([at(2027, 3, 31, 23, 40), at(2027, 3, 31, 21, 0)], at(2027, 3, 31, 21, 0)),
        # the next month's first minutes: within the hour of the same meeting, listed under that month already
        ([at(2027, 4, 1, 0, 5), at(2027, 4, 1, 8, 0)], at(2027, 4, 1, 8, 0)),
        # more than an hour before it on the last day: free
        ([at(2027, 3, 31, 23, 15)], at(2027, 3, 31, 23, 15)),
    ],
)
async def test_a_start_within_the_hour_of_a_meeting_across_the_months_edge_is_not_free(
    candidates: list[datetime], chosen: datetime
) -> None:
    transport = httpx.MockTransport(listing)
    async with httpx.AsyncClient(base_url="http://gateway", transport=transport) as client:
        found = await free_start(client, "token", "demo-cb-thon-1", candidates)
    assert found == chosen
