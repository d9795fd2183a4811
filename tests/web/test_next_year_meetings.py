"""A meeting scheduled in next year's first days is found from its cell's page: its year is offered and shown, and
it is listed among the meetings still ahead whatever the year shown (services/gateway/web/pages/cells.py)."""

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


async def test_a_meeting_next_january_is_offered_shown_and_listed_ahead(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """The fresh-user trial: a meeting on 2027-01-05 scheduled in December was listed nowhere; the year picker
    offered 2026 and 2025 only, and `?year=2027` quietly showed 2026."""
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
        next_page = await client.get(f"/app/cells/{CELL}?year={next_year}")
        beyond = await client.get(f"/app/cells/{CELL}?year={this_year + 2}")
    assert this_page.status_code == 200 and next_page.status_code == 200, next_page.headers.get("location")
    picker = this_page.text.split('id="year"', 1)[1].split("</select>", 1)[0]
    assert f'value="{next_year}"' in picker and f'value="{this_year}"' in picker
    for page in (this_page, next_page):
        ahead = html.unescape(page.text.split('id="ahead"', 1)[1].split("</ul>", 1)[0])
        assert f"/app/meetings/{meeting_id}" in ahead and "Sắp tới" in page.text
    assert f"Năm {next_year}" in next_page.text
    year_list = next_page.text.split('id="meetings"', 1)[1].split("</table>", 1)[0]
    assert f"/app/meetings/{meeting_id}" in year_list
    assert beyond.status_code == 303 and beyond.headers["location"].endswith(f"?year={next_year}")
