"""A regular meeting of 30 November recorded late (after December's meeting was scored) becomes December's "previous
meeting": the `results` criterion now takes its tasks, and December's score changes. The explanation of December's
score said nothing of it: the line read as if the score had always been so, and nobody could tell why it moved.

Now the `results` line names the previous meeting it took (`previous_id`, `previous_start`) and, when a meeting
recorded after this one was scored became that previous meeting and moved the points, says so in a part of its own
(previous_recorded_late), which the pages and the API (explain_line) say in Vietnamese: the score was recalculated
because the meeting of 30/11 was recorded late (failed before: no such part, no such words)."""

from typing import Any

from services.evaluation import queries
from services.evaluation.bootstrap import prepare
from services.gateway.web.explain import explain_line, explained_lines
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at
from tests.evaluation.test_cell_existence import Clock, apply, held
from tests.evaluation.test_late_changes import recorded, units

RECALCULATED = "điểm đã được tính lại vì buổi sinh hoạt ngày 30/11/2026 được ghi nhận muộn"


def with_task(events: list[dict[str, Any]], *, due_on: str) -> list[dict[str, Any]]:
    """A held meeting (test_cell_existence.held) whose minutes assign one task due on `due_on`, never done."""
    *rest, submitted = events
    task = {
        "task_id": f"{submitted['data']['meeting_id']}-t1",
        "assignee_id": "p1",
        "description": "Việc",
        "due_on": due_on,
    }
    return [*rest, {**submitted, "data": {**submitted["data"], "tasks": [task]}}]


def results_line(score: dict[str, Any]) -> dict[str, Any]:
    return next(line for line in score["criteria"] if line["code"] == "results")


async def test_a_previous_meeting_recorded_late_says_why_the_later_meeting_was_rescored(database_url: str) -> None:
    december = at(12, 3, 19)
    clock = Clock(at(12, 4).date())
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        await apply(factory, units("w1", "c1", time=at(10, 1, 8)))
        await apply(factory, held("c1", "c1-oct", at(10, 5)))  # assigns no task
        await apply(factory, held("c1", "c1-dec", december))
        async with pool.acquire() as conn:
            before = await queries.meeting_score(conn, "c1-dec")
        assert before is not None and not results_line(before)["applicable"]  # the previous meeting gave no task
        # on 4 December the secretary records the meeting of 30 November, whose task was due on 2 December, undone
        late = with_task(held("c1", "c1-nov", at(11, 30, 8)), due_on="2026-12-02")
        await apply(factory, recorded(late, on=at(12, 4, 9)))
        async with pool.acquire() as conn:
            after = await queries.meeting_score(conn, "c1-dec")
        assert after is not None and after["score"] != before["score"]
        line = results_line(after)
        assert line["applicable"]
        said = explain_line(line)
        assert RECALCULATED in said, said
        page = {row["code"]: row["explanation"] for row in explained_lines(after, None)}
        assert RECALCULATED in page["results"]
        # its roster sent again (scored again, the same previous meeting): the line still says why it changed
        await apply(factory, recorded(held("c1", "c1-dec", december)[1:2], on=at(12, 4, 10)))
        async with pool.acquire() as conn:
            again = await queries.meeting_score(conn, "c1-dec")
        assert again is not None and RECALCULATED in explain_line(results_line(again))


async def test_a_history_loaded_out_of_order_says_no_meeting_was_recorded_late(database_url: str) -> None:
    """A load sends December's meeting before November's, each fact with its own time (November's minutes written on
    30 November, before December's): the score is what it would be in any order, and nothing was recorded late."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=Clock(at(12, 10).date()))
        await apply(factory, units("w1", "c1", time=at(10, 1, 8)))
        await apply(factory, held("c1", "c1-dec", at(12, 3, 19)))
        await apply(factory, with_task(held("c1", "c1-nov", at(11, 30, 8)), due_on="2026-12-02"))
        async with pool.acquire() as conn:
            score = await queries.meeting_score(conn, "c1-dec")
        assert score is not None and results_line(score)["applicable"]  # November's task counts
        assert "ghi nhận muộn" not in explain_line(results_line(score))
