"""The Idempotency-Key header through the real gateway, meetings, broker and databases: a command sent again with
its key is one stored fact (even one whose moment the gateway stamps, sent again a second later: meetings compares
the content under the key's event id); the same key with another request is refused naming the header and stores
nothing; another account's same key is its own."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from shared.periods import VIETNAM_TZ, month_of
from tests.e2e.test_walking_skeleton import Province
from tests.support.ids import random_id
from tests.support.system import RunningSystem, issue_token

pytestmark = pytest.mark.e2e

KEY = "Idempotency-Key"
STARTS = (datetime.now(VIETNAM_TZ) + timedelta(days=20)).replace(hour=19, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
async def province(system: RunningSystem) -> Province:
    """A fresh province fed in by a province-wide integration account."""
    province = Province()
    token = issue_token(system, role="integration", unit=None, sub=random_id("integration"), province_wide=True)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        response = await client.post(
            "/v1/events",
            json=province.events(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/cloudevents-batch+json"},
        )
    assert [r["outcome"] for r in response.json()["results"]] == ["accepted"] * 6, response.text
    return province


async def secretary_client(system: RunningSystem, province: Province, person: str) -> httpx.AsyncClient:
    """A client holding a token of a new secretary account of the cell."""
    token = issue_token(system, role="secretary", unit=province.cell, person=person, sub=random_id("secretary"))
    return httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
async def secretary(system: RunningSystem, province: Province) -> AsyncIterator[httpx.AsyncClient]:
    """The cell's secretary (its first member)."""
    async with await secretary_client(system, province, province.members[0]) as client:
        yield client


def schedule(location: str) -> dict[str, Any]:
    """A regular meeting 20 days ahead at `location` (what tells one test's meetings from another's)."""
    return {
        "kind": "regular",
        "starts_at": STARTS.isoformat(timespec="seconds"),
        "location": location,
        "agenda": ["Kiểm điểm nghị quyết tháng trước"],
        "confirm_same_time": True,  # the module's meetings share a start
    }


async def meetings_at(client: httpx.AsyncClient, province: Province, location: str) -> list[dict[str, Any]]:
    """The cell's stored meetings at `location`."""
    answer = await client.get(f"/v1/cells/{province.cell}/meetings", params={"period": month_of(STARTS)})
    assert answer.status_code == 200, answer.text
    return [item for item in answer.json()["items"] if item["location"] == location]


async def test_a_command_sent_again_with_its_key_is_one_stored_fact(
    secretary: httpx.AsyncClient, province: Province
) -> None:
    location, key = random_id("place"), str(uuid.uuid4())
    path = f"/v1/cells/{province.cell}/meetings"
    first = await secretary.post(path, json=schedule(location), headers={KEY: key})
    again = await secretary.post(path, json=schedule(location), headers={KEY: key})
    assert first.status_code == again.status_code == 202, (first.text, again.text)
    assert (first.json()["outcome"], again.json()["outcome"]) == ("accepted", "duplicate"), again.text
    assert again.json()["event_id"] == first.json()["event_id"]
    assert len(await meetings_at(secretary, province, location)) == 1
    meeting_id = first.json()["subject"]
    # published_at is stamped by the gateway: sent again a second later, it is the first sending's
    documents = {"items": [{"title": f"Tài liệu {location}", "kind": "content"}]}
    doc_key = str(uuid.uuid4())
    published = await secretary.post(f"/v1/meetings/{meeting_id}/documents", json=documents, headers={KEY: doc_key})
    await asyncio.sleep(1.1)
    republished = await secretary.post(f"/v1/meetings/{meeting_id}/documents", json=documents, headers={KEY: doc_key})
    assert published.status_code == republished.status_code == 202, (published.text, republished.text)
    assert republished.json()["outcome"] == "duplicate", republished.text
    meeting = (await secretary.get(f"/v1/meetings/{meeting_id}")).json()
    assert [doc["title"] for doc in meeting["documents"]] == [f"Tài liệu {location}"], meeting["documents"]


async def test_the_same_key_with_another_request_is_refused_and_stores_nothing(
    secretary: httpx.AsyncClient, province: Province
) -> None:
    location, key = random_id("place"), str(uuid.uuid4())
    path = f"/v1/cells/{province.cell}/meetings"
    first = await secretary.post(path, json=schedule(location), headers={KEY: key})
    assert first.status_code == 202, first.text
    other = await secretary.post(path, json=schedule(location + "-b"), headers={KEY: key})
    assert other.status_code == 422, other.text
    assert other.json()["field"] == KEY and other.json()["code"] == "idempotency_key_reused", other.text
    assert await meetings_at(secretary, province, location + "-b") == []
    assert len(await meetings_at(secretary, province, location)) == 1


async def test_two_accounts_with_the_same_key_are_independent(
    system: RunningSystem, secretary: httpx.AsyncClient, province: Province
) -> None:
    location, key = random_id("place"), str(uuid.uuid4())
    path = f"/v1/cells/{province.cell}/meetings"
    async with await secretary_client(system, province, province.members[1]) as deputy:
        answers = []
        for client in (secretary, deputy):
            first = await client.post(path, json=schedule(location), headers={KEY: key})
            again = await client.post(path, json=schedule(location), headers={KEY: key})
            assert (first.json()["outcome"], again.json()["outcome"]) == ("accepted", "duplicate"), again.text
            assert again.json()["event_id"] == first.json()["event_id"]
            answers.append(first.json())
    assert answers[0]["event_id"] != answers[1]["event_id"]
    assert len(await meetings_at(secretary, province, location)) == 2


async def test_a_key_the_gateway_forgot_is_still_judged_by_meetings_content(
    system: RunningSystem, secretary: httpx.AsyncClient, province: Province
) -> None:
    """Past CHIBO_IDEMPOTENCY_KEY_HOURS the gateway's row is purged; meetings' digest of the key's event still tells
    the same request (a duplicate) from another (the same 422 naming the header, nothing stored)."""
    location, key = random_id("place"), str(uuid.uuid4())
    path = f"/v1/cells/{province.cell}/meetings"
    first = await secretary.post(path, json=schedule(location), headers={KEY: key})
    assert first.status_code == 202, first.text
    database = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"])
    try:
        forgotten = await database.execute("DELETE FROM gateway.idempotency_key WHERE key = $1", key)
    finally:
        await database.close()
    assert forgotten == "DELETE 1"
    other = await secretary.post(path, json=schedule(location + "-b"), headers={KEY: key})
    assert other.status_code == 422 and other.json()["field"] == KEY, other.text
    assert "more than 24 hours ago" in other.json()["message"], other.text
    again = await secretary.post(path, json=schedule(location), headers={KEY: key})
    assert again.status_code == 202 and again.json()["outcome"] == "duplicate", again.text
    assert await meetings_at(secretary, province, location + "-b") == []
    assert len(await meetings_at(secretary, province, location)) == 1
