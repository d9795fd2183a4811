"""The Vietnamese readers' trial (h421): one verb for posting documents ("đăng tải", as the web app says it), every
meeting notice's Subject in one pattern ("<kind of notice>: <Chi bộ …>, <when>") and a month written as the web
app writes it (i18n.format_period: "tháng 2/2026", unpadded)."""

import re
from datetime import datetime, timedelta

from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, Recipient
from services.notifications.templates import COLLECTIVE_RULES, DIGEST_HEADINGS, TEMPLATES, render
from shared.periods import VIETNAM_TZ

PERSON = Recipient(id="a", kind="person", name="Lê Thị Hồng")
START = datetime(2026, 11, 3, 19, 30, tzinfo=VIETNAM_TZ)
CELL = "Chi bộ khu phố 3"


def _alert(rule: str, **values: object) -> Alert:
    base: dict[str, object] = {"cell": CELL, "meeting_kind": "regular", "starts_at": START, "location": "Hội trường"}
    return Alert(rule=rule, subject_id="m1", period="p", recipients=(PERSON,), cell_id="c", values=base | values)


def test_the_documents_missing_mail_says_dang_tai_as_the_app_does() -> None:
    title, body = render(_alert(r.DOCUMENTS_MISSING), PERSON)
    assert title == "Chưa đăng tải tài liệu sinh hoạt: Chi bộ khu phố 3 — buổi sinh hoạt ngày 03/11/2026"
    assert "được đăng tải cho buổi" in body and "Đề nghị đồng chí đăng tải tài liệu" in body
    assert DIGEST_HEADINGS[r.DOCUMENTS_MISSING] == "Chưa đăng tải tài liệu trước buổi sinh hoạt"
    # no "đăng" alone (but "đăng tải", "đăng ký", "đăng nhập") in any mail text
    for title_template, body_template in TEMPLATES.values():
        for text in (title_template, body_template):
            assert not re.search(r"\bđăng (?!tải|ký|nhập)", text), text


def test_every_meeting_notice_subject_reads_kind_colon_cell_comma_when() -> None:
    later = START + timedelta(days=1)
    moved = _alert(r.MEETING_RESCHEDULED, starts_at=later, previous_starts_at=START)
    relocated = _alert(r.MEETING_RESCHEDULED, previous_starts_at=START, previous_location="Nhà văn hóa")
    retyped = _alert(r.MEETING_RESCHEDULED, previous_starts_at=START, meeting_kind="thematic", topic="Chỉ thị 50")
    alerts = [_alert(rule) for rule in sorted(COLLECTIVE_RULES - {r.MEETING_RESCHEDULED})]
    titles = [render(alert, PERSON)[0] for alert in [*alerts, moved, relocated, retyped]]
    for title in titles:
        assert re.fullmatch(r"[^:]+: Chi bộ khu phố 3, .*ngày \d\d/\d\d/2026", title), title
    assert (
        render(moved, PERSON)[0]
        == "Thay đổi lịch sinh hoạt: Chi bộ khu phố 3, chuyển sang 19:30 thứ Tư, ngày 04/11/2026"
    )


def test_a_month_in_a_mail_is_written_unpadded_as_on_the_pages() -> None:
    title, body = render(_alert(r.NO_REGULAR_MEETING, month="2026-02", day=20), PERSON)
    assert title == "Chưa sinh hoạt thường kỳ tháng 2/2026: Chi bộ khu phố 3"
    assert "tháng 2/2026" in body and "tháng 02/2026" not in body
