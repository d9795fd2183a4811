"""The province's SMS gateway (CHIBO_WEBHOOK_URL) is judged at start by the check a recipient's own webhook_url
gets (shared.web_address): a malformed address, one with a user name or password before its host, a numeric host
written otherwise than a.b.c.d or an IPv4-mapped IPv6 host once showed only when the first send failed."""

import subprocess
import sys

import pytest
from pydantic import ValidationError

from services.notifications.config import Settings
from shared.web_address import address_problem


@pytest.mark.parametrize(
    "address",
    [
        "cong-tin-nhan.vn/sms",
        "https://sms:mat-khau@cong-tin-nhan.vn/h",
        "http://0x7f.0.0.1/hook",
        "http://127.1/hook",
        "http://[::ffff:7f00:1]/hook",
        "https://cổng tin nhắn.vn/h",
    ],
)
def test_a_gateway_address_that_is_no_web_address_is_refused_naming_the_variable(address: str) -> None:
    problem = address_problem(address)
    assert problem is not None
    with pytest.raises(ValidationError) as caught:
        Settings(webhook_url=address)
    assert f"CHIBO_WEBHOOK_URL: {problem.reason}" in str(caught.value)


@pytest.mark.parametrize(
    "address", ["https://cổng-tin-nhắn.vn/gửi", "http://127.0.0.1:8099/hook", "http://[::1]:9/h", "", None]
)
def test_a_web_address_or_none_is_taken_as_it_was_written(address: str | None) -> None:
    settings = Settings(webhook_url=address)
    assert settings.webhook_url == address
    assert ("webhook" in settings.offered_channels()) is bool(address)


def test_the_service_does_not_start_with_such_an_address_and_says_why() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.notifications", "serve"],
        env={
            "CHIBO_WEBHOOK_URL": "http://[::ffff:7f00:1]/hook",
            # nowhere to connect to: a service that took the address stops here, not on the shared broker
            "CHIBO_AMQP_URL": "amqp://guest:guest@127.0.0.1:9/",
            "CHIBO_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/chibo",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "CHIBO_WEBHOOK_URL: the host '[::ffff:7f00:1]' opens the IP address 127.0.0.1" in done.stderr
    assert "Traceback" not in done.stderr
