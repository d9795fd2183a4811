"""A cell moved to another committee after a month closed: each committee whose finished month changed is told.

h351: `org.unit.upserted.v1` moving a cell from commune A to commune B, sent on 5 December with `time` in the finished
November. The tree keeps one parent, so the cell's whole history follows it: A's November no longer counts it, B's
does (docs/architecture.md "When a cell exists", "A cell moved to another committee"). Before, both finished
Novembers changed and neither committee was told; now each lists the move among its late changes (kind
"unit_moved"), the committees above both (whose figures did not change) do not.
"""

from datetime import datetime
from typing import Any

import asyncpg
import pytest

from shared.contracts import evaluation_rpc as evaluation
from shared.rpc import RpcClient, RpcError
from tests.evaluation.stream import at, fact
from tests.evaluation.test_cell_existence import held
from tests.evaluation.test_late_changes import CLOCK, NOVEMBER, rpc
from tests.evaluation.test_late_unit_changes import SENT_ON, send, unit
from tests.evaluation.waiting import current_reply
from tests.support.ids import random_id
from tests.support.rpc import ask

__all__ = ["rpc"]  # the evaluation service serving with CLOCK as its today

BACKDATED = datetime.fromisoformat("2026-11-20T08:00:00+07:00")


async def two_communes_that_met_in_november(amqp_url: str, db: asyncpg.Connection) -> dict[str, Any]:
    """A province with communes A (cells `moving` and `staying`) and B (cell `there`), each cell's November meeting
    held and rated while November ran; then 5 December comes."""
    CLOCK.now = NOVEMBER
    ids = {key: random_id(key) for key in ("province", "a", "b", "moving", "staying", "there")}
    tree = [
        unit(ids["province"], "Tỉnh ủy Phú Thọ", "committee", None, time=at(11, 1, 8)),
        unit(ids["a"], "Đảng ủy xã Hòa Bình", "committee", ids["province"], time=at(11, 1, 8)),
        unit(ids["b"], "Đảng ủy phường An Phú", "committee", ids["province"], time=at(11, 1, 8)),
        unit(ids["moving"], "Chi bộ thôn 3", "cell", ids["a"], time=at(11, 1, 8)),
        unit(ids["staying"], "Chi bộ thôn 1", "cell", ids["a"], time=at(11, 1, 8)),
        unit(ids["there"], "Chi bộ khu phố 1", "cell", ids["b"], time=at(11, 1, 8)),
    ]
    ids.update(await met_in_november(amqp_url, db, tree, [ids["moving"], ids["staying"], ids["there"]]))
    return ids


async def met_in_november(
    amqp_url: str, db: asyncpg.Connection, tree: list[dict[str, Any]], cells: list[str]
) -> dict[str, str]:
    """The `tree` sent, then each of `cells`' November meetings held and rated while November ran; then 5 December
    comes: `<cell>-meeting` to each meeting's id."""
    CLOCK.now = NOVEMBER
    await send(amqp_url, db, cells, tree)
    meetings = {f"{cell}-meeting": random_id("mtg") for cell in cells}
    for cell in cells:
        await send(amqp_url, db, [cell], held(cell, meetings[f"{cell}-meeting"], at(11, 5)))
    CLOCK.now = SENT_ON
    return meetings


async def rollup(rpc: RpcClient, unit_id: str, period: str = "2026-11") -> dict[str, Any]:
    """The committee's roll-up once it reads the current tree: a move's tree change is applied by the read itself
    or, while a refresh holds the tree lock, by that refresh, and until then the reply is the tree as last applied,
    `recalculating` (h532: these tests read the moves' figures, so they wait for the change, not for the fact:
    waiting.current_reply)."""
    return await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=unit_id, period=period))


async def test_a_cell_moved_with_a_backdated_time_is_a_late_change_of_both_communes(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    ids = await two_communes_that_met_in_november(amqp_url, db)
    a_before, b_before = await rollup(rpc, ids["a"]), await rollup(rpc, ids["b"])
    assert (a_before["cells"], b_before["cells"], a_before["late_changes"]) == (2, 1, [])
    month = await db.fetchrow(
        "SELECT rating, score FROM evaluation.cell_period WHERE cell_id = $1 AND period = '2026-11'", ids["moving"]
    )

    moved = unit(ids["moving"], "Chi bộ thôn 3", "cell", ids["b"], time=BACKDATED)
    await send(amqp_url, db, [ids["moving"]], [moved])

    # the documented rule: the cell's months follow it, November included, consistently in both communes' figures
    a_after, b_after = await rollup(rpc, ids["a"]), await rollup(rpc, ids["b"])
    assert (a_after["cells"], b_after["cells"]) == (1, 2)
    province = await rollup(rpc, ids["province"])
    assert province["cells"] == 3 and province["late_changes"] == []  # its November did not change

    # and it is said to each commune whose finished November changed
    for committee, seen in ((ids["a"], a_after), (ids["b"], b_after)):
        assert [item["cell_id"] for item in seen["late_changes"]] == [ids["moving"]], committee
        assert seen["late_changes_total"] == 1
        late = seen["late_changes"][0]
        assert late["name"] == "Chi bộ thôn 3"
        change = late["late_change"]
        assert change["kind"] == "unit_moved"
        assert (change["moved_from_name"], change["moved_to_name"]) == ("Đảng ủy xã Hòa Bình", "Đảng ủy phường An Phú")
        assert (change["new_rating"], change["new_score"]) == (month["rating"], pytest.approx(month["score"]))
    # B's report line of the cell says it too (the CSV's "Ghi nhận muộn" column)
    report = await current_reply(rpc, evaluation.GetCommitteeReport(committee_id=ids["b"], period="2026-11", limit=10))
    lines = {item["cell_id"]: item for item in report["items"]}
    assert lines[ids["moving"]]["late_change"]["kind"] == "unit_moved"
    assert lines[ids["there"]]["late_change"] is None
    # the running month and the commune's other cell: nothing noted
    assert (await rollup(rpc, ids["a"], "2026-12"))["late_changes"] == []


async def test_a_snapshot_older_than_the_current_one_moves_nothing_and_notes_nothing(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """Snapshots are ordered by `time` (CONTRACT.md): a move dated before the cell's current snapshot loses."""
    ids = await two_communes_that_met_in_november(amqp_url, db)
    stale = unit(ids["moving"], "Chi bộ thôn 3", "cell", ids["b"], time=at(10, 20, 8))
    await send(amqp_url, db, [ids["moving"]], [stale])
    a_after, b_after = await rollup(rpc, ids["a"]), await rollup(rpc, ids["b"])
    assert (a_after["cells"], b_after["cells"]) == (2, 1)
    assert (a_after["late_changes"], b_after["late_changes"]) == ([], [])


async def test_a_cell_moved_before_any_month_was_shown_leaves_no_late_change(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """A move in the month the cell was set up, nothing of it closed yet: nobody saw a finished month change (no
    month of the cell is noted; a move noted is what the committees' roll-ups list)."""
    CLOCK.now = NOVEMBER
    a, b, cell = random_id("a"), random_id("b"), random_id("cell")
    tree = [
        unit(a, "Đảng ủy xã Hòa Bình", "committee", None, time=at(11, 1, 8)),
        unit(b, "Đảng ủy phường An Phú", "committee", None, time=at(11, 1, 8)),
        unit(cell, "Chi bộ thôn 3", "cell", a, time=at(11, 1, 8)),
    ]
    await send(amqp_url, db, [cell], tree)
    await send(amqp_url, db, [cell], [unit(cell, "Chi bộ thôn 3", "cell", b, time=at(11, 10, 8))])
    CLOCK.now = SENT_ON
    assert await db.fetch("SELECT * FROM evaluation.unit_move_change WHERE cell_id = $1", cell) == []


async def test_a_commune_moved_to_another_district_is_noted_to_both_districts_with_each_of_its_cells(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """The whole kind: a committee moved takes its cells along; the districts it left and joined are told of each
    cell's finished month, the commune itself and the province above both (no figure of theirs changed) are not."""
    CLOCK.now = NOVEMBER
    province, left, joined, commune = (random_id(key) for key in ("province", "district", "district", "commune"))
    cells = [random_id("cell"), random_id("cell")]
    tree = [
        unit(province, "Tỉnh ủy Phú Thọ", "committee", None, time=at(11, 1, 8)),
        unit(left, "Huyện ủy Thanh Sơn", "committee", province, time=at(11, 1, 8)),
        unit(joined, "Huyện ủy Tân Sơn", "committee", province, time=at(11, 1, 8)),
        unit(commune, "Đảng ủy xã Hòa Bình", "committee", left, time=at(11, 1, 8)),
        *[unit(cell, f"Chi bộ thôn {n}", "cell", commune, time=at(11, 1, 8)) for n, cell in enumerate(cells, 1)],
    ]
    await send(amqp_url, db, cells, tree)
    for cell in cells:
        await send(amqp_url, db, [cell], held(cell, random_id("mtg"), at(11, 5)))
    CLOCK.now = SENT_ON
    await send(amqp_url, db, [], [unit(commune, "Đảng ủy xã Hòa Bình", "committee", joined, time=BACKDATED)])

    seen = await rollup(rpc, joined)
    assert seen["cells"] == 2
    assert sorted(item["cell_id"] for item in seen["late_changes"]) == sorted(cells)
    assert {item["late_change"]["moved_from_name"] for item in seen["late_changes"]} == {"Huyện ủy Thanh Sơn"}
    # the district left holds no cell now: its roll-up has no data to show, the notes name it all the same
    noted = await db.fetch("SELECT * FROM evaluation.unit_move_change WHERE cell_id = ANY($1::text[])", cells)
    assert sorted((row["cell_id"], row["period"]) for row in noted) == sorted((cell, "2026-11") for cell in cells)
    assert {(tuple(row["left_ids"]), tuple(row["joined_ids"])) for row in noted} == {((left,), (joined,))}
    for quiet in (commune, province):
        assert (await rollup(rpc, quiet))["late_changes"] == []


async def test_the_moved_cells_own_periods_say_the_move_as_its_committees_do(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """The cell's own page (GetCellPeriods) listed its other late changes but not its move: its November carries the
    move as the communes' roll-ups do (kind "unit_moved", from A to B, the month's figures unchanged), and so do its
    fourth quarter and year, with their own figures (h524: they carried none, as if their figures had not moved with
    the cell; the communes' quarter and year say it since h512); the cell that stayed and its running month carry
    none."""
    ids = await two_communes_that_met_in_november(amqp_url, db)
    await send(amqp_url, db, [ids["moving"]], [unit(ids["moving"], "Chi bộ thôn 3", "cell", ids["b"], time=BACKDATED)])

    periods = await ask(rpc, evaluation.GetCellPeriods(cell_id=ids["moving"], year=2026))
    by_period = {item["period"]: item for item in periods["periods"]}
    change = by_period["2026-11"]["late_change"]
    assert change is not None and change["kind"] == "unit_moved", by_period["2026-11"]
    assert (change["moved_from_id"], change["moved_to_id"]) == (ids["a"], ids["b"])
    assert (change["moved_from_name"], change["moved_to_name"]) == ("Đảng ủy xã Hòa Bình", "Đảng ủy phường An Phú")
    november = by_period["2026-11"]
    assert (change["new_rating"], change["new_score"]) == (november["rating"], november["score"])
    from_a = (await rollup(rpc, ids["a"]))["late_changes"][0]["late_change"]
    assert change == from_a  # the same note, in the same words on every page
    assert [item["period"] for item in periods["periods"] if item.get("late_change")] == ["2026-11", "2026-Q4", "2026"]
    for period in ("2026-Q4", "2026"):
        own, row = by_period[period]["late_change"], by_period[period]
        assert (own["kind"], own["moved_to_id"]) == ("unit_moved", ids["b"])
        assert (own["new_rating"], own["new_score"]) == (row["rating"], row["score"])
        of_a = (await rollup(rpc, ids["a"], period))["late_changes"]
        assert own == of_a[0]["late_change"]  # the same note as the commune's quarter or year
    stayed = await ask(rpc, evaluation.GetCellPeriods(cell_id=ids["staying"], year=2026))
    assert [item for item in stayed["periods"] if item.get("late_change")] == []


async def test_a_root_commune_put_under_a_district_is_noted_to_the_committees_that_gained_its_cells(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """A unit with no parent (a root) put under a committee later: the district and the province gain its cells'
    finished months and are told (before, only a unit that had a parent was looked at); the note says it was under no
    committee before (`moved_from_id` None)."""
    CLOCK.now = NOVEMBER
    province, district, commune, cell, other = (
        random_id(key) for key in ("province", "district", "commune", "cell", "cell")
    )
    tree = [
        unit(province, "Tỉnh ủy Phú Thọ", "committee", None, time=at(11, 1, 8)),
        unit(district, "Huyện ủy Tân Sơn", "committee", province, time=at(11, 1, 8)),
        unit(other, "Chi bộ khu phố 1", "cell", district, time=at(11, 1, 8)),
        unit(commune, "Đảng ủy xã Hòa Bình", "committee", None, time=at(11, 1, 8)),
        unit(cell, "Chi bộ thôn 3", "cell", commune, time=at(11, 1, 8)),
    ]
    await met_in_november(amqp_url, db, tree, [cell, other])
    await send(amqp_url, db, [], [unit(commune, "Đảng ủy xã Hòa Bình", "committee", district, time=BACKDATED)])

    for committee in (district, province):
        seen = await rollup(rpc, committee)
        assert seen["cells"] == 2, committee
        assert [item["cell_id"] for item in seen["late_changes"]] == [cell], committee
        change = seen["late_changes"][0]["late_change"]
        assert (change["kind"], change["moved_from_id"], change["moved_to_id"]) == ("unit_moved", None, district)
    assert (await rollup(rpc, commune))["late_changes"] == []  # its own figures did not change


async def test_a_commune_left_without_cells_still_shows_that_its_cell_moved_away(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """Commune A's only cell moves to B after November closed: A's November roll-up is no longer `not_found` for want
    of data, it reads no cell and lists the move it showed the cell's month before (kind "unit_moved")."""
    CLOCK.now = NOVEMBER
    a, b, cell, there = (random_id(key) for key in ("a", "b", "cell", "cell"))
    tree = [
        unit(a, "Đảng ủy xã Hòa Bình", "committee", None, time=at(11, 1, 8)),
        unit(b, "Đảng ủy phường An Phú", "committee", None, time=at(11, 1, 8)),
        unit(cell, "Chi bộ thôn 3", "cell", a, time=at(11, 1, 8)),
        unit(there, "Chi bộ khu phố 1", "cell", b, time=at(11, 1, 8)),
    ]
    await met_in_november(amqp_url, db, tree, [cell, there])
    await send(amqp_url, db, [cell], [unit(cell, "Chi bộ thôn 3", "cell", b, time=BACKDATED)])

    left = await rollup(rpc, a)
    assert (left["cells"], left["late_changes_total"]) == (0, 1)
    change = left["late_changes"][0]["late_change"]
    assert (left["late_changes"][0]["cell_id"], change["moved_from_id"], change["moved_to_id"]) == (cell, a, b)
    # a month it never showed the cell in stays unknown, as before
    with pytest.raises(RpcError) as error:
        await rollup(rpc, a, "2026-10")
    assert (error.value.code, error.value.field) == ("not_found", "period")


@pytest.mark.parametrize("order", ["in_order", "reversed"])
async def test_a_cell_moved_away_and_back_leaves_no_note_whichever_order_the_moves_arrive_in(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection, order: str
) -> None:
    """A→B (20 November) then B→A (25 November), both received on 5 December: at the end A's and B's Novembers are
    as they were shown, so neither committee nor the cell's page carries a note, as when the later snapshot arrives
    first and the earlier one loses (CONTRACT.md: any arrival order converges)."""
    ids = await two_communes_that_met_in_november(amqp_url, db)
    away = unit(ids["moving"], "Chi bộ thôn 3", "cell", ids["b"], time=BACKDATED)
    back = unit(ids["moving"], "Chi bộ thôn 3", "cell", ids["a"], time=at(11, 25, 8))
    for event in [away, back] if order == "in_order" else [back, away]:
        await send(amqp_url, db, [ids["moving"]], [event])

    a_after, b_after = await rollup(rpc, ids["a"]), await rollup(rpc, ids["b"])
    assert (a_after["cells"], b_after["cells"]) == (2, 1)
    assert (a_after["late_changes"], b_after["late_changes"]) == ([], [])
    periods = await ask(rpc, evaluation.GetCellPeriods(cell_id=ids["moving"], year=2026))
    assert [item["period"] for item in periods["periods"] if item.get("late_change")] == []


@pytest.mark.parametrize("order", ["in_order", "reversed"])
async def test_a_cell_moved_twice_is_noted_from_where_it_was_shown_to_where_it_is_whichever_order(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection, order: str
) -> None:
    """A→B then B→C: A lost it and C gained it, each told "from A to C" (where the month was shown, where it counts
    now); B, which has it neither before nor after, is told nothing; the same whichever move arrives first."""
    ids = await two_communes_that_met_in_november(amqp_url, db)
    c = random_id("c")
    await send(amqp_url, db, [], [unit(c, "Đảng ủy xã Tân Lập", "committee", ids["province"], time=at(11, 1, 8))])
    first = unit(ids["moving"], "Chi bộ thôn 3", "cell", ids["b"], time=BACKDATED)
    then = unit(ids["moving"], "Chi bộ thôn 3", "cell", c, time=at(11, 25, 8))
    for event in [first, then] if order == "in_order" else [then, first]:
        await send(amqp_url, db, [ids["moving"]], [event])

    assert (await rollup(rpc, ids["b"]))["late_changes"] == []
    for committee in (ids["a"], c):
        seen = await rollup(rpc, committee)
        assert [item["cell_id"] for item in seen["late_changes"]] == [ids["moving"]], committee
        change = seen["late_changes"][0]["late_change"]
        assert (change["moved_from_id"], change["moved_to_id"]) == (ids["a"], c), committee
    periods = await ask(rpc, evaluation.GetCellPeriods(cell_id=ids["moving"], year=2026))
    change = {item["period"]: item.get("late_change") for item in periods["periods"]}["2026-11"]
    assert change is not None and (change["moved_from_id"], change["moved_to_id"]) == (ids["a"], c)


async def test_a_move_and_a_late_roster_end_with_the_same_move_note_in_either_order(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """h369: the move's note kept the month's figures as they stood when the move came (migration 0034's row), so a
    late roster lowering the moved cell's November said the old figures when it came second, the new ones when it
    came first. `old_*` and `new_*` are the month's figures now (the stored row), whatever the order."""
    seen: dict[str, dict[str, Any]] = {}
    for order in ("move_first", "roster_first"):
        ids = await two_communes_that_met_in_november(amqp_url, db)
        cell = ids["moving"]
        move = unit(cell, "Chi bộ thôn 3", "cell", ids["b"], time=BACKDATED)
        records = [{"member_id": f"{cell}-m1", "status": "present"}] + [
            {"member_id": f"{cell}-m{n}", "status": "absent"} for n in (2, 3)
        ]
        roster = fact(
            "attendance.recorded.v1",
            {"meeting_id": ids[f"{cell}-meeting"], "records": records},
            time=at(11, 5, 21),
        )
        for event in [move, roster] if order == "move_first" else [roster, move]:
            await send(amqp_url, db, [cell], [event])
        periods = await ask(rpc, evaluation.GetCellPeriods(cell_id=cell, year=2026))
        [november] = [item for item in periods["periods"] if item["period"] == "2026-11"]
        [moved] = [
            item["late_change"]
            for item in (await rollup(rpc, ids["a"]))["late_changes"]
            if item["late_change"]["kind"] == "unit_moved"
        ]
        assert (moved["new_rating"], moved["new_score"]) == (november["rating"], november["score"]), (order, moved)
        assert (moved["old_rating"], moved["old_score"]) == (november["rating"], november["score"]), (order, moved)
        seen[order] = {
            key: value
            for key, value in moved.items()
            if key not in ("changed_at", "first_changed_at", "moved_from_id", "moved_to_id", "moves")
        } | {"moves": [(move["unit_name"], move["moved_from_name"], move["moved_to_name"]) for move in moved["moves"]]}
    assert seen["move_first"] == seen["roster_first"], seen


async def test_a_cell_moved_then_its_new_committee_moved_says_each_move_on_every_page(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """A cell moved from commune A to commune B, then B itself moved from district X to district Y, both after
    November closed: two moves of two units. The note read them as one move of the cell "to Y, formerly under A" (the
    first move's old parent and the second's new one, of different units): each move is given, with the unit that
    moved, so the pages say each in its own sentence."""
    CLOCK.now = NOVEMBER
    province, x, y, a, b, cell = (random_id(key) for key in ("province", "x", "y", "a", "b", "cell"))
    tree = [
        unit(province, "Tỉnh ủy Phú Thọ", "committee", None, time=at(11, 1, 8)),
        unit(x, "Huyện ủy Thanh Sơn", "committee", province, time=at(11, 1, 8)),
        unit(y, "Huyện ủy Tân Sơn", "committee", province, time=at(11, 1, 8)),
        unit(a, "Đảng ủy xã Hòa Bình", "committee", x, time=at(11, 1, 8)),
        unit(b, "Đảng ủy phường An Phú", "committee", x, time=at(11, 1, 8)),
        unit(cell, "Chi bộ thôn 3", "cell", a, time=at(11, 1, 8)),
    ]
    await met_in_november(amqp_url, db, tree, [cell])
    await send(amqp_url, db, [cell], [unit(cell, "Chi bộ thôn 3", "cell", b, time=BACKDATED)])
    await send(amqp_url, db, [], [unit(b, "Đảng ủy phường An Phú", "committee", y, time=at(11, 25, 8))])

    periods = await ask(rpc, evaluation.GetCellPeriods(cell_id=cell, year=2026))
    change = {item["period"]: item.get("late_change") for item in periods["periods"]}["2026-11"]
    assert change is not None and change["kind"] == "unit_moved", change
    assert [
        (move["unit_id"], move["unit_name"], move["moved_from_id"], move["moved_to_id"]) for move in change["moves"]
    ] == [(cell, "Chi bộ thôn 3", a, b), (b, "Đảng ủy phường An Phú", x, y)], change
    for committee in (a, b, x, y):
        seen = await rollup(rpc, committee)
        [noted] = [item["late_change"] for item in seen["late_changes"] if item["cell_id"] == cell]
        assert noted["moves"] == change["moves"], committee
