"""The committee page's texts for what the roll-up holds, rendered from its template without a running system."""

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.auth import Role
from services.gateway.web import data, periods
from services.gateway.web.core import environment
from services.gateway.web.pages import officer
from shared.contracts.notifications_rpc import PeriodChecksReply, RulesReply
from shared.periods import VIETNAM_TZ, period_due


def committee_page(rollup: dict[str, Any], *, viewer: Any = None, running: bool = False, **extra: Any) -> str:
    """The committee page of a roll-up, rendered as the officer's page renders it."""
    viewer = viewer or SimpleNamespace(
        role=Role.COMMITTEE_OFFICER, account=SimpleNamespace(sub="can-bo"), csrf="t", principal=None
    )
    return (
        environment()
        .get_template("committee.html")
        .render(
            viewer=viewer,
            unit={"id": "xa-hoa-binh", "name": "Đảng ủy xã Hòa Bình", "kind": "committee"},
            period=rollup["period"],
            choices=periods.choices(rollup["period"]),
            crumbs=[],
            unrated=None,
            running=running,
            # as the officer's page draws it: a half-year's roll-up has no `by_rating` of its own
            ratings_chart=data.ratings_chart(rollup.get("by_rating") or {}),
            trend_chart=data.trend_chart([]),
            trend=[],
            rollup=rollup,
            **({"inbox": [], "late_minutes": [], "children": []} | extra),
        )
    )


def weakest_section(page: str) -> str:
    """The text of the page's weakest-cells list."""
    start = page.index('id="weakest"')
    return page[start : page.index("</ol>", start)]


def rollup(by_rating: dict[str, int], weakest: list[dict[str, Any]]) -> dict[str, Any]:
    """A month's roll-up of a commune with these ratings and weak cells."""
    return {
        "committee_id": "xa-hoa-binh",
        "period": "2026-11",
        "cells": sum(by_rating.values()),
        "by_rating": {"good": 0, "fair": 0, "average": 0, "poor": 0} | by_rating,
        "regularity": 1.0,
        "attendance_rate": 0.9,
        "speaking_rate": 0.5,
        "thematic_coverage": 1.0,
        "score": 92.5,
        "trend": {},
        "weakest": weakest,
    }


@pytest.mark.parametrize(
    ("by_rating", "words"),
    [
        ({"good": 1, "fair": 2}, "Không có chi bộ nào xếp loại Trung bình hoặc Kém."),
        ({}, "Chưa có chi bộ nào được xếp loại."),
    ],
)
def test_no_weak_cell_is_not_said_as_no_cell_rated(by_rating: dict[str, int], words: str) -> None:
    """The list holds only cells rated Trung bình or Kém: a commune whose cells are all Tốt or Khá has rated cells,
    and "Chưa có chi bộ nào được xếp loại" told its officer none was rated (seen on the demo's Phường An Phú)."""
    section = weakest_section(committee_page(rollup(by_rating, [])))
    assert words in section
    assert ("Chưa có chi bộ nào được xếp loại" in section) == (not by_rating)


def test_the_weak_cells_are_listed_by_name_score_and_rating() -> None:
    weak = {"cell_id": "thon-2", "name": "Chi bộ thôn 2", "score": 44.21, "rating": "poor"}
    section = weakest_section(committee_page(rollup({"good": 1, "poor": 1}, [weak])))
    assert "Chi bộ thôn 2" in section and "44,2" in section and "Kém" in section
    assert "Không có chi bộ" not in section and "Chưa có chi bộ" not in section


@pytest.mark.parametrize(
    ("role", "own_page"), [(Role.COMMITTEE_OFFICER, False), (Role.SECRETARY, True), (Role.MEMBER, True)]
)
def test_my_page_is_offered_only_to_whom_it_answers(role: Role, own_page: bool) -> None:
    """/app/me reads the person's cell, its meetings and their attendance: for an upper-level monitor (an officer of
    a committee with a person) it answered 404 "Không tìm thấy", yet the menu offered it (the demo's uv-phu-trach)."""
    principal = SimpleNamespace(person_id="demo-xa-hoa-binh-uv1", unit_id="demo-xa-hoa-binh")
    viewer = SimpleNamespace(role=role, account=SimpleNamespace(sub="uv-phu-trach"), csrf="t", principal=principal)
    menu = committee_page(rollup({"good": 1}, []), viewer=viewer).split("</nav>")[0]
    assert ('href="/app/me"' in menu) == own_page
    assert ('href="/app/monitoring"' in menu) == (role is Role.COMMITTEE_OFFICER)


@pytest.mark.parametrize("running", [True, False])
def test_a_period_not_ended_says_how_its_figures_read(running: bool) -> None:
    """Early in a month many cells have not met yet: the page says the period is still running and how such a cell
    is counted (apart, not Kém, until the month ends), and says nothing of the kind for a closed one."""
    page = committee_page(rollup({"poor": 6}, []), running=running)
    notice = (
        "Tháng 11/2026 chưa kết thúc: số liệu tính các buổi sinh hoạt đã tổ chức đến nay. Chi bộ chưa sinh hoạt thường"
        " kỳ trong tháng được thống kê riêng là “chưa sinh hoạt thường kỳ”, chưa xếp loại; điểm trung bình chỉ tính"
        " các chi bộ đã sinh hoạt thường kỳ, còn tỷ lệ chi bộ sinh hoạt đều đặn hằng tháng và tỷ lệ chi bộ có sinh"
        " hoạt chuyên đề tính trên tất cả các chi bộ; hết tháng mà chi bộ vẫn chưa sinh hoạt thường kỳ thì xếp loại"
        " Kém."
    )
    assert (notice in page) is running
    assert ('id="in-progress"' in page) is running


def test_a_period_runs_until_its_last_month_has_ended() -> None:
    """periods.running: the month in progress, its quarter and year run; an earlier month or year does not."""
    month = periods.this_month()
    year, number = int(month[:4]), int(month[5:])
    assert periods.running(month) and periods.running(f"{year}-Q{(number - 1) // 3 + 1}") and periods.running(str(year))
    assert periods.running(f"{year + 1}-01")
    assert not periods.running(str(year - 1)) and not periods.running(f"{year - 1}-12")


def test_a_committee_page_opens_on_the_month_last_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    """On 1 December the page opened on December, every cell Kém 0 and the trend ending at 0: now on November."""
    for today, expected in (("2026-12", "2026-11"), ("2027-01", "2026-12"), ("2026-07", "2026-06")):
        monkeypatch.setattr(periods, "this_month", lambda today=today: today)
        assert periods.checked(None) == periods.checked("") == expected
        assert periods.checked("2026-12") == "2026-12"  # one asked for stays


def test_each_unread_alert_has_a_form_to_mark_it_read_and_a_read_one_says_when() -> None:
    """The committee's alerts share the inbox partial: an unread one posts (with the session's token) to the
    committee's web route and comes back to this period's page; a read one shows when it was read."""
    page = committee_page(rollup({"good": 1}, []))
    assert "Không có cảnh báo." in page and "Cảnh báo gửi cấp ủy" in page
    unread = {"notification_id": "n-1", "title": "Biên bản nộp muộn", "created_at": "2026-11-20T08:00:00+07:00"}
    read = {**unread, "notification_id": "n-2", "read_at": "2026-11-21T09:15:00+07:00"}
    html = (
        environment()
        .get_template("committee.html")
        .render(
            viewer=SimpleNamespace(
                role=Role.COMMITTEE_OFFICER, account=SimpleNamespace(sub="c"), csrf="tok", principal=None
            ),
            unit={"id": "xa-hoa-binh", "name": "Đảng ủy xã Hòa Bình", "kind": "committee"},
            period="2026-11",
            choices=periods.choices("2026-11"),
            crumbs=[],
            unrated=None,
            ratings_chart=data.ratings_chart({}),
            trend_chart=data.trend_chart([]),
            trend=[],
            rollup=rollup({"good": 1}, []),
            children=[],
            inbox=[unread, read],
            late_minutes=[],
        )
    )
    assert 'action="/app/committees/xa-hoa-binh/inbox/n-1/read"' in html
    assert 'name="next" value="/app/committees/xa-hoa-binh?period=2026-11"' in html
    assert 'name="csrf" value="tok"' in html and "Đánh dấu đã đọc" in html
    assert 'data-notification="n-2" data-read="true"' in html and "Đã đọc lúc 09:15" in html
    assert "/inbox/n-2/read" not in html


@pytest.mark.parametrize(("period", "shown"), [("2026-Q4", "Quý IV/2026"), ("2026", "Năm 2026")])
def test_a_running_quarter_or_year_says_the_running_month_counts_once_met(period: str, shown: str) -> None:
    """A running quarter or year counts the running month only for cells that have met (evaluation's reading), so
    its notice must not say such cells count as Kém."""
    page = committee_page(rollup({"good": 6}, []) | {"period": period}, running=True)
    assert (
        f"{shown} chưa kết thúc: số liệu tính các tháng đã qua và các buổi sinh hoạt đã tổ chức đến nay; tháng hiện tại"
        " chỉ được tính cho chi bộ đã sinh hoạt, và quý chưa kết thúc thì chưa bị xếp Kém vì thiếu buổi sinh hoạt"
        " chuyên đề."
    ) in page
    assert "tạm tính là Kém" not in page


def test_the_late_minutes_list_says_which_meetings_it_shows_and_links_the_next_ones() -> None:
    item = data.late_minutes_shown(
        {
            "meeting_id": "mtg-1",
            "cell_id": "cb-thon-1",
            "cell_name": "Chi bộ thôn 1",
            "kind": "regular",
            "starts_at": "2026-11-05T19:30:00+07:00",
            "due_at": "2026-11-07T19:30:00+07:00",
            "missing": ["minutes_submitted", "resolution"],
        }
    )
    pager = officer.late_minutes_pager({"offset": 0, "shown": 50, "total": 1284}, "xa-hoa-binh", "2026-11")
    page = committee_page(rollup({"good": 1}, []), late_minutes=[item], late_pager=pager)
    section = page.split('id="late-title"', 1)[1].split("</section>", 1)[0]
    assert 'href="/app/meetings/mtg-1"' in section
    assert "<bdi>Chi bộ thôn 1</bdi>: Sinh hoạt thường kỳ lúc 19:30" in section
    assert "chưa có biên bản, chưa đăng tải nghị quyết" in section
    assert "Đang hiện buổi thứ 1 đến 50 trong 1.284 buổi" in section and "Xem 50 buổi tiếp theo" in section
    assert 'href="/app/committees/xa-hoa-binh?period=2026-11&amp;late_offset=50#late-title"' in section


def test_a_meeting_whose_records_came_late_is_listed_as_submitted_late_with_when_they_arrived() -> None:
    """The trial: a meeting whose records came 5 days late vanished from the list once they arrived."""
    overdue = {
        "meeting_id": "mtg-1",
        "cell_id": "cb-thon-1",
        "cell_name": "Chi bộ thôn 1",
        "kind": "regular",
        "starts_at": "2026-11-05T19:30:00+07:00",
        "due_at": "2026-11-07T21:30:00+07:00",
        "missing": ["resolution"],
    }
    came_late = overdue | {
        "meeting_id": "mtg-2",
        "cell_id": "cb-thon-2",
        "cell_name": "Chi bộ thôn 2",
        "missing": [],
        "arrived_at": "2026-11-12T08:15:00+07:00",
    }
    items = [data.late_minutes_shown(overdue), data.late_minutes_shown(came_late)]
    pager = officer.late_minutes_pager({"offset": 0, "shown": 2, "total": 2}, "xa-hoa-binh", "2026-11")
    page = committee_page(rollup({"good": 1}, []), late_minutes=items, late_pager=pager)
    section = page.split('id="late-minutes"', 1)[1].split("</ul>", 1)[0]
    first, second = section.split("<li")[1:]
    assert 'href="/app/meetings/mtg-1"' in first and "chưa đăng tải nghị quyết" in first and "nộp muộn" not in first
    assert 'href="/app/meetings/mtg-2"' in second
    assert "nộp muộn: biên bản đến lúc 08:15 thứ Năm, ngày 12/11/2026" in second
    assert 'id="late-minutes-pager"' not in page  # all of them on one page: no pager


def test_an_alert_of_a_meeting_cancelled_since_is_shown_as_no_longer_holding() -> None:
    """An absence or low-rating alert raised before its meeting was cancelled stays in the inbox, marked void."""
    holding = {"notification_id": "n-1", "title": "Đảng viên vắng mặt", "created_at": "2026-11-20T08:00:00+07:00"}
    void = {**holding, "notification_id": "n-2", "void_at": "2026-11-22T10:05:00+07:00"}
    html = committee_page(rollup({"good": 1}, []), inbox=[holding, void])
    items = html.split('id="inbox"', 1)[1].split("</ul>", 1)[0].split("<li")
    said = "Không còn hiệu lực: buổi sinh hoạt đã bị hủy (10:05"
    assert [said in item for item in items[1:]] == [False, True]


def test_a_late_records_alert_withdrawn_by_corrected_minutes_does_not_say_the_meeting_was_cancelled() -> None:
    """A trial: corrected minutes withdrew a late-minutes escalation; the inbox must say why it no longer holds."""
    late = {
        "notification_id": "n-1",
        "rule": "minutes_late_superior",
        "title": "Chi bộ chậm hoàn thiện biên bản, nghị quyết: Chi bộ thôn 1",
        "created_at": "2026-12-01T12:00:00+07:00",
        "void_at": "2026-12-02T10:05:00+07:00",
    }
    html = committee_page(rollup({"good": 1}, []), inbox=[late])
    item = html.split('id="inbox"', 1)[1].split("</ul>", 1)[0]
    assert "Không còn hiệu lực: theo biên bản hoặc thời gian buổi sinh hoạt đã cập nhật" in item
    assert "chưa quá hạn (10:05" in item and "đã bị hủy" not in item


def test_an_absence_alert_a_corrected_roster_took_back_is_shown_corrected_not_cancelled() -> None:
    """A trial: an unexcused absence corrected to excused left the alert in the inbox as if still true; the inbox
    keeps what was sent, labelled corrected (not as a cancelled meeting's)."""
    absence = {
        "notification_id": "n-1",
        "rule": "unexcused_absence",
        "title": "Đảng viên vắng mặt không lý do: Lê Văn Đức, Chi bộ thôn 1",
        "created_at": "2026-12-01T12:00:00+07:00",
        "void_at": "2026-12-02T10:05:00+07:00",
        "void_reason": "corrected",
    }
    html = committee_page(rollup({"good": 1}, []), inbox=[absence])
    item = html.split('id="inbox"', 1)[1].split("</ul>", 1)[0]
    assert "Lê Văn Đức" in item
    assert "Đã đính chính: danh sách điểm danh đã được sửa lại, thông báo này không còn đúng (10:05" in item
    assert "đã bị hủy" not in item


def test_the_alert_settings_are_linked_whether_the_period_is_rated_or_not() -> None:
    rated = committee_page(rollup({"good": 1}, []))
    assert 'href="/app/committees/xa-hoa-binh/alerts"' in rated and "Cài đặt cảnh báo" in rated
    viewer = SimpleNamespace(
        role=Role.COMMITTEE_OFFICER, account=SimpleNamespace(sub="can-bo"), csrf="t", principal=None
    )
    unrated = (
        environment()
        .get_template("committee.html")
        .render(
            viewer=viewer,
            unit={"id": "xa-hoa-binh", "name": "Đảng ủy xã Hòa Bình", "kind": "committee"},
            period="2027-01",
            choices=periods.choices("2027-01"),
            crumbs=[],
            unrated={"state": "not_begun", "title": "Chưa bắt đầu", "message": "Tháng này chưa bắt đầu."},
        )
    )
    assert 'href="/app/committees/xa-hoa-binh/alerts"' in unrated


@pytest.mark.parametrize(
    ("by_rating", "words"),
    [
        ({"good": 1, "fair": 2, "average": 3, "poor": 1}, "1 tốt, 2 khá, 3 trung bình, 1 kém"),
        ({"good": 1, "poor": 1}, "1 tốt, 1 kém"),
        ({"fair": 2, "average": 1}, "2 khá, 1 trung bình"),
        ({}, "chưa chi bộ nào được xếp loại"),
    ],
)
def test_a_sub_committee_line_counts_every_rating_it_has_in_order(by_rating: dict[str, int], words: str) -> None:
    """A user trial: "Đảng ủy phường An Phú: 1 tốt, 1 kém" left its Khá and Trung bình cells uncounted. Every rating
    with a nonzero count is said, in the order Tốt, Khá, Trung bình, Kém; a rating without cells is not."""
    ward = rollup(by_rating, []) | {"committee_id": "phuong-an-phu", "not_met_yet": None}
    child = {"id": "phuong-an-phu", "name": "Đảng ủy phường An Phú", "kind": "committee", "score": 80.0}
    page = committee_page(rollup({"good": 1}, []), children=[child | {"cells": ward["cells"], "rollup": ward}])
    start = page.index('data-unit="phuong-an-phu"')
    line = page[start : page.index("</tr>", start)]
    assert f"<td>{words}</td>" in line, line
    assert " 0 " not in line and "0 tốt" not in line


def test_the_units_table_lists_the_cells_the_summary_counts_for_the_period() -> None:
    """A trial's /app/committees/demo-xa-hoa-binh?period=2025: the summary said 3 cells, the table listed 6, three of
    them set up on 03/12/2026 (shown "—"). The table lists the units the period's roll-up counts, and adds up to it."""
    units = [{"id": f"thon-{number}", "name": f"Chi bộ thôn {number}", "kind": "cell"} for number in range(1, 7)] + [
        {"id": "khoi-1", "name": "Đảng ủy khối 1", "kind": "committee"},
        {"id": "khoi-moi", "name": "Đảng ủy khối mới", "kind": "committee"},
    ]
    lines = [{"cell_id": f"thon-{n}", "name": f"Chi bộ thôn {n}", "score": 80.0, "rating": "fair"} for n in (1, 2, 3)]
    lines += [
        {"cell_id": f"khoi-1-{n}", "name": f"Chi bộ cơ quan {n}", "score": 95.0, "rating": "good"} for n in (1, 2)
    ]
    ranking = {"items": lines, "total": 5}  # the subtree's cells: the sub-committee's too
    sub = rollup({"good": 2}, []) | {"committee_id": "khoi-1", "period": "2025", "not_met_yet": None}
    later = {"committee_id": "khoi-moi", "period": "2025", "no_data": True, "cells": 0}
    summary = rollup({"fair": 3, "good": 2}, []) | {"period": "2025"}
    children = data.subordinates(
        units,
        rollup=summary,
        ranking=ranking,
        sub_rollups={"khoi-1": sub, "khoi-moi": later},
        period="2025",
    )
    assert [child["id"] for child in children] == ["thon-1", "thon-2", "thon-3", "khoi-1"]
    assert sum(child.get("cells") or 1 for child in children) == 5
    # evaluation not answering, or a subtree larger than the ranking's page: every cell, as before
    for partial in ({"items": [], "total": 0}, ranking | {"total": 500}):
        shown = data.subordinates(units, rollup=summary, ranking=partial, sub_rollups={}, period="2025")
        assert len([child for child in shown if child["kind"] == "cell"]) == 6


@pytest.mark.parametrize("with_committee", [True, False])
def test_a_cell_row_has_no_count_of_cells(with_committee: bool) -> None:
    """The table's "Chi bộ" column said 1 on every cell's row: it counts a sub-committee's cells (in the app's digit
    grouping), is left empty on a cell's row, and is not shown at all when every unit is a cell."""
    cell = {"id": "thon-1", "name": "Chi bộ thôn 1", "kind": "cell", "score": 80.0, "rating": "fair"}
    ward = rollup({"good": 1200}, []) | {"committee_id": "khoi-1", "not_met_yet": None}
    committee = {"id": "khoi-1", "name": "Đảng ủy khối 1", "kind": "committee", "score": 90.0, "cells": 1200}
    children = [cell] + ([committee | {"rollup": ward}] if with_committee else [])
    page = committee_page(rollup({"good": 1}, []), children=children)
    table = page[page.index('id="children"') : page.index("</table>", page.index('id="children"'))]
    row = table[table.index('data-unit="thon-1"') : table.index("</tr>", table.index('data-unit="thon-1"'))]
    assert "<td>1</td>" not in row
    assert ('<th scope="col">Chi bộ</th>' in table) is with_committee
    assert ("<td data-cells></td>" in row) is with_committee
    if with_committee:
        assert "<td data-cells>1.200</td>" in table


def test_the_alerts_of_a_period_not_yet_decided_say_when_they_will_be() -> None:
    """The trial's November overview showed a cell rated Kém and "Không có cảnh báo.": the month's alerts are decided
    when notifications' check runs (the period's end plus the rule's grace days, shared.periods.period_due). Until
    then the page says when, under the committee's own settings; after it, nothing more."""
    rules = RulesReply(
        unit_id="xa-hoa-binh",
        rules={"period_rated_low": {"enabled": True, "params": {"ratings": ["average", "poor"], "grace_days": 3}}},
    )
    before = datetime(2026, 12, 3, 18, 49, tzinfo=VIETNAM_TZ)
    due = data.alerts_ahead(rules, "2026-11", now=before)
    assert due == datetime(2026, 12, 4, 0, 0, tzinfo=VIETNAM_TZ)
    assert data.alerts_ahead(rules, "2026-11", now=due) is None
    later = RulesReply(
        unit_id="xa-hoa-binh", rules={"period_rated_low": {"enabled": True, "params": {"grace_days": 10}}}
    )
    assert data.alerts_ahead(later, "2026-11", now=before) == datetime(2026, 12, 11, 0, 0, tzinfo=VIETNAM_TZ)
    off = RulesReply(unit_id="xa-hoa-binh", rules={"period_rated_low": {"enabled": False, "params": {"grace_days": 3}}})
    assert data.alerts_ahead(off, "2026-11", now=before) is None and data.alerts_ahead(None, "2026-11") is None
    page = committee_page(rollup({"poor": 1}, []), alerts_due=due)
    inbox = page[page.index('id="inbox-title"') : page.index("</section>", page.index('id="inbox-title"'))]
    assert "Không có cảnh báo." in inbox
    assert data.alerts_waiting_for(rules, "2026-11") == "grace"  # the grace alone holds them back
    assert (
        "Cảnh báo của tháng 11/2026 sẽ được xét lúc 00:00 thứ Sáu, ngày 04/12/2026, khi đã hết thời gian chờ biên"
        " bản nộp muộn."
    ) in inbox
    assert 'id="alerts-due"' not in committee_page(rollup({"poor": 1}, []), alerts_due=None)


def test_a_rating_still_settling_after_the_grace_keeps_the_alerts_ahead() -> None:
    """Trial 14: past November's grace, a cell's late rating Kém is judged once settled (notifications'
    rules.period_check_due, due 19:41 UTC); the page, knowing only the grace, said nothing was pending. It now takes
    the later of the grace and notifications' pending checks of the committee's cells (GetPeriodChecks), and the
    grace alone when notifications does not answer that."""
    rules = RulesReply(
        unit_id="xa-hoa-binh",
        rules={"period_rated_low": {"enabled": True, "params": {"grace_days": 3, "settle_minutes": 30}}},
    )
    after_grace = datetime(2026, 12, 4, 2, 11, tzinfo=VIETNAM_TZ)
    settled = datetime(2026, 12, 3, 19, 41, tzinfo=UTC)
    checks = PeriodChecksReply(committee_id="xa-hoa-binh", period="2026-11", due_at=settled, pending=1)
    due = data.alerts_ahead(rules, "2026-11", checks=checks, now=after_grace)
    assert due == settled and due.utcoffset() == VIETNAM_TZ.utcoffset(due)
    assert data.alerts_ahead(rules, "2026-11", checks=checks, now=settled) is None
    none_left = PeriodChecksReply(committee_id="xa-hoa-binh", period="2026-11", due_at=None, pending=0)
    assert data.alerts_ahead(rules, "2026-11", checks=none_left, now=after_grace) is None
    assert data.alerts_ahead(rules, "2026-11", checks=None, now=after_grace) is None  # not answered: the grace alone
    before = datetime(2026, 12, 3, 18, 49, tzinfo=VIETNAM_TZ)
    early = checks.model_copy(update={"due_at": datetime(2026, 12, 4, 0, 0, tzinfo=VIETNAM_TZ)})
    assert data.alerts_ahead(rules, "2026-11", checks=early, now=before) == datetime(2026, 12, 4, tzinfo=VIETNAM_TZ)
    page = committee_page(rollup({"poor": 1}, []), alerts_due=due)
    assert "sẽ được xét lúc 02:41 thứ Sáu, ngày 04/12/2026" in page


def test_notifications_plans_the_period_check_by_the_same_rule_the_page_says() -> None:
    from services.notifications.domain import rules

    assert rules.period_due is period_due


@pytest.mark.parametrize("recalculating", [True, False])
def test_figures_read_during_a_tree_refresh_say_they_are_being_updated(recalculating: bool) -> None:
    """A roll-up evaluation answered from the tree as last applied (`recalculating`: a unit moved or re-dated, its
    refresh not committed yet) says so in one line; the fresh figures after it do not."""
    page = committee_page(rollup({"good": 2}, []) | {"recalculating": recalculating, "pending_tree_changes": 1})
    said = "Số liệu đang được cập nhật theo thay đổi tổ chức mới nhất." in page
    assert said == recalculating
    assert ('id="recalculating"' in page) == recalculating
