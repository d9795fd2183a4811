"""/docs and the services' AsyncAPI documents work with no asset from a CDN: the gateway serves them all."""

import re

import httpx
import pytest

from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("service", ["meetings", "evaluation", "notifications"])
async def test_each_services_asyncapi_page_loads_only_local_assets(
    system: RunningSystem, province: dict[str, str], service: str
) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        page = await client.get(f"/asyncapi/{service}")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        for asset in assets:
            assert asset.startswith("/"), asset
            if asset.startswith("/app/"):
                assert (await client.get(asset)).status_code == 200, asset
        assert f"chibo {service}" in page.text
        assert (await client.get("/asyncapi/nothing")).status_code == 404
