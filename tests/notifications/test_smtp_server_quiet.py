"""The tests' in-process SMTP server (tests.support.running.smtp_server) keeps aiosmtpd's session lines out of the
test output: a run of the mail tests showed `('127.0.0.1', 40876) connection lost` and `EOF received` among pytest's
dots, logged at INFO by aiosmtpd's own logger from its thread. Its logger says only warnings while the server runs
(as the demo's mail sink has it), and is as it was once the server stops; other loggers are untouched."""

import logging
import smtplib
from typing import Any

import pytest

from tests.support.running import SMTP_LOG, smtp_server


class Kept:
    """aiosmtpd handler keeping each mail's content."""

    def __init__(self) -> None:
        self.mails: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        """Keep the bytes."""
        self.mails.append(envelope.content)
        return "250 OK"


def test_a_whole_smtp_session_logs_nothing_at_info(caplog: pytest.LogCaptureFixture) -> None:
    kept = Kept()
    before = logging.getLogger(SMTP_LOG).level
    with caplog.at_level(logging.INFO):
        with smtp_server(kept) as port:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail("a@demo.vn", ["b@demo.vn"], b"Subject: x\r\n\r\nbody\r\n")
            logging.getLogger("tests.smtp").info("still said")  # another logger's INFO line still reaches the log
        # the server has stopped (its thread joined): every line of the session, its end included, was logged
    assert kept.mails, "the mail did not arrive"
    assert [r.getMessage() for r in caplog.records if r.name == SMTP_LOG] == []
    assert [r.getMessage() for r in caplog.records if r.name == "tests.smtp"] == ["still said"]
    assert logging.getLogger(SMTP_LOG).level == before
