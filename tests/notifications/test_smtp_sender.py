"""The SMTP sender against a real SMTP server (aiosmtpd): mails arrive over a few long-lived sessions, a broken
session fails only the mail in flight, STARTTLS, implicit TLS and login are honoured, and the TLS context is
built once, only for TLS.

The month-start profile (make bench BENCH_ARGS="month-start --profile DIR") found 83 % of notifications' busy time in
`ssl.create_default_context()` (loading the system CA certificates), built for every mail even without TLS; the
issue-12 month-start spike then took 218 s to deliver 3,150 notices with one SMTP connection (and a thread) per mail.
"""

import asyncio
import datetime as dt
import ipaddress
import ssl
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import structlog
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from structlog.testing import capture_logs

from services.notifications import channels
from services.notifications.channels import DeliveryError, SmtpSender, ascii_headers
from services.notifications.config import Settings
from services.notifications.domain.model import Recipient
from services.notifications.handlers.deliveries import deliver_due
from services.notifications.repository.outgoing import NewDelivery, NewNotification
from services.notifications.unit_of_work import NotificationsUnitOfWork, uow_factory
from shared.periods import VIETNAM_TZ
from tests.notifications.conftest import SmtpInbox
from tests.notifications.fakes import Clock
from tests.notifications.test_group_mail import leased_after_restart, retire, statuses
from tests.notifications.test_mail_subjects import delivery
from tests.support.ids import random_id
from tests.support.running import smtp_server


def mail(number: int, prefix: str = "smtp-sender") -> Any:
    """A delivery to its own address, so each test counts only its mails in the shared inbox."""
    return replace(delivery(f"Thư thử số {number}"), addresses=(f"{prefix}-{number}@example.vn",))


async def test_plain_smtp_sends_every_mail_without_building_a_tls_context(
    settings: Settings, smtp: tuple[SmtpInbox, int]
) -> None:
    inbox, _ = smtp
    sender = SmtpSender(settings)
    for number in range(3):
        await sender.send(mail(number))
    assert [len(inbox.to(f"smtp-sender-{number}@example.vn")) for number in range(3)] == [1, 1, 1]
    assert sender._context is None  # no TLS asked for, no certificates loaded
    await sender.aclose()


def test_the_tls_context_is_built_once(settings: Settings) -> None:
    sender = SmtpSender(settings.model_copy(update={"smtp_starttls": True}))
    assert sender.tls_context() is sender.tls_context()


class Sessions(SmtpInbox):
    """An inbox that notes the client end of the session each mail came on, and can drop a session mid-mail."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[Any] = []
        self.drop: set[str] = set()
        self.logins: list[str] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        """Refuse the addresses in `refuse`, take the others."""
        if address in self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        """Keep the message and its session, or drop the session when the mail is to an address in `drop`."""
        if set(envelope.rcpt_tos) & self.drop:
            server.transport.close()  # the connection breaks before the server answers the DATA
            return "421 closing"
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        """Accept bithu/mật-khẩu only."""
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"bithu",
            "mật-khẩu".encode(),
        )
        if ok:
            self.logins.append(str(session.peer))
        return AuthResult(success=ok)


@pytest.fixture
def sessions() -> Iterator[tuple[Sessions, int]]:
    """A plain SMTP server of its own for one test."""
    handler = Sessions()
    with smtp_server(handler) as port:
        yield handler, port


async def test_many_mails_share_a_few_sessions_bounded_by_the_setting(
    settings: Settings, sessions: tuple[Sessions, int]
) -> None:
    server, port = sessions
    sender = SmtpSender(settings.model_copy(update={"smtp_port": port, "smtp_connections": 3}))
    await asyncio.gather(*(sender.send(mail(number, "pool")) for number in range(40)))
    assert sorted(len(server.to(f"pool-{number}@example.vn")) for number in range(40)) == [1] * 40
    assert 1 <= len(set(server.peers)) <= 3  # 40 mails, at most 3 connections, each kept for mail after mail
    assert sender.idle_sessions == len(set(server.peers))
    await sender.aclose()
    assert sender.idle_sessions == 0


async def test_a_broken_session_fails_only_the_mail_in_flight_and_the_next_mail_reconnects(
    settings: Settings, sessions: tuple[Sessions, int]
) -> None:
    server, port = sessions
    sender = SmtpSender(settings.model_copy(update={"smtp_port": port, "smtp_connections": 1}))
    await sender.send(mail(0, "broken"))
    server.drop.add("broken-1@example.vn")
    with pytest.raises(DeliveryError, match="smtp"):
        await sender.send(mail(1, "broken"))
    await sender.send(mail(2, "broken"))
    assert [len(server.to(f"broken-{number}@example.vn")) for number in range(3)] == [1, 0, 1]
    assert len(set(server.peers)) == 2  # the session that broke was dropped, not reused
    await sender.aclose()


async def test_a_refused_recipient_fails_that_mail_and_keeps_the_session(
    settings: Settings, sessions: tuple[Sessions, int]
) -> None:
    server, port = sessions
    sender = SmtpSender(settings.model_copy(update={"smtp_port": port, "smtp_connections": 1}))
    await sender.send(mail(0, "refused"))
    server.refuse.add("refused-1@example.vn")
    with pytest.raises(DeliveryError, match="550"):
        await sender.send(mail(1, "refused"))
    await sender.send(mail(2, "refused"))
    assert [len(server.to(f"refused-{number}@example.vn")) for number in range(3)] == [1, 0, 1]
    assert len(set(server.peers)) == 1  # the server said no on a sound session, which goes on carrying mail
    await sender.aclose()


async def test_a_busy_service_loop_does_not_hold_back_a_mails_commands(
    settings: Settings, sessions: tuple[Sessions, int]
) -> None:
    """Each command of a mail (MAIL, a RCPT TO per address, DATA, the text) waits for the server's answer and then for
    a turn of the loop its session talks on. On the service's loop that turn came after the consumer's batch of
    events: the latency preset's rounds sent 1,000 deliveries in 4-5 s while facts were consumed and in under 1 s
    after, and a monitor's own mail per meeting tipped the sender below the notices' rate (notice p99 1.9 s to 11 s).
    A mail to 80 must not need a turn of a busy service loop for each of its 83 commands."""
    server, port = sessions
    sender = SmtpSender(settings.model_copy(update={"smtp_port": port, "smtp_connections": 1}))
    await sender.send(mail(0, "busy"))  # the session is open
    group = [
        replace(mail(number, "busy"), id=number, notification_id=f"n-busy-{number}", cell_name="Chi bộ Bận")
        for number in range(1, 81)
    ]
    turns = 0
    sending = True

    async def consumer() -> None:
        nonlocal turns
        while sending:
            time.sleep(0.02)  # noqa: ASYNC251 (a batch's work holding the loop, as rendering and parsing do)
            turns += 1
            await asyncio.sleep(0)

    busy = asyncio.create_task(consumer())
    try:
        outcomes = await sender.send_group(group)
    finally:
        sending = False
        await busy
        await sender.aclose()
    assert outcomes == [None] * 80
    assert len(server.to("busy-80@example.vn")) == 1
    assert turns < 40, f"{turns} turns of the busy loop for one mail of 83 commands"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    today = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(today - dt.timedelta(days=1))
        .not_valid_after(today + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # implicit TLS is TLS all the same
async def test_tls_and_login_are_honoured_on_every_pooled_session(
    settings: Settings, tmp_path: Path, mode: str
) -> None:
    """The server requires TLS (STARTTLS, or TLS from the first byte) and a login; the client checks its
    certificate against the context it was given."""
    cert, key = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    handler = Sessions()
    tls: dict[str, Any] = (
        {"tls_context": server_context, "require_starttls": True}
        if mode == "starttls"
        # aiosmtpd advertises AUTH only after its own STARTTLS unless told the TLS from the first byte is enough
        else {"ssl_context": server_context, "auth_require_tls": False}
    )
    with smtp_server(handler, authenticator=handler.authenticate, auth_required=True, **tls) as port:
        sender = SmtpSender(
            settings.model_copy(
                update={
                    "smtp_port": port,
                    "smtp_connections": 2,
                    "smtp_starttls": mode == "starttls",
                    "smtp_tls": mode == "implicit",
                    "smtp_username": "bithu",
                    "smtp_password": "mật-khẩu",
                }
            ),
            tls_context=ssl.create_default_context(cafile=str(cert)),
        )
        await asyncio.gather(*(sender.send(mail(number, f"tls-{mode}")) for number in range(6)))
        assert [len(handler.to(f"tls-{mode}-{number}@example.vn")) for number in range(6)] == [1] * 6
        assert 1 <= len(handler.logins) == len(set(handler.peers)) <= 2  # one login per session, not per mail
        await sender.aclose()

        modes = {"smtp_starttls": mode == "starttls", "smtp_tls": mode == "implicit"}
        untrusted = SmtpSender(settings.model_copy(update={"smtp_port": port} | modes))
        with pytest.raises(DeliveryError, match="smtp"):  # the system's CAs do not know the self-signed server
            await untrusted.send(mail(0, f"untrusted-{mode}"))


IDN_MEMBER = "nguyễn@ví-dụ.vn"
"""An internationalised address a member.upserted.v1 may carry (CONTRACT.md `email`; RFC 6531)."""
IDN_MEMBER_WIRE = "nguyễn@xn--v-d-rma6749a.vn"
"""It as the envelope carries it: the domain IDNA-encoded, the local part UTF-8 under SMTPUTF8."""


async def test_an_internationalised_address_is_delivered_over_smtputf8(settings: Settings) -> None:
    """A member's `nguyễn@ví-dụ.vn` was accepted, and every mail to it failed with an encoding error
    (UnicodeEncodeError 'ascii', even on a server offering SMTPUTF8). Sent to a real server offering SMTPUTF8 it
    arrives, its domain IDNA-encoded, its To: in UTF-8 (RFC 6532); an ASCII local part at an IDN domain needs no
    SMTPUTF8 at all."""
    inbox = SmtpInbox()
    with smtp_server(inbox, enable_SMTPUTF8=True) as port:
        sender = SmtpSender(settings.model_copy(update={"smtp_port": port}))
        await sender.send(replace(delivery("Thư thử"), addresses=(IDN_MEMBER,)))
        await sender.aclose()
    [message] = inbox.to(IDN_MEMBER_WIRE)
    assert message["To"] == IDN_MEMBER_WIRE
    inbox = SmtpInbox()
    with smtp_server(inbox, enable_SMTPUTF8=False) as port:  # no SMTPUTF8 offered (aiosmtpd's Controller's default)
        sender = SmtpSender(settings.model_copy(update={"smtp_port": port}))
        await sender.send(replace(delivery("Thư thử"), addresses=("an@ví-dụ.vn",)))
        await sender.aclose()
    assert len(inbox.to("an@xn--v-d-rma6749a.vn")) == 1


async def test_a_server_without_smtputf8_fails_the_mail_saying_so(settings: Settings) -> None:
    """Without SMTPUTF8 a non-ASCII local part cannot be sent: the delivery fails naming SMTPUTF8 and what to do (an
    operator reads it on the delivery), alone and in a group mail, where the other recipients still get theirs."""
    inbox = SmtpInbox()
    with smtp_server(inbox, enable_SMTPUTF8=False) as port:
        sender = SmtpSender(settings.model_copy(update={"smtp_port": port}))
        with pytest.raises(DeliveryError, match="does not offer SMTPUTF8"):
            await sender.send(replace(delivery("Thư thử"), addresses=(IDN_MEMBER,)))
        group = [
            replace(delivery("Thư chung"), notification_id="n-idn", addresses=(IDN_MEMBER,)),
            replace(delivery("Thư chung"), notification_id="n-ascii", addresses=("ascii-idn@example.vn",)),
        ]
        outcomes = await sender.send_group(group)
        await sender.aclose()
    assert outcomes[1] is None and outcomes[0] is not None and "does not offer SMTPUTF8" in outcomes[0], outcomes
    assert len(inbox.to("ascii-idn@example.vn")) == 1 and not inbox.to(IDN_MEMBER_WIRE)


class RawInbox(SmtpInbox):
    """An inbox that also keeps each mail's bytes exactly as received and its MAIL FROM parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[tuple[list[str], list[str], bytes]] = []
        """(RCPT TO addresses, MAIL FROM parameters, the bytes after DATA) of each mail, in order."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        """Keep the bytes and the envelope, then the parsed message."""
        self.raw.append((list(envelope.rcpt_tos), list(envelope.mail_options), bytes(envelope.original_content)))
        return await super().handle_DATA(server, session, envelope)


def header_lines(content: bytes) -> list[bytes]:
    """The header lines of a mail's bytes (up to the empty line)."""
    return content.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def only_ascii_headers(raw: list[tuple[list[str], list[str], bytes]]) -> None:
    """Every mail sent without SMTPUTF8 has headers of ASCII alone (RFC 6532 3: UTF-8 headers only under it)."""
    for _, options, content in raw:
        if "SMTPUTF8" not in options:
            assert all(line.isascii() for line in header_lines(content)), header_lines(content)


MIXED = ("ascii-mixed@ví-dụ.vn", IDN_MEMBER)
"""A recipient's addresses (a member's and their monitor assignment's): one any server takes, one only over SMTPUTF8."""


async def test_a_mail_without_smtputf8_has_ascii_headers_and_goes_to_the_ascii_addresses_alone(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recipient with an ASCII and a non-ASCII address, on a server without SMTPUTF8: the ASCII address got a To:
    naming both in UTF-8 (b'To: ascii-mixed@xn--v-d-rma6749a.vn, nguy\\xe1\\xbb\\x85n@...'), 8-bit headers the
    server never agreed to. Now it gets the mail once with headers of ASCII alone, its To: naming the addresses the
    mail goes to; the other address is left out, saying why (`smtputf8_not_offered`); the same in a mail to many."""
    # a logger not yet used, so capture_logs sees its lines (one cached by an earlier test writes past it)
    monkeypatch.setattr(channels, "log", structlog.get_logger(channels.__name__))
    inbox = RawInbox()
    with smtp_server(inbox, enable_SMTPUTF8=False) as port:
        sender = SmtpSender(settings.model_copy(update={"smtp_port": port}))
        with capture_logs() as lines:
            await sender.send(replace(delivery("Thư riêng"), addresses=MIXED))  # delivered: one address took it
        group = [
            replace(delivery("Thư chung"), notification_id="n-mixed", addresses=("ascii-group@example.vn", IDN_MEMBER)),
            replace(delivery("Thư chung"), notification_id="n-idn-only", addresses=("bé@ví-dụ.vn",)),
            replace(delivery("Thư chung"), notification_id="n-plain", addresses=("plain-group@example.vn",)),
        ]
        outcomes = await sender.send_group(group)
        await sender.aclose()
    assert [(rcpt, "SMTPUTF8" in options) for rcpt, options, _ in inbox.raw] == [
        (["ascii-mixed@xn--v-d-rma6749a.vn"], False),
        (["ascii-group@example.vn", "plain-group@example.vn"], False),
    ]
    only_ascii_headers(inbox.raw)
    assert b"To: ascii-mixed@xn--v-d-rma6749a.vn" in header_lines(inbox.raw[0][2])
    left_out = [line["addresses"] for line in lines if line["event"] == "smtputf8_not_offered"]
    assert left_out == [[IDN_MEMBER]]
    assert outcomes[0] is None and outcomes[2] is None
    assert outcomes[1] is not None and "bé@ví-dụ.vn" in outcomes[1] and "does not offer SMTPUTF8" in outcomes[1]


async def test_with_smtputf8_a_mixed_recipient_gets_one_mail_at_both_addresses(settings: Settings) -> None:
    """Offered SMTPUTF8, the mail goes in one transaction to both addresses, asked for with SMTPUTF8, its To: naming
    both as they are (UTF-8, RFC 6532)."""
    inbox = RawInbox()
    with smtp_server(inbox, enable_SMTPUTF8=True) as port:
        sender = SmtpSender(settings.model_copy(update={"smtp_port": port}))
        await sender.send(replace(delivery("Thư riêng"), addresses=MIXED))
        await sender.aclose()
    [(rcpt, options, content)] = inbox.raw
    assert (rcpt, "SMTPUTF8" in options) == (["ascii-mixed@xn--v-d-rma6749a.vn", IDN_MEMBER_WIRE], True)
    assert f"To: ascii-mixed@xn--v-d-rma6749a.vn, {IDN_MEMBER_WIRE}".encode() in header_lines(content)


async def test_a_mixed_recipient_is_delivered_once_and_not_sent_again(pool: asyncpg.Pool, settings: Settings) -> None:
    """Against the database: the recipient's delivery is recorded delivered at its first attempt (its ASCII address
    took the mail), so no later round sends it again; the address left out shows in `smtputf8_not_offered`."""
    inbox = RawInbox()
    with smtp_server(inbox, enable_SMTPUTF8=False) as port:
        settings = settings.model_copy(update={"smtp_port": port})
        clock = Clock(dt.datetime(1990, 4, 3, 8, 0, tzinfo=VIETNAM_TZ))  # only this test's delivery is due then
        person = Recipient(id=random_id("m"), kind="person", name="Nguyễn Văn An", emails=MIXED)
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            [notification_id] = await uow.outgoing.insert_notifications(
                [
                    NewNotification(
                        rule="meeting_scheduled",
                        subject_id=random_id("mtg"),
                        period="scheduled",
                        recipient=person,
                        cell_id=None,
                        title="Thông báo lịch sinh hoạt",
                        body="Kính gửi đồng chí Nguyễn Văn An,\n\nChi bộ sinh hoạt lúc 19:30 thứ Bảy.",
                        created_at=clock.value,
                        digest_pending=False,
                    )
                ]
            )
            await uow.outgoing.add_deliveries(
                [NewDelivery(notification_id=str(notification_id), channel="email", addresses=MIXED, delivered_at=None)]
            )
            delivery_id = await uow.connection.fetchval(
                "UPDATE delivery SET next_attempt_at = $2 WHERE notification_id = $1::uuid RETURNING id",
                notification_id,
                clock.value,
            )
            await uow.commit()
        sender = SmtpSender(settings)
        factory = uow_factory(pool, settings=settings, clock=clock)
        try:
            assert await deliver_due(factory, {"email": sender}) == 1
            assert await statuses(pool, [delivery_id]) == {delivery_id: ("delivered", 1)}
            assert await leased_after_restart(factory, settings, clock) == 0
        finally:
            await sender.aclose()
            await retire(pool, [delivery_id])
    assert [rcpt for rcpt, _, _ in inbox.raw] == [["ascii-mixed@xn--v-d-rma6749a.vn"]]  # once, and to it alone
    only_ascii_headers(inbox.raw)


def test_headers_not_ascii_are_named() -> None:
    """The last guard before a mail goes out without SMTPUTF8: a UTF-8 header line is an error naming it."""
    ascii_headers(b"To: a@xn--v-d-rma6749a.vn\r\nSubject: =?utf-8?b?VGjGsA==?=\r\n\r\n\xc6\xb0")  # body is not a header
    with pytest.raises(ValueError, match=r"To: nguy\\xe1\\xbb\\x85n@"):
        ascii_headers(f"From: a@example.vn\r\nTo: {IDN_MEMBER_WIRE}\r\n\r\nbody".encode())
