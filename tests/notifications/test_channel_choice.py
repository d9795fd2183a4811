"""A channel that cannot work is neither offered nor accepted; one that cannot reach a recipient fails visibly."""

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.notifications.config import Settings
from services.notifications.handlers.commands import Commands
from services.notifications.unit_of_work import uow_factory
from shared.metrics import NOTIFICATION_DELIVERIES
from shared.periods import VIETNAM_TZ
from shared.rpc import RpcError
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import handle
from tests.support.ids import random_id

NO_GATEWAY = "webhook: no SMS gateway is configured (CHIBO_WEBHOOK_URL)"
NO_PHONE = "webhook: the recipient has no phone number for the SMS gateway"


def failed_count(rule: str, channel: str) -> float:
    """The deliveries counter's failed outcomes of a rule and channel so far."""
    return float(NOTIFICATION_DELIVERIES.labels(rule, channel, "failed")._value.get())


async def deliveries_of(pool: asyncpg.Pool, recipient_id: str, subject_id: str) -> dict[str, tuple[str, str | None]]:
    """channel -> (status, last_error) of the recipient's deliveries about one subject."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT d.channel, d.status, d.last_error FROM delivery d JOIN notification n ON n.id = d.notification_id"
            " WHERE n.recipient_id = $1 AND n.subject_id = $2",
            recipient_id,
            subject_id,
        )
    return {row["channel"]: (row["status"], row["last_error"]) for row in rows}


async def test_without_an_sms_gateway_the_webhook_is_not_offered_refused_and_a_kept_choice_fails_visibly(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """The tester's case: no CHIBO_WEBHOOK_URL, defaults naming the webhook (as the demo's do)."""
    settings = settings.model_copy(
        update={"webhook_url": None, "default_person_channels": ["email", "webhook", "inbox"]}
    )
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ))
    commands = Commands(uow_factory(pool, settings=settings, clock=clock))

    with pytest.raises(RpcError) as refused:
        await commands.set_preferences(p.member, ["webhook"])
    assert refused.value.code == "invalid" and refused.value.field == "channels"
    # the field first, the channels on offer as people read a list (a trial's read ['email', 'inbox'])
    assert refused.value.message == (
        "channels: webhook (the SMS gateway) is not available, as no SMS gateway is configured for this province;"
        " choose among email, inbox"
    )
    fresh = await commands.get_preferences(p.deputy)
    assert fresh["channels"] == ["email", "inbox"] and fresh["available_channels"] == ["email", "inbox"]
    # a recipient with a webhook of their own (an operator's RPC setting) may still choose it
    own = await commands.set_preferences(p.exempt, ["webhook"], webhook_url="http://127.0.0.1:9/own")
    assert own["channels"] == ["webhook", "inbox"] and "webhook" in own["available_channels"]

    # a choice kept from before (or a gateway removed since): the notice fails on it visibly, and the inbox has it
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO preference (recipient_id, channels) VALUES ($1, $2)", p.member, ["webhook"])
    before = failed_count("meeting_scheduled", "webhook")
    meeting = random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), p.scheduled(meeting, clock.value + timedelta(days=5)))

    assert await deliveries_of(pool, p.member, meeting) == {
        "inbox": ("delivered", None),
        "webhook": ("failed", NO_GATEWAY),
    }
    # the default-channel deputy is not failed on a channel that was never offered: e-mail and the inbox
    assert {c: s for c, (s, _) in (await deliveries_of(pool, p.deputy, meeting)).items()} == {
        "email": "pending",
        "inbox": "delivered",
    }
    assert failed_count("meeting_scheduled", "webhook") == before + 1
    failed = await commands.list_failed(limit=500)
    mine = [item for item in failed["items"] if item["recipient_id"] == p.member]
    assert [(item["channel"], item["last_error"]) for item in mine] == [("webhook", NO_GATEWAY)]
    detail = await commands.get_delivery(mine[0]["delivery_id"])
    assert [(entry["outcome"], entry["error"]) for entry in detail["log"]] == [("failed", NO_GATEWAY)]
    async with pool.acquire() as conn:
        emitted = await conn.fetch(
            "SELECT payload->'data' AS data FROM outbox WHERE type = 'notification.failed.v1'"
            " AND payload->'data'->>'recipient' = $1",
            p.member,
        )
    assert len(emitted) == 1 and NO_GATEWAY in emitted[0]["data"]


async def test_with_an_sms_gateway_a_member_without_a_phone_number_gets_a_failed_delivery_not_silence(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    settings = settings.model_copy(update={"webhook_url": "http://127.0.0.1:9/sms"})
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ))
    commands = Commands(uow_factory(pool, settings=settings, clock=clock))
    with_phone = event(
        "member.upserted.v1",
        {
            "id": p.member,
            "full_name": "Lê Văn Đức",
            "cell_id": p.cell,
            "status": "official",
            "role": "member",
            "exempt": False,
            "email": p.email(p.member),
            "phone": "0912345678",
        },
        time=p.origin + timedelta(days=1),
    )
    await handle(pool, settings, clock, *p.setup(), with_phone)
    offered = await commands.set_preferences(p.member, ["webhook"])
    assert offered["channels"] == ["webhook", "inbox"] and offered["available_channels"] == [
        "email",
        "webhook",
        "inbox",
    ]
    await commands.set_preferences(p.deputy, ["webhook", "email"])  # no phone number on record
    before = failed_count("meeting_scheduled", "webhook")
    meeting = random_id("mtg")
    await handle(pool, settings, clock, p.scheduled(meeting, clock.value + timedelta(days=5)))

    assert await deliveries_of(pool, p.member, meeting) == {"inbox": ("delivered", None), "webhook": ("pending", None)}
    assert await deliveries_of(pool, p.deputy, meeting) == {
        "inbox": ("delivered", None),
        "email": ("pending", None),
        "webhook": ("failed", NO_PHONE),
    }
    assert failed_count("meeting_scheduled", "webhook") == before + 1


async def test_every_preference_refusal_starts_with_the_field_it_names(pool: asyncpg.Pool, settings: Settings) -> None:
    """A trial: the refusals of `webhook_url` and `webhook_secret` said `webhook_url must be …` where every other
    refusal starts `field: ` (as the channels' one does), so a caller reading the field off the message missed them."""
    settings = settings.model_copy(update={"webhook_url": None, "secret_key": ""})
    commands = Commands(uow_factory(pool, settings=settings, clock=Clock(datetime.now(VIETNAM_TZ))))
    member = random_id("mem")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"channels": "email"}, "channels", "channels: must be a list of email, inbox, webhook"),
        ({"webhook_url": "ftp://sms.example"}, "webhook_url", "webhook_url: must begin with http:// or https://"),
        ({"webhook_secret": 42}, "webhook_secret", "webhook_secret: must be a string"),
        (
            {"webhook_url": "https://sms.example", "webhook_secret": "khóa"},
            "webhook_secret",
            "webhook_secret: no CHIBO_SECRET_KEY to store a webhook secret with",
        ),
    ]
    for given, field, message in cases:
        arguments: dict[str, Any] = {"channels": ["email"]} | given
        with pytest.raises(RpcError) as refused:
            await commands.set_preferences(member, **arguments)
        assert (refused.value.code, refused.value.field, refused.value.message) == ("invalid", field, message)
    assert (await commands.get_preferences(member))["stored"] is False  # nothing refused was kept
