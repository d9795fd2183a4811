"""The minutes PDF holds what DOMAIN.md "Meetings" lists for minutes: a trial's PDF left out the minutes of
self-criticism and the cell committee's self-score (and its resolutions' votes are said for each resolution), and
the votes on adopting the minutes themselves (`minutes.approved.v1`'s votes_for, votes_against): it said only that
they were adopted. Before their adoption it says they are not adopted."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from services.gateway.web.i18n import format_moment
from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import cell_members, feed, feed_event, signed_in
from tests.web.test_held_day_corrected import _api, _free_pair, _moment, _roster_and_minutes, _until
from tests.web.test_held_form import record_held, text
from tests.web.test_minutes_pdf_roll_call import CELL, held_meeting, minutes_pdf_text, sample_minutes
from tests.web.test_minutes_prefill import form_fields
from tests.web.test_roster_locked import errors_of

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


async def test_minutes_recorded_afterwards_are_adopted_when_the_form_says_at_the_meetings_end_by_default(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """A trial's meeting held 05/12 19:30–21:10, recorded afterwards and adopted from the form on 07/12, printed
    "được chi bộ thông qua lúc 21:19 thứ Hai, ngày 07/12/2026": the form stamped its sending. Minutes are read and
    adopted at the meeting (DOMAIN.md "Meetings"): the form asks when, the meeting's end until changed, and meetings'
    refusal of a moment before the meeting began is said naming the form's field."""
    async with signed_in(system, "secretary") as client, _api(system, province["secretary"]) as api:
        held_at = await _free_pair(client, province["secretary"])
        meeting_id = await record_held(client, held_at)
        await _roster_and_minutes(client, api, meeting_id, held_at)
        ended = held_at + timedelta(minutes=100)
        page = (await client.get(f"/app/meetings/{meeting_id}/record")).text
        # the record page is one form: the adoption part's inputs, sent by its button (no other part typed)
        adoption = ("csrf", "approved_date", "approved_time", "votes_for", "votes_against")
        drawn = {key: value for key, value in form_fields(page, f"/meetings/{meeting_id}/approval") if key in adoption}
        assert (drawn["approved_date"], drawn["approved_time"]) == (f"{ended:%Y-%m-%d}", f"{ended:%H:%M}"), drawn
        path = f"/app/meetings/{meeting_id}/approval"
        early = drawn | {"approved_time": f"{held_at - timedelta(hours=1):%H:%M}", "votes_for": "2"}
        refused = await client.post(path, data=early)
        assert refused.status_code == 422, text(refused.text)
        said = errors_of(refused.text, "approval")
        assert "Thời điểm thông qua biên bản" in said and "trước khi buổi sinh hoạt bắt đầu" in said, said
        adopted = await client.post(path, data=drawn | {"votes_for": "2", "votes_against": "0"})
        assert adopted.status_code == 303, errors_of(adopted.text, "approval")
        done = await _until(lambda: _stored(api, meeting_id), lambda meeting: meeting.get("approved_at") is not None)
        assert _moment(done["approved_at"]) == ended, done
        page = (await client.get(f"/app/meetings/{meeting_id}/record")).text
        assert "Muốn sửa, đồng chí đề nghị người vận hành hệ thống gửi lại biên bản" in text(page), text(page)
    pdf = await minutes_pdf_text(system, meeting_id)
    assert (
        f"Biên bản đã được đọc lại cho chi bộ nghe và được chi bộ thông qua lúc {format_moment(ended)}"
        " với 2 đồng chí tán thành, 0 đồng chí không tán thành." in pdf
    ), pdf


async def _stored(api: httpx.AsyncClient, meeting_id: str) -> dict[str, Any]:
    """The meeting as the API reads it."""
    return dict((await api.get(f"/v1/meetings/{meeting_id}")).json())
