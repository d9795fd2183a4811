"""Every role against every read family, inside and outside its subtree."""

import uuid
from datetime import datetime

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.gateway.fakes import World

ROLES = ["member", "secretary", "ward_officer", "province_officer", "integration", "operator", "admin"]
CELL_READERS = {"member", "secretary", "ward_officer", "province_officer"}
OFFICERS = {"ward_officer", "province_officer"}
OPERATOR = {"operator"}
ADMIN = {"admin"}

# (path template over the World's ids, the roles that get 200; every other role gets 403 or 404)
OWN_SUBTREE = [
    ("/v1/cells/{cell_a1}", CELL_READERS),
    ("/v1/cells/{cell_a1}/meetings?period=2026-11", CELL_READERS),
    ("/v1/cells/{cell_a1}/tasks?open_only=true", CELL_READERS),
    ("/v1/cells/{cell_a1}/ratings?period=2026-Q4", CELL_READERS),
    ("/v1/cells/{cell_a1}/members", {"secretary", "ward_officer", "province_officer"}),
    ("/v1/meetings/{meeting_a1}", CELL_READERS),
    ("/v1/meetings/{meeting_a1}/attendance", CELL_READERS),
    ("/v1/meetings/{meeting_a1}/minutes", CELL_READERS),
    ("/v1/meetings/{meeting_a1}/score", CELL_READERS),
    ("/v1/members/{member_a1}/history", CELL_READERS),
    ("/v1/committees/{ward_a}", OFFICERS),
    ("/v1/committees/{ward_a}/units", OFFICERS),
    ("/v1/committees/{ward_a}/rollup?period=2026-11", OFFICERS),
    ("/v1/committees/{ward_a}/ranking?period=2026&order=asc", OFFICERS),
    ("/v1/committees/{ward_a}/weakest?period=2026-Q4&limit=2", OFFICERS),
    ("/v1/committees/{ward_a}/inbox", OFFICERS),
    ("/v1/committees/{ward_a}/alert-rules", OFFICERS),
    ("/v1/me/inbox", CELL_READERS),
    ("/v1/rejections?status=open", OPERATOR),
    ("/v1/dead-letters", OPERATOR),
    ("/v1/deliveries/failed", OPERATOR),
    ("/v1/frameworks", ADMIN),
    ("/v1/frameworks/hd42-2025", ADMIN),
    ("/v1/accounts?limit=5", ADMIN),
    ("/v1/audit?limit=5", ADMIN | OPERATOR),
    ("/v1/me", set(ROLES)),
]

# Paths in another ward's subtree: (template, roles that may see it anyway)
OTHER_SUBTREE = [
    ("/v1/cells/{cell_b1}", {"province_officer"}),
    ("/v1/cells/{cell_b1}/meetings", {"province_officer"}),
    ("/v1/cells/{cell_b1}/tasks", {"province_officer"}),
    ("/v1/cells/{cell_b1}/ratings", {"province_officer"}),
    ("/v1/meetings/{meeting_b1}", {"province_officer"}),
    ("/v1/meetings/{meeting_b1}/attendance", {"province_officer"}),
    ("/v1/meetings/{meeting_b1}/minutes", {"province_officer"}),
    ("/v1/meetings/{meeting_b1}/score", {"province_officer"}),
    ("/v1/members/{member_b1}/history", {"province_officer"}),
    ("/v1/committees/{ward_b}/rollup?period=2026-11", {"province_officer"}),
    ("/v1/committees/{ward_b}/ranking?period=2026-11", {"province_officer"}),
    ("/v1/committees/{ward_b}/inbox", {"province_officer"}),
    ("/v1/committees/{ward_b}/alert-rules", {"province_officer"}),
    ("/v1/committees/{root}", {"province_officer"}),
]

# The same paths with an id nobody knows, and the kind of thing named in the 404 message
MISSING = {
    "cell_b1": ("cell", "cell-does-not-exist"),
    "meeting_b1": ("meeting", "mtg-does-not-exist"),
    "member_b1": ("member", "mem-does-not-exist"),
    "ward_b": ("committee", "ward-does-not-exist"),
    "root": ("committee", "ward-does-not-exist"),
}


PARAMETER = {"cells": "cell_id", "meetings": "meeting_id", "members": "member_id", "committees": "committee_id"}
"""The path parameter that names the object, by the first word of its path (`/v1/cells/{cell_id}`)."""


def ids(world: World) -> dict[str, str]:
    return {key: value for key, value in vars(world).items() if isinstance(value, str)}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("template", "allowed"), OWN_SUBTREE, ids=[t for t, _ in OWN_SUBTREE])
async def test_each_role_reads_only_what_its_role_allows(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    world: World,
    role: str,
    template: str,
    allowed: set[str],
) -> None:
    response = await client.get(template.format(**ids(world)), headers=headers[role])
    if role in allowed:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code in (403, 404), response.text
        assert response.json()["code"] in ("forbidden", "not_found")


@pytest.mark.parametrize("role", ["member", "secretary", "ward_officer", "province_officer"])
@pytest.mark.parametrize(("template", "allowed"), OTHER_SUBTREE, ids=[t for t, _ in OTHER_SUBTREE])
async def test_outside_the_subtree_is_refused_like_a_missing_thing(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    world: World,
    role: str,
    template: str,
    allowed: set[str],
) -> None:
    values = ids(world)
    foreign = await client.get(template.format(**values), headers=headers[role])
    key = next(name for name in MISSING if "{" + name + "}" in template)
    kind, missing_id = MISSING[key]
    missing = await client.get(template.format(**{**values, key: missing_id}), headers=headers[role])
    if role in allowed:
        assert foreign.status_code == 200, foreign.text
        return
    if foreign.status_code == 403:  # the role may never read this family: no existence question arises
        assert missing.status_code == 403
        assert foreign.json() == missing.json()
        return
    assert foreign.status_code == 404, foreign.text
    assert missing.status_code == 404, missing.text
    # the field the id came from (the path parameter `/v1/cells/{cell_id}` names): the same for both answers
    assert foreign.json() == {
        "code": "not_found",
        "message": f"{kind} {values[key]} not found",
        "field": PARAMETER[template.split("/")[2]],
        "service": None,
    }
    assert missing.json() == {**foreign.json(), "message": f"{kind} {missing_id} not found"}


async def test_a_member_sees_only_their_own_inbox(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    # the world is the package's: other tests (test_matrix) may have marked the member's notification read, so the
    # test gives the member one of its own, unread
    fresh = dict(world.notifications[world.member_a1][0], notification_id=str(uuid.uuid4()), read_at=None)
    world.notifications[world.member_a1].append(fresh)
    response = await client.get("/v1/me/inbox?unread_only=true", headers=headers["member"])
    assert response.status_code == 200
    items = response.json()["items"]
    assert fresh["notification_id"] in [item["notification_id"] for item in items]
    assert [item["notification_id"] for item in items] == [
        item["notification_id"] for item in world.notifications[world.member_a1] if item["read_at"] is None
    ]
    other = world.notifications[world.member_b1][0]["notification_id"]
    refused = await client.post(f"/v1/me/inbox/{other}/read", headers=headers["member"])
    assert refused.status_code == 404
    own = items[0]["notification_id"]
    marked = await client.post(f"/v1/me/inbox/{own}/read", headers=headers["member"])
    assert marked.status_code == 200 and marked.json()["read_at"] is not None


async def test_ratings_are_filtered_by_period_and_paginated(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    quarter = await client.get(f"/v1/cells/{world.cell_a1}/ratings?period=2026-Q4", headers=headers["member"])
    assert [row["period"] for row in quarter.json()["items"]] == ["2026-10", "2026-11", "2026-Q4"]
    month = await client.get(
        f"/v1/cells/{world.cell_a1}/ratings?period=2026&limit=2&offset=1", headers=headers["member"]
    )
    assert month.json()["total"] == 4 and [row["period"] for row in month.json()["items"]] == ["2026-11", "2026-Q4"]


async def test_a_running_quarter_and_year_not_rated_yet_are_listed_not_rated_among_the_ratings(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """`GET /v1/cells/{c}/ratings` left a cell's running quarter and year out while evaluation had not rated them
    (set up this month, not met yet): they are listed `not_rated`, without rating or score, as a roll-up counts such
    cells in `not_rated`."""
    world.unrated.add(world.cell_b1)
    now = datetime.now(VIETNAM_TZ)
    quarter, year = f"{now:%Y}-Q{(now.month - 1) // 3 + 1}", f"{now:%Y}"
    response = await client.get(f"/v1/cells/{world.cell_b1}/ratings?period={year}", headers=headers["province_officer"])
    assert response.status_code == 200
    items = {item["period"]: item for item in response.json()["items"]}
    for period in (quarter, year):
        assert (items[period]["rating"], items[period]["score"], items[period]["not_rated"]) == (None, None, True)
    rated = [item for period, item in items.items() if period not in (quarter, year)]
    assert rated and all(item["not_rated"] is False and item["rating"] for item in rated)


async def test_a_committee_officer_reads_the_rollup_of_their_subtree(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    response = await client.get(
        f"/v1/committees/{world.root}/rollup?period=2026-11", headers=headers["province_officer"]
    )
    assert response.status_code == 200
    assert response.json()["cells"] == 3 and response.json()["in_progress"] is False  # November 2026 has ended
    this_month = await client.get(
        f"/v1/committees/{world.root}/rollup?period={datetime.now(VIETNAM_TZ):%Y-%m}",
        headers=headers["province_officer"],
    )
    assert this_month.status_code == 200 and this_month.json()["in_progress"] is True
    weakest = await client.get(f"/v1/committees/{world.ward_a}/weakest?period=2026-11", headers=headers["ward_officer"])
    assert [item["cell_id"] for item in weakest.json()["items"]] == [world.cell_a2, world.cell_a1]


async def test_the_weakest_cells_are_only_those_rated_average_or_poor(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    province = await client.get(
        f"/v1/committees/{world.root}/weakest?period=2026-11", headers=headers["province_officer"]
    )
    assert [item["rating"] for item in province.json()["items"]] == ["poor", "average"]
    fair_only = await client.get(
        f"/v1/committees/{world.ward_b}/weakest?period=2026-11", headers=headers["province_officer"]
    )
    assert fair_only.status_code == 200 and fair_only.json()["items"] == []


async def test_requests_without_a_valid_token_are_unauthorized(client: httpx.AsyncClient, world: World) -> None:
    missing = await client.get(f"/v1/cells/{world.cell_a1}")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    forged = await client.get(f"/v1/cells/{world.cell_a1}", headers={"Authorization": "Bearer not.a.jwt"})
    assert forged.status_code == 401 and forged.json()["code"] == "unauthorized"


async def test_bad_query_parameters_name_the_field(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    response = await client.get(f"/v1/cells/{world.cell_a1}/meetings?period=2026-13", headers=headers["member"])
    assert response.status_code == 422
    assert response.json()["field"] == "query.period"
    for path in (f"/v1/committees/{world.root}/rollup", f"/v1/committees/{world.root}/weakest"):
        word = await client.get(f"{path}?period=abc", headers=headers["province_officer"])
        assert word.status_code == 422 and word.json()["field"] == "query.period"
        # a committee's report reads take a half-year too, and say so
        assert word.json()["message"] == (
            "query.period: expected a month (2026-09), a quarter (2026-Q3), a half-year (2026-H2) or a year (2026),"
            " not 'abc'"
        )
        # fullwidth and Arabic-Indic digits passed `\d` and answered 200, every cell not_met_yet
        for other_digits in ("２０２６", "٢٠٢٦-Q4", "2026-１1"):
            answer = await client.get(f"{path}?period={other_digits}", headers=headers["province_officer"])
            assert answer.status_code == 422 and answer.json()["field"] == "query.period", answer.text
    meetings = await client.get(f"/v1/cells/{world.cell_a1}/meetings?period=٢٠٢٦-11", headers=headers["member"])
    assert meetings.status_code == 422 and meetings.json()["field"] == "query.period"
    # a cell's reads take a half-year where they take a quarter, as a committee's do, and say so when misspelled
    half = await client.get(f"/v1/cells/{world.cell_a1}/meetings?period=2026-H1", headers=headers["member"])
    assert half.status_code == 200, half.text
    wrong = await client.get(f"/v1/cells/{world.cell_a1}/meetings?period=2026-H3", headers=headers["member"])
    assert wrong.status_code == 422 and wrong.json()["field"] == "query.period"
    assert wrong.json()["message"].endswith("a half-year (2026-H2) or a year (2026), not '2026-H3'"), wrong.text


async def test_the_running_month_rollup_counts_cells_not_met_yet_apart_as_the_web_shows_them(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """In the month in progress a cell that has not met yet is no Poor cell at 0 (DOMAIN.md, Periods: Poor once the
    month closes without a meeting): the API answers what the committee's page shows ("Chưa sinh hoạt")."""
    month = f"{datetime.now(VIETNAM_TZ):%Y-%m}"
    auth = headers["province_officer"]
    rollup = (await client.get(f"/v1/committees/{world.root}/rollup?period={month}", headers=auth)).json()
    assert rollup["in_progress"] is True and rollup["cells"] == 3
    assert rollup["not_met_yet"] == 2 and rollup["by_rating"] == {"good": 0, "fair": 0, "average": 1, "poor": 0}
    assert rollup["score"] == 60.5  # the cells that met, not 60.5 / 3 with the others at 0
    assert rollup["trend"]["score_delta"] == -20.0
    assert [item["cell_id"] for item in rollup["weakest"]] == [world.cell_a1]
    weakest = (await client.get(f"/v1/committees/{world.root}/weakest?period={month}", headers=auth)).json()
    assert [item["cell_id"] for item in weakest["items"]] == [world.cell_a1]
    ranking = (await client.get(f"/v1/committees/{world.root}/ranking?period={month}", headers=auth)).json()
    waiting = {item["cell_id"]: item for item in ranking["items"] if item.get("not_met_yet")}
    assert set(waiting) == {world.cell_a2, world.cell_b1}
    assert all(item["score"] is None and item["rating"] is None for item in waiting.values())
    closed = (await client.get(f"/v1/committees/{world.root}/rollup?period=2026-11", headers=auth)).json()
    assert closed["not_met_yet"] is None and closed["score"] == 80.5  # a closed month stays as evaluation rated it


async def test_a_running_month_with_no_meeting_yet_has_no_score_nor_trend(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    month = f"{datetime.now(VIETNAM_TZ):%Y-%m}"
    rollup = (
        await client.get(f"/v1/committees/{world.ward_b}/rollup?period={month}", headers=headers["province_officer"])
    ).json()
    assert rollup["not_met_yet"] == 1 and rollup["by_rating"]["poor"] == 0
    assert rollup["score"] is None and rollup["trend"]["score_delta"] is None and rollup["weakest"] == []


async def test_a_running_quarter_and_year_count_a_cell_not_rated_yet_apart_not_as_kem(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """User trial: a cell created this month read "0;Kém" in its province's running quarter, among the weakest cells.
    Evaluation leaves it unrated (`not_rated`, a ranking line without score or rating); the API says not met yet."""
    world.unrated.add(world.cell_b1)
    now = datetime.now(VIETNAM_TZ)
    auth = headers["province_officer"]
    for period in (f"{now:%Y}-Q{(now.month - 1) // 3 + 1}", f"{now:%Y}"):
        rollup = (await client.get(f"/v1/committees/{world.root}/rollup?period={period}", headers=auth)).json()
        assert rollup["in_progress"] is True and rollup["cells"] == 3, period
        assert rollup["not_met_yet"] == 1 and rollup["not_rated"] == 1, period
        assert sum(rollup["by_rating"].values()) == 2, period
        assert world.cell_b1 not in [item["cell_id"] for item in rollup["weakest"]], period
        ranking = (await client.get(f"/v1/committees/{world.root}/ranking?period={period}", headers=auth)).json()
        last = ranking["items"][-1]
        assert (last["cell_id"], last["score"], last["rating"], last["not_met_yet"]) == (
            world.cell_b1,
            None,
            None,
            True,
        ), period
        assert not any(item.get("not_met_yet") for item in ranking["items"][:-1]), period
    # a closed quarter reads as evaluation rated it
    closed = (await client.get(f"/v1/committees/{world.root}/rollup?period=2026-Q3", headers=auth)).json()
    assert closed["not_met_yet"] is None
