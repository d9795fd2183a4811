"""GET /v1/cells/{cell_id}/members?cursor=: a cell's members page by page in id order, each page read by its own rows
(ListMembersAfter), for a client reading a large cell whole; `offset` pages by name as before."""

import httpx

from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World


async def walk(client: httpx.AsyncClient, path: str, auth: dict[str, str], **params: str) -> list[str]:
    """The member ids of every page from `?cursor=` on, following `next` until it is null."""
    ids: list[str] = []
    cursor = ""
    for _ in range(20):
        reply = await client.get(path, params={"limit": "1", "cursor": cursor, **params}, headers=auth)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert set(body) == {"items", "limit", "next"} and body["limit"] == 1, body
        ids += [item["id"] for item in body["items"]]
        if body["next"] is None:
            return ids
        cursor = body["next"]
    raise AssertionError(f"no last page: {ids}")


async def test_a_cursor_reads_the_whole_list_in_id_order_today_and_at_a_moment(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    auth = await token_for("secretary", world.cell_a1, world.secretary_a1)
    path = f"/v1/cells/{world.cell_a1}/members"
    today = (await client.get(path, params={"limit": "200"}, headers=auth)).json()
    assert await walk(client, path, auth) == sorted(item["id"] for item in today["items"])
    at = "2019-12-31T08:00:00+07:00"
    then = (await client.get(path, params={"limit": "200", "at": at}, headers=auth)).json()
    assert world.member_left_a1 in [item["id"] for item in then["items"]]
    # the moment rides in the cursor: pages after the first need not repeat it
    assert await walk(client, path, auth, at=at) == sorted(item["id"] for item in then["items"])


async def test_a_cursor_not_given_by_the_list_or_beside_an_offset_is_refused_naming_cursor(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    auth = await token_for("secretary", world.cell_a1, world.secretary_a1)
    path = f"/v1/cells/{world.cell_a1}/members"
    at = "2019-12-31T08:00:00+07:00"  # two members then: a first page of one has a next
    first = await client.get(path, params={"limit": "1", "cursor": "", "at": at}, headers=auth)
    following = first.json()["next"]
    assert following, first.text
    for params in (
        {"cursor": "not a cursor"},
        {"cursor": "e30"},  # {} : no member id in it
        {"cursor": "eyJhZnRlciI6IiIsImF0IjoiMjAxOS0xMi0zMVQwODowMDowMCJ9"},  # a naive moment
        {"cursor": "", "offset": "1"},
        {"cursor": following, "at": "2019-12-31T09:00:00+07:00"},
    ):
        refused = await client.get(path, params=params, headers=auth)
        assert refused.status_code == 422, (params, refused.text)
        assert refused.json()["field"] == "query.cursor", refused.text
        assert refused.json()["message"].startswith("query.cursor: "), refused.text


async def test_a_member_may_not_page_the_members_by_cursor_either(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    auth = await token_for("member", world.cell_a1, world.member_a1)
    refused = await client.get(f"/v1/cells/{world.cell_a1}/members", params={"cursor": ""}, headers=auth)
    assert refused.status_code == 403, refused.text
