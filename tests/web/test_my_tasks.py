"""A person's own page lists the tasks the minutes assigned to them, from the API's task list of their cell."""

import html
from datetime import date, datetime

import httpx

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import PEOPLE, signed_in


async def test_my_page_lists_the_tasks_assigned_to_me(system: RunningSystem, province: dict[str, str]) -> None:
    """The fresh-user trial: members had nowhere to see the tasks assigned to them in minutes."""
    person = PEOPLE["secretary"][2]  # the demo's minutes assign tasks to the cell's first members
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    ) as api:
        tasks = (await api.get("/v1/cells/demo-cb-thon-1/tasks?limit=200")).json()["items"]
    mine = [task for task in tasks if task["assignee_id"] == person]
    assert mine and len(mine) < len(tasks)
    async with signed_in(system, "secretary") as client:
        page = await client.get("/app/me")
    assert page.status_code == 200 and "Nhiệm vụ của tôi" in page.text
    table = html.unescape(page.text.split('id="my-tasks"', 1)[1].split("</table>", 1)[0])
    assert table.count("<tr") - 1 == len(mine)  # the header row, then one row a task
    assert all(task["description"] in table for task in mine)
    overdue = [t for t in mine if not t.get("completed_on") and date.fromisoformat(t["due_on"]) < today()]
    assert table.count("data-overdue") == len(overdue)


def today() -> date:
    """Today in Vietnam."""
    return datetime.now(VIETNAM_TZ).date()
