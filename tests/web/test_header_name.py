"""The page header names the signed-in person by their full name (a new user's trial: it showed the sign-in name):
a member's and a secretary's from their cell's member list, an upper-level monitor's from their assignment; an
account without a person (an officer, an operator) shows its sign-in name, nothing else being known."""

import re

import pytest

from deploy.seed_demo import Seed
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, cell_members, signed_in

WHO = re.compile(r'<span class="who">([^<]*)</span>')


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
