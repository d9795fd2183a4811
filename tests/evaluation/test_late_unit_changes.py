"""A cell set up late with an effective time in a closed month is listed among its committees' late changes.

Trial 33: `org.unit.upserted.v1` for a new cell of the demo commune with `time` 1 November 08:00, sent on 5 December.
A cell exists from the local month of its first snapshot's `time` (docs/architecture.md, "When a cell exists"), so the
finished November now counts it, Poor at 0, and the commune's November score and regular-meetings share drop; the rule
stands, but the roll-up's `late_changes` (the committee page, the summary PDF) said nothing. Evaluation now notes it in
`period_late_change` as a late minute is noted, kind "unit_added", seen only by the committees above the cell.
"""

from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from shared.contracts import evaluation_rpc as evaluation
from shared.rpc import RpcClient
from tests.evaluation.stream import at, fact, publish
from tests.evaluation.test_cell_existence import held
from tests.evaluation.test_late_changes import CLOCK, NOVEMBER, notes, rpc
from tests.evaluation.waiting import applied_and_scored, current_reply
from tests.support.ids import random_id
from tests.support.running import eventually

__all__ = ["rpc"]  # the evaluation service serving with CLOCK as its today

SENT_ON = date(2026, 12, 5)


def unit(unit_id: str, name: str, kind: str, parent_id: str | None, *, time: datetime) -> dict[str, Any]:
    data = {"id": unit_id, "name": name, "kind": kind, "parent_id": parent_id}
    return fact("org.unit.upserted.v1", data, time=time)


async def send(amqp_url: str, db: asyncpg.Connection, cell_ids: list[str], events: list[dict[str, Any]]) -> None:
    """Publish the facts on chibo.events and wait until evaluation applied them and scored the cells."""
    await publish(amqp_url, events)
    await eventually(lambda: applied_and_scored(db, event_ids=[e["id"] for e in events], cell_ids=cell_ids), timeout=60)


async def a_commune_that_met_in_november(amqp_url: str, db: asyncpg.Connection) -> tuple[str, str, str, list[str]]:
    """A province with two communes; the first's two cells held November's meeting, rated while November ran, the
    second's one cell too. Then 5 December comes. The province's id, the communes', and the first's cells."""
    CLOCK.now = NOVEMBER
    province, commune, other = random_id("province"), random_id("commune"), random_id("commune")
    cells = [random_id("cell"), random_id("cell")]
    far = random_id("cell")
    tree = [
        unit(province, "Tỉnh ủy Phú Thọ", "committee", None, time=at(11, 1, 8)),
        unit(commune, "Đảng ủy xã Hòa Bình", "committee", province, time=at(11, 1, 8)),
        unit(other, "Đảng ủy phường An Phú", "committee", province, time=at(11, 1, 8)),
        *[unit(cell, f"Chi bộ thôn {n}", "cell", commune, time=at(11, 1, 8)) for n, cell in enumerate(cells, 1)],
        unit(far, "Chi bộ khu phố 1", "cell", other, time=at(11, 1, 8)),
    ]
    await send(amqp_url, db, [*cells, far], tree)
    for cell in [*cells, far]:
        await send(amqp_url, db, [cell], held(cell, random_id("mtg"), at(11, 5)))
    CLOCK.now = SENT_ON
    return province, commune, other, cells


async def test_a_cell_set_up_late_counting_from_a_closed_month_is_listed_in_its_committees_late_changes(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    province, commune, other, cells = await a_commune_that_met_in_november(amqp_url, db)
    before = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=commune, period="2026-11"))
    assert (before["cells"], before["regularity"], before["late_changes"]) == (2, 1.0, [])

    added = random_id("cell")
    await send(
        amqp_url,
        db,
        [added],
        [unit(added, "Chi bộ thôn 4", "cell", commune, time=datetime.fromisoformat("2026-11-01T08:00:00+07:00"))],
    )

    # the rule stands (docs/architecture.md "When a cell exists"): November counts the new cell, Poor at 0
    after = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=commune, period="2026-11"))
    assert after["cells"] == 3
    assert after["regularity"] < before["regularity"] and after["score"] < before["score"]
    # and it is said: one late change, the cell added on 5 December, counted from November
    noted = await notes(db, added)
    assert [(n["period"], n["kind"], n["old_rating"], n["old_score"], n["new_rating"]) for n in noted] == [
        ("2026-11", "unit_added", None, None, "poor")
    ]
    assert [item["cell_id"] for item in after["late_changes"]] == [added]
    assert after["late_changes_total"] == 1
    late = after["late_changes"][0]
    assert late["name"] == "Chi bộ thôn 4"
    assert (late["late_change"]["kind"], late["late_change"]["old_score"]) == ("unit_added", None)
    assert (late["late_change"]["new_rating"], late["late_change"]["new_score"]) == ("poor", 0.0)
    assert datetime.now(noted[0]["changed_at"].tzinfo) - noted[0]["changed_at"] < timedelta(minutes=5)

    # scoping: the province above sees it, the other commune does not
    above = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=province, period="2026-11"))
    beside = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=other, period="2026-11"))
    assert [item["cell_id"] for item in above["late_changes"]] == [added]
    assert (beside["late_changes"], beside["late_changes_total"]) == ([], 0)
    # the sibling cells' November did not change: no note for them
    assert [await notes(db, cell) for cell in cells] == [[], []]


async def test_a_cell_set_up_in_the_running_month_leaves_no_late_change(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    _, commune, _, _ = await a_commune_that_met_in_november(amqp_url, db)
    added = random_id("cell")
    await send(amqp_url, db, [added], [unit(added, "Chi bộ thôn 5", "cell", commune, time=at(12, 5, 8))])
    assert await notes(db, added) == []
    rollup = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=commune, period="2026-11"))
    assert (rollup["cells"], rollup["late_changes"]) == (2, [])


async def test_a_tree_and_its_history_loaded_after_the_month_closed_leave_no_late_change(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """A commune's tree loaded on 5 December, then its November history (the demo, a backfill): November was never
    shown before, so no cell of it is listed as added late."""
    CLOCK.now = SENT_ON
    commune, cells = random_id("commune"), [random_id("cell"), random_id("cell")]
    tree = [
        unit(commune, "Đảng ủy xã Hòa Bình", "committee", None, time=at(11, 1, 8)),
        *[unit(cell, f"Chi bộ thôn {n}", "cell", commune, time=at(11, 1, 8)) for n, cell in enumerate(cells, 1)],
    ]
    await send(amqp_url, db, cells, tree)
    for cell in cells:
        await send(amqp_url, db, [cell], held(cell, random_id("mtg"), at(11, 5)))
    assert [await notes(db, cell) for cell in cells] == [[], []]
    rollup = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=commune, period="2026-11"))
    assert (rollup["cells"], rollup["late_changes"]) == (2, [])


async def test_a_cell_closed_late_with_an_earlier_effective_time_is_listed_in_its_committees_late_changes(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """A cell that last met in October, shown Poor for November while November ran (its meeting scheduled, never
    held), made inactive on 5 December with `time` 25 October: November no longer counts it, and the commune's
    late changes say so, with the figures it stood at."""
    CLOCK.now = date(2026, 10, 20)
    commune, other = random_id("commune"), random_id("commune")
    staying, closing, far = random_id("cell"), random_id("cell"), random_id("cell")
    tree = [
        unit(commune, "Đảng ủy xã Hòa Bình", "committee", None, time=at(10, 1, 8)),
        unit(other, "Đảng ủy phường An Phú", "committee", None, time=at(10, 1, 8)),
        unit(staying, "Chi bộ thôn 1", "cell", commune, time=at(10, 1, 8)),
        unit(closing, "Chi bộ thôn 3", "cell", commune, time=at(10, 1, 8)),
        unit(far, "Chi bộ khu phố 1", "cell", other, time=at(10, 1, 8)),
    ]
    await send(amqp_url, db, [staying, closing, far], tree)
    for cell in (staying, closing, far):
        await send(amqp_url, db, [cell], held(cell, random_id("mtg"), at(10, 5)))
    CLOCK.now = NOVEMBER
    await send(amqp_url, db, [staying], held(staying, random_id("mtg"), at(11, 5)))
    await send(amqp_url, db, [closing], held(closing, random_id("mtg"), at(11, 28))[:1])  # scheduled, never held
    before = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=commune, period="2026-11"))
    assert before["cells"] == 2
    CLOCK.now = SENT_ON

    closed = fact(
        "org.unit.upserted.v1",
        {"id": closing, "name": "Chi bộ thôn 3", "kind": "cell", "parent_id": commune, "active": False},
        time=at(10, 25, 8),
    )
    await send(amqp_url, db, [closing], [closed])

    after = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=commune, period="2026-11"))
    assert after["cells"] == 1  # the rule stands: November no longer counts it
    noted = await notes(db, closing)
    assert [(n["period"], n["kind"], n["old_rating"], n["new_rating"], n["new_score"]) for n in noted] == [
        ("2026-11", "unit_closed", "poor", None, None)
    ]
    assert [item["cell_id"] for item in after["late_changes"]] == [closing]
    late = after["late_changes"][0]["late_change"]
    assert (late["kind"], late["old_rating"], late["new_score"]) == ("unit_closed", "poor", None)
    beside = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=other, period="2026-11"))
    assert beside["late_changes"] == []
    october = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=commune, period="2026-10"))
    assert (october["cells"], october["late_changes"]) == (2, [])  # the month it closed in counts whole
