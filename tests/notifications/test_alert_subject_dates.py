"""Every alert about one meeting ends its Subject the same way, with the meeting's date in Vietnam's time ("… — buổi
sinh hoạt ngày 04/11/2026"): the absence mails did, while the poor-rating mail still ended with the meeting's hour
and weekday (", 19:30 thứ Tư, ngày 04/11/2026") and the late-minutes ones with "buổi 19:30 thứ Tư, …", which read
as the time the mail itself was about. The notices telling a whole cell when to come keep the hour."""

from datetime import UTC, datetime

import pytest

from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, Recipient
from services.notifications.templates import COLLECTIVE_RULES, TEMPLATES, render

SECRETARY = Recipient(id="sec", kind="person", name="Huỳnh Đức Bình")
WARD = Recipient(id="ward", kind="committee", name="Đảng ủy phường An Hòa")
STARTS_AT = datetime(2026, 11, 4, 12, 30, tzinfo=UTC)  # 19:30 on Wednesday 4 November in Vietnam
LATE_START = datetime(2026, 11, 3, 18, 0, tzinfo=UTC)  # 01:00 on the 4th in Vietnam, the 3rd in UTC
ENDING = " — buổi sinh hoạt ngày 04/11/2026"

ABOUT_ONE_MEETING = sorted(
    ({*r.RETRACTED_WHEN_CANCELLED, *r.VOID_SHOWN_WHEN_CANCELLED} - COLLECTIVE_RULES) & set(TEMPLATES)
)
"""The alert kinds whose subject is one meeting (settings: their alerts lose their ground when it is cancelled),
apart from the notices to its whole cell."""

VALUES: dict[str, object] = {
    "cell": "Chi bộ thôn 2",
    "meeting_kind": "regular",
    "location": "Nhà văn hóa thôn 2",
    "member": "Nguyễn Văn Nam",
    "rating": "poor",
    "score": 40.0,
    "days": 3,
    "missing": ["minutes"],
}


def title(rule: str, starts_at: datetime | None = STARTS_AT) -> str:
    """The Subject of an alert of `rule` about a meeting starting at `starts_at` (none known: None)."""
    values = VALUES | ({"starts_at": starts_at} if starts_at else {})
    alert = Alert(rule=rule, subject_id="m1", period="p", recipients=(SECRETARY,), cell_id="c", values=values)
    return render(alert, WARD if rule in (r.MEETING_RATED_LOW, r.MINUTES_LATE_SUPERIOR) else SECRETARY)[0]


def test_the_kinds_about_one_meeting_are_the_ones_expected() -> None:
    assert ABOUT_ONE_MEETING == sorted(
        {r.DOCUMENTS_MISSING, r.MINUTES_LATE, r.MINUTES_LATE_SUPERIOR, r.MEETING_RATED_LOW, r.UNEXCUSED_ABSENCE}
    )


@pytest.mark.parametrize("rule", ABOUT_ONE_MEETING)
def test_an_alert_about_one_meeting_ends_its_subject_with_the_meetings_date(rule: str) -> None:
    subject = title(rule)
    assert subject.endswith("Chi bộ thôn 2" + ENDING), subject
    assert not any(word in subject for word in ("19:30", "thứ Tư", ", ngày")), subject
    assert title(rule, LATE_START).endswith(ENDING), "the meeting's day in Vietnam, not in UTC"
    assert title(rule, None).endswith("Chi bộ thôn 2"), "no date known: none invented"


@pytest.mark.parametrize("rule", sorted(set(TEMPLATES) - set(ABOUT_ONE_MEETING) - COLLECTIVE_RULES))
def test_no_other_alert_ends_its_subject_with_a_meetings_hour(rule: str) -> None:
    subject = title(rule)
    assert "19:30" not in subject and "thứ Tư" not in subject, subject


def test_the_poor_rating_subject_reads_naturally() -> None:
    assert title(r.MEETING_RATED_LOW) == "Chất lượng sinh hoạt xếp loại Kém: Chi bộ thôn 2" + ENDING
