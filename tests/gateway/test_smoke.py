import httpx

from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World


async def test_member_reads_own_meeting(client: httpx.AsyncClient, token_for: TokenFactory, world: World) -> None:
    headers = await token_for("member", world.cell_a1, world.member_a1)
    response = await client.get(f"/v1/meetings/{world.meeting_a1}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["cell_id"] == world.cell_a1
