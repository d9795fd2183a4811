"""Every template's mail Subject decodes to exactly its title, long Vietnamese names included.

185 of 3,001 mails once lost a space where the Subject was folded ("Chibộ thôn Tây", "HuỳnhĐức Bình",
"thứBảy", "Tiểuhọc"): the fold fell between two RFC 2047 encoded words, where decoders drop whitespace.
"""

import email
import email.header
from datetime import date, datetime
from email import policy

import pytest

from services.notifications.channels import build_email
from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, Recipient
from services.notifications.repository.outgoing import ClaimedDelivery
from services.notifications.templates import DIGEST_HEADINGS, render, render_digest
from shared.envelope import VIETNAM_TZ

CELLS = [
    "Chi bộ thôn Tây Hòa Bình Thượng",
    "Chi bộ Trường Tiểu học Nguyễn Văn Trỗi xã Điện Bàn Đông",
    "Chi bộ khu phố Tây Lộc Hưng Thạnh Mỹ",
    "Chi bộ Trạm Y tế phường Hưng Đông",
]
PEOPLE = ["Huỳnh Đức Bình", "Tôn Nữ Thị Hoàng Phương Thảo", "Nguyễn Phước Bảo Long", "Lê Thị Ánh Tuyết"]
COMMITTEE = Recipient(id="ward", kind="committee", name="Đảng ủy phường Điện Bàn Đông Hưng Thạnh")
DAYS = [datetime(2026, 12, day, 19, 30, tzinfo=VIETNAM_TZ) for day in range(1, 8)]


def delivery(title: str) -> ClaimedDelivery:
    """A mail delivery of the title."""
    return ClaimedDelivery(
        id=1,
        notification_id="n-1",
        channel="email",
        addresses=("bithu@example.vn",),
        attempts=0,
        rule="meeting_scheduled",
        subject_id="s",
        recipient_id="r",
        recipient_kind="person",
        recipient_name="Huỳnh Đức Bình",
        recipient_phone=None,
        cell_id="c",
        title=title,
        body="Kính gửi đồng chí Huỳnh Đức Bình,\n\nNội dung thư.",
        created_at=datetime(2026, 12, 1, 8, 0, tzinfo=VIETNAM_TZ),
        webhook_secret=None,
    )


def decoded_subjects(title: str) -> tuple[str, str]:
    """The Subject as a mail client reads it, two ways, from the bytes sent over SMTP."""
    message = build_email(delivery(title), sender="chibo@example.vn")
    raw = message.as_bytes()
    assert all(len(line) <= 78 for line in raw.split(b"\n")), "a header line longer than RFC 5322 recommends"
    words = raw.split(b"\n\n", 1)[0].split()
    assert all(len(word) <= 75 for word in words if word.startswith(b"=?")), "an encoded word longer than RFC 2047's 75"
    modern = email.message_from_bytes(raw, policy=policy.default)
    legacy = email.message_from_bytes(raw)
    return str(modern["Subject"]), str(email.header.make_header(email.header.decode_header(legacy["Subject"])))


def titles() -> list[str]:
    """Every template's title with long names, every weekday, every cell."""
    found = []
    for index, rule in enumerate(r.RULES):
        for shift in range(len(DAYS)):
            values = {
                "cell": CELLS[(index + shift) % len(CELLS)],
                "meeting_kind": "combined",
                "topic": "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
                "starts_at": DAYS[shift],
                "location": "Nhà văn hóa thôn Tây",
                "member": PEOPLE[(index + shift) % len(PEOPLE)],
                "monitor": PEOPLE[(index + shift + 1) % len(PEOPLE)],
                "days": 2,
                "count": 4,
                "threshold": 3,
                "month": "2026-11",
                "quarter": "2026-Q4",
                "period_label": "2026-11",
                "rating": "average",
                "score": 62.5,
                "ends_on": date(2026, 12, 10),
                "attended": 1,
                "expected": 6,
                "quota": 6,
                "day": 25,
                "reason": "mưa bão",
            }
            recipient = Recipient(kind="person", id="p", name=PEOPLE[shift % len(PEOPLE)])
            alert = Alert(rule=rule, subject_id="s", period="p", recipients=(COMMITTEE,), cell_id="c", values=values)
            found.append(render(alert, recipient)[0])
    digest = [("minutes_late", title) for title in found[:3]]
    found.append(render_digest(recipient=COMMITTEE, day=date(2026, 12, 5), alerts=digest)[0])
    return found


@pytest.mark.parametrize("title", titles())
def test_the_subject_decodes_to_exactly_the_title(title: str) -> None:
    assert decoded_subjects(title) == (title, title)


@pytest.mark.parametrize(
    "title",
    [
        "Thông báo lịch sinh hoạt: Chi bộ thôn Tây Hòa Bình Thượng, 19:30 thứ Bảy, ngày 05/12/2026",
        "Đảng viên Huỳnh Đức Bình vắng sinh hoạt không có lý do 3 tháng trong năm — Chi bộ Trường Tiểu học",
        "Chi bộ " * 40,
        "a " * 200 + "Đức",
    ],
)
def test_the_spaces_of_the_reported_subjects_survive_folding(title: str) -> None:
    assert decoded_subjects(title) == (title, title)


def test_the_body_stays_utf8_text() -> None:
    message = build_email(delivery("Tiêu đề"), sender="chibo@example.vn")
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content() == "Kính gửi đồng chí Huỳnh Đức Bình,\n\nNội dung thư.\n"


def test_the_message_id_is_named_after_the_sender_domain_without_asking_the_resolver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_resolver(name: str = "") -> str:
        raise AssertionError("socket.getfqdn called for a Message-ID")

    monkeypatch.setattr("socket.getfqdn", no_resolver)
    message = build_email(delivery("Tiêu đề"), sender="Chibo <thongbao@chibo.example.vn>")
    assert str(message["Message-ID"]).endswith("@chibo.example.vn>")


def test_a_digest_of_hundreds_of_alerts_lists_fifty_and_counts_the_rest() -> None:
    """A committee's day brought 1,259 late-minutes alerts: one digest, not 1,259 lines of it."""
    alerts = [("minutes_late_superior", f"Chi bộ số {n} chậm hoàn thiện biên bản") for n in range(1, 1260)]
    title, body = render_digest(recipient=COMMITTEE, day=date(2026, 12, 5), alerts=alerts)
    assert title.endswith("1.259 nội dung")
    assert "Chậm hoàn thiện biên bản quá hạn, báo cấp trên (1.259):\n1. Chi bộ số 1 chậm" in body
    assert "50. Chi bộ số 50 chậm" in body and "51. " not in body
    assert "… và 1.209 cảnh báo khác cùng loại." in body
    few = render_digest(recipient=COMMITTEE, day=date(2026, 12, 5), alerts=alerts[:3])[1]
    assert "3. Chi bộ số 3" in few and "cảnh báo khác" not in few


def test_a_digest_groups_alerts_by_rule_and_shares_its_fifty_lines_among_them() -> None:
    """Sections in the order of DOMAIN.md's alerts, each with its count; 200 late minutes leave room for the two
    weak periods and the one unexcused absence (before, the first 50 lines of the day were all late minutes)."""
    alerts = [("minutes_late", f"Chi bộ số {n} chậm hoàn thiện biên bản") for n in range(1, 201)]
    alerts[100:100] = [("period_rated_low", "Chi bộ Ấp 3 xếp loại Kém tháng 11/2026")]
    alerts += [("unexcused_absence", "Đảng viên Lê Văn Tám vắng không có lý do"), ("period_rated_low", "Chi bộ Ấp 4")]
    body = render_digest(recipient=COMMITTEE, day=date(2026, 12, 5), alerts=alerts)[1]
    sections = body.split("\n\n")[2:-1]
    assert [section.splitlines()[0] for section in sections] == [
        "Chậm hoàn thiện biên bản (200):",
        "Vắng sinh hoạt không có lý do (1):",
        "Chi bộ xếp loại Trung bình, Kém trong kỳ (2):",
    ]
    assert sections[2].splitlines()[1:] == ["1. Chi bộ Ấp 3 xếp loại Kém tháng 11/2026", "2. Chi bộ Ấp 4"]
    assert sections[0].splitlines()[-1] == "… và 153 cảnh báo khác cùng loại."  # 50 lines: 47 + 1 + 2
    assert sum(1 for line in body.splitlines() if line[:1].isdigit()) == 50


def test_every_alert_rule_has_a_digest_heading() -> None:
    assert set(DIGEST_HEADINGS) == (set(r.RULES) - {r.DAILY_DIGEST}) | set(r.DIGESTED_CORRECTIONS)
