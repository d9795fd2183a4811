"""The bytes of a mail carry no character that steers or hides text: its To names the cell through
shared.text.shown_name, and a delivery stored before its text was guarded is guarded as it is sent."""

import email
from dataclasses import replace
from email import policy

from services.notifications.channels import build_email, build_group_email
from tests.notifications.test_mail_subjects import delivery

RLO, ZWSP = "\u202e", "\u200b"


def _read(raw: bytes) -> tuple[str, str, str]:
    message = email.message_from_bytes(raw, policy=policy.default)
    body = message.get_body()
    assert body is not None
    return str(message["To"]), str(message["Subject"]), body.get_content()


def test_a_group_mail_names_a_cell_sent_with_an_override_in_order() -> None:
    sent = replace(
        delivery(f"Nhắc lịch sinh hoạt: Chi bộ {RLO}thôn 1"),
        cell_name=f"Chi bộ {RLO}thôn 1{ZWSP}",
        body=f"Kính gửi các đồng chí,\n\nChi bộ {RLO}thôn 1 họp.",
    )
    to, subject, body = _read(build_group_email([sent, replace(sent, id=2)], sender="chibo@example.vn").as_bytes())
    assert to == "Đảng viên Chi bộ thôn 1:;"
    assert subject == "Nhắc lịch sinh hoạt: Chi bộ thôn 1"
    assert "Chi bộ thôn 1 họp." in body and RLO not in body


def test_a_mail_stored_with_an_override_is_sent_without_it() -> None:
    sent = replace(delivery(f"Vắng: {RLO}Nguyễn Văn An"), body=f"Đồng chí {RLO}Nguyễn{ZWSP} Văn An vắng mặt.")
    _, subject, body = _read(build_email(sent, sender="chibo@example.vn").as_bytes())
    assert subject == "Vắng: Nguyễn Văn An"
    assert body.strip() == "Đồng chí Nguyễn Văn An vắng mặt."
