"""POST /v1/rejections/dismiss: an operator closes a flood of rejections by a filter (an operator trial's 2,850
`source_of_another_account` rejections had to be dismissed one by one): operators only, a reason and a criterion
(or `all`) required, meetings asked again while its answer says some remain, the counts answered and audited."""

import httpx

from tests.gateway.fakes import World

PATH = "/v1/rejections/dismiss"
REASON = "Nguồn của tài khoản khác"


async def test_a_filtered_dismissal_is_an_operators_names_a_criterion_and_sums_meetings_answers(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    body = {"code": "source_of_another_account", "received_after": "2026-11-02T08:00:00+07:00", "reason": REASON}
    refused = await client.post(PATH, json=body, headers=headers["secretary"])
    assert refused.status_code == 403
    unsaid = await client.post(PATH, json={"code": "source_of_another_account"}, headers=headers["operator"])
    assert unsaid.status_code == 422 and unsaid.json()["field"] == "reason", unsaid.json()
    asked_before = len(world.dismissals)
    empty = await client.post(PATH, json={"reason": REASON}, headers=headers["operator"])
    assert empty.status_code == 422 and empty.json()["field"] == "code", empty.json()
    assert "say all" in empty.json()["message"], empty.json()
    typo = await client.post(
        PATH, json={"code": "source_of_another_acount", "reason": REASON}, headers=headers["operator"]
    )
    assert typo.status_code == 422 and typo.json()["field"] == "code", typo.json()
    assert "source_of_another_acount" in typo.json()["message"], typo.json()
    naive = await client.post(
        PATH, json={"received_before": "2026-11-02T08:00:00", "reason": REASON}, headers=headers["operator"]
    )
    assert naive.status_code == 422 and naive.json()["field"] == "received_before", naive.json()
    assert len(world.dismissals) == asked_before  # nothing asked of meetings

    # meetings closes what it can in its time and says some remain: the gateway asks again until none does
    world.dismissal_answers[:] = [
        {"matched": 2850, "dismissed": 2000, "remaining": 850},
        {"matched": 850, "dismissed": 850, "remaining": 0},
    ]
    done = await client.post(PATH, json=body, headers=headers["operator"])
    assert done.status_code == 200, done.json()
    assert done.json() == {
        "matched": 2850,
        "dismissed": 2850,
        "remaining": 0,
        "dry_run": False,
        "filter": {"code": "source_of_another_account", "received_after": "2026-11-02T01:00:00Z"},
        "counted_at": None,
        "expected_differs": False,
    }
    first, second = world.dismissals[-2:]
    assert first == second and first.reason == REASON and first.dismissed_by.startswith("operator")

    # confirmed with the count shown (`expected`): meetings found another number and closed nothing; the gateway
    # says so and does not ask again (trial 71: a set other than the one counted was closed)
    asked_before = len(world.dismissals)
    world.dismissal_answers[:] = [{"matched": 2, "dismissed": 0, "remaining": 2, "expected_differs": True}]
    stale = await client.post(PATH, json={**body, "expected": 3}, headers=headers["operator"])
    assert stale.status_code == 200, stale.json()
    assert (stale.json()["dismissed"], stale.json()["expected_differs"]) == (0, True), stale.json()
    assert len(world.dismissals) == asked_before + 1 and world.dismissals[-1].expected == 3
    assert first.filter.received_after is not None and first.filter.source is None

    every = await client.post(PATH, json={"all": True, "dry_run": True, "reason": REASON}, headers=headers["operator"])
    assert every.status_code == 200 and every.json()["dry_run"] is True and every.json()["filter"] == {}
    assert world.dismissals[-1].dry_run and world.dismissals[-1].filter.given() == {}
    assert world.dismissals[-1].all  # said to meetings, which refuses an empty filter without it

    # `none`: the rejections stored without a refusal code (an event invalid by its schema)
    without = await client.post(
        PATH, json={"code": "none", "dry_run": True, "reason": REASON}, headers=headers["operator"]
    )
    assert without.status_code == 200 and without.json()["filter"] == {"code": "none"}, without.json()
    assert world.dismissals[-1].filter.code == "none" and not world.dismissals[-1].all

    audit = await client.get("/v1/audit?limit=200", headers=headers["admin"])
    # this test's own dismissals (the role matrix, sharing the world, audits one of its own with another reason)
    entries = [
        entry
        for entry in audit.json()["items"]
        if entry["path"] == PATH and entry["status"] == 200 and entry["detail"].get("reason") == REASON
    ]
    assert [(entry["detail"]["dry_run"], entry["detail"].get("dismissed")) for entry in entries] == [
        (True, 0),
        (True, 0),
        (False, 0),
        (False, 2850),
    ]  # newest first
    assert (entries[2]["detail"]["expected"], entries[2]["detail"]["expected_differs"]) == (3, True)
    assert entries[3]["detail"]["reason"] == REASON
