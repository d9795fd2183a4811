"""A user trial of the record page's task form: "Đánh dấu hoàn thành" sent with the day left empty recorded the task
done today (making a task due 24/11 late), and a task once done had no form left, so its day could be corrected only
through the API. An empty day is refused naming the field, the form kept; a task done keeps a small form to correct
its day, through the same command as the API, and the meeting that follows is scored again (DOMAIN.md `results`:
done on time is `completed_on` ≤ `due_on`)."""

import html
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.evaluation.stream import cell_history
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import PASSWORD, csrf_of, scored_history, web_account

pytestmark = pytest.mark.e2e


def task_form(page: str, task_id: str) -> str:
    """The record page's part of the task `task_id` (AssertionError when the page has none), its inputs named as a
    form of its own names them (the record page's one form names them `completed_on-TASK`)."""
    found = re.search(rf'<li>((?:(?!</li>).)*?/tasks/{re.escape(task_id)}/done".*?)</li>', page, re.S)
    assert found, f"no form for {task_id}"
    return found.group(1).replace(f"completed_on-{task_id}", "completed_on")


def results_points(score: dict[str, Any]) -> float | None:
    """The points of the score's `results` line."""
    return next(line for line in score["criteria"] if line["code"] == "results").get("points")


async def history_cell(system: RunningSystem) -> tuple[dict[str, str], str, str]:
    """A committee and its cell of tests.evaluation.stream.cell_history (March's meeting gave three tasks due 25/3,
    one done late, 30/3; June's tasks are open), scored and settled, and a web account of the cell's secretary:
    (an officer's API headers, the secretary's account name, the meetings' id prefix)."""
    suffix = uuid.uuid4().hex[:8]
    committee, cell, prefix = f"phuong-ht-{suffix}", f"kp-ht-{suffix}", f"ht{suffix}"
    events = cell_history(committee_id=committee, cell_id=cell, prefix=prefix)
    headers = await scored_history(system, events, committee=committee, cell=cell, sub=f"can-bo-ht-{suffix}")
    secretary = f"bi-thu-ht-{suffix}"
    await web_account(system, secretary, "secretary", cell, f"{prefix}-m1")
    return headers, secretary, prefix


@asynccontextmanager
async def signed_in_as(system: RunningSystem, account: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client signed in with the password of `account`."""
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as client:
        form = (await client.get("/app/sign-in")).text
        signed = await client.post(
            "/app/sign-in", data={"username": account, "password": PASSWORD, "csrf": csrf_of(form)}
        )
        assert signed.status_code == 303, signed.text
        yield client


async def test_an_empty_day_is_refused_naming_the_field(system: RunningSystem) -> None:
    """June's tasks are open: "Đánh dấu hoàn thành" with the day left empty is refused naming the field, the form
    kept as sent, nothing recorded (it recorded the task done today)."""
    headers, secretary, prefix = await history_cell(system)
    june = f"{prefix}-mt6"
    open_task = f"{june}-t0"
    async with signed_in_as(system, secretary) as client:
        record = (await client.get(f"/app/meetings/{june}/record")).text
        assert 'name="completed_on" type="date"' in task_form(record, open_task)
        sent = await client.post(
            f"/app/meetings/{june}/tasks/{open_task}/done",
            data={"csrf": csrf_of(record), "task_id": open_task, "was.completed_on": "", "completed_on": ""},
        )
        assert sent.status_code == 422, sent.text[-800:]
        assert "Ngày hoàn thành: không được để trống." in html.unescape(sent.text)
        assert re.search(r'name="completed_on" type="date"[^>]*value=""', task_form(sent.text, open_task))
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:
        stored = (await api.get(f"/v1/meetings/{june}")).json()["tasks"]
    assert all(not task.get("completed_on") for task in stored), stored


async def test_a_done_task_keeps_a_form_to_correct_its_day_and_the_score_follows(system: RunningSystem) -> None:
    """April's `results` is 20 (2 of March's 3 tasks on time); March's late task corrected on the page to 20/3 is
    stored done then, and April's `results` becomes 30. A second sending from the page that showed 30/3 is refused
    as stale."""
    headers, secretary, prefix = await history_cell(system)
    march, april = f"{prefix}-mt3", f"{prefix}-mt4"
    late = f"{march}-t0"
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:
        assert results_points((await api.get(f"/v1/meetings/{april}/score")).json()) == 20
        async with signed_in_as(system, secretary) as client:
            record = (await client.get(f"/app/meetings/{march}/record")).text
            shown = task_form(record, late)
            assert 'name="was.completed_on" value="2026-03-30"' in shown
            assert re.search(r'name="completed_on" type="date"[^>]*value="2026-03-30"', shown), shown
            assert "Sửa ngày hoàn thành" in shown
            done = f"/app/meetings/{march}/tasks/{late}/done"
            form = {"csrf": csrf_of(record), "task_id": late, "was.completed_on": "2026-03-30"}
            sent = await client.post(done, data=form | {"completed_on": "2026-03-20"})
            assert sent.status_code == 303, sent.text[-800:]
            # the page showed 30/3; sent again from it once the day is another, it is refused, nothing stored
            stale = await client.post(done, data=form | {"completed_on": "2026-03-22"})
            assert stale.status_code == 422, stale.text[-800:]
            assert "sau khi đồng chí mở trang này" in html.unescape(stale.text)

        async def corrected() -> bool:
            tasks = (await api.get(f"/v1/meetings/{march}")).json()["tasks"]
            day = next(task for task in tasks if task["task_id"] == late).get("completed_on")
            score = await api.get(f"/v1/meetings/{april}/score")
            return day == "2026-03-20" and score.status_code == 200 and results_points(score.json()) == 30

        await eventually(corrected, timeout=120, interval=0.5)
