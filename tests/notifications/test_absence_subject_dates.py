"""A member absent from four meetings gave each committee member four mails with one identical Subject
("Đảng viên vắng mặt không lý do: Nguyễn Văn Nam, Chi bộ thôn 2"), read as duplicates: an alert about one meeting
names that meeting's date in its Subject (its local date, Vietnam's time), a follow-up adding absentees too. The
Message-ID stays the delivery's, whatever the Subject says."""

from datetime import UTC, datetime

from services.notifications.channels import build_email
from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, Recipient
from services.notifications.templates import render
from shared.envelope import VIETNAM_TZ
from tests.notifications.test_mail_subjects import delivery

SECRETARY = Recipient(id="sec", kind="person", name="Huỳnh Đức Bình")


def absence(meeting: str, starts_at: datetime, **values: object) -> Alert:
    """One unexcused-absence alert of Nguyễn Văn Nam at meeting `meeting` starting at `starts_at`."""
    return Alert(
        rule=r.UNEXCUSED_ABSENCE,
        subject_id=meeting,
        period="absent",
        recipients=(SECRETARY,),
        cell_id="c",
        values={
            "cell": "Chi bộ thôn 2",
            "member": "Nguyễn Văn Nam",
            "meeting_kind": "regular",
            "starts_at": starts_at,
            "location": "Nhà văn hóa thôn 2",
            **values,
        },
    )


def test_four_absences_of_one_member_mail_four_subjects_each_naming_its_meeting_date() -> None:
    days = [datetime(2026, month, 5, 19, 30, tzinfo=VIETNAM_TZ) for month in (8, 9, 10, 11)]
    titles = [render(absence(f"m{n}", day), SECRETARY)[0] for n, day in enumerate(days)]
    assert len(set(titles)) == 4, titles
    assert titles[-1] == (
        "Đảng viên vắng mặt không lý do: Nguyễn Văn Nam, Chi bộ thôn 2 — buổi sinh hoạt ngày 05/11/2026"
    )


def test_the_date_is_the_meetings_day_in_vietnam_not_in_utc() -> None:
    early = datetime(2026, 11, 3, 18, 0, tzinfo=UTC)  # 01:00 on the 4th in Vietnam
    title, _ = render(absence("m1", early), SECRETARY)
    assert title.endswith("— buổi sinh hoạt ngày 04/11/2026"), title


def test_a_follow_up_adding_an_absentee_names_the_meeting_date_too() -> None:
    title, _ = render(
        absence("m1", datetime(2026, 11, 5, 19, 30, tzinfo=VIETNAM_TZ), added=True, absentees=["Nguyễn Văn Nam"]),
        SECRETARY,
    )
    assert title == (
        "Bổ sung đảng viên vắng mặt không lý do: Nguyễn Văn Nam, Chi bộ thôn 2 — buổi sinh hoạt ngày 05/11/2026"
    )


def test_the_message_id_does_not_follow_the_subject() -> None:
    first = build_email(delivery("Đảng viên vắng mặt không lý do: A, Chi bộ thôn 2"), sender="chibo@example.vn")
    dated = build_email(
        delivery("Đảng viên vắng mặt không lý do: A, Chi bộ thôn 2 — buổi sinh hoạt ngày 05/11/2026"),
        sender="chibo@example.vn",
    )
    assert first["Message-ID"] == dated["Message-ID"]


def test_several_absentees_subject_names_the_meeting_date_as_one_absentees_does() -> None:
    """The mail of several absentees ended its Subject with the meeting's hour and weekday ("…: Chi bộ thôn 2, 19:30
    thứ Năm, ngày 05/11/2026"), read as when the mail was about, not the meeting: it names the meeting's date as the
    one absentee's does, in Vietnam's day, for a follow-up adding several too."""
    names = ["Nguyễn Văn Nam", "Trần Thị Hoa", "Lê Văn Bình"]
    early = datetime(2026, 11, 4, 12, 30, tzinfo=UTC)  # 19:30 on the 4th in Vietnam
    title, _ = render(absence("m1", early, absentees=names), SECRETARY)
    assert title == "3 đảng viên vắng mặt không lý do: Chi bộ thôn 2 — buổi sinh hoạt ngày 04/11/2026", title
    added, _ = render(absence("m1", early, absentees=names[1:], added=True), SECRETARY)
    assert added == "Bổ sung 2 đảng viên vắng mặt không lý do: Chi bộ thôn 2 — buổi sinh hoạt ngày 04/11/2026", added
    assert not any(word in title + added for word in ("19:30", "thứ", ", ngày"))
