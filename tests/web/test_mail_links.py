"""A trial: no alert mail named a page to open. With the gateway's address known to notifications
(CHIBO_PUBLIC_BASE_URL), a member's mail of a newly scheduled meeting names the meeting's page, kept by the SMTP sink,
and that page answers 200 for the member once signed in."""

import email
import email.message
import re
import uuid
from datetime import datetime, timedelta

import pytest

from deploy.mailsink import envelope_recipients
from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import extraordinary_meeting, feed, feed_event, signed_in

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"
MEMBER_ADDRESS = "demo-cb-thon-1-dv05@demo.vn"
"""The demo member `member` signs in as (tests.web.conftest.PEOPLE), at the address the demo gives them."""


def mails_about(system: RunningSystem, address: str, meeting_id: str) -> list[email.message.Message]:
    """The mails the sink kept for `address` (in To or only in the envelope) about the meeting."""
    found = []
    for path in system.mail_dir.glob("*.eml"):
        raw = path.read_bytes()
        message = email.message_from_bytes(raw)
        payload = message.get_payload(decode=True)
        text = payload.decode() if isinstance(payload, bytes) else ""
        if (address in (message.get("To") or "") or address in envelope_recipients(raw)) and meeting_id in text:
            found.append(message)
    return found


async def test_a_members_mail_names_the_meetings_page_which_opens_for_them(
    system: RunningSystem, province: dict[str, str]
) -> None:
    meeting_id = f"{CELL}-link-{uuid.uuid4().hex[:8]}"
    starts = (datetime.now(VIETNAM_TZ) + timedelta(days=20)).replace(hour=19, minute=30, second=0, microsecond=0)
    scheduled = extraordinary_meeting(meeting_id, CELL, starts, "Bàn việc đường thôn")
    await feed(system, [feed_event("meeting.scheduled.v1", scheduled, source="urn:test:mail-links")], sub="api-links")
    found = await eventually(lambda: mails_about(system, MEMBER_ADDRESS, meeting_id), timeout=120, interval=0.5)
    payload = found[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    link = re.search(r"Xem chi tiết trên hệ thống tại: (\S+)", payload.decode())
    assert link, payload.decode()
    assert link[1] == f"{system.gateway_url}/app/meetings/{meeting_id}"
    async with signed_in(system, "member") as member:
        page = await member.get(link[1])
    assert page.status_code == 200, page.text[:500]
    assert "Bàn việc đường thôn" in page.text
