"""A meeting scheduled in next year's first days is found from its cell's page, listed among the meetings still ahead
whatever the year shown; the year picker offers no year after this one, and a year outside the cell's years is a page
naming it, never another year shown in its place (services/gateway/web/pages/cells.py)."""

import html
import uuid
from datetime import datetime

import httpx

from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import feed, feed_event, signed_in

CELL = "demo-cb-tram-yte"  # a cell whose years and meetings no other web test reads
FEED = "urn:test:next-year"


async def test_a_meeting_next_january_is_listed_ahead_and_next_year_is_not_offered(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """The fresh-user trial: a meeting on 2027-01-05 scheduled in December was listed nowhere, and `?year=2027`
    quietly showed 2026; a later trial in December was offered 2027, which had nothing, and `?year=1999` showed
    2025. The meeting is listed ahead; 2027 is the 422 page "Chưa đến kỳ" and 1999 the 422 page of a period outside
    those there are, as a committee's `?period=` and the API answer them (h243: next year was a 404 here alone)."""
    this_year = datetime.now(VIETNAM_TZ).year
    next_year = str(this_year + 1)
    starts = datetime(this_year + 1, 1, 5, 19, 30, tzinfo=VIETNAM_TZ)
    meeting_id = f"{CELL}-next-year-{uuid.uuid4().hex[:8]}"
    scheduled = {
        "meeting_id": meeting_id,
        "cell_id": CELL,
        "kind": "regular",
        "starts_at": starts.isoformat(),
        "location": "Nhà văn hóa thôn 2",
        "agenda": ["Triển khai nhiệm vụ năm mới"],
    }
    await feed(system, [feed_event("meeting.scheduled.v1", scheduled, source=FEED)], sub="api-feed-next-year")
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:

        async def listed() -> bool:
            found = await api.get(
                f"/v1/meetings/{meeting_id}", headers={"Authorization": f"Bearer {province['officer']}"}
            )
            return found.status_code == 200

        await eventually(listed, timeout=60, interval=0.5)
    async with signed_in(system, "officer") as client:
        this_page = await client.get(f"/app/cells/{CELL}")
        outside = {year: await client.get(f"/app/cells/{CELL}?year={year}") for year in (next_year, "1999")}
    assert this_page.status_code == 200
    picker = this_page.text.split('id="year"', 1)[1].split("</select>", 1)[0]
    assert f'value="{next_year}"' not in picker and f'value="{this_year}"' in picker
    ahead = html.unescape(this_page.text.split('id="ahead"', 1)[1].split("</ul>", 1)[0])
    assert f"/app/meetings/{meeting_id}" in ahead and "Sắp tới" in this_page.text
    for year, page in outside.items():
        assert page.status_code == 422, (year, page.status_code, page.headers.get("location"))
    assert "Chưa đến kỳ" in html.unescape(outside[next_year].text), outside[next_year].text[-1500:]
    assert "“1999”" in html.unescape(outside["1999"].text), outside["1999"].text[-1500:]
