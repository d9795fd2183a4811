"""The demo mail sink keeps every mail as a readable UTF-8 file."""

import asyncio
import smtplib
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from deploy.mailsink import envelope_recipients, start_sink
from tests.support.running import free_port


def _send(port: int) -> None:
    message = EmailMessage()
    message["From"] = "thongbao@chibo.local"
    message["To"] = "bithu@chibo.vn"
    message["Subject"] = "Nhắc lịch sinh hoạt: Chi bộ khu phố Đông"
    message.set_content("Kính gửi đồng chí Nguyễn Văn Bình,", charset="utf-8")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


async def test_keeps_each_mail_as_an_eml_file_a_person_can_read(tmp_path: Path) -> None:
    port = free_port()
    sink = start_sink(host="127.0.0.1", port=port, directory=tmp_path / "mail")
    try:
        await asyncio.to_thread(_send, port)
    finally:
        sink.stop()
    emls = list((tmp_path / "mail").glob("*.eml"))
    assert len(emls) == 1
    readable = emls[0].with_suffix(".txt").read_text(encoding="utf-8")
    assert "Subject: Nhắc lịch sinh hoạt: Chi bộ khu phố Đông" in readable
    assert "Kính gửi đồng chí Nguyễn Văn Bình," in readable


def _send_to_many(port: int, recipients: list[str]) -> None:
    message = EmailMessage()
    message["From"] = "thongbao@chibo.local"
    message["To"] = "=?utf-8?b?xJDhuqNuZyB2acOqbiBDaGkgYuG7mSBraHUgcGjhu5EgxJDDtG5n?=:;"
    message["Subject"] = "Thông báo lịch sinh hoạt: Chi bộ khu phố Đông"
    message.set_content("Kính gửi các đồng chí đảng viên Chi bộ khu phố Đông,", charset="utf-8")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message, to_addrs=recipients)


async def test_keeps_a_mail_to_many_once_with_its_envelope_recipients(tmp_path: Path) -> None:
    """A notice to a whole cell names its recipients only in the envelope: one file, the envelope kept in it."""
    recipients = [f"dv-{number}@chibo.vn" for number in range(40)]
    port = free_port()
    sink = start_sink(host="127.0.0.1", port=port, directory=tmp_path / "mail")
    try:
        await asyncio.to_thread(_send_to_many, port, recipients)
    finally:
        sink.stop()
    emls = list((tmp_path / "mail").glob("*.eml"))
    assert len(emls) == 1
    raw = emls[0].read_bytes()
    assert envelope_recipients(raw) == recipients
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = message_from_bytes(raw, policy=policy.default)
    assert str(parsed["To"]) == "Đảng viên Chi bộ khu phố Đông:;"
    assert parsed.get_content().strip() == "Kính gửi các đồng chí đảng viên Chi bộ khu phố Đông,"
    readable = emls[0].with_suffix(".txt").read_text(encoding="utf-8")
    assert "\nTo: Đảng viên Chi bộ khu phố Đông" in readable and "dv-39@chibo.vn" in readable
