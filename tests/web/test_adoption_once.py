"""The record page of adopted minutes shows the adoption read-only, without the adoption form: a trial adopted the
minutes again from the form (a tab opened before the adoption too) and moved the adoption time, which the meetings
service now refuses unless the votes are the same (tests/meetings/test_votes_and_roster_facts.py)."""

from types import SimpleNamespace
from typing import Any

from services.gateway.auth import Role
from services.gateway.web.core import environment

MINUTES = {"started_at": "2026-11-20T19:30:00+07:00", "ended_at": "2026-11-20T21:30:00+07:00", "speakers": []}


ATTENDANCE = {"records": [{"member_id": "a", "status": "present"}], "guests": []}


def record_page(
    approved_at: str | None,
    minutes: dict[str, Any] | None = MINUTES,
    attendance: dict[str, Any] | None = ATTENDANCE,
    members: dict[str, Any] | None = None,
    **context: Any,
) -> str:
    """The secretary's record page of a held meeting, adopted at `approved_at` (None: not adopted), with `minutes`
    and `attendance` recorded (None: none yet), of the cell's `members` by id (none: none known); `context`: more of
    what the page is rendered with (`roster_lacks`)."""
    meeting: dict[str, Any] = {
        "meeting_id": "m1",
        "approved_at": approved_at,
        "minutes": minutes,
        "attendance": attendance,
        "starts_at": "2026-11-20T19:30:00+07:00",
        "status": "held",
        "location": "Nhà văn hóa",
        "tasks": [],
    }
    viewer = SimpleNamespace(role=Role.SECRETARY, account=SimpleNamespace(sub="thu-ky"), csrf="t", principal=None)
    return (
        environment()
        .get_template("record.html")
        .render(
            viewer=viewer,
            meeting=meeting,
            errors={},
            sent={},
            minutes={},
            members=members or {},
            people={},
            unit={"id": "c1", "name": "Chi bộ thôn 1"},
            crumbs=[],
            document_kinds={},
            roster=[],
            manual=None,
            **context,
        )
    )


def test_adopted_minutes_show_the_adoption_without_its_form() -> None:
    page = record_page("2026-11-21T09:03:11+07:00")
    assert "/meetings/m1/approval" not in page
    assert 'id="adoption-recorded">Biên bản đã được thông qua lúc 09:03 thứ Bảy, ngày 21/11/2026<' in page


def test_minutes_not_adopted_yet_show_the_adoption_form() -> None:
    page = record_page(None)
    assert "/meetings/m1/approval" in page and "adoption-recorded" not in page


def test_a_meeting_without_minutes_offers_no_adoption_and_says_why() -> None:
    """A trial's secretary could adopt minutes not recorded yet; meetings refuses it (minutes_not_submitted), and the
    page offers no adoption form before the minutes, saying to record them first."""
    page = record_page(None, minutes=None)
    assert "/meetings/m1/approval" not in page and "adoption-recorded" not in page
    assert (
        '<p class="notice" id="adoption-needs-minutes">Buổi sinh hoạt chưa có biên bản: vui lòng ghi biên bản trước,'
        " sau đó mới ghi nhận việc thông qua biên bản.</p>"
    ) in page


def test_a_meeting_without_attendance_offers_no_adoption_and_a_way_to_record_it() -> None:
    """A trial adopted minutes with no attendance recorded, after which no roster could be entered; meetings refuses
    such an adoption (roster_not_recorded), and the page offers no adoption form before a roster, saying why and
    linking to the attendance form."""
    page = record_page(None, attendance=None)
    assert "/meetings/m1/approval" not in page and "adoption-recorded" not in page
    assert (
        '<p class="notice" id="adoption-needs-roster">Buổi sinh hoạt chưa được điểm danh: biên bản ghi số đảng viên'
        " được triệu tập, có mặt và vắng mặt, vì vậy vui lòng ghi điểm danh trước, sau đó mới ghi nhận việc thông qua"
        ' biên bản. <a href="#attendance-title">Ghi điểm danh</a></p>'
    ) in page
    assert "/meetings/m1/attendance" in page


def test_minutes_adopted_without_attendance_still_offer_the_roster_form() -> None:
    """Minutes adopted before adoption waited for a roster take their first one (meetings accepts it)."""
    page = record_page("2026-11-21T09:03:11+07:00", attendance=None)
    assert "/meetings/m1/attendance" in page and 'id="roster-adopted"' not in page
    adopted = record_page("2026-11-21T09:03:11+07:00")
    assert "/meetings/m1/attendance" not in adopted and 'id="roster-adopted"' in adopted


def test_adopted_minutes_say_how_to_correct_them_and_who_can() -> None:
    """A trial's page said only "không thể sửa được nữa" after the adoption, no next step: the adopted record is
    corrected by minutes or a roster sent again through the data integration, which voids the adoption
    (docs/integrations.md), then adopted again on the form."""
    page = record_page("2026-11-21T09:03:11+07:00")
    said = (
        "Muốn sửa, đồng chí đề nghị người vận hành hệ thống gửi lại biên bản hoặc danh sách điểm danh đã sửa qua đường"
        " tích hợp dữ liệu; khi đó lần thông qua cũ hết hiệu lực. Sau khi chi bộ thông qua lại, đồng chí ghi nhận lần"
        " thông qua mới tại đây."
    )
    for notice in ("minutes-adopted", "roster-adopted"):
        shown = page.split(f'id="{notice}">', 1)[1].split("</p>", 1)[0]
        assert shown.endswith(f'<span class="adopted-correction">{said}</span>'), shown


def test_the_adoption_form_asks_its_moment_from_the_meetings_end() -> None:
    page = record_page(
        None, adopted_on="2026-11-20", adopted_clock="21:30", meeting_day="2026-11-20", today="2026-11-22"
    )
    assert (
        '<input id="a-date" name="approved_date" type="date" min="2026-11-20" max="2026-11-22" value="2026-11-20">'
    ) in page
    assert '<input id="a-time" name="approved_time" type="time" value="21:30">' in page
