"""The external channels: e-mail over SMTP and a signed JSON webhook for SMS or messaging gateways."""

import asyncio
import functools
import hashlib
import hmac
import io
import json
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Hashable, Mapping, Sequence
from dataclasses import replace
from email import policy
from email.contentmanager import raw_data_manager
from email.generator import BytesGenerator
from email.header import Header
from email.message import EmailMessage
from email.policy import Compat32
from email.utils import formataddr, formatdate
from typing import Any, Protocol, TypeVar, runtime_checkable

import aiosmtplib
import httpx

from services.notifications.config import Settings, parse_mailbox
from services.notifications.repository.outgoing import ClaimedDelivery
from services.notifications.templates import page_address, with_page
from services.notifications.webhook_guard import RefusedAddress, Resolver, checked_target, system_resolver
from shared.logs import get_logger
from shared.metrics import WEBHOOK_ADDRESSES_REFUSED
from shared.text import keeping_isolates, shown_name, without_controls
from shared.web_address import smtp_address

log = get_logger(__name__)


class DeliveryError(Exception):
    """A channel could not deliver; the message says why."""


Compose = Callable[[Sequence[str]], bytes]
"""The bytes of a mail given the addresses (as given, in order) its session carries it to: all of them, or without
SMTPUTF8 only those whose local part is ASCII (`wire_recipients`)."""


class Sender(Protocol):
    """Sends one delivery on one channel, raising DeliveryError on failure."""

    async def send(self, delivery: ClaimedDelivery) -> None: ...


@runtime_checkable
class GroupSender(Sender, Protocol):
    """A sender that carries identical deliveries to many recipients at once, with an outcome for each."""

    def group_key(self, delivery: ClaimedDelivery) -> Hashable:
        """What must be equal for deliveries to travel together (their rendered content)."""
        ...

    @property
    def max_group(self) -> int:
        """At most this many deliveries in one group."""
        ...

    async def send_group(self, deliveries: Sequence[ClaimedDelivery]) -> list[str | None]:
        """Send deliveries of one group key together; per delivery, in order, None when sent, else the reason."""
        ...


@runtime_checkable
class ClosableSender(Sender, Protocol):
    """A sender holding connections open, closed when the service stops."""

    async def aclose(self) -> None: ...


def encoded_words(text: str, header_name: str, *, then: str = "") -> str:
    """A header value of RFC 2047 UTF-8 encoded words of `text` (each at most 75 characters, RFC 2047 2; folded at
    76, every space kept inside a word), followed by the plain ASCII `then` if any. email.header.Header's own width
    (the policy's 78) made words of 76 and 77 characters that strict readers refuse."""
    header = Header(text, "utf-8", header_name=header_name)
    if then:
        header.append(then, "us-ascii")
    return header.encode(maxlinelen=76)


@functools.lru_cache(maxsize=16)
def sender_mailbox(sender: str) -> tuple[str, str, str]:
    """(From: value, envelope address, domain) of the sender mailbox text (CHIBO_MAIL_FROM, `parse_mailbox`;
    ValueError when it is none). Only the display name is RFC 2047-encoded, in words of at most 75 characters, and
    the address stays plain (RFC 2047 5: no encoded word in an addr-spec): compat32 encoded a non-ASCII value whole,
    "<thongbao@...>" included, and no mail client could read the sender's address."""
    mailbox = parse_mailbox(sender)
    name, address = mailbox.display_name, mailbox.addr_spec
    if name.isascii():
        value = formataddr((name, address))  # quoted when the name holds specials (a comma, a dot)
    else:
        value = encoded_words(name, "From", then=f"<{address}>")
    return value, address, mailbox.domain


def message_id(deliveries: Sequence[ClaimedDelivery], *, sender: str) -> str:
    """The Message-ID of the mail carrying these deliveries, the same at every attempt: a mail sent again after a
    crash (at least once: one in flight at the crash goes again once its lease runs out) is the same message, and the
    recipients' mail systems can tell the copy (RFC 5322 3.6.4), where a fresh random id made it a new one."""
    # the sender's domain, not make_msgid's: that asks the resolver for this host's name (socket.getfqdn) for every
    # mail, on the event loop (1.3 % of notifications' busy samples at the month-start spike)
    domain = sender_mailbox(sender)[2]
    if len(deliveries) == 1:
        return f"<{deliveries[0].notification_id}@{domain}>"
    digest = hashlib.sha256("\n".join(sorted(d.notification_id for d in deliveries)).encode()).hexdigest()
    return f"<group.{digest[:40]}@{domain}>"


def mail_body(delivery: ClaimedDelivery, public_url: str | None) -> str:
    """The text a delivery's mail carries: its body naming the web app's page to open under the deployment's
    `public_url` (templates.page_address), unchanged without one."""
    address = page_address(
        public_url,
        rule=delivery.rule,
        subject_id=delivery.subject_id,
        recipient_kind=delivery.recipient_kind,
        recipient_id=delivery.recipient_id,
    )
    return with_page(delivery.body, address)


def build_email(delivery: ClaimedDelivery, *, sender: str, public_url: str | None = None) -> EmailMessage:
    """The UTF-8 e-mail of a delivery to its own addresses alone; its Subject decodes to exactly the title, however
    it is folded; its body names the page to open when the deployment's `public_url` is known (mail_body)."""
    # The default policy folds a long non-ASCII subject between RFC 2047 encoded words at a space it
    # leaves outside them, and decoders drop whitespace between encoded words ("HuỳnhĐức Bình").
    # email.header.Header keeps every space inside an encoded word, so folding loses none.
    message = EmailMessage(policy=policy.compat32)
    message["From"] = sender_mailbox(sender)[0]
    message["To"] = ", ".join(smtp_address(address)[0] for address in delivery.addresses)
    # a delivery stored before its text was guarded (templates.plain_mail) loses what steers or hides text too; its
    # title otherwise exactly as stored (its spaces survive folding)
    title = keeping_isolates(without_controls, delivery.title)
    body = keeping_isolates(without_controls, mail_body(delivery, public_url))
    message["Subject"] = encoded_words(title, "Subject")
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id([delivery], sender=sender)
    message["X-Chibo-Notification"] = delivery.notification_id
    message["X-Chibo-Rule"] = delivery.rule
    message.set_content(body, charset="utf-8", cte="base64", content_manager=raw_data_manager)
    return message


def mail_key(delivery: ClaimedDelivery) -> tuple[str, str, str, str, str | None, str, str]:
    """The content of a delivery's mail: deliveries with equal keys are one notice (its rule, subject and period)
    with the very same text, so one mail carries it to all of them (a personal text, a greeting by name, differs
    from every other and travels alone; two changes of a meeting that read alike, 18 -> 19 twice, stay two mails)."""
    return (
        delivery.channel,
        delivery.rule,
        delivery.subject_id,
        delivery.period,
        delivery.cell_id,
        delivery.title,
        delivery.body,
    )


def audience(deliveries: Sequence[ClaimedDelivery]) -> str:
    """Who a mail to many is addressed to, without naming anyone: "Đảng viên Chi bộ X" (the cell, when known)."""
    cell_name = shown_name(deliveries[0].cell_name or "")
    return f"Đảng viên {cell_name}" if cell_name else "Người nhận thông báo"


def build_group_email(
    deliveries: Sequence[ClaimedDelivery], *, sender: str, public_url: str | None = None
) -> EmailMessage:
    """The one e-mail of identical deliveries to many recipients: the recipients only in the envelope, the To: an
    empty group naming the cell (RFC 5322 "display-name:;", as mailing lists and Bcc do), so that no member sees the
    others' addresses; the same text, Subject and encoding as each one's own mail (`build_email`)."""
    first = deliveries[0]
    message = EmailMessage(policy=policy.compat32)
    message["From"] = sender_mailbox(sender)[0]
    # RFC 2047 5.3: an encoded word in a phrase needs white space before the ':' that follows it (glued, a strict
    # reader takes the name's last word for plain text; Python's parser flags it)
    message["To"] = encoded_words(audience(deliveries), "To") + " :;"
    title = keeping_isolates(without_controls, first.title)
    body = keeping_isolates(without_controls, mail_body(first, public_url))
    message["Subject"] = encoded_words(title, "Subject")
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(deliveries, sender=sender)
    message["X-Chibo-Rule"] = first.rule
    message["X-Chibo-Subject"] = first.subject_id
    message.set_content(body, charset="utf-8", cte="base64", content_manager=raw_data_manager)
    return message


def envelope_recipients(deliveries: Sequence[ClaimedDelivery]) -> list[str]:
    """Every address of the deliveries once, in order (two recipients sharing an address get one copy there)."""
    return list(dict.fromkeys(address for delivery in deliveries for address in delivery.addresses))


def group_outcomes(deliveries: Sequence[ClaimedDelivery], refused: Mapping[str, str]) -> list[str | None]:
    """Per delivery, from the server's answer to each RCPT TO: delivered (None) when it accepted any of the
    delivery's addresses (as a mail of its own is), else why its addresses were refused."""
    outcomes: list[str | None] = []
    for delivery in deliveries:
        if not delivery.addresses:
            outcomes.append("smtp: no address")
        elif all(address in refused for address in delivery.addresses):
            outcomes.append("smtp: " + "; ".join(f"{a}: {refused[a]}" for a in delivery.addresses))
        else:
            outcomes.append(None)
    return outcomes


T = TypeVar("T")


class SendingLoop:
    """An event loop of its own in a daemon thread, started at the first `run` and ended by `stop`.

    The SMTP sessions talk on it rather than on the service's loop: each command of a mail (MAIL, every RCPT TO,
    DATA) waits for the server's answer and then for a turn of the loop it runs on, and on the service's loop a turn
    waited for the consumer's whole batch of events (rendering, statements). The latency preset's deliveries rounds
    took 4-5 s to send 1,000 deliveries while facts were consumed and under 1 s after (h240, 4 December 2026); on a
    loop of its own a session goes on whenever the consumer lets go of the interpreter (every 5 ms at most)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._guard = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread and its loop have been started and not stopped."""
        return self._loop is not None

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=_run_forever, args=(loop,), name=self._name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """The result of `work` run on this loop, awaited from the caller's loop (cancelling the caller cancels it)."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._started()))

    async def stop(self) -> None:
        """End the loop and its thread (nothing must be running on it); `run` starts them again."""
        with self._guard:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join)


def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


class SmtpSender:
    """E-mail through a few long-lived SMTP sessions (STARTTLS or implicit TLS, optional login), reused across mails.

    aiosmtplib speaks SMTP on an event loop of the sender's own (`SendingLoop`, one thread): no worker thread per
    mail, and a session is opened (connect, EHLO, STARTTLS, login) once and then carries mail after mail, where the
    former smtplib sender did all of that and a QUIT for every single mail. At most `smtp_connections` sessions send
    at once; a session that breaks is dropped and fails only the mail in flight (the delivery is retried with backoff
    as any failure); the next mail opens a new one. A session idle longer than `smtp_idle_seconds` is closed rather
    than reused (servers drop idle ones). The sessions, their pool and its bound live on the sending loop only.
    """

    def __init__(self, settings: Settings, *, tls_context: ssl.SSLContext | None = None) -> None:
        self._settings = settings
        self._context: ssl.SSLContext | None = tls_context
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._slots: asyncio.Semaphore | None = None  # made on the sending loop, which it then belongs to
        self._sending = SendingLoop("smtp-sessions")
        self.transactions = 0
        """Mail transactions the server accepted (a mail to many counts once)."""

    def group_key(self, delivery: ClaimedDelivery) -> Hashable:
        """Mails of equal content go together (`mail_key`)."""
        return mail_key(delivery)

    @property
    def max_group(self) -> int:
        """Deliveries in one mail at most (RFC 5321: a server must take at least 100 recipients)."""
        return max(self._settings.smtp_max_recipients, 1)

    def tls_context(self) -> ssl.SSLContext:
        """The TLS context, built once: loading the system's CA certificates took ~35 ms of CPU, and building
        it for every mail (even without TLS) was 83 % of notifications' busy time at the month-start spike."""
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    @property
    def concurrency(self) -> int:
        """Mails under way at once at most: one per SMTP session (`smtp_connections`)."""
        return max(self._settings.smtp_connections, 1)

    @property
    def idle_sessions(self) -> int:
        """How many open sessions wait for the next mail."""
        return len(self._idle)

    async def send(self, delivery: ClaimedDelivery) -> None:
        """Send one e-mail on a pooled session (DeliveryError when the server or the connection fails); delivered
        when the server took any of its addresses, as a mail to many is (`group_outcomes`)."""
        public_url = self._settings.public_base_url
        message = build_email(delivery, sender=self._settings.mail_from, public_url=public_url)
        content = wire_bytes(message)
        recipients = envelope_recipients([delivery])

        def compose(carried: Sequence[str]) -> bytes:
            if list(carried) == recipients:
                return content
            # a server without SMTPUTF8: the mail goes to the ASCII addresses alone, and its To: names only them; a
            # To: naming the others too is UTF-8, a header such a server never agreed to (RFC 6532 3, RFC 6531 3.4)
            narrowed = replace(delivery, addresses=tuple(carried))
            return wire_bytes(build_email(narrowed, sender=self._settings.mail_from, public_url=public_url))

        sender = sender_mailbox(self._settings.mail_from)[1]
        await self._transaction(sender, recipients, compose)

    async def send_group(self, deliveries: Sequence[ClaimedDelivery]) -> list[str | None]:
        """One mail transaction for identical deliveries: MAIL FROM, a RCPT TO per address, the text once; each
        delivery's outcome from its own RCPT answers, all of them failed when the transaction itself fails."""
        if len(deliveries) == 1:
            try:
                await self.send(deliveries[0])
            except DeliveryError as exc:
                return [str(exc)]
            return [None]
        message = build_group_email(
            deliveries, sender=self._settings.mail_from, public_url=self._settings.public_base_url
        )
        sender = sender_mailbox(self._settings.mail_from)[1]
        content = wire_bytes(message)  # the envelope is the deliveries' addresses, not the (empty) To:
        recipients = envelope_recipients(deliveries)
        if not recipients:
            return group_outcomes(deliveries, {})
        try:
            refused = await self._transaction(sender, recipients, lambda _carried: content)
        except DeliveryError as exc:
            if isinstance(exc.__cause__, aiosmtplib.SMTPRecipientsRefused):  # every address refused, each its own way
                return group_outcomes(deliveries, refusals(exc.__cause__))
            return [str(exc)] * len(deliveries)
        return group_outcomes(deliveries, refused)

    async def _transaction(self, sender: str, recipients: list[str], compose: Compose) -> dict[str, str]:
        """One mail transaction on a pooled session, its bytes composed for the addresses the session can carry
        (`Compose`); the recipients refused (some), DeliveryError when it fails."""
        return await self._sending.run(self._pooled_transaction(sender, recipients, compose))

    async def _pooled_transaction(self, sender: str, recipients: list[str], compose: Compose) -> dict[str, str]:
        if self._slots is None:
            self._slots = asyncio.Semaphore(max(self._settings.smtp_connections, 1))
        async with self._slots:
            client = self._take_idle()
            try:
                if client is None:
                    client = await self._connect()
                if client.is_ehlo_or_helo_needed:  # what the server offers (SMTPUTF8) is known once it answered
                    try:
                        await client.ehlo()
                    except aiosmtplib.SMTPHeloError:
                        await client.helo()  # no ESMTP: nothing offered, as sendmail itself would fall back
                smtputf8 = client.supports_extension("smtputf8")
                wire, mail_options, left_out = wire_recipients(recipients, smtputf8=smtputf8)
                content = compose(list(wire.values()))
                if not mail_options:
                    ascii_headers(content)
                errors, _ = await client.sendmail(
                    smtp_address(sender)[0], list(wire), content, mail_options=mail_options
                )
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
            self.transactions += 1
            return {wire[address]: f"{answer.code} {answer.message}" for address, answer in errors.items()} | {
                address: NO_SMTPUTF8 for address in left_out
            }

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
        """Close the idle sessions and end the sending loop (at shutdown, no mail under way); QUIT is skipped, no
        mail transaction is open on them."""
        if self._sending.running:
            await self._sending.run(self._close_idle())
        await self._sending.stop()
        self._slots = None

    async def _close_idle(self) -> None:
        while self._idle:
            client, _ = self._idle.pop()
            client.close()


NO_SMTPUTF8 = (
    "553 not sent: the mail server does not offer SMTPUTF8, which an address whose local part is not ASCII needs"
    " (RFC 6531); enable SMTPUTF8 on the server (CHIBO_SMTP_HOST) or give the recipient an ASCII address"
)
"""Why an address with a non-ASCII local part is not sent to, as a refused recipient's answer (a delivery failed with
it shows on the operations page and in notifications' `delivery_failed` log line, naming the address)."""


def wire_recipients(recipients: Sequence[str], *, smtputf8: bool) -> tuple[dict[str, str], list[str], list[str]]:
    """({envelope address: the address as given}, MAIL FROM options, the addresses left out) for a mail to
    `recipients` on a server that offers SMTPUTF8 (`smtputf8`) or not: every domain IDNA-encoded
    (shared.web_address.smtp_address), SMTPUTF8 asked for when an address's local part is not ASCII (RFC 6531);
    without it such an address is left out (its outcome NO_SMTPUTF8), and SMTPRecipientsRefused says so when no
    address is left."""
    wire: dict[str, str] = {}
    left_out: list[str] = []
    utf8 = False
    for address in recipients:
        encoded, needs = smtp_address(address)
        if needs and not smtputf8:
            left_out.append(address)
            continue
        wire.setdefault(encoded, address)  # `a@ví-dụ.vn` and `a@xn--v-d-rma6749a.vn` are one mailbox, one RCPT
        utf8 = utf8 or needs
    if not wire:
        refused = [aiosmtplib.SMTPRecipientRefused(553, NO_SMTPUTF8.removeprefix("553 "), a) for a in recipients]
        log.warning("smtputf8_not_offered", addresses=list(recipients))
        raise aiosmtplib.SMTPRecipientsRefused(refused)
    if left_out:
        log.warning("smtputf8_not_offered", addresses=left_out)
    return wire, ["SMTPUTF8"] if utf8 else [], left_out


def ascii_headers(content: bytes) -> None:
    """Check that a mail's header lines are ASCII alone, as a mail sent without SMTPUTF8 must be (RFC 6532 3: UTF-8
    headers only under it; RFC 2047 encoded words are ASCII); ValueError naming the first line that is not."""
    for line in content.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if not line.isascii():
            raise ValueError(f"a header not ASCII in a mail without SMTPUTF8: {line!r}")


def refused_on_a_sound_session(exc: Exception) -> bool:
    """The server answered no (recipient, sender or data refused) without closing: the session stays usable."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return True
    return isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code != 421  # 421: the server is closing


def refusals(exc: aiosmtplib.SMTPRecipientsRefused) -> dict[str, str]:
    """The server's answer to each refused recipient."""
    return {refused.recipient: f"{refused.code} {refused.message}" for refused in exc.recipients}


class _Compat32Crlf(Compat32):
    """compat32 with CRLF line ends whose folding of a plain-text header value is remembered: compat32 folds every
    header through email.header.Header, and the same From, X-Chibo-Rule, Content-Type ... of mail after mail were
    most of the ~0.5 ms flattening a mail took (issue 12: 35,063 mails at month-start). Folding is a function of the
    name and the value alone (the policy is fixed), so the bytes are those compat32 writes; Header values (Subject,
    To) are folded afresh each time."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name == "To" and isinstance(value, str) and not value.isascii():
            # an address whose local part is not ASCII, sent only with SMTPUTF8: UTF-8 as it is (RFC 6532 3.2),
            # never an RFC 2047 encoded word, which no addr-spec may hold
            return f"{name}: {value}\r\n".encode()
        if isinstance(value, str):
            return _fold_plain(name, value)
        return super().fold_binary(name, value)


COMPAT32_CRLF = _Compat32Crlf(linesep="\r\n")


@functools.lru_cache(maxsize=1024)
def _fold_plain(name: str, value: str) -> bytes:
    return Compat32.fold_binary(COMPAT32_CRLF, name, value)


def wire_bytes(message: EmailMessage) -> bytes:
    """The CRLF bytes of a message built with compat32 (`build_email`, `build_group_email`), as smtplib sends them."""
    buffer = io.BytesIO()
    policy_ = COMPAT32_CRLF if message.policy is policy.compat32 else message.policy.clone(linesep="\r\n")
    BytesGenerator(buffer, policy=policy_).flatten(message, linesep="\r\n")
    return buffer.getvalue()


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


def webhook_tls_context(settings: Settings) -> ssl.SSLContext:
    """The TLS context of webhook POSTs: httpx's default trust (certifi, or SSL_CERT_FILE) and CHIBO_WEBHOOK_CA_FILE's
    CAs, checking the certificate against the host name as written; built once (~35 ms of CPU each)."""
    context = httpx.create_ssl_context()
    if settings.webhook_ca_file:
        context.load_verify_locations(cafile=settings.webhook_ca_file)
    return context


class WebhookSender:
    """A JSON POST signed with HMAC-SHA256 to an address the SSRF guard checked right before (webhook_guard), on a
    connection to the very IP address checked; any 2xx answer counts as delivered."""

    def __init__(self, settings: Settings, *, resolve: Resolver = system_resolver) -> None:
        self._settings = settings
        self._slots = asyncio.Semaphore(max(settings.webhook_concurrency, 1))
        self._allowlist = settings.webhook_allowlist()
        self._resolve = resolve
        self._tls = webhook_tls_context(settings)

    @property
    def concurrency(self) -> int:
        """POSTs under way at once at most (`webhook_concurrency`)."""
        return max(self._settings.webhook_concurrency, 1)

    async def send(self, delivery: ClaimedDelivery) -> None:
        """POST one delivery to its URL (at most `webhook_concurrency` at once); DeliveryError saying why when the
        guard refuses the address (counted and logged as `webhook_address_refused`) or the receiver fails."""
        async with self._slots:
            await self._post(delivery)

    async def _post(self, delivery: ClaimedDelivery) -> None:
        if not delivery.addresses or not delivery.addresses[0]:
            # a delivery failed for want of a gateway, put back in line by an operator before one was configured
            raise DeliveryError("webhook: no SMS gateway is configured (CHIBO_WEBHOOK_URL)")
        try:
            # judged again at each send: the DNS answer may have changed since the address was registered
            target = await checked_target(delivery.addresses[0], self._allowlist, resolve=self._resolve)
        except RefusedAddress as exc:
            WEBHOOK_ADDRESSES_REFUSED.labels("send").inc()
            log.warning("webhook_address_refused", delivery_id=delivery.id, stage="send", reason=str(exc))
            raise DeliveryError(f"webhook: refused: {exc}") from None
        body = json.dumps(webhook_payload(delivery), ensure_ascii=False).encode()
        secret = delivery.webhook_secret or self._settings.webhook_secret
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Host": target.host_header,
            self._settings.webhook_signature_header: sign(body, secret),
            "X-Chibo-Notification": delivery.notification_id,
        }
        extensions = {"sni_hostname": target.sni} if target.sni else None
        try:
            # a client per send, so no connection is reused: httpx pools by the address connected to, and a
            # connection verified for one host's name must not carry another host's POST to the same address
            async with httpx.AsyncClient(timeout=self._settings.webhook_timeout, verify=self._tls) as client:
                for index, url in enumerate(target.urls):
                    try:
                        response = await client.post(url, content=body, headers=headers, extensions=extensions)
                        break
                    except httpx.ConnectError:
                        if index == len(target.urls) - 1:
                            raise  # the next checked address, as a client tries each address a name has
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {exc!r}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"webhook: HTTP {response.status_code}")


def default_senders(settings: Settings) -> dict[str, Sender]:
    """The sender of each external channel."""
    return {"email": SmtpSender(settings), "webhook": WebhookSender(settings)}
