"""GET /v1/cells/{cell_id}/members?at=: the members at a past moment (a meeting's start), whom a secretary's roster
must list since meetings refuses `roster_incomplete`, as the web's record page reads them (reads.cell_members_at)."""

import httpx

from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World


async def test_a_member_who_left_is_listed_at_a_moment_before_and_not_today(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    auth = await token_for("secretary", world.cell_a1, world.secretary_a1)
    path = f"/v1/cells/{world.cell_a1}/members"
    today = await client.get(path, headers=auth)
    assert today.status_code == 200, today.text
    assert world.member_left_a1 not in [item["id"] for item in today.json()["items"]]
    then = await client.get(path, params={"at": "2019-12-31T08:00:00+07:00"}, headers=auth)
    assert then.status_code == 200, then.text
    assert [item["id"] for item in then.json()["items"]] == [world.member_a1, world.member_left_a1]
    assert then.json()["total"] == 2


async def test_a_naive_or_malformed_moment_is_refused_naming_at(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    auth = await token_for("secretary", world.cell_a1, world.secretary_a1)
    for at in ("2019-12-31T08:00:00", "2019-12-31", "yesterday"):
        refused = await client.get(f"/v1/cells/{world.cell_a1}/members", params={"at": at}, headers=auth)
        assert refused.status_code == 422, (at, refused.text)
        assert refused.json()["field"] == "query.at", refused.text
        assert refused.json()["message"].startswith("query.at: "), refused.text
