"""A committee officer's alert settings over their subtree: scoping, validation naming the field, origins, audit."""

from typing import Any

import httpx
import pytest

from services.gateway.bootstrap import GatewayState
from tests.gateway.fakes import World


def rule_of(answer: dict[str, Any], name: str) -> dict[str, Any]:
    """One rule of a GET /alert-rules answer."""
    return next(item for item in answer["rules"] if item["rule"] == name)


async def test_an_officer_sets_a_rule_for_the_subtree_and_each_value_says_where_it_comes_from(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, state: GatewayState
) -> None:
    ward, province = headers["ward_officer"], headers["province_officer"]
    before = (await client.get(f"/v1/committees/{world.ward_a}/alert-rules", headers=ward)).json()
    assert len(before["rules"]) >= 18
    reminder = rule_of(before, "meeting_reminder")
    assert reminder["enabled"] is True and reminder["params"] == {"hours_before": 3}
    assert reminder["params_from"] == {"hours_before": {"origin": "default", "unit_id": None}}

    # the province sets the reminder 24 hours ahead; the ward sees it as set above
    put = await client.put(
        f"/v1/committees/{world.root}/alert-rules/meeting_reminder",
        json={"params": {"hours_before": 24}},
        headers=province,
    )
    assert put.status_code == 200, put.text
    assert put.json()["params_from"]["hours_before"] == {"origin": "this_committee", "unit_id": world.root}
    ward_view = rule_of(
        (await client.get(f"/v1/committees/{world.ward_a}/alert-rules", headers=ward)).json(), "meeting_reminder"
    )
    assert ward_view["params"] == {"hours_before": 24}
    assert ward_view["params_from"]["hours_before"] == {"origin": "above", "unit_id": world.root}

    # the ward switches it off for its own subtree: its lead time still comes from above
    off = await client.put(
        f"/v1/committees/{world.ward_a}/alert-rules/meeting_reminder", json={"enabled": False}, headers=ward
    )
    assert off.status_code == 200, off.text
    assert off.json()["enabled"] is False
    assert off.json()["enabled_from"] == {"origin": "this_committee", "unit_id": world.ward_a}
    assert off.json()["params"] == {"hours_before": 24}
    other = (await client.get(f"/v1/committees/{world.ward_b}/alert-rules", headers=province)).json()
    assert rule_of(other, "meeting_reminder")["enabled"] is True  # the other ward is untouched

    row = await state.pool.fetchrow(
        "SELECT * FROM audit_log WHERE path = $1 ORDER BY id DESC LIMIT 1",
        f"/v1/committees/{world.ward_a}/alert-rules/meeting_reminder",
    )
    assert row["method"] == "PUT" and row["status"] == 200 and row["role"] == "committee_officer"
    assert '"rule": "meeting_reminder"' in row["detail"] and '"enabled": false' in row["detail"]


async def test_enabled_null_gives_on_or_off_back_to_the_level_above_and_left_out_keeps_it(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, state: GatewayState
) -> None:
    """As a parameter set to null: a committee's own on or off given back to the committees above (a trial's ward
    that switched a rule off could only switch it on again, its own setting for ever)."""
    ward, path = headers["ward_officer"], f"/v1/committees/{world.ward_a}/alert-rules/unexcused_months"
    off = await client.put(path, json={"enabled": False, "params": {"at_least": 4}}, headers=ward)
    assert off.status_code == 200, off.text
    kept = await client.put(path, json={"params": {"at_least": 5}}, headers=ward)  # `enabled` left out: kept
    assert (kept.json()["enabled"], kept.json()["enabled_from"]["origin"]) == (False, "this_committee")
    back = await client.put(path, json={"enabled": None}, headers=ward)
    assert back.status_code == 200, back.text
    assert back.json()["enabled"] is True and back.json()["enabled_from"] == {"origin": "default", "unit_id": None}
    assert back.json()["params"] == {"at_least": 5}  # its parameter stays its own
    row = await state.pool.fetchrow("SELECT * FROM audit_log WHERE path = $1 ORDER BY id DESC LIMIT 1", path)
    assert '"reset_enabled": true' in row["detail"]


@pytest.mark.parametrize(
    ("rule", "body", "status", "field"),
    [
        ("no_such_rule", {"enabled": False}, 404, None),
        ("meeting_reminder", {"params": {"minutes_before": 30}}, 422, "params.minutes_before"),
        ("meeting_reminder", {"params": {"hours_before": 0}}, 422, "params.hours_before"),
        ("meeting_reminder", {"params": {"hours_before": 169}}, 422, "params.hours_before"),
        ("no_regular_meeting", {"params": {"day_of_month": 29}}, 422, "params.day_of_month"),
        ("no_regular_meeting", {"params": {"day_of_month": "25"}}, 422, "params.day_of_month"),
        ("period_rated_low", {"params": {"ratings": ["good"]}}, 422, "params.ratings"),
        ("period_rated_low", {"params": {"ratings": ["poor", "poor"]}}, 422, "params.ratings"),
        ("consecutive_absences", {"params": {"more_than": -1}}, 422, "params.more_than"),
        ("unexcused_months", {"params": {"at_least": 99}}, 422, "params.at_least"),
        ("unexcused_months", {"enabled": "no"}, 422, "enabled"),
        ("unexcused_months", {}, 422, "enabled"),
        ("unexcused_months", {"enabled": True, "colour": "red"}, 422, "colour"),
    ],
)
async def test_a_wrong_change_is_refused_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    world: World,
    rule: str,
    body: dict[str, object],
    status: int,
    field: str | None,
) -> None:
    ward = headers["ward_officer"]
    before = (await client.get(f"/v1/committees/{world.ward_a}/alert-rules", headers=ward)).json()
    response = await client.put(f"/v1/committees/{world.ward_a}/alert-rules/{rule}", json=body, headers=ward)
    assert response.status_code == status, response.text
    if field is not None:
        assert response.json()["field"] == field
    else:
        assert response.json()["message"] == f"alert rule {rule} not found"
    assert (await client.get(f"/v1/committees/{world.ward_a}/alert-rules", headers=ward)).json() == before


async def test_a_whole_number_parameter_is_refused_as_a_decimal_naming_it(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """A trial's `day_of_month: 25.0` was taken as 25: every whole-number parameter of every rule takes a JSON integer
    only, as `"25"` and `true` are refused."""
    from services.notifications.domain.settings import DEFAULTS

    ward = headers["ward_officer"]
    whole = [
        (rule, name, value)
        for rule, params in DEFAULTS.items()
        for name, value in params.items()
        if isinstance(value, int) and not isinstance(value, bool)
    ]
    assert ("no_regular_meeting", "day_of_month", 25) in whole and len(whole) >= 9
    for rule, name, value in whole:
        sent = {"params": {name: float(value)}}
        response = await client.put(f"/v1/committees/{world.ward_a}/alert-rules/{rule}", json=sent, headers=ward)
        assert response.status_code == 422, (rule, name, response.text)
        said = response.json()
        assert (said["field"], said["message"]) == (f"params.{name}", f"params.{name}: must be a whole number")


@pytest.mark.parametrize("role", ["member", "secretary", "integration", "operator", "admin"])
async def test_other_roles_may_not_change_alert_rules(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, role: str
) -> None:
    response = await client.put(
        f"/v1/committees/{world.ward_a}/alert-rules/daily_digest", json={"bogus": 1}, headers=headers[role]
    )
    assert response.status_code == 403, response.text


async def test_a_committee_outside_the_subtree_is_a_404_like_a_missing_one(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    ward = headers["ward_officer"]
    for committee in (world.ward_b, world.root, "ward-does-not-exist", world.cell_a1):
        response = await client.put(
            f"/v1/committees/{committee}/alert-rules/meeting_reminder", json={"enabled": False}, headers=ward
        )
        assert response.status_code == 404, response.text
        assert response.json()["message"] == f"committee {committee} not found"


async def test_a_refused_change_is_audited_with_what_was_tried_and_why(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, state: GatewayState
) -> None:
    """A refused change's audit row said nothing of the change: it names it and the field refused."""
    path = f"/v1/committees/{world.ward_a}/alert-rules/meeting_reminder"
    for body, field in (({"params": {"hours_before": 500}}, "params.hours_before"), ({}, "enabled")):
        response = await client.put(path, json=body, headers=headers["ward_officer"])
        assert response.status_code == 422, response.text
        row = await state.pool.fetchrow(
            "SELECT status, detail FROM audit_log WHERE path = $1 ORDER BY id DESC LIMIT 1", path
        )
        assert row["status"] == 422 and '"rule": "meeting_reminder"' in row["detail"] and field in row["detail"]
        assert '"refused"' in row["detail"]
