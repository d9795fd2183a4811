"""The SSRF guard of webhooks (webhook_guard): an address whose host is or resolves to a loopback, private,
link-local, unique-local or other non-global address is refused when an operator registers it and again right before
each send, unless CHIBO_WEBHOOK_ALLOWED_HOSTS allows it; a send connects to the very address judged, so a DNS answer
changed since (a rebinding) reaches nothing new. A refused send fails visibly and holds up no other delivery."""

import ipaddress
from datetime import datetime, timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY

from services.notifications.bootstrap import build_app
from services.notifications.channels import WebhookSender
from services.notifications.config import Settings
from services.notifications.handlers.commands import Commands
from services.notifications.handlers.deliveries import deliver_due
from services.notifications.unit_of_work import uow_factory
from services.notifications.webhook_guard import Allowlist, Resolver, address_refusal, parse_allowlist
from shared.contracts import notifications_rpc as notifications
from shared.envelope import now
from shared.periods import VIETNAM_TZ
from shared.rpc import RpcError
from tests.notifications.conftest import SmtpInbox, WebhookReceiver
from tests.notifications.events import Province, publish
from tests.notifications.fakes import Clock
from tests.notifications.test_deliveries import queue
from tests.support.ids import random_id
from tests.support.rpc import ask, rpc_client
from tests.support.running import eventually, running_app

GLOBAL = "14.225.7.9"
"""A global address (VNPT's), which no test connects to."""


def refused_count(stage: str) -> float:
    """chibo_webhook_addresses_refused_total of a stage so far."""
    return REGISTRY.get_sample_value("chibo_webhook_addresses_refused_total", {"stage": stage}) or 0.0


class ZoneResolver:
    """A DNS of the test's own: host name → the addresses it answers now (an operator's zone, changed at will)."""

    def __init__(self, zone: dict[str, list[str]]) -> None:
        self.zone = zone
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.zone:
            raise OSError(-2, "Name or service not known")
        return self.zone[host]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "the link-local cloud metadata address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("fd12:3456::1", "a unique-local address (fc00::/7)"),
        ("::ffff:10.0.0.1", "a private address"),
        ("::ffff:169.254.169.254", "the link-local cloud metadata address"),
        ("64:ff9b::7f00:1", "a loopback address"),
        ("2002:a00:1::1", "a private address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "the unspecified address"),
        ("::", "the unspecified address"),
        ("100.64.0.1", "a shared address (100.64.0.0/10, RFC 6598)"),
        ("240.0.0.1", "a private address"),
    ],
)
def test_every_kind_of_non_global_address_is_refused_and_named(address: str, kind: str) -> None:
    why = address_refusal(ipaddress.ip_address(address), Allowlist())
    assert why is not None and kind in why
    assert address_refusal(ipaddress.ip_address(address), parse_allowlist(["0.0.0.0/0", "::/0"])) is None


@pytest.mark.parametrize("address", [GLOBAL, "2606:4700::1111", "::ffff:14.225.7.9", "64:ff9b::ee1:709"])
def test_a_global_address_is_taken(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), Allowlist()) is None


async def test_registration_refuses_a_non_global_webhook_naming_the_field_unless_allowed(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    strict = settings.model_copy(update={"webhook_allowed_hosts": []})
    p = Province()
    zone = ZoneResolver({"sms.tinh.vn": [GLOBAL, "10.20.0.5"], "doi-tac.vn": [GLOBAL], "noi-bo.tinh.vn": ["10.9.9.9"]})
    commands = Commands(uow_factory(pool, settings=strict), resolve=zone)
    before = refused_count("registration")
    refused = {
        "http://127.0.0.1:9/hook": "the host '127.0.0.1' is an address a webhook may not reach: 127.0.0.1 is a "
        "loopback address",
        "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is the link-local cloud metadata address",
        "http://[fd00::5]/sms": "fd00::5 is a unique-local address",
        "https://sms.tinh.vn/gui": "the host 'sms.tinh.vn' resolves to an address a webhook may not reach: 10.20.0.5"
        " is a private address",  # every address the name has is judged, not only the first
        "https://khong-co.tinh.vn/gui": "the host 'khong-co.tinh.vn' does not resolve",
        "http://localhost:8080/h": "the host 'localhost' ",  # the system's own resolver, when no other is given
    }
    for url, said in refused.items():
        judge = commands if url != "http://localhost:8080/h" else Commands(uow_factory(pool, settings=strict))
        with pytest.raises(RpcError) as caught:
            await judge.set_preferences(p.member, ["webhook"], webhook_url=url)
        assert caught.value.code == "invalid" and caught.value.field == "webhook_url", url
        assert caught.value.message.startswith("webhook_url: ") and said in caught.value.message, caught.value.message
        assert "CHIBO_WEBHOOK_ALLOWED_HOSTS" in caught.value.message or "resolve" in caught.value.message
    assert refused_count("registration") == before + len(refused)
    assert (await commands.get_preferences(p.member))["webhook_url"] is None  # nothing refused was stored

    assert (await commands.set_preferences(p.member, ["webhook"], webhook_url="https://doi-tac.vn/h"))["webhook_url"]
    allowing = settings.model_copy(update={"webhook_allowed_hosts": ["10.20.0.0/16", "noi-bo.tinh.vn"]})
    allowed = Commands(uow_factory(pool, settings=allowing), resolve=zone)
    for url in ("https://sms.tinh.vn/gui", "http://10.20.0.5:8080/sms", "http://noi-bo.tinh.vn/sms"):
        assert (await allowed.set_preferences(p.deputy, ["webhook"], webhook_url=url))["webhook_url"] == url


async def test_the_service_refuses_a_loopback_webhook_over_rpc_and_a_stored_one_fails_visibly_at_send(
    settings: Settings,
    webhook: WebhookReceiver,
    smtp: tuple[SmtpInbox, int],
    amqp_url: str,
    db: asyncpg.Connection,
) -> None:
    """Without CHIBO_WEBHOOK_ALLOWED_HOSTS the package's own receiver (on loopback) is out of reach: refused when
    set, and a preference stored before the guard fails its send with the reason while the mail goes out."""
    strict = settings.model_copy(update={"webhook_allowed_hosts": [], "delivery_max_attempts": 1})
    p = Province()
    meeting_id = random_id("mtg")
    received = len(webhook.requests)
    async with running_app(build_app(strict)), rpc_client(amqp_url, timeout=10) as client:
        await publish(amqp_url, p.setup())
        with pytest.raises(RpcError) as caught:
            await ask(
                client,
                notifications.SetPreferences(recipient_id=p.member, channels=["webhook"], webhook_url=webhook.url),
            )
        assert caught.value.code == "invalid" and caught.value.field == "webhook_url"
        assert "127.0.0.1 is a loopback address" in caught.value.message
        # as it was stored before the guard refused such an address
        await db.execute(
            "INSERT INTO notifications.preference (recipient_id, channels, webhook_url) VALUES ($1, $2, $3)"
            " ON CONFLICT (recipient_id) DO UPDATE SET channels = EXCLUDED.channels,"
            " webhook_url = EXCLUDED.webhook_url",
            p.member,
            ["webhook", "email", "inbox"],
            webhook.url,
        )
        before = refused_count("send")
        await publish(amqp_url, [p.scheduled(meeting_id, now() + timedelta(days=3))])

        async def failed() -> dict | None:
            page = await ask(client, notifications.ListFailedDeliveries(limit=100, offset=0))
            return next((d for d in page["items"] if d["recipient_id"] == p.member), None)

        delivery = await eventually(failed, timeout=60)
        assert delivery["channel"] == "webhook"
        assert delivery["last_error"].startswith("webhook: refused: the host '127.0.0.1' is an address a webhook")
        assert "CHIBO_WEBHOOK_ALLOWED_HOSTS" in delivery["last_error"]
        assert refused_count("send") >= before + 1
        assert await db.fetchval(
            "SELECT count(*) FROM notifications.outbox WHERE type = 'notification.failed.v1'"
            " AND payload->'data'->>'notification_id' = $1",
            delivery["notification_id"],
        )
        inbox = smtp[0]
        await eventually(lambda: bool(inbox.to(p.email(p.member))), timeout=60)  # the mail was not held up
    assert not any(h.get("x-chibo-notification") == delivery["notification_id"] for h, _ in webhook.requests[received:])


async def send_round(
    pool: asyncpg.Pool, settings: Settings, clock: Clock, urls: list[str], resolve: Resolver
) -> dict[str, tuple[str, str | None]]:
    """One delivery round of a webhook to each of `urls` through the real sender (its DNS `resolve`): url → (status,
    last_error)."""
    ids = await queue(pool, settings, clock, len(urls), channel="webhook", to=urls)
    try:
        sender = WebhookSender(settings, resolve=resolve)
        await deliver_due(uow_factory(pool, settings=settings, clock=clock), {"webhook": sender})
        rows = await pool.fetch("SELECT id, status, last_error FROM delivery WHERE id = ANY($1::bigint[])", ids)
        by_id = {row["id"]: (row["status"], row["last_error"]) for row in rows}
        return {url: by_id[delivery_id] for url, delivery_id in zip(urls, ids, strict=True)}
    finally:
        await pool.execute(
            "UPDATE delivery SET status = 'failed' WHERE id = ANY($1::bigint[]) AND status = 'pending'", ids
        )


async def test_a_send_checks_every_address_again_and_connects_to_the_one_checked(
    pool: asyncpg.Pool, settings: Settings, webhook: WebhookReceiver
) -> None:
    port = webhook.port
    guarded = settings.model_copy(
        update={"webhook_allowed_hosts": ["sms-gateway.invalid", "10.0.0.0/8"], "delivery_max_attempts": 1}
    )
    zone = ZoneResolver(
        {
            # allowed by name: the name's answer is taken, and the POST goes to it, not to a second lookup
            "sms-gateway.invalid": ["127.0.0.1"],
            "doi-tac.invalid": [GLOBAL, "127.0.0.1"],  # one non-global address among its answers
            "metadata.invalid": ["169.254.169.254"],
            "v6.invalid": ["::ffff:127.0.0.1"],
        }
    )
    clock = Clock(datetime(1987, 5, 5, 8, 0, tzinfo=VIETNAM_TZ))  # only this test's deliveries are due then
    urls = [
        f"http://127.0.0.1:{port}/hook",
        f"http://doi-tac.invalid:{port}/hook",
        f"http://metadata.invalid:{port}/latest/meta-data/",
        f"http://v6.invalid:{port}/hook",
        f"http://sms-gateway.invalid:{port}/hook",
    ]
    received = len(webhook.requests)
    before = refused_count("send")
    outcome = await send_round(pool, guarded, clock, urls, zone)

    assert outcome[urls[-1]] == ("delivered", None)  # refused neighbours in its round did not hold it up
    for url, said in zip(
        urls,
        [
            "the host '127.0.0.1' is an address a webhook may not reach: 127.0.0.1 is a loopback address",
            "the host 'doi-tac.invalid' resolves to an address a webhook may not reach: 127.0.0.1 is a loopback",
            "169.254.169.254 is the link-local cloud metadata address",
            "127.0.0.1 is a loopback address (carried in the IPv6 address ::ffff:7f00:1)",
        ],
        strict=False,
    ):
        status, error = outcome[url]
        assert status == "failed" and error is not None and error.startswith("webhook: refused: "), (url, error)
        assert said in error, error
    assert refused_count("send") == before + 4
    got = webhook.requests[received:]
    assert len(got) == 1
    # the system's resolver knows no .invalid name: the POST went to the address the guard checked
    assert got[0][0]["host"] == f"sms-gateway.invalid:{port}"


async def test_a_name_that_rebinds_to_loopback_after_registration_is_refused_at_send(
    pool: asyncpg.Pool, settings: Settings, webhook: WebhookReceiver
) -> None:
    strict = settings.model_copy(update={"webhook_allowed_hosts": [], "delivery_max_attempts": 1})
    port = webhook.port
    url = f"http://doi-tac.invalid:{port}/hook"
    zone = ZoneResolver({"doi-tac.invalid": [GLOBAL]})
    p = Province()
    commands = Commands(uow_factory(pool, settings=strict), resolve=zone)
    assert (await commands.set_preferences(p.member, ["webhook"], webhook_url=url))["webhook_url"] == url

    zone.zone["doi-tac.invalid"] = ["127.0.0.1"]  # the name's owner points it at the sender's own loopback
    received = len(webhook.requests)
    clock = Clock(datetime(1987, 6, 6, 8, 0, tzinfo=VIETNAM_TZ))
    outcome = await send_round(pool, strict, clock, [url], zone)
    status, error = outcome[url]
    assert status == "failed" and error is not None
    assert "the host 'doi-tac.invalid' resolves to an address a webhook may not reach: 127.0.0.1" in error
    assert zone.asked == ["doi-tac.invalid", "doi-tac.invalid"]  # judged at registration and again at the send
    assert len(webhook.requests) == received


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://①②⑦.0.0.1/x", "in a browser (its character '①' (U+2460) is read as '1'); write it as 127.0.0.1"),
        ("http://127。0。0。1/x", "in a browser (its character '。' (U+3002) is read as '.'); write it as 127.0.0.1"),
        ("http://127．0．0．1/x", "(its character '．' (U+FF0E) is read as '.')"),
        ("http://10｡0｡0｡5/x", "opens the IP address 10.0.0.5 in a browser (its character '｡' (U+FF61) is read"),
        ("http://１６９.254.169.254/x", "(its character '１' (U+FF11) is read as '1')"),
    ],
)
async def test_a_webhook_host_written_in_characters_read_as_digits_or_dots_is_refused_naming_them(
    pool: asyncpg.Pool, settings: Settings, url: str, said: str
) -> None:
    """A trial's `http://①②⑦.0.0.1/x` was refused as "(it ends in a dot)": the reason names the character instead."""
    commands = Commands(uow_factory(pool, settings=settings.model_copy(update={"webhook_allowed_hosts": []})))
    with pytest.raises(RpcError) as caught:
        await commands.set_preferences(Province().member, ["webhook"], webhook_url=url)
    assert caught.value.code == "invalid" and caught.value.field == "webhook_url", caught.value
    assert caught.value.message.startswith("webhook_url: ") and said in caught.value.message, caught.value.message
    assert "ends in a dot" not in caught.value.message
