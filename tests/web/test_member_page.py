"""The member's own page, rendered from its data: the attendance history and what in it counts."""

import re
from datetime import UTC, date, datetime
from types import SimpleNamespace

from services.gateway.auth import Role
from services.gateway.web.core import environment
from services.gateway.web.pages.member import CHANNELS


def member_page(history: dict[str, object], **extra: object) -> str:
    """The member page of a history, rendered as the member's own page renders it."""
    return (
        environment()
        .get_template("member.html")
        .render(
            viewer=SimpleNamespace(role=Role.MEMBER, account=SimpleNamespace(sub="dv"), csrf="t", principal=None),
            history=history,
            records=history["records"],
            **({"upcoming": [], "inbox": [], "tasks": []} | extra),
            preferences={"channels": [], "digest": False},
            channels=CHANNELS,
            errors={},
            notice=None,
            unit={"id": "demo-cb-thon-1", "name": "Chi bộ thôn 1"},
        )
    )


def test_a_roster_whose_meeting_has_no_minutes_is_shown_as_not_counted() -> None:
    """The fresh-user trial: rosters of two extraordinary meetings without minutes were listed as if they counted;
    the figures come from held meetings only, and the page says which rosters wait for their minutes."""
    record = {"kind": "extraordinary", "status": "excused", "reason": "Ốm"}
    history = {
        "consecutive_absences": 2,
        "consecutive_excused_absences": 2,
        "records": [
            record | {"meeting_id": "extra", "starts_at": datetime(2026, 11, 20, 12, 30, tzinfo=UTC), "held": False},
            record | {"meeting_id": "held", "starts_at": datetime(2026, 11, 10, 12, 30, tzinfo=UTC), "held": True},
        ],
    }
    table = member_page(history).split('id="history"', 1)[1].split("</table>", 1)[0]
    extra, held = table.split("<tbody>", 1)[1].split("</tr>")[:2]
    assert 'class="muted"' in extra and "chưa tính: chưa có biên bản" in extra
    assert 'class="muted"' not in held and "chưa tính" not in held


def test_a_notices_received_time_is_set_apart_from_its_subject() -> None:
    """The fresh-user trial read "…ngày 05/01/2027 23:58 thứ Tư, ngày 02/12/2026": the subject's date ran into the
    time the notice came."""
    notice = {
        "notification_id": "n-1",
        "title": "Lịch sinh hoạt chi bộ ngày 05/01/2027",
        "created_at": datetime(2026, 12, 2, 16, 58, tzinfo=UTC),
        "read_at": None,
    }
    page = member_page({"records": []}, inbox=[notice])
    text = " ".join(re.sub(r"<[^>]+>", " ", page.split('id="inbox"', 1)[1]).split())
    assert "ngày 05/01/2027 — nhận lúc 23:58 thứ Tư, ngày 02/12/2026" in text, text


def test_my_tasks_lists_mine_with_meeting_due_date_and_overdue_marked() -> None:
    """The fresh-user trial: a member had nowhere to see the tasks the minutes assigned to them."""
    from services.gateway.web.pages.member import my_tasks

    meetings = [{"meeting_id": "m-11", "starts_at": datetime(2026, 11, 4, 12, 30, tzinfo=UTC), "kind": "regular"}]
    tasks = [
        {
            "task_id": "t1",
            "meeting_id": "m-11",
            "assignee_id": "dv",
            "description": "Rà soát hộ nghèo",
            "due_on": date(2026, 11, 24),
            "completed_on": None,
        },
        {
            "task_id": "t2",
            "meeting_id": "m-11",
            "assignee_id": "dv",
            "description": "Vận động vệ sinh môi trường",
            "due_on": date(2026, 11, 24),
            "completed_on": date(2026, 11, 20),
        },
        {
            "task_id": "t3",
            "meeting_id": "m-11",
            "assignee_id": "other",
            "description": "Việc của người khác",
            "due_on": date(2026, 12, 24),
            "completed_on": None,
        },
        {
            "task_id": "t4",
            "meeting_id": "m-11",
            "assignee_id": "dv",
            "description": "Chuẩn bị tổng kết năm",
            "due_on": date(2026, 12, 24),
            "completed_on": None,
        },
    ]
    mine = my_tasks(tasks, meetings, "dv", today=date(2026, 12, 2))
    assert [(task["task_id"], task["overdue"]) for task in mine] == [("t1", True), ("t4", False), ("t2", False)]
    page = member_page({"records": []}, tasks=mine)
    assert "Nhiệm vụ của tôi" in page
    table = page.split('id="my-tasks"', 1)[1].split("</table>", 1)[0]
    rows = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in table.split("<tbody>", 1)[1].split("</tr>")[:3]]
    assert rows[0].startswith("Rà soát hộ nghèo 19:30 thứ Tư, ngày 04/11/2026 24/11/2026 quá hạn chưa"), rows
    assert rows[1].endswith("24/12/2026 chưa") and "quá hạn" not in rows[1]
    assert rows[2].endswith("24/11/2026 20/11/2026") and "Việc của người khác" not in table
