"""The demo mail sink keeps every mail as a readable UTF-8 file."""

import asyncio
import smtplib
from email.message import EmailMessage
from pathlib import Path

from deploy.mailsink import start_sink
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
