"""A trial: no alert or digest mail named a page to open (the digest ended "Chi tiết xem trong hộp thư của hệ
thống" with no address). With the deployment's public address (CHIBO_PUBLIC_BASE_URL) a mail names the meeting's
page or the recipient's inbox; without one the words stay, with no link."""

import dataclasses
from datetime import date

import pytest

from services.notifications.channels import build_email, build_group_email
from services.notifications.config import Settings
from services.notifications.domain import settings as r
from services.notifications.domain.model import Recipient
from services.notifications.repository.outgoing import ClaimedDelivery
from services.notifications.templates import DIGEST_CLOSE, render_digest
from tests.notifications.test_mail_subjects import delivery

BASE = "https://chibo.tinh-demo.vn"


def text_of(mail: ClaimedDelivery, public_url: str | None) -> str:
    """The decoded body of the delivery's e-mail."""
    message = build_email(mail, sender="chibo@example.vn", public_url=public_url)
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().rstrip("\n")


def test_a_notice_about_a_meeting_names_its_page() -> None:
    mail = dataclasses.replace(delivery("Lịch sinh hoạt"), rule=r.MEETING_SCHEDULED, subject_id="m-2026 1")
    said = text_of(mail, BASE)
    assert said.endswith(f"\n\nXem chi tiết trên hệ thống tại: {BASE}/app/meetings/m-2026%201"), said
    group = build_group_email(
        [mail, dataclasses.replace(mail, id=2, recipient_id="r2")], sender="c@example.vn", public_url=BASE
    )
    payload = group.get_payload(decode=True)
    assert isinstance(payload, bytes) and f"{BASE}/app/meetings/m-2026%201" in payload.decode()


@pytest.mark.parametrize(
    ("kind", "recipient", "page"), [("person", "dv1", "/app/me"), ("committee", "xa-1", "/app/committees/xa-1")]
)
def test_any_other_notice_and_the_digest_name_the_inbox(kind: str, recipient: str, page: str) -> None:
    other = dataclasses.replace(
        delivery("Vắng nhiều buổi"), rule=r.CONSECUTIVE_ABSENCES, recipient_kind=kind, recipient_id=recipient
    )
    assert text_of(other, BASE).endswith(f"Xem chi tiết trên hệ thống tại: {BASE}{page}")
    title, body = render_digest(
        recipient=Recipient(id=recipient, kind=kind, name="Đảng ủy xã"),
        day=date(2026, 3, 2),
        alerts=[(r.MINUTES_LATE, "Chậm biên bản")],
    )
    digest = dataclasses.replace(other, rule=r.DAILY_DIGEST, subject_id=recipient, title=title, body=body)
    said = text_of(digest, BASE)
    assert said.endswith(f"Chi tiết xem trong hộp thư của hệ thống tại: {BASE}{page}"), said
    assert "Xem chi tiết trên hệ thống" not in said  # said once, in the digest's own words


def test_without_an_address_the_words_stay_and_no_link_is_made() -> None:
    title, body = render_digest(
        recipient=Recipient(id="xa-1", kind="committee", name="Đảng ủy xã"),
        day=date(2026, 3, 2),
        alerts=[(r.MINUTES_LATE, "Chậm biên bản")],
    )
    digest = dataclasses.replace(delivery(title), rule=r.DAILY_DIGEST, body=body)
    assert text_of(digest, None).endswith(DIGEST_CLOSE)
    assert "http" not in text_of(delivery("Lịch sinh hoạt"), None)


def test_the_public_address_is_checked_when_the_service_starts() -> None:
    assert Settings(public_base_url=BASE + "/").public_base_url == BASE
    assert Settings(public_base_url="").public_base_url is None
    with pytest.raises(ValueError, match="CHIBO_PUBLIC_BASE_URL"):
        Settings(public_base_url="chibo.tinh-demo.vn")
