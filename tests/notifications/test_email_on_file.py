"""A recipient's preferences say whether an e-mail address is on file (the member snapshot's, a committee's contact
addresses): the h194 trial saved "Thư điện tử" for a member without one and nothing said that no mail would go."""

from datetime import datetime

import asyncpg

from services.notifications.config import Settings
from services.notifications.handlers.commands import Commands
from services.notifications.unit_of_work import uow_factory
from shared.envelope import CloudEvent
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province, event
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


async def test_a_monitors_preferences_say_whether_their_assignments_give_an_address(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """A committee officer following cells is mailed at the address of their monitor assignments (monitor.assigned.v1
    `email`), not a member snapshot: the monitoring page said nothing when the assignments gave none (None, "not
    known here"), while the member's page warned."""
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ))
    other_cell = random_id("cell")
    without = random_id("mon")

    def assigned(person_id: str, cell_id: str, email: str | None) -> CloudEvent:
        data = {"person_id": person_id, "full_name": "Đỗ Văn Sơn", "committee_id": p.committee, "cell_id": cell_id}
        return event("monitor.assigned.v1", data | {"email": email}, time=p.origin)

    cell = event(
        "org.unit.upserted.v1",
        {"id": other_cell, "name": "Chi bộ khu phố Tây", "kind": "cell", "parent_id": p.committee},
        time=p.origin,
    )
    await handle(pool, settings, clock, *p.setup(), cell, assigned(without, p.cell, None))
    commands = Commands(uow_factory(pool, settings=settings, clock=clock))

    assert (await commands.get_preferences(p.monitor))["email_on_file"] is True  # the assignment's address
    chosen = await commands.set_preferences(without, ["email"])
    assert chosen["channels"] == ["email", "inbox"] and chosen["email_on_file"] is False
    assert (await commands.get_preferences(without))["email_on_file"] is False
    # following a second cell with an address: that one is mailed, so an address is on file
    await handle(pool, settings, clock, assigned(without, other_cell, p.email(without)))
    assert (await commands.get_preferences(without))["email_on_file"] is True
