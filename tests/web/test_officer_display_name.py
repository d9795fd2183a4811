"""A trial: an officer's page header showed the sign-in name ("can-bo-xa") where a secretary's shows the person's
name. An account given a display name (`web-account --name`) shows it; one without keeps the sign-in name."""

import argparse
import re

import pytest

from services.gateway.config import GatewaySettings
from services.gateway.web import cli as web_cli
from tests.support.system import RunningSystem
from tests.web.conftest import PASSWORD, signed_in, web_account

pytestmark = pytest.mark.e2e


def header_name(page: str) -> str:
    """The name the page header shows, without its markup."""
    found = re.search(r'<span class="who">(.*?)</span>', page, re.S)
    assert found, page[:1000]
    return re.sub(r"<[^>]+>|[\u2066-\u2069]", "", found[1]).strip()


async def test_an_officer_with_a_display_name_sees_it_in_the_header(
    system: RunningSystem, province: dict[str, str]
) -> None:
    await web_account(system, "can-bo-xa-h402", "committee_officer", "demo-xa-hoa-binh", None)
    async with signed_in(system, "can-bo-xa-h402") as client:
        assert header_name((await client.get("/app/committees/demo-xa-hoa-binh")).text) == "can-bo-xa-h402"
    settings = GatewaySettings(database_url=system.env["CHIBO_DATABASE_URL"], amqp_url=system.env["CHIBO_AMQP_URL"])
    named = argparse.Namespace(
        sub="can-bo-xa-h402",
        role="committee_officer",
        unit="demo-xa-hoa-binh",
        person=None,
        password=PASSWORD,
        oidc_subject=None,
        oidc_email=None,
        name="Trần Thị Mai",
    )
    await web_cli.create_web_account(settings, named)
    async with signed_in(system, "can-bo-xa-h402") as client:
        assert header_name((await client.get("/app/committees/demo-xa-hoa-binh")).text) == "Trần Thị Mai"
