"""Trial 33 against the real services: a cell set up on a day of this month with its `time` in last month (closed)
counts in last month from then on (docs/architecture.md "When a cell exists"), and its commune's page lists it among
the results changed after the month closed, saying when it was added and from which month. Before, the commune's
closed month dropped (one cell more, Kém at 0) with the section empty. A tree loaded with its history leaves none
(tests/evaluation/test_late_unit_changes.py, on its own tree: the demo's said so only in the order its cells were
scored)."""

import csv
import io
import uuid
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest
from faststream.rabbit import RabbitBroker

from deploy.seed_demo import publish
from services.gateway.web.i18n import format_rating
from shared.contracts import evaluation_rpc as evaluation
from shared.numbers import format_number
from shared.periods import VIETNAM_TZ
from shared.rpc import RpcClient
from tests.evaluation.stream import fact
from tests.evaluation.test_cell_existence import held
from tests.evaluation.waiting import current_reply
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
    """The trial, then the new cell's own meeting of last month recorded: the late change, the ranking (API), the
    committee page's line and the report CSV's row say the same result for its month (h346: the note kept the Kém at
    0 it was added with). Every wait is on a condition of this test's own commune, whatever order the scoring worker
    takes its cells in (the demo, whose late changes hung on that order and on other tests' cells, is not read)."""
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
            return await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=committee, period=PERIOD))

        async def line() -> dict[str, Any] | None:
            ranking = await current_reply(
                rpc, evaluation.GetCommitteeRanking(committee_id=committee, period=PERIOD, order="desc", limit=10)
            )
            return {item["cell_id"]: item for item in ranking["items"]}.get(added)

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
        late = after["late_changes"][0]["late_change"]
        ranked = await line()
        assert ranked is not None and (ranked["score"], ranked["rating"]) == (0.0, "poor")
        assert (late["kind"], late["new_score"], late["new_rating"]) == ("unit_added", 0.0, "poor")

        # then its meeting of last month recorded (its members first): the month is the meeting's result now
        await publish(amqp_url, tree(committee, added, "Chi bộ thôn 4", month_start)[1:])
        await publish(amqp_url, held(added, f"{added}-mtg", month_start + timedelta(days=10, hours=11)))

        async def met() -> bool:
            found = await line()
            return found is not None and found["regular_held"] == 1

        await eventually(met, timeout=120, interval=0.5)
        ranked = await line()
        assert ranked is not None and ranked["score"] > 0
        late = [item["late_change"] for item in (await rollup())["late_changes"] if item["cell_id"] == added][0]
        assert (late["kind"], late["new_score"], late["new_rating"]) == (
            "unit_added",
            ranked["score"],
            ranked["rating"],
        )
        assert ranked["late_change"] == late

    sub = f"can-bo-bo-sung-{suffix}"
    await web_account(system, sub, "committee_officer", committee, None)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as client:
        form = (await client.get("/app/sign-in")).text
        signed = await client.post("/app/sign-in", data={"username": sub, "password": PASSWORD, "csrf": csrf_of(form)})
        assert signed.status_code == 303, signed.text
        page = await client.get(f"/app/committees/{committee}?period={PERIOD}")
        report = await client.get(f"/app/committees/{committee}/report.csv?period={PERIOD}")
    assert page.status_code == 200, page.text[-800:]
    section = page.text.split('id="late-changes"', 1)[1].split("</ul>", 1)[0]
    day = datetime.fromisoformat(late["first_changed_at"]).astimezone(VIETNAM_TZ)
    month = f"tháng {PERIOD[5:7]}/{PERIOD[:4]}"
    result = f"{format_number(ranked['score'])} ({format_rating(ranked['rating'])})"
    note = f"Được bổ sung ngày {day:%d/%m/%Y}, tính từ {month}; kết quả {month} là {result}."
    assert f"Chi bộ thôn 4</a> — {note}" in section, section
    assert report.status_code == 200, report.text
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";"))
    row = {line[0]: line for line in rows[1:]}[added]
    assert (row[2], row[-2]) == (format_number(ranked["score"]), note)
    assert row[3].startswith(format_rating(ranked["rating"]))  # "(tạm tính)" while its final documents may come
