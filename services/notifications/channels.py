"""The external channels: e-mail over SMTP and a signed JSON webhook for SMS or messaging gateways."""

import asyncio
import hashlib
import hmac
import io
import json
import ssl
import time
from email import policy
from email.contentmanager import raw_data_manager
from email.generator import BytesGenerator
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from typing import Any, Protocol, runtime_checkable

import aiosmtplib
import httpx

from services.notifications.config import Settings
from services.notifications.repository.outgoing import ClaimedDelivery


class DeliveryError(Exception):
    """A channel could not deliver; the message says why."""


class Sender(Protocol):
    """Sends one delivery on one channel, raising DeliveryError on failure."""

    async def send(self, delivery: ClaimedDelivery) -> None: ...


@runtime_checkable
class ClosableSender(Sender, Protocol):
    """A sender holding connections open, closed when the service stops."""

    async def aclose(self) -> None: ...


def build_email(delivery: ClaimedDelivery, *, sender: str) -> EmailMessage:
    """The UTF-8 e-mail of a delivery; its Subject decodes to exactly the title, however it is folded."""
    # The default policy folds a long non-ASCII subject between RFC 2047 encoded words at a space it
    # leaves outside them, and decoders drop whitespace between encoded words ("HuỳnhĐức Bình").
    # email.header.Header keeps every space inside an encoded word, so folding loses none.
    message = EmailMessage(policy=policy.compat32)
    message["From"] = sender
    message["To"] = ", ".join(delivery.addresses)
    message["Subject"] = Header(delivery.title, "utf-8", header_name="Subject")
    message["Date"] = formatdate(localtime=False)
    # with no domain, make_msgid asks the resolver for this host's name (socket.getfqdn) for every mail, on the
    # event loop: 1.3 % of notifications' busy samples at the month-start spike; the sender's domain names it as well
    domain = parseaddr(sender)[1].rpartition("@")[2] or "chibo.local"
    message["Message-ID"] = make_msgid(idstring=delivery.notification_id.replace("-", ""), domain=domain)
    message["X-Chibo-Notification"] = delivery.notification_id
    message["X-Chibo-Rule"] = delivery.rule
    message.set_content(delivery.body, charset="utf-8", cte="base64", content_manager=raw_data_manager)
    return message


class SmtpSender:
    """E-mail through a few long-lived SMTP sessions (STARTTLS or implicit TLS, optional login), reused across mails.

    aiosmtplib speaks SMTP on the event loop: no worker thread per mail, and a session is opened (connect, EHLO,
    STARTTLS, login) once and then carries mail after mail, where the former smtplib sender did all of that and a
    QUIT for every single mail. At most `smtp_connections` sessions send at once; a session that breaks is dropped
    and fails only the mail in flight (the delivery is retried with backoff as any failure); the next mail opens a
    new one. A session idle longer than `smtp_idle_seconds` is closed rather than reused (servers drop idle ones).
    """

    def __init__(self, settings: Settings, *, tls_context: ssl.SSLContext | None = None) -> None:
        self._settings = settings
        self._context: ssl.SSLContext | None = tls_context
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._slots = asyncio.Semaphore(max(settings.smtp_connections, 1))

    def tls_context(self) -> ssl.SSLContext:
        """The TLS context, built once: loading the system's CA certificates took ~35 ms of CPU, and building
        it for every mail (even without TLS) was 83 % of notifications' busy time at the month-start spike."""
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    @property
    def idle_sessions(self) -> int:
        """How many open sessions wait for the next mail."""
        return len(self._idle)

    async def send(self, delivery: ClaimedDelivery) -> None:
        """Send one e-mail on a pooled session (DeliveryError when the server or the connection fails)."""
        message = build_email(delivery, sender=self._settings.mail_from)
        sender, recipients, content = flatten(message)
        async with self._slots:
            client = self._take_idle()
            try:
                if client is None:
                    client = await self._connect()
                await client.sendmail(sender, recipients, content)
            except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
                # a refusal on a sound session (aiosmtplib has sent RSET) leaves it usable; anything else drops it
                if client is not None:
                    if refused_on_a_sound_session(exc) and client.is_connected:
                        self._give_back(client)
                    else:
                        client.close()
                raise DeliveryError(f"smtp: {exc!r}") from exc
            except BaseException:
                # cancelled mid-transaction (shutdown): the session is in an unknown state
                if client is not None:
                    client.close()
                raise
            self._give_back(client)

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        oldest_usable = time.monotonic() - self._settings.smtp_idle_seconds
        while self._idle:
            client, since = self._idle.pop()
            if client.is_connected and since >= oldest_usable:
                return client
            client.close()
        return None

    def _give_back(self, client: aiosmtplib.SMTP) -> None:
        self._idle.append((client, time.monotonic()))

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self._settings
        implicit = s.smtp_tls
        starttls = s.smtp_starttls and not implicit
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=implicit,
            start_tls=starttls,  # False, not None: aiosmtplib would otherwise upgrade whenever the server offers it
            tls_context=self.tls_context() if implicit or starttls else None,
            username=s.smtp_username or None,
            password=(s.smtp_password or "") if s.smtp_username else None,
            timeout=s.smtp_timeout,
        )
        await client.connect()
        return client

    async def aclose(self) -> None:
        """Close the idle sessions (at shutdown); QUIT is skipped, no mail transaction is open on them."""
        while self._idle:
            client, _ = self._idle.pop()
            client.close()


def refused_on_a_sound_session(exc: Exception) -> bool:
    """The server answered no (recipient, sender or data refused) without closing: the session stays usable."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return True
    return isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code != 421  # 421: the server is closing


def flatten(message: EmailMessage) -> tuple[str, list[str], bytes]:
    """(envelope sender, recipients, CRLF bytes) of a message, exactly as smtplib's send_message derives them."""
    sender = getaddresses([str(message["Sender"] or message["From"])])[0][1]
    recipients = [address for _, address in getaddresses([str(value) for value in message.get_all("To", [])])]
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=message.policy.clone(linesep="\r\n")).flatten(message, linesep="\r\n")
    return sender, recipients, buffer.getvalue()


def sign(body: bytes, secret: str) -> str:
    """ "sha256=<hex>" HMAC of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_payload(delivery: ClaimedDelivery) -> dict[str, Any]:
    """The JSON a gateway receives: who, what and the text to relay."""
    return {
        "notification_id": delivery.notification_id,
        "rule": delivery.rule,
        "subject_id": delivery.subject_id,
        "cell_id": delivery.cell_id,
        "recipient": {
            "id": delivery.recipient_id,
            "kind": delivery.recipient_kind,
            "name": delivery.recipient_name,
            "phone": delivery.recipient_phone,
        },
        "title": delivery.title,
        "body": delivery.body,
        "created_at": delivery.created_at.isoformat(),
    }


class WebhookSender:
    """A JSON POST signed with HMAC-SHA256; any 2xx answer counts as delivered."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._slots = asyncio.Semaphore(max(settings.webhook_concurrency, 1))

    async def send(self, delivery: ClaimedDelivery) -> None:
        """POST one delivery to its URL (at most `webhook_concurrency` at once)."""
        async with self._slots:
            await self._post(delivery)

    async def _post(self, delivery: ClaimedDelivery) -> None:
        body = json.dumps(webhook_payload(delivery), ensure_ascii=False).encode()
        secret = delivery.webhook_secret or self._settings.webhook_secret
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            self._settings.webhook_signature_header: sign(body, secret),
            "X-Chibo-Notification": delivery.notification_id,
        }
        try:
            async with httpx.AsyncClient(timeout=self._settings.webhook_timeout) as client:
                response = await client.post(delivery.addresses[0], content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {exc!r}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"webhook: HTTP {response.status_code}")


def default_senders(settings: Settings) -> dict[str, Sender]:
    """The sender of each external channel."""
    return {"email": SmtpSender(settings), "webhook": WebhookSender(settings)}
