"""The page header names the signed-in person by their full name (a new user's trial: it showed the sign-in name):
a member's and a secretary's from their cell's member list, an upper-level monitor's from their assignment; an
account without a person (an officer, an operator) shows its sign-in name, nothing else being known."""

import re
from typing import Any

import pytest

from deploy.seed_demo import Seed
from services.gateway.auth import Principal, Role
from services.gateway.handlers import PersonNames, TtlCache
from shared.contracts.meetings_rpc import GetMember
from shared.rpc import ReplyT, Request, RpcClient
from tests.support.ids import random_id
from tests.support.rpc import rpc_client
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, cell_members, signed_in

WHO = re.compile(r'<span class="who"><bdi>([^<]*)</bdi></span>')


def header_name(html: str) -> str:
    """The name in the page header's sign-out form."""
    found = WHO.search(html)
    assert found is not None, html[:2000]
    return found.group(1)


def monitor_name() -> str:
    """The full name the demo seed gives the monitor's person (monitor.assigned.v1)."""
    [name] = {
        event["data"]["full_name"]
        for event in Seed(DEMO.now).build()
        if event["type"] == "monitor.assigned.v1" and event["data"]["person_id"] == "demo-xa-hoa-binh-uv1"
    }
    return str(name)


@pytest.mark.parametrize(
    ("who", "page", "person"),
    [
        ("member", "/app/me", "demo-cb-thon-1-dv05"),
        ("secretary", "/app/cells/demo-cb-thon-1", "demo-cb-thon-1-dv01"),
        ("monitor", "/app/monitoring", None),
        ("officer", "/app/committees/demo-tinh-uy", None),
    ],
)
async def test_the_header_shows_the_persons_full_name(
    system: RunningSystem, province: dict[str, str], who: str, page: str, person: str | None
) -> None:
    names = {member["id"]: member["full_name"] for member in await cell_members(system, province, "demo-cb-thon-1")}
    expected = {"member": names.get(person or ""), "secretary": names.get(person or ""), "monitor": monitor_name()}
    async with signed_in(system, who) as client:
        answer = await client.get(page)
        assert answer.status_code == 200, answer.text[:2000]
        shown = header_name(answer.text)
    assert shown == expected.get(who, who)  # the officer has no person: the sign-in name
    assert shown != who or who == "officer"


class Counted:
    """An RpcClient whose calls are kept, to count what one name lookup asks."""

    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc
        self.requests: list[Request[Any]] = []

    async def call(
        self, request: Request[ReplyT], *, correlation_id: str | None = None, timeout: float | None = None
    ) -> ReplyT:
        self.requests.append(request)
        return await self._rpc.call(request, correlation_id=correlation_id, timeout=timeout)


async def test_a_members_name_is_one_member_read_from_meetings_cached_and_scoped_to_their_cell(
    system: RunningSystem, province: dict[str, str]
) -> None:
    # a read-through: the lookup paged through the whole cell's member list (200 at a time) to find one name
    person, cell = "demo-cb-thon-1-dv05", "demo-cb-thon-1"
    names = {member["id"]: member["full_name"] for member in await cell_members(system, province, cell)}
    async with rpc_client(system.env["CHIBO_AMQP_URL"]) as client:
        counted = Counted(client)
        lookup = PersonNames(counted, TtlCache(seconds=30), timeout=20)
        member = Principal(sub=random_id("who"), role=Role.MEMBER, unit_id=cell, person_id=person, local=True)
        assert await lookup.full_name(member) == names[person]
        assert counted.requests == [GetMember(cell_id=cell, member_id=person)]
        assert await lookup.full_name(member) == names[person]
        assert len(counted.requests) == 1  # cached: not asked again

        elsewhere = Principal(
            sub=random_id("who"), role=Role.SECRETARY, unit_id="demo-tinh-uy", person_id=person, local=True
        )
        assert await lookup.full_name(elsewhere) is None  # only as their own cell lists them
        assert counted.requests[1:] == [GetMember(cell_id="demo-tinh-uy", member_id=person)]
