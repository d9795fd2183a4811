"""`GET`/`PUT /v1/me/preferences` answer `warnings`: e-mail chosen while no address is on file is stored (the address
may come later) and said as `email_not_on_file` naming `email`, so an API client learns what the web app's form
warns of; nothing is said with an address on file, while it is not known, or with e-mail not chosen."""

from typing import Any

import httpx
import pytest

from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World


async def person(token_for: TokenFactory, world: World, on_file: bool | None) -> dict[str, str]:
    """The token of a new member of cell A1 whose address notifications answers as `on_file`."""
    member = world.new_member(world.cell_a1)
    if on_file is not None:
        world.emails_on_file[member] = on_file
    return await token_for("member", world.cell_a1, member)


async def test_email_chosen_without_an_address_on_file_is_stored_with_a_warning(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    headers = await person(token_for, world, False)
    defaults = await client.get("/v1/me/preferences", headers=headers)  # the defaults choose e-mail too
    assert defaults.status_code == 200, defaults.text
    [warning] = defaults.json()["warnings"]
    assert (warning["code"], warning["field"]) == ("email_not_on_file", "email")
    assert warning["message"].startswith("email is chosen but no e-mail address is on file"), warning

    chosen = await client.put("/v1/me/preferences", json={"channels": ["email"], "digest": False}, headers=headers)
    assert chosen.status_code == 200, chosen.text
    body = chosen.json()
    assert "email" in body["channels"] and body["email_on_file"] is False
    assert [(w["code"], w["field"]) for w in body["warnings"]] == [("email_not_on_file", "email")]
    read = (await client.get("/v1/me/preferences", headers=headers)).json()
    assert read["warnings"] == body["warnings"]

    inbox_only = await client.put("/v1/me/preferences", json={"channels": ["inbox"]}, headers=headers)
    assert inbox_only.status_code == 200 and inbox_only.json()["warnings"] == []


@pytest.mark.parametrize("on_file", [True, None])
async def test_nothing_is_said_with_an_address_or_when_it_is_not_known(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World, on_file: bool | None
) -> None:
    headers = await person(token_for, world, on_file)
    answers: list[Any] = [
        await client.get("/v1/me/preferences", headers=headers),
        await client.put("/v1/me/preferences", json={"channels": ["email"]}, headers=headers),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.json()["warnings"] == [] and answer.json()["email_on_file"] is on_file
