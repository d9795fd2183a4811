"""An integration's roster may carry a reason on an absence without leave (CONTRACT.md takes it as sent), but the
minutes PDF printed "Tên: Vắng không lý do (Ốm)", contradicting itself: DOMAIN.md gives reasons to excused absences
only, so the PDF and the meeting page show no reason for an unexcused absence, and still an excused one's."""

import re
import uuid
from datetime import datetime, timedelta

from services.gateway.web.i18n import label
from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import cell_members, signed_in
from tests.web.test_minutes_pdf_roll_call import CELL, held_meeting, minutes_pdf_text, sample_minutes


async def test_an_unexcused_absence_is_shown_without_the_reason_an_integration_sent(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=3)).replace(second=0, microsecond=0)
    meeting_id = f"{CELL}-h459-{uuid.uuid4().hex[:8]}"
    members = await cell_members(system, province, CELL)
    ids = [member["id"] for member in members]
    truant, away = ids[-1], ids[-2]
    reasons = {truant: ("absent", "Đi chơi xa"), away: ("excused", "Đi công tác tỉnh")}
    records = [
        {"member_id": m, "status": reasons[m][0], "reason": reasons[m][1]}
        if m in reasons
        else {"member_id": m, "status": "present"}
        for m in ids
    ]
    minutes = sample_minutes(meeting_id, starts, ids)
    await held_meeting(
        system, province, meeting_id, starts, records, minutes, source="urn:test:h459", sub="api-feed-h459"
    )
    named = {member["id"]: member["full_name"] for member in members}
    text = await minutes_pdf_text(system, meeting_id)
    assert f"- {named[away]}: {label('attendance', 'excused')} (Đi công tác tỉnh)" in text, text
    assert f"- {named[truant]}: {label('attendance', 'absent')}" in text, text
    assert "Đi chơi xa" not in text, text
    async with signed_in(system, "secretary") as secretary:
        page = (await secretary.get(f"/app/meetings/{meeting_id}")).text
    roster = re.search(r'<table id="roster">(.*?)</table>', page, re.S)
    assert roster, page
    assert "Đi công tác tỉnh" in roster[1] and "Đi chơi xa" not in roster[1], roster[1]
