"""Fixtures of the notifications tests: a real SMTP server, a real webhook receiver, the service's settings."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest

from services.notifications.bootstrap import SERVICE_DIR
from services.notifications.config import Settings
from shared.db import create_pool
from shared.runtime import migrate
from tests.support.running import free_port, smtp_server


class SmtpInbox:
    """aiosmtpd handler keeping every message received, with the envelope recipients it was delivered to."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []
        """The RCPT TO addresses of each message, in the order of `messages`."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        """Keep the parsed message."""
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages delivered to one address (a mail to many names them only in its envelope)."""
        return [m for m, rcpt in zip(self.messages, self.envelopes, strict=True) if address in rcpt]


@pytest.fixture(scope="package")
def smtp() -> Iterator[tuple[SmtpInbox, int]]:
    """A real SMTP server on a free port, for the whole package."""
    inbox = SmtpInbox()
    with smtp_server(inbox) as port:
        yield inbox, port


class WebhookReceiver:
    """A minimal HTTP server recording each POST; answers with `status`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self.port = free_port()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        """Listen."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((headers, body))
        reason = "OK" if self.status < 400 else "Error"
        writer.write(f"HTTP/1.1 {self.status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()


@pytest.fixture(scope="package")
async def webhook() -> AsyncIterator[WebhookReceiver]:
    """A real HTTP webhook receiver for the package."""
    receiver = WebhookReceiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


@pytest.fixture
def settings(amqp_url: str, database_url: str, smtp: tuple[SmtpInbox, int], webhook: WebhookReceiver) -> Settings:
    """Settings of an in-process notifications service with fast polling and short backoff."""
    return Settings(
        amqp_url=amqp_url,
        database_url=database_url,
        smtp_port=smtp[1],
        webhook_secret="bí-mật",
        secret_key="khóa-niêm-phong-của-bài-kiểm-thử",
        default_person_channels=["email", "inbox"],
        default_committee_channels=["email", "inbox"],
        # the tests count each committee alert's own mail; the default daily digest is tested on its own
        # (test_committee_digest.py)
        default_committee_digest=False,
        delivery_backoff_seconds=0.2,
        delivery_backoff_max_seconds=1.0,
        delivery_poll_seconds=0.1,
        schedule_poll_seconds=0.2,
        relay_poll_seconds=0.2,
        log_json=True,
    )


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the migrated notifications schema."""
    await migrate(settings, schema="notifications", service_dir=SERVICE_DIR)
    pool = await create_pool(settings.database_url, schema="notifications")
    try:
        yield pool
    finally:
        await pool.close()
