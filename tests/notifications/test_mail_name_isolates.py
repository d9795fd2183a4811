"""A mail is text/plain: a name holding a right-to-left letter (a cell named in Hebrew or Arabic, CONTRACT.md accepts
it) sits between U+2068 and U+2069, so the words and figures after it ("…, 19:30 thứ Ba") keep their order in the
Subject and the body; a Vietnamese name, which reorders nothing, gets no invisible character; a name with an override
or markup is cleaned and never isolated for it. The in-app inbox, which shows the same text, prints the isolated name
in <bdi>. Checked on the mail's bytes and the inbox's HTML, without a running system."""

import email
from dataclasses import replace
from datetime import datetime
from email import policy
from types import SimpleNamespace

from services.gateway.web.core import environment
from services.notifications.channels import build_email
from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, Recipient
from services.notifications.templates import render
from shared.envelope import VIETNAM_TZ
from tests.notifications.test_mail_subjects import delivery

HEBREW = "\u05e1\u05e0\u05d9\u05e3 3"
"""A cell's name in Hebrew letters and a digit: without isolates, the comma and the time after it join its run."""
SPOOFED = "Lê\u202e Thị <script>alert(1)</script> Bình"
ISOLATED = f"\u2068{HEBREW}\u2069"
DAY = " — buổi sinh hoạt ngày 03/11/2026"
"""How the Subject names the meeting's date (19:30 on 3 November 2026)."""


def absence(cell: str, member: str) -> Alert:
    recipient = Recipient(id="sec", kind="person", name="Huỳnh Đức Bình")
    return Alert(
        rule=r.UNEXCUSED_ABSENCE,
        subject_id="m1",
        period="absent",
        recipients=(recipient,),
        cell_id="c",
        values={
            "cell": cell,
            "member": member,
            "meeting_kind": "regular",
            "starts_at": datetime(2026, 11, 3, 19, 30, tzinfo=VIETNAM_TZ),
            "location": "Nhà văn hóa",
        },
    )


def test_a_right_to_left_name_is_isolated_in_the_subject_and_the_body_and_a_vietnamese_one_is_not() -> None:
    alert = absence(HEBREW, SPOOFED)
    title, body = render(alert, alert.recipients[0])
    assert title == f"Đảng viên vắng mặt không lý do: Lê Thị <script>alert(1)</script> Bình, {ISOLATED}{DAY}"
    assert f"buổi sinh hoạt thường kỳ của {ISOLATED} vào lúc 19:30" in body, body
    assert "\u202e" not in title + body and body.count("\u2068") == body.count("\u2069") == 1, body
    assert body.startswith("Kính gửi đồng chí Huỳnh Đức Bình,\n")  # no isolate around a Vietnamese name

    message = email.message_from_bytes(
        build_email(replace(delivery(title), body=body), sender="chibo@example.vn").as_bytes(),
        policy=policy.default,
    )
    assert str(message["Subject"]) == title
    assert message.get_content().rstrip("\n") == body


def test_the_inbox_prints_the_isolated_name_in_bdi_and_its_mark_as_read_label_plainly() -> None:
    alert = absence(HEBREW, SPOOFED)
    title, body = render(alert, alert.recipients[0])
    item = {
        "notification_id": "n-1",
        "title": title,
        "body": body,
        "read_at": None,
        "void_at": None,
        "rule": alert.rule,
        "created_at": datetime(2026, 11, 4, 8, 0, tzinfo=VIETNAM_TZ),
    }
    html = (
        environment()
        .get_template("_inbox.html")
        .render(inbox=[item], inbox_return="/me", viewer=SimpleNamespace(csrf="t"), prefix="/app")
    )
    shown = "Lê Thị &lt;script&gt;alert(1)&lt;/script&gt; Bình"
    assert f"<strong>Đảng viên vắng mặt không lý do: {shown}, <bdi>{HEBREW}</bdi>{DAY}</strong>" in html, html
    assert f"của <bdi>{HEBREW}</bdi> vào lúc 19:30" in html, html
    label = html.split('aria-label="', 1)[1].split('"', 1)[0]
    assert "<bdi>" not in label and HEBREW in label, label
    assert "\u2068" not in html and "\u2069" not in html and "<script>" not in html
