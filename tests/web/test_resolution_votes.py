"""A new user's trial (trial 42): a resolution entered on the minutes form with its three vote boxes left empty was
stored as 0/0/0, and the page and minutes PDF said "0 tán thành, 0 không tán thành, 0 không biểu quyết". A resolution
is voted (DOMAIN.md "Meetings"): its votes for are asked for, naming the row's box as the minutes' own adoption does
(h378, "Tán thành: không được để trống."); votes against and abstentions left empty are none, as there."""

import html
from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import signed_in
from tests.web.test_held_outcomes import CELL, OWN, _minutes, _schedule

pytestmark = pytest.mark.e2e


async def test_a_resolution_without_its_votes_for_is_refused_naming_the_box_and_empty_others_read_none(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=3)).replace(second=0, microsecond=0)
    headers = {"Authorization": f"Bearer {province['secretary']}"}
    async with (
        signed_in(system, "secretary") as client,
        httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api,
    ):
        assert (await api.get(f"/v1/cells/{CELL}/members?limit=200")).status_code == 200
        meeting_id, token = await _schedule(system, client, starts, province["secretary"])
        record = f"/app/meetings/{meeting_id}"
        form = _minutes(token, starts, chair=OWN[0], speakers=[OWN[0]])
        form |= {"resolution-1": "Nghị quyết 1", "votes_for-1": "", "votes_against-1": "", "abstentions-1": ""}
        form |= {"resolution-2": "Nghị quyết 2", "votes_against-2": "1"}
        answer = await client.post(f"{record}/minutes", data=form)
        assert answer.status_code == 422, answer.text[-2000:]
        errors = html.unescape(answer.text.split('id="minutes-errors"', 1)[1].split("</div>", 1)[0])
        assert "Tán thành, dòng 1: không được để trống." in errors, errors
        assert "Tán thành, dòng 2: không được để trống." in errors, errors
        assert "Không tán thành" not in errors and "Không biểu quyết" not in errors, errors
        assert not (await api.get(f"/v1/meetings/{meeting_id}")).json().get("minutes")

        form |= {"votes_for-1": "5", "votes_for-2": "4"}
        sent = await client.post(f"{record}/minutes", data=form)
        assert sent.status_code == 303, html.unescape(sent.text)[-2000:]

        async def stored() -> list[dict[str, object]] | None:
            minutes = (await api.get(f"/v1/meetings/{meeting_id}")).json().get("minutes")
            return minutes["resolutions"] if minutes else None

        resolutions = await eventually(stored, timeout=60, interval=0.2)
    assert resolutions == [
        {"text": "Nghị quyết 1", "votes_for": 5, "votes_against": 0, "abstentions": 0},
        {"text": "Nghị quyết 2", "votes_for": 4, "votes_against": 1, "abstentions": 0},
    ]
