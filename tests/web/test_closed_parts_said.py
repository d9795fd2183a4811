"""Through the running system: a secretary's page still offered the adoption form after the cell's adoption was
recorded in another tab; the votes typed there came back marked "Chưa lưu" beside no form (the page sent by Enter),
or refused with the lock and gone from the page (its own button), never a word of what had been recorded. Now both
say that the adoption was recorded in the meantime, with its votes as recorded, and show the votes typed as text
(secretary.NotApplied), which nothing sends again."""

import html
import re
from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.gateway.test_closed_parts_said import input_names, not_applied
from tests.gateway.test_unsaved_parts_kept import UNSAVED, _multi, browser_sends
from tests.support.system import RunningSystem
from tests.web.conftest import signed_in
from tests.web.test_held_outcomes import CELL, OWN, _minutes, _schedule
from tests.web.test_lock_before_fields import errors_of

pytestmark = pytest.mark.e2e


async def test_votes_typed_after_an_adoption_in_another_tab_are_said_not_marked_unsaved(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=5)).replace(second=0, microsecond=0)
    headers = {"Authorization": f"Bearer {province['secretary']}"}
    async with (
        signed_in(system, "secretary") as client,
        httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api,
    ):
        members = [item["id"] for item in (await api.get(f"/v1/cells/{CELL}/members?limit=200")).json()["items"]]
        meeting_id, token = await _schedule(system, client, starts, province["secretary"])
        record = f"/app/meetings/{meeting_id}"
        roster: dict[str, object] = {"csrf": token, "member": members}
        roster |= {f"status-{member}": "present" for member in members}
        assert (await client.post(f"{record}/attendance", data=roster)).status_code == 303
        saved = await client.post(f"{record}/minutes", data=_minutes(token, starts, chair=OWN[0], speakers=[OWN[0]]))
        assert saved.status_code == 303, errors_of(saved.text, "minutes")
        page = (await client.get(f"{record}/record")).text
        assert "votes_for" in input_names(page)

        # another tab records the adoption first
        other = await client.post(f"{record}/approval", data={"csrf": token, "votes_for": "7", "votes_against": "1"})
        assert other.status_code == 303, errors_of(other.text, "approval")

        typed = {"votes_for": "9", "votes_against": "0"}
        found = {}
        for action in ("/approval", "/record"):
            target, pairs = browser_sends(page, action, typed)
            sent = await client.post(target, data=_multi(pairs))
            said = not_applied(sent.text)
            found[action] = (
                sent.status_code,
                UNSAVED in html.unescape(sent.text),
                "7 tán thành, 1 không tán thành" in said,
                bool(re.search(r"Tán thành 9 Không tán thành 0", said)),
                bool({"votes_for", "votes_against"} & input_names(sent.text)),
            )
        assert found == {"/approval": (422, False, True, True, False), "/record": (200, False, True, True, False)}
