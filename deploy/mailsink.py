"""The demo mail sink: an SMTP server that keeps every mail as a UTF-8 .eml file a person can read.

python -m deploy.mailsink [--host 127.0.0.1] [--port 8025] [--dir var/mail]
"""

import argparse
import asyncio
import logging
import re
import signal
import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

log = logging.getLogger("mailsink")


class MailDirectory:
    """aiosmtpd handler: write each message into the directory as `<time>-<id>.eml`, once however many it is for.

    A mail to many (a notice to a whole cell) names its recipients only in the SMTP envelope; the file keeps them in
    an `Envelope-to:` line above the message, as an MTA's mailbox copy does (Exim's `envelope_to_add`).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        """Store one message and log who it was for."""
        content: bytes = envelope.original_content or envelope.content
        # compat32 and the decoding below, not policy.default: parsing each header into its structured kind was half
        # of the sink's time, on the machine the services share
        parsed = message_from_bytes(content, policy=policy.compat32)
        subject = decoded(parsed["Subject"])
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        # .eml stays the raw RFC 5322 bytes below the envelope lines; a decoded .txt beside it is readable without a
        # mail client
        path.write_bytes(envelope_lines(envelope.mail_from, envelope.rcpt_tos) + content)
        readable = (
            f"From: {decoded(parsed['From'])}\nTo: {decoded(parsed['To'])}\n"
            f"Envelope-to: {', '.join(envelope.rcpt_tos)}\nSubject: {subject}\n\n{plain_text(parsed)}"
        )
        path.with_suffix(".txt").write_text(readable, encoding="utf-8")
        log.info(
            "mail_received from=%s recipients=%d subject=%s file=%s",
            envelope.mail_from,
            len(envelope.rcpt_tos),
            re.sub(r"\s+", " ", subject),
            path,
        )
        return "250 Message accepted for delivery"


def decoded(value: Any) -> str:
    """A header as a person reads it (RFC 2047 encoded words decoded, folds joined)."""
    if value is None:
        return ""
    return str(make_header(decode_header(str(value)))).replace("\r\n", "").replace("\n", "")


def plain_text(message: Message) -> str:
    """The first text/plain part, decoded from its transfer encoding and charset."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return ""


PLAIN_ADDRESS = re.compile(r"<([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+)@([A-Za-z0-9.-]+)>")
"""`<local@domain>` as every sender here writes it: no quotes, comments, routes or non-ASCII."""


class QuickSMTP(SMTP):
    """aiosmtpd's SMTP with a fast path for plain addresses: its own parser defines a typing.Protocol class on every
    MAIL FROM and RCPT TO, which made each recipient of a mail to many cost more than the mail itself."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        text = arg.lstrip()
        found = PLAIN_ADDRESS.match(text)
        if found is None:
            return super()._getaddr(arg)
        if self.local_part_limit and len(found.group(1)) > self.local_part_limit:
            return None, None
        return f"{found.group(1)}@{found.group(2)}", text[found.end() :]


class SinkController(Controller):
    """The controller serving `QuickSMTP`."""

    def factory(self) -> SMTP:
        """The SMTP server of one connection."""
        return QuickSMTP(self.handler, **self.SMTP_kwargs)


def envelope_lines(mail_from: str, rcpt_tos: list[str]) -> bytes:
    """ "Return-path:" and "Envelope-to:" header lines (folded, one address a line) of a kept message."""
    recipients = ",\r\n ".join(rcpt_tos)
    return f"Return-path: <{mail_from}>\r\nEnvelope-to: {recipients}\r\n".encode()


def envelope_recipients(eml: bytes) -> list[str]:
    """The envelope recipients of a kept .eml (its `Envelope-to:` line), for counting the copies a mail made."""
    found = message_from_bytes(eml.split(b"\r\n\r\n", 1)[0], policy=policy.compat32)["Envelope-to"]
    return [address.strip() for address in str(found or "").replace("\r\n", "").split(",") if address.strip()]


def start_sink(*, host: str, port: int, directory: Path) -> Controller:
    """Start the SMTP sink in a background thread; stop it with `.stop()`."""
    controller = SinkController(MailDirectory(directory), hostname=host, port=port)
    controller.start()
    return controller


async def _serve(host: str, port: int, directory: Path) -> None:
    controller = start_sink(host=host, port=port, directory=directory)
    log.info("mailsink_listening host=%s port=%s dir=%s", host, port, directory)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        controller.stop()
        log.info("mailsink_stopped")


def main(argv: list[str] | None = None) -> int:
    """Run the sink until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m deploy.mailsink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", default="var/mail", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # aiosmtpd logs every SMTP command and reply at INFO: a line per RCPT TO was most of the sink's work
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    asyncio.run(_serve(args.host, args.port, args.dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
