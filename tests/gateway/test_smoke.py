from datetime import datetime, timedelta

import httpx

from shared.periods import VIETNAM_TZ
from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World


async def test_member_reads_own_meeting(client: httpx.AsyncClient, token_for: TokenFactory, world: World) -> None:
    headers = await token_for("member", world.cell_a1, world.member_a1)
    response = await client.get(f"/v1/meetings/{world.meeting_a1}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["cell_id"] == world.cell_a1


async def test_a_cancelled_meetings_score_says_it_was_cancelled_not_not_yet(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    """The user trial: the score of a cancelled meeting answered "has no score yet", as if it would get one; a
    cancelled meeting is never scored (DOMAIN.md), and the answer says so, as the web page does."""
    headers = await token_for("member", world.cell_a1, world.member_a1)
    cancelled, waiting = f"{world.cell_a1}-2026-08-cancelled", f"{world.cell_a1}-2026-08-waiting"
    world.meetings[cancelled] = {**world._meeting(cancelled, world.cell_a1), "status": "cancelled"}
    world.meetings[waiting] = {**world._meeting(waiting, world.cell_a1), "status": "scheduled"}
    try:
        response = await client.get(f"/v1/meetings/{cancelled}/score", headers=headers)
        assert response.status_code == 404, response.text
        assert "was cancelled, so it is not scored" in response.text and "no score yet" not in response.text
        # every 404 of the score names the field it is about, as the not-begun one does (a trial's had `field: null`)
        assert response.json()["field"] == "meeting_id", response.text
        response = await client.get(f"/v1/meetings/{waiting}/score", headers=headers)
        assert response.status_code == 404 and "has no score yet" in response.text
        assert response.json()["field"] == "meeting_id", response.text
    finally:
        del world.meetings[cancelled], world.meetings[waiting]


async def test_the_score_of_a_meeting_not_begun_is_not_found_saying_it_has_not_begun(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    """Trial 34: a meeting ahead answered a provisional 21.67 "poor" while the web app says "chưa diễn ra nên chưa
    chấm điểm". A meeting that has not begun is not scored (shared.plausible.meeting_begun): 404 naming
    `meeting_id` with reason_code meeting_not_started, whatever evaluation still holds; a begun one is answered."""
    headers = await token_for("member", world.cell_a1, world.member_a1)
    ahead = f"{world.cell_a1}-2099-01-ahead"
    starts = (datetime.now(VIETNAM_TZ) + timedelta(days=17)).isoformat()
    world.meetings[ahead] = {
        **world._meeting(ahead, world.cell_a1),
        "status": "scheduled",
        "starts_at": starts,
        "attendance": None,
        "minutes": None,
        "approved_at": None,
    }
    try:
        response = await client.get(f"/v1/meetings/{ahead}/score", headers=headers)
        assert response.status_code == 404, response.text
        body = response.json()
        assert (body["field"], body["reason_code"]) == ("meeting_id", "meeting_not_started")
        assert "has not begun" in body["message"] and "not scored" in body["message"]
        response = await client.get(f"/v1/meetings/{world.meeting_a1}/score", headers=headers)
        assert response.status_code == 200 and response.json()["begun"] is True
    finally:
        del world.meetings[ahead]


async def test_a_meeting_just_cancelled_has_no_score_before_evaluation_withdraws_it(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    """A trial's page right after cancelling showed "Điểm: 18,3 — Kém", gone on reload: evaluation had not consumed
    the cancellation yet. Meetings says the meeting is cancelled, so no score is answered whatever evaluation still
    holds (DOMAIN.md: a cancelled meeting is not scored)."""
    headers = await token_for("member", world.cell_a1, world.member_a1)
    cancelled = f"{world.cell_a1}-2026-09-cancelled"
    world.meetings[cancelled] = {**world._meeting(cancelled, world.cell_a1), "status": "cancelled"}
    world.stale_scores.add(cancelled)
    try:
        response = await client.get(f"/v1/meetings/{cancelled}/score", headers=headers)
        assert response.status_code == 404, response.text
        assert "was cancelled, so it is not scored" in response.text
    finally:
        del world.meetings[cancelled]
        world.stale_scores.discard(cancelled)
