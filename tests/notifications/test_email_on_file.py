"""A recipient's preferences say whether an e-mail address is on file (the member snapshot's, a committee's contact
addresses): the h194 trial saved "Thư điện tử" for a member without one and nothing said that no mail would go."""

from datetime import datetime

import asyncpg

from services.notifications.config import Settings
from services.notifications.handlers.commands import Commands
from services.notifications.unit_of_work import uow_factory
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import handle
from tests.support.ids import random_id


async def test_the_preferences_say_whether_an_email_address_is_on_file(pool: asyncpg.Pool, settings: Settings) -> None:
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ))
    await handle(pool, settings, clock, *p.setup())
    async with pool.acquire() as conn:  # the member database gave this member no address
        await conn.execute("UPDATE member SET email = NULL WHERE id = $1", p.member)
    commands = Commands(uow_factory(pool, settings=settings, clock=clock))

    chosen = await commands.set_preferences(p.member, ["email"])  # still accepted: the address may come later
    assert chosen["channels"] == ["email", "inbox"] and chosen["email_on_file"] is False
    assert (await commands.get_preferences(p.member))["email_on_file"] is False
    assert (await commands.get_preferences(p.deputy))["email_on_file"] is True  # defaults, with an address
    assert (await commands.get_preferences(p.committee))["email_on_file"] is True  # its contact addresses
    assert (await commands.get_preferences(random_id("nobody")))["email_on_file"] is None  # not known here
