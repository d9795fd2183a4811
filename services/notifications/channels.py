"""The external channels: e-mail over SMTP and a signed JSON webhook for SMS or messaging gateways."""

import asyncio
import hashlib
import hmac
import json
import smtplib
import ssl
from email import policy
from email.contentmanager import raw_data_manager
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

import httpx

from services.notifications.config import Settings
from services.notifications.repository.outgoing import ClaimedDelivery


class DeliveryError(Exception):
    """A channel could not deliver; the message says why."""


class Sender(Protocol):
    """Sends one delivery on one channel, raising DeliveryError on failure."""

    async def send(self, delivery: ClaimedDelivery) -> None: ...


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
    message["Message-ID"] = make_msgid(idstring=delivery.notification_id.replace("-", ""))
    message["X-Chibo-Notification"] = delivery.notification_id
    message["X-Chibo-Rule"] = delivery.rule
    message.set_content(delivery.body, charset="utf-8", cte="base64", content_manager=raw_data_manager)
    return message


class SmtpSender:
    """E-mail through an SMTP server (STARTTLS or implicit TLS, optional login), in a worker thread."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._context: ssl.SSLContext | None = None

    def tls_context(self) -> ssl.SSLContext:
        """The TLS context, built once: loading the system's CA certificates took ~35 ms of CPU, and building
        it for every mail (even without TLS) was 83 % of notifications' busy time at the month-start spike."""
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    async def send(self, delivery: ClaimedDelivery) -> None:
        """Send one e-mail."""
        message = build_email(delivery, sender=self._settings.mail_from)
        try:
            await asyncio.to_thread(self._send_blocking, message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp: {exc!r}") from exc

    def _send_blocking(self, message: EmailMessage) -> None:
        s = self._settings
        client: smtplib.SMTP
        if s.smtp_tls:
            client = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=self.tls_context())
        else:
            client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        with client:
            if s.smtp_starttls and not s.smtp_tls:
                client.starttls(context=self.tls_context())
            if s.smtp_username:
                client.login(s.smtp_username, s.smtp_password or "")
            client.send_message(message)


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

    async def send(self, delivery: ClaimedDelivery) -> None:
        """POST one delivery to its URL."""
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
