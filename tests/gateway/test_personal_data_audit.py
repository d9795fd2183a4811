"""Issue 11: reads of members' personal data (names, e-mails, histories, rosters, minutes) are audited too."""

import json

import httpx

from services.gateway.bootstrap import GatewayState
from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World
from tests.support.ids import random_id


async def audit_rows(state: GatewayState, sub: str) -> list[tuple[str, str, int, object]]:
    rows = await state.pool.fetch(
        "SELECT method, path, status, detail::text AS detail FROM audit_log WHERE sub = $1 ORDER BY id", sub
    )
    return [(row["method"], row["path"], row["status"], row["detail"]) for row in rows]


async def test_each_read_of_personal_data_is_an_audit_row_and_other_reads_are_not(
    client: httpx.AsyncClient, state: GatewayState, token_for: TokenFactory, world: World
) -> None:
    person = random_id("per")
    auth = await token_for("committee_officer", world.ward_a, person)
    me = (await client.get("/v1/me", headers=auth)).json()["sub"]
    reads = [
        (f"/v1/cells/{world.cell_a1}/members", 200, "members", world.cell_a1),
        (f"/v1/members/{world.member_a1}/history", 200, "member_history", world.member_a1),
        (f"/v1/meetings/{world.meeting_a1}", 200, "meeting", world.meeting_a1),
        (f"/v1/meetings/{world.meeting_a1}/attendance", 200, "attendance", world.meeting_a1),
        (f"/v1/meetings/{world.meeting_a1}/minutes", 200, "minutes", world.meeting_a1),
        # refused reads are evidence too: who tried to read whose data
        (f"/v1/cells/{world.cell_b1}/members", 404, "members", world.cell_b1),
    ]
    for path, status, _, _ in reads:
        assert (await client.get(path, headers=auth)).status_code == status
    # reads that name no member are not audited
    assert (await client.get(f"/v1/cells/{world.cell_a1}", headers=auth)).status_code == 200
    assert (await client.get(f"/v1/committees/{world.ward_a}/rollup?period=2026-11", headers=auth)).status_code == 200
    rows = await audit_rows(state, me)
    assert [(method, path, status) for method, path, status, _ in rows] == [("GET", p, s) for p, s, _, _ in reads]
    assert [json.loads(str(detail)) for *_, detail in rows] == [
        {"personal_data": what, "subject": subject} for _, _, what, subject in reads
    ]
