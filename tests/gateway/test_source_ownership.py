"""A scoped integration account sends only under the sources registered with it (stored, shown, handed to meetings
with every ingest call); only such an account registers sources, none of the system's own, none another holds."""

from typing import Any

import httpx

from services.gateway.bootstrap import GatewayState
from tests.gateway.fakes import World
from tests.support.ids import random_id
from tests.support.running import eventually


def event(source: str, world: World) -> dict[str, Any]:
    """A cell under ward A from `source`."""
    return {
        "specversion": "1.0",
        "id": random_id("evt"),
        "source": source,
        "type": "org.unit.upserted.v1",
        "time": "2026-11-01T08:00:00+07:00",
        "data": {"id": random_id("cell"), "name": "Chi bộ", "kind": "cell", "parent_id": world.ward_a},
    }


async def create(client: httpx.AsyncClient, admin: dict[str, str], **body: Any) -> httpx.Response:
    """POST /v1/accounts as the administrator."""
    return await client.post("/v1/accounts", json=body, headers=admin)


async def test_a_scoped_accounts_sources_are_stored_shown_and_sent_with_its_events(
    client: httpx.AsyncClient, world: World, headers: dict[str, dict[str, str]], state: GatewayState
) -> None:
    source = f"urn:test:{random_id('feed')}"
    sub = random_id("int")
    created = await create(
        client, headers["admin"], sub=sub, role="integration", unit_id=world.ward_a, sources=[source, source]
    )
    assert created.status_code == 201, created.text
    assert created.json()["account"]["sources"] == [source]
    stored = await state.accounts.get(sub)
    assert stored is not None and stored.sources == (source,)
    listed = await client.get("/v1/accounts", params={"limit": 200}, headers=headers["admin"])
    assert [item["sources"] for item in listed.json()["items"] if item["sub"] == sub] == [[source]]

    feed = {"Authorization": f"Bearer {created.json()['token']}", "Content-Type": "application/cloudevents+json"}
    sent = await client.post("/v1/events", json=event(source, world), headers=feed)
    assert sent.status_code == 200, sent.text
    assert (world.scopes[-1], world.sources[-1]) == (world.ward_a, [source])
    everywhere = await client.post(
        "/v1/events",
        json=event("urn:test:province", world),
        headers={**headers["integration"], "Content-Type": "application/cloudevents+json"},
    )
    assert everywhere.status_code == 200 and (world.scopes[-1], world.sources[-1]) == (None, None)


async def test_a_scoped_account_without_sources_may_send_under_none(
    client: httpx.AsyncClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    created = await create(client, headers["admin"], role="integration", unit_id=world.ward_a)
    assert created.status_code == 201 and created.json()["account"]["sources"] == []
    feed = {"Authorization": f"Bearer {created.json()['token']}", "Content-Type": "application/cloudevents+json"}
    await client.post("/v1/events", json=event("urn:test:province", world), headers=feed)
    assert world.sources[-1] == []


async def test_sources_are_refused_where_they_do_not_belong(
    client: httpx.AsyncClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    admin = headers["admin"]
    taken = f"urn:test:{random_id('feed')}"
    first = await create(client, admin, role="integration", unit_id=world.ward_a, sources=[taken])
    assert first.status_code == 201
    cases: list[dict[str, Any]] = [
        {"role": "integration", "province_wide": True, "sources": ["urn:test:x"]},
        {"role": "committee_officer", "unit_id": world.ward_a, "sources": ["urn:test:x"]},
        {"role": "integration", "unit_id": world.ward_b, "sources": ["urn:chibo:meetings"]},
        # a URN's namespace in any case is the same (it was registered, and then refused on every event)
        {"role": "integration", "unit_id": world.ward_b, "sources": ["URN:CHIBO:gateway"]},
        {"role": "integration", "unit_id": world.ward_b, "sources": [taken]},
        # not a URI reference (CONTRACT.md: a URI naming the sending system): events under it would be rejected
        {"role": "integration", "unit_id": world.ward_b, "sources": ["sổ tay đảng viên"]},
        {"role": "integration", "unit_id": world.ward_b, "sources": [" urn:test:y"]},
    ]
    for body in cases:
        refused = await create(client, admin, **body)
        assert (refused.status_code, refused.json()["field"]) == (422, "sources"), (body, refused.text)
    # the holder itself keeps its source when it is saved again
    again = await create(
        client, admin, sub=first.json()["account"]["sub"], role="integration", unit_id=world.ward_a, sources=[taken]
    )
    assert again.status_code == 201 and again.json()["account"]["sources"] == [taken]


async def test_meetings_gets_a_new_accounts_sources_at_once_and_loses_them_when_it_is_disabled(
    client: httpx.AsyncClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    """A trial's province-wide feed used a new account's source before that account's first call, and got in:
    meetings learned the sources only then. The gateway now sends every scoped account's sources when one is
    created or disabled through the API (`issue-token` itself, tests/gateway/test_cli.py), and every
    CHIBO_SOURCE_SYNC_SECONDS."""
    source, sub = f"urn:test:{random_id('feed')}", random_id("int")
    created = await create(
        client, headers["admin"], sub=sub, role="integration", unit_id=world.ward_a, sources=[source]
    )
    assert created.status_code == 201, created.text
    # well within the 30 s of the periodic sync: sent because the account changed
    await eventually(
        lambda: bool(world.synced_sources) and source in world.synced_sources[-1].get(world.ward_a, []), timeout=20
    )
    disabled = await client.delete(f"/v1/accounts/{sub}", headers=headers["admin"])
    assert disabled.status_code == 200, disabled.text
    await eventually(lambda: source not in world.synced_sources[-1].get(world.ward_a, []), timeout=20)
