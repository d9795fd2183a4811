"""The SMTP sender against a real SMTP server: mails arrive, and the TLS context is built once, only for TLS.

The month-start profile (make bench month-start --profile) found 83 % of notifications' busy time in
`ssl.create_default_context()` (loading the system CA certificates), built for every mail even without TLS.
"""

from dataclasses import replace

from services.notifications.channels import SmtpSender
from services.notifications.config import Settings
from tests.notifications.conftest import SmtpInbox
from tests.notifications.test_mail_subjects import delivery


async def test_plain_smtp_sends_every_mail_without_building_a_tls_context(
    settings: Settings, smtp: tuple[SmtpInbox, int]
) -> None:
    inbox, _ = smtp
    sender = SmtpSender(settings)
    for number in range(3):
        mail = replace(delivery(f"Thư thử số {number}"), addresses=(f"smtp-sender-{number}@example.vn",))
        await sender.send(mail)
    assert [len(inbox.to(f"smtp-sender-{number}@example.vn")) for number in range(3)] == [1, 1, 1]
    assert sender._context is None  # no TLS asked for, no certificates loaded


def test_the_tls_context_is_built_once(settings: Settings) -> None:
    sender = SmtpSender(settings.model_copy(update={"smtp_starttls": True}))
    assert sender.tls_context() is sender.tls_context()
