"""The score API says when the gate lowered a meeting's rating (the user trial: 95,8 rated Khá, nothing said why):
`gate` {applied, items_short, rating_by_points}, judged from the score's items and its framework's gates."""

from typing import Any

import httpx
import pytest

from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World
from tests.support.ids import random_id
from tests.web import gate_cases

CASES = [
    (gate_cases.attendance_short, {"applied": True, "items_short": ["attendance"], "rating_by_points": "good"}),
    (gate_cases.gate_items_full, {"applied": False, "items_short": [], "rating_by_points": "good"}),
    (gate_cases.fair_by_points, {"applied": False, "items_short": [], "rating_by_points": "fair"}),
]


@pytest.mark.parametrize(("case", "gate"), CASES, ids=[case.__name__ for case, _ in CASES])
async def test_the_score_says_whether_the_gate_lowered_the_rating(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World, case: Any, gate: dict[str, Any]
) -> None:
    headers = await token_for("member", world.cell_a1, world.member_a1)
    framework_id, meeting_id = random_id("fw-gated"), f"{world.cell_a1}-{random_id('gated')}"
    world.frameworks[framework_id] = gate_cases.document() | {"id": framework_id}
    world.meetings[meeting_id] = world._meeting(meeting_id, world.cell_a1)
    score = case() | {"meeting_id": meeting_id, "cell_id": world.cell_a1}
    world.scores[meeting_id] = score | {"framework": {"id": framework_id, "version": "1"}}
    try:
        response = await client.get(f"/v1/meetings/{meeting_id}/score", headers=headers)
        assert response.status_code == 200, response.text
        assert (response.json()["rating"], response.json()["gate"]) == (score["rating"], gate)
    finally:
        del world.meetings[meeting_id], world.scores[meeting_id], world.frameworks[framework_id]
