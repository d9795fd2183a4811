"""Finding of a new user's trial (h286) on the /v1 API: a meeting's `topic` of only a zero-width space answered
`topic: String should have at least 1 character` (it had one: the invisible character, dropped before the length was
judged), where a blank text elsewhere says it must hold visible text: every blank text of a body now says so, naming
the field (shared.envelope.validation_message, BLANK_SAID)."""

import httpx
import pytest

import services.gateway.main  # noqa: F401 (every request body's model defined)
from shared.text import BLANK_SAID
from tests.gateway.bodies import put, send_command
from tests.gateway.fakes import World
from tests.gateway.test_command_bodies import COMMANDS
from tests.gateway.test_typed_text import BASES, TEXT_FIELDS
from tests.support.ids import random_id


@pytest.mark.parametrize("blank", ["\u200b", "   ", "", "\u3000\u200b\u2060", "\u2800 \u2800"])
@pytest.mark.parametrize(("command", "field"), TEXT_FIELDS)
async def test_a_blank_text_of_any_command_says_it_must_hold_visible_text_naming_the_field(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, command: str, field: str, blank: str
) -> None:
    base = BASES.get((command, field), COMMANDS[command][4])
    response = await send_command(client, headers, world, command, put(base, field, blank))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert response.json()["message"] == f"{field}: {BLANK_SAID}"


async def test_an_operators_reason_of_only_an_invisible_character_says_it_must_hold_visible_text(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    first = next(iter(world.rejections.values()))
    rejection = {**first, "rejection_id": random_id("rej"), "status": "open"}
    world.rejections[rejection["rejection_id"]] = rejection
    path = f"/v1/rejections/{rejection['rejection_id']}/dismiss"
    for blank in ("\u200b", ""):
        answer = await client.post(path, json={"reason": blank}, headers=headers["operator"])
        assert answer.status_code == 422, answer.text
        assert answer.json()["message"] == f"reason: {BLANK_SAID}"


@pytest.mark.parametrize("agenda", [[], None])
async def test_a_meeting_scheduled_without_an_agenda_is_refused_naming_it(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, agenda: list[str] | None
) -> None:
    """Trial h292: `"agenda": []` scheduled a meeting with no content, which CONTRACT.md's meeting.scheduled.v1 requires
    (`agenda` [..], no `?`) and DOMAIN.md says members are told of; null and left out are refused as missing."""
    body = {**COMMANDS["schedule"][4], "agenda": agenda}
    response = await send_command(client, headers, world, "schedule", body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "agenda"
    if agenda == []:
        assert response.json()["message"] == f"agenda: {BLANK_SAID}"
