"""A trial through the real gateway and meetings: an operator's replay lent an integration account another account's
source of the same unit. Account A's event under B's source, refused source_not_registered, was accepted on
`POST /v1/rejections/{id}/replay` and took B's event id (B's own event then refused id_reused); B's event under a
source registered to nobody then, registered to another account later, was accepted alike. A replay is judged as
its first submission: by the account that sent it and the sources that account holds now."""

import json
from typing import Any

import httpx
import pytest

from tests.e2e.test_backdated_member_moves import reader
from tests.e2e.test_trial_refusals import cloudevent, post_events
from tests.support.ids import random_id
from tests.support.running import eventually
from tests.support.system import RunningSystem, issue_token

pytestmark = pytest.mark.e2e


async def one(system: RunningSystem, token: str, event: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/events with one event; its result."""
    response = await post_events(system, token, json.dumps(event, ensure_ascii=False).encode(), batch=False)
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    return dict(result)


async def rejection_of(operator: httpx.AsyncClient, event_id: str) -> dict[str, Any]:
    """The open rejection of `event_id`, once the operator's list shows it."""

    async def found() -> dict[str, Any] | None:
        items = (await operator.get("/v1/rejections", params={"limit": 200, "status": "open"})).json()["items"]
        return next((item for item in items if item["event_id"] == event_id), None)

    return await eventually(found, timeout=120)


async def test_an_operators_replay_is_judged_by_the_sender_and_the_sources_it_holds(system: RunningSystem) -> None:
    xa = random_id("xa")
    province = issue_token(system, role="integration", unit=None, sub=random_id("province"), province_wide=True)
    root = cloudevent("org.unit.upserted.v1", {"id": xa, "name": "Xã", "kind": "committee", "parent_id": None})
    assert (await one(system, province, root))["outcome"] == "accepted"
    a_source, b_source = f"urn:test:{random_id('memberdb')}", f"urn:test:{random_id('handbook')}"
    a = issue_token(system, role="integration", unit=xa, sub=random_id("t50-memberdb"), sources=[a_source])
    b = issue_token(system, role="integration", unit=xa, sub=random_id("handbook"), sources=[b_source])

    def cell(source: str, event_id: str | None = None) -> dict[str, Any]:
        data = {"id": random_id("cell"), "name": "Chi bộ thôn", "kind": "cell", "parent_id": xa}
        event = cloudevent("org.unit.upserted.v1", data, source=source)
        return event | {"id": event_id} if event_id else event

    assert (await one(system, b, cell(b_source)))["outcome"] == "accepted"  # B's source is B's
    steal = random_id("t50-steal")
    stolen = cell(b_source, steal)
    refused = await one(system, a, stolen)
    assert (refused["outcome"], refused["refusal"]["code"]) == ("rejected", "source_not_registered"), refused
    async with reader(system, None, "operator") as operator:
        rejection = await rejection_of(operator, steal)
        replayed = await operator.post(f"/v1/rejections/{rejection['rejection_id']}/replay", json={})
        assert replayed.status_code == 200, replayed.text
        assert (replayed.json()["outcome"], replayed.json()["field"]) == ("rejected", "source"), replayed.text
        mine = await one(system, b, cell(b_source, steal))
        assert mine["outcome"] == "accepted", mine  # B's own event keeps its id

        later = f"urn:test:{random_id('later')}"
        early = cell(later)
        refused = await one(system, b, early)
        assert (refused["outcome"], refused["refusal"]["code"]) == ("rejected", "source_not_registered"), refused
        holder = issue_token(system, role="integration", unit=xa, sub=random_id("t50-later"), sources=[later])
        assert (await one(system, holder, cell(later)))["outcome"] == "accepted"  # registered to that account now
        rejection = await rejection_of(operator, early["id"])
        replayed = await operator.post(f"/v1/rejections/{rejection['rejection_id']}/replay", json={})
        assert replayed.status_code == 200, replayed.text
        assert (replayed.json()["outcome"], replayed.json()["field"]) == ("rejected", "source"), replayed.text
