"""The ranking page shows each cell's rank as evaluation counted it (its line's `rank`: its place among the cells with
a score), not its row's place from the page's offset: a page past the first, after cells read as not met yet, used to
rank its cells as if those had come after every scored one."""

import re
from types import SimpleNamespace

from services.gateway.auth import Role
from services.gateway.web import periods
from services.gateway.web.core import environment
from services.gateway.web.pages.officer import list_pager

PERIOD = "2026-03"
VIEWER = SimpleNamespace(role=Role.COMMITTEE_OFFICER, account=SimpleNamespace(sub="o"), csrf="t", principal=None)


def test_a_page_past_the_first_shows_evaluations_ranks() -> None:
    line = {
        "cell_id": "d-met",
        "name": "Chi bộ Đông",
        "committee": None,
        "score": 0.0,
        "rating": "poor",
        "regular_held": 1,
        "thematic_held": 0,
        "meetings_held": 1,
        "attendance_rate": 0.5,
        "speaking_rate": 0.5,
    }
    lines = [line | {"rank": 49}, line | {"cell_id": "e-met", "rank": 50}]
    pager = list_pager({"offset": 50, "shown": 3, "total": 53}, lambda at: f"/r?offset={at}", 50)
    page = (
        environment()
        .get_template("ranking.html")
        .render(
            viewer=VIEWER,
            unit={"id": "p", "name": "Đảng ủy p", "kind": "committee"},
            period=PERIOD,
            choices=periods.choices(PERIOD, first_month="2026-01"),
            crumbs=[],
            rows=lines,
            unscored=[{"cell_id": "c-not-met", "name": "Chi bộ Bắc", "not_met_yet": True, "regular_held": 0}],
            offset=50,
            pager=pager,
            start=None,
        )
    )
    assert re.findall(r'<tr data-cell="([^"]+)" data-rank="(\d+)"', page) == [("d-met", "49"), ("e-met", "50")]
