"""The gateway relays notifications' refusal of a preference as it is: the fake judges with notifications' own
model.preference_fault, so the webhook chosen where no SMS gateway is configured is refused here as it is there."""

import httpx
import pytest

from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World


async def test_the_webhook_without_an_sms_gateway_is_refused_naming_channels(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    headers = await token_for("member", world.cell_a1, world.new_member(world.cell_a1))
    got = (await client.get("/v1/me/preferences", headers=headers)).json()
    assert got["available_channels"] == ["email", "inbox"]

    refused = await client.put("/v1/me/preferences", json={"channels": ["webhook"]}, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "channels"
    assert refused.json()["message"] == (
        "channels: webhook (the SMS gateway) is not available, as no SMS gateway is configured for this province;"
        " choose among email, inbox"
    )
    assert (await client.get("/v1/me/preferences", headers=headers)).json()["stored"] is False  # nothing kept


async def test_the_webhook_is_taken_where_an_sms_gateway_is_configured(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world, "sms_gateway", True)  # the world is the package's: the others have no SMS gateway
    headers = await token_for("member", world.cell_a1, world.new_member(world.cell_a1))
    taken = await client.put("/v1/me/preferences", json={"channels": ["webhook"]}, headers=headers)
    assert taken.status_code == 200, taken.text
    assert "webhook" in taken.json()["channels"] and "webhook" in taken.json()["available_channels"]
