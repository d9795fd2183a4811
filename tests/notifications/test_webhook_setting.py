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


@pytest.mark.parametrize("address", ["https://cổng-tin-nhắn.vn/gửi", "http://14.225.7.9:8099/hook", "", None])
def test_a_web_address_or_none_is_taken_as_it_was_written(address: str | None) -> None:
    settings = Settings(webhook_url=address)
    assert settings.webhook_url == address
    assert ("webhook" in settings.offered_channels()) is bool(address)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("http://127.0.0.1:8099/hook", "127.0.0.1 is a loopback address"),
        ("http://[::1]:9/h", "::1 is a loopback address"),
        ("http://10.20.0.5/sms", "10.20.0.5 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is the link-local cloud metadata address"),
        ("http://[fd00::5]/sms", "fd00::5 is a unique-local address (fc00::/7)"),
    ],
)
def test_a_gateway_written_as_an_address_the_guard_refuses_stops_the_start_unless_allowed(
    address: str, kind: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(webhook_url=address)
    assert "CHIBO_WEBHOOK_URL: the host" in str(caught.value)
    assert kind in str(caught.value)
    assert "CHIBO_WEBHOOK_ALLOWED_HOSTS" in str(caught.value)
    host = address.split("/")[2].rsplit(":", 1)[0] if "[" not in address else address.split("[")[1].split("]")[0]
    allowed = Settings(webhook_url=address, webhook_allowed_hosts=[host])
    assert allowed.webhook_url == address
    assert Settings(webhook_url=address, webhook_allowed_hosts=["0.0.0.0/0", "::/0"]).webhook_url == address


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "sms gateway.vn", "http://sms.vn/", ""])
def test_an_allowlist_entry_that_is_no_address_network_or_host_is_refused_naming_the_variable(entry: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(webhook_allowed_hosts=[entry])
    assert "CHIBO_WEBHOOK_ALLOWED_HOSTS:" in str(caught.value)


def test_the_allowlist_is_read_from_the_environment_as_the_other_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIBO_WEBHOOK_ALLOWED_HOSTS", '["10.20.0.0/16", "sms.tinh.local"]')
    allowlist = Settings().webhook_allowlist()
    assert allowlist.permits_name("SMS.tinh.local")
    assert not allowlist.permits_name("khac.tinh.local")
    assert [str(network) for network in allowlist.networks] == ["10.20.0.0/16"]


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
