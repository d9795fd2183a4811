"""A commune whose only cell moved to another commune after the month closed (h363, against the real services):
evaluation answered its roll-up of that month `not_found` (no cell's month is stored under it any more), so the commune
page had no list to say that its cell had moved away, although it had shown the month with the cell. Its page now
reads the month with no cell and lists the move, as the commune that gained the cell does."""

import uuid
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest
from faststream.rabbit import RabbitBroker

from deploy.seed_demo import publish
from shared.contracts import evaluation_rpc as evaluation
from shared.periods import VIETNAM_TZ
from shared.rpc import RpcClient, RpcError
from tests.evaluation.stream import fact
from tests.evaluation.test_cell_existence import held
from tests.evaluation.waiting import current_reply
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, PASSWORD, PERIOD, csrf_of, web_account
from tests.web.test_late_unit_changes_page import tree

pytestmark = pytest.mark.e2e


async def test_a_commune_whose_only_cell_moved_away_still_says_it_on_its_page(
    system: RunningSystem, province: dict[str, str]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    left, joined, cell = f"xa-roi-{suffix}", f"phuong-nhan-{suffix}", f"thon-3-roi-{suffix}"
    month_start = datetime.combine(DEMO.months[-1], time(8, 0), tzinfo=VIETNAM_TZ)
    communes = [
        {"id": left, "name": "Đảng ủy xã Hòa Bình", "kind": "committee", "parent_id": None},
        {"id": joined, "name": "Đảng ủy phường An Phú", "kind": "committee", "parent_id": None},
    ]
    history = [fact("org.unit.upserted.v1", commune, time=month_start) for commune in communes]
    history += tree(left, cell, "Chi bộ thôn 3", month_start)
    history += held(cell, f"{cell}-mtg", month_start + timedelta(days=3, hours=11))
    amqp_url = system.env["CHIBO_AMQP_URL"]
    await publish(amqp_url, history)
    async with RabbitBroker(amqp_url) as broker:
        rpc = RpcClient(broker, timeout=20)

        async def rollup(committee: str) -> dict[str, Any]:
            return await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=committee, period=PERIOD))

        async def shown() -> bool:
            try:
                return (await rollup(left))["regularity"] == 1.0
            except Exception:
                return False

        await eventually(shown, timeout=120, interval=0.5)
        moved = {"id": cell, "name": "Chi bộ thôn 3", "kind": "cell", "parent_id": joined, "category": "residential"}
        await publish(amqp_url, [fact("org.unit.upserted.v1", moved, time=datetime.now(VIETNAM_TZ))])

        async def listed() -> bool:
            try:  # the commune joined had no data until the move is applied
                return [item["cell_id"] for item in (await rollup(joined))["late_changes"]] == [cell]
            except RpcError:
                return False

        await eventually(listed, timeout=120, interval=0.5)

    sub = f"can-bo-roi-{suffix}"
    await web_account(system, sub, "committee_officer", left, None)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as client:
        form = (await client.get("/app/sign-in")).text
        signed = await client.post("/app/sign-in", data={"username": sub, "password": PASSWORD, "csrf": csrf_of(form)})
        assert signed.status_code == 303, signed.text
        page = await client.get(f"/app/committees/{left}?period={PERIOD}")
    assert page.status_code == 200, page.text[-800:]
    assert 'id="late-changes"' in page.text, page.text[-2000:]
    section = page.text.split('id="late-changes"', 1)[1].split("</ul>", 1)[0]
    said = "Chuyển sang Đảng ủy phường An Phú (trước thuộc Đảng ủy xã Hòa Bình), ghi nhận ngày "
    assert "Chi bộ thôn 3" in section and said in section, section
    assert '<dd data-figure="cells">0</dd>' in page.text
