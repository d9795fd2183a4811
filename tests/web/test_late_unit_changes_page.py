"""Trial 33 against the real services: a cell set up on a day of this month with its `time` in last month (closed)
counts in last month from then on (docs/architecture.md "When a cell exists"), and its commune's page lists it among
the results changed after the month closed, saying when it was added and from which month. Before, the commune's
closed month dropped (one cell more, Kém at 0) with the section empty. The demo, whose tree is sent before its
history, lists no cell so."""

import uuid
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest
from faststream.rabbit import RabbitBroker

from deploy.seed_demo import publish
from shared.contracts import evaluation_rpc as evaluation
from shared.periods import VIETNAM_TZ
from shared.rpc import RpcClient
from tests.evaluation.stream import fact
from tests.evaluation.test_cell_existence import held
from tests.support.rpc import ask
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, PASSWORD, PERIOD, csrf_of, web_account

pytestmark = pytest.mark.e2e


def tree(committee: str, cell: str, name: str, at: datetime) -> list[dict[str, Any]]:
    """A cell of `committee` (and the committee itself when `cell` is its first), three official members, at `at`."""
    unit = {"id": cell, "name": name, "kind": "cell", "parent_id": committee, "category": "residential"}
    events = [fact("org.unit.upserted.v1", unit, time=at)]
    for n in (1, 2, 3):
        member = {"id": f"{cell}-m{n}", "full_name": f"Đảng viên {n}", "cell_id": cell, "status": "official"}
        events.append(fact("member.upserted.v1", member, time=at))
    return events


async def test_a_cell_set_up_late_into_last_month_is_listed_on_its_communes_page(
    system: RunningSystem, province: dict[str, str]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    committee, first, added = f"xa-bo-sung-{suffix}", f"thon-1-bo-sung-{suffix}", f"thon-4-bo-sung-{suffix}"
    month_start = datetime.combine(DEMO.months[-1], time(8, 0), tzinfo=VIETNAM_TZ)
    commune = {"id": committee, "name": "Đảng ủy xã Bổ Sung", "kind": "committee", "parent_id": None}
    history = [fact("org.unit.upserted.v1", commune, time=month_start)]
    history += tree(committee, first, "Chi bộ thôn 1", month_start)
    history += held(first, f"{first}-mtg", month_start + timedelta(days=3, hours=11))
    amqp_url = system.env["CHIBO_AMQP_URL"]
    await publish(amqp_url, history)
    async with RabbitBroker(amqp_url) as broker:
        rpc = RpcClient(broker, timeout=20)

        async def rollup() -> dict[str, Any]:
            return await ask(rpc, evaluation.GetCommitteeRollup(committee_id=committee, period=PERIOD))

        async def shown() -> bool:
            try:
                return (await rollup())["regularity"] == 1.0
            except Exception:
                return False

        await eventually(shown, timeout=120, interval=0.5)
        assert (await rollup())["late_changes"] == []

        # the trial: the new cell sent today, its `time` the 1st of last month at 08:00
        await publish(amqp_url, tree(committee, added, "Chi bộ thôn 4", month_start)[:1])

        async def listed() -> bool:
            return [item["cell_id"] for item in (await rollup())["late_changes"]] == [added]

        await eventually(listed, timeout=120, interval=0.5)
        after = await rollup()
        assert (after["cells"], after["regularity"]) == (2, 0.5)  # the rule stands: last month counts it

        demo = await ask(rpc, evaluation.GetCommitteeRollup(committee_id="demo-xa-hoa-binh", period=PERIOD))
        assert demo["late_changes"] == []  # a tree loaded with its history: nothing was added late

    sub = f"can-bo-bo-sung-{suffix}"
    await web_account(system, sub, "committee_officer", committee, None)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as client:
        form = (await client.get("/app/sign-in")).text
        signed = await client.post("/app/sign-in", data={"username": sub, "password": PASSWORD, "csrf": csrf_of(form)})
        assert signed.status_code == 303, signed.text
        page = await client.get(f"/app/committees/{committee}?period={PERIOD}")
    assert page.status_code == 200, page.text[-800:]
    section = page.text.split('id="late-changes"', 1)[1].split("</ul>", 1)[0]
    today = datetime.now(VIETNAM_TZ)
    month = f"tháng {PERIOD[5:7]}/{PERIOD[:4]}"
    assert f"Chi bộ thôn 4</a> — Được bổ sung ngày {today:%d/%m/%Y}, tính từ {month}; kết quả {month} là 0 (Kém)." in (
        section
    ), section
