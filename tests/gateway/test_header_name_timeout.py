"""The page header's full name (PersonNames) is a nicety: while meetings does not answer, a page waited the whole RPC
timeout (5 s) for it before showing the sign-in name, and every page after it waited again. The lookup now has a
short timeout of its own (CHIBO_PERSON_NAME_TIMEOUT, 1 s) and a failure is remembered for a while
(CHIBO_PERSON_NAME_RETRY_SECONDS), so the pages meanwhile do not ask again."""

import asyncio
import re
import time
from typing import Any

import httpx
import pytest

from services.gateway.auth import Principal, Role
from services.gateway.bootstrap import GatewayState
from services.gateway.handlers import PersonNames, TtlCache
from shared.contracts.meetings_rpc import GetMember, ListMonitorAssignments
from shared.rpc import Request, ServiceUnavailable
from tests.gateway.conftest import RPC_TIMEOUT
from tests.gateway.fakes import FakeServices, World
from tests.gateway.test_minutes_label_pages import signed_in
from tests.support.ids import random_id

WHO = re.compile(r'<span class="who"><bdi>([^<]*)</bdi></span>')


class NamesNotAnswered:
    """The gateway's RPC client, except that meetings does not answer the name lookups: each waits its timeout
    (the client's own, RPC_TIMEOUT, when the call gives none) and is ServiceUnavailable, as RpcClient does then."""

    def __init__(self, rpc: Any) -> None:
        self._rpc = rpc
        self.waited: list[float] = []

    async def call(
        self, request: Request[Any], *, correlation_id: str | None = None, timeout: float | None = None
    ) -> Any:
        """The real call, or for GetMember and ListMonitorAssignments no answer within the timeout."""
        if isinstance(request, GetMember | ListMonitorAssignments):
            wait = timeout or RPC_TIMEOUT
            self.waited.append(wait)
            await asyncio.sleep(wait)
            raise ServiceUnavailable("meetings")
        return await self._rpc.call(request, correlation_id=correlation_id, timeout=timeout)


async def sign_in_name(state: GatewayState, person: str) -> str:
    """The sign-in name (sub) of the web account signed_in made for `person`."""
    async with state.pool.acquire() as conn:
        return str(
            await conn.fetchval(
                "SELECT sub FROM gateway.account WHERE person_id = $1 ORDER BY created_at DESC LIMIT 1", person
            )
        )


async def test_a_page_shows_the_sign_in_name_within_the_short_timeout_and_the_next_does_not_wait_again(
    client: httpx.AsyncClient,
    state: GatewayState,
    world: World,
    amqp_url: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    silent = NamesNotAnswered(state.rpc)
    monkeypatch.setattr(state.names, "_rpc", silent)
    # nothing cached, whatever pages the package's other tests loaded
    monkeypatch.setattr(state.names, "_cache", TtlCache(seconds=30))
    monkeypatch.setattr(state.names, "_failures", TtlCache(seconds=10), raising=False)
    person = world.member_a1
    async with signed_in(client, amqp_url, database_url, "member", world.cell_a1, person) as member:
        sub = await sign_in_name(state, person)
        started = time.monotonic()
        page = await member.get("/app/me")
        took = time.monotonic() - started
        assert page.status_code == 200, page.text[-2000:]
        shown = WHO.search(page.text)
        assert shown is not None and shown.group(1) == sub, page.text[:2000]
        assert silent.waited == [pytest.approx(1.0, abs=0.05)], silent.waited  # its own short timeout, not 5 s
        assert took < RPC_TIMEOUT, took

        again = await member.get("/app/me")
        shown = WHO.search(again.text)
        assert again.status_code == 200 and shown is not None and shown.group(1) == sub
        assert len(silent.waited) == 1, silent.waited  # the failure remembered: not asked, not waited for again


async def test_with_meetings_stopped_the_lookup_gives_up_after_its_own_timeout_and_remembers_it(
    state: GatewayState, world: World, fakes: FakeServices
) -> None:
    member = Principal(
        sub=random_id("who"), role=Role.MEMBER, unit_id=world.cell_a1, person_id=world.member_a1, local=True
    )
    names = PersonNames(state.rpc, TtlCache(seconds=30), timeout=1.0, failures=TtlCache(seconds=10))
    await fakes.meetings.stop()
    try:
        started = time.monotonic()
        assert await names.full_name(member) is None
        took = time.monotonic() - started
        started = time.monotonic()
        assert await names.full_name(member) is None
        again = time.monotonic() - started
    finally:
        await fakes.meetings.start()
    assert 0.9 <= took < RPC_TIMEOUT / 2, took
    assert again < 0.5, again  # remembered: no second wait
    answered = PersonNames(state.rpc, TtlCache(seconds=30), timeout=RPC_TIMEOUT)
    assert await answered.full_name(member) == "Nguyễn Văn An"
