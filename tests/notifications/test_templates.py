"""Texts are Vietnamese with diacritics, naming the cell, the meeting, the date and what to do."""

from datetime import datetime

from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, Recipient
from services.notifications.handlers.alerts import _texts
from services.notifications.templates import (
    COLLECTIVE_RULES,
    TEMPLATES,
    format_period,
    format_when,
    greeting_of_many,
    render,
    shared_text,
)
from shared.periods import VIETNAM_TZ

PERSON = Recipient(id="a", kind="person", name="Lê Thị Hồng")
COMMITTEE = Recipient(id="ward", kind="committee", name="Đảng ủy phường An Hòa")


def test_formats_dates_the_vietnamese_way() -> None:
    assert format_when(datetime(2026, 11, 3, 19, 30, tzinfo=VIETNAM_TZ)) == "19:30 thứ Ba, ngày 03/11/2026"
    assert format_when(datetime(2026, 11, 8, 1, 0, tzinfo=VIETNAM_TZ)) == "01:00 Chủ nhật, ngày 08/11/2026"
    assert format_period("2026-Q4") == "quý IV/2026" and format_period("2026-11") == "tháng 11/2026"


def test_a_meeting_notice_names_cell_meeting_time_place_and_what_to_do() -> None:
    alert = Alert(
        rule=r.MEETING_SCHEDULED,
        subject_id="m1",
        period="scheduled",
        recipients=(PERSON,),
        cell_id="c",
        values={
            "cell": "Chi bộ khu phố 3",
            "meeting_kind": "thematic",
            "topic": "Học tập Chỉ thị 50",
            "starts_at": datetime(2026, 11, 3, 19, 30, tzinfo=VIETNAM_TZ),
            "location": "Nhà văn hóa",
        },
    )
    title, body = render(alert, PERSON)
    assert title == "Thông báo lịch sinh hoạt: Chi bộ khu phố 3, 19:30 thứ Ba, ngày 03/11/2026"
    assert body.startswith("Kính gửi các đồng chí đảng viên Chi bộ khu phố 3,")
    assert "sinh hoạt chuyên đề chuyên đề “Học tập Chỉ thị 50” của Chi bộ khu phố 3" not in body
    assert "buổi sinh hoạt chuyên đề “Học tập Chỉ thị 50” của Chi bộ khu phố 3 vào lúc 19:30 thứ Ba" in body
    assert "Đề nghị các đồng chí sắp xếp thời gian tham dự" in body
    # 'không thể dự báo cáo' read as 'dự báo' (forecast): the fresh-user trial
    assert body.endswith(
        "đồng chí nào không thể tham dự thì báo cáo lý do với đồng chí bí thư chi bộ trước buổi sinh hoạt."
    )


def test_a_notice_to_a_whole_cell_is_one_text_for_every_recipient_naming_no_one() -> None:
    """Scheduled, moved, cancelled and reminder go to every expected member and the monitor: the same text to all
    members, so that one mail carries it (channels.SmtpSender.send_group); the monitor has a mail of their own, so
    the members' text greets the members alone, whether or not the cell has a monitor."""
    other = Recipient(id="b", kind="person", name="Nguyễn Văn Bình")
    values = {"cell": "Chi bộ thôn Đông", "starts_at": datetime(2026, 11, 3, 19, 30, tzinfo=VIETNAM_TZ)}
    for rule in (r.MEETING_SCHEDULED, r.MEETING_RESCHEDULED, r.MEETING_CANCELLED, r.MEETING_REMINDER):
        for monitor_ids in ((), ("uv1",)):
            alert = Alert(
                rule=rule,
                subject_id="m",
                period="p",
                recipients=(PERSON, other),
                cell_id="c",
                values=values
                | {"monitored": bool(monitor_ids), "monitor_ids": monitor_ids},  # as the rules gave it before
            )
            text = render(alert, PERSON)
            assert text == render(alert, other) == shared_text(alert), rule  # raise_alerts renders it once
            assert "Lê Thị Hồng" not in text[1] and "Nguyễn Văn Bình" not in text[1]
            assert text[1].startswith("Kính gửi các đồng chí đảng viên Chi bộ thôn Đông,\n"), rule


def test_every_rule_has_a_template_without_leftover_placeholders() -> None:
    values = {
        "cell": "Chi bộ thôn Đông",
        "meeting_kind": "regular",
        "starts_at": datetime(2026, 11, 3, 19, 30, tzinfo=VIETNAM_TZ),
        "location": "Hội trường",
        "member": "Phạm Văn Đức",
        "days": 2,
        "count": 4,
        "threshold": 3,
        "month": "2026-11",
        "quarter": "2026-Q4",
        "period_label": "2026-11",
        "rating": "poor",
        "score": 42.5,
        "ends_on": datetime(2026, 12, 10).date(),
        "monitor": "Trần Thị Mai",
        "attended": 1,
        "expected": 5,
        "quota": 6,
        "day": 25,
        "reason": "mưa bão",
    }
    for rule in (*r.RULES, *r.FOLLOW_UP_RULES):
        title, body = render(
            Alert(rule=rule, subject_id="s", period="p", recipients=(COMMITTEE,), cell_id="c", values=values), COMMITTEE
        )
        assert "$" not in title + body, rule
        greeting = "các đồng chí đảng viên Chi bộ thôn Đông" if rule in COLLECTIVE_RULES else "Đảng ủy phường An Hòa"
        assert body.startswith(f"Kính gửi {greeting},"), rule
        alert = Alert(rule=rule, subject_id="s", period="p", recipients=(COMMITTEE,), cell_id="c", values=values)
        assert shared_text(alert) == ((title, body) if rule in COLLECTIVE_RULES else None), rule
        assert "đề nghị" in body.lower() or "vui lòng" in body
    assert set(TEMPLATES) == {*r.RULES, *r.FOLLOW_UP_RULES}


def test_a_notice_without_an_agenda_says_what_the_meeting_is_about_and_a_move_without_a_reason_invents_none() -> None:
    start = datetime(2026, 11, 3, 19, 30, tzinfo=VIETNAM_TZ)
    values = {"cell": "Chi bộ thôn Đông", "starts_at": start, "location": "Nhà văn hóa"}
    expected = {
        "regular": "Nội dung: sinh hoạt thường kỳ hằng tháng của chi bộ theo quy định.",
        "combined": "Nội dung: sinh hoạt thường kỳ hằng tháng của chi bộ, kết hợp sinh hoạt chuyên đề nêu trên.",
        "thematic": "Nội dung: theo chuyên đề nêu trên.",
        "extraordinary": "Nội dung sinh hoạt sẽ được chi bộ thông báo cụ thể.",
    }
    for kind, content in expected.items():
        topic = "Học tập Chỉ thị 50" if kind in ("thematic", "combined") else None
        alert = Alert(
            rule=r.MEETING_SCHEDULED,
            subject_id="m",
            period="scheduled",
            recipients=(PERSON,),
            cell_id="c",
            values=values | {"meeting_kind": kind, "topic": topic, "agenda": ()},
        )
        assert f".\n\n{content}\n\nĐề nghị" in render(alert, PERSON)[1], kind
    moved = Alert(
        rule=r.MEETING_RESCHEDULED,
        subject_id="m",
        period="p",
        recipients=(PERSON,),
        cell_id="c",
        values=values | {"meeting_kind": "regular", "previous_starts_at": None, "reason": None},
    )
    body = render(moved, PERSON)[1]
    assert "của Chi bộ thôn Đông được chuyển sang lúc 19:30 thứ Ba, ngày 03/11/2026 tại Nhà văn hóa.\n\n" in body
    assert "Lý do" not in body and "dự kiến" not in body


def test_two_low_meeting_alerts_of_one_cell_are_told_apart_by_their_meetings_date() -> None:
    """A trial's committee inbox showed two "Buổi sinh hoạt xếp loại Kém: Chi bộ thôn 1" alike, with the same
    "Đánh dấu … là đã đọc" buttons: the title names the meeting's date (test_alert_subject_dates)."""

    def title(starts_at: datetime | None) -> str:
        values = {"cell": "Chi bộ thôn 1", "rating": "poor", "score": 40.0, "meeting_kind": "regular"}
        values |= {"starts_at": starts_at} if starts_at else {}
        alert = Alert(
            rule=r.MEETING_RATED_LOW, subject_id="m", period="p", recipients=(COMMITTEE,), cell_id="c", values=values
        )
        return render(alert, COMMITTEE)[0]

    first = title(datetime(2026, 11, 20, 19, 30, tzinfo=VIETNAM_TZ))
    assert first == "Chất lượng sinh hoạt xếp loại Kém: Chi bộ thôn 1 — buổi sinh hoạt ngày 20/11/2026"
    assert title(datetime(2026, 11, 27, 19, 30, tzinfo=VIETNAM_TZ)) != first
    assert title(None) == "Chất lượng sinh hoạt xếp loại Kém: Chi bộ thôn 1"  # no time known: none invented


def test_a_shared_mailbox_greeting_joins_the_last_two_names_by_va() -> None:
    """Trial: two members sharing a mailbox were greeted "Kính gửi các đồng chí Phạm Quốc Quang, Hồ Kim Vân,": a
    Vietnamese list joins its last two names by "và" ("A, B và C" for three), with one "và" after committees."""
    quang, van, tam = (
        Recipient(id=name, kind="person", name=name) for name in ("Phạm Quốc Quang", "Hồ Kim Vân", "Lý Minh Tâm")
    )
    assert greeting_of_many([quang, van]) == "Kính gửi các đồng chí Phạm Quốc Quang và Hồ Kim Vân,"
    assert greeting_of_many([quang, van, tam]) == "Kính gửi các đồng chí Phạm Quốc Quang, Hồ Kim Vân và Lý Minh Tâm,"
    assert greeting_of_many([COMMITTEE, quang]) == "Kính gửi Đảng ủy phường An Hòa và đồng chí Phạm Quốc Quang,"
    assert (
        greeting_of_many([COMMITTEE, quang, van])
        == "Kính gửi Đảng ủy phường An Hòa và các đồng chí Phạm Quốc Quang, Hồ Kim Vân,"
    )


def test_a_monitors_own_mail_of_a_cells_notice_greets_the_monitor() -> None:
    """Trial: the commune committee member following a cell got their own mail of its meeting (sent to them alone
    once assigned) greeting "các đồng chí đảng viên Chi bộ … và đồng chí cấp ủy viên phụ trách chi bộ": a mail to
    one person greets that person; the cell's members keep the one text they share."""
    monitor = Recipient(id="uv1", kind="person", name="Trần Văn Phụ")
    values = {
        "cell": "Chi bộ thôn Đông",
        "starts_at": datetime(2026, 11, 3, 19, 30, tzinfo=VIETNAM_TZ),
        "monitored": True,  # as the rules gave it before: a cell with a monitor no longer changes the members' text
        "monitor_ids": ("uv1",),
    }
    for rule in sorted(COLLECTIVE_RULES):
        alert = Alert(
            rule=rule, subject_id="m", period="p", recipients=(PERSON, monitor), cell_id="c", values=dict(values)
        )
        assert render(alert, monitor)[1].startswith("Kính gửi đồng chí Trần Văn Phụ,\n"), rule
        shared = shared_text(alert)
        assert shared is not None and render(alert, PERSON) == shared, rule
        assert shared[1].startswith("Kính gửi các đồng chí đảng viên Chi bộ thôn Đông,\n"), rule
        assert [text for _, text in _texts(alert)] == [shared, render(alert, monitor)], rule


MONITOR_ENDINGS = {
    r.MEETING_SCHEDULED: "Kính mời đồng chí sắp xếp thời gian dự và chỉ đạo buổi sinh hoạt của chi bộ.",
    r.MEETING_RESCHEDULED: "Kính mời đồng chí lưu ý lịch mới để sắp xếp thời gian dự và chỉ đạo buổi sinh hoạt.",
    r.MEETING_CANCELLED: "Khi chi bộ có lịch sinh hoạt mới, hệ thống sẽ thông báo tới đồng chí.",
    r.MEETING_CANCEL_UPDATED: "Khi chi bộ có lịch sinh hoạt mới, hệ thống sẽ thông báo tới đồng chí.",
    r.MEETING_REMINDER: "Kính mời đồng chí dự và chỉ đạo buổi sinh hoạt của chi bộ.",
}


def test_a_monitors_own_mail_of_a_cells_notice_speaks_to_them_alone_as_an_attending_committee_member() -> None:
    """Trial: the monitor's own mail greeted "Kính gửi đồng chí Phan Quốc Tuấn," and then asked "Đề nghị các đồng
    chí…" and, in the new meeting's notice, to report an absence to the cell secretary: an upper-level monitor is not
    summoned as the cell's members are, but notified and attends some of its meetings (DOMAIN.md), so their text
    speaks to them alone ("đồng chí") and invites them to attend and direct the meeting; the members' keeps its own."""
    monitor = Recipient(id="uv1", kind="person", name="Phan Quốc Tuấn")
    start = datetime(2026, 11, 3, 19, 30, tzinfo=VIETNAM_TZ)
    values = {
        "cell": "Chi bộ thôn Đông",
        "meeting_kind": "regular",
        "starts_at": start,
        "location": "Nhà văn hóa",
        "previous_starts_at": datetime(2026, 11, 2, 19, 30, tzinfo=VIETNAM_TZ),
        "reason": "mưa bão",
        "monitor_ids": ("uv1",),
    }
    assert set(MONITOR_ENDINGS) == COLLECTIVE_RULES
    for rule, ending in MONITOR_ENDINGS.items():
        alert = Alert(rule=rule, subject_id="m", period="p", recipients=(PERSON, monitor), cell_id="c", values=values)
        title, body = render(alert, monitor)
        assert body.startswith("Kính gửi đồng chí Phan Quốc Tuấn,\n\n") and body.endswith("\n\n" + ending), body
        assert "các đồng chí" not in body.lower() and "bí thư" not in body, body
        assert "$" not in title + body, rule
        members = shared_text(alert)
        assert members is not None and title == members[0], rule  # the same meeting, told the same way
        assert "các đồng chí" in members[1].lower() and ending not in members[1], rule
    scheduled = Alert(
        rule=r.MEETING_SCHEDULED, subject_id="m", period="p", recipients=(monitor,), cell_id="c", values=values
    )
    assert render(scheduled, monitor)[1] == (
        "Kính gửi đồng chí Phan Quốc Tuấn,\n\n"
        "Xin thông báo tới đồng chí buổi sinh hoạt thường kỳ của Chi bộ thôn Đông vào lúc 19:30 thứ Ba, "
        "ngày 03/11/2026 tại Nhà văn hóa.\n\n"
        "Nội dung: sinh hoạt thường kỳ hằng tháng của chi bộ theo quy định.\n\n"
        "Kính mời đồng chí sắp xếp thời gian dự và chỉ đạo buổi sinh hoạt của chi bộ."
    )


def test_figures_in_a_mail_read_as_on_the_page_with_a_decimal_comma_and_a_thousands_dot() -> None:
    """Every figure a mail gives goes through shared.numbers, as the gateway's pages do: a score of 81.05 read
    `81,0 điểm` (a float's rounding, the page says 81,1) and 80.0 `80,0` (the page says 80), and 1234 days `1234`."""

    def body(rule: str, **values: object) -> str:
        values = {"cell": "Chi bộ thôn 1", "starts_at": datetime(2026, 11, 20, 19, 30, tzinfo=VIETNAM_TZ)} | values
        alert = Alert(rule=rule, subject_id="m", period="p", recipients=(COMMITTEE,), cell_id="c", values=values)
        return render(alert, COMMITTEE)[1]

    assert "được đánh giá 81,1 điểm, xếp loại Kém" in body(r.MEETING_RATED_LOW, rating="poor", score=81.05)
    assert "đạt 80 điểm, xếp loại Kém" in body(r.PERIOD_RATED_LOW, rating="poor", score=80.0, period_label="2026-11")
    assert "Đã quá 1.234 ngày kể từ buổi" in body(r.MINUTES_LATE_SUPERIOR, days=1234, missing=["minutes"])
    agenda = [f"Nội dung {n}" for n in range(1_300)]
    assert "- và 1.295 nội dung khác." in body(r.MEETING_SCHEDULED, agenda=agenda)  # 5 listed, the rest counted
