"""Assessments are judged by the framework in force, also one adopted at run time (issue 10, fault 8 for every
framework): evaluation publishes the adoption (internal framework.adopted.v1), meetings keeps its items.

Both services run in this process against the package's vhost and database, over the real broker.
"""

import copy
import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import asyncpg
import pytest

from shared.contracts import evaluation_rpc as evaluation
from shared.contracts import meetings_rpc as meetings
from shared.contracts.frameworks import FRAMEWORKS_DIR, ItemTable, check_points, in_force, merged_tables
from shared.envelope import InvalidEvent
from shared.periods import VIETNAM_TZ
from shared.rpc import RpcClient, RpcError
from tests.meetings import events as ev
from tests.support.ids import random_id
from tests.support.rpc import ask, evaluation_rpc
from tests.support.running import eventually

NEW_ITEM = "digital.handbook"
NEW_ITEM_MAX = 3


@pytest.fixture(scope="module")
async def rpc(meetings_service: str, amqp_url: str, database_url: str) -> AsyncIterator[RpcClient]:
    """An RpcClient on the package's vhost, with evaluation serving in this process beside meetings."""
    async with evaluation_rpc(amqp_url, database_url) as client:
        yield client


def own_framework() -> dict[str, Any]:
    """The shipped default framework under a new id, in force from 2026, with one more item assessed by hand."""
    document: dict[str, Any] = json.loads((FRAMEWORKS_DIR / "hd42-2025.v1.json").read_text(encoding="utf-8"))
    document = copy.deepcopy(document) | {"id": random_id("fw"), "effective_from": "2026-01-01"}
    document["groups"].append(
        {
            "code": "digital",
            "name": "Sổ tay đảng viên điện tử",
            "items": [
                {
                    "code": NEW_ITEM,
                    "name": "Cập nhật sổ tay đảng viên điện tử",
                    "max": NEW_ITEM_MAX,
                    "rule": {"kind": "manual"},
                }
            ],
        }
    )
    return document


def assessed(meeting_id: str, points: dict[str, float]) -> dict[str, Any]:
    """meeting.assessed.v1 by the cell committee."""
    return ev.raw_event(
        "meeting.assessed.v1", {"meeting_id": meeting_id, "assessor": {"role": "cell_committee"}, "points": points}
    )


async def judge(rpc: RpcClient, event: dict[str, Any]) -> dict[str, Any]:
    """Ingest one event through meetings.rpc; its result (outcome, field)."""
    answer = await ask(rpc, meetings.Ingest(events=[event], route="http", account="feed-test"))
    result: dict[str, Any] = answer["results"][0]
    return result


async def test_an_adopted_frameworks_items_are_known_to_meetings(rpc: RpcClient, meetings_pool: asyncpg.Pool) -> None:
    ward, cell, other_ward, other_cell = random_id("ward"), random_id("cell"), random_id("ward"), random_id("cell")
    march = datetime(2026, 3, 10, 19, 30, tzinfo=VIETNAM_TZ)
    before = datetime(2025, 12, 10, 19, 30, tzinfo=VIETNAM_TZ)
    meeting, old_meeting, elsewhere = random_id("mtg"), random_id("mtg"), random_id("mtg")
    setup = [
        ev.unit(ward, kind="committee", name="Đảng ủy phường"),
        ev.unit(cell, parent_id=ward),
        ev.unit(other_ward, kind="committee", name="Đảng ủy xã"),
        ev.unit(other_cell, parent_id=other_ward),
        ev.scheduled(meeting, cell, starts_at=march),
        ev.scheduled(old_meeting, cell, starts_at=before),
        ev.scheduled(elsewhere, other_cell, starts_at=march),
    ]
    answer = await ask(rpc, meetings.Ingest(events=setup, route="http", account="feed-test"))
    assert [r["outcome"] for r in answer["results"]] == ["accepted"] * len(setup)

    unknown = await judge(rpc, assessed(meeting, {NEW_ITEM: 1}))  # not adopted yet: the default framework's items
    assert (unknown["outcome"], unknown["field"]) == ("rejected", f"data.points.{NEW_ITEM}")

    document = own_framework()

    async def adopt() -> dict[str, Any] | None:
        try:  # evaluation knows the ward once meetings' re-published fact has reached it
            return await ask(rpc, evaluation.AdoptFramework(document=document, committee_id=ward))
        except RpcError as exc:
            assert (exc.code, exc.field) == ("not_found", "committee_id"), exc
            return None

    adopted = await eventually(adopt, timeout=60, interval=0.5)
    assert adopted["adopted_by"] == ward

    async def projected() -> bool:
        found = await meetings_pool.fetchval(
            "SELECT manual_maxima::text FROM framework_items WHERE framework_id = $1 AND committee_key = $2",
            document["id"],
            ward,
        )
        return found is not None and json.loads(found)[NEW_ITEM] == NEW_ITEM_MAX

    await eventually(projected, timeout=60, interval=0.2)

    accepted = await judge(rpc, assessed(meeting, {NEW_ITEM: NEW_ITEM_MAX, "conduct.praise_criticism": 2}))
    assert accepted["outcome"] == "accepted", accepted
    too_many = await judge(rpc, assessed(meeting, {NEW_ITEM: NEW_ITEM_MAX + 1}))
    assert (too_many["outcome"], too_many["field"]) == ("rejected", f"data.points.{NEW_ITEM}")
    assert "maximum of 3" in too_many["reason"]
    # the framework is in force for the ward's subtree from its date only
    outside = await judge(rpc, assessed(elsewhere, {NEW_ITEM: 1}))
    assert (outside["outcome"], outside["field"]) == ("rejected", f"data.points.{NEW_ITEM}")
    earlier = await judge(rpc, assessed(old_meeting, {NEW_ITEM: 1}))
    assert (earlier["outcome"], earlier["field"]) == ("rejected", f"data.points.{NEW_ITEM}")
    shipped_item = await judge(rpc, assessed(elsewhere, {"conduct.praise_criticism": 2}))
    assert shipped_item["outcome"] == "accepted", shipped_item


def test_the_table_in_force_is_the_nearest_committees_then_the_latest_default_by_date() -> None:
    shipped = {table.framework_id: table for table in merged_tables([])}
    assert set(shipped) == {"hd12-2018", "hd42-2025"}
    ward_2026 = ItemTable("ward", "1", date(2026, 1, 1), {NEW_ITEM: 3.0}, committee_id="w1", sequence=5)
    province_2027 = ItemTable("prov", "1", date(2027, 1, 1), {"x.y": 1.0}, sequence=6)
    # evaluation's own publication of a shipped adoption replaces the built-in copy (same key, its real sequence)
    republished = ItemTable("hd42-2025", "1", shipped["hd42-2025"].effective_from, {"only": 1.0}, sequence=2)
    tables = merged_tables([ward_2026, province_2027, republished])
    assert len(tables) == 4

    def chosen(on: date, ancestors: list[str]) -> str:
        table = in_force(on, ancestors=ancestors, adoptions=tables)
        assert table is not None
        return f"{table.framework_id}/{next(iter(table.manual_maxima))}"

    assert chosen(date(2026, 3, 10), ["w1", "p"]) == f"ward/{NEW_ITEM}"
    assert chosen(date(2025, 12, 31), ["w1", "p"]) == "hd42-2025/only"  # before the ward's date: the default
    assert chosen(date(2026, 3, 10), ["w2", "p"]) == "hd42-2025/only"
    assert chosen(date(2027, 2, 1), ["w2"]) == "prov/x.y"
    assert chosen(date(2027, 2, 1), ["w1"]) == f"ward/{NEW_ITEM}"  # the nearest committee's wins over a later default
    assert chosen(date(2000, 1, 1), []).startswith("hd12-2018/")  # before every default: the earliest


def test_points_are_judged_against_the_chosen_table() -> None:
    table = ItemTable("ward", "1", date(2026, 1, 1), {NEW_ITEM: 3.0})
    check_points({NEW_ITEM: 3}, table=table)
    with pytest.raises(InvalidEvent) as above:
        check_points({NEW_ITEM: 3.5}, table=table)
    assert above.value.field == f"data.points.{NEW_ITEM}"
    with pytest.raises(InvalidEvent) as unknown:
        check_points({"conduct.bribery": 1}, table=table)
    assert unknown.value.field == "data.points.conduct.bribery" and "ward version 1" in unknown.value.reason
