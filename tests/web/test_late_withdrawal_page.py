"""A new user's finding against the real services: last month's only held meeting of a cell, cancelled after the
month closed (`meeting.cancelled.v1`, its score withdrawn), took the month from its meeting's result to Kém at 0
with `late_change` null on the roll-up, and the commune's page and the report CSV said nothing ("Ghi nhận muộn"
blank). The month is noted now as a withdrawal naming the meeting's day, on the committee page, the cell page and
the CSV."""

import csv
import io
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
from tests.evaluation.waiting import current_reply
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, PASSWORD, PERIOD, csrf_of, web_account
from tests.web.test_late_unit_changes_page import tree

pytestmark = pytest.mark.e2e


async def test_last_months_only_meeting_cancelled_is_said_on_the_pages_and_the_csv(
    system: RunningSystem, province: dict[str, str]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    committee, cell = f"xa-huy-{suffix}", f"thon-1-huy-{suffix}"
    month_start = datetime.combine(DEMO.months[-1], time(8, 0), tzinfo=VIETNAM_TZ)
    meeting_start = month_start + timedelta(days=3, hours=11)
    commune = {"id": committee, "name": "Đảng ủy xã Hủy Họp", "kind": "committee", "parent_id": None}
    history = [
        fact("org.unit.upserted.v1", commune, time=month_start),
        *tree(committee, cell, "Chi bộ thôn 1", month_start),
    ]
    history += held(cell, f"{cell}-mtg", meeting_start)
    amqp_url = system.env["CHIBO_AMQP_URL"]
    await publish(amqp_url, history)
    async with RabbitBroker(amqp_url) as broker:
        rpc = RpcClient(broker, timeout=20)

        async def rollup() -> dict[str, Any]:
            return await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=committee, period=PERIOD))

        async def shown() -> bool:
            try:
                return (await rollup())["regularity"] == 1.0
            except Exception:
                return False

        await eventually(shown, timeout=120, interval=0.5)
        assert (await rollup())["late_changes"] == []

        cancelled = {"meeting_id": f"{cell}-mtg", "reason": "Chi ủy đề nghị hủy"}
        await publish(amqp_url, [fact("meeting.cancelled.v1", cancelled, time=datetime.now(VIETNAM_TZ))])

        async def listed() -> bool:
            return [item["cell_id"] for item in (await rollup())["late_changes"]] == [cell]

        await eventually(listed, timeout=120, interval=0.5)
        late = (await rollup())["late_changes"][0]["late_change"]
        assert (late["kind"], late["meeting_id"], late["new_rating"]) == ("withdrawn", f"{cell}-mtg", "poor")

    sub = f"can-bo-huy-{suffix}"
    await web_account(system, sub, "committee_officer", committee, None)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as client:
        form = (await client.get("/app/sign-in")).text
        signed = await client.post("/app/sign-in", data={"username": sub, "password": PASSWORD, "csrf": csrf_of(form)})
        assert signed.status_code == 303, signed.text
        page = await client.get(f"/app/committees/{committee}?period={PERIOD}")
        cell_page = await client.get(f"/app/cells/{cell}?year={PERIOD[:4]}")
        report = await client.get(f"/app/committees/{committee}/report.csv?period={PERIOD}")
    said = f"Ghi nhận muộn: buổi sinh hoạt ngày {meeting_start:%d/%m/%Y} đã hủy, ghi nhận ngày "
    assert page.status_code == 200, page.text[-800:]
    section = page.text.split('id="late-changes"', 1)[1].split("</ul>", 1)[0]
    assert f"Chi bộ thôn 1</a> — {said}" in section, section
    assert cell_page.status_code == 200, cell_page.text[-800:]
    assert said in cell_page.text
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";"))
    row = {line[0]: line for line in rows[1:]}[cell]
    assert row[-2].startswith(said) and "xuống 0 (Kém)." in row[-2]
