"""Webhooks over HTTPS to a named host: the SSRF guard resolves the name once and the POST connects to the address it
judged, while TLS still sends the name (SNI) and checks it against the certificate, issued by a CA the deployment
trusts (the system's, or CHIBO_WEBHOOK_CA_FILE's). A certificate from an unknown CA or for another name fails the
delivery visibly: retried, then failed with the TLS reason and a notification.failed.v1 fact."""

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest
import trustme
from pydantic import ValidationError

from services.notifications.channels import WebhookSender, sign
from services.notifications.config import Settings
from services.notifications.handlers.deliveries import deliver_due
from services.notifications.unit_of_work import uow_factory
from shared.periods import VIETNAM_TZ
from tests.notifications.fakes import Clock
from tests.notifications.test_deliveries import queue
from tests.notifications.test_webhook_guard import ZoneResolver
from tests.support.running import free_port

HOST = "sms.tinh-uy.test"
"""The gateway's name: no system resolver knows it, so only the guard's own answer can take a POST anywhere."""


class TlsReceiver:
    """An HTTPS webhook receiver on 127.0.0.1 presenting `cert`: records each POST and the server name each
    handshake asked for (SNI)."""

    def __init__(self, cert: trustme.LeafCert) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.server_names: list[str | None] = []
        self.port = free_port()
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self._context)
        self._context.sni_callback = self._named
        self._server: asyncio.Server | None = None

    def url(self, host: str = HOST) -> str:
        """Where to POST, by `host`."""
        return f"https://{host}:{self.port}/hook"

    def _named(self, _socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        self.server_names.append(name)

    async def start(self) -> None:
        """Listen on loopback."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, ssl=self._context)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((headers, body))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """The CA the deployment trusts for its gateway."""
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    """The trusted CA's certificate as a PEM file (CHIBO_WEBHOOK_CA_FILE)."""
    path = tmp_path / "gateway-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


async def receiving(cert: trustme.LeafCert) -> AsyncIterator[TlsReceiver]:
    receiver = TlsReceiver(cert)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


@pytest.fixture
async def trusted(ca: trustme.CA) -> AsyncIterator[TlsReceiver]:
    """A receiver whose certificate, for HOST, the trusted CA issued."""
    async for receiver in receiving(ca.issue_cert(HOST)):
        yield receiver


@pytest.fixture
async def unknown_ca() -> AsyncIterator[TlsReceiver]:
    """A receiver whose certificate, for HOST, a CA nobody trusts issued."""
    async for receiver in receiving(trustme.CA().issue_cert(HOST)):
        yield receiver


@pytest.fixture
async def other_name(ca: trustme.CA) -> AsyncIterator[TlsReceiver]:
    """A receiver whose certificate, from the trusted CA, names another host."""
    async for receiver in receiving(ca.issue_cert("khac.tinh-uy.test")):
        yield receiver


async def one_send(
    pool: asyncpg.Pool, settings: Settings, clock: Clock, url: str, zone: ZoneResolver
) -> asyncpg.Record:
    """Queue one webhook delivery to `url` and run one delivery round through the real sender; its row after."""
    [delivery_id] = await queue(pool, settings, clock, 1, channel="webhook", to=[url])
    try:
        await deliver_due(
            uow_factory(pool, settings=settings, clock=clock), {"webhook": WebhookSender(settings, resolve=zone)}
        )
        return await pool.fetchrow(
            "SELECT status, attempts, last_error, notification_id FROM delivery WHERE id = $1", delivery_id
        )
    finally:
        await pool.execute("UPDATE delivery SET status = 'failed' WHERE id = $1 AND status = 'pending'", delivery_id)


async def test_a_webhook_to_a_named_https_host_is_verified_by_its_name_and_signed(
    pool: asyncpg.Pool, settings: Settings, trusted: TlsReceiver, ca_file: str
) -> None:
    configured = settings.model_copy(update={"webhook_ca_file": ca_file, "delivery_max_attempts": 1})
    zone = ZoneResolver({HOST: ["127.0.0.1"]})
    clock = Clock(datetime(1986, 2, 3, 8, 0, tzinfo=VIETNAM_TZ))  # only this test's deliveries are due then

    row = await one_send(pool, configured, clock, trusted.url(), zone)

    assert (row["status"], row["last_error"]) == ("delivered", None)
    assert zone.asked == [HOST]  # resolved once, by the guard: the connection went to the address it judged
    assert trusted.server_names == [HOST]  # TLS asked for the name, not the address connected to
    [(headers, body)] = trusted.requests
    assert headers["host"] == f"{HOST}:{trusted.port}"
    assert headers["x-chibo-signature"] == sign(body, "bí-mật")
    assert json.loads(body)["notification_id"] == str(row["notification_id"])


async def test_a_certificate_from_an_unknown_ca_fails_the_delivery_visibly(
    pool: asyncpg.Pool, settings: Settings, unknown_ca: TlsReceiver, ca_file: str
) -> None:
    zone = ZoneResolver({HOST: ["127.0.0.1"]})
    retrying = settings.model_copy(update={"webhook_ca_file": ca_file, "delivery_max_attempts": 3})
    row = await one_send(pool, retrying, Clock(datetime(1986, 2, 4, 8, 0, tzinfo=VIETNAM_TZ)), unknown_ca.url(), zone)
    assert (row["status"], row["attempts"]) == ("pending", 1)  # retried later, as any receiver's failure
    assert "CERTIFICATE_VERIFY_FAILED" in row["last_error"], row["last_error"]

    for trusting in ({"webhook_ca_file": ca_file}, {}):  # the deployment's CA, or the default trust store
        last = settings.model_copy(update=trusting | {"delivery_max_attempts": 1})
        row = await one_send(pool, last, Clock(datetime(1986, 2, 5, 8, 0, tzinfo=VIETNAM_TZ)), unknown_ca.url(), zone)
        assert row["status"] == "failed"
        assert row["last_error"].startswith("webhook: ") and "CERTIFICATE_VERIFY_FAILED" in row["last_error"]
        assert await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE type = 'notification.failed.v1'"
            " AND payload->'data'->>'notification_id' = $1",
            str(row["notification_id"]),
        )
    assert unknown_ca.requests == []


async def test_a_certificate_for_another_name_is_refused(
    pool: asyncpg.Pool, settings: Settings, other_name: TlsReceiver, ca_file: str
) -> None:
    configured = settings.model_copy(update={"webhook_ca_file": ca_file, "delivery_max_attempts": 1})
    zone = ZoneResolver({HOST: ["127.0.0.1"]})
    row = await one_send(pool, configured, Clock(datetime(1986, 2, 6, 8, 0, tzinfo=VIETNAM_TZ)), other_name.url(), zone)
    assert row["status"] == "failed"
    assert "CERTIFICATE_VERIFY_FAILED" in row["last_error"] and HOST in row["last_error"], row["last_error"]
    assert other_name.requests == []


@pytest.mark.parametrize(
    ("content", "said"),
    [(None, "no such file"), ("not a certificate", "no PEM certificate")],
)
def test_a_ca_file_that_is_missing_or_no_certificate_stops_the_start(
    tmp_path: Path, content: str | None, said: str
) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValidationError) as caught:
        Settings(webhook_ca_file=str(path))
    assert "CHIBO_WEBHOOK_CA_FILE" in str(caught.value) and said in str(caught.value)
