"""A new user's trial (trial 42): a resolution with its vote boxes left empty was stored as 0/0/0. The API refuses a
resolution without its votes, naming each missing field of its row as the caller sent it."""

import httpx
import pytest

from tests.gateway.bodies import send_command
from tests.gateway.fakes import World
from tests.gateway.test_command_bodies import MINUTES


@pytest.mark.parametrize("missing", ["votes_for", "votes_against", "abstentions"])
async def test_a_resolution_without_a_vote_count_is_refused_naming_it(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, missing: str
) -> None:
    resolution = {"text": "Nghị quyết 1", "votes_for": 5, "votes_against": 0, "abstentions": 0}
    del resolution[missing]
    body = {**MINUTES, "resolutions": [resolution]}
    response = await send_command(client, headers, world, "minutes", body)
    assert response.status_code == 422, response.text
    said = response.json()
    assert said["field"] == f"resolutions.0.{missing}", said
    assert said["message"] == f"resolutions.0.{missing}: Field required", said
