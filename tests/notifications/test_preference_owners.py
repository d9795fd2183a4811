"""A recipient's preference has fields of two owners: the channels and digest its people choose (an officer for a
committee, on the alert settings page or the API) and the webhook address and secret an operator sets over RPC. Each
save stored the whole row, so an officer's save cleared the operator's webhook and secret, and ticking the SMS box the
page offered for that webhook was refused; an operator's webhook setting reset the digest. A save now writes only the
fields it sends."""

from datetime import datetime

import asyncpg
import pytest

from services.notifications.config import Settings
from services.notifications.handlers.commands import Commands
from services.notifications.secrets import SecretBox
from services.notifications.unit_of_work import uow_factory
from shared.periods import VIETNAM_TZ
from shared.rpc import RpcError
from tests.notifications.events import Province
from tests.notifications.fakes import Clock

HOOK = "http://127.0.0.1:9/sms"


async def sealed_secret(pool: asyncpg.Pool, settings: Settings, recipient_id: str) -> str | None:
    """The recipient's webhook secret as stored, opened (None when there is none)."""
    async with pool.acquire() as conn:
        sealed = await conn.fetchval(
            "SELECT webhook_secret_sealed FROM preference WHERE recipient_id = $1", recipient_id
        )
    return None if sealed is None else SecretBox(settings.secret_key).open(sealed)


async def test_an_officers_save_keeps_the_operators_webhook_and_secret_and_may_choose_it(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """No province SMS gateway here (CHIBO_WEBHOOK_URL unset): the committee's own address is what offers it."""
    p = Province()
    commands = Commands(uow_factory(pool, settings=settings, clock=Clock(datetime.now(VIETNAM_TZ))))
    await commands.set_preferences(p.committee, ["email"], webhook_url=HOOK, webhook_secret="khóa-cổng")

    saved = await commands.set_preferences(p.committee, ["email"], digest=True)  # the page's save: no webhook field
    assert (saved["webhook_url"], saved["webhook_secret_set"], saved["digest"]) == (HOOK, True, True), saved
    assert await sealed_secret(pool, settings, p.committee) == "khóa-cổng"
    ticked = await commands.set_preferences(p.committee, ["email", "webhook"], digest=True)  # the box it offers
    assert ticked["channels"] == ["email", "webhook", "inbox"] and ticked["webhook_url"] == HOOK

    # the operator's new secret alone keeps the address and the officers' choice
    rotated = await commands.set_preferences(p.committee, webhook_secret="khóa-mới")
    assert (rotated["channels"], rotated["digest"], rotated["webhook_url"]) == (ticked["channels"], True, HOOK)
    assert await sealed_secret(pool, settings, p.committee) == "khóa-mới"


async def test_the_operator_drops_a_webhook_only_by_saying_so(pool: asyncpg.Pool, settings: Settings) -> None:
    p = Province()
    commands = Commands(uow_factory(pool, settings=settings, clock=Clock(datetime.now(VIETNAM_TZ))))
    await commands.set_preferences(p.member, ["email", "webhook"], digest=True, webhook_url=HOOK, webhook_secret="k")
    # the channels still name the webhook: without an address of its own and no gateway, nothing would send it
    with pytest.raises(RpcError) as refused:
        await commands.set_preferences(p.member, clear_webhook=True)
    assert (refused.value.code, refused.value.field) == ("invalid", "channels")
    dropped = await commands.set_preferences(p.member, ["email"], clear_webhook=True)
    assert (dropped["webhook_url"], dropped["webhook_secret_set"], dropped["digest"]) == (None, False, True)
    assert await sealed_secret(pool, settings, p.member) is None
    # a new address sent with it replaces the old one without its secret
    await commands.set_preferences(p.member, webhook_url=HOOK, webhook_secret="k")
    moved = await commands.set_preferences(p.member, webhook_url=HOOK + "/2", clear_webhook=True)
    assert (moved["webhook_url"], moved["webhook_secret_set"]) == (HOOK + "/2", False)
