"""The minutes PDF holds what DOMAIN.md "Meetings" lists for minutes: a trial's PDF left out the minutes of
self-criticism and the cell committee's self-score (and its resolutions' votes are said for each resolution), and
the votes on adopting the minutes themselves (`minutes.approved.v1`'s votes_for, votes_against): it said only that
they were adopted. Before their adoption it says they are not adopted."""

import uuid
from datetime import datetime, timedelta

import httpx

from services.gateway.web.i18n import format_moment
from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import cell_members, feed, feed_event
from tests.web.test_minutes_pdf_roll_call import CELL, held_meeting, minutes_pdf_text, sample_minutes

FEED = "urn:test:minutes-pdf-h443"


async def test_the_minutes_pdf_says_the_votes_the_self_criticism_and_the_self_score(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=3)).replace(second=0, microsecond=0)
    meeting_id = f"{CELL}-h443-{uuid.uuid4().hex[:8]}"
    ids = [member["id"] for member in await cell_members(system, province, CELL)]
    records = [{"member_id": member, "status": "present"} for member in ids]
    resolution = {"text": "Nghị quyết làm đường", "votes_for": 9, "votes_against": 3, "abstentions": 2}
    minutes = sample_minutes(meeting_id, starts, ids, self_criticism_minutes=23, resolutions=[resolution])
    await held_meeting(system, province, meeting_id, starts, records, minutes, source=FEED, sub="api-feed-h443")
    headers = {"Authorization": f"Bearer {province['secretary']}"}
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:
        assessed = {"role": "cell_committee", "points": {"conduct.procedure": 4}, "comment": "Đúng quy trình"}
        assert (await api.post(f"/v1/meetings/{meeting_id}/assessments", json=assessed)).status_code == 202

        async def scored() -> bool:
            return bool((await api.get(f"/v1/meetings/{meeting_id}")).json().get("assessments"))

        await eventually(scored, timeout=60, interval=0.5)
    text = await minutes_pdf_text(system, meeting_id)
    assert "Biên bản chưa được chi bộ thông qua." in text and "tán thành, 1 đồng chí" not in text, text

    approved_at = starts + timedelta(minutes=96)
    adopted = {"meeting_id": meeting_id, "approved_at": approved_at.isoformat(), "votes_for": 11, "votes_against": 1}
    await feed(system, [feed_event("minutes.approved.v1", adopted, source=FEED, at=approved_at)], sub="api-feed-h443")
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:

        async def voted() -> bool:  # the meeting read says the adoption's votes (MeetingReply.adoption_votes_*)
            found = (await api.get(f"/v1/meetings/{meeting_id}")).json()
            return (found.get("adoption_votes_for"), found.get("adoption_votes_against")) == (11, 1)

        await eventually(voted, timeout=60, interval=0.5)
    text = await minutes_pdf_text(system, meeting_id)
    assert (
        f"Biên bản đã được đọc lại cho chi bộ nghe và được chi bộ thông qua lúc {format_moment(approved_at)}"
        " với 11 đồng chí tán thành, 1 đồng chí không tán thành." in text
    ), text
    assert "chưa được chi bộ thông qua" not in text, text
    assert "Nghị quyết làm đường — 9 tán thành, 3 không tán thành, 2 không biểu quyết" in text, text
    assert "Thời gian tự phê bình và phê bình: 23 phút." in text, text
    # the self-score out of the applicable manual items' maximum, beside the meeting's score (h514)
    assert "Điểm chi ủy tự chấm (các tiêu chí chấm tay): 4/35 điểm. Nhận xét: Đúng quy trình" in text, text
    assert "Điểm của buổi sinh hoạt: " in text and "/100 điểm, xếp loại " in text, text
