"""A trial's 600-character reason for an absence stretched the attendance table to 5,840 px at 390 px wide: the
reason cells of the meeting and record pages wrap (app.css `td.wrap`: overflow-wrap anywhere), never widen the
table."""

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from services.gateway.auth import Role
from services.gateway.web.core import environment
from tests.web.test_adoption_once import record_page
from tests.web.test_meeting_wording import MEETING

LONG = "x" * 600
ROSTER: dict[str, Any] = {
    "records": [
        {"member_id": "m-1", "status": "present", "reason": None},
        {"member_id": "m-2", "status": "excused", "reason": LONG},
    ]
}
CSS = Path(__file__).parents[2] / "services/gateway/web/static/app.css"


def reason_cells(page: str) -> list[str]:
    """The opening tags of the cells of `page`'s roster table that hold the long reason."""
    roster = re.search(r'<table id="roster">(.*?)</table>', page, re.S)
    assert roster, page
    return re.findall(rf"(<td[^>]*>){LONG}</td>", roster[1])


def test_a_long_reason_wraps_on_the_meeting_page() -> None:
    page = (
        environment()
        .get_template("meeting.html")
        .render(
            viewer=SimpleNamespace(role=Role.MEMBER, account=SimpleNamespace(sub="dv"), csrf="t", principal=None),
            unit={"id": "demo-cb-thon-1", "name": "Chi bộ thôn 1"},
            meeting=MEETING | {"attendance": ROSTER},
            score=None,
            upcoming=False,
            lines=[],
            members={},
            roster=ROSTER["records"],
            speakers=[],
            crumbs=[],
            may_record=False,
            follows=False,
        )
    )
    cells = reason_cells(page)
    assert cells and all('class="wrap"' in cell for cell in cells), cells


def test_a_long_reason_wraps_on_the_adopted_record_page() -> None:
    page = record_page("2026-11-21T09:03:11+07:00", attendance=ROSTER)
    cells = reason_cells(page)
    assert cells and all('class="wrap"' in cell for cell in cells), cells
    assert re.search(r"td\.wrap\s*\{[^}]*overflow-wrap:\s*anywhere", CSS.read_text())
