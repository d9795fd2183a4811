"""The sender mailbox (CHIBO_MAIL_FROM): only its display name is encoded, and a setting that is no mailbox stops
the service at start naming the variable, where it once failed every mail while /health said ok."""

import subprocess
import sys
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from typing import Any

import pytest
from pydantic import ValidationError

from services.notifications.channels import SmtpSender, build_email, build_group_email, wire_bytes
from services.notifications.config import Settings
from tests.notifications.test_group_mail import claimed
from tests.notifications.test_mail_subjects import delivery
from tests.support.running import smtp_server

LONG_NAME = "Văn phòng Ban Tuyên giáo và Dân vận Tỉnh ủy Demo, bộ phận theo dõi sinh hoạt chi bộ"


class Envelopes:
    """aiosmtpd handler keeping each mail's envelope sender and content."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        """Keep the envelope sender and the bytes."""
        self.mails.append((envelope.mail_from, envelope.content))
        return "250 OK"


def from_header(raw: bytes) -> bytes:
    """The From: field of raw mail bytes, its folded lines joined."""
    headers = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").split(b"\r\n")
    return next(line for line in headers if line.startswith(b"From: "))[len(b"From: ") :]


@pytest.mark.parametrize(
    ("mail_from", "name", "address"),
    [
        (f'"{LONG_NAME}" <thongbao@chibo.example.vn>', LONG_NAME, "thongbao@chibo.example.vn"),
        ("Tỉnh ủy <tinhuy@example.vn>", "Tỉnh ủy", "tinhuy@example.vn"),
        ('"Ban Tổ chức, Văn phòng" <btc@example.vn>', "Ban Tổ chức, Văn phòng", "btc@example.vn"),
        ('"Chibo, Demo" <a@example.vn>', "Chibo, Demo", "a@example.vn"),
        ("Chibo <a@example.vn>", "Chibo", "a@example.vn"),
        ("a@example.vn", "", "a@example.vn"),
    ],
)
def test_the_sender_reads_back_with_its_address_in_plain_text(mail_from: str, name: str, address: str) -> None:
    for message in (
        build_email(delivery("Tiêu đề"), sender=mail_from),
        build_group_email([claimed(1)], sender=mail_from),
    ):
        raw = wire_bytes(message)
        assert all(len(line) <= 78 for line in raw.split(b"\r\n")), "a header line longer than RFC 5322 recommends"
        value = from_header(raw)
        assert value.endswith(f"<{address}>".encode()) or value == address.encode()  # RFC 2047 5: never encoded
        assert all(len(word) <= 75 for word in value.split() if word.startswith(b"=?"))  # RFC 2047 2
        # as mail clients decode it (RFC 2047 6.2: the white space between two encoded words is dropped)
        decoded = str(make_header(decode_header(value.decode("ascii"))))
        assert decoded == (f"{name} <{address}>" if name else address) or decoded == f'"{name}" <{address}>'
        parsed = message_from_bytes(raw, policy=policy.default)["From"]
        assert not parsed.defects
        assert [a.addr_spec for a in parsed.addresses] == [address]
        # Python's own parser puts a space between the encoded words of a phrase (against RFC 2047 6.2), even
        # inside a word split between two of them: its letters, not its spaces
        assert parsed.addresses[0].display_name.replace(" ", "") == name.replace(" ", "")
        assert str(message["Message-ID"]).endswith(f"@{address.partition('@')[2]}>")


async def test_the_server_gets_the_plain_address_as_envelope_sender() -> None:
    handler = Envelopes()
    with smtp_server(handler) as port:
        settings = Settings(smtp_port=port, mail_from=f'"{LONG_NAME}" <thongbao@chibo.example.vn>')
        sender = SmtpSender(settings)
        await sender.send(claimed(1))
        assert await sender.send_group([claimed(2), claimed(3)]) == [None, None]
        await sender.aclose()
    assert [mail_from for mail_from, _ in handler.mails] == ["thongbao@chibo.example.vn"] * 2
    for _, content in handler.mails:
        assert from_header(content).endswith(b" <thongbao@chibo.example.vn>")


@pytest.mark.parametrize(
    ("mail_from", "says"),
    [
        ("Ban Tổ chức, Văn phòng <btc@example.vn>", "one mailbox expected, found 2"),
        ("Chibo <a@example.vn>, b@example.vn", "one mailbox expected, found 2"),
        ("", "one mailbox expected, found 0"),
        ("thongbao", "not a mailbox"),
        ("Chibo <thongbao>", "not a mailbox"),
        ("Chibo <a@@example.vn>", "not a mailbox"),
        ("Tỉnh ủy <thôngbáo@example.vn>", "not a mailbox"),
    ],
)
def test_a_setting_that_is_no_single_mailbox_is_refused_naming_the_variable(mail_from: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(mail_from=mail_from)
    assert "CHIBO_MAIL_FROM" in str(caught.value) and says in str(caught.value)


def test_the_service_does_not_start_with_such_a_setting_and_says_why() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.notifications", "serve"],
        env={"CHIBO_MAIL_FROM": "Ban Tổ chức, Văn phòng <btc@example.vn>", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "CHIBO_MAIL_FROM: one mailbox expected, found 2" in done.stderr
    assert "Traceback" not in done.stderr
