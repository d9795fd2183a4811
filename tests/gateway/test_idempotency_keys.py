"""The Idempotency-Key header on the secretary's commands (IETF draft "The Idempotency-Key HTTP Header Field"): the
same key from the same account is the same event, answered `duplicate` once recorded; the same key with another
request is a 422 naming the header; another account's same key is its own; a malformed key is a 400 naming it."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from services.gateway.bootstrap import GatewayState
from shared.contracts.meetings_rpc import Ingest
from shared.rpc import ServiceUnavailable
from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World
from tests.support.ids import random_id

IDEMPOTENCY_HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255
"""The longest key taken, as the API documents it."""


def schedule_body(location: str, **overrides: object) -> dict[str, Any]:
    """A regular meeting well ahead, at `location` (what tells one test's meetings from another's)."""
    return {
        "kind": "regular",
        "starts_at": "2027-03-04T19:00:00+07:00",
        "location": location,
        "agenda": ["Kiểm điểm nghị quyết tháng trước"],
        "confirm_same_time": True,  # the tests' meetings share a start
        **overrides,
    }


def keyed(headers: dict[str, str], key: str | bytes) -> dict[str, Any]:
    """`headers` with the Idempotency-Key `key`."""
    return {**headers, IDEMPOTENCY_HEADER: key}


def ingested_at(world: World, location: str) -> list[dict[str, Any]]:
    """The schedules meetings took (the fake's accepted events) at `location`."""
    return [event for event in world.ingested if event["data"].get("location") == location]


async def test_a_schedule_sent_again_with_its_key_is_one_meeting(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    location, key = random_id("place"), str(uuid.uuid4())
    path = f"/v1/cells/{world.cell_a1}/meetings"
    first = await client.post(path, json=schedule_body(location), headers=keyed(headers["secretary"], key))
    again = await client.post(path, json=schedule_body(location), headers=keyed(headers["secretary"], key))
    assert first.status_code == again.status_code == 202, (first.text, again.text)
    assert again.json()["event_id"] == first.json()["event_id"], (first.json(), again.json())
    assert again.json()["subject"] == first.json()["subject"]  # the generated meeting id is the key's too
    assert (first.json()["outcome"], again.json()["outcome"]) == ("accepted", "duplicate")
    assert len(ingested_at(world, location)) == 1
    # the draft's quoted form is the same key
    quoted = await client.post(path, json=schedule_body(location), headers=keyed(headers["secretary"], f'"{key}"'))
    assert quoted.json()["event_id"] == first.json()["event_id"], quoted.text


async def test_without_a_key_each_request_is_a_new_event(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    location = random_id("place")
    path = f"/v1/cells/{world.cell_a1}/meetings"
    answers = [await client.post(path, json=schedule_body(location), headers=headers["secretary"]) for _ in range(2)]
    assert [answer.json()["outcome"] for answer in answers] == ["accepted", "accepted"]
    assert len(ingested_at(world, location)) == 2


async def test_a_command_unanswered_then_resent_with_its_key_is_recorded_once(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    world: World,
    state: GatewayState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 503 case the key is for: meetings took the command but its answer never came back."""
    location, key = random_id("place"), str(uuid.uuid4())
    path = f"/v1/cells/{world.cell_a1}/meetings"
    call = state.rpc.call

    async def taken_but_unanswered(request: Any, **kwargs: Any) -> Any:
        reply = await call(request, **kwargs)
        if isinstance(request, Ingest):
            raise ServiceUnavailable("meetings")
        return reply

    monkeypatch.setattr(state.rpc, "call", taken_but_unanswered)
    lost = await client.post(path, json=schedule_body(location), headers=keyed(headers["secretary"], key))
    monkeypatch.undo()
    assert lost.status_code == 503, lost.text
    assert "same Idempotency-Key" in lost.json()["message"], lost.text
    resent = await client.post(path, json=schedule_body(location), headers=keyed(headers["secretary"], key))
    assert resent.status_code == 202, resent.text
    assert resent.json()["outcome"] == "duplicate", resent.text
    assert f"(event {resent.json()['event_id']})" in lost.json()["message"]
    assert len(ingested_at(world, location)) == 1


async def test_the_same_key_with_another_request_is_refused_naming_the_header(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    location, key = random_id("place"), str(uuid.uuid4())
    path = f"/v1/cells/{world.cell_a1}/meetings"
    first = await client.post(path, json=schedule_body(location), headers=keyed(headers["secretary"], key))
    assert first.status_code == 202, first.text
    other = await client.post(path, json=schedule_body(location + "-b"), headers=keyed(headers["secretary"], key))
    assert other.status_code == 422, other.text
    assert other.json()["field"] == IDEMPOTENCY_HEADER
    assert other.json()["code"] == "idempotency_key_reused"
    assert first.json()["event_id"] in other.json()["message"]
    elsewhere = await client.post(
        f"/v1/meetings/{first.json()['subject']}/cancel",
        json={"reason": "Mưa bão"},
        headers=keyed(headers["secretary"], key),
    )
    assert elsewhere.status_code == 422 and elsewhere.json()["field"] == IDEMPOTENCY_HEADER, elsewhere.text
    assert ingested_at(world, location + "-b") == []


async def test_two_accounts_keys_are_their_own(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, token_for: TokenFactory
) -> None:
    other_secretary = await token_for("secretary", world.cell_a1, world.new_member(world.cell_a1, "deputy_secretary"))
    location, key = random_id("place"), str(uuid.uuid4())
    path = f"/v1/cells/{world.cell_a1}/meetings"
    answers = {}
    for who, sent in (("mine", headers["secretary"]), ("theirs", other_secretary)):
        first = await client.post(path, json=schedule_body(location), headers=keyed(sent, key))
        again = await client.post(path, json=schedule_body(location), headers=keyed(sent, key))
        assert (first.json()["outcome"], again.json()["outcome"]) == ("accepted", "duplicate"), (first, again.text)
        assert again.json()["event_id"] == first.json()["event_id"]
        answers[who] = first.json()
    assert answers["mine"]["event_id"] != answers["theirs"]["event_id"]
    assert answers["mine"]["subject"] != answers["theirs"]["subject"]
    assert len(ingested_at(world, location)) == 2


async def test_a_key_meetings_refused_may_carry_the_request_corrected(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    key, missing_task = str(uuid.uuid4()), random_id("task")
    world.unknown.add(missing_task)
    refused = await client.post(
        f"/v1/meetings/{world.meeting_a1}/tasks/{missing_task}/completion",
        json={},
        headers=keyed(headers["secretary"], key),
    )
    assert refused.status_code == 422 and refused.json()["field"] == "task_id", refused.text
    corrected = await client.post(
        f"/v1/meetings/{world.meeting_a1}/tasks/{random_id('task')}/completion",
        json={},
        headers=keyed(headers["secretary"], key),
    )
    assert corrected.status_code == 202 and corrected.json()["outcome"] == "accepted", corrected.text


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("", "got empty"),
        ("k" * (KEY_MAX_LENGTH + 1), f"got {KEY_MAX_LENGTH + 1} characters"),
        ("khóa".encode(), "not all of them printable ASCII"),
        ('""', "got empty"),
    ],
)
async def test_a_malformed_key_is_refused_naming_the_header(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, key: str | bytes, said: str
) -> None:
    location = random_id("place")
    answer = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings", json=schedule_body(location), headers=keyed(headers["secretary"], key)
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == IDEMPOTENCY_HEADER and said in answer.json()["message"], answer.text
    assert answer.json()["message"].startswith(f"{IDEMPOTENCY_HEADER}: 1 to {KEY_MAX_LENGTH} printable ASCII")
    assert ingested_at(world, location) == []


async def test_a_key_given_twice_is_refused_and_the_longest_taken(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    path = f"/v1/cells/{world.cell_a1}/meetings"
    twice = [*headers["secretary"].items(), (IDEMPOTENCY_HEADER, "a"), (IDEMPOTENCY_HEADER, "b")]
    answer = await client.post(path, json=schedule_body(random_id("place")), headers=twice)
    assert answer.status_code == 400 and answer.json()["field"] == IDEMPOTENCY_HEADER, answer.text
    longest = "~ " + "k" * (KEY_MAX_LENGTH - 2)
    taken = await client.post(
        path, json=schedule_body(random_id("place")), headers=keyed(headers["secretary"], longest)
    )
    assert taken.status_code == 202, taken.text


async def test_a_malformed_key_is_refused_after_the_role(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    answer = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings", json={}, headers=keyed(headers["member"], "k" * 1000)
    )
    assert answer.status_code == 403, answer.text


async def test_racing_requests_under_one_key_are_one_command(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """A double send racing itself is one event; racing another request under the key, one of the two is refused."""
    path = f"/v1/cells/{world.cell_a1}/meetings"
    location, key = random_id("place"), str(uuid.uuid4())
    same = await asyncio.gather(
        *(client.post(path, json=schedule_body(location), headers=keyed(headers["secretary"], key)) for _ in range(4))
    )
    assert {answer.status_code for answer in same} == {202}, [answer.text for answer in same]
    assert len({answer.json()["event_id"] for answer in same}) == 1
    assert len(ingested_at(world, location)) == 1
    location, key = random_id("place"), str(uuid.uuid4())
    bodies = [schedule_body(location), schedule_body(location + "-b")]
    raced = await asyncio.gather(
        *(client.post(path, json=body, headers=keyed(headers["secretary"], key)) for body in bodies)
    )
    assert sorted(answer.status_code for answer in raced) == [202, 422], [answer.text for answer in raced]
    assert len(ingested_at(world, location)) + len(ingested_at(world, location + "-b")) == 1
